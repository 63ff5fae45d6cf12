//! Sign in by pasting an API key. The key is checked with the server before it is kept.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::ApiError;
use crate::auth;
use crate::components::feedback::ErrorPanel;

/// The sign-in form; `reason` says why a previous key stopped working.
#[component]
pub fn LoginPage(reason: Option<String>) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let pasted = key.get_untracked();
        spawn_local(async move {
            // On success this page is already gone: its signals with it, hence `try_set`.
            if let Err(e) = auth::sign_in(&pasted).await {
                error.try_set(Some(e));
            }
            busy.try_set(false);
        });
    };
    view! {
        <main class="login">
            <h1>"SessionFS"</h1>
            <p>"Sign in with an API key (" <code>"sk_sfs_…"</code> "). Get one with "
               <code>"sfs auth signup"</code> " or from the API keys page of a signed-in browser."</p>
            {reason.map(|r| view! { <div class="notice" id="signed-out-reason">{r}</div> })}
            <form on:submit=submit>
                <label for="api-key">"API key"</label>
                <input id="api-key" type="password" autocomplete="off" placeholder="sk_sfs_…"
                    prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev))/>
                <button id="sign-in" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Checking…" } else { "Sign in" }}
                </button>
            </form>
            {move || error.get().map(|error| view! { <ErrorPanel error/> })}
            <SignUp/>
        </main>
    }
}

/// Make an account on this server (when it allows sign-up) and sign in with its first key.
#[component]
fn SignUp() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let address = email.get_untracked();
        spawn_local(async move {
            if let Err(e) = auth::sign_up(&address).await {
                error.try_set(Some(e));
            }
            busy.try_set(false);
        });
    };
    view! {
        <details class="signup">
            <summary>"New here? Create an account"</summary>
            <form on:submit=submit>
                <label for="signup-email">"Email"</label>
                <input id="signup-email" type="email" autocomplete="email" required=true
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                <button id="sign-up" type="submit" disabled=move || busy.get()>"Create account"</button>
            </form>
            {move || error.get().map(|error| view! { <ErrorPanel error/> })}
        </details>
    }
}
