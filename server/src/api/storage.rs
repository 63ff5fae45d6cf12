//! Where the caller's storage goes: live bytes per agent, the trash, and the largest sessions, for the
//! dashboard's storage page. Soft-deleted sessions are reported apart and never counted as used.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use sessionfs_shared::api::{SessionSort, StorageResponse};

use crate::error::ApiResult;
use crate::extract::AuthUser;
use crate::sessions;
use crate::state::AppState;
use crate::store::SessionFilter;

/// How many of the largest sessions the page lists.
const LARGEST: u32 = 10;

pub fn routes() -> Router<AppState> {
    Router::new().route("/storage", get(storage))
}

async fn storage(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<StorageResponse>> {
    let usage = app.store.storage_usage(&user.user.id).await?;
    let largest =
        SessionFilter { page: 1, page_size: LARGEST, sort: Some(SessionSort::Size), ..SessionFilter::default() };
    let (rows, _) = app.store.list_sessions(&user.user.id, &largest).await?;
    Ok(Json(StorageResponse {
        used_bytes: usage.used_bytes(),
        quota_bytes: app.config.storage_quota_bytes,
        session_count: usage.sessions(),
        deleted_count: usage.deleted_sessions,
        deleted_bytes: usage.deleted_bytes,
        largest: rows.iter().map(sessions::summary).collect(),
        by_tool: usage.by_tool,
    }))
}
