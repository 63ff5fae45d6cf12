//! How pages show loading, errors and the outcome of an action.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{ApiError, ApiResult};

/// An error from the server or the network: its message, which ends with the fix.
#[component]
pub fn ErrorPanel(error: ApiError) -> impl IntoView {
    let code = error.code.map(|c| c.code().to_owned()).unwrap_or_else(|| format!("HTTP {}", error.status));
    view! {
        <div class="error" role="alert">
            <strong>{code}</strong>
            " "
            <span class="error-message">{error.message}</span>
        </div>
    }
}

/// The outcome of the last action on a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Flash {
    /// It worked; what happened.
    Done(String),
    /// It failed.
    Failed(ApiError),
}

impl Flash {
    /// From an action's result and a message for success.
    pub fn from_result<T>(r: &ApiResult<T>, done: impl FnOnce(&T) -> String) -> Self {
        match r {
            Ok(v) => Self::Done(done(v)),
            Err(e) => Self::Failed(e.clone()),
        }
    }
}

/// Run a server action (a button's): show its outcome in `flash`, and then, when given, bump `changed` so
/// the lists that depend on it reload. `done` says what happened when it worked.
pub fn run_action<T: 'static>(
    action: impl Future<Output = ApiResult<T>> + 'static,
    flash: RwSignal<Option<Flash>>,
    changed: Option<RwSignal<u32>>,
    done: impl FnOnce(&T) -> String + 'static,
) {
    spawn_local(async move {
        let r = action.await;
        flash.set(Some(Flash::from_result(&r, done)));
        if let Some(changed) = changed {
            changed.update(|n| *n += 1);
        }
    });
}

/// Shows a [`Flash`] while there is one.
#[component]
pub fn FlashMessage(flash: RwSignal<Option<Flash>>) -> impl IntoView {
    move || match flash.get() {
        None => ().into_any(),
        Some(Flash::Done(msg)) => view! { <div class="flash" role="status">{msg}</div> }.into_any(),
        Some(Flash::Failed(error)) => view! { <ErrorPanel error/> }.into_any(),
    }
}

/// Render a resource: "Loading…", its error, or `ok(value)`.
pub fn loaded<T, V>(res: LocalResource<ApiResult<T>>, ok: impl Fn(T) -> V + Send + Sync + 'static) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match res.get() {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error/> }.into_any(),
        Some(Ok(v)) => ok(v).into_any(),
    }
}
