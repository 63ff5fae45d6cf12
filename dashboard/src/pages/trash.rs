//! Deleted sessions: restore them, see when each will be purged; admins can purge now.

use leptos::prelude::*;
use sessionfs_shared::api::SessionListResponse;

use crate::api;
use crate::auth;
use crate::components::feedback::{Flash, FlashMessage, loaded, run_action};
use crate::format;
use crate::query::SessionQuery;

/// `/trash`.
#[component]
pub fn TrashPage() -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let page = RwSignal::new(1_u32);
    let flash = RwSignal::new(None::<Flash>);
    let trash = LocalResource::new(move || {
        changed.get();
        let q = SessionQuery { page: page.get(), ..SessionQuery::default() };
        async move { api::list_sessions(&q, true).await }
    });
    view! {
        <h1>"Trash"</h1>
        <p class="hint">"Deleted sessions stay here until their purge date, then the server removes them for good. \
            They do not count against your storage."</p>
        <FlashMessage flash/>
        {loaded(trash, move |list| view! { <TrashTable list changed flash page/> })}
    }
}

#[component]
fn TrashTable(
    list: SessionListResponse,
    changed: RwSignal<u32>,
    flash: RwSignal<Option<Flash>>,
    page: RwSignal<u32>,
) -> impl IntoView {
    let admin = auth::state().with_untracked(|s| s.user().is_some_and(|u| u.tier == "admin"));
    let has_more = list.has_more;
    let rows = list
        .sessions
        .into_iter()
        .map(|s| {
            let id = s.id.clone();
            let restore = {
                let id = id.clone();
                move |_| {
                    let (call, done) = (id.clone(), format!("Restored {id}."));
                    run_action(async move { api::restore(&call).await }, flash, Some(changed), move |_| done);
                }
            };
            let purge = {
                let id = id.clone();
                move |_| {
                    let (call, name) = (id.clone(), id.clone());
                    run_action(async move { api::purge(&call).await }, flash, Some(changed), move |p| {
                        format!("Purged {name}: {} reclaimed.", format::bytes(p.bytes_reclaimed))
                    });
                }
            };
            let purge_after = s.purge_after.clone().unwrap_or_default();
            view! {
                <tr class="trash-row" data-id=id.clone()>
                    <td>{s.title.clone().unwrap_or_else(|| "(untitled)".into())}<div class="sub"><code>{id.clone()}</code></div></td>
                    <td>{s.source_tool.clone()}</td>
                    <td class="num" data-bytes=s.blob_size_bytes.to_string()>{format::bytes(s.blob_size_bytes)}</td>
                    <td>{s.deleted_at.as_deref().map(format::date).unwrap_or_default()}</td>
                    <td class="purge-after" data-purge-after=purge_after.clone()>{format::day(&purge_after)}</td>
                    <td>
                        <button class="restore" on:click=restore>"Restore"</button>
                        {admin.then(|| view! { <button class="purge danger" on:click=purge>"Purge now"</button> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="summary"><span id="trash-total">{format::count(list.total)}</span>" deleted sessions"</p>
        <table id="trash">
            <thead><tr><th>"Title"</th><th>"Agent"</th><th class="num">"Size"</th><th>"Deleted"</th><th>"Purged on"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="pager">
            <button disabled=move || page.get() <= 1 on:click=move |_| page.update(|p| *p -= 1)>"← Previous"</button>
            <button disabled=!has_more on:click=move |_| page.update(|p| *p += 1)>"Next →"</button>
        </div>
    }
}
