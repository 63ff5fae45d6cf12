//! The HTTP client of the sync protocol (`/api/v1`, wire-compatible with the original). Blocking, with
//! timeouts on every call and bounded retries: 429 after its `Retry-After`, 502, 503, 504 and connection
//! failures with backoff, and a connection broken mid-request only where repeating the request is
//! harmless (GET, PUT, DELETE: a push is a PUT of the whole archive under a condition).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ETAG, IF_MATCH, IF_NONE_MATCH, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::{
    CreateHandoffRequest, ErrorEnvelope, HandoffListResponse, HandoffResponse, MeResponse, RestoreResponse,
    SessionDetail, SessionListResponse, SessionSummary, SyncMode, SyncPushResponse, SyncSettings, SyncStatus,
    Watchlist,
};

use super::SyncError;
use crate::config::Remote;

/// Attempts of a request that fails transiently (a server error or a broken connection).
const ATTEMPTS: u32 = 4;
/// The longest single pause, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How long one request waits out rate limits in all before the 429 is reported. A first sync of hundreds
/// of sessions meets the per-key limit (120 a minute by default) many times; each request waits its turn.
const RATE_LIMIT_BUDGET: Duration = Duration::from_secs(180);

/// A logged-in connection to the sync server.
#[derive(Clone)]
pub struct RemoteClient {
    base: String,
    key: String,
    http: Client,
    /// Backoff before the first retry (tests shorten it).
    backoff: Duration,
    /// The account the key belongs to (`None` inside: the server does not say), asked once and shared by
    /// clones, since every worker of a sync uses the same key.
    account: Arc<OnceLock<Option<String>>>,
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
            .map_err(|e| SyncError::Transport { url: base.clone(), reason: chain(&e) })?;
        Ok(Self {
            base,
            key: remote.api_key.clone(),
            http,
            backoff: Duration::from_millis(500),
            account: Arc::new(OnceLock::new()),
        })
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

    /// The error for a failed request or a failed read of its answer, after `attempts` tries.
    fn transport_error(&self, e: &reqwest::Error, attempts: u32) -> SyncError {
        let (url, reason) = (self.base.clone(), chain(e));
        if e.is_connect() || e.is_timeout() || e.is_builder() {
            SyncError::Transport { url, reason }
        } else if e.is_decode() {
            SyncError::BadResponse { url, reason }
        } else {
            SyncError::Interrupted { url, attempts, reason }
        }
    }

    /// Send with retries; `build` makes a fresh request for every attempt.
    fn send(&self, build: impl Fn(&Client) -> RequestBuilder) -> Result<Response, SyncError> {
        let mut wait = self.backoff;
        let mut attempt = 1;
        let mut rate_limited = Duration::ZERO;
        loop {
            let request = build(&self.http)
                .bearer_auth(&self.key)
                .header("X-Client-Platform", std::env::consts::OS)
                .build()
                .map_err(|e| self.transport_error(&e, attempt))?;
            // Sent twice, these leave the server as sent once. A POST is repeated only when it never left.
            let idempotent = matches!(*request.method(), Method::GET | Method::HEAD | Method::PUT | Method::DELETE);
            let result = self.http.execute(request);
            let retry = match &result {
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let pause = retry_after(r).unwrap_or(wait).max(self.backoff).min(MAX_WAIT) + jitter(self.backoff);
                    (rate_limited + pause <= RATE_LIMIT_BUDGET).then(|| {
                        rate_limited += pause;
                        pause
                    })
                }
                Ok(r) if matches!(r.status().as_u16(), 502..=504) && attempt < ATTEMPTS => {
                    attempt += 1;
                    Some(retry_after(r).unwrap_or(wait).max(wait).min(MAX_WAIT))
                }
                Ok(_) => None,
                Err(e)
                    if (e.is_connect() || (idempotent && (e.is_timeout() || e.is_request() || e.is_body())))
                        && attempt < ATTEMPTS =>
                {
                    attempt += 1;
                    Some(wait)
                }
                Err(_) => None,
            };
            match retry {
                Some(pause) => {
                    match &result {
                        Ok(r) => tracing::debug!(
                            status = r.status().as_u16(),
                            pause_ms = pause.as_millis() as u64,
                            "retrying a request"
                        ),
                        Err(e) => {
                            tracing::debug!(error = %chain(e), pause_ms = pause.as_millis() as u64, "retrying a request")
                        }
                    }
                    std::thread::sleep(pause);
                    wait = (wait * 2).min(MAX_WAIT);
                }
                None => return result.map_err(|e| self.transport_error(&e, attempt)),
            }
        }
    }

    /// The account the key belongs to (`GET /auth/me`, asked once): sync state recorded for another account
    /// on the same server is not this one's. `None` when the server has no such route.
    pub fn account(&self) -> Result<Option<String>, SyncError> {
        if let Some(a) = self.account.get() {
            return Ok(a.clone());
        }
        let account = match self.me() {
            Ok(me) => Some(me.user_id),
            Err(e) if matches!(e.status(), Some(404 | 405)) => None,
            Err(e) => return Err(e),
        };
        Ok(self.account.get_or_init(|| account).clone())
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
        let code = envelope.as_ref().and_then(ErrorEnvelope::code);
        if code == Some(ErrorCode::QuotaExceeded) {
            return Err(SyncError::QuotaExceeded {
                message: envelope.as_ref().map_or(text, |e| e.error.message.clone()),
                details: envelope.map(|e| e.error.details).unwrap_or_default(),
            });
        }
        Err(SyncError::Api {
            status,
            code,
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
        resp.json().map_err(|e| self.transport_error(&e, 1))
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

    /// `PUT /sessions/{id}/sync`, conditional: `if_match` is the server's ETag the archive was based on; without
    /// one the push says `If-None-Match: *`, so a session that already exists there is never overwritten
    /// (the server answers 409 `etag_mismatch` with its `current_etag`, as for a stale `If-Match`).
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
            r = match if_match {
                Some(e) => r.header(IF_MATCH, format!("\"{e}\"")),
                None => r.header(IF_NONE_MATCH, "*"),
            };
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
        let bytes = resp.bytes().map_err(|e| self.transport_error(&e, 1))?.to_vec();
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

/// `Retry-After` in seconds (the HTTP-date form is not used by SessionFS servers).
fn retry_after(r: &Response) -> Option<Duration> {
    r.headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Up to `scale` of extra pause, so that workers refused together do not all come back in the same instant.
fn jitter(scale: Duration) -> Duration {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    scale.mul_f64(f64::from(nanos % 1000) / 1000.0)
}

/// An error and its causes on one line, each said once: reqwest's own text names only the URL, and hyper's
/// causes often repeat one another.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
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

    /// What the stand-in server does with one connection.
    #[derive(Clone, Copy)]
    enum Reply {
        /// 429 with `Retry-After` as soon as the headers are in, closing with the upload unread: what a server
        /// that checks its rate limit before reading the body does. The client sees a broken connection.
        RefuseEarly,
        /// Reads the request, then 429 with `Retry-After: 1`.
        RateLimited,
        /// Closes without an answer.
        Hangup,
        /// Reads the request and accepts the push.
        Accept,
    }

    /// The request head, and the body bytes read along with it.
    fn read_head(conn: &mut std::net::TcpStream) -> (String, usize) {
        use std::io::Read;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = conn.read(&mut chunk).unwrap_or(0);
            if n == 0 {
                return (String::from_utf8_lossy(&buf).into_owned(), 0);
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return (String::from_utf8_lossy(&buf[..end]).into_owned(), buf.len() - end - 4);
            }
        }
    }

    fn read_body(conn: &mut std::net::TcpStream, head: &str, already: usize) {
        use std::io::Read;
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .expect("a sized upload");
        std::io::copy(&mut conn.take((len - already) as u64), &mut std::io::sink()).unwrap();
    }

    /// A server on loopback that answers one connection after another with `replies`, then stops listening.
    fn stand_in(replies: Vec<Reply>) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for reply in replies {
                let (mut conn, _) = listener.accept().unwrap();
                let (head, already) = read_head(&mut conn);
                let answer = match reply {
                    Reply::RefuseEarly => "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    Reply::Hangup => continue,
                    Reply::RateLimited => {
                        read_body(&mut conn, &head, already);
                        let body = r#"{"error":{"code":"rate_limited","message":"slow down","details":{}}}"#;
                        format!("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                    }
                    Reply::Accept => {
                        read_body(&mut conn, &head, already);
                        let body = r#"{"session_id":"ses_0123456789abcdef","etag":"e2","blob_size_bytes":3,"synced_at":"2026-01-01T00:00:00Z"}"#;
                        format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                    }
                };
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        url
    }

    fn client(url: &str) -> RemoteClient {
        let remote = Remote { url: url.into(), api_key: format!("sk_sfs_{}", "0".repeat(32)) };
        RemoteClient::new(&remote).unwrap().with_backoff(Duration::from_millis(10))
    }

    /// Large enough that the connection cannot take it all before the server closes it.
    fn big_archive() -> Vec<u8> {
        vec![7u8; 16 << 20]
    }

    #[test]
    fn a_push_refused_before_its_body_was_read_is_sent_again() {
        let url = stand_in(vec![Reply::RefuseEarly, Reply::RefuseEarly, Reply::Accept]);
        let resp = client(&url).push("ses_0123456789abcdef", &big_archive(), Some("e1"), false).unwrap();
        assert_eq!(resp.etag, "e2");
    }

    #[test]
    fn a_rate_limited_request_waits_for_retry_after() {
        let url = stand_in(vec![Reply::RateLimited, Reply::Accept]);
        let started = std::time::Instant::now();
        let resp = client(&url).push("ses_0123456789abcdef", b"abc", None, false).unwrap();
        assert_eq!(resp.etag, "e2");
        assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not waited for");
    }

    #[test]
    fn a_connection_that_keeps_breaking_is_reported_as_refused_or_interrupted_not_unreachable() {
        let url = stand_in(vec![Reply::Hangup; ATTEMPTS as usize]);
        let err = client(&url).push("ses_0123456789abcdef", &big_archive(), Some("e1"), false).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SyncError::Interrupted { attempts: ATTEMPTS, .. }), "{err:?}");
        assert!(!text.contains("cannot reach"), "{text}");
        assert!(err.hint().unwrap().contains("refused"));
        let causes: Vec<&str> = text.split(": ").collect();
        let mut unique = causes.clone();
        unique.dedup();
        assert_eq!(causes, unique, "a cause said twice: {text}");
    }

    #[test]
    fn a_post_whose_connection_broke_is_not_sent_again() {
        // Had it been sent again, the stand-in (gone after one connection) would have refused the
        // connection, and the error would say the server cannot be reached.
        let url = stand_in(vec![Reply::Hangup]);
        let err = client(&url).claim("hnd_0123456789abcdef").unwrap_err();
        assert!(matches!(err, SyncError::Interrupted { attempts: 1, .. }), "{err:?}");
    }
}
