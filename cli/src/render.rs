//! Turning a session into text for a terminal (`sfs show`) or Markdown (`sfs export --format markdown`).

use std::fmt::Write as _;

use serde_json::Value;
use sessionfs_shared::sfs::{Block, Manifest, Message, Role};

/// Longest tool output shown in full in a terminal; the rest is elided with a count.
const TERMINAL_TOOL_OUTPUT: usize = 2000;

fn clip(s: &str, max: usize) -> (&str, usize) {
    if s.len() <= max {
        return (s, 0);
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    (&s[..cut], s.len() - cut)
}

fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn label(m: &Message) -> String {
    let mut l = m.role.as_str().to_owned();
    if m.is_sidechain {
        l.push_str(&format!(" (sub-agent {})", m.agent_id.as_deref().unwrap_or("?")));
    }
    if m.is_meta {
        l.push_str(" (injected)");
    }
    if let Some(model) = &m.model {
        l.push_str(&format!(" · {model}"));
    }
    if let Some(t) = m.timestamp {
        l.push_str(&format!(" · {}", t.datetime().format("%Y-%m-%d %H:%M:%S")));
    }
    l
}

/// The manifest as a header of `key: value` lines.
pub fn header(m: &Manifest) -> String {
    let mut out = String::new();
    let stats = m.stats.clone().unwrap_or_default();
    let _ = writeln!(out, "{}", m.title.as_deref().unwrap_or("(untitled)"));
    let _ = writeln!(
        out,
        "  id:       {}{}",
        m.session_id,
        m.alias.as_deref().map(|a| format!("  (alias {a})")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  agent:    {} {}  native id {}",
        m.source.tool,
        m.source.tool_version.as_deref().unwrap_or(""),
        m.source.original_session_id.as_deref().unwrap_or("-")
    );
    if let Some(model) = m.model.as_ref().and_then(|x| x.model_id.as_deref()) {
        let _ = writeln!(out, "  model:    {model}");
    }
    let _ = writeln!(
        out,
        "  created:  {}   updated: {}",
        m.created_at,
        m.updated_at.map(|t| t.to_string()).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  messages: {}   turns: {}   tool calls: {}   tokens: {} in / {} out",
        stats.message_count,
        stats.turn_count,
        stats.tool_use_count,
        stats.total_input_tokens,
        stats.total_output_tokens
    );
    if !m.tags.is_empty() {
        let _ = writeln!(out, "  tags:     {}", m.tags.join(", "));
    }
    out
}

/// One message for a terminal: tool calls, results and thinking marked, long outputs clipped.
pub fn terminal(m: &Message) -> String {
    let mut out = format!("── {} ──\n", label(m));
    for b in &m.content {
        match b {
            Block::Text { text } => {
                let _ = writeln!(out, "{text}");
            }
            Block::Thinking { text, redacted, .. } => {
                if *redacted {
                    let _ = writeln!(out, "💭 [thinking withheld by the provider]");
                } else {
                    for line in text.lines() {
                        let _ = writeln!(out, "💭 {line}");
                    }
                }
            }
            Block::ToolUse { tool_use_id, name, input } => {
                let _ = writeln!(out, "▶ tool call {name} [{tool_use_id}] {}", compact_json(input));
            }
            Block::ToolResult { tool_use_id, content, is_error, exit_code, .. } => {
                let status = if *is_error { " ERROR" } else { "" };
                let code = exit_code.map(|c| format!(" exit {c}")).unwrap_or_default();
                let _ = writeln!(out, "◀ tool result [{tool_use_id}]{status}{code}");
                let (shown, rest) = clip(content, TERMINAL_TOOL_OUTPUT);
                for line in shown.lines() {
                    let _ = writeln!(out, "  │ {line}");
                }
                if rest > 0 {
                    let _ = writeln!(out, "  │ … {rest} more bytes (sfs export for the whole output)");
                }
            }
            Block::Image { source } => {
                let _ = writeln!(
                    out,
                    "🖼 image ({}, {})",
                    source.kind,
                    source.media_type.as_deref().unwrap_or("unknown type")
                );
            }
            Block::Summary { text, .. } => {
                let _ = writeln!(out, "📝 summary of earlier turns: {text}");
            }
            Block::Unknown(map) => {
                let _ = writeln!(out, "[{} block]", map.get("type").and_then(Value::as_str).unwrap_or("unknown"));
            }
        }
    }
    out
}

fn fence(s: &str) -> String {
    // A fence longer than any backtick run inside, so content cannot close it.
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// `text` with every `<details` and `</details` tag (any case) escaped, so that a thinking block's text cannot
/// close the collapsible block holding it, or open one that swallows the rest of the transcript.
fn escape_details(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let is_details = tag.get(..7).is_some_and(|t| t.eq_ignore_ascii_case("details"));
        out.push_str(if is_details { "&lt;" } else { "<" });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// The whole session as Markdown, for people: control characters in session text are shown (`␛`), not
/// written, as everywhere `sfs` prints for people; a file is read with `cat` as often as in a viewer.
pub fn markdown(manifest: &Manifest, messages: &[Message]) -> String {
    sessionfs_shared::terminal::printable(&markdown_raw(manifest, messages)).into_owned()
}

fn markdown_raw(manifest: &Manifest, messages: &[Message]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", manifest.title.as_deref().unwrap_or("Untitled session"));
    let stats = manifest.stats.clone().unwrap_or_default();
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Session | `{}` |", manifest.session_id);
    let _ =
        writeln!(out, "| Agent | {} {} |", manifest.source.tool, manifest.source.tool_version.as_deref().unwrap_or(""));
    if let Some(model) = manifest.model.as_ref().and_then(|m| m.model_id.as_deref()) {
        let _ = writeln!(out, "| Model | {model} |");
    }
    let _ = writeln!(out, "| Created | {} |", manifest.created_at);
    let _ = writeln!(out, "| Messages | {} ({} tool calls) |\n", stats.message_count, stats.tool_use_count);
    for m in messages {
        let heading = match m.role {
            Role::User => "🧑 User",
            Role::Assistant => "🤖 Assistant",
            Role::System => "⚙️ System",
            Role::Developer => "⚙️ Developer",
            Role::Tool => "🔧 Tool",
        };
        let mut extra = String::new();
        if m.is_sidechain {
            extra.push_str(&format!(" · sub-agent {}", m.agent_id.as_deref().unwrap_or("?")));
        }
        if let Some(t) = m.timestamp {
            extra.push_str(&format!(" · {t}"));
        }
        let _ = writeln!(out, "## {heading}{extra}\n");
        for b in &m.content {
            match b {
                Block::Text { text } => {
                    let _ = writeln!(out, "{text}\n");
                }
                Block::Thinking { text, redacted, .. } => {
                    let body = if *redacted { "(withheld by the provider)".to_owned() } else { escape_details(text) };
                    let _ = writeln!(out, "<details><summary>Thinking</summary>\n\n{body}\n\n</details>\n");
                }
                Block::ToolUse { tool_use_id, name, input } => {
                    let json = serde_json::to_string_pretty(input).unwrap_or_default();
                    let f = fence(&json);
                    let _ = writeln!(out, "**Tool call** `{name}` (`{tool_use_id}`)\n\n{f}json\n{json}\n{f}\n");
                }
                Block::ToolResult { tool_use_id, content, is_error, .. } => {
                    let f = fence(content);
                    let status = if *is_error { " — error" } else { "" };
                    let _ = writeln!(out, "**Tool result** (`{tool_use_id}`){status}\n\n{f}\n{content}\n{f}\n");
                }
                Block::Image { source } => {
                    let _ = writeln!(out, "*[image: {}]*\n", source.media_type.as_deref().unwrap_or(&source.kind));
                }
                Block::Summary { text, .. } => {
                    let _ = writeln!(out, "> **Summary of earlier turns:** {text}\n");
                }
                Block::Unknown(map) => {
                    let _ =
                        writeln!(out, "*[{} block]*\n", map.get("type").and_then(Value::as_str).unwrap_or("unknown"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_content() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("has ```` four"), "`````");
    }

    #[test]
    fn thinking_cannot_break_out_of_its_details_block() {
        assert_eq!(
            escape_details("a </details> b <DETAILS open> <d> </div>"),
            "a &lt;/details> b &lt;DETAILS open> <d> </div>"
        );
        assert_eq!(escape_details("<"), "<");
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "sfs_version": "0.1.0", "session_id": "ses_0123456789abcdef", "created_at": "2026-03-20T10:00:00Z",
            "source": {"tool": "claude-code"}
        }))
        .unwrap();
        let thinking = "plan\n\n</details>\n\n# Injected heading\n<details><summary>x</summary>";
        let m = Message::new(
            "1",
            Role::Assistant,
            vec![Block::Thinking { text: thinking.into(), signature: None, redacted: false, summary: None }],
        );
        let md = markdown(&manifest, &[m]);
        assert_eq!(md.matches("</details>").count(), 1, "only the block's own close: {md}");
        assert_eq!(md.matches("<details>").count(), 1, "only the block's own open: {md}");
    }

    #[test]
    fn markdown_shows_control_characters_instead_of_writing_them() {
        let manifest: Manifest = serde_json::from_value(serde_json::json!({
            "sfs_version": "0.1.0", "session_id": "ses_0123456789abcdef", "created_at": "2026-03-20T10:00:00Z",
            "source": {"tool": "claude-code"}, "title": "title \u{1b}]0;pwned\u{7}"
        }))
        .unwrap();
        let m = Message::new("1", Role::User, vec![Block::text("clear \u{1b}[2J\tkept")]);
        let md = markdown(&manifest, &[m]);
        assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'), "{md:?}");
        assert!(md.contains("clear ␛[2J\tkept") && md.contains("title ␛]0;pwned␇"), "{md}");
    }

    #[test]
    fn terminal_marks_tools_and_thinking() {
        let m = Message::new(
            "1",
            Role::Assistant,
            vec![
                Block::Thinking { text: "plan it".into(), signature: None, redacted: false, summary: None },
                Block::ToolUse {
                    tool_use_id: "t1".into(),
                    name: "Bash".into(),
                    input: serde_json::json!({"command": "ls"}),
                },
            ],
        );
        let text = terminal(&m);
        assert!(text.contains("💭 plan it"), "{text}");
        assert!(text.contains("▶ tool call Bash [t1] {\"command\":\"ls\"}"), "{text}");
        let r = Message::new(
            "2",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "t1".into(),
                content: "x".repeat(3000),
                is_error: false,
                exit_code: Some(0),
                duration_ms: None,
            }],
        );
        let text = terminal(&r);
        assert!(text.contains("exit 0") && text.contains("1000 more bytes"), "{text}");
    }
}
