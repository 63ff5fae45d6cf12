//! The top bar: the pages, who is signed in, sign out.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::auth;

/// Links to every page.
#[component]
pub fn Nav() -> impl IntoView {
    let email = move || auth::state().with(|s| s.user().map(|u| u.email.clone()).unwrap_or_default());
    let admin = move || auth::state().with(|s| s.user().is_some_and(|u| u.tier == "admin"));
    view! {
        <header class="topbar">
            <span class="brand">"SessionFS"</span>
            <nav>
                <A href="/sessions">"Sessions"</A>
                <A href="/trash">"Trash"</A>
                <A href="/sync">"Sync"</A>
                <A href="/storage">"Storage"</A>
                <A href="/handoffs">"Handoffs"</A>
                <A href="/keys">"API keys"</A>
            </nav>
            <span class="whoami" id="whoami">
                {email}
                <Show when=admin>
                    <span class="badge">"admin"</span>
                </Show>
            </span>
            <button id="sign-out" class="secondary" on:click=move |_| auth::sign_out()>"Sign out"</button>
        </header>
    }
}

/// After a sign-up in this browser: the new account's key, until dismissed. It is the account's password
/// for the CLI (`sfs auth login --key …`) and other browsers, and the server never shows it again.
#[component]
pub fn NewAccountKey() -> impl IntoView {
    let key = auth::new_account_key();
    move || {
        key.get().map(|k| {
            view! {
                <div class="new-key-shown banner" role="status">
                    <p>"Your account is ready. This is its API key: copy it now, it is not shown again. \
                        Use it with " <code>"sfs auth login --key …"</code> " and to sign in elsewhere."</p>
                    <code id="signup-key">{k}</code>
                    " "
                    <button id="dismiss-key" class="secondary" on:click=move |_| key.set(None)>"I have copied it"</button>
                </div>
            }
        })
    }
}
