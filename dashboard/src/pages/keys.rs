//! API keys: create one (shown once), list them, revoke one.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sessionfs_shared::api::ApiKeyInfo;

use crate::api;
use crate::components::feedback::{Flash, FlashMessage, loaded, run_action};
use crate::format;

/// `/keys`.
#[component]
pub fn KeysPage() -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let flash = RwSignal::new(None::<Flash>);
    let created = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let keys = LocalResource::new(move || {
        changed.get();
        api::keys()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked().trim().to_owned();
        spawn_local(async move {
            match api::create_key(&n).await {
                Ok(k) => {
                    created.set(Some(k.key));
                    flash.set(None);
                    name.set(String::new());
                }
                Err(e) => flash.set(Some(Flash::Failed(e))),
            }
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <h1>"API keys"</h1>
        <form class="new-key" on:submit=submit>
            <input id="key-name" placeholder="Name, e.g. laptop" required=true prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))/>
            <button id="key-create" type="submit">"Create key"</button>
        </form>
        {move || created.get().map(|k| view! {
            <div class="new-key-shown" role="status">
                <p>"Copy this key now: it is not shown again."</p>
                <code id="new-key">{k}</code>
            </div>
        })}
        <FlashMessage flash/>
        {loaded(keys, move |k| view! { <KeyTable keys=k changed flash/> })}
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKeyInfo>, changed: RwSignal<u32>, flash: RwSignal<Option<Flash>>) -> impl IntoView {
    let rows = keys
        .into_iter()
        .map(|k| {
            let id = k.id.clone();
            let revoke = {
                let id = id.clone();
                move |_| {
                    let (call, done) = (id.clone(), format!("Revoked key {id}."));
                    run_action(async move { api::revoke_key(&call).await }, flash, Some(changed), move |_| done);
                }
            };
            let active = k.is_active;
            view! {
                <tr class="key-row" data-id=id.clone() data-active=active.to_string()>
                    <td>{k.name.clone()}</td>
                    <td><code>{k.key_prefix.clone()}"…"</code></td>
                    <td>{format::date(&k.created_at)}</td>
                    <td>{k.last_used_at.as_deref().map(format::date).unwrap_or_else(|| "never".into())}</td>
                    <td class="key-status">{if active { "active" } else { "revoked" }}</td>
                    <td>{active.then(|| view! { <button class="revoke danger" on:click=revoke>"Revoke"</button> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="hint">"Revoking the key this browser signed in with signs you out."</p>
        <table id="keys">
            <thead><tr><th>"Name"</th><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
