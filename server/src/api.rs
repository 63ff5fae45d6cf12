//! The HTTP surface: `/api/v1/...` resources, each module exporting `routes()`, plus the operational
//! endpoints (`/healthz`, `/readyz`, `/metrics`) and the dashboard's files for every other path.
//! [`router`] assembles them for `main` and for tests.

mod admin;
mod auth;
mod handoffs;
mod ops;
mod sessions;
mod storage;
mod sync;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sessionfs_shared::ErrorCode;
use tower::ServiceExt as _;

use crate::dashboard::Dashboard;
use crate::error::ApiError;
use crate::state::AppState;

/// The `/api/v1` resources, without a state yet.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(auth::routes())
        .merge(sessions::routes())
        .merge(storage::routes())
        .merge(sync::routes())
        .merge(handoffs::routes())
        .merge(admin::routes())
        .merge(ops::api_routes())
        .fallback(not_found)
}

/// Only the `/api/v1` resources. The MCP tools also call them in-process for handoffs, so mail, events and
/// claim copies behave as over HTTP (without `/mcp`, the dashboard or upload limits: the tools upload nothing).
pub(crate) fn rest_routes() -> Router<AppState> {
    Router::new().nest("/api/v1", api_routes())
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let mcp = tower::ServiceBuilder::new().layer(middleware::from_fn_with_state(state.clone(), mcp_auth)).service(
        crate::mcp::ServerSource::service(state.clone())
            .map_request(|req: Request| req)
            .map_response(IntoResponse::into_response),
    );
    let limit = usize::try_from(state.config.max_upload_size).unwrap_or(usize::MAX);
    let dashboard = Dashboard::open(&state.config.dashboard_dir);
    Router::new()
        .merge(rest_routes())
        .nest_service("/mcp", mcp)
        .merge(ops::routes())
        .fallback(move |req: Request| dashboard.clone().respond(req))
        .layer(middleware::from_fn_with_state(state.clone(), refuse_oversized))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(ops::record_metrics))
        .with_state(state)
}

/// Refuse an `/mcp` request without a valid bearer key before it reaches the MCP service (each tool call
/// checks the key again from its own request).
async fn mcp_auth(_caller: crate::extract::AuthUser, req: Request, next: Next) -> Response {
    next.run(req).await
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound)
}

/// Refuse a body larger than `SFS_MAX_UPLOAD_SIZE` as soon as its declared length is known, before any of
/// it is read. (Chunked bodies without a length are cut off at the same size by `DefaultBodyLimit`.)
async fn refuse_oversized(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > app.config.max_upload_size) {
        return ApiError::new(ErrorCode::RequestEntityTooLarge)
            .detail(format!("the request is {len} bytes; this server accepts at most {}", app.config.max_upload_size))
            .with("limit_bytes", app.config.max_upload_size)
            .into_response();
    }
    next.run(req).await
}
