//! Operational endpoints: liveness, readiness, the original's `/health`, Prometheus metrics, OpenAPI.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use sessionfs_shared::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

const OPENAPI: &str = include_str!("../openapi.json");

/// Routes outside `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/health", get(health))
        .route("/metrics", get(prometheus))
}

/// Routes inside `/api/v1`.
pub fn api_routes() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/openapi.json", get(openapi))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The original's health payload; its CLI checks it on `sfs auth login`.
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "healthy", "version": env!("CARGO_PKG_VERSION"), "service": "sessionfs-api" }))
}

async fn readyz(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    app.store.ping().await.map_err(|e| ApiError::new(ErrorCode::Unavailable).detail(format!("database: {e}")))?;
    app.blobs.ping().await.map_err(|e| ApiError::new(ErrorCode::Unavailable).detail(format!("archive store: {e}")))?;
    Ok(Json(json!({ "status": "ready", "database": "ok", "blob_store": "ok" })))
}

async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn handle() -> &'static Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    // One recorder per process; tests start many servers in one process and share it.
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
}

async fn prometheus() -> Response {
    match handle() {
        Some(h) => ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable").into_response(),
    }
}

/// Count requests and time them, by route (not raw path, which would explode the label set).
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let _ = handle();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("sfs_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("sfs_http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(start.elapsed().as_secs_f64());
    if route.starts_with("/healthz") || route.starts_with("/readyz") {
        tracing::debug!(route, "probe");
    }
    resp
}
