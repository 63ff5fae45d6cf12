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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_LENGTH, EXPECT};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use sessionfs_shared::ErrorCode;
use tokio::sync::Mutex;
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
        .method_not_allowed_fallback(method_not_allowed)
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
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(move |req: Request| dashboard.clone().respond(req))
        .layer(middleware::from_fn_with_state(state.clone(), drain_unread_body))
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

/// A route called with a method it does not take: 405 with the envelope (axum's is empty), the code of a
/// missing route (the catalogue has none for a wrong method; the method and path together name no route), and
/// the `Allow` header, which axum adds to this answer.
async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound)
        .status(StatusCode::METHOD_NOT_ALLOWED)
        .saying(
            "Method not allowed",
            "use one of the methods the Allow header lists; the API reference is at /api/v1/openapi.json",
        )
        .detail(format!("this route does not take {method}"))
        .with("method", method.as_str())
}

/// Refuse a body larger than `SFS_MAX_UPLOAD_SIZE` as soon as its declared length is known, without keeping
/// any of it. (Chunked bodies without a length are cut off at the same size by `DefaultBodyLimit`.) A body up
/// to twice the limit is read and thrown away first, so that a client still sending it sees the 413 rather
/// than a broken connection (see [`drain_unread_body`]); a larger one is answered at once.
async fn refuse_oversized(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let limit = app.config.max_upload_size;
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > limit) {
        let refusal = ApiError::new(ErrorCode::RequestEntityTooLarge)
            .detail(format!("the request is {len} bytes; this server accepts at most {limit}"))
            .with("limit_bytes", limit)
            .into_response();
        if len <= limit.saturating_mul(2) && !waits_for_continue(req.headers()) {
            discard(&mut req.into_body(), len).await;
        }
        return refusal;
    }
    next.run(req).await
}

/// A client waiting for `100 Continue` has sent no body yet, and sends none if refused before it is asked.
fn waits_for_continue(headers: &HeaderMap) -> bool {
    headers.get(EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Read and drop up to `max` more bytes of a body, giving up when the client stops sending.
async fn discard(body: &mut Body, max: u64) {
    let mut read = 0u64;
    while !body.is_end_stream() && read <= max {
        match tokio::time::timeout(DRAIN_IDLE, body.frame()).await {
            Ok(Some(Ok(frame))) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            // The end, a broken body, or a client that stopped sending: nothing more to wait for.
            _ => break,
        }
    }
}

/// How long the drain below waits for the client's next bytes before giving up on it.
const DRAIN_IDLE: Duration = Duration::from_secs(10);

/// Read what the handler left of a request body before answering. A handler that refuses a request early
/// (429 from the rate limit, 401, 403, a bad ID) answers without reading the body; the connection was then
/// closed under a client still sending it, and clients saw a broken connection instead of the answer (the
/// sync client reported a rate-limited push as "cannot reach the server" and never waited `Retry-After`).
/// Bounded by SFS_MAX_UPLOAD_SIZE, and given up when the client stops sending: then the answer goes out as
/// before. Bodies declared larger than the limit never get here: `refuse_oversized` deals with them.
async fn drain_unread_body(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let waits_for_continue = waits_for_continue(&parts.headers);
    let shared = Arc::new(Mutex::new(body));
    let read = Arc::new(AtomicBool::new(false));
    let (handler_side, handler_read) = (Arc::clone(&shared), Arc::clone(&read));
    // The handler reads through the shared body; what it leaves stays behind for the drain.
    let stream = futures_util::stream::unfold(handler_side, move |body| {
        handler_read.store(true, Ordering::Relaxed);
        async move {
            loop {
                let frame = body.lock().await.frame().await;
                match frame {
                    None => return None,
                    Some(Err(e)) => return Some((Err(e), body)),
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), body));
                        }
                    }
                }
            }
        }
    });
    let resp = next.run(Request::from_parts(parts, Body::from_stream(stream))).await;
    if waits_for_continue && !read.load(Ordering::Relaxed) {
        return resp;
    }
    discard(&mut *shared.lock().await, app.config.max_upload_size).await;
    resp
}
