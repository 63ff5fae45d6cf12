//! Handoffs: give a session to a teammate by email. Claiming copies the session into the recipient's
//! account (archive and row), so the recipient sees it in their own list (protocol §5). Only the sender
//! and the recipient can see a handoff; anyone else gets 404. Where the server requires verified emails, the
//! recipient's side (inbox, viewing, claiming, declining, comments) needs one: the address is what names them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sessionfs_shared::api::{
    CreateHandoffRequest, HandoffCommentRequest, HandoffListResponse, HandoffResponse, ReasonRequest,
};
use sessionfs_shared::{ErrorCode, HandoffId, SessionId};

use super::auth::{not_an_email, valid_email};
use crate::auth::random_hex;
use crate::blobs::Blobs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, AuthUser, HandoffPath, OptionalJson, require_verified};
use crate::state::{AppState, in_hours, now};
use crate::store::{HandoffComment, HandoffRecord, SessionRecord, StoreError, UserRecord};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/handoffs", post(create))
        .route("/handoffs/inbox", get(inbox))
        .route("/handoffs/inbox/", get(inbox)) // the original CLI calls these with a trailing slash
        .route("/handoffs/sent", get(sent))
        .route("/handoffs/sent/", get(sent))
        .route("/handoffs/{id}", get(get_one))
        .route("/handoffs/{id}/claim", post(claim))
        .route("/handoffs/{id}/revoke", post(revoke))
        .route("/handoffs/{id}/decline", post(decline))
        .route("/handoffs/{id}/comments", get(comments).post(comment))
        .route("/handoffs/{id}/events", get(events))
}

fn response(h: &HandoffRecord) -> HandoffResponse {
    HandoffResponse {
        id: h.id.clone(),
        session_id: h.session_id.clone(),
        sender_id: h.sender_id.clone(),
        sender_email: h.sender_email.clone(),
        recipient_email: h.recipient_email.clone(),
        message: h.message.clone(),
        status: effective_status(h),
        created_at: h.created_at.clone(),
        expires_at: h.expires_at.clone(),
        claimed_at: h.claimed_at.clone(),
        recipient_session_id: h.recipient_session_id.clone(),
        session_title: h.snapshot_title.clone(),
        session_tool: h.snapshot_tool.clone(),
        session_model_id: h.snapshot_model_id.clone(),
        session_message_count: h.snapshot_message_count,
        handoff_kind: "individual".into(),
        recipient_user_id: h.recipient_id.clone(),
        recipient_team_id: None,
        ticket_id: None,
        persona_name: None,
        viewed_at: h.viewed_at.clone(),
        revoked_at: h.revoked_at.clone(),
        revoke_reason: h.revoke_reason.clone(),
        attachments: Vec::new(),
        comments: Vec::new(),
        events: Vec::new(),
    }
}

/// Record an event; a failure to record is logged, never fatal.
async fn event(app: &AppState, id: &str, kind: &str, actor: Option<&str>, payload: serde_json::Value) {
    if let Err(e) = app.store.add_handoff_event(id, kind, actor, &payload, &now()).await {
        tracing::warn!(handoff = id, kind, error = %e, "could not record a handoff event");
    }
}

/// A pending handoff past its expiry reads as expired, whether or not that was written yet.
fn effective_status(h: &HandoffRecord) -> String {
    if h.status == "pending" && h.expires_at.as_str() <= now().as_str() { "expired".into() } else { h.status.clone() }
}

/// In place of the catalogue's 409 (which is about accounts that exist already): what a handoff that is no longer
/// pending means.
const NOT_PENDING: &str = "Handoff no longer pending";
const NOT_PENDING_FIX: &str = "it was claimed, revoked, declined or expired already; see its status with `sfs handoff \
                               list` (or `--sent`), and ask the sender for a new handoff if you still need it";

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::HandoffNotFound)
}

/// A handoff from an account to its own address: claiming it would only copy the session within the account.
fn to_yourself() -> ApiError {
    ApiError::new(ErrorCode::BadRequest).detail(
        "a session cannot be handed to your own address (it is in your account already); hand it to a teammate's \
         email",
    )
}

/// The handoff, if the caller is its sender or recipient; 404 otherwise (existence is not revealed).
async fn visible(app: &AppState, user: &UserRecord, id: &HandoffId) -> ApiResult<HandoffRecord> {
    let h = match app.store.handoff(id.as_str()).await {
        Ok(h) => h,
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if h.sender_id != user.id && h.recipient_email != user.email {
        return Err(not_found());
    }
    if h.sender_id != user.id {
        // Anyone can sign up with any address: only a verified one proves the caller is its recipient.
        require_verified(app, user, "seeing or claiming sessions handed to it")?;
    }
    if h.status == "pending" && effective_status(&h) == "expired" {
        // Persist the expiry the first time anyone looks; losing this race to a claim is fine.
        if app.store.set_handoff_status(&h.id, "expired", None, &now()).await.is_ok() {
            event(app, &h.id, "expired", None, json!({})).await;
        }
    }
    Ok(h)
}

async fn create(
    user: AuthUser,
    State(app): State<AppState>,
    ApiJson(req): ApiJson<CreateHandoffRequest>,
) -> ApiResult<(StatusCode, Json<HandoffResponse>)> {
    let id = SessionId::parse(&req.session_id)
        .map_err(|e| ApiError::new(ErrorCode::InvalidSessionId).detail(format!("{:?} is not one", e.given)))?;
    if req.recipient_team_id.is_some() {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .detail("team handoffs are not supported by this server; hand off to an email or a user ID"));
    }
    let to = match (req.recipient_email.as_deref(), req.recipient_user_id.as_deref()) {
        (Some(email), None) => email.trim().to_lowercase(),
        (None, Some(user_id)) => match app.store.user(user_id.trim()).await {
            Ok(u) => u.email,
            Err(StoreError::NotFound) => {
                return Err(ApiError::new(ErrorCode::BadRequest)
                    .detail(format!("no user with ID {user_id:?}"))
                    .with("status", 404));
            }
            Err(e) => return Err(e.into()),
        },
        _ => {
            return Err(ApiError::new(ErrorCode::BadRequest)
                .detail("give exactly one recipient: recipient_email or recipient_user_id"));
        }
    };
    // The address goes into a mail header: the check signup makes, so nothing can add a header line.
    if !valid_email(&to) {
        return Err(not_an_email(&to));
    }
    if req.message.as_deref().is_some_and(|m| m.chars().count() > 2000) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("the message is at most 2000 characters"));
    }
    let hours = req.expires_in_hours.unwrap_or(168).clamp(1, 720);
    let s = app.store.session(&user.user.id, &id, false).await.map_err(|e| match e {
        StoreError::NotFound => {
            ApiError::new(ErrorCode::SessionNotFound).detail("push the session first (`sfs push <id>`)")
        }
        other => other.into(),
    })?;
    if to == user.user.email {
        return Err(to_yourself());
    }
    let h = HandoffRecord {
        id: format!("hnd_{}", random_hex(8)),
        sender_id: user.user.id.clone(),
        sender_email: user.user.email.clone(),
        session_id: id.to_string(),
        recipient_email: to.clone(),
        message: req.message.clone().filter(|m| !m.trim().is_empty()),
        status: "pending".into(),
        created_at: now(),
        expires_at: in_hours(hours),
        claimed_at: None,
        recipient_id: None,
        recipient_session_id: None,
        snapshot_title: s.meta.title.clone(),
        snapshot_tool: Some(s.meta.source_tool.clone()),
        snapshot_model_id: s.meta.model_id.clone(),
        snapshot_message_count: s.meta.message_count,
        viewed_at: None,
        revoked_at: None,
        revoke_reason: None,
    };
    app.store.create_handoff(&h).await?;
    event(&app, &h.id, "created", Some(&user.user.id), json!({ "expires_in_hours": hours })).await;
    let body = format!(
        "{} handed you a SessionFS session: {}\n\n{}\nClaim it with:\n\n    sfs pull-handoff {}\n\nThe handoff expires at {}.\n",
        user.user.email,
        h.snapshot_title.as_deref().unwrap_or("(untitled)"),
        h.message.as_deref().map(|m| format!("Message: {m}\n")).unwrap_or_default(),
        h.id,
        h.expires_at
    );
    app.mailer.send(&to, "A session was handed off to you", &body).await;
    Ok((StatusCode::CREATED, Json(response(&h))))
}

async fn inbox(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<HandoffListResponse>> {
    require_verified(&app, &user.user, "seeing sessions handed to it")?;
    let list = app.store.inbox(&user.user.email).await?;
    Ok(Json(HandoffListResponse { total: list.len() as u64, handoffs: list.iter().map(response).collect() }))
}

async fn sent(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<HandoffListResponse>> {
    let list = app.store.sent(&user.user.id).await?;
    Ok(Json(HandoffListResponse { total: list.len() as u64, handoffs: list.iter().map(response).collect() }))
}

async fn get_one(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
) -> ApiResult<Json<HandoffResponse>> {
    let h = visible(&app, &user.user, &id).await?;
    if effective_status(&h) == "expired" {
        return Err(ApiError::new(ErrorCode::HandoffExpired).detail(format!("it expired at {}", h.expires_at)));
    }
    let mut h = h;
    if h.recipient_email == user.user.email
        && h.sender_id != user.user.id
        && app.store.mark_handoff_viewed(&h.id, &now()).await?
    {
        event(&app, &h.id, "viewed", Some(&user.user.id), json!({})).await;
        h = app.store.handoff(&h.id).await?;
    }
    let mut resp = response(&h);
    resp.comments = app
        .store
        .handoff_comments(&h.id, 200)
        .await?
        .into_iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    resp.events =
        app.store.handoff_events(&h.id, 200).await?.into_iter().filter_map(|e| serde_json::to_value(e).ok()).collect();
    Ok(Json(resp))
}

async fn claim(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
) -> ApiResult<Json<HandoffResponse>> {
    let h = visible(&app, &user.user, &id).await?;
    if h.sender_id == user.user.id {
        // Only handoffs made before `create` refused the sender's own address get here as the recipient.
        return Err(if h.recipient_email == user.user.email { to_yourself() } else { not_found() });
    }
    if h.recipient_email != user.user.email {
        return Err(not_found());
    }
    match effective_status(&h).as_str() {
        "pending" => {}
        "expired" => {
            return Err(ApiError::new(ErrorCode::HandoffExpired).detail(format!("it expired at {}", h.expires_at)));
        }
        other => {
            let e = ApiError::new(ErrorCode::Conflict).with("current_status", other.to_owned());
            return Err(match other {
                "claimed" => e
                    .saying(
                        "Handoff already claimed",
                        "it was claimed already: the copy is `details.recipient_session_id` in your sessions \
                         (`sfs list-remote`); pull it with `sfs pull <id>`",
                    )
                    .with("recipient_session_id", h.recipient_session_id.clone()),
                "revoked" => e.saying("Handoff revoked", "the sender revoked it; ask them for a new handoff"),
                "declined" => e.saying("Handoff declined", "it was declined; ask the sender for a new handoff"),
                _ => e.detail(format!("the handoff is {other}")).saying(NOT_PENDING, NOT_PENDING_FIX),
            });
        }
    }
    let source_id = SessionId::parse(&h.session_id).map_err(ApiError::internal)?;
    let source = app.store.session(&h.sender_id, &source_id, false).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::new(ErrorCode::SessionNotFound).detail("the sender deleted the session"),
        other => other.into(),
    })?;
    if let Some(quota) = app.config.storage_quota_bytes {
        let used = app.store.storage_used(&user.user.id).await?;
        if used + source.blob_size > quota {
            return Err(StoreError::Quota { used, quota, needed: source.blob_size }.into());
        }
    }
    // The copy is a session of its own: its manifest names its new ID and points back at the original.
    let new_id = SessionId::hashed(&random_hex(16));
    let original = app.blobs.get(&source.blob_key).await?;
    let limits = app.archive_limits();
    let (copy_id, parent) = (new_id.clone(), source.id.to_string());
    let bytes = tokio::task::spawn_blocking(move || {
        crate::archive::rewrite_manifest(&original, &limits, |m| {
            m.session_id = copy_id;
            m.parent_session_id = Some(parent);
            m.sync = None;
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("stored archive unreadable: {e}")))?;
    let etag = crate::auth::sha256_hex(&bytes);
    let size = bytes.len() as u64;
    let key = Blobs::key(&user.user.id, new_id.as_str(), &etag);
    app.blobs.put(&key, bytes::Bytes::from(bytes)).await?;
    let now = now();
    let mut meta = source.meta.clone();
    meta.parent_session_id = Some(source.id.to_string());
    meta.updated_at = now.clone();
    let copy = SessionRecord {
        owner: user.user.id.clone(),
        id: new_id.clone(),
        alias: None,
        meta,
        blob_key: key.clone(),
        blob_size: size,
        etag,
        uploaded_at: now.clone(),
        is_deleted: false,
        deleted_at: None,
        deleted_by: None,
        delete_scope: None,
        purge_after: None,
    };
    if let Err(e) = app.store.claim_handoff(&h.id, &user.user.id, &copy, &now).await {
        let _ = app.blobs.delete(&key).await;
        return Err(match e {
            StoreError::Conflict { .. } => ApiError::new(ErrorCode::Conflict)
                .detail("it was claimed or revoked while this claim ran")
                .saying(NOT_PENDING, NOT_PENDING_FIX),
            other => other.into(),
        });
    }
    let claimed = app.store.handoff(&h.id).await?;
    event(&app, &h.id, "claimed", Some(&user.user.id), json!({ "new_session_id": new_id })).await;
    app.mailer
        .send(
            &h.sender_email,
            "Your handoff was claimed",
            &format!(
                "{} claimed handoff {} ({}).\n",
                user.user.email,
                h.id,
                h.snapshot_title.as_deref().unwrap_or("untitled")
            ),
        )
        .await;
    Ok(Json(response(&claimed)))
}

async fn transition(
    app: &AppState,
    user: &UserRecord,
    id: &HandoffId,
    sender_side: bool,
    to: &str,
    reason: Option<String>,
) -> ApiResult<Json<HandoffResponse>> {
    let h = visible(app, user, id).await?;
    let allowed = if sender_side { h.sender_id == user.id } else { h.recipient_email == user.email };
    if !allowed {
        return Err(not_found());
    }
    if effective_status(&h) != "pending" {
        return Err(ApiError::new(ErrorCode::Conflict)
            .detail(format!("the handoff is {}", effective_status(&h)))
            .with("current_status", effective_status(&h))
            .saying(NOT_PENDING, NOT_PENDING_FIX));
    }
    if reason.as_deref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("a reason is at most 500 characters"));
    }
    app.store.set_handoff_status(&h.id, to, reason.as_deref(), &now()).await.map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::new(ErrorCode::Conflict)
            .detail("the handoff changed meanwhile")
            .saying(NOT_PENDING, NOT_PENDING_FIX),
        other => other.into(),
    })?;
    event(app, &h.id, to, Some(&user.id), json!({ "reason": reason })).await;
    Ok(Json(response(&app.store.handoff(&h.id).await?)))
}

async fn revoke(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    OptionalJson(body): OptionalJson<ReasonRequest>,
) -> ApiResult<Json<HandoffResponse>> {
    transition(&app, &user.user, &id, true, "revoked", body.and_then(|b| b.reason)).await
}

async fn decline(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    OptionalJson(body): OptionalJson<ReasonRequest>,
) -> ApiResult<Json<HandoffResponse>> {
    transition(&app, &user.user, &id, false, "declined", body.and_then(|b| b.reason)).await
}

#[derive(Deserialize)]
struct LimitQuery {
    #[serde(default = "two_hundred")]
    limit: u32,
}

fn two_hundred() -> u32 {
    200
}

async fn comment(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    ApiJson(req): ApiJson<HandoffCommentRequest>,
) -> ApiResult<(StatusCode, Json<HandoffComment>)> {
    let h = visible(&app, &user.user, &id).await?;
    let content = req.content.trim();
    if content.is_empty() || content.chars().count() > 10_000 {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("a comment is 1 to 10,000 characters"));
    }
    let c = HandoffComment {
        id: format!("hcm_{}", random_hex(8)),
        handoff_id: h.id.clone(),
        author_user_id: user.user.id.clone(),
        content: content.to_owned(),
        created_at: now(),
    };
    app.store.add_handoff_comment(&c).await?;
    event(&app, &h.id, "commented", Some(&user.user.id), json!({ "comment_id": c.id })).await;
    let other = if h.sender_id == user.user.id { h.recipient_email.clone() } else { h.sender_email.clone() };
    app.mailer
        .send(
            &other,
            "New comment on a handoff",
            &format!("{} commented on handoff {}:\n\n{}\n", user.user.email, h.id, c.content),
        )
        .await;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn comments(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<Vec<HandoffComment>>> {
    let h = visible(&app, &user.user, &id).await?;
    Ok(Json(app.store.handoff_comments(&h.id, q.limit.clamp(1, 200)).await?))
}

async fn events(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<Vec<crate::store::HandoffEvent>>> {
    let h = visible(&app, &user.user, &id).await?;
    Ok(Json(app.store.handoff_events(&h.id, q.limit.clamp(1, 200)).await?))
}
