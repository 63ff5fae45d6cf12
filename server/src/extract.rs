//! Extractors that reject with the API's error envelope: the caller (`AuthUser`, `AdminUser`), IDs in
//! paths, JSON bodies and queries.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderValue;
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sessionfs_shared::{ErrorCode, HandoffId, SessionId};

use crate::auth;
use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::store::{StoreError, UserRecord};

/// The authenticated caller: a valid, unrevoked, unexpired API key's owner. Read from every request's
/// `Authorization: Bearer sk_sfs_…`; nothing about the caller is kept between requests.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub user: UserRecord,
    /// The key used.
    pub key_id: String,
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized).detail(detail)
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let Some(key) = sessionfs_shared::api::bearer_token(header) else {
            return Err(unauthorized("missing Authorization: Bearer <API key> header"));
        };
        if !auth::looks_like_key(key) {
            return Err(unauthorized("the API key is malformed (expected sk_sfs_ followed by 32 hex characters)"));
        }
        let hash = auth::hash_key(key);
        let (record, user) = match app.store.key_by_hash(&hash).await {
            Ok(found) => found,
            Err(StoreError::NotFound) => return Err(unauthorized("unknown API key")),
            Err(e) => return Err(e.into()),
        };
        if !auth::key_matches(key, &record.key_hash) {
            return Err(unauthorized("unknown API key"));
        }
        // Charged only once the key is known to exist: the limiter remembers every key it charges, and
        // made-up strings from anyone would otherwise each add an entry. Guessing a key (128 random bits) needs
        // no throttle to be hopeless.
        if let Some(limiter) = &app.limiter
            && let Err(wait) = limiter.check(&hash)
        {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::new(ErrorCode::RateLimited)
                .detail(format!(
                    "this API key exceeded {} requests per minute; retry in {secs} s",
                    app.config.rate_limit_per_minute
                ))
                .with("retry_after_seconds", secs)
                .header(RETRY_AFTER, HeaderValue::from(secs.max(1))));
        }
        let now = now();
        if record.revoked_at.is_some() {
            return Err(unauthorized("this API key was revoked"));
        }
        if record.expires_at.as_deref().is_some_and(|e| e <= now.as_str()) {
            return Err(unauthorized("this API key has expired"));
        }
        // Recording every use would make every read a write; once a minute is enough to show activity.
        let stale = record.last_used_at.as_deref().is_none_or(|t| t.get(..16) != now.get(..16));
        if stale && let Err(e) = app.store.touch_key(&record.id, &now).await {
            tracing::debug!(error = %e, "could not record key use");
        }
        Ok(Self { user, key_id: record.id })
    }
}

/// A caller with the admin role (`SFS_ADMIN_EMAILS`) and, where the server requires verification, a verified
/// email: the role comes with the address, and anyone can sign up first with an address they cannot read.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

/// Whether `user` holds the admin role now: listed as admin, and verified where verification is required
/// (accounts made before signup stopped granting the role to unverified addresses may still be listed).
pub fn is_admin(app: &AppState, user: &UserRecord) -> bool {
    user.is_admin && (user.email_verified || !app.config.verification_required())
}

impl<S> FromRequestParts<S> for AdminUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        let app = AppState::from_ref(state);
        if caller.user.is_admin || app.config.is_admin_email(&caller.user.email) {
            require_verified(&app, &caller.user, "using admin routes")?;
        }
        if !is_admin(&app, &caller.user) {
            return Err(ApiError::new(ErrorCode::AdminRequired));
        }
        Ok(Self(caller))
    }
}

/// A caller allowed to upload, or to receive sessions handed to their email: verified, when the server
/// requires verification.
#[derive(Debug, Clone)]
pub struct Uploader(pub AuthUser);

/// Refuse an unverified caller when the server requires verification; `what` completes "verify it before …".
pub fn require_verified(app: &AppState, user: &UserRecord, what: &str) -> Result<(), ApiError> {
    if app.config.verification_required() && !user.email_verified {
        return Err(ApiError::new(ErrorCode::EmailNotVerified).detail(format!(
            "{} has not been verified; follow the link in the verification mail sent at signup before {what}",
            user.email
        )));
    }
    Ok(())
}

impl<S> FromRequestParts<S> for Uploader
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = AuthUser::from_request_parts(parts, state).await?;
        require_verified(&AppState::from_ref(state), &caller.user, "uploading sessions")?;
        Ok(Self(caller))
    }
}

/// A session ID from the path; a malformed one is the seed's 400 "Invalid session ID format".
#[derive(Debug, Clone)]
pub struct SessionPath(pub SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = first_path_param(parts, state).await?;
        SessionId::parse(&raw)
            .map(Self)
            .map_err(|e| ApiError::new(ErrorCode::InvalidSessionId).detail(format!("{:?} is not one", e.given)))
    }
}

/// A handoff ID from the path.
#[derive(Debug, Clone)]
pub struct HandoffPath(pub HandoffId);

impl<S: Send + Sync> FromRequestParts<S> for HandoffPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = first_path_param(parts, state).await?;
        HandoffId::parse(&raw)
            .map(Self)
            .map_err(|e| ApiError::new(ErrorCode::InvalidHandoffId).detail(format!("{:?} is not one", e.given)))
    }
}

async fn first_path_param<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<String, ApiError> {
    let Path(params): Path<Vec<(String, String)>> = Path::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::new(ErrorCode::BadRequest).detail(e.body_text()))?;
    params
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest).detail("missing path parameter"))
}

/// A JSON body; a bad one is a 400 envelope saying what is wrong.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(ErrorCode::BadRequest)
                .detail("send the body as JSON with Content-Type: application/json")),
            Err(e) => Err(ApiError::new(ErrorCode::BadRequest).detail(e.body_text())),
        }
    }
}

/// Query parameters; bad ones are a 400 envelope.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::new(ErrorCode::BadRequest).detail(e.body_text()))
            }
            Err(e) => Err(ApiError::new(ErrorCode::BadRequest).detail(e.body_text())),
        }
    }
}

/// A JSON body that may be absent (empty): `None` then. A present but malformed one is a 400.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(ErrorCode::BadRequest).detail(e.body_text()))?;
        if bytes.trim_ascii().is_empty() {
            return Ok(Self(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| Self(Some(v)))
            .map_err(|e| ApiError::new(ErrorCode::BadRequest).detail(format!("invalid JSON body: {e}")))
    }
}
