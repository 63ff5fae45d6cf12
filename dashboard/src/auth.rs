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
}

/// The app-wide sign-in state.
pub fn state() -> RwSignal<AuthState> {
    STATE.with(|cell| *cell.get_or_init(|| RwSignal::new(AuthState::Checking)))
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
            message: "that is not a SessionFS API key. Fix: keys start with sk_sfs_; get one with `sfs auth signup` \
                      or from an existing session's API keys page"
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

/// Forget the key.
pub fn sign_out() {
    forget_key();
    state().set(AuthState::SignedOut { reason: None });
}

/// The stored key was refused mid-session (revoked, expired): forget it and say why.
pub fn signed_out_because(err: &ApiError) {
    forget_key();
    state().set(AuthState::SignedOut { reason: Some(err.message.clone()) });
}
