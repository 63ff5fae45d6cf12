//! Turning a loaded session into bounded views: messages as short text, the files a session touched, the
//! commands it ran, and the token-budgeted brief `resume_session` returns.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sessionfs_shared::sfs::{Block, Message, Role};

/// Characters per estimated token (the usual rough figure for English and code).
pub const CHARS_PER_TOKEN: usize = 4;

/// One tool call in a message.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ToolCallView {
    /// The tool's name as the agent called it.
    pub name: String,
    /// Its arguments, as compact JSON cut to a few hundred characters.
    pub input: String,
}

/// One message, shortened.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MessageView {
    /// Position in the session (from 0).
    pub index: u64,
    /// The message's ID.
    pub msg_id: String,
    /// `user`, `assistant`, `system`, `tool` or `developer`.
    pub role: String,
    /// When, if known (RFC 3339).
    pub timestamp: Option<String>,
    /// Text of the message (text, tool results and summaries; reasoning left out).
    pub text: String,
    /// Tool calls the message made.
    pub tool_calls: Vec<ToolCallView>,
    /// True when `text` or a tool call was cut to fit.
    pub truncated: bool,
}

/// Cut `s` to at most `max` characters, on a character boundary, marking the cut.
pub fn cut(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s.to_owned(), false);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    (out, true)
}

/// A message as a bounded view: its text cut to `max_chars`, each tool call's input to 300 characters.
pub fn view(index: usize, m: &Message, max_chars: usize) -> MessageView {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    let mut truncated = false;
    for block in &m.content {
        match block {
            Block::Text { text: t } | Block::Summary { text: t, .. } => push_line(&mut text, t),
            Block::ToolResult { content, is_error, .. } => {
                let label = if *is_error { "[tool error] " } else { "[tool result] " };
                push_line(&mut text, &format!("{label}{content}"));
            }
            Block::ToolUse { name, input, .. } => {
                let (input, cut_input) = cut(&compact(input), 300);
                truncated |= cut_input;
                tool_calls.push(ToolCallView { name: name.clone(), input });
            }
            _ => {}
        }
    }
    let (text, cut_text) = cut(&text, max_chars);
    MessageView {
        index: index as u64,
        msg_id: m.msg_id.clone(),
        role: m.role.as_str().to_owned(),
        timestamp: m.timestamp.as_ref().map(|t| t.to_rfc3339()),
        text,
        tool_calls,
        truncated: truncated || cut_text,
    }
}

fn push_line(out: &mut String, s: &str) {
    if s.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(s);
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Counts over a session's messages.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// All messages.
    pub messages: u64,
    /// Messages from the user.
    pub user: u64,
    /// Messages from the assistant.
    pub assistant: u64,
    /// Tool calls.
    pub tool_calls: u64,
    /// Tool results that were errors.
    pub tool_errors: u64,
}

/// Count a session's messages.
pub fn counts(messages: &[Message]) -> Counts {
    let mut c = Counts { messages: messages.len() as u64, ..Counts::default() };
    for m in messages {
        match m.role {
            Role::User => c.user += 1,
            Role::Assistant => c.assistant += 1,
            _ => {}
        }
        for b in &m.content {
            match b {
                Block::ToolUse { .. } => c.tool_calls += 1,
                Block::ToolResult { is_error: true, .. } => c.tool_errors += 1,
                _ => {}
            }
        }
    }
    c
}

const PATH_KEYS: [&str; 5] = ["file_path", "path", "notebook_path", "filePath", "absolute_path"];
const COMMAND_KEYS: [&str; 2] = ["command", "cmd"];

/// The files the session's tool calls named (read, written or edited), first seen first, at most `max`.
pub fn files_touched(messages: &[Message], max: usize) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for input in tool_inputs(messages) {
        for key in PATH_KEYS {
            if let Some(p) = input.get(key).and_then(Value::as_str)
                && !p.is_empty()
                && seen.insert(p.to_owned())
            {
                out.push(p.to_owned());
            }
        }
        if out.len() >= max {
            out.truncate(max);
            break;
        }
    }
    out
}

/// The shell commands the session ran, in order, each cut to 200 characters, at most `max` (the last ones).
pub fn commands_run(messages: &[Message], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for input in tool_inputs(messages) {
        for key in COMMAND_KEYS {
            let cmd = match input.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
                _ => continue,
            };
            if !cmd.is_empty() {
                out.push(cut(&cmd, 200).0);
            }
        }
    }
    let skip = out.len().saturating_sub(max);
    out.split_off(skip)
}

fn tool_inputs(messages: &[Message]) -> impl Iterator<Item = &Value> {
    messages.iter().flat_map(|m| m.content.iter()).filter_map(|b| match b {
        Block::ToolUse { input, .. } => Some(input),
        _ => None,
    })
}

/// Rough token count of a text.
pub fn tokens(s: &str) -> u64 {
    s.chars().count().div_ceil(CHARS_PER_TOKEN) as u64
}

/// The first user message that is not meta, as the session's goal.
pub fn first_request(messages: &[Message]) -> Option<String> {
    messages
        .iter()
        .filter(|m| m.role == Role::User && !m.is_meta)
        .map(Message::text)
        .find(|t| !t.trim().is_empty() && !t.starts_with("[tool"))
}

/// Views of the latest messages that fit in `budget_tokens`, oldest first; each message at most
/// `per_message` characters. Always at least the last message when there is one.
pub fn recent_within(messages: &[Message], budget_tokens: u64, per_message: usize) -> Vec<MessageView> {
    let mut out = Vec::new();
    let mut used = 0u64;
    for (i, m) in messages.iter().enumerate().rev() {
        let v = view(i, m, per_message);
        let cost = tokens(&v.text) + v.tool_calls.iter().map(|c| tokens(&c.input) + 4).sum::<u64>() + 8;
        if !out.is_empty() && used + cost > budget_tokens {
            break;
        }
        used += cost;
        out.push(v);
    }
    out.reverse();
    out
}
