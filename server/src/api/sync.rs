//! Autosync settings the daemon polls: the mode, the debounce, the watch list, and the sync status with
//! storage figures that leave out soft-deleted sessions (protocol §6).

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use sessionfs_shared::api::{SyncSettings, SyncSettingsUpdate, SyncStatus, WatchedSession, Watchlist};
use sessionfs_shared::{ErrorCode, SessionId};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, SessionPath};
use crate::state::{AppState, now};
use crate::store::SessionFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync/settings", get(settings).put(set_settings))
        .route("/sync/watchlist", get(watchlist))
        .route("/sync/watch/{id}", post(watch).delete(unwatch))
        .route("/sync/watch/{id}/{status}", put(set_status))
        .route("/sync/status", get(status))
}

async fn settings(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<SyncSettings>> {
    let (mode, debounce_seconds) = app.store.sync_settings(&user.user.id).await?;
    Ok(Json(SyncSettings {
        mode,
        debounce_seconds,
        max_member_bytes: app.config.max_member_size,
        max_upload_bytes: Some(app.config.max_upload_size),
    }))
}

async fn set_settings(
    user: AuthUser,
    State(app): State<AppState>,
    ApiJson(req): ApiJson<SyncSettingsUpdate>,
) -> ApiResult<Json<SyncSettings>> {
    let (_, current) = app.store.sync_settings(&user.user.id).await?;
    let debounce = req.debounce_seconds.unwrap_or(current).clamp(5, 300);
    app.store.set_sync_settings(&user.user.id, req.mode, debounce).await?;
    Ok(Json(SyncSettings {
        mode: req.mode,
        debounce_seconds: debounce,
        max_member_bytes: app.config.max_member_size,
        max_upload_bytes: Some(app.config.max_upload_size),
    }))
}

async fn watchlist(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<Watchlist>> {
    let rows = app.store.watchlist(&user.user.id).await?;
    let sessions = rows
        .into_iter()
        .map(|w| WatchedSession {
            title: w.session.as_ref().and_then(|s| s.meta.title.clone()),
            source_tool: w.session.as_ref().map(|s| s.meta.source_tool.clone()),
            message_count: w.session.as_ref().map(|s| s.meta.message_count),
            session_id: w.session_id,
            status: w.status,
            last_synced_at: w.last_synced_at,
        })
        .collect();
    Ok(Json(Watchlist { sessions }))
}

async fn watch(user: AuthUser, State(app): State<AppState>, SessionPath(id): SessionPath) -> ApiResult<Json<Value>> {
    // A session can be watched before its first push: the daemon pushes it because it is watched.
    app.store.watch(&user.user.id, &id, &now()).await?;
    Ok(Json(json!({ "status": "watching", "session_id": id })))
}

async fn unwatch(user: AuthUser, State(app): State<AppState>, SessionPath(id): SessionPath) -> ApiResult<Json<Value>> {
    app.store.unwatch(&user.user.id, &id).await?;
    Ok(Json(json!({ "status": "unwatched", "session_id": id })))
}

async fn set_status(
    user: AuthUser,
    State(app): State<AppState>,
    Path((raw, status)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let id = SessionId::parse(&raw)
        .map_err(|e| ApiError::new(ErrorCode::InvalidSessionId).detail(format!("{:?} is not one", e.given)))?;
    if !["pending", "queued", "synced", "failed"].contains(&status.as_str()) {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .detail(format!("status {status:?} is not pending, queued, synced or failed")));
    }
    let watched = app.store.set_watch_status(&user.user.id, &id, &status, &now()).await?;
    Ok(Json(json!({ "status": if watched { status.as_str() } else { "not_watched" } })))
}

async fn status(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<SyncStatus>> {
    let owner = &user.user.id;
    let (mode, _) = app.store.sync_settings(owner).await?;
    let (_, total) =
        app.store.list_sessions(owner, &SessionFilter { page: 1, page_size: 1, ..SessionFilter::default() }).await?;
    let watched = app.store.watchlist(owner).await?;
    let used = app.store.storage_used(owner).await?;
    Ok(Json(SyncStatus {
        mode,
        total_sessions: total,
        synced_sessions: total,
        watched_sessions: watched.len() as u64,
        queued: watched.iter().filter(|w| w.status == "queued").count() as u64,
        failed: watched.iter().filter(|w| w.status == "failed").count() as u64,
        storage_used_bytes: used,
        storage_limit_bytes: app.config.max_upload_size,
        storage_quota_bytes: app.config.storage_quota_bytes,
    }))
}
