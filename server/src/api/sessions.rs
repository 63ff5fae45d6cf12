//! Sessions: upload, list, search, detail, download, edit, messages, workspace, tools, delete, restore,
//! and the sync pair `PUT`/`GET /sessions/{id}/sync` with ETag semantics (protocol §3).

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use sessionfs_shared::api::{
    MessagesPage, RestoreResponse, SearchMatch, SearchResponse, SearchResult, SessionDetail, SessionListResponse,
    SessionPatch, SessionSort,
};
use sessionfs_shared::{ErrorCode, SessionId};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, AuthUser, SessionPath, Uploader};
use crate::sessions::{self, ManifestId, PushOptions, is_alias, resolve, unquote_etag};
use crate::state::{AppState, in_days, now};
use crate::store::{SessionFilter, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(upload).get(list))
        .route("/sessions/search", get(search))
        .route("/sessions/{id}", get(detail).patch(patch).delete(soft_delete))
        .route("/sessions/{id}/download", get(download))
        .route("/sessions/{id}/sync", put(push).get(pull))
        .route("/sessions/{id}/messages", get(messages))
        .route("/sessions/{id}/workspace", get(workspace))
        .route("/sessions/{id}/tools", get(tools))
        .route("/sessions/{id}/restore", post(restore))
}

/// An upload's `multipart/form-data` body (the original client's shape; [`archive_field`] reads it). A body
/// that is not multipart is refused in the error envelope, not with axum's plain-text 400.
struct ArchiveUpload(Multipart);

impl<S: Send + Sync> FromRequest<S> for ArchiveUpload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let multipart = Multipart::from_request(req, state).await.map_err(|_| {
            let got = content_type.map_or_else(
                || "no Content-Type".to_owned(),
                |t| format!("Content-Type {:?}", sessionfs_shared::terminal::abbreviated(&t)),
            );
            ApiError::new(ErrorCode::BadRequest)
                .detail(format!(
                    "the body must be multipart/form-data with a boundary, the archive in its `file` field; got {got}"
                ))
                .with("expected_content_type", "multipart/form-data")
        })?;
        Ok(Self(multipart))
    }
}

/// The archive from a multipart body's `file` field.
async fn archive_field(mut multipart: Multipart) -> ApiResult<Bytes> {
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::RequestEntityTooLarge).detail("the upload exceeds SFS_MAX_UPLOAD_SIZE")
        } else {
            ApiError::new(ErrorCode::BadRequest).detail(format!("malformed multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        if field.name() == Some("file") {
            return field.bytes().await.map_err(too_large);
        }
    }
    Err(ApiError::new(ErrorCode::BadRequest)
        .detail("the multipart body has no `file` field holding the session's tar.gz"))
}

#[derive(Deserialize)]
struct UploadQuery {
    #[serde(default)]
    source_tool: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// `POST /sessions`: a new session under a server-chosen ID (the original's upload).
async fn upload(
    Uploader(user): Uploader,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    ArchiveUpload(multipart): ArchiveUpload,
) -> ApiResult<Response> {
    if let Some(t) = &q.title {
        check_title(t)?;
    }
    let bytes = archive_field(multipart).await?;
    let id = SessionId::hashed(&crate::auth::random_hex(16));
    let _ = q.source_tool; // the manifest's tool is authoritative; accepted for the original's query
    let opts = PushOptions { manifest_id: ManifestId::Rewrite, title: q.title, ..PushOptions::default() };
    let (_, resp) = sessions::accept_push(&app, &user.user.id, &id, bytes, opts).await?;
    Ok((StatusCode::CREATED, Json(json!({ "session_id": resp.session_id, "etag": resp.etag, "blob_size_bytes": resp.blob_size_bytes, "uploaded_at": resp.synced_at }))).into_response())
}

/// `PUT /sessions/{id}/sync`. Without a condition the push overwrites (the original client relies on it);
/// `If-Match` makes it a compare-and-swap and `If-None-Match: *` a create that never replaces a live session.
async fn push(
    Uploader(user): Uploader,
    State(app): State<AppState>,
    SessionPath(id): SessionPath,
    headers: HeaderMap,
    ArchiveUpload(multipart): ArchiveUpload,
) -> ApiResult<Response> {
    let expected_etag =
        headers.get(IF_MATCH).and_then(|v| v.to_str().ok()).map(unquote_etag).filter(|e| e != "*" && !e.is_empty());
    let undelete = headers
        .get("x-sessionfs-undelete")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let create_only = match headers.get(IF_NONE_MATCH).map(|v| v.to_str().map(str::trim)) {
        None => false,
        Some(Ok("*")) => true,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::BadRequest)
                .detail("a push takes only `If-None-Match: *` (create the session only if it does not exist yet)"));
        }
    };
    let bytes = archive_field(multipart).await?;
    let opts = PushOptions { expected_etag, undelete, create_only, manifest_id: ManifestId::MustMatch, title: None };
    let (created, resp) = sessions::accept_push(&app, &user.user.id, &id, bytes, opts).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let etag = HeaderValue::from_str(&format!("\"{}\"", resp.etag)).map_err(ApiError::internal)?;
    Ok((status, [(ETAG, etag)], Json(resp)).into_response())
}

fn archive_response(etag: &str, bytes: Bytes) -> ApiResult<Response> {
    let etag = HeaderValue::from_str(&format!("\"{etag}\"")).map_err(ApiError::internal)?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/gzip")), (ETAG, etag)], Body::from(bytes))
        .into_response())
}

/// `GET /sessions/{id}/sync`: the archive, or 304 when `If-None-Match` has the current ETag.
async fn pull(
    user: AuthUser,
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let s = resolve(&app, &user.user.id, &raw, false).await?;
    if headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| unquote_etag(e) == s.etag))
    {
        let etag = HeaderValue::from_str(&format!("\"{}\"", s.etag)).map_err(ApiError::internal)?;
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response());
    }
    let bytes = app.blobs.get(&s.blob_key).await?;
    archive_response(&s.etag, bytes)
}

async fn download(user: AuthUser, State(app): State<AppState>, Path(raw): Path<String>) -> ApiResult<Response> {
    let s = resolve(&app, &user.user.id, &raw, false).await?;
    let bytes = app.blobs.get(&s.blob_key).await?;
    archive_response(&s.etag, bytes)
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "twenty")]
    page_size: u32,
    #[serde(default)]
    source_tool: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    deleted: bool,
    /// Read as text so an unknown value gets a message listing the allowed ones.
    #[serde(default)]
    sort: Option<String>,
}

fn one() -> u32 {
    1
}
fn twenty() -> u32 {
    20
}

fn check_page(page: u32, page_size: u32, max: u32) -> ApiResult<()> {
    if page == 0 || page_size == 0 || page_size > max {
        return Err(
            ApiError::new(ErrorCode::BadRequest).detail(format!("page starts at 1 and page_size is 1 to {max}"))
        );
    }
    Ok(())
}

fn parse_sort(s: &str) -> ApiResult<SessionSort> {
    SessionSort::parse(s).ok_or_else(|| {
        let allowed: Vec<&str> = SessionSort::ALL.iter().map(|o| o.as_str()).collect();
        ApiError::new(ErrorCode::BadRequest).detail(format!("sort {s:?} is not one of {}", allowed.join(", ")))
    })
}

/// Agents by the names people use (`gemini` for `gemini-cli`).
fn tool_name(t: &str) -> String {
    t.parse::<sessionfs_shared::AgentKind>().map(|k| k.as_str().to_owned()).unwrap_or_else(|_| t.to_owned())
}

async fn list(
    user: AuthUser,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<SessionListResponse>> {
    check_page(q.page, q.page_size, 100)?;
    let sort = q.sort.as_deref().map(parse_sort).transpose()?;
    let filter = SessionFilter {
        page: q.page,
        page_size: q.page_size,
        source_tool: q.source_tool.as_deref().map(tool_name),
        tag: q.tag,
        deleted: q.deleted,
        sort,
    };
    let (rows, total) = app.store.list_sessions(&user.user.id, &filter).await?;
    let has_more = u64::from(q.page) * u64::from(q.page_size) < total;
    Ok(Json(SessionListResponse {
        sessions: rows.iter().map(sessions::summary).collect(),
        total,
        page: q.page,
        page_size: q.page_size,
        has_more,
    }))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    #[serde(default)]
    tool: Option<String>,
    #[serde(default)]
    days: Option<u32>,
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "twenty")]
    page_size: u32,
}

async fn search(
    user: AuthUser,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchResponse>> {
    check_page(q.page, q.page_size, 50)?;
    if q.q.trim().is_empty() {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("q is empty: give the words to search for"));
    }
    // The limits of `sfs search` and the MCP search tool, so a query one accepts the others do.
    sessionfs_shared::search::check_query_size(&q.q)
        .map_err(|too_big| ApiError::new(ErrorCode::BadRequest).detail(format!("q: {too_big}")))?;
    // The original's range; past it `now - days` would also overflow the date type.
    if let Some(days) = q.days.filter(|d| !(1..=365).contains(d)) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail(format!("days is 1 to 365, not {days}")));
    }
    let since = q.days.map(days_ago);
    let tool = q.tool.as_deref().map(tool_name);
    let (rows, total) =
        app.store.search_sessions(&user.user.id, &q.q, tool.as_deref(), since.as_deref(), q.page, q.page_size).await?;
    let results = rows
        .into_iter()
        .map(|(s, snippet)| SearchResult {
            session_id: s.id.to_string(),
            title: s.meta.title.clone(),
            alias: s.alias.clone(),
            source_tool: s.meta.source_tool.clone(),
            model_id: s.meta.model_id.clone(),
            message_count: s.meta.message_count,
            updated_at: s.meta.updated_at.clone(),
            matches: vec![SearchMatch { snippet }],
        })
        .collect();
    Ok(Json(SearchResponse { results, total, page: q.page, page_size: q.page_size, query: q.q }))
}

fn days_ago(days: u32) -> String {
    sessionfs_shared::Timestamp::from_datetime(chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
        .to_rfc3339()
}

async fn detail(
    user: AuthUser,
    State(app): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Json<SessionDetail>> {
    Ok(Json(sessions::detail(&resolve(&app, &user.user.id, &raw, false).await?)))
}

async fn patch(
    user: AuthUser,
    State(app): State<AppState>,
    SessionPath(id): SessionPath,
    ApiJson(p): ApiJson<SessionPatch>,
) -> ApiResult<Json<SessionDetail>> {
    if p.title.is_none() && p.alias.is_none() && p.tags.is_none() {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("give at least one of title, alias, tags"));
    }
    if let Some(t) = &p.title {
        check_title(t)?;
    }
    if let Some(a) = p.alias.as_deref().filter(|a| !a.is_empty())
        && (!is_alias(a) || a.starts_with("ses_"))
    {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .detail("an alias is 3 to 100 letters, digits, _ or -, starting with a letter or digit"));
    }
    if let Some(tags) = &p.tags
        && (tags.len() > 20 || tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 50))
    {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("at most 20 tags of 1 to 50 characters"));
    }
    let s = app.store.patch_session(&user.user.id, &id, &p, &now()).await?;
    Ok(Json(sessions::detail(&s)))
}

/// The original's bound on a title: 1 to 500 characters (counted as characters, not UTF-8 bytes), not blank.
fn check_title(title: &str) -> ApiResult<()> {
    if title.trim().is_empty() || title.chars().count() > 500 {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("a title is 1 to 500 characters, not blank"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct MessagesQuery {
    #[serde(default = "one")]
    page: u32,
    #[serde(default = "fifty")]
    page_size: u32,
    #[serde(default)]
    order: Option<String>,
}

fn fifty() -> u32 {
    50
}

async fn messages(
    user: AuthUser,
    State(app): State<AppState>,
    SessionPath(id): SessionPath,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> ApiResult<Json<MessagesPage>> {
    // Up to 1000 so the dashboard reads a 10,000-message session in ten requests: every request reads the
    // whole file to count it, so fewer, larger pages cost the server less.
    check_page(q.page, q.page_size, 1000)?;
    let s = app.store.session(&user.user.id, &id, false).await?;
    let newest_first = q.order.as_deref() == Some("newest");
    let start = u64::from(q.page - 1) * u64::from(q.page_size);
    let page = sessions::messages_page(&app, &s, newest_first, start, q.page_size as usize).await?;
    let messages: Vec<Value> = page.messages.iter().filter_map(|m| serde_json::to_value(m).ok()).collect();
    let has_more = start + (messages.len() as u64) < page.total;
    Ok(Json(MessagesPage { messages, total: page.total, page: q.page, page_size: q.page_size, has_more }))
}

async fn member_json(
    app: &AppState,
    owner: &str,
    id: &SessionId,
    name: &'static str,
    key: &str,
) -> ApiResult<Json<Value>> {
    let s = app.store.session(owner, id, false).await?;
    let bytes = sessions::read_member(app, &s, name)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::SessionNotFound).detail(format!("this session has no {name}")))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    Ok(Json(json!({ key: value })))
}

async fn workspace(
    user: AuthUser,
    State(app): State<AppState>,
    SessionPath(id): SessionPath,
) -> ApiResult<Json<Value>> {
    member_json(&app, &user.user.id, &id, "workspace.json", "workspace").await
}

async fn tools(user: AuthUser, State(app): State<AppState>, SessionPath(id): SessionPath) -> ApiResult<Json<Value>> {
    member_json(&app, &user.user.id, &id, "tools.json", "tools").await
}

#[derive(Deserialize)]
struct DeleteQuery {
    #[serde(default)]
    scope: Option<String>,
}

async fn soft_delete(
    user: AuthUser,
    State(app): State<AppState>,
    Path(raw): Path<String>,
    ApiQuery(q): ApiQuery<DeleteQuery>,
) -> ApiResult<Response> {
    let scope = match q.scope.as_deref() {
        None | Some("cloud") => "cloud",
        Some("everywhere" | "both") => "everywhere",
        Some(other) => {
            return Err(
                ApiError::new(ErrorCode::BadRequest).detail(format!("scope {other:?} is not cloud or everywhere"))
            );
        }
    };
    let s = resolve(&app, &user.user.id, &raw, true).await?;
    let deleted = match app
        .store
        .soft_delete(&user.user.id, &s.id, scope, &now(), &in_days(app.config.delete_retention_days))
        .await
    {
        Ok(d) => d,
        Err(StoreError::Deleted) => {
            return Err(ApiError::new(ErrorCode::SessionDeleted).detail("it is already in the trash"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut resp = Json(sessions::detail(&deleted)).into_response();
    if q.scope.is_none() {
        resp.headers_mut()
            .insert("x-deprecation-warning", HeaderValue::from_static("pass ?scope=cloud or ?scope=everywhere"));
    }
    Ok(resp)
}

async fn restore(
    user: AuthUser,
    State(app): State<AppState>,
    SessionPath(id): SessionPath,
) -> ApiResult<Json<RestoreResponse>> {
    match app.store.restore(&user.user.id, &id).await {
        Ok((s, scope)) => Ok(Json(RestoreResponse {
            session: sessions::detail(&s),
            local_copy_may_be_missing: scope.as_deref() == Some("everywhere"),
            restored_from_scope: scope,
        })),
        Err(StoreError::Conflict { .. }) => {
            Err(ApiError::new(ErrorCode::Conflict).detail("the session is not deleted"))
        }
        // The original answers 410 here, and its client reports it as "permanently purged"; the catalogue's
        // message and fix for 410 session_deleted are for a session in the trash, which this is not.
        Err(StoreError::NotFound) => Err(ApiError::new(ErrorCode::SessionDeleted)
            .saying(
                "Session is not in the trash",
                "nothing to restore from the server; a machine that still has a copy can push it again (`sfs push <id>`)",
            )
            .detail(
                "it was never pushed to this server from this account, or it was purged after the retention \
                 period (SFS_DELETE_RETENTION_DAYS, 30 days by default)",
            )),
        Err(e) => Err(e.into()),
    }
}
