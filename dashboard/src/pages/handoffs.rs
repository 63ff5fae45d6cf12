//! Handoffs: the inbox (claim or decline) and what I sent (revoke while pending), and a form to hand a
//! session to someone.

use leptos::prelude::*;
use leptos_router::components::A;
use sessionfs_shared::api::{HandoffListResponse, HandoffResponse};

use crate::api::{self, ApiResult};
use crate::components::feedback::{Flash, FlashMessage, loaded, run_action};
use crate::components::handoff_form::HandoffForm;
use crate::format;

/// `/handoffs`.
#[component]
pub fn HandoffsPage() -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let flash = RwSignal::new(None::<Flash>);
    let inbox = LocalResource::new(move || {
        changed.get();
        api::inbox()
    });
    let sent = LocalResource::new(move || {
        changed.get();
        api::sent()
    });
    view! {
        <h1>"Handoffs"</h1>
        <FlashMessage flash/>
        <h2>"Inbox"</h2>
        {loaded(inbox, move |l| view! { <HandoffTable list=l inbox=true changed flash/> })}
        <h2>"Sent"</h2>
        {loaded(sent, move |l| view! { <HandoffTable list=l inbox=false changed flash/> })}
        <HandoffForm changed/>
    }
}

/// Run a handoff action, report it, refresh the lists.
fn act(
    fut: impl std::future::Future<Output = ApiResult<HandoffResponse>> + 'static,
    done: &'static str,
    changed: RwSignal<u32>,
    flash: RwSignal<Option<Flash>>,
) {
    run_action(fut, flash, Some(changed), move |h| match &h.recipient_session_id {
        Some(copy) if done == "Claimed" => format!("Claimed: your copy is {copy}."),
        _ => format!("{done} {}.", h.id),
    });
}

#[component]
fn HandoffTable(
    list: HandoffListResponse,
    inbox: bool,
    changed: RwSignal<u32>,
    flash: RwSignal<Option<Flash>>,
) -> impl IntoView {
    let class = if inbox { "inbox-row" } else { "sent-row" };
    let rows = list
        .handoffs
        .into_iter()
        .map(|h| {
            let id = h.id.clone();
            let pending = h.status == "pending";
            let buttons = match (inbox, pending) {
                (true, true) => {
                    let (a, b) = (id.clone(), id.clone());
                    view! {
                        <button class="claim" on:click=move |_| act(api_claim(a.clone()), "Claimed", changed, flash)>"Claim"</button>
                        <button class="decline secondary" on:click=move |_| act(api_decline(b.clone()), "Declined", changed, flash)>"Decline"</button>
                    }
                    .into_any()
                }
                (false, true) => {
                    let a = id.clone();
                    view! {
                        <button class="revoke danger" on:click=move |_| act(api_revoke(a.clone()), "Revoked", changed, flash)>"Revoke"</button>
                    }
                    .into_any()
                }
                _ => h
                    .recipient_session_id
                    .clone()
                    .map(|s| view! { <A href=format!("/sessions/{s}")>"Open copy"</A> }.into_any())
                    .unwrap_or_else(|| ().into_any()),
            };
            let who = if inbox { h.sender_email.clone() } else { h.recipient_email.clone() };
            view! {
                <tr class=class data-id=id.clone()>
                    <td>{h.session_title.clone().unwrap_or_else(|| "(untitled)".into())}
                        <div class="sub">{h.session_tool.clone()}" · "{format::count(h.session_message_count)}" messages"</div></td>
                    <td>{who}</td>
                    <td>{h.message.clone().unwrap_or_default()}</td>
                    <td class="status" data-status=h.status.clone()>{h.status.clone()}</td>
                    <td>{format::date(&h.expires_at)}</td>
                    <td>{buttons}</td>
                </tr>
            }
        })
        .collect_view();
    let who = if inbox { "From" } else { "To" };
    view! {
        <table id=if inbox { "inbox" } else { "sent" }>
            <thead><tr><th>"Session"</th><th>{who}</th><th>"Note"</th><th>"Status"</th><th>"Expires"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

async fn api_claim(id: String) -> ApiResult<HandoffResponse> {
    api::claim(&id).await
}
async fn api_decline(id: String) -> ApiResult<HandoffResponse> {
    api::decline(&id).await
}
async fn api_revoke(id: String) -> ApiResult<HandoffResponse> {
    api::revoke(&id).await
}
