//! The only code that does HTTP. Every call goes to a relative `/api/v1/...` path, so the dashboard works
//! behind any host, port or proxy prefix without an API URL compiled in (the original's malformed-URL bug),
//! and answers are the `shared::api` wire types. Errors come back as [`ApiError`], parsed from the server's
//! error envelope so the page can show the catalogue's message and fix.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::{
    ApiKeyInfo, CreateApiKeyRequest, CreateHandoffRequest, CreatedApiKey, ErrorEnvelope, HandoffListResponse,
    HandoffResponse, MeResponse, MessagesPage, PurgeRequest, PurgeResponse, ReasonRequest, RestoreResponse,
    SearchResponse, SessionDetail, SessionListResponse, SessionPatch, SignupRequest, SignupResponse, StorageResponse,
    SyncSettings, SyncSettingsUpdate, SyncStatus, Watchlist,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::auth;
use crate::query::SessionQuery;

/// A failed call: the server's envelope when there was one, or what went wrong on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status, 0 when the request never got an answer.
    pub status: u16,
    /// The catalogue code, when the server sent one this dashboard knows.
    pub code: Option<ErrorCode>,
    /// What went wrong (the server's message already ends with its fix).
    pub message: String,
}

impl ApiError {
    fn network(what: impl Into<String>) -> Self {
        Self {
            status: 0,
            code: None,
            message: format!(
                "{}. Fix: check that the SessionFS server is running and reachable from this page",
                what.into()
            ),
        }
    }

    /// A catalogue error found before any request was sent (a malformed ID typed into a form), worded
    /// exactly as the server would word it.
    pub fn local(code: ErrorCode, detail: &str) -> Self {
        let env = ErrorEnvelope::new(code, Some(detail));
        Self { status: code.status(), code: Some(code), message: env.error.message }
    }

    /// Build one from a status and a response body (the envelope, or anything else a proxy sent).
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorEnvelope>(body) {
            Ok(env) => Self { status, code: env.code(), message: env.error.message },
            Err(_) => Self {
                status,
                code: None,
                message: format!(
                    "the server answered HTTP {status} without a SessionFS error body{}",
                    if status == 502 || status == 504 {
                        ". Fix: the proxy cannot reach sessionfs-server; start it or check nginx's proxy_pass"
                    } else {
                        ""
                    }
                ),
            },
        }
    }

    /// The key was missing, wrong, expired or revoked.
    pub fn is_unauthorized(&self) -> bool {
        self.status == 401
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The result of every call.
pub type ApiResult<T> = Result<T, ApiError>;

fn js_err(what: &str) -> impl Fn(JsValue) -> ApiError + '_ {
    move |e| ApiError::network(format!("{what}: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

/// Send one request with the stored key (or `key`, when checking a key before storing it).
async fn send(method: &str, path: &str, body: Option<String>, key: Option<&str>) -> ApiResult<(u16, String)> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(js_err("building headers"))?;
    headers.set("Accept", "application/json").map_err(js_err("building headers"))?;
    let key = key.map(str::to_owned).or_else(auth::stored_key);
    if let Some(key) = key {
        headers.set("Authorization", &format!("Bearer {key}")).map_err(js_err("building headers"))?;
    }
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").map_err(js_err("building headers"))?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let url = format!("/api/v1{path}");
    let request = web_sys::Request::new_with_str_and_init(&url, &init).map_err(js_err("building the request"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js_err("the request failed"))?
        .dyn_into()
        .map_err(js_err("reading the response"))?;
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(js_err("reading the response"))?)
        .await
        .map_err(js_err("reading the response"))?
        .as_string()
        .unwrap_or_default();
    Ok((status, text))
}

async fn call<T: DeserializeOwned>(method: &str, path: &str, body: Option<String>, key: Option<&str>) -> ApiResult<T> {
    let (status, text) = send(method, path, body, key).await?;
    if !(200..300).contains(&status) {
        let err = ApiError::from_response(status, &text);
        if err.is_unauthorized() && key.is_none() {
            // The stored key stopped working (revoked, expired): back to the sign-in page, with the reason.
            auth::signed_out_because(&err);
        }
        return Err(err);
    }
    // 204 and empty bodies decode as `null`, which `()` and `Value` accept.
    let text = if text.trim().is_empty() { "null" } else { text.as_str() };
    serde_json::from_str(text).map_err(|e| ApiError {
        status,
        code: None,
        message: format!("the server's answer to {method} /api/v1{path} did not parse: {e}. Fix: the dashboard and server versions may differ; reload the page"),
    })
}

async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    call("GET", path, None, None).await
}

async fn with_body<T: DeserializeOwned>(method: &str, path: &str, body: &impl Serialize) -> ApiResult<T> {
    let json = serde_json::to_string(body).map_err(|e| ApiError::network(format!("encoding the request: {e}")))?;
    call(method, path, Some(json), None).await
}

fn enc(s: &str) -> String {
    crate::query::encode(s)
}

/// Who a key belongs to; used to check a pasted key before it is stored.
pub async fn me_with(key: &str) -> ApiResult<MeResponse> {
    call("GET", "/auth/me", None, Some(key)).await
}

/// Make an account; the answer holds its first API key, shown only this once.
pub async fn signup(email: &str) -> ApiResult<SignupResponse> {
    with_body("POST", "/auth/signup", &SignupRequest { email: email.to_owned() }).await
}

/// Who is signed in.
pub async fn me() -> ApiResult<MeResponse> {
    get("/auth/me").await
}

/// A page of live sessions or the trash.
pub async fn list_sessions(q: &SessionQuery, deleted: bool) -> ApiResult<SessionListResponse> {
    get(&format!("/sessions?{}", q.list_params(deleted))).await
}

/// Full-text search.
pub async fn search(q: &SessionQuery) -> ApiResult<SearchResponse> {
    get(&format!("/sessions/search?{}", q.search_params())).await
}

/// One session.
pub async fn session(id: &str) -> ApiResult<SessionDetail> {
    get(&format!("/sessions/{}", enc(id))).await
}

/// One page of a session's messages, oldest first.
pub async fn messages(id: &str, page: u32, page_size: u32) -> ApiResult<MessagesPage> {
    get(&format!("/sessions/{}/messages?page={page}&page_size={page_size}", enc(id))).await
}

/// Rename, alias, tag.
pub async fn patch_session(id: &str, patch: &SessionPatch) -> ApiResult<SessionDetail> {
    with_body("PATCH", &format!("/sessions/{}", enc(id)), patch).await
}

/// Soft delete from the server (the local copies stay).
pub async fn delete_session(id: &str) -> ApiResult<Value> {
    call("DELETE", &format!("/sessions/{}?scope=cloud", enc(id)), None, None).await
}

/// Back from the trash.
pub async fn restore(id: &str) -> ApiResult<RestoreResponse> {
    call("POST", &format!("/sessions/{}/restore", enc(id)), None, None).await
}

/// Purge one deleted session now (admins).
pub async fn purge(session_id: &str) -> ApiResult<PurgeResponse> {
    with_body("POST", "/admin/purge-deleted", &PurgeRequest { session_id: Some(session_id.to_owned()), user_id: None })
        .await
}

/// Storage used, per agent, largest sessions.
pub async fn storage() -> ApiResult<StorageResponse> {
    get("/storage").await
}

/// Autosync mode and debounce.
pub async fn sync_settings() -> ApiResult<SyncSettings> {
    get("/sync/settings").await
}

/// Change them.
pub async fn set_sync_settings(update: &SyncSettingsUpdate) -> ApiResult<SyncSettings> {
    with_body("PUT", "/sync/settings", update).await
}

/// Counts for the sync page.
pub async fn sync_status() -> ApiResult<SyncStatus> {
    get("/sync/status").await
}

/// Watched sessions.
pub async fn watchlist() -> ApiResult<Watchlist> {
    get("/sync/watchlist").await
}

/// Watch a session (selective mode syncs only these).
pub async fn watch(id: &str) -> ApiResult<Value> {
    call("POST", &format!("/sync/watch/{}", enc(id)), None, None).await
}

/// Stop watching.
pub async fn unwatch(id: &str) -> ApiResult<Value> {
    call("DELETE", &format!("/sync/watch/{}", enc(id)), None, None).await
}

/// Handoffs sent to me.
pub async fn inbox() -> ApiResult<HandoffListResponse> {
    get("/handoffs/inbox").await
}

/// Handoffs I sent.
pub async fn sent() -> ApiResult<HandoffListResponse> {
    get("/handoffs/sent").await
}

/// Hand a session to someone.
pub async fn create_handoff(req: &CreateHandoffRequest) -> ApiResult<HandoffResponse> {
    with_body("POST", "/handoffs", req).await
}

/// Take a copy of a handed-off session.
pub async fn claim(id: &str) -> ApiResult<HandoffResponse> {
    call("POST", &format!("/handoffs/{}/claim", enc(id)), None, None).await
}

/// Take back a handoff I sent.
pub async fn revoke(id: &str) -> ApiResult<HandoffResponse> {
    with_body("POST", &format!("/handoffs/{}/revoke", enc(id)), &ReasonRequest::default()).await
}

/// Refuse a handoff sent to me.
pub async fn decline(id: &str) -> ApiResult<HandoffResponse> {
    with_body("POST", &format!("/handoffs/{}/decline", enc(id)), &ReasonRequest::default()).await
}

/// My API keys.
pub async fn keys() -> ApiResult<Vec<ApiKeyInfo>> {
    get("/auth/me/api-keys").await
}

/// A new key, shown once.
pub async fn create_key(name: &str) -> ApiResult<CreatedApiKey> {
    with_body("POST", "/auth/me/api-keys", &CreateApiKeyRequest { name: name.to_owned(), expires_in_days: None }).await
}

/// Revoke a key.
pub async fn revoke_key(id: &str) -> ApiResult<()> {
    call("DELETE", &format!("/auth/me/api-keys/{}", enc(id)), None, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_errors_keep_the_servers_message_and_code() {
        let body = serde_json::to_string(&ErrorEnvelope::new(ErrorCode::Unauthorized, None)).unwrap();
        let e = ApiError::from_response(401, &body);
        assert_eq!(e.code, Some(ErrorCode::Unauthorized));
        assert!(e.is_unauthorized());
        assert!(e.message.contains("Fix:"), "{}", e.message);
    }

    #[test]
    fn a_proxy_error_page_says_what_to_check() {
        let e = ApiError::from_response(502, "<html>Bad Gateway</html>");
        assert_eq!(e.code, None);
        assert!(e.message.contains("proxy_pass"), "{}", e.message);
    }
}
