//! The browser dashboard's files, served at `/` on the API's port so that one process is a complete
//! install (nginx in front is optional). Paths that are not files get `index.html`, so deep links into the
//! client-side router load; the server's own prefixes never do, and keep the API's JSON 404.
//!
//! Without a built dashboard (`<dashboard_dir>/index.html` missing at startup) every such path answers
//! 404 with a short plain-text note saying how to build it: 404 rather than 200, so that a monitor or a
//! script probing `/` does not take the missing dashboard for a working one.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sessionfs_shared::ErrorCode;
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

/// Prefixes that belong to the server. A miss under one of them is the API's 404, never `index.html`: a
/// client calling a wrong API path must get an error it can parse, not a page of HTML with status 200.
const SERVER_PREFIXES: [&str; 6] = ["/api", "/mcp", "/healthz", "/readyz", "/metrics", "/health"];

const NOT_BUILT: &str = "The SessionFS dashboard is not built.\n\n\
    Build it with `cargo xtask dashboard` (it lands in dashboard/dist), or point SFS_DASHBOARD_DIR \
    (--dashboard-dir) at a built dashboard, then restart sessionfs-server.\n\n\
    The API is at /api/v1 (its description: /api/v1/openapi.json).\n";

/// What answers requests no route matched.
#[derive(Clone)]
pub(crate) enum Dashboard {
    /// The directory's files, and `index.html` for every other path.
    Built(ServeDir<ServeFile>),
    /// No dashboard: a note on how to build one.
    Missing,
}

impl Dashboard {
    /// Look for `dir/index.html` once, at startup, and say in the log what `/` will serve.
    pub(crate) fn open(dir: &Path) -> Self {
        let index = dir.join("index.html");
        if index.is_file() {
            tracing::info!(dir = %dir.display(), "serving the dashboard at /");
            Self::Built(ServeDir::new(dir).precompressed_gzip().fallback(ServeFile::new(index).precompressed_gzip()))
        } else {
            tracing::info!(
                dir = %dir.display(),
                "the dashboard is not built (no index.html): run `cargo xtask dashboard` or set SFS_DASHBOARD_DIR; \
                 / answers 404 with a note until then"
            );
            Self::Missing
        }
    }

    /// Answer a request no route matched.
    pub(crate) async fn respond(self, req: Request) -> Response {
        let path = req.uri().path();
        if SERVER_PREFIXES.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
        {
            return ApiError::new(ErrorCode::RouteNotFound).into_response();
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return ApiError::new(ErrorCode::RouteNotFound).detail("the dashboard only answers GET").into_response();
        }
        match self {
            Self::Built(files) => {
                let mut resp = match files.oneshot(req).await {
                    Ok(resp) => resp.into_response(),
                    Err(never) => match never {},
                };
                // index.html names the current build's scripts, so a browser must revalidate it on every load
                // or it keeps running an old build after an upgrade. It is the only HTML a dashboard build has.
                let is_html = resp
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/html"));
                if is_html {
                    resp.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                }
                resp
            }
            Self::Missing => (
                StatusCode::NOT_FOUND,
                [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
                NOT_BUILT,
            )
                .into_response(),
        }
    }
}
