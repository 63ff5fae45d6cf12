//! Handoffs: give a session to a teammate by email. Claiming copies the session into the recipient's
//! account (archive and row), so the recipient sees it in their own list (protocol §5). Only the sender
//! and the recipient can see a handoff; anyone else gets 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use sessionfs_shared::api::{CreateHandoffRequest, HandoffListResponse, HandoffResponse, ReasonRequest};
use sessionfs_shared::{ErrorCode, HandoffId, SessionId};

use crate::auth::random_hex;
use crate::blobs::Blobs;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, AuthUser, HandoffPath, OptionalJson};
use crate::state::{AppState, in_hours, now};
use crate::store::{HandoffRecord, SessionRecord, StoreError, UserRecord};

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
    }
}

/// A pending handoff past its expiry reads as expired, whether or not that was written yet.
fn effective_status(h: &HandoffRecord) -> String {
    if h.status == "pending" && h.expires_at.as_str() <= now().as_str() { "expired".into() } else { h.status.clone() }
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::HandoffNotFound)
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
    if h.status == "pending" && effective_status(&h) == "expired" {
        // Persist the expiry the first time anyone looks; losing this race to a claim is fine.
        let _ = app.store.set_handoff_status(&h.id, "expired").await;
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
    let to = req.recipient_email.trim().to_lowercase();
    if !to.contains('@') || to.len() > 254 {
        return Err(
            ApiError::new(ErrorCode::BadRequest).detail(format!("{:?} is not an email address", req.recipient_email))
        );
    }
    if req.message.as_deref().is_some_and(|m| m.len() > 2000) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("the message is at most 2000 characters"));
    }
    let hours = req.expires_in_hours.unwrap_or(168).clamp(1, 720);
    let s = app.store.session(&user.user.id, &id, false).await.map_err(|e| match e {
        StoreError::NotFound => {
            ApiError::new(ErrorCode::SessionNotFound).detail("push the session first (`sfs push <id>`)")
        }
        other => other.into(),
    })?;
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
    };
    app.store.create_handoff(&h).await?;
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
    Ok(Json(response(&h)))
}

async fn claim(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
) -> ApiResult<Json<HandoffResponse>> {
    let h = visible(&app, &user.user, &id).await?;
    if h.recipient_email != user.user.email {
        return Err(not_found()); // the sender cannot claim their own handoff
    }
    match effective_status(&h).as_str() {
        "pending" => {}
        "expired" => {
            return Err(ApiError::new(ErrorCode::HandoffExpired).detail(format!("it expired at {}", h.expires_at)));
        }
        other => {
            return Err(ApiError::new(ErrorCode::Conflict)
                .detail(format!("the handoff is {other}"))
                .with("current_status", other.to_owned()));
        }
    }
    let source_id = SessionId::parse(&h.session_id).map_err(ApiError::internal)?;
    let source = app.store.session(&h.sender_id, &source_id, false).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::new(ErrorCode::SessionNotFound).detail("the sender deleted the session"),
        other => other.into(),
    })?;
    let new_id = SessionId::hashed(&random_hex(16));
    let key = Blobs::key(&user.user.id, new_id.as_str(), &source.etag);
    app.blobs.copy(&source.blob_key, &key).await?;
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
        blob_size: source.blob_size,
        etag: source.etag.clone(),
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
            StoreError::Conflict { .. } => {
                ApiError::new(ErrorCode::Conflict).detail("someone claimed or revoked it first")
            }
            other => other.into(),
        });
    }
    let claimed = app.store.handoff(&h.id).await?;
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
) -> ApiResult<Json<HandoffResponse>> {
    let h = visible(app, user, id).await?;
    let allowed = if sender_side { h.sender_id == user.id } else { h.recipient_email == user.email };
    if !allowed {
        return Err(not_found());
    }
    if effective_status(&h) != "pending" {
        return Err(ApiError::new(ErrorCode::Conflict).detail(format!("the handoff is {}", effective_status(&h))));
    }
    app.store.set_handoff_status(&h.id, to).await.map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::new(ErrorCode::Conflict).detail("the handoff changed meanwhile"),
        other => other.into(),
    })?;
    Ok(Json(response(&app.store.handoff(&h.id).await?)))
}

async fn revoke(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    _reason: OptionalJson<ReasonRequest>,
) -> ApiResult<Json<HandoffResponse>> {
    transition(&app, &user.user, &id, true, "revoked").await
}

async fn decline(
    user: AuthUser,
    State(app): State<AppState>,
    HandoffPath(id): HandoffPath,
    _reason: OptionalJson<ReasonRequest>,
) -> ApiResult<Json<HandoffResponse>> {
    transition(&app, &user.user, &id, false, "declined").await
}
