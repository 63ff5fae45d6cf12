//! One module per page of the dashboard, named for its route.

pub mod handoffs;
pub mod keys;
pub mod login;
pub mod session;
pub mod sessions;
pub mod storage;
pub mod sync;
pub mod trash;

use leptos::prelude::*;
use leptos_router::components::A;

/// An unknown dashboard route.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Not found"</h1>
        <p>"There is no such page. " <A href="/sessions">"Go to your sessions"</A></p>
    }
}
