//! Admin routes: every one needs the admin role (`SFS_ADMIN_EMAILS`). The original left some "admin"
//! routes open to any user; none is here.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use sessionfs_shared::api::{PurgeRequest, PurgeResponse};
use sessionfs_shared::{ErrorCode, SessionId};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AdminUser, ApiQuery, OptionalJson};
use crate::purge::purge;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users))
        .route("/admin/stats", get(stats))
        .route("/admin/purge-deleted", post(purge_deleted))
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "fifty")]
    page_size: u32,
    #[serde(default)]
    search: Option<String>,
}

fn one() -> u32 {
    1
}
fn fifty() -> u32 {
    50
}

async fn users(
    _admin: AdminUser,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<UsersQuery>,
) -> ApiResult<Json<Value>> {
    if q.page == 0 || !(1..=200).contains(&q.page_size) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("page starts at 1 and page_size is 1 to 200"));
    }
    let (users, total) = app.store.list_users(q.page, q.page_size, q.search.as_deref()).await?;
    Ok(Json(json!({ "total": total, "page": q.page, "page_size": q.page_size, "users": users })))
}

async fn stats(_admin: AdminUser, State(app): State<AppState>) -> ApiResult<Json<Value>> {
    let s = app.store.stats().await?;
    Ok(Json(json!({
        "users": { "total": s.users, "verified": s.verified_users },
        "sessions": { "total": s.sessions, "deleted": s.deleted_sessions, "total_size_bytes": s.storage_bytes },
        "handoffs": { "total": s.handoffs, "pending": s.pending_handoffs },
        "storage": { "total_bytes": s.storage_bytes },
    })))
}

async fn purge_deleted(
    admin: AdminUser,
    State(app): State<AppState>,
    OptionalJson(body): OptionalJson<PurgeRequest>,
) -> ApiResult<Json<PurgeResponse>> {
    let req = body.unwrap_or_default();
    let done = match req.session_id {
        Some(raw) => {
            let id = SessionId::parse(&raw)
                .map_err(|e| ApiError::new(ErrorCode::InvalidSessionId).detail(format!("{:?} is not one", e.given)))?;
            let owner = req.user_id.unwrap_or_else(|| admin.0.user.id.clone());
            let done = purge(&app, Some((&owner, &id))).await?;
            if done.sessions == 0 {
                return Err(
                    ApiError::new(ErrorCode::SessionNotFound).detail("no deleted session with that ID for that user")
                );
            }
            done
        }
        None => purge(&app, None).await?,
    };
    tracing::info!(admin = %admin.0.user.id, purged = done.sessions, bytes = done.bytes, "purge-deleted");
    Ok(Json(PurgeResponse { purged: done.sessions, bytes_reclaimed: done.bytes }))
}
