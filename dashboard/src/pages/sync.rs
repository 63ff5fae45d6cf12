//! Autosync: the mode (`off`, `all`, `selective`), the debounce, and the watch list the selective mode
//! syncs. The daemon (`sfsd`) reads these settings from the server.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::{SyncMode, SyncSettings, SyncSettingsUpdate, Watchlist};

use crate::api;
use crate::components::feedback::{Flash, FlashMessage, loaded, run_action};
use crate::format;

/// `/sync`.
#[component]
pub fn SyncPage() -> impl IntoView {
    let changed = RwSignal::new(0_u32);
    let flash = RwSignal::new(None::<Flash>);
    let settings = LocalResource::new(move || {
        changed.get();
        api::sync_settings()
    });
    let status = LocalResource::new(move || {
        changed.get();
        api::sync_status()
    });
    let watchlist = LocalResource::new(move || {
        changed.get();
        api::watchlist()
    });
    view! {
        <h1>"Sync"</h1>
        <FlashMessage flash/>
        {loaded(settings, move |s| view! { <SettingsForm settings=s changed flash/> })}
        {loaded(status, |s| view! {
            <p class="summary" id="sync-status" data-mode=s.mode.as_str()>
                {format::count(s.total_sessions)}" sessions on the server, "
                {format::count(s.watched_sessions)}" watched, "{format::count(s.queued)}" queued, "
                {format::count(s.failed)}" failed."
            </p>
        })}
        <h2>"Watch list"</h2>
        <p class="hint">"In selective mode only these sessions sync. Add a session by its ID (" <code>"ses_…"</code> ")."</p>
        <WatchForm changed flash/>
        {loaded(watchlist, move |w| view! { <WatchTable list=w changed flash/> })}
    }
}

#[component]
fn SettingsForm(settings: SyncSettings, changed: RwSignal<u32>, flash: RwSignal<Option<Flash>>) -> impl IntoView {
    let mode = RwSignal::new(settings.mode);
    let debounce = RwSignal::new(settings.debounce_seconds.to_string());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(secs) = debounce.get_untracked().trim().parse::<u32>() else {
            flash.set(Some(Flash::Failed(api::ApiError {
                status: 0,
                code: None,
                message: "the debounce is a whole number of seconds. Fix: enter 5 to 300".into(),
            })));
            return;
        };
        let update = SyncSettingsUpdate { mode: mode.get_untracked(), debounce_seconds: Some(secs) };
        spawn_local(async move {
            let r = api::set_sync_settings(&update).await;
            flash.set(Some(Flash::from_result(&r, |s| {
                format!("Saved: mode {}, debounce {} s.", s.mode.as_str(), s.debounce_seconds)
            })));
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <form class="sync-settings" on:submit=submit>
            <label>"Mode "
                <select id="sync-mode" on:change=move |ev| mode.set(parse_mode(&event_target_value(&ev)))>
                    {[SyncMode::Off, SyncMode::All, SyncMode::Selective].into_iter().map(|m| view! {
                        <option value=m.as_str() selected=move || mode.get() == m>{mode_label(m)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>"Debounce (seconds) "
                <input id="debounce" type="number" min="5" max="300"
                    prop:value=move || debounce.get() on:input=move |ev| debounce.set(event_target_value(&ev))/>
            </label>
            <button id="save-sync" type="submit">"Save"</button>
            <p class="hint">"Largest upload the server accepts: "{settings.max_upload_bytes.map(format::bytes).unwrap_or_else(|| "not stated".into())}</p>
        </form>
    }
}

fn parse_mode(s: &str) -> SyncMode {
    match s {
        "all" => SyncMode::All,
        "selective" => SyncMode::Selective,
        _ => SyncMode::Off,
    }
}

fn mode_label(m: SyncMode) -> &'static str {
    match m {
        SyncMode::Off => "off — push by hand",
        SyncMode::All => "all — every captured session",
        SyncMode::Selective => "selective — the watch list only",
    }
}

#[component]
fn WatchForm(changed: RwSignal<u32>, flash: RwSignal<Option<Flash>>) -> impl IntoView {
    let id = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let raw = id.get_untracked().trim().to_owned();
        // Checked here too so a typo gets the catalogue's message without a round trip.
        if raw.parse::<sessionfs_shared::SessionId>().is_err() {
            flash.set(Some(Flash::Failed(api::ApiError::local(ErrorCode::InvalidSessionId, &format!("{raw:?}")))));
            return;
        }
        spawn_local(async move {
            let r = api::watch(&raw).await;
            flash.set(Some(Flash::from_result(&r, |_| format!("Watching {raw}."))));
            if r.is_ok() {
                id.set(String::new());
            }
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <form class="watch" on:submit=submit>
            <input id="watch-id" placeholder="ses_…" prop:value=move || id.get() on:input=move |ev| id.set(event_target_value(&ev))/>
            <button id="watch-add" type="submit">"Watch"</button>
        </form>
    }
}

#[component]
fn WatchTable(list: Watchlist, changed: RwSignal<u32>, flash: RwSignal<Option<Flash>>) -> impl IntoView {
    let rows = list
        .sessions
        .into_iter()
        .map(|w| {
            let id = w.session_id.clone();
            let remove = {
                let id = id.clone();
                move |_| {
                    let (call, done) = (id.clone(), format!("Stopped watching {id}."));
                    run_action(async move { api::unwatch(&call).await }, flash, Some(changed), move |_| done);
                }
            };
            view! {
                <tr class="watch-row" data-id=id.clone()>
                    <td><code>{id.clone()}</code></td>
                    <td>{w.title.clone().unwrap_or_else(|| "(not on the server yet)".into())}</td>
                    <td class="watch-status">{w.status.clone()}</td>
                    <td>{w.last_synced_at.as_deref().map(format::date).unwrap_or_else(|| "never".into())}</td>
                    <td><button class="unwatch secondary" on:click=remove>"Remove"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="watchlist">
            <thead><tr><th>"Session"</th><th>"Title"</th><th>"Status"</th><th>"Last synced"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
