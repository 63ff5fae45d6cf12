//! One line of `messages.jsonl`: a message with typed content blocks.

use std::borrow::Cow;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Extra, is_false};
use crate::Timestamp;

/// Who produced a message. `tool` marks a message that carries tool results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person.
    User,
    /// The model.
    Assistant,
    /// System prompts, summaries, notices.
    System,
    /// Developer instructions (OpenAI).
    Developer,
    /// Tool results.
    Tool,
}

impl Role {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::System => "system",
            Self::Developer => "developer",
            Self::Tool => "tool",
        }
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // Lenient: the original's converters and some agents use these synonyms.
        Ok(match s.as_str() {
            "user" | "human" => Self::User,
            "assistant" | "model" | "gemini" | "ai" => Self::Assistant,
            "system" | "summary" | "info" | "error" => Self::System,
            "developer" => Self::Developer,
            "tool" | "function" => Self::Tool,
            other => return Err(D::Error::custom(format!("unknown role {other:?}"))),
        })
    }
}

/// Token usage of one model call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens served from cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to cache.
    pub cache_write_tokens: u64,
    /// Reasoning tokens (included in output by some providers).
    pub reasoning_tokens: u64,
}

/// Where an image's bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSource {
    /// `base64`, `url` or `path`.
    #[serde(rename = "type", default = "default_image_type")]
    pub kind: String,
    /// The base64 payload, URL or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// MIME type, e.g. `image/png`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Unknown keys (the original's Codex converter wrote `url` here).
    #[serde(flatten)]
    pub extra: Extra,
}

fn default_image_type() -> String {
    "url".to_owned()
}

/// A content block. Unknown block types are kept whole as [`Block::Unknown`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// Model reasoning. `signature` is Anthropic's and must be preserved verbatim.
    Thinking {
        /// The reasoning text (empty when redacted).
        text: String,
        /// Provider signature.
        signature: Option<String>,
        /// True when the provider withheld the text.
        redacted: bool,
        /// A summary of the reasoning (Codex).
        summary: Option<String>,
    },
    /// A call of a tool by the model.
    ToolUse {
        /// Pairs the call with its result.
        tool_use_id: String,
        /// Tool name as the agent called it.
        name: String,
        /// Arguments (a JSON object).
        input: Value,
    },
    /// The result of a tool call.
    ToolResult {
        /// The call this answers.
        tool_use_id: String,
        /// Output as text.
        content: String,
        /// The tool failed.
        is_error: bool,
        /// Process exit code, when the tool ran a command.
        exit_code: Option<i64>,
        /// Duration of the call.
        duration_ms: Option<u64>,
    },
    /// An image.
    Image {
        /// Where the bytes are.
        source: ImageSource,
    },
    /// A summary standing for earlier messages (compaction).
    Summary {
        /// The summary text.
        text: String,
        /// The last message the summary covers.
        summarized_through_msg_id: Option<String>,
    },
    /// A block type this model does not know, kept whole.
    Unknown(Map<String, Value>),
}

impl Block {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// The block's type name as written.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Thinking { .. } => "thinking",
            Self::ToolUse { .. } => "tool_use",
            Self::ToolResult { .. } => "tool_result",
            Self::Image { .. } => "image",
            Self::Summary { .. } => "summary",
            Self::Unknown(map) => map.get("type").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// A tool call as a line of search text: `[name]` and the arguments a person would search for (the
    /// command, the file, the pattern, the query, …; not file contents). `None` for other blocks.
    pub fn tool_call_text(&self) -> Option<String> {
        let Self::ToolUse { name, input, .. } = self else {
            return None;
        };
        let mut line = format!("[{name}]");
        let Value::Object(args) = input else {
            return Some(line);
        };
        for key in SEARCHED_TOOL_ARGS {
            let parts: Vec<&str> = match args.get(*key) {
                Some(Value::String(s)) => vec![s.as_str()],
                // Codex runs `["bash", "-lc", "cargo test"]`.
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for part in parts {
                let cut = part.char_indices().nth(MAX_TOOL_ARG_CHARS).map_or(part.len(), |(i, _)| i);
                line.push(' ');
                line.push_str(&part[..cut]);
            }
        }
        Some(line)
    }

    /// The text a person would search for in this block, if any.
    pub fn searchable_text(&self) -> Option<&str> {
        match self {
            Self::Text { text } | Self::Summary { text, .. } => Some(text),
            Self::Thinking { text, .. } => Some(text),
            Self::ToolResult { content, .. } => Some(content),
            _ => None,
        }
    }
}

/// Tool arguments that make a tool call findable: what ran, on which file, for what. Contents (`content`,
/// `old_string`, `new_string`) are left out: they are files, not something a person remembers a call by.
const SEARCHED_TOOL_ARGS: &[&str] =
    &["command", "cmd", "description", "file_path", "absolute_path", "path", "pattern", "query", "url", "prompt"];

/// The most of one tool argument kept in search text.
const MAX_TOOL_ARG_CHARS: usize = 500;

/// How much of each end of a long tool result search keeps.
pub const TOOL_RESULT_EDGE_BYTES: usize = 512;

/// How much of each end of a failed tool's long output search keeps: the error is what a person searches for.
pub const FAILED_TOOL_RESULT_EDGE_BYTES: usize = 1024;

/// What search keeps of a tool result: all of a short one; the start and the end of a long one, where what
/// a person remembers it by is (the command's error and summary, the file's opening lines): 512 bytes of
/// each, a kilobyte of a failed tool's. The middle of a file an agent read or of a long log is not the
/// conversation, and indexing it made every session that read a common file a hit. Tool output is also
/// most of what is indexed, and indexing is most of the cost of capture: with a kilobyte of each end of
/// every result, half of the indexed text was tool output.
pub fn tool_result_excerpt(content: &str, failed: bool) -> Cow<'_, str> {
    let edge = if failed { FAILED_TOOL_RESULT_EDGE_BYTES } else { TOOL_RESULT_EDGE_BYTES };
    if content.len() <= 2 * edge + 64 {
        return Cow::Borrowed(content);
    }
    let mut head = edge;
    while !content.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = content.len() - edge;
    while !content.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!("{}\n…\n{}", &content[..head], &content[tail..]))
}

fn str_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Flatten a tool result that came as a list of blocks or an object into text.
pub(crate) fn flatten_content(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|item| match item.get("text").and_then(Value::as_str) {
                Some(t) => t.to_owned(),
                None => match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(o) => match o.get("text").or_else(|| o.get("output")).and_then(Value::as_str) {
            Some(t) => t.to_owned(),
            None => v.to_string(),
        },
        other => other.to_string(),
    }
}

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(d)?;
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
        let block = match kind {
            "text" => match str_field(&map, "text") {
                Some(text) => Self::Text { text },
                None => Self::Unknown(map),
            },
            "thinking" => Self::Thinking {
                text: str_field(&map, "text").or_else(|| str_field(&map, "thinking")).unwrap_or_default(),
                signature: str_field(&map, "signature"),
                redacted: map.get("redacted").and_then(Value::as_bool).unwrap_or(false),
                summary: str_field(&map, "summary"),
            },
            "tool_use" => {
                // Lenient: the original's Gemini and Cursor converters wrote `id`.
                let id = str_field(&map, "tool_use_id").or_else(|| str_field(&map, "id"));
                match (id, str_field(&map, "name")) {
                    (Some(tool_use_id), Some(name)) => Self::ToolUse {
                        tool_use_id,
                        name,
                        input: map.get("input").cloned().unwrap_or(Value::Object(Map::new())),
                    },
                    _ => Self::Unknown(map),
                }
            }
            "tool_result" => match str_field(&map, "tool_use_id").or_else(|| str_field(&map, "id")) {
                Some(tool_use_id) => Self::ToolResult {
                    tool_use_id,
                    content: map.get("content").map(flatten_content).unwrap_or_default(),
                    is_error: map.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                    exit_code: map.get("exit_code").and_then(Value::as_i64),
                    duration_ms: map.get("duration_ms").and_then(Value::as_u64),
                },
                None => Self::Unknown(map),
            },
            "image" => match map.get("source").cloned().map(serde_json::from_value::<ImageSource>) {
                Some(Ok(source)) => Self::Image { source },
                _ => Self::Unknown(map),
            },
            "summary" => match str_field(&map, "text").or_else(|| str_field(&map, "summary")) {
                Some(text) => {
                    Self::Summary { text, summarized_through_msg_id: str_field(&map, "summarized_through_msg_id") }
                }
                None => Self::Unknown(map),
            },
            _ => Self::Unknown(map),
        };
        Ok(block)
    }
}

impl Serialize for Block {
    // Written field by field, straight to the serializer: capture writes every message, and building an
    // intermediate map per block cost more than parsing it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::Text { text } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "text")?;
                m.serialize_entry("text", text)?;
                m.end()
            }
            Self::Thinking { text, signature, redacted, summary } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "thinking")?;
                m.serialize_entry("text", text)?;
                if let Some(sig) = signature {
                    m.serialize_entry("signature", sig)?;
                }
                if *redacted {
                    m.serialize_entry("redacted", &true)?;
                }
                if let Some(sum) = summary {
                    m.serialize_entry("summary", sum)?;
                }
                m.end()
            }
            Self::ToolUse { tool_use_id, name, input } => {
                let mut m = s.serialize_map(Some(4))?;
                m.serialize_entry("type", "tool_use")?;
                m.serialize_entry("tool_use_id", tool_use_id)?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("input", input)?;
                m.end()
            }
            Self::ToolResult { tool_use_id, content, is_error, exit_code, duration_ms } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "tool_result")?;
                m.serialize_entry("tool_use_id", tool_use_id)?;
                m.serialize_entry("content", content)?;
                if *is_error {
                    m.serialize_entry("is_error", &true)?;
                }
                if let Some(code) = exit_code {
                    m.serialize_entry("exit_code", code)?;
                }
                if let Some(ms) = duration_ms {
                    m.serialize_entry("duration_ms", ms)?;
                }
                m.end()
            }
            Self::Image { source } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "image")?;
                m.serialize_entry("source", source)?;
                m.end()
            }
            Self::Summary { text, summarized_through_msg_id } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("type", "summary")?;
                m.serialize_entry("text", text)?;
                if let Some(id) = summarized_through_msg_id {
                    m.serialize_entry("summarized_through_msg_id", id)?;
                }
                m.end()
            }
            Self::Unknown(m) => m.serialize(s),
        }
    }
}

/// One message of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Unique within the session.
    pub msg_id: String,
    /// The message this one follows (tree-shaped sessions such as Claude Code's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_msg_id: Option<String>,
    /// Who produced it.
    pub role: Role,
    /// Content blocks, in order.
    #[serde(default)]
    pub content: Vec<Block>,
    /// When it was produced. Required when written; old stores may lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// The turn it belongs to (Codex, Copilot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
    /// Model that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider of that model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why generation stopped (`end_turn`, `tool_use`, `max_tokens`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// Token usage of the call that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Part of a sub-agent's thread.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_sidechain: bool,
    /// Injected by the system, not typed by a person.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_meta: bool,
    /// The sub-agent that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Agent-specific details.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// Whether `other` is another copy of this message: the same ID, written at the same time. The ID alone is
    /// not enough, since Codex's are positions (`msg_000007`): a rewritten file, or another machine that went on
    /// with the session, holds other messages under the same IDs. The content cannot decide it either: a copy
    /// that went through the server is redacted, and a message captured mid-stream grows.
    pub fn is_copy_of(&self, other: &Message) -> bool {
        self.msg_id == other.msg_id && self.timestamp == other.timestamp
    }

    /// A message with the given role and blocks and nothing else set.
    pub fn new(msg_id: impl Into<String>, role: Role, content: Vec<Block>) -> Self {
        Self {
            msg_id: msg_id.into(),
            parent_msg_id: None,
            role,
            content,
            timestamp: None,
            turn_id: None,
            model: None,
            provider: None,
            stop_reason: None,
            usage: None,
            is_sidechain: false,
            is_meta: false,
            agent_id: None,
            metadata: Map::new(),
            extra: Map::new(),
        }
    }

    /// All searchable text of the message, blocks joined by newlines.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for t in self.content.iter().filter_map(Block::searchable_text) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(t);
        }
        out
    }

    /// What search indexes, and what its snippets are cut from: the conversation's text, the start and the
    /// end of each tool result ([`tool_result_excerpt`]), and a line per tool call
    /// ([`Block::tool_call_text`]).
    pub fn search_text(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            let text = match block {
                Block::ToolResult { content, is_error, exit_code, .. } => {
                    Some(tool_result_excerpt(content, *is_error || exit_code.is_some_and(|code| code != 0)))
                }
                other => other.searchable_text().map(Cow::Borrowed),
            };
            if let Some(text) = text {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&text);
            }
        }
        for line in self.content.iter().filter_map(Block::tool_call_text) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&line);
        }
        out
    }

    /// Number of tool calls in the message.
    pub fn tool_use_count(&self) -> usize {
        self.content.iter().filter(|b| matches!(b, Block::ToolUse { .. })).count()
    }

    /// Parse one line of `messages.jsonl`.
    pub fn from_json_line(line: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// One canonical line of `messages.jsonl`, without the newline.
    pub fn to_json_line(&self) -> String {
        // Serialising this model cannot fail: every map key is a string and every value is JSON.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"serialize_error\":{:?}}}", e.to_string()))
    }

    /// [`Message::to_json_line`], appended to `out` (no string in between, for encoding many).
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        let start = out.len();
        // As above, this cannot fail; if it ever did, the half-written bytes are replaced by the error.
        if let Err(e) = serde_json::to_writer(&mut *out, self) {
            out.truncate(start);
            out.extend_from_slice(format!("{{\"serialize_error\":{:?}}}", e.to_string()).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tool_calls_are_searchable_by_name_and_the_arguments_a_person_remembers() {
        let call = |name: &str, input: Value| Block::ToolUse { tool_use_id: "t".into(), name: name.into(), input };
        let bash = call("Bash", serde_json::json!({"command": "cargo nextest run", "description": "Run the tests"}));
        assert_eq!(bash.tool_call_text().unwrap(), "[Bash] cargo nextest run Run the tests");
        let codex = call("shell", serde_json::json!({"command": ["bash", "-lc", "git status"], "workdir": "/w"}));
        assert_eq!(codex.tool_call_text().unwrap(), "[shell] bash -lc git status");
        let write = call("Write", serde_json::json!({"file_path": "/src/a.rs", "content": "fn main() {}"}));
        assert_eq!(write.tool_call_text().unwrap(), "[Write] /src/a.rs", "file contents are not search text");
        let long = call("Grep", serde_json::json!({"pattern": "é".repeat(600)}));
        assert_eq!(long.tool_call_text().unwrap().chars().count(), "[Grep] ".len() + 500, "cut on a char");
        assert_eq!(call("odd", Value::Null).tool_call_text().unwrap(), "[odd]");
        assert_eq!(Block::text("hi").tool_call_text(), None);

        let m = Message::new("m", Role::Assistant, vec![Block::text("Running them."), bash]);
        assert_eq!(m.search_text(), "Running them.\n[Bash] cargo nextest run Run the tests");
        assert_eq!(m.text(), "Running them.", "text() stays the conversation's text");
    }

    #[test]
    fn reads_the_spec_example_lines() {
        let lines = [
            r#"{"msg_id":"msg-001","parent_msg_id":null,"role":"user","content":[{"type":"text","text":"Add email validation"}],"timestamp":"2026-03-20T14:00:00.000Z","turn_id":"turn-1"}"#,
            r#"{"msg_id":"msg-002","parent_msg_id":"msg-001","role":"assistant","content":[{"type":"thinking","text":"Read first.","signature":"abc123sig"},{"type":"tool_use","tool_use_id":"toolu_001","name":"Read","input":{"file_path":"src/api/auth.py"}}],"timestamp":"2026-03-20T14:00:03.000Z","model":"claude-opus-4-6","provider":"anthropic","stop_reason":"tool_use","usage":{"input_tokens":2000,"output_tokens":150,"cache_read_tokens":1500,"cache_write_tokens":500,"reasoning_tokens":80}}"#,
            r#"{"msg_id":"msg-003","parent_msg_id":"msg-002","role":"tool","content":[{"type":"tool_result","tool_use_id":"toolu_001","content":"from fastapi import APIRouter\n..."}],"timestamp":"2026-03-20T14:00:04.000Z"}"#,
            r#"{"msg_id":"leaf-uuid","parent_msg_id":null,"role":"system","content":[{"type":"summary","text":"User asked about auth; we added JWT."}],"timestamp":"2026-03-20T14:10:00+00:00"}"#,
        ];
        let msgs: Vec<Message> = lines.iter().map(|l| Message::from_json_line(l.as_bytes()).unwrap()).collect();
        assert_eq!(msgs[1].tool_use_count(), 1);
        assert!(matches!(&msgs[1].content[0], Block::Thinking { signature: Some(s), .. } if s == "abc123sig"));
        assert_eq!(msgs[2].role, Role::Tool);
        assert_eq!(msgs[3].text(), "User asked about auth; we added JWT.");
        assert_eq!(msgs[1].usage.as_ref().unwrap().cache_read_tokens, 1500);
    }

    #[test]
    fn lenient_variants_of_the_original() {
        // Gemini converter: `id` instead of `tool_use_id`; Amp: list-valued tool result; unknown block type kept.
        let line = r#"{"msg_id":"1","role":"assistant","content":[{"type":"tool_use","id":"t1","name":"ls","input":{}},{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"type":"hologram","depth":3}],"timestamp":"2026-03-20T14:00:00Z","future_field":1}"#;
        let m = Message::from_json_line(line.as_bytes()).unwrap();
        assert!(matches!(&m.content[0], Block::ToolUse { tool_use_id, .. } if tool_use_id == "t1"));
        assert!(matches!(&m.content[1], Block::ToolResult { content, .. } if content == "a\nb"));
        assert_eq!(m.content[2].type_name(), "hologram");
        let again = m.to_json_line();
        assert!(again.contains(r#""tool_use_id":"t1""#), "written strictly: {again}");
        assert!(again.contains(r#""depth":3"#) && again.contains(r#""future_field":1"#), "unknowns kept: {again}");
        assert_eq!(Message::from_json_line(again.as_bytes()).unwrap(), m);
    }

    #[test]
    fn search_keeps_both_ends_of_a_long_tool_result_and_all_of_a_short_one() {
        let short = "error[E0382]: borrow of moved value";
        assert_eq!(tool_result_excerpt(short, false), short);
        let long = format!("héllo start\n{}\ntest result: FAILED", "middle line ünïcode\n".repeat(500));
        let kept = tool_result_excerpt(&long, false);
        assert!(kept.starts_with("héllo start") && kept.ends_with("test result: FAILED"), "{kept}");
        assert!(kept.len() <= 2 * TOOL_RESULT_EDGE_BYTES + 8, "{}", kept.len());
        assert!(kept.len() > 2 * TOOL_RESULT_EDGE_BYTES - 8, "each end as long as it can be: {}", kept.len());
        let result: Block =
            serde_json::from_value(serde_json::json!({"type": "tool_result", "tool_use_id": "t1", "content": long}))
                .unwrap();
        let m = Message::new("m1", Role::Tool, vec![result]);
        assert_eq!(m.search_text(), kept);

        // A failed tool's output keeps more of each end, whether the agent said it failed or its exit code does.
        let failed = tool_result_excerpt(&long, true);
        assert!(failed.starts_with("héllo start") && failed.ends_with("test result: FAILED"), "{failed}");
        assert!(failed.len() > 2 * FAILED_TOOL_RESULT_EDGE_BYTES - 8, "{}", failed.len());
        assert!(failed.len() <= 2 * FAILED_TOOL_RESULT_EDGE_BYTES + 8, "{}", failed.len());
        for flags in [serde_json::json!({"is_error": true}), serde_json::json!({"exit_code": 101})] {
            let mut block = serde_json::json!({"type": "tool_result", "tool_use_id": "t1", "content": long});
            block.as_object_mut().unwrap().extend(flags.as_object().unwrap().clone());
            let m = Message::new("m1", Role::Tool, vec![serde_json::from_value(block).unwrap()]);
            assert_eq!(m.search_text(), failed, "{flags}");
        }
    }

    #[test]
    fn unknown_role_is_an_error_not_a_guess() {
        let err = Message::from_json_line(br#"{"msg_id":"1","role":"robot","content":[]}"#).unwrap_err();
        assert!(err.to_string().contains("robot"));
    }

    fn arb_block() -> impl Strategy<Value = Block> {
        prop_oneof![
            ".*".prop_map(|text| Block::Text { text }),
            (".*", proptest::option::of("[a-zA-Z0-9+/=]{0,20}"), any::<bool>(), proptest::option::of(".*")).prop_map(
                |(text, signature, redacted, summary)| Block::Thinking { text, signature, redacted, summary }
            ),
            ("[a-z0-9_]{1,12}", "[A-Za-z_]{1,12}", ".*").prop_map(|(tool_use_id, name, arg)| {
                Block::ToolUse { tool_use_id, name, input: serde_json::json!({ "command": arg }) }
            }),
            (
                "[a-z0-9_]{1,12}",
                ".*",
                any::<bool>(),
                proptest::option::of(-5i64..300),
                proptest::option::of(0u64..100_000)
            )
                .prop_map(|(tool_use_id, content, is_error, exit_code, duration_ms)| Block::ToolResult {
                    tool_use_id,
                    content,
                    is_error,
                    exit_code,
                    duration_ms
                }),
            ("[A-Za-z0-9+/]{0,40}", proptest::option::of("image/(png|jpeg)")).prop_map(|(data, media_type)| {
                Block::Image {
                    source: ImageSource { kind: "base64".into(), data: Some(data), media_type, extra: Map::new() },
                }
            }),
            (".*", proptest::option::of("[a-z0-9-]{1,10}"))
                .prop_map(|(text, summarized_through_msg_id)| Block::Summary { text, summarized_through_msg_id }),
        ]
    }

    proptest! {
        #[test]
        fn messages_round_trip(
            msg_id in "[a-z0-9-]{1,20}",
            role in prop_oneof![Just(Role::User), Just(Role::Assistant), Just(Role::System), Just(Role::Developer), Just(Role::Tool)],
            content in proptest::collection::vec(arb_block(), 0..5),
            ms in proptest::option::of(0i64..4_000_000_000_000),
            sidechain in any::<bool>(),
        ) {
            let mut m = Message::new(msg_id, role, content);
            m.timestamp = ms.and_then(Timestamp::from_millis);
            m.is_sidechain = sidechain;
            let line = m.to_json_line();
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(Message::from_json_line(line.as_bytes()).unwrap(), m);
        }
    }
}
