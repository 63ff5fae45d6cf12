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

/// Whether `path` names a file `cargo xtask dashboard` made with a content hash in its name:
/// `/dashboard-<hex>.js`, `/dashboard-<hex>_bg.wasm` or `/style-<hex>.css` (the rule `nginx.conf` caches by).
fn is_content_hashed(path: &str) -> bool {
    let Some(name) = path.strip_prefix('/').filter(|n| !n.contains('/')) else {
        return false;
    };
    let hash = [("dashboard-", ".js"), ("dashboard-", "_bg.wasm"), ("style-", ".css")]
        .iter()
        .find_map(|(prefix, suffix)| name.strip_prefix(prefix)?.strip_suffix(suffix));
    hash.is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
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
                let hashed = is_content_hashed(path);
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
                } else if hashed && resp.status() == StatusCode::OK {
                    // A new build has new names, so these never change: cache them for good (as nginx.conf does).
                    resp.headers_mut()
                        .insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
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

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn only_the_builds_hashed_files_are_content_hashed() {
        for yes in ["/dashboard-c426810801a2.js", "/dashboard-c426810801a2_bg.wasm", "/style-a47cf79f5909.css"] {
            assert!(is_content_hashed(yes), "{yes}");
        }
        for no in [
            "/index.html",
            "/dashboard-.js",
            "/dashboard-XYZ.js",
            "/dashboard-c426810801a2.js.map",
            "/sessions/dashboard-c426810801a2.js",
            "/style.css",
            "/app.js",
        ] {
            assert!(!is_content_hashed(no), "{no}");
        }
    }
}
