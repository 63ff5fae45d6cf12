//! The HTTP client of the sync protocol (`/api/v1`, wire-compatible with the original). Blocking, with
//! timeouts on every call and retries with backoff on 429, 502, 503, 504 and transport failures, honouring
//! `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ETAG, IF_MATCH, IF_NONE_MATCH, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::json;
use sessionfs_shared::api::{
    CreateHandoffRequest, ErrorEnvelope, HandoffListResponse, HandoffResponse, MeResponse, RestoreResponse,
    SessionDetail, SessionListResponse, SessionSummary, SyncMode, SyncPushResponse, SyncSettings, SyncStatus,
    Watchlist,
};

use super::SyncError;
use crate::config::Remote;

/// Attempts of a request that fails transiently.
const ATTEMPTS: u32 = 4;
/// The longest `Retry-After` honoured before giving up.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// A logged-in connection to the sync server.
#[derive(Clone)]
pub struct RemoteClient {
    base: String,
    key: String,
    http: Client,
    /// Backoff before the first retry (tests shorten it).
    backoff: Duration,
}

/// Reject plain http except to this machine: the API key travels in every request.
fn check_url(url: &str) -> Result<String, SyncError> {
    let base = url.trim().trim_end_matches('/').to_owned();
    let rest = if let Some(r) = base.strip_prefix("https://") {
        r
    } else if let Some(r) = base.strip_prefix("http://") {
        let host = r.split(['/', '?']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = if host.starts_with('[') {
            host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or("").to_owned()
        };
        if !matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
            return Err(SyncError::InsecureUrl { url: base });
        }
        r
    } else {
        return Err(SyncError::InsecureUrl { url: base });
    };
    if rest.is_empty() {
        return Err(SyncError::InsecureUrl { url: base });
    }
    Ok(base)
}

/// The outcome of a pull.
pub enum Pulled {
    /// The local copy is current (304).
    NotModified,
    /// The archive and its ETag.
    Archive {
        /// tar.gz bytes.
        bytes: Vec<u8>,
        /// The server's ETag, unquoted.
        etag: String,
    },
}

impl RemoteClient {
    /// A client for `remote`.
    pub fn new(remote: &Remote) -> Result<Self, SyncError> {
        let base = check_url(&remote.url)?;
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("sessionfs-cli/", env!("CARGO_PKG_VERSION"), " (rust)"))
            .build()
            .map_err(|source| SyncError::Transport { url: base.clone(), source })?;
        Ok(Self { base, key: remote.api_key.clone(), http, backoff: Duration::from_millis(500) })
    }

    /// Shorten the retry backoff (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Send with retries; `build` makes a fresh request for every attempt.
    fn send(&self, build: impl Fn(&Client) -> RequestBuilder) -> Result<Response, SyncError> {
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let result =
                build(&self.http).bearer_auth(&self.key).header("X-Client-Platform", std::env::consts::OS).send();
            let retry_after = match &result {
                Ok(r) if matches!(r.status().as_u16(), 429 | 502 | 503 | 504) => Some(
                    r.headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs),
                ),
                Ok(_) => None,
                Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => Some(None),
                Err(_) => None,
            };
            match retry_after {
                Some(hint) if attempt < ATTEMPTS => {
                    let pause = hint.unwrap_or(wait).max(wait).min(MAX_WAIT);
                    tracing::debug!(attempt, pause_ms = pause.as_millis() as u64, "retrying a request");
                    std::thread::sleep(pause);
                    wait *= 2;
                    attempt += 1;
                }
                _ => return result.map_err(|source| SyncError::Transport { url: self.base.clone(), source }),
            }
        }
    }

    /// Turn a non-success response into an error built from the envelope.
    fn check(&self, resp: Response) -> Result<Response, SyncError> {
        if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().unwrap_or_default();
        let envelope: Option<ErrorEnvelope> = serde_json::from_str(&text).ok();
        Err(SyncError::Api {
            status,
            code: envelope.as_ref().and_then(ErrorEnvelope::code),
            message: envelope.as_ref().map_or_else(
                || format!("HTTP {status}: {}", text.chars().take(200).collect::<String>()),
                |e| e.error.message.clone(),
            ),
            details: envelope.map(|e| e.error.details).unwrap_or_default(),
            retry_after,
        })
    }

    fn json<T: DeserializeOwned>(&self, resp: Response) -> Result<T, SyncError> {
        let resp = self.check(resp)?;
        resp.json().map_err(|source| SyncError::Transport { url: self.base.clone(), source })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SyncError> {
        let url = self.url(path);
        let resp = self.send(|c| c.get(&url).timeout(Duration::from_secs(30)))?;
        self.json(resp)
    }

    /// `GET /auth/me`: who the key belongs to.
    pub fn me(&self) -> Result<MeResponse, SyncError> {
        self.get("/auth/me")
    }

    /// One page of the caller's sessions (or trash).
    pub fn list(&self, page: u32, page_size: u32, deleted: bool) -> Result<SessionListResponse, SyncError> {
        self.get(&format!("/sessions?page={page}&page_size={page_size}&deleted={deleted}"))
    }

    /// Every live session, all pages.
    pub fn list_all(&self) -> Result<Vec<SessionSummary>, SyncError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let p = self.list(page, 100, false)?;
            out.extend(p.sessions);
            if !p.has_more {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// `GET /sessions/{id}`.
    pub fn detail(&self, id: &str) -> Result<SessionDetail, SyncError> {
        self.get(&format!("/sessions/{id}"))
    }

    /// `PUT /sessions/{id}/sync`.
    pub fn push(
        &self,
        id: &str,
        archive: &[u8],
        if_match: Option<&str>,
        undelete: bool,
    ) -> Result<SyncPushResponse, SyncError> {
        let url = self.url(&format!("/sessions/{id}/sync"));
        let resp = self.send(|c| {
            let part = reqwest::blocking::multipart::Part::bytes(archive.to_vec())
                .file_name("session.tar.gz")
                .mime_str("application/gzip")
                .unwrap_or_else(|_| reqwest::blocking::multipart::Part::bytes(archive.to_vec()));
            let mut r = c.put(&url).multipart(reqwest::blocking::multipart::Form::new().part("file", part));
            if let Some(e) = if_match {
                r = r.header(IF_MATCH, format!("\"{e}\""));
            }
            if undelete {
                r = r.header("X-SessionFS-Undelete", "true");
            }
            r
        })?;
        self.json(resp)
    }

    /// `GET /sessions/{id}/sync`, conditional on the ETag held locally.
    pub fn pull(&self, id: &str, if_none_match: Option<&str>) -> Result<Pulled, SyncError> {
        let url = self.url(&format!("/sessions/{id}/sync"));
        let resp = self.send(|c| {
            let r = c.get(&url);
            match if_none_match {
                Some(e) => r.header(IF_NONE_MATCH, format!("\"{e}\"")),
                None => r,
            }
        })?;
        let resp = self.check(resp)?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(Pulled::NotModified);
        }
        let etag = resp.headers().get(ETAG).and_then(|v| v.to_str().ok()).unwrap_or("").trim_matches('"').to_owned();
        let bytes = resp.bytes().map_err(|source| SyncError::Transport { url: self.base.clone(), source })?.to_vec();
        Ok(Pulled::Archive { bytes, etag })
    }

    /// `DELETE /sessions/{id}?scope=`.
    pub fn delete(&self, id: &str, scope: &str) -> Result<SessionDetail, SyncError> {
        let url = self.url(&format!("/sessions/{id}?scope={scope}"));
        let resp = self.send(|c| c.delete(&url))?;
        self.json(resp)
    }

    /// `POST /sessions/{id}/restore`.
    pub fn restore(&self, id: &str) -> Result<RestoreResponse, SyncError> {
        let url = self.url(&format!("/sessions/{id}/restore"));
        let resp = self.send(|c| c.post(&url))?;
        self.json(resp)
    }

    /// `GET /sync/settings`.
    pub fn settings(&self) -> Result<SyncSettings, SyncError> {
        self.get("/sync/settings")
    }

    /// `PUT /sync/settings`.
    pub fn set_settings(&self, mode: SyncMode, debounce_seconds: Option<u32>) -> Result<SyncSettings, SyncError> {
        let url = self.url("/sync/settings");
        let body = json!({ "mode": mode, "debounce_seconds": debounce_seconds });
        let resp = self.send(|c| c.put(&url).json(&body))?;
        self.json(resp)
    }

    /// `GET /sync/watchlist`.
    pub fn watchlist(&self) -> Result<Watchlist, SyncError> {
        self.get("/sync/watchlist")
    }

    /// `POST` or `DELETE /sync/watch/{id}`.
    pub fn watch(&self, id: &str, on: bool) -> Result<(), SyncError> {
        let url = self.url(&format!("/sync/watch/{id}"));
        let resp = self.send(|c| if on { c.post(&url) } else { c.delete(&url) })?;
        self.check(resp).map(|_| ())
    }

    /// `PUT /sync/watch/{id}/{status}` (best effort: the status is cosmetic).
    pub fn set_watch_status(&self, id: &str, status: &str) {
        let url = self.url(&format!("/sync/watch/{id}/{status}"));
        if let Err(e) = self.send(|c| c.put(&url).timeout(Duration::from_secs(5))).and_then(|r| self.check(r)) {
            tracing::debug!(session.id = id, error = %e, "could not report watch status");
        }
    }

    /// `GET /sync/status`.
    pub fn status(&self) -> Result<SyncStatus, SyncError> {
        self.get("/sync/status")
    }

    /// `POST /handoffs`.
    pub fn create_handoff(&self, req: &CreateHandoffRequest) -> Result<HandoffResponse, SyncError> {
        let url = self.url("/handoffs");
        let resp = self.send(|c| c.post(&url).json(req))?;
        self.json(resp)
    }

    /// `GET /handoffs/{id}`.
    pub fn handoff(&self, id: &str) -> Result<HandoffResponse, SyncError> {
        self.get(&format!("/handoffs/{id}"))
    }

    /// `POST /handoffs/{id}/claim`.
    pub fn claim(&self, id: &str) -> Result<HandoffResponse, SyncError> {
        let url = self.url(&format!("/handoffs/{id}/claim"));
        let resp = self.send(|c| c.post(&url))?;
        self.json(resp)
    }

    /// `GET /handoffs/inbox` or `/sent`.
    pub fn handoffs(&self, sent: bool) -> Result<HandoffListResponse, SyncError> {
        self.get(if sent { "/handoffs/sent" } else { "/handoffs/inbox" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine() {
        assert!(check_url("http://localhost:8080").is_ok());
        assert!(check_url("http://127.0.0.1:8080/").is_ok());
        assert!(check_url("http://[::1]:8080").is_ok());
        assert!(check_url("https://sessionfs.example.com").is_ok());
        assert!(matches!(check_url("http://sessionfs.example.com"), Err(SyncError::InsecureUrl { .. })));
        assert!(matches!(check_url("http://localhost.evil.com"), Err(SyncError::InsecureUrl { .. })));
        assert!(matches!(check_url("ftp://x"), Err(SyncError::InsecureUrl { .. })));
        assert_eq!(check_url("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
    }
}
