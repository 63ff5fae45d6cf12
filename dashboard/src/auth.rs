//! Who is signed in. The API key lives in the browser's `localStorage` (the dashboard has no server-side
//! session); a pasted key is checked against `GET /api/v1/auth/me` before it is stored, so a wrong key is
//! refused on the spot instead of "logging in" and failing later (the original's behaviour).

use std::cell::OnceCell;

use leptos::prelude::*;
use sessionfs_shared::api::MeResponse;

use crate::api::{self, ApiError};

const KEY_ITEM: &str = "sessionfs.api_key";

/// The sign-in state every page reads.
#[derive(Debug, Clone)]
pub enum AuthState {
    /// A stored key is being checked at start-up.
    Checking,
    /// No usable key; `reason` says why when a key was refused or stopped working.
    SignedOut {
        /// Shown on the sign-in page.
        reason: Option<String>,
    },
    /// Signed in as this user.
    SignedIn(MeResponse),
}

impl AuthState {
    /// The signed-in user.
    pub fn user(&self) -> Option<&MeResponse> {
        match self {
            Self::SignedIn(me) => Some(me),
            _ => None,
        }
    }
}

thread_local! {
    // One per page: the WASM app is single-threaded, and `api` must reach it from outside any component to
    // sign out when the key stops working.
    static STATE: OnceCell<RwSignal<AuthState>> = const { OnceCell::new() };
    static NEW_ACCOUNT_KEY: OnceCell<RwSignal<Option<String>>> = const { OnceCell::new() };
}

/// Create the app-wide signals under the app's root owner, which lives as long as the page. A signal is
/// disposed with the owner it was created under: made lazily inside a page that later unmounts, it
/// would be gone for the next page.
pub fn init() {
    let _ = state();
    let _ = new_account_key();
}

/// The app-wide sign-in state.
pub fn state() -> RwSignal<AuthState> {
    STATE.with(|cell| *cell.get_or_init(|| RwSignal::new(AuthState::Checking)))
}

/// The key of an account just made in this browser, shown once until dismissed.
pub fn new_account_key() -> RwSignal<Option<String>> {
    NEW_ACCOUNT_KEY.with(|cell| *cell.get_or_init(|| RwSignal::new(None)))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored key, if any.
pub fn stored_key() -> Option<String> {
    storage()?.get_item(KEY_ITEM).ok().flatten().filter(|k| !k.is_empty())
}

fn forget_key() {
    if let Some(s) = storage() {
        let _ = s.remove_item(KEY_ITEM);
    }
}

/// At start-up: check the stored key, if there is one.
pub async fn restore() {
    if stored_key().is_none() {
        state().set(AuthState::SignedOut { reason: None });
        return;
    }
    match api::me().await {
        Ok(me) => state().set(AuthState::SignedIn(me)),
        Err(e) if e.is_unauthorized() => {} // `api` already signed out with the reason
        Err(e) => state().set(AuthState::SignedOut { reason: Some(e.message) }),
    }
}

/// Check a pasted key and, when the server accepts it, store it and sign in.
pub async fn sign_in(key: &str) -> Result<(), ApiError> {
    let key = key.trim();
    if !key.starts_with("sk_sfs_") {
        return Err(ApiError {
            status: 0,
            code: None,
            message: "that is not a SessionFS API key. Fix: keys start with sk_sfs_; create an account below, or get \
                      a key with `sfs auth signup` or from the API keys page of a signed-in browser"
                .to_owned(),
        });
    }
    let me = api::me_with(key).await?;
    if let Some(s) = storage() {
        s.set_item(KEY_ITEM, key).map_err(|_| ApiError {
            status: 0,
            code: None,
            message: "the browser refused to store the key. Fix: allow site data (localStorage) for this page"
                .to_owned(),
        })?;
    }
    state().set(AuthState::SignedIn(me));
    Ok(())
}

/// Make an account with this email, keep its key and sign in; the key is shown once on the next page.
pub async fn sign_up(email: &str) -> Result<(), ApiError> {
    let created = api::signup(email.trim()).await?;
    sign_in(&created.raw_key).await?;
    new_account_key().set(Some(created.raw_key));
    Ok(())
}

/// Forget the key.
pub fn sign_out() {
    forget_key();
    new_account_key().set(None);
    state().set(AuthState::SignedOut { reason: None });
}

/// The stored key was refused mid-session (revoked, expired): forget it and say why.
pub fn signed_out_because(err: &ApiError) {
    forget_key();
    state().set(AuthState::SignedOut { reason: Some(err.message.clone()) });
}
