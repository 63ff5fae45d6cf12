//! Claude Code sessions: `~/.claude/projects/<encoded cwd>/<session uuid>.jsonl`, one JSON record per line,
//! plus sub-agent threads in `<session uuid>/subagents/<agent>.jsonl`. Verified against claude-code 2.1.197.
//!
//! Records of type `user` and `assistant` carry an Anthropic-shaped `message`; `summary` records carry the
//! session's title; `system`, `attachment`, `file-history-snapshot`, `queue-operation` and the like carry
//! no conversation and are passed over. A streamed answer is written as several `assistant` records sharing
//! one `message.id`; its usage is counted once. `write` writes sessions back for resume.

mod content;
mod write;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sessionfs_shared::sfs::{Block, Message, Role, Usage};
use sessionfs_shared::{AgentKind, Timestamp};

use self::content::Content;

pub use write::project_dir_name;

use crate::lines::parse_line;
use crate::{
    Agent, AgentDirs, AgentError, LineSplitter, NativeFile, NativeParser, NativeWriter, ParseMode, ParseOutcome,
    SessionMeta, SkippedRecord,
};

/// The Claude Code adapter.
pub struct ClaudeCode;

impl Agent for ClaudeCode {
    fn kind(&self) -> AgentKind {
        AgentKind::ClaudeCode
    }

    fn watch_roots(&self, dirs: &AgentDirs) -> Vec<PathBuf> {
        vec![dirs.claude().join("projects")]
    }

    fn classify(&self, path: &Path) -> Option<NativeFile> {
        if path.extension()? != "jsonl" {
            return None;
        }
        let stem = path.file_stem()?.to_str()?.to_owned();
        let parent = path.parent()?;
        let parent_name = parent.file_name()?.to_str()?;
        if parent_name == "subagents" {
            // <projects>/<enc>/<session>/subagents/<agent>.jsonl
            let session_dir = parent.parent()?;
            let projects = session_dir.parent()?.parent()?;
            if projects.file_name()? != "projects" {
                return None;
            }
            let native_id = session_dir.file_name()?.to_str()?.to_owned();
            return Some(NativeFile {
                agent: AgentKind::ClaudeCode,
                path: path.to_owned(),
                native_id: Some(native_id),
                subagent: Some(stem),
            });
        }
        // <projects>/<enc>/<session>.jsonl
        if parent.parent()?.file_name()? != "projects" {
            return None;
        }
        Some(NativeFile { agent: AgentKind::ClaudeCode, path: path.to_owned(), native_id: Some(stem), subagent: None })
    }

    fn parser(&self, file: &NativeFile) -> Box<dyn NativeParser> {
        let mut state = State { subagent: file.subagent.clone(), ..State::default() };
        state.meta.native_id.clone_from(&file.native_id);
        state.meta.interface = Some("cli".into());
        state.meta.provider = Some("anthropic".into());
        Box::new(state)
    }

    fn restore_parser(&self, _file: &NativeFile, saved: Value) -> Result<Box<dyn NativeParser>, AgentError> {
        let state: State = serde_json::from_value(saved)
            .map_err(|source| AgentError::BadState { agent: AgentKind::ClaudeCode, source })?;
        Ok(Box::new(state))
    }

    fn writer(&self) -> Option<&dyn NativeWriter> {
        Some(self)
    }
}

/// Parser state, saved between passes.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    meta: SessionMeta,
    lines_read: u64,
    subagent: Option<String>,
    last_was_user: bool,
    last_usage_message: Option<String>,
}

impl NativeParser for State {
    fn mode(&self) -> ParseMode {
        ParseMode::Incremental
    }

    fn feed(&mut self, chunk: &[u8], at_eof: bool) -> ParseOutcome {
        let mut out = ParseOutcome::default();
        let mut lines = LineSplitter::new(chunk, at_eof, self.lines_read + 1);
        for (line_no, line) in lines.by_ref() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match parse_line::<Record>(line) {
                Ok(record) => match self.record(record) {
                    Ok(Some(msg)) => out.messages.push(msg),
                    Ok(None) => {}
                    Err(error) => out.skipped.push(SkippedRecord { line: line_no, error }),
                },
                Err(e) => out.skipped.push(SkippedRecord { line: line_no, error: format!("invalid JSON: {e}") }),
            }
        }
        self.lines_read = lines.line_no();
        out.consumed = lines.consumed();
        out
    }

    fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    fn save(&self) -> Value {
        // A plain struct of strings and numbers always serialises.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type", default)]
    kind: String,
    uuid: Option<String>,
    #[serde(rename = "parentUuid")]
    parent_uuid: Option<String>,
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    timestamp: Option<Timestamp>,
    cwd: Option<String>,
    #[serde(rename = "gitBranch")]
    git_branch: Option<String>,
    version: Option<String>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: bool,
    #[serde(rename = "isMeta", default)]
    is_meta: bool,
    #[serde(rename = "isCompactSummary", default)]
    is_compact_summary: bool,
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "agentId")]
    agent_id: Option<String>,
    message: Option<ApiMessage>,
    summary: Option<String>,
    #[serde(rename = "customTitle")]
    custom_title: Option<String>,
}

#[derive(Deserialize)]
struct ApiMessage {
    #[serde(default)]
    role: String,
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    content: Content,
    stop_reason: Option<String>,
    usage: Option<ApiUsage>,
}

#[derive(Deserialize)]
struct ApiUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
}

impl State {
    fn record(&mut self, r: Record) -> Result<Option<Message>, String> {
        match r.kind.as_str() {
            "user" | "assistant" => self.message(r).map(Some),
            // `custom-title`: a title set with /rename, or by a fork (or a SessionFS resume) for the picker.
            "summary" | "custom-title" => {
                if let Some(s) = r.summary.or(r.custom_title).filter(|s| !s.trim().is_empty()) {
                    self.meta.title = Some(s);
                }
                Ok(None)
            }
            _ => Ok(None), // system, attachment, file-history-snapshot, progress, queue-operation, …
        }
    }

    fn message(&mut self, r: Record) -> Result<Message, String> {
        let api = r.message.ok_or_else(|| format!("{} record without a message", r.kind))?;
        let meta = &mut self.meta;
        if meta.native_id.is_none() {
            meta.native_id = r.session_id.clone();
        }
        if meta.cwd.is_none() {
            meta.cwd = r.cwd.clone();
        }
        if r.git_branch.as_deref().is_some_and(|b| !b.is_empty()) {
            meta.git_branch = r.git_branch.clone();
        }
        if r.version.is_some() {
            meta.tool_version = r.version.clone();
        }
        if let Some(t) = r.timestamp {
            meta.saw_time(t);
        }

        let mut content = api.content.0;
        let is_assistant = r.kind == "assistant" || api.role == "assistant";
        let has_tool_result = content.iter().any(|b| matches!(b, Block::ToolResult { .. }));
        let role = if is_assistant {
            Role::Assistant
        } else if has_tool_result {
            Role::Tool
        } else if r.is_compact_summary {
            // Auto-compaction writes the summary as a user message; it stands for the dropped turns.
            content = content
                .into_iter()
                .map(|b| match b {
                    Block::Text { text } => Block::Summary { text, summarized_through_msg_id: r.parent_uuid.clone() },
                    other => other,
                })
                .collect();
            Role::System
        } else {
            Role::User
        };

        let main_thread = !r.is_sidechain && self.subagent.is_none();
        if role == Role::User && !r.is_meta && main_thread {
            let text: String = content.iter().filter_map(Block::searchable_text).collect::<Vec<_>>().join("\n");
            meta.saw_prompt(&text);
            if !self.last_was_user {
                meta.turn_count += 1;
            }
        }
        if main_thread && role != Role::Tool {
            self.last_was_user = role == Role::User;
        }

        let mut msg = Message::new(r.uuid.unwrap_or_else(|| format!("line-{}", self.lines_read + 1)), role, content);
        msg.parent_msg_id = r.parent_uuid;
        msg.timestamp = r.timestamp;
        msg.is_sidechain = r.is_sidechain || self.subagent.is_some();
        msg.is_meta = r.is_meta;
        msg.agent_id = self.subagent.clone().or(r.agent_id);
        if is_assistant {
            if let Some(model) = api.model.filter(|m| m != "<synthetic>") {
                if main_thread && meta.model.is_none() {
                    meta.model = Some(model.clone());
                }
                msg.provider = Some(provider_of(&model).to_owned());
                msg.model = Some(model);
            }
            msg.stop_reason = api.stop_reason;
            if let Some(u) = api.usage {
                msg.usage = Some(Usage {
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                    cache_read_tokens: u.cache_read_input_tokens,
                    cache_write_tokens: u.cache_creation_input_tokens,
                    reasoning_tokens: 0,
                });
                // One API answer may span several records; count its usage once.
                if api.id.is_none() || api.id != self.last_usage_message {
                    meta.input_tokens += u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
                    meta.output_tokens += u.output_tokens;
                    self.last_usage_message = api.id;
                }
            }
        }
        if let Some(req) = r.request_id {
            msg.metadata.insert("cc_request_id".into(), req.into());
        }
        Ok(msg)
    }
}

fn provider_of(model: &str) -> &'static str {
    if model.starts_with("gpt") || model.starts_with("o1") || model.starts_with("o3") || model.starts_with("o4") {
        "openai"
    } else if model.starts_with("gemini") {
        "google"
    } else {
        "anthropic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(lines: &str) -> (Vec<Message>, Vec<SkippedRecord>, SessionMeta) {
        let file = NativeFile {
            agent: AgentKind::ClaudeCode,
            path: "/h/.claude/projects/-p/abc.jsonl".into(),
            native_id: Some("abc".into()),
            subagent: None,
        };
        let mut p = ClaudeCode.parser(&file);
        let out = p.feed(lines.as_bytes(), true);
        (out.messages, out.skipped, p.meta().clone())
    }

    const FIXTURE: &str = r#"{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/Users/test/myproject","sessionId":"test-uuid-1234","version":"2.1.59","gitBranch":"main","type":"user","message":{"role":"user","content":"Hello there"},"uuid":"msg-001","timestamp":"2026-03-20T10:00:00.000Z"}
{"parentUuid":"msg-001","isSidechain":false,"type":"assistant","message":{"id":"m1","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"thinking","thinking":"hmm","signature":"sig123"},{"type":"text","text":"Reading"},{"type":"tool_use","id":"tu-001","name":"Read","input":{"file_path":"README.md"}}],"stop_reason":"tool_use","usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":50,"cache_creation_input_tokens":10}},"uuid":"msg-002","requestId":"req_1","timestamp":"2026-03-20T10:00:02.000Z"}
{"parentUuid":"msg-002","isSidechain":false,"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu-001","content":[{"type":"text","text":"My Project"}]}]},"uuid":"msg-003","timestamp":"2026-03-20T10:00:03.000Z"}
{"type":"summary","summary":"Reading the README","leafUuid":"msg-003"}
{"type":"file-history-snapshot","messageId":"x","snapshot":{}}
"#;

    #[test]
    fn maps_messages_tools_thinking_and_meta() {
        let (msgs, skipped, meta) = parse_all(FIXTURE);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].role, Role::User);
        assert!(matches!(&msgs[1].content[0], Block::Thinking { signature: Some(s), .. } if s == "sig123"));
        assert!(matches!(&msgs[1].content[2], Block::ToolUse { tool_use_id, .. } if tool_use_id == "tu-001"));
        assert_eq!(msgs[2].role, Role::Tool);
        assert!(matches!(&msgs[2].content[0], Block::ToolResult { content, .. } if content == "My Project"));
        assert_eq!(meta.title.as_deref(), Some("Reading the README"));
        assert_eq!(meta.model.as_deref(), Some("claude-sonnet-4-6"));
        assert_eq!(meta.cwd.as_deref(), Some("/Users/test/myproject"));
        assert_eq!(meta.git_branch.as_deref(), Some("main"));
        assert_eq!((meta.input_tokens, meta.output_tokens), (160, 20));
        assert_eq!(meta.turn_count, 1);
        assert_eq!(meta.first_prompt.as_deref(), Some("Hello there"));
    }

    #[test]
    fn a_custom_title_titles_the_session() {
        let renamed = format!(
            "{FIXTURE}{}\n",
            r#"{"type":"custom-title","customTitle":"Renamed","sessionId":"test-uuid-1234","uuid":"u","timestamp":"2026-03-20T10:00:04.000Z"}"#
        );
        let (_, skipped, meta) = parse_all(&renamed);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(meta.title.as_deref(), Some("Renamed"));
    }

    #[test]
    fn incremental_feeding_equals_one_pass() {
        let (whole, _, whole_meta) = parse_all(FIXTURE);
        let file = NativeFile {
            agent: AgentKind::ClaudeCode,
            path: "/x.jsonl".into(),
            native_id: Some("abc".into()),
            subagent: None,
        };
        let mut p = ClaudeCode.parser(&file);
        let bytes = FIXTURE.as_bytes();
        let mut offset = 0usize;
        let mut msgs = Vec::new();
        // Feed in uneven slices that cut lines in half; restore the parser from its saved state each time.
        for end in [37, 300, 301, 900, bytes.len()] {
            let out = p.feed(&bytes[offset..end], end == bytes.len());
            offset += out.consumed as usize;
            msgs.extend(out.messages);
            p = ClaudeCode.restore_parser(&file, p.save()).unwrap();
        }
        assert_eq!(offset, bytes.len());
        assert_eq!(msgs, whole);
        assert_eq!(p.meta(), &whole_meta);
    }

    #[test]
    fn bad_lines_are_counted_not_fatal() {
        let input = format!("{}not json\n{{\"type\":\"user\",\"uuid\":\"u9\"}}\n", FIXTURE);
        let (msgs, skipped, _) = parse_all(&input);
        assert_eq!(msgs.len(), 3);
        assert_eq!(skipped.len(), 2);
        assert_eq!(skipped[0].line, 6);
        assert!(skipped[0].error.contains("invalid JSON"));
        assert!(skipped[1].error.contains("without a message"));
    }

    #[test]
    fn classifies_main_and_subagent_files() {
        let main = ClaudeCode.classify(Path::new("/h/.claude/projects/-tmp-p/1234.jsonl")).unwrap();
        assert_eq!((main.native_id.as_deref(), main.subagent.as_deref()), (Some("1234"), None));
        let sub = ClaudeCode.classify(Path::new("/h/.claude/projects/-tmp-p/1234/subagents/agent-a1.jsonl")).unwrap();
        assert_eq!((sub.native_id.as_deref(), sub.subagent.as_deref()), (Some("1234"), Some("agent-a1")));
        assert!(ClaudeCode.classify(Path::new("/h/.claude/projects/-tmp-p/notes.txt")).is_none());
        assert!(ClaudeCode.classify(Path::new("/h/.claude/todos/x.jsonl")).is_none());
    }
}
