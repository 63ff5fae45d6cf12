//! `sessionfs-dashboard`: the browser dashboard of a SessionFS server, a Leptos client-side app compiled to
//! WASM. People sign in with an API key and manage what the server holds: sessions (search, read, rename,
//! tag, delete and restore), sync mode and watch list, storage, handoffs and API keys. It talks only to
//! relative `/api/v1/...` paths ([`api`]), so the same build works behind nginx or served by
//! `sessionfs-server --dashboard-dir` itself. `cargo xtask dashboard` builds it into `dashboard/dist/`.

pub mod api;
pub mod auth;
mod components;
pub mod format;
mod pages;
pub mod query;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::auth::AuthState;
use crate::components::nav::{Nav, NewAccountKey};

/// Mount the app on `<body>` (the WASM entry point calls this).
pub fn mount() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The whole app: the sign-in page until a key is accepted, then the pages. Deep links survive signing
/// in: the router keeps the URL the person came with.
#[component]
pub fn App() -> impl IntoView {
    auth::init();
    spawn_local(auth::restore());
    let state = auth::state();
    view! {
        <Router>
            {move || match state.get() {
                AuthState::Checking => view! { <p class="loading">"Checking your key…"</p> }.into_any(),
                AuthState::SignedOut { reason } => view! { <pages::login::LoginPage reason/> }.into_any(),
                AuthState::SignedIn(_) => view! { <SignedIn/> }.into_any(),
            }}
        </Router>
    }
}

#[component]
fn SignedIn() -> impl IntoView {
    view! {
        <Nav/>
        <NewAccountKey/>
        <main>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/") view=pages::sessions::SessionsPage/>
                <Route path=path!("/sessions") view=pages::sessions::SessionsPage/>
                <Route path=path!("/sessions/:id") view=pages::session::SessionPage/>
                <Route path=path!("/trash") view=pages::trash::TrashPage/>
                <Route path=path!("/sync") view=pages::sync::SyncPage/>
                <Route path=path!("/storage") view=pages::storage::StoragePage/>
                <Route path=path!("/handoffs") view=pages::handoffs::HandoffsPage/>
                <Route path=path!("/keys") view=pages::keys::KeysPage/>
            </Routes>
        </main>
    }
}
