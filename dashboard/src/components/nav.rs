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
