//! Hand a session to someone by email: on a session's page (the session fixed) and on the handoffs page
//! (the session typed in, by ID or alias).

use leptos::prelude::*;
use leptos::task::spawn_local;
use sessionfs_shared::api::CreateHandoffRequest;

use crate::api;
use crate::components::feedback::{Flash, FlashMessage};

/// The form. `session_id`: the session to hand off, or `None` for a field to type it in. `changed` is
/// bumped after each attempt, so lists of handoffs reload.
#[component]
pub fn HandoffForm(
    #[prop(optional)] session_id: Option<String>,
    #[prop(optional)] changed: Option<RwSignal<u32>>,
) -> impl IntoView {
    let fixed = session_id.is_some();
    let session = RwSignal::new(session_id.unwrap_or_default());
    let email = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let flash = RwSignal::new(None::<Flash>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let req = CreateHandoffRequest {
            session_id: session.get_untracked().trim().to_owned(),
            recipient_email: Some(email.get_untracked().trim().to_owned()),
            message: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
            ..Default::default()
        };
        spawn_local(async move {
            let r = api::create_handoff(&req).await;
            flash
                .try_set(Some(Flash::from_result(&r, |h| format!("Handed off as {} to {}.", h.id, h.recipient_email))));
            if let Some(changed) = changed {
                changed.try_update(|n| *n += 1);
            }
        });
    };
    view! {
        <form class="handoff" on:submit=submit>
            <h3>{if fixed { "Hand off" } else { "Hand off a session" }}</h3>
            <Show when=move || !fixed>
                <input id="handoff-session" placeholder="ses_… or alias" required=true
                    prop:value=move || session.get() on:input=move |ev| session.set(event_target_value(&ev))/>
            </Show>
            <input id="handoff-email" type="email" placeholder="teammate@example.com" required=true
                prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
            <input id="handoff-message" placeholder="A note (optional)"
                prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
            <button id="handoff-create" type="submit">"Hand off"</button>
            <FlashMessage flash/>
        </form>
    }
}
