//! Accounts and API keys: signup, email verification, `me`, personal keys (and the original's legacy key
//! routes, which its Python client still calls).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::{
    ApiKeyInfo, CreateApiKeyRequest, CreatedApiKey, MeResponse, SignupRequest, SignupResponse,
};

use crate::auth::{display_prefix, hash_key, new_key, random_hex};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, AuthUser, OptionalJson, is_admin};
use crate::state::{AppState, in_days, in_hours, now};
use crate::store::{KeyRecord, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/signup", post(signup))
        .route("/auth/verify", get(verify))
        .route("/auth/me", get(me))
        .route("/auth/me/api-keys", get(list_keys).post(create_key))
        .route("/auth/me/api-keys/{key_id}", delete(revoke_key))
        .route("/auth/keys", get(legacy_list_keys).post(legacy_create_key))
        .route("/auth/keys/{key_id}", delete(revoke_key))
}

/// Whether `email` is a plain address: `local@domain`, the local part of RFC 5322's unquoted characters (letters,
/// digits, ``!#$%&'*+-/=?^_`{|}~`` and single inner dots: plus-addressing works), the domain of at least two
/// DNS labels (letters, digits, inner hyphens; an international domain in its `xn--` form), at most 254 in all.
/// Nothing else passes: no whitespace, control or invisible formatting characters, no lookalike letters, nothing
/// that could end a mail header. Quoted local parts and UTF-8 local parts are refused too; no one needs them here.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let local_ok =
        (1..=64).contains(&local.len()) && local.split('.').all(|part| !part.is_empty() && part.chars().all(atext));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let top_ok = labels.last().is_some_and(|t| !t.chars().all(|c| c.is_ascii_digit()));
    local_ok && labels.len() >= 2 && labels.iter().all(label_ok) && top_ok && email.len() <= 254
}

/// The 400 for an address [`valid_email`] refuses; it quotes the address (escaped) when short enough to be one.
pub(crate) fn not_an_email(given: &str) -> ApiError {
    let what = if given.chars().count() <= 254 { format!("{given:?}") } else { "the address given".to_owned() };
    ApiError::new(ErrorCode::BadRequest).detail(format!(
        "{what} is not an email address: expected name@example.com in plain ASCII (an international domain in \
         its xn-- form), without spaces or control characters"
    ))
}

async fn mint_key(
    app: &AppState,
    user_id: &str,
    name: &str,
    expires_in_days: Option<u32>,
) -> ApiResult<(KeyRecord, String)> {
    let raw = new_key();
    let key = KeyRecord {
        id: random_hex(16),
        user_id: user_id.to_owned(),
        name: name.to_owned(),
        key_hash: hash_key(&raw),
        key_prefix: display_prefix(&raw),
        created_at: now(),
        expires_at: expires_in_days.map(in_days),
        revoked_at: None,
        last_used_at: None,
    };
    app.store.create_key(&key).await?;
    Ok((key, raw))
}

async fn send_verification(app: &AppState, user_id: &str, email: &str) -> ApiResult<()> {
    let token = random_hex(24);
    app.store.add_verification_token(user_id, &hash_key(&token), &in_hours(24)).await?;
    let link = format!("{}/api/v1/auth/verify?token={token}", app.config.public_base());
    app.mailer
        .send(
            email,
            "Verify your SessionFS account",
            &format!("Open this link within 24 hours to verify {email}:\n\n{link}\n"),
        )
        .await;
    Ok(())
}

async fn signup(
    State(app): State<AppState>,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<(StatusCode, Json<SignupResponse>)> {
    if !app.config.allow_signup {
        return Err(ApiError::new(ErrorCode::AdminRequired)
            .detail("signup is disabled on this server (SFS_ALLOW_SIGNUP=false)"));
    }
    let email = req.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(not_an_email(&req.email));
    }
    let verified = !app.config.verification_required();
    // Where addresses must be verified, the admin role waits for the link (see `verify`): whoever signs up
    // first with an admin address need not be able to read its mail.
    let admin = verified && app.config.is_admin_email(&email);
    let user = match app.store.create_user(&email, admin, verified, &now()).await {
        Ok(u) => u,
        Err(StoreError::Duplicate(_)) => {
            return Err(ApiError::new(ErrorCode::Conflict).detail(format!(
                "an account with {email} already exists; sign in with its API key: `sfs auth login --key sk_sfs_…`"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (key, raw) = mint_key(&app, &user.id, "default", None).await?;
    let message = if verified {
        "Account created. Keep this API key: it is shown only once.".to_owned()
    } else {
        send_verification(&app, &user.id, &email).await?;
        format!("Account created. Keep this API key: it is shown only once. A verification link was sent to {email}.")
    };
    tracing::info!(user.id = %user.id, admin, "signup");
    Ok((StatusCode::CREATED, Json(SignupResponse { user_id: user.id, email, raw_key: raw, key_id: key.id, message })))
}

#[derive(Deserialize)]
struct VerifyQuery {
    token: String,
}

async fn verify(State(app): State<AppState>, ApiQuery(q): ApiQuery<VerifyQuery>) -> (StatusCode, Html<String>) {
    match app.store.take_verification_token(&hash_key(q.token.trim()), &now()).await {
        Ok(user_id) => match mark_verified(&app, &user_id).await {
            Ok(()) => (StatusCode::OK, Html("<h1>Email verified</h1><p>You can push sessions now.</p>".into())),
            Err(e) => {
                tracing::error!(user.id = %user_id, error = %e, "could not record a verification");
                (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>Verification failed</h1><p>Try again later.</p>".into()))
            }
        },
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Html("<h1>Invalid or expired link</h1><p>Verification links last 24 hours and work once. Ask an administrator to verify you.</p>".into()),
        ),
    }
}

/// Record the address as verified, and grant the admin role it comes with (`SFS_ADMIN_EMAILS`), which signup
/// withheld until now.
async fn mark_verified(app: &AppState, user_id: &str) -> Result<(), StoreError> {
    app.store.set_email_verified(user_id).await?;
    let user = app.store.user(user_id).await?;
    if !user.is_admin && app.config.is_admin_email(&user.email) {
        app.store.set_admin(user_id, true).await?;
        tracing::info!(user.id = %user_id, "admin role granted on verification");
    }
    Ok(())
}

async fn me(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<MeResponse>> {
    let used = app.store.storage_used(&user.user.id).await?;
    let tier = if is_admin(&app, &user.user) { "admin" } else { "user" };
    Ok(Json(MeResponse {
        user_id: user.user.id,
        email: user.user.email,
        display_name: user.user.display_name,
        email_verified: user.user.email_verified,
        tier: tier.into(),
        effective_tier: tier.into(),
        created_at: user.user.created_at,
        storage_used_bytes: used,
        storage_quota_bytes: app.config.storage_quota_bytes,
    }))
}

fn info(k: &KeyRecord) -> ApiKeyInfo {
    let now = now();
    ApiKeyInfo {
        id: k.id.clone(),
        name: k.name.clone(),
        key_prefix: k.key_prefix.clone(),
        created_at: k.created_at.clone(),
        expires_at: k.expires_at.clone(),
        last_used_at: k.last_used_at.clone(),
        is_active: k.revoked_at.is_none() && k.expires_at.as_deref().is_none_or(|e| e > now.as_str()),
    }
}

async fn list_keys(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<Vec<ApiKeyInfo>>> {
    Ok(Json(app.store.keys(&user.user.id).await?.iter().map(info).collect()))
}

async fn create_key(
    user: AuthUser,
    State(app): State<AppState>,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let name = req.name.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("a key needs a name of 1 to 255 characters"));
    }
    if req.expires_in_days.is_some_and(|d| !(1..=730).contains(&d)) {
        return Err(ApiError::new(ErrorCode::BadRequest).detail("expires_in_days must be between 1 and 730"));
    }
    let (key, raw) = mint_key(&app, &user.user.id, name, req.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { info: info(&key), key: raw })))
}

async fn revoke_key(
    user: AuthUser,
    State(app): State<AppState>,
    axum::extract::Path(key_id): axum::extract::Path<String>,
) -> ApiResult<StatusCode> {
    match app.store.revoke_key(&user.user.id, &key_id, &now()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::new(ErrorCode::ApiKeyNotFound)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
struct LegacyKeyRequest {
    #[serde(default)]
    name: Option<String>,
}

async fn legacy_create_key(
    user: AuthUser,
    State(app): State<AppState>,
    OptionalJson(body): OptionalJson<LegacyKeyRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let name = body.and_then(|b| b.name).unwrap_or_else(|| "cli".into());
    let (key, raw) = mint_key(&app, &user.user.id, &name, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "key_id": key.id, "raw_key": raw, "name": key.name, "created_at": key.created_at })),
    ))
}

async fn legacy_list_keys(user: AuthUser, State(app): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    let keys = app.store.keys(&user.user.id).await?;
    let list: Vec<_> = keys
        .iter()
        .filter(|k| k.revoked_at.is_none())
        .map(|k| json!({ "key_id": k.id, "name": k.name, "created_at": k.created_at, "last_used_at": k.last_used_at }))
        .collect();
    Ok(Json(json!(list)))
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn real_addresses_pass() {
        for ok in [
            "a@b.co",
            "alice+sfs@example.com",
            "first.last@mail.example.co.uk",
            "o'brien@example.ie",
            "x_y-z@sub-domain.example",
            "user@xn--bcher-kva.example",
            "a@b.xn--p1ai",
        ] {
            assert!(valid_email(ok), "{ok}");
        }
    }

    #[test]
    fn malformed_addresses_fail() {
        for bad in [
            "@",
            "a@",
            "@b.co",
            "a@b",
            "a@b..co",
            "a@.b.co",
            "a@b.co.",
            "a@-b.co",
            "a@b-.co",
            "a@1.2.3.4",
            "a@b@c.co",
            ".a@b.co",
            "a.@b.co",
            "a..b@c.co",
            "a b@c.co",
            "a\0@b.co",
            "evil@b.co\u{202e}",
            "a\u{200b}@b.co",
            "x@y.com\r\nbcc: spy@evil.com",
            "ａ@b.co",
            "a@ｂ.co",
            "josé@b.co",
            "a@bücher.example",
            "\"a b\"@c.co",
        ] {
            assert!(!valid_email(bad), "{bad:?}");
        }
        assert!(!valid_email(&format!("{}@b.co", "a".repeat(65))));
        assert!(!valid_email(&format!("a@{}.co", "b".repeat(64))));
        assert!(!valid_email(&format!("a@{}co", "b.".repeat(130))));
    }
}
