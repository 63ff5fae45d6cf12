//! A session's conversation, smooth at 10,000 messages: only the rows on screen (plus a few either side)
//! are in the DOM. Rows have one fixed height, so the window is plain arithmetic on `scrollTop`; the
//! selected message opens in full beside the list, with tool calls and results folded, thinking marked
//! and code kept as written.

use leptos::prelude::*;
use sessionfs_shared::sfs::{Block, Message};

use crate::format;

/// Height of one row in pixels; `style.css` gives `.message-row` the same.
pub const ROW_HEIGHT: f64 = 76.0;
/// Rows rendered above and below the visible ones, so fast scrolling shows no gaps.
const OVERSCAN: usize = 6;

/// Which rows to render for a viewport: `[first, end)`.
pub fn window(total: usize, scroll_top: f64, viewport: f64) -> (usize, usize) {
    let first_visible = (scroll_top.max(0.0) / ROW_HEIGHT) as usize;
    let visible = (viewport.max(0.0) / ROW_HEIGHT).ceil() as usize + 1;
    let first = first_visible.saturating_sub(OVERSCAN).min(total);
    let end = (first_visible + visible + OVERSCAN).min(total);
    (first, end)
}

/// One line that stands for a message in the list.
pub fn summary(m: &Message) -> String {
    let mut parts = Vec::new();
    for b in &m.content {
        match b {
            Block::Text { text } | Block::Summary { text, .. } => parts.push(text.clone()),
            Block::Thinking { text, .. } => parts.push(format!("💭 {text}")),
            Block::ToolUse { name, .. } => parts.push(format!("⚙ {name}")),
            Block::ToolResult { content, is_error, .. } => {
                parts.push(format!("{} {content}", if *is_error { "✗" } else { "↳" }))
            }
            Block::Image { .. } => parts.push("[image]".into()),
            Block::Unknown(_) => {}
        }
    }
    format::preview(&parts.join(" · "), 180)
}

/// The virtualised list and the reading pane. `messages` may grow while it is shown (the pages after the
/// first arriving); only the rows on screen are rebuilt when it does.
#[component]
pub fn Conversation(#[prop(into)] messages: Signal<Vec<Message>>) -> impl IntoView {
    let total = move || messages.with(Vec::len);
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(720.0_f64);
    let selected = RwSignal::new(None::<usize>);
    let on_scroll = move |ev: leptos::ev::Event| {
        let el: web_sys::Element = event_target(&ev);
        scroll_top.set(f64::from(el.scroll_top()));
        viewport.set(f64::from(el.client_height()));
    };
    let rows = move || {
        let (first, end) = window(total(), scroll_top.get(), viewport.get());
        messages.with(|all| {
            (first..end)
                .map(|i| {
                    let m = &all[i];
                    let role = m.role.as_str();
                    let top = format!("top: {}px", i as f64 * ROW_HEIGHT);
                    let when = m.timestamp.as_ref().map(|t| format::date(&t.to_rfc3339())).unwrap_or_default();
                    view! {
                        <div class=format!("message-row role-{role}") style=top data-index=i.to_string()
                            role="button" tabindex="0"
                            class:selected=move || selected.get() == Some(i)
                            on:click=move |_| selected.set(Some(i))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" || ev.key() == " " {
                                    ev.prevent_default();
                                    selected.set(Some(i));
                                }
                            }>
                            <div class="meta"><span class="role">{role}</span>" #"{i + 1}" "<span class="when">{when}</span></div>
                            <div class="preview">{summary(m)}</div>
                        </div>
                    }
                })
                .collect_view()
        })
    };
    let detail = move || {
        selected.get().and_then(|i| messages.with(|all| all.get(i).cloned())).map(|m| {
            view! { <MessageDetail message=m/> }
        })
    };
    view! {
        <div class="conversation">
            <div id="messages" class="message-list" on:scroll=on_scroll data-total=move || total().to_string()>
                <div class="spacer" style=move || format!("height: {}px", total() as f64 * ROW_HEIGHT)>{rows}</div>
            </div>
            <aside id="message-detail" class="message-detail">
                {move || detail().map(IntoAny::into_any).unwrap_or_else(|| view! {
                    <p class="hint">"Select a message to read it in full."</p>
                }.into_any())}
            </aside>
        </div>
    }
}

/// A whole message: every block, tool calls and results folded, thinking marked.
#[component]
fn MessageDetail(message: Message) -> impl IntoView {
    let blocks = message
        .content
        .into_iter()
        .map(|b| match b {
            Block::Text { text } => view! { <div class="text">{text_with_code(&text)}</div> }.into_any(),
            Block::Summary { text, .. } => view! {
                <div class="summary-block"><span class="label">"Summary of earlier turns"</span><p>{text}</p></div>
            }
            .into_any(),
            Block::Thinking { text, redacted, summary, .. } => {
                let body = if redacted { "(the provider withheld this reasoning)".to_owned() } else { text };
                view! {
                    <details class="thinking">
                        <summary>"Thinking"</summary>
                        {summary.map(|s| view! { <p class="thinking-summary">{s}</p> })}
                        <pre>{body}</pre>
                    </details>
                }
                .into_any()
            }
            Block::ToolUse { name, input, .. } => {
                let args = serde_json::to_string_pretty(&input).unwrap_or_default();
                view! {
                    <details class="tool-use"><summary>"Tool call: "<code>{name}</code></summary><pre><code>{args}</code></pre></details>
                }
                .into_any()
            }
            Block::ToolResult { content, is_error, exit_code, .. } => {
                let label = match (is_error, exit_code) {
                    (true, Some(c)) => format!("Tool result (failed, exit {c})"),
                    (true, None) => "Tool result (failed)".to_owned(),
                    (false, _) => format!("Tool result ({} lines)", content.lines().count()),
                };
                view! {
                    <details class="tool-result" class:failed=is_error><summary>{label}</summary><pre><code>{content}</code></pre></details>
                }
                .into_any()
            }
            Block::Image { source } => {
                let what = source.media_type.unwrap_or_else(|| "image".into());
                view! { <div class="image">"[" {what} "]"</div> }.into_any()
            }
            Block::Unknown(map) => {
                let kind = map.get("type").and_then(|t| t.as_str()).unwrap_or("unknown").to_owned();
                view! { <div class="unknown">"[" {kind} " block]"</div> }.into_any()
            }
        })
        .collect_view();
    view! {
        <article class=format!("message role-{}", message.role.as_str())>
            <header><span class="role">{message.role.as_str()}</span>
                {message.model.map(|m| view! { <span class="model">{m}</span> })}</header>
            {blocks}
        </article>
    }
}

/// Text with Markdown code fences shown as preformatted code, the rest as paragraphs.
fn text_with_code(text: &str) -> impl IntoView + use<> {
    split_fences(text)
        .into_iter()
        .map(|(code, s)| {
            if code {
                view! { <pre class="code"><code>{s}</code></pre> }.into_any()
            } else {
                view! { <p>{s}</p> }.into_any()
            }
        })
        .collect_view()
}

/// Split text on ```` ``` ```` fences: `(is_code, text)` pieces, the language tag dropped.
pub fn split_fences(text: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut code = false;
    let mut buf = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            if !buf.trim().is_empty() {
                out.push((code, std::mem::take(&mut buf).trim_end_matches('\n').to_owned()));
            }
            buf.clear();
            code = !code;
            continue;
        }
        buf.push_str(line);
        buf.push('\n');
    }
    if !buf.trim().is_empty() {
        out.push((code, buf.trim_end_matches('\n').to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionfs_shared::sfs::Role;

    #[test]
    fn the_window_covers_the_viewport_and_stays_in_bounds() {
        assert_eq!(window(0, 0.0, 720.0), (0, 0));
        let (first, end) = window(10_000, 0.0, 720.0);
        assert_eq!(first, 0);
        assert!(end >= (720.0 / ROW_HEIGHT) as usize && end < 40, "{end}");
        let top = 5_000.0 * ROW_HEIGHT;
        let (first, end) = window(10_000, top, 720.0);
        assert!((5_000 - OVERSCAN..=5_000).contains(&first));
        assert!(end > 5_000 + 9 && end - first < 40);
        assert_eq!(window(10_000, 1e12, 720.0).1, 10_000);
    }

    #[test]
    fn fences_become_code() {
        let parts = split_fences("Run this:\n```sh\ncargo test\n```\nDone.");
        assert_eq!(parts, vec![(false, "Run this:".into()), (true, "cargo test".into()), (false, "Done.".into())]);
    }

    #[test]
    fn summaries_name_tools_and_mark_thinking() {
        let m = Message::new(
            "m1",
            Role::Assistant,
            vec![
                Block::Thinking { text: "hmm".into(), signature: None, redacted: false, summary: None },
                Block::ToolUse { tool_use_id: "t".into(), name: "Bash".into(), input: serde_json::json!({}) },
            ],
        );
        assert_eq!(summary(&m), "💭 hmm · ⚙ Bash");
    }
}
