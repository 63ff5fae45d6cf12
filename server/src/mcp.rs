//! The MCP tools over this server's database (`/mcp`, streamable HTTP): a [`SessionSource`] that reads the
//! caller's sessions from the metadata store and their messages from the archives. The caller is
//! authenticated on every tool call from that request's bearer key, exactly as [`crate::extract::AuthUser`]
//! does; nothing about the caller is kept in shared state. Handoffs go through the REST handlers themselves
//! (in-process, with the caller's key), so mail, events and claim copies behave as over `/api/v1`.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use sessionfs_mcp::{
    Caller, HandoffInfo, ListQuery, LoadedSession, Mailbox, SearchHit, SessionInfo, SessionPage, SessionSource,
    SourceError, SourceResult,
};
use sessionfs_shared::api::{CreateHandoffRequest, HandoffListResponse, HandoffResponse};
use sessionfs_shared::sfs::{Message, files};
use sessionfs_shared::{ErrorCode, SessionId};
use tower::ServiceExt as _;

use crate::auth;
use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::store::{SessionFilter, SessionRecord, StoreError};

/// The server's sessions, per caller.
#[derive(Clone)]
pub struct ServerSource {
    app: AppState,
    /// The REST routes the handoff tools call in-process, built once (not per call).
    rest: axum::Router,
}

impl ServerSource {
    /// A source over the server's state.
    pub fn new(app: AppState) -> Self {
        let rest = crate::api::rest_routes().with_state(app.clone());
        Self { app, rest }
    }

    /// The `/mcp` tower service.
    pub fn service(app: AppState) -> sessionfs_mcp::tools::HttpService {
        let hosts = app.config.mcp_allowed_hosts.clone();
        sessionfs_mcp::http_service(Arc::new(Self::new(app)), &hosts)
    }

    async fn record(&self, caller: &Caller, reference: &str) -> SourceResult<SessionRecord> {
        crate::sessions::resolve(&self.app, &caller.user_id, reference.trim(), false).await.map_err(api_error)
    }

    /// Call the REST API in-process as the caller.
    async fn rest<T: serde::de::DeserializeOwned>(
        &self,
        caller: &Caller,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> SourceResult<T> {
        let key = caller.key.as_deref().unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(format!("/api/v1{path}"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let req = req.body(body).map_err(|e| SourceError::new(ErrorCode::Internal, e.to_string()))?;
        let resp =
            self.rest.clone().oneshot(req).await.map_err(|e| SourceError::new(ErrorCode::Internal, e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| SourceError::new(ErrorCode::Internal, e.to_string()))?
            .to_bytes();
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| SourceError::new(ErrorCode::Internal, e.to_string()));
        }
        Err(envelope_error(status, &bytes))
    }
}

fn envelope_error(status: StatusCode, bytes: &[u8]) -> SourceError {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let code = v["error"]["code"].as_str().and_then(ErrorCode::from_code).unwrap_or(ErrorCode::Internal);
    let detail = v["error"]["details"]["detail"]
        .as_str()
        .or_else(|| v["error"]["message"].as_str())
        .map_or_else(|| format!("HTTP {status}"), str::to_owned);
    SourceError::new(code, detail)
}

fn api_error(e: ApiError) -> SourceError {
    let code = e.code();
    SourceError::new(code, code.message())
}

fn store_error(e: StoreError) -> SourceError {
    api_error(e.into())
}

fn info(s: &SessionRecord, project: Option<String>) -> SessionInfo {
    let m = &s.meta;
    SessionInfo {
        id: s.id.to_string(),
        agent: m.source_tool.clone(),
        title: m.title.clone(),
        alias: s.alias.clone(),
        tags: m.tags.clone(),
        project_path: project,
        model: m.model_id.clone(),
        message_count: m.message_count,
        turn_count: m.turn_count,
        tool_call_count: m.tool_use_count,
        created_at: Some(m.created_at.clone()).filter(|t| !t.is_empty()),
        updated_at: Some(m.updated_at.clone()).filter(|t| !t.is_empty()),
    }
}

fn matches(s: &SessionRecord, q: &ListQuery) -> bool {
    let m = &s.meta;
    if let Some(since) = &q.since
        && m.updated_at.as_str() < since.as_str()
    {
        return false;
    }
    if let Some(t) = &q.text {
        let t = t.to_lowercase();
        let hit = m.title.as_deref().is_some_and(|x| x.to_lowercase().contains(&t))
            || s.alias.as_deref().is_some_and(|x| x.to_lowercase().contains(&t))
            || m.tags.iter().any(|x| x.to_lowercase().contains(&t));
        if !hit {
            return false;
        }
    }
    true
}

#[async_trait]
impl SessionSource for ServerSource {
    async fn caller(&self, bearer: Option<&str>) -> SourceResult<Caller> {
        let unauthorized = |d: &str| SourceError::new(ErrorCode::Unauthorized, d);
        let Some(key) = bearer.filter(|k| !k.is_empty()) else {
            return Err(unauthorized("missing Authorization: Bearer <API key> header"));
        };
        if !auth::looks_like_key(key) {
            return Err(unauthorized("the API key is malformed (expected sk_sfs_ followed by 32 hex characters)"));
        }
        let hash = auth::hash_key(key);
        let (record, user) = match self.app.store.key_by_hash(&hash).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(unauthorized("unknown API key")),
            Err(e) => return Err(store_error(e)),
        };
        // As in `extract::AuthUser`: only keys that exist are charged, so made-up ones add no limiter entry.
        if let Some(limiter) = &self.app.limiter
            && limiter.check(&hash).is_err()
        {
            return Err(SourceError::new(ErrorCode::RateLimited, "this API key is over its per-minute limit"));
        }
        let now = now();
        if !auth::key_matches(key, &record.key_hash)
            || record.revoked_at.is_some()
            || record.expires_at.as_deref().is_some_and(|e| e <= now.as_str())
        {
            return Err(unauthorized("unknown, revoked or expired API key"));
        }
        Ok(Caller { user_id: user.id, email: Some(user.email), key: Some(key.to_owned()) })
    }

    async fn list_sessions(&self, caller: &Caller, q: &ListQuery) -> SourceResult<SessionPage> {
        let needs_scan = q.since.is_some() || q.text.is_some() || q.project.is_some();
        let filter = SessionFilter {
            page: if needs_scan { 1 } else { q.page },
            page_size: if needs_scan { 10_000 } else { q.page_size },
            source_tool: q.agent.clone(),
            tag: None,
            deleted: false,
            sort: None,
        };
        let (rows, total) = self.app.store.list_sessions(&caller.user_id, &filter).await.map_err(store_error)?;
        if !needs_scan {
            let has_more = u64::from(q.page.saturating_sub(1)) * u64::from(q.page_size) + (rows.len() as u64) < total;
            let sessions = rows.iter().map(|s| info(s, None)).collect();
            return Ok(SessionPage { sessions, page: q.page, page_size: q.page_size, total, has_more });
        }
        // The server does not index project folders; a project filter matches nothing it cannot check.
        let rows: Vec<_> = rows.iter().filter(|s| q.project.is_none() && matches(s, q)).collect();
        let total = rows.len() as u64;
        let skip = (q.page.saturating_sub(1) as usize).saturating_mul(q.page_size as usize);
        let sessions: Vec<_> = rows.iter().skip(skip).take(q.page_size as usize).map(|s| info(s, None)).collect();
        let has_more = ((skip + sessions.len()) as u64) < total;
        Ok(SessionPage { sessions, page: q.page, page_size: q.page_size, total, has_more })
    }

    async fn search_sessions(
        &self,
        caller: &Caller,
        query: &str,
        agent: Option<&str>,
        limit: u32,
    ) -> SourceResult<Vec<SearchHit>> {
        let (hits, _) =
            self.app.store.search_sessions(&caller.user_id, query, agent, None, 1, limit).await.map_err(store_error)?;
        Ok(hits
            .into_iter()
            .map(|(s, snippet)| SearchHit {
                session_id: s.id.to_string(),
                agent: s.meta.source_tool.clone(),
                title: s.meta.title.clone(),
                msg_id: None,
                role: None,
                snippet,
            })
            .collect())
    }

    async fn load_session(&self, caller: &Caller, reference: &str) -> SourceResult<LoadedSession> {
        let s = self.record(caller, reference).await?;
        let bytes = crate::sessions::read_member(&self.app, &s, files::MESSAGES).await.map_err(api_error)?;
        let messages: Vec<Message> = bytes
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .filter_map(|l| Message::from_json_line(l).ok())
            .collect();
        let workspace = crate::sessions::read_member(&self.app, &s, files::WORKSPACE).await.ok().flatten();
        let project = workspace
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["root_path"].as_str().map(str::to_owned))
            .filter(|p| !p.is_empty());
        Ok(LoadedSession { info: info(&s, project), messages })
    }

    async fn handoff(
        &self,
        caller: &Caller,
        session_id: &str,
        email: &str,
        message: Option<&str>,
    ) -> SourceResult<HandoffInfo> {
        SessionId::parse(session_id.trim())
            .map_err(|e| SourceError::new(ErrorCode::InvalidSessionId, e.to_string()))?;
        let req = CreateHandoffRequest {
            session_id: session_id.trim().to_owned(),
            recipient_email: Some(email.to_owned()),
            message: message.map(str::to_owned),
            ..CreateHandoffRequest::default()
        };
        let body = serde_json::to_value(req).map_err(|e| SourceError::new(ErrorCode::Internal, e.to_string()))?;
        let h: HandoffResponse = self.rest(caller, "POST", "/handoffs", Some(body)).await?;
        Ok(h.into())
    }

    async fn list_handoffs(&self, caller: &Caller, mailbox: Mailbox) -> SourceResult<Vec<HandoffInfo>> {
        let path = if mailbox == Mailbox::Sent { "/handoffs/sent" } else { "/handoffs/inbox" };
        let list: HandoffListResponse = self.rest(caller, "GET", path, None).await?;
        Ok(list.handoffs.into_iter().map(HandoffInfo::from).collect())
    }

    async fn claim_handoff(&self, caller: &Caller, handoff_id: &str) -> SourceResult<HandoffInfo> {
        if !handoff_id.starts_with("hnd_") || !handoff_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SourceError::new(ErrorCode::InvalidHandoffId, format!("{handoff_id:?} is not a hnd_ ID")));
        }
        let h: HandoffResponse = self.rest(caller, "POST", &format!("/handoffs/{handoff_id}/claim"), None).await?;
        Ok(h.into())
    }
}
