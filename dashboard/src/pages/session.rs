//! One session: its figures, rename / alias / tags, delete, watch, hand off, and the conversation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use sessionfs_shared::api::{SessionDetail, SessionPatch};
use sessionfs_shared::sfs::Message;

use crate::api::{self, ApiError};
use crate::components::conversation::Conversation;
use crate::components::feedback::{ErrorPanel, Flash, FlashMessage, loaded, run_action};
use crate::components::handoff_form::HandoffForm;
use crate::format;

/// Messages fetched per request (the server's maximum page).
const MESSAGE_PAGE: u32 = 1000;

/// `/sessions/:id`.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let saved = RwSignal::new(0_u32);
    // Outside the header, which is rebuilt when a save reloads the session, so the outcome stays shown.
    let flash = RwSignal::new(None::<Flash>);
    let detail = LocalResource::new(move || {
        saved.get();
        let id = id.get();
        async move { api::session(&id).await }
    });
    view! {
        {loaded(detail, move |d| view! { <SessionHeader detail=d saved flash/> })}
        <FlashMessage flash/>
        <h2>"Conversation"</h2>
        {move || view! { <ConversationLoader id=id.get()/> }}
    }
}

#[component]
fn SessionHeader(detail: SessionDetail, saved: RwSignal<u32>, flash: RwSignal<Option<Flash>>) -> impl IntoView {
    let s = detail.summary;
    let id = s.id.clone();
    let title = RwSignal::new(s.title.clone().unwrap_or_default());
    let alias = RwSignal::new(s.alias.clone().unwrap_or_default());
    let tags = RwSignal::new(s.tags.join(", "));
    let navigate = use_navigate();

    let save = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let patch = SessionPatch {
                title: Some(title.get_untracked()).filter(|t| !t.trim().is_empty()),
                alias: Some(alias.get_untracked().trim().to_owned()),
                tags: Some(parse_tags(&tags.get_untracked())),
            };
            let id = id.clone();
            spawn_local(async move {
                let r = api::patch_session(&id, &patch).await;
                flash.set(Some(Flash::from_result(&r, |_| "Saved.".to_owned())));
                if r.is_ok() {
                    saved.update(|n| *n += 1);
                }
            });
        }
    };
    let delete = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            let navigate = navigate.clone();
            spawn_local(async move {
                match api::delete_session(&id).await {
                    Ok(_) => navigate("/trash", Default::default()),
                    Err(e) => flash.set(Some(Flash::Failed(e))),
                }
            });
        }
    };
    let watch = {
        let id = id.clone();
        move |_| {
            let call = id.clone();
            run_action(async move { api::watch(&call).await }, flash, None, |_| {
                "Added to the sync watch list.".to_owned()
            });
        }
    };
    let tool = s.source_tool.clone();
    view! {
        <h1 id="session-title">{s.title.clone().unwrap_or_else(|| "(untitled)".into())}</h1>
        <dl class="facts">
            <dt>"ID"</dt><dd><code id="session-id">{id.clone()}</code></dd>
            <dt>"Agent"</dt><dd>{tool}{detail.source_tool_version.map(|v| format!(" {v}"))}</dd>
            <dt>"Model"</dt><dd>{s.model_id.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Messages"</dt><dd id="message-count">{format::count(s.message_count)}</dd>
            <dt>"Tool calls"</dt><dd>{format::count(s.tool_use_count)}</dd>
            <dt>"Tokens"</dt><dd>{format::count(s.total_input_tokens)}" in / "{format::count(s.total_output_tokens)}" out"</dd>
            <dt>"Size"</dt><dd data-bytes=s.blob_size_bytes.to_string()>{format::bytes(s.blob_size_bytes)}</dd>
            <dt>"Updated"</dt><dd>{format::date(&s.updated_at)}</dd>
        </dl>
        <p class="hint">"Resume it in any agent: " <code>"sfs pull "{id.clone()}" && sfs resume "{id.clone()}</code></p>
        <form class="edit" on:submit=save>
            <label>"Title "<input id="edit-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/></label>
            <label>"Alias "<input id="edit-alias" prop:value=move || alias.get() on:input=move |ev| alias.set(event_target_value(&ev))/></label>
            <label>"Tags "<input id="edit-tags" placeholder="comma, separated" prop:value=move || tags.get() on:input=move |ev| tags.set(event_target_value(&ev))/></label>
            <button id="save-session" type="submit">"Save"</button>
        </form>
        <div class="actions">
            <button id="watch-session" class="secondary" on:click=watch>"Watch for sync"</button>
            <button id="delete-session" class="danger" on:click=delete>"Delete"</button>
        </div>
        <HandoffForm session_id=id/>
    }
}

/// `a, b ,, c` → `["a", "b", "c"]`.
fn parse_tags(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// How far loading a conversation has got.
#[derive(Debug, Clone, PartialEq)]
enum Loading {
    /// Waiting for the first page.
    FirstPage,
    /// Some pages are in; `total` messages in all.
    More { total: u64 },
    /// Every page is in.
    Done,
    /// A page failed; the pages before it stay shown.
    Failed(ApiError),
}

/// Loads the messages page by page and shows the conversation from the first page on, so a long session
/// can be read while the rest arrives (10,000 messages are ten requests).
#[component]
fn ConversationLoader(id: String) -> impl IntoView {
    let messages = RwSignal::new(Vec::<Message>::new());
    let state = RwSignal::new(Loading::FirstPage);
    spawn_local(async move {
        let mut page = 1;
        loop {
            match api::messages(&id, page, MESSAGE_PAGE).await {
                Ok(p) => {
                    let batch = p.messages.into_iter().filter_map(|v| serde_json::from_value::<Message>(v).ok());
                    if messages.try_update(|all| all.extend(batch)).is_none() {
                        return; // the page was left
                    }
                    if !p.has_more {
                        state.try_set(Loading::Done);
                        return;
                    }
                    state.try_set(Loading::More { total: p.total });
                    page += 1;
                }
                Err(e) => {
                    state.try_set(Loading::Failed(e));
                    return;
                }
            }
        }
    });
    let loaded = move || messages.with(Vec::len) as u64;
    // Outside the conversation, which is built once (when the first page is in) and then only grows.
    let status = move || match state.get() {
        Loading::More { total } => Some(
            view! {
                <p id="messages-progress" class="loading">
                    "Loading messages… "{format::count(loaded())}" / "{format::count(total)}
                    <progress max=total.max(1).to_string() value=loaded().to_string()></progress>
                </p>
            }
            .into_any(),
        ),
        Loading::Failed(error) if loaded() > 0 => Some(view! { <ErrorPanel error/> }.into_any()),
        _ => None,
    };
    let before_first_page = move || match state.get() {
        Loading::Failed(error) => view! { <ErrorPanel error/> }.into_any(),
        _ => view! { <p class="loading">"Loading messages…"</p> }.into_any(),
    };
    let any_page = move || loaded() > 0 || state.get() == Loading::Done;
    view! {
        {status}
        <Show when=any_page fallback=before_first_page>
            <Conversation messages=messages/>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_on_commas() {
        assert_eq!(parse_tags(" a, b ,, c "), vec!["a", "b", "c"]);
        assert!(parse_tags(" , ").is_empty());
    }
}
