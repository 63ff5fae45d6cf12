//! Storage: used against the quota, per agent (with a bar chart), and the largest sessions. Deleted
//! sessions are not counted (they are listed apart, with what purging them would free).

use leptos::prelude::*;
use leptos_router::components::A;
use sessionfs_shared::api::StorageResponse;

use crate::api;
use crate::components::feedback::loaded;
use crate::format;

/// `/storage`.
#[component]
pub fn StoragePage() -> impl IntoView {
    let storage = LocalResource::new(api::storage);
    view! {
        <h1>"Storage"</h1>
        {loaded(storage, |s| view! { <StorageView s/> })}
    }
}

#[component]
fn StorageView(s: StorageResponse) -> impl IntoView {
    let quota = s.quota_bytes;
    let used_pct = quota.map(|q| format::percent(s.used_bytes, q));
    let max_tool = s.by_tool.iter().map(|t| t.bytes).max().unwrap_or(0);
    let chart_rows = s.by_tool.len();
    let chart = s
        .by_tool
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let y = i * 28;
            let w = format::percent(t.bytes, max_tool) * 3.0; // 300 px for the largest
            view! {
                <text x="0" y=(y + 18).to_string() class="chart-label">{t.source_tool.clone()}</text>
                <rect x="110" y=(y + 4).to_string() width=format!("{w:.1}") height="20" class="chart-bar"></rect>
                <text x=format!("{:.1}", 116.0 + w) y=(y + 18).to_string() class="chart-value">{format::bytes(t.bytes)}</text>
            }
        })
        .collect_view();
    let tools = s
        .by_tool
        .into_iter()
        .map(|t| {
            view! {
                <tr class="tool-row" data-tool=t.source_tool.clone()>
                    <td>{t.source_tool.clone()}</td>
                    <td class="num sessions" data-sessions=t.sessions.to_string()>{format::count(t.sessions)}</td>
                    <td class="num bytes" data-bytes=t.bytes.to_string()>{format::bytes(t.bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    let largest = s
        .largest
        .into_iter()
        .map(|l| {
            view! {
                <tr class="largest-row" data-id=l.id.clone()>
                    <td><A href=format!("/sessions/{}", l.id)>{l.title.clone().unwrap_or_else(|| "(untitled)".into())}</A></td>
                    <td>{l.source_tool.clone()}</td>
                    <td class="num">{format::count(l.message_count)}</td>
                    <td class="num bytes" data-bytes=l.blob_size_bytes.to_string()>{format::bytes(l.blob_size_bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="usage">
            <p>
                <span id="storage-used" data-bytes=s.used_bytes.to_string()>{format::bytes(s.used_bytes)}</span>
                " used by "<span id="storage-sessions" data-sessions=s.session_count.to_string()>{format::count(s.session_count)}</span>" sessions"
                {match quota {
                    Some(q) => view! { " of "<span id="storage-quota" data-bytes=q.to_string()>{format::bytes(q)}</span>" quota" }.into_any(),
                    None => view! { " (no quota set)" }.into_any(),
                }}
            </p>
            {used_pct.map(|p| view! { <div class="meter"><div class="meter-fill" style=format!("width: {p:.1}%")></div></div> })}
            <p class="hint" id="storage-deleted" data-bytes=s.deleted_bytes.to_string()>
                {format::count(s.deleted_count)}" deleted sessions ("{format::bytes(s.deleted_bytes)}") are in the trash and not counted."
            </p>
        </section>
        <h2>"By agent"</h2>
        <svg class="chart" width="520" height=(chart_rows * 28 + 8).to_string() role="img" aria-label="Storage by agent">{chart}</svg>
        <table id="by-tool">
            <thead><tr><th>"Agent"</th><th class="num">"Sessions"</th><th class="num">"Size"</th></tr></thead>
            <tbody>{tools}</tbody>
        </table>
        <h2>"Largest sessions"</h2>
        <table id="largest">
            <thead><tr><th>"Title"</th><th>"Agent"</th><th class="num">"Messages"</th><th class="num">"Size"</th></tr></thead>
            <tbody>{largest}</tbody>
        </table>
    }
}
