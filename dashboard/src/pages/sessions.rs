//! The session list: full-text search, filters by agent and tag, sort, paging. The filters live in the URL.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use sessionfs_shared::AgentKind;
use sessionfs_shared::api::{SearchResponse, SessionListResponse, SessionSort};

use crate::api;
use crate::components::feedback::loaded;
use crate::format;
use crate::query::{PAGE_SIZE, SessionQuery};

/// What the page shows: a page of the list, or search hits.
#[derive(Debug, Clone)]
enum Listing {
    Sessions(SessionListResponse),
    Hits(SearchResponse),
}

/// `/sessions`.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_map.with(|m| SessionQuery::from_pairs(|k| m.get_str(k))));
    let listing = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.q.is_empty() {
                api::list_sessions(&q, false).await.map(Listing::Sessions)
            } else {
                api::search(&q).await.map(Listing::Hits)
            }
        }
    });

    // The form edits a draft; applying it changes the URL, which reloads the listing.
    let draft = RwSignal::new(query.get_untracked());
    Effect::new(move |_| draft.set(query.get()));
    let navigate = use_navigate();
    let go = move |q: SessionQuery| navigate(&q.to_url(), Default::default());
    let apply = {
        let go = go.clone();
        move || go(draft.get_untracked().with_page(1))
    };
    let on_submit = {
        let apply = apply.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            apply();
        }
    };
    let on_change = move |_| apply();

    view! {
        <h1>"Sessions"</h1>
        <form class="filters" on:submit=on_submit>
            <input id="search" type="search" placeholder="Search messages…"
                prop:value=move || draft.with(|d| d.q.clone())
                on:input=move |ev| draft.update(|d| d.q = event_target_value(&ev))/>
            <select id="filter-tool" title="Agent" on:change={
                let on_change = on_change.clone();
                move |ev| { draft.update(|d| d.tool = event_target_value(&ev)); on_change(ev) }
            }>
                <option value="" selected=move || draft.with(|d| d.tool.is_empty())>"All agents"</option>
                {AgentKind::ALL.iter().map(|k| {
                    let name = k.as_str();
                    view! { <option value=name selected=move || draft.with(|d| d.tool == name)>{name}</option> }
                }).collect_view()}
            </select>
            <input id="filter-tag" placeholder="Tag" prop:value=move || draft.with(|d| d.tag.clone())
                on:input=move |ev| draft.update(|d| d.tag = event_target_value(&ev))/>
            <select id="sort" title="Sort" on:change=move |ev| { draft.update(|d| d.sort = SessionSort::parse(&event_target_value(&ev)).unwrap_or_default()); on_change(ev) }>
                {SessionSort::ALL.iter().map(|s| {
                    let s = *s;
                    view! { <option value=s.as_str() selected=move || draft.with(|d| d.sort == s)>{sort_label(s)}</option> }
                }).collect_view()}
            </select>
            <button id="apply" type="submit">"Apply"</button>
        </form>
        {loaded(listing, move |l| {
            let q = query.get_untracked();
            view! { <ListingView listing=l query=q go=go.clone()/> }
        })}
    }
}

fn sort_label(s: SessionSort) -> &'static str {
    match s {
        SessionSort::Updated => "Recently updated",
        SessionSort::Created => "Recently created",
        SessionSort::Title => "Title",
        SessionSort::Size => "Largest",
        SessionSort::Messages => "Most messages",
    }
}

#[component]
fn ListingView(
    listing: Listing,
    query: SessionQuery,
    go: impl Fn(SessionQuery) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let (total, shown, has_more) = match &listing {
        Listing::Sessions(p) => (p.total, p.sessions.len(), p.has_more),
        Listing::Hits(s) => (s.total, s.results.len(), u64::from(query.page) * u64::from(PAGE_SIZE) < s.total),
    };
    let what = if query.q.is_empty() { "sessions" } else { "matching sessions" };
    let rows = match listing {
        Listing::Sessions(p) => p
            .sessions
            .into_iter()
            .map(|s| {
                let href = format!("/sessions/{}", s.id);
                let title = s.title.clone().unwrap_or_else(|| "(untitled)".into());
                view! {
                    <tr class="session-row" data-id=s.id.clone()>
                        <td><A href=href>{title}</A>
                            {s.alias.clone().map(|a| view! { <span class="alias">"@"{a}</span> })}</td>
                        <td>{s.source_tool.clone()}</td>
                        <td class="num">{format::count(s.message_count)}</td>
                        <td class="num" data-bytes=s.blob_size_bytes.to_string()>{format::bytes(s.blob_size_bytes)}</td>
                        <td>{format::date(&s.updated_at)}</td>
                        <td class="tags">{s.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
        Listing::Hits(s) => s
            .results
            .into_iter()
            .map(|h| {
                let href = format!("/sessions/{}", h.session_id);
                let title = h.title.clone().unwrap_or_else(|| "(untitled)".into());
                // Snippets come from the server with matches in <mark>; show them as text, marks as bold.
                let snippet = h.matches.first().map(|m| m.snippet.clone()).unwrap_or_default();
                view! {
                    <tr class="session-row" data-id=h.session_id.clone()>
                        <td><A href=href>{title}</A><div class="snippet">{highlight(&snippet)}</div></td>
                        <td>{h.source_tool.clone()}</td>
                        <td class="num">{format::count(h.message_count)}</td>
                        <td></td>
                        <td>{format::date(&h.updated_at)}</td>
                        <td></td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    };
    let prev = query.page > 1;
    let (q_prev, q_next) = (query.with_page(query.page - 1), query.with_page(query.page + 1));
    let go_prev = go.clone();
    view! {
        <p class="summary"><span id="total" data-total=total.to_string()>{format::count(total)}</span>" "{what}
            {(!query.q.is_empty()).then_some(" · the tag filter and sort apply to the list, not to search results")}
        </p>
        <Show when=move || shown == 0>
            <p class="empty">"Nothing here yet. Push sessions with " <code>"sfs push --all"</code>
               " or turn on autosync on the Sync page."</p>
        </Show>
        <table id="sessions">
            <thead><tr><th>"Title"</th><th>"Agent"</th><th class="num">"Messages"</th><th class="num">"Size"</th><th>"Updated"</th><th>"Tags"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="pager">
            <button id="prev-page" disabled=!prev on:click=move |_| go_prev(q_prev.clone())>"← Previous"</button>
            <span id="page">"Page "{query.page}</span>
            <button id="next-page" disabled=!has_more on:click=move |_| go(q_next.clone())>"Next →"</button>
        </div>
    }
}

/// Server snippets mark matches with `<mark>…</mark>`; everything else is text (never HTML).
fn highlight(snippet: &str) -> impl IntoView + use<> {
    let mut parts = Vec::new();
    let mut rest = snippet;
    while let Some(start) = rest.find("<mark>") {
        parts.push((false, rest[..start].to_owned()));
        rest = &rest[start + 6..];
        let end = rest.find("</mark>").unwrap_or(rest.len());
        parts.push((true, rest[..end].to_owned()));
        rest = rest.get(end + 7..).unwrap_or("");
    }
    parts.push((false, rest.to_owned()));
    parts
        .into_iter()
        .map(|(marked, text)| if marked { view! { <mark>{text}</mark> }.into_any() } else { text.into_any() })
        .collect_view()
}
