//! Writing a Claude Code session: `~/.claude/projects/<encoded cwd>/<new uuid>.jsonl`, one record per
//! prompt, assistant step and set of tool results, chained by `parentUuid`, in the shape claude-code
//! 2.1.197 writes. Claude Code needs no index entry: `claude --resume <uuid>` finds the file by the
//! folder it runs in.

use serde_json::{Map, Value, json};
use sessionfs_shared::Timestamp;
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role};

use super::ClaudeCode;
use crate::resume::tools::{ImageData, image_data, shell_command, tool_name};
use crate::resume::{
    CliInfo, Item, NativeWriter, ResumeError, WriteRequest, WrittenSession, ids, is_sessionfs_note, thinking_as_text,
};

/// Claude Code's command line.
pub(super) static CLI: CliInfo = CliInfo {
    agent: sessionfs_shared::AgentKind::ClaudeCode,
    program: "claude",
    package: "@anthropic-ai/claude-code",
    known_versions: &["2.1.197"],
    context_tokens: 200_000,
    resume_args: &["--resume"],
};

/// Longest encoded folder name before Claude Code shortens it with a hash.
const MAX_DIR_NAME: usize = 200;

/// The folder name Claude Code keeps a working directory's sessions in: every character other than an
/// ASCII letter or digit becomes `-` (one per UTF-16 unit, as JavaScript's `replace` counts), and a name
/// over 200 characters is cut and given a hash of the path.
pub fn project_dir_name(cwd: &str) -> String {
    let mut name = String::with_capacity(cwd.len());
    for c in cwd.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else {
            name.extend(std::iter::repeat_n('-', c.len_utf16()));
        }
    }
    if name.len() <= MAX_DIR_NAME {
        return name;
    }
    // JavaScript's `(h << 5) - h + code | 0` over UTF-16 units, then `Math.abs(h).toString(36)`.
    let hash = cwd.encode_utf16().fold(0i32, |h, unit| (h << 5).wrapping_sub(h).wrapping_add(i32::from(unit)));
    format!("{}-{}", &name[..MAX_DIR_NAME], base36(u64::from(hash.unsigned_abs())))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

impl NativeWriter for ClaudeCode {
    fn cli(&self) -> &'static CliInfo {
        &CLI
    }

    fn write(&self, req: &WriteRequest<'_>) -> Result<WrittenSession, ResumeError> {
        let session_id = req.native_id.to_owned();
        let cwd = req.cwd.to_string_lossy().into_owned();
        let file = req.dirs.claude().join("projects").join(project_dir_name(&cwd)).join(format!("{session_id}.jsonl"));
        let mut w = Records {
            session_id: session_id.clone(),
            cwd,
            version: req.cli_version.to_owned(),
            branch: req.git.and_then(|g| g.branch.clone()).unwrap_or_default(),
            now: req.now,
            parent: None,
            last_assistant: None,
            lines: String::new(),
            expected: Vec::new(),
        };
        // Claude Code's picker titles a session by its first prompt unless it has a title record: a session
        // opening with a note of SessionFS's gets the session's title, as Claude Code titles a fork.
        let opens_with_note = matches!(req.conversation.items.first(), Some(Item::User(t)) if is_sessionfs_note(t));
        let title = req.title.map(str::to_owned).or_else(|| req.conversation.first_prompt());
        if let Some(title) = title.filter(|t| opens_with_note && !t.trim().is_empty()) {
            let record = json!({
                "type": "custom-title",
                "customTitle": title.trim(),
                "sessionId": session_id,
                "uuid": ids::uuid_v4(),
                "timestamp": req.now.to_rfc3339(),
            });
            w.lines.push_str(&record.to_string());
            w.lines.push('\n');
        }
        for item in &req.conversation.items {
            match item {
                Item::User(t) => w.user(&t.blocks, t.timestamp),
                Item::Assistant(t) => w.assistant(&t.blocks, t.timestamp, t.model.as_deref()),
                Item::Results(t) => w.results(&t.blocks, t.timestamp),
            }
        }
        crate::resume::atomic::create_new(&file, w.lines.as_bytes())?;
        Ok(WrittenSession {
            agent: CLI.agent,
            native_id: session_id.clone(),
            main_file: file.clone(),
            files: vec![file],
            registrations: Vec::new(),
            launch: CLI.launch(&session_id),
            expected: w.expected,
        })
    }
}

struct Records {
    session_id: String,
    cwd: String,
    version: String,
    branch: String,
    now: Timestamp,
    parent: Option<String>,
    last_assistant: Option<String>,
    lines: String,
    expected: Vec<Message>,
}

impl Records {
    /// Write one record: `kind`, its `message`, and the fields every record carries, in Claude Code's order.
    fn push(&mut self, kind: &str, message: Value, at: Option<Timestamp>, extra: Option<(&str, Value)>) -> String {
        let uuid = ids::uuid_v4();
        let mut r = Map::new();
        r.insert("parentUuid".into(), self.parent.clone().map_or(Value::Null, Value::String));
        r.insert("isSidechain".into(), false.into());
        r.insert("type".into(), kind.into());
        r.insert("message".into(), message);
        r.insert("uuid".into(), uuid.clone().into());
        r.insert("timestamp".into(), at.unwrap_or(self.now).to_rfc3339().into());
        if let Some((k, v)) = extra {
            r.insert(k.into(), v);
        }
        r.insert("userType".into(), "external".into());
        r.insert("entrypoint".into(), "cli".into());
        r.insert("cwd".into(), self.cwd.clone().into());
        r.insert("sessionId".into(), self.session_id.clone().into());
        r.insert("version".into(), self.version.clone().into());
        r.insert("gitBranch".into(), self.branch.clone().into());
        self.lines.push_str(&Value::Object(r).to_string());
        self.lines.push('\n');
        self.parent = Some(uuid.clone());
        uuid
    }

    fn user(&mut self, blocks: &[Block], at: Option<Timestamp>) {
        let mut content = Vec::new();
        let mut expected = Vec::new();
        for b in blocks {
            match b {
                Block::Text { text } => {
                    content.push(json!({"type": "text", "text": text}));
                    expected.push(Block::text(text.clone()));
                }
                Block::Image { source } => {
                    let (native, read) = image(source);
                    content.push(native);
                    expected.push(read);
                }
                _ => {}
            }
        }
        // A prompt that is one text is written as a plain string, as Claude Code does.
        let content = match content.as_slice() {
            [one] if one["type"] == "text" => one["text"].clone(),
            _ => Value::Array(content),
        };
        self.push("user", json!({"role": "user", "content": content}), at, None);
        self.expected.push(Message::new("", Role::User, expected));
    }

    fn assistant(&mut self, blocks: &[Block], at: Option<Timestamp>, model: Option<&str>) {
        let mut content = Vec::new();
        let mut expected = Vec::new();
        for b in blocks {
            match b {
                Block::Text { text } => {
                    content.push(json!({"type": "text", "text": text}));
                    expected.push(b.clone());
                }
                // A signature is Anthropic's proof the thinking is the model's own; without one the API
                // refuses the block, so unsigned reasoning (other providers') is carried as text.
                Block::Thinking { text, signature: Some(sig), redacted: false, .. } => {
                    content.push(json!({"type": "thinking", "thinking": text, "signature": sig}));
                    expected.push(Block::Thinking {
                        text: text.clone(),
                        signature: Some(sig.clone()),
                        redacted: false,
                        summary: None,
                    });
                }
                Block::Thinking { signature: Some(sig), redacted: true, .. } => {
                    content.push(json!({"type": "redacted_thinking", "data": sig}));
                    expected.push(Block::Thinking {
                        text: String::new(),
                        signature: Some(sig.clone()),
                        redacted: true,
                        summary: None,
                    });
                }
                Block::Thinking { text, summary, .. } => {
                    if let Some(t) = thinking_as_text(text, summary.as_deref()) {
                        content.push(json!({"type": "text", "text": t}));
                        expected.push(Block::text(t));
                    }
                }
                Block::ToolUse { tool_use_id, name, input } => {
                    let (name, input) = match shell_command(name, input) {
                        Some(command) => ("Bash".to_owned(), json!({ "command": command })),
                        None => (tool_name(name), object(input)),
                    };
                    content.push(json!({"type": "tool_use", "id": tool_use_id, "name": name, "input": input}));
                    expected.push(Block::ToolUse { tool_use_id: tool_use_id.clone(), name, input });
                }
                _ => {}
            }
        }
        if content.is_empty() {
            return;
        }
        let calls = content.iter().any(|c| c["type"] == "tool_use");
        let message = json!({
            "id": format!("msg_{}", ids::hex(24)),
            "type": "message",
            "role": "assistant",
            "model": model.unwrap_or("sessionfs"),
            "content": content,
            "stop_reason": if calls { "tool_use" } else { "end_turn" },
            "stop_sequence": null,
            "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0},
        });
        let uuid = self.push("assistant", message, at, None);
        self.last_assistant = Some(uuid);
        self.expected.push(Message::new("", Role::Assistant, expected));
    }

    fn results(&mut self, blocks: &[Block], at: Option<Timestamp>) {
        let mut content = Vec::new();
        for b in blocks {
            if let Block::ToolResult { tool_use_id, content: text, is_error, .. } = b {
                content.push(
                    json!({"tool_use_id": tool_use_id, "type": "tool_result", "content": text, "is_error": is_error}),
                );
            }
        }
        let source = self.last_assistant.clone().map(|u| ("sourceToolAssistantUUID", Value::String(u)));
        self.push("user", json!({"role": "user", "content": content}), at, source);
        self.expected.push(Message::new("", Role::Tool, blocks.to_vec()));
    }
}

/// Tool input as the Anthropic API wants it: an object.
fn object(input: &Value) -> Value {
    match input {
        Value::Object(_) => input.clone(),
        other => json!({ "input": other }),
    }
}

/// An image block and what the parser reads from it.
fn image(source: &ImageSource) -> (Value, Block) {
    let read = |kind: &str, data: String, media_type: Option<String>| Block::Image {
        source: ImageSource { kind: kind.to_owned(), data: Some(data), media_type, extra: Map::new() },
    };
    match image_data(source) {
        ImageData::Base64 { media_type, data } => (
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
            read("base64", data, Some(media_type)),
        ),
        ImageData::Url(url) => {
            (json!({"type": "image", "source": {"type": "url", "url": url}}), read("url", url, None))
        }
        ImageData::Placeholder(text) => (json!({"type": "text", "text": text}), Block::text(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_match_claude_code() {
        // From the fixtures: `_` becomes `-` too.
        assert_eq!(
            project_dir_name("/tmp/sfs-fixture-OohIJb/project-tool_call"),
            "-tmp-sfs-fixture-OohIJb-project-tool-call"
        );
        assert_eq!(project_dir_name("/home/a.b/ü😀"), "-home-a-b----");
        let long = format!("/{}", "d".repeat(250));
        let name = project_dir_name(&long);
        assert!(name.starts_with(&format!("-{}", "d".repeat(199))), "{name}");
        assert_eq!(name.len(), 201 + base36(u64::from(hash_of(&long).unsigned_abs())).len());
    }

    fn hash_of(s: &str) -> i32 {
        s.encode_utf16().fold(0i32, |h, u| (h << 5).wrapping_sub(h).wrapping_add(i32::from(u)))
    }

    #[test]
    fn base36_digits() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        assert_eq!(base36(2_147_483_648), "zik0zk");
    }
}
