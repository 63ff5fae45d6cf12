//! Codex CLI sessions: `~/.codex/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl`, one JSON record per
//! line (`{"timestamp", "type", "payload"}`, newer versions add `ordinal`). Verified against codex 0.169.0.
//!
//! The conversation is in `response_item` records (messages, reasoning, function calls and their
//! outputs). A user prompt and the final answer are also echoed as `event_msg` records (`user_message`,
//! `agent_message`): each is counted once, whichever copy comes first. Context Codex injects itself
//! (`<environment_context>`, instructions) is kept but marked `is_meta`. `write` writes threads back for
//! resume and `state` registers them in Codex's own index.

mod state;
mod write;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role};
use sessionfs_shared::{AgentKind, Timestamp};

pub(crate) use state::unregister_thread;

use crate::digest::digest;
use crate::lenient::{self, Field, Given, List, Object, Scalar};
use crate::lines::parse_line;
use crate::{
    Agent, AgentDirs, AgentError, LineSplitter, NativeFile, NativeParser, NativeWriter, ParseMode, ParseOutcome,
    SessionMeta, SkippedRecord,
};

/// The Codex adapter.
pub struct Codex;

/// The `originator` SessionFS writes into rollouts it creates for a resume.
pub const SESSIONFS_ORIGINATOR: &str = "sessionfs";

impl Agent for Codex {
    fn kind(&self) -> AgentKind {
        AgentKind::Codex
    }

    fn watch_roots(&self, dirs: &AgentDirs) -> Vec<PathBuf> {
        vec![dirs.codex().join("sessions")]
    }

    fn classify(&self, path: &Path) -> Option<NativeFile> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_prefix("rollout-")?.strip_suffix(".jsonl")?;
        // rollout-2026-03-20T09-12-00-<uuid>: the UUID is the last 36 characters.
        let native_id = stem
            .len()
            .checked_sub(36)
            .and_then(|i| stem.get(i..))
            .filter(|id| id.split('-').count() == 5)
            .map(str::to_owned);
        Some(NativeFile { agent: AgentKind::Codex, path: path.to_owned(), native_id, subagent: None })
    }

    fn parser(&self, file: &NativeFile) -> Box<dyn NativeParser> {
        let mut state = State::default();
        state.meta.native_id.clone_from(&file.native_id);
        state.meta.provider = Some("openai".into());
        Box::new(state)
    }

    fn restore_parser(&self, _file: &NativeFile, saved: Value) -> Result<Box<dyn NativeParser>, AgentError> {
        let mut state: State =
            serde_json::from_value(saved).map_err(|source| AgentError::BadState { agent: AgentKind::Codex, source })?;
        // A state from an older build keeps the texts themselves, as "role\0text": the same bytes a digest is of.
        for key in std::mem::take(&mut state.seen_in_turn) {
            state.seen_digests.insert(digest(key.as_bytes()));
        }
        Ok(Box::new(state))
    }

    fn writer(&self) -> Option<&dyn NativeWriter> {
        Some(self)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    meta: SessionMeta,
    lines_read: u64,
    emitted: u64,
    turn_id: Option<String>,
    model: Option<String>,
    /// Digests of the (role, text) of messages emitted in the current turn, to drop the echo of each. Digests,
    /// not the texts: this state is saved after every capture, and a turn's messages can be long.
    seen_digests: HashSet<u64>,
    /// What states saved by older builds kept instead: the texts. Read, turned into digests, never written.
    #[serde(skip_serializing)]
    seen_in_turn: Vec<String>,
}

#[derive(Deserialize)]
struct Record {
    timestamp: Option<Timestamp>,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    payload: Payload,
}

/// A record's payload, read in one pass: the fields of every record kind the parser reads, each lenient
/// (a field of another type reads as absent); the rest, such as the large `encrypted_content` of reasoning
/// or the text of `agent_reasoning` events, is skipped unread.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Payload {
    #[serde(rename = "type")]
    kind: Scalar,
    // response_item
    role: Scalar,
    content: List<Object<Part>>,
    summary: List<Object<Part>>,
    encrypted_content: Given,
    call_id: Scalar,
    id: Scalar,
    name: Scalar,
    #[serde(deserialize_with = "lenient::given")]
    arguments: Option<Field>,
    #[serde(deserialize_with = "lenient::given")]
    input: Option<Field>,
    action: Object<Action>,
    #[serde(deserialize_with = "lenient::given")]
    output: Option<Field>,
    // event_msg and turn_context
    turn_id: Scalar,
    message: Scalar,
    /// A `user_message` event's images (data or remote URLs), as in the prompt's response item.
    images: List<Scalar>,
    info: Object<TokenInfo>,
    model: Scalar,
    cwd: Scalar,
}

/// An element of a message's `content`, or of a reasoning item's `summary` or `content`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Part {
    #[serde(rename = "type")]
    kind: Scalar,
    text: Scalar,
    image_url: Scalar,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Action {
    #[serde(deserialize_with = "lenient::given")]
    command: Option<Field>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenInfo {
    total_token_usage: Object<TokenTotals>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TokenTotals {
    input_tokens: Scalar,
    output_tokens: Scalar,
}

/// A shell tool's report, which Codex writes as a JSON string inside the record.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ToolReport {
    output: Scalar,
    text: Scalar,
    metadata: Object<ReportMetadata>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ReportMetadata {
    exit_code: Scalar,
}

/// `session_meta`, once per file, is read as a `Value`: some versions nest its fields under `meta`.
#[derive(Deserialize)]
struct SessionMetaRecord {
    #[serde(default)]
    payload: Value,
}

/// An image Codex holds as a URL (`data:` or remote).
fn image(url: Option<String>) -> Block {
    Block::Image { source: ImageSource { kind: "url".into(), data: url, media_type: None, extra: Map::new() } }
}

fn url_image(url: String) -> Block {
    image(Some(url))
}

/// The digest of a message's role and text: of the bytes `role\0text`, the key older builds kept whole.
fn text_digest(role: Role, text: &str) -> u64 {
    digest(&[role.as_str().as_bytes(), b"\0", text.as_bytes()].concat())
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
                Ok(r) => match self.record(r, line) {
                    Ok(msgs) => out.messages.extend(msgs),
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
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn is_injected_context(text: &str) -> bool {
    let t = text.trim_start();
    ["<environment_context>", "<user_instructions>", "<permissions", "# AGENTS.md", "<INSTRUCTIONS>", "<turn_aborted>"]
        .iter()
        .any(|p| t.starts_with(p))
}

impl State {
    fn record(&mut self, r: Record, line: &[u8]) -> Result<Vec<Message>, String> {
        if let Some(t) = r.timestamp {
            self.meta.saw_time(t);
        }
        match r.kind.as_str() {
            "session_meta" => {
                let record: SessionMetaRecord = parse_line(line).map_err(|e| format!("invalid session_meta: {e}"))?;
                self.session_meta(&record.payload);
                Ok(Vec::new())
            }
            "turn_context" => {
                let p = r.payload;
                self.new_turn(p.turn_id.into_string());
                if let Some(model) = p.model.into_string() {
                    if self.meta.model.is_none() {
                        self.meta.model = Some(model.clone());
                    }
                    self.model = Some(model);
                }
                if let Some(cwd) = p.cwd.into_string() {
                    self.meta.cwd.get_or_insert(cwd);
                }
                Ok(Vec::new())
            }
            "response_item" => Ok(self.response_item(r.payload, r.timestamp).into_iter().collect()),
            "event_msg" => Ok(self.event(r.payload, r.timestamp).into_iter().collect()),
            _ => Ok(Vec::new()), // compacted, world_state, token_usage_record, …: no conversation in them
        }
    }

    fn session_meta(&mut self, p: &Value) {
        let m = p.get("meta").unwrap_or(p); // some versions nest it
        if let Some(id) = s(m, "id") {
            self.meta.native_id = Some(id);
        }
        self.meta.cwd = s(m, "cwd").or(self.meta.cwd.take());
        self.meta.tool_version = s(m, "cli_version").or(self.meta.tool_version.take());
        self.meta.originator = s(m, "originator");
        self.meta.interface = s(m, "source").filter(|v| !v.is_empty()).or(Some("cli".into()));
        if let Some(provider) = s(m, "model_provider") {
            self.meta.provider = Some(provider);
        }
        if let Some(git) = p.get("git").or_else(|| m.get("git")) {
            self.meta.git_branch = s(git, "branch").or(self.meta.git_branch.take());
            self.meta.git_commit = s(git, "commit_hash").or(self.meta.git_commit.take());
            self.meta.git_remote = s(git, "repository_url").or(self.meta.git_remote.take());
        }
    }

    fn new_turn(&mut self, turn_id: Option<String>) {
        if turn_id.is_some() && turn_id != self.turn_id {
            self.turn_id = turn_id;
            self.seen_digests.clear();
        }
    }

    fn message(&mut self, role: Role, content: Vec<Block>, at: Option<Timestamp>) -> Message {
        self.emitted += 1;
        let mut m = Message::new(format!("msg_{:06}", self.emitted), role, content);
        m.timestamp = at;
        m.turn_id.clone_from(&self.turn_id);
        if role == Role::Assistant {
            m.model.clone_from(&self.model);
            m.provider.clone_from(&self.meta.provider);
        }
        m
    }

    /// Emit a user or assistant text once per turn, whichever copy (event or response item) comes first.
    fn text_once(&mut self, role: Role, text: String, at: Option<Timestamp>) -> Option<Message> {
        self.once(role, text, Vec::new(), at)
    }

    /// [`Self::text_once`] for a message that may carry images: both copies of a prompt with images (the
    /// response item and the `user_message` event) hold the same text and image URLs.
    fn once(&mut self, role: Role, text: String, images: Vec<Block>, at: Option<Timestamp>) -> Option<Message> {
        let mut key = text.trim().to_owned();
        for image in &images {
            if let Block::Image { source } = image {
                key.push('\0');
                key.push_str(source.data.as_deref().unwrap_or_default());
            }
        }
        if !self.seen_digests.insert(text_digest(role, &key)) {
            return None;
        }
        let meta_text = role == Role::User && is_injected_context(&text);
        if role == Role::User && !meta_text {
            self.meta.turn_count += 1;
            self.meta.saw_prompt(&text);
        }
        let mut content = vec![Block::text(text)];
        content.extend(images);
        let mut m = self.message(role, content, at);
        m.is_meta = meta_text;
        Some(m)
    }

    fn event(&mut self, p: Payload, at: Option<Timestamp>) -> Option<Message> {
        match p.kind.as_str()? {
            "task_started" | "turn_started" => {
                self.new_turn(p.turn_id.into_string());
                None
            }
            "user_message" => {
                let images = p.images.0.into_iter().filter_map(Scalar::into_string).map(url_image).collect();
                self.once(Role::User, p.message.into_string()?, images, at)
            }
            "agent_message" => self.text_once(Role::Assistant, p.message.into_string()?, at),
            "token_count" => {
                // Totals so far for the whole session: the last one wins.
                if let Some(total) = p.info.0.and_then(|info| info.total_token_usage.0) {
                    self.meta.input_tokens = total.input_tokens.as_u64().unwrap_or(0);
                    self.meta.output_tokens = total.output_tokens.as_u64().unwrap_or(0);
                }
                None
            }
            _ => None,
        }
    }

    fn response_item(&mut self, p: Payload, at: Option<Timestamp>) -> Option<Message> {
        match p.kind.as_str()? {
            "message" => {
                let role = match p.role.as_str()? {
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "developer" => Role::Developer,
                    "system" => Role::System,
                    _ => return None,
                };
                let mut texts = Vec::new();
                let mut images = Vec::new();
                for part in p.content.0.into_iter().filter_map(|part| part.0) {
                    match part.kind.as_str() {
                        Some("input_text" | "output_text" | "text") => {
                            texts.push(part.text.into_string().unwrap_or_default());
                        }
                        Some("input_image") => images.push(image(part.image_url.into_string())),
                        _ => {}
                    }
                }
                let text = texts.join("\n");
                if matches!(role, Role::Developer | Role::System) {
                    let mut m = self.message(role, vec![Block::text(text)], at);
                    m.is_meta = true;
                    return Some(m);
                }
                self.once(role, text, images, at)
            }
            "reasoning" => {
                let texts = |parts: List<Object<Part>>| -> Vec<String> {
                    parts.0.into_iter().filter_map(|part| part.0?.text.into_string()).collect()
                };
                let (summary, content) = (texts(p.summary), texts(p.content));
                let encrypted = p.encrypted_content.0;
                if summary.is_empty() && content.is_empty() && !encrypted {
                    return None;
                }
                let block = Block::Thinking {
                    redacted: content.is_empty() && encrypted,
                    text: content.join("\n"),
                    signature: None,
                    summary: (!summary.is_empty()).then(|| summary.join("\n")),
                };
                Some(self.message(Role::Assistant, vec![block], at))
            }
            "function_call" | "custom_tool_call" => {
                let call_id = p.call_id.into_string().or_else(|| p.id.into_string()).unwrap_or_default();
                let name = p.name.into_string().unwrap_or_else(|| "tool".into());
                let input = match p.arguments.or(p.input) {
                    Some(Field::Str(raw)) => {
                        serde_json::from_str(&raw).unwrap_or_else(|_| serde_json::json!({ "input": raw }))
                    }
                    Some(Field::Json(v)) => v,
                    None => Value::Object(Map::new()),
                };
                Some(self.message(Role::Assistant, vec![Block::ToolUse { tool_use_id: call_id, name, input }], at))
            }
            "local_shell_call" => {
                let call_id = p.call_id.into_string().or_else(|| p.id.into_string()).unwrap_or_default();
                let command = p.action.0.and_then(|a| a.command).map_or(Value::Null, Field::into_value);
                let input = serde_json::json!({ "command": command });
                Some(self.message(
                    Role::Assistant,
                    vec![Block::ToolUse { tool_use_id: call_id, name: "local_shell".into(), input }],
                    at,
                ))
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                let call_id = p.call_id.into_string().unwrap_or_default();
                let (content, exit_code) = tool_output(p.output);
                let block = Block::ToolResult {
                    tool_use_id: call_id,
                    is_error: exit_code.is_some_and(|c| c != 0),
                    content,
                    exit_code,
                    duration_ms: None,
                };
                Some(self.message(Role::Tool, vec![block], at))
            }
            _ => None,
        }
    }
}

/// A tool's output: a string, a JSON string `{"output", "metadata": {"exit_code"}}`, or such an object.
fn tool_output(output: Option<Field>) -> (String, Option<i64>) {
    match output {
        None | Some(Field::Json(Value::Null)) => (String::new(), None),
        Some(Field::Str(raw)) => match serde_json::from_str::<Object<ToolReport>>(&raw) {
            Ok(Object(Some(report))) => {
                let exit = report.metadata.0.and_then(|m| m.exit_code.as_i64());
                match report.output.into_string().or_else(|| report.text.into_string()) {
                    Some(text) => (text, exit),
                    // An object without either: kept whole, as it was given.
                    None => (raw, exit),
                }
            }
            _ => {
                let exit = exit_code_in_report(&raw);
                (raw, exit)
            }
        },
        Some(Field::Json(obj)) => {
            let text = s(&obj, "output").or_else(|| s(&obj, "text")).unwrap_or_else(|| obj.to_string());
            let exit = obj.get("metadata").and_then(|m| m.get("exit_code")).and_then(Value::as_i64);
            (text, exit)
        }
    }
}

/// Codex 0.169 reports a command's outcome as text: "…Process exited with code 0…Output:\n…".
fn exit_code_in_report(report: &str) -> Option<i64> {
    let rest = &report[report.find("exited with code ")? + "exited with code ".len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLOUT: &str = r#"{"timestamp":"2026-03-20T09:12:00.019Z","type":"session_meta","payload":{"id":"019d0a84-0c2f-7163-8491-0dd9ff93f4b8","timestamp":"2026-03-20T09:12:00.019Z","cwd":"/tmp/test_repo","originator":"codex_cli","cli_version":"0.116.0","source":"cli","model_provider":"openai","git":{"commit_hash":"abc123","branch":"main","repository_url":null}}}
{"timestamp":"2026-03-20T09:12:01.000Z","type":"turn_context","payload":{"turn_id":"turn-001","cwd":"/tmp/test_repo","model":"gpt-4.1"}}
{"timestamp":"2026-03-20T09:12:01.100Z","type":"event_msg","payload":{"type":"task_started","turn_id":"turn-001"}}
{"timestamp":"2026-03-20T09:12:01.200Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>cwd</environment_context>"}]}}
{"timestamp":"2026-03-20T09:12:01.300Z","type":"event_msg","payload":{"type":"user_message","message":"Say hello world","images":[]}}
{"timestamp":"2026-03-20T09:12:01.400Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Say hello world"}]}}
{"timestamp":"2026-03-20T09:12:02.000Z","type":"response_item","payload":{"type":"reasoning","summary":[{"type":"summary_text","text":"plan"}],"content":null,"encrypted_content":"gAAA"}}
{"timestamp":"2026-03-20T09:12:02.100Z","type":"response_item","payload":{"type":"function_call","name":"exec_command","arguments":"{\"cmd\":\"echo hello world\"}","call_id":"call_001"}}
{"timestamp":"2026-03-20T09:12:02.200Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_001","output":"{\"output\":\"hello world\\n\",\"metadata\":{\"exit_code\":0}}"}}
{"timestamp":"2026-03-20T09:12:03.000Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Done: hello world"}]}}
{"timestamp":"2026-03-20T09:12:03.100Z","type":"event_msg","payload":{"type":"agent_message","message":"Done: hello world"}}
{"timestamp":"2026-03-20T09:12:03.200Z","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":500,"output_tokens":100}}}}
"#;

    fn items(lines: &str) -> (Vec<Message>, Vec<SkippedRecord>) {
        let file = Codex.classify(Path::new("/h/.codex/sessions/2026/03/20/rollout-x.jsonl")).unwrap();
        let out = Codex.parser(&file).feed(lines.as_bytes(), true);
        (out.messages, out.skipped)
    }

    /// The file of the `ROLLOUT` session, named as Codex names it.
    fn rollout_file() -> NativeFile {
        Codex
            .classify(Path::new(
                "/h/.codex/sessions/2026/03/20/rollout-2026-03-20T09-12-00-019d0a84-0c2f-7163-8491-0dd9ff93f4b8.jsonl",
            ))
            .unwrap()
    }

    fn item(payload: &str) -> Block {
        let (mut msgs, skipped) = items(&format!("{{\"type\":\"response_item\",\"payload\":{payload}}}\n"));
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(msgs.len(), 1, "{payload}");
        msgs.remove(0).content.remove(0)
    }

    #[test]
    fn tool_outputs_in_every_shape() {
        let result = |output: &str| match item(&format!(
            r#"{{"type":"function_call_output","call_id":"c1","output":{output}}}"#
        )) {
            Block::ToolResult { content, exit_code, is_error, .. } => (content, exit_code, is_error),
            other => panic!("{other:?}"),
        };
        // The JSON report Codex writes as a string, a text report, plain text, an object, and nothing.
        assert_eq!(
            result(r#""{\"output\":\"ok\\n\",\"metadata\":{\"exit_code\":3}}""#),
            ("ok\n".into(), Some(3), true)
        );
        assert_eq!(
            result(r#""Process exited with code 0\nOutput:\nfine""#),
            ("Process exited with code 0\nOutput:\nfine".into(), Some(0), false)
        );
        assert_eq!(result(r#""[1, 2]""#), ("[1, 2]".into(), None, false));
        assert_eq!(result(r#""{\"other\": 1}""#), ("{\"other\": 1}".into(), None, false));
        assert_eq!(result(r#"{"text":"t","metadata":{"exit_code":0}}"#), ("t".into(), Some(0), false));
        assert_eq!(result("null"), (String::new(), None, false));
        assert_eq!(result(r#""{\"output\":\"x\",\"metadata\":{\"exit_code\":\"1\"}}""#), ("x".into(), None, false));
    }

    #[test]
    fn tool_calls_keep_their_arguments() {
        let call = |payload: &str| match item(payload) {
            Block::ToolUse { tool_use_id, name, input } => (tool_use_id, name, input),
            other => panic!("{other:?}"),
        };
        let (id, name, input) =
            call(r#"{"type":"function_call","name":"shell","arguments":"{\"cmd\":\"ls\"}","call_id":"c1"}"#);
        assert_eq!((id.as_str(), name.as_str(), input), ("c1", "shell", serde_json::json!({"cmd": "ls"})));
        let (_, _, input) =
            call(r#"{"type":"custom_tool_call","name":"apply_patch","input":"*** Begin Patch","id":"i2"}"#);
        assert_eq!(input, serde_json::json!({"input": "*** Begin Patch"}));
        let (id, name, input) = call(r#"{"type":"function_call","arguments":{"a":[1]},"id":"i3"}"#);
        assert_eq!((id.as_str(), name.as_str(), input), ("i3", "tool", serde_json::json!({"a": [1]})));
        let (_, name, input) = call(r#"{"type":"local_shell_call","call_id":"c4","action":{"command":["ls","-l"]}}"#);
        assert_eq!((name.as_str(), input), ("local_shell", serde_json::json!({"command": ["ls", "-l"]})));
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent_and_the_record_is_kept() {
        // A role that is not a string: the message is not one SessionFS knows, and nothing is emitted.
        let (msgs, skipped) = items(
            r#"{"type":"response_item","payload":{"type":"message","role":7,"content":[]}}
{"type":"response_item","payload":{"type":"message","role":"user","content":"not a list"}}
{"type":"response_item","payload":{"type":"message","role":"assistant","content":[5,{"type":"output_text","text":{"x":1}},{"type":"output_text","text":"kept"}]}}
{"type":"response_item","payload":{"type":"reasoning","summary":{"no":1},"content":null,"encrypted_content":null}}
{"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":-1,"output_tokens":"9"}}}}
{"type":"event_msg","payload":{"type":"agent_reasoning","text":[1,2,{"deep":true}]}}
{"type":"world_state","payload":{"anything":[{"at":"all"}]}}
"#,
        );
        assert!(skipped.is_empty(), "{skipped:?}");
        let texts: Vec<String> = msgs.iter().map(Message::text).collect();
        assert_eq!(texts, ["", "\nkept"], "{msgs:?}");
    }

    #[test]
    fn a_record_that_is_not_json_is_counted() {
        let (msgs, skipped) = items("{\"type\":\"response_item\",\"payload\":{\"type\":\"message\"\n");
        assert!(msgs.is_empty());
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].error.contains("invalid JSON"), "{skipped:?}");
    }

    #[test]
    fn exit_codes_from_text_reports() {
        assert_eq!(exit_code_in_report("Chunk ID: 1\nProcess exited with code 2\nOutput:\nboom"), Some(2));
        assert_eq!(exit_code_in_report("no code here"), None);
    }

    #[test]
    fn each_prompt_and_answer_counts_once() {
        let file = rollout_file();
        assert_eq!(file.native_id.as_deref(), Some("019d0a84-0c2f-7163-8491-0dd9ff93f4b8"));
        let mut p = Codex.parser(&file);
        let out = p.feed(ROLLOUT.as_bytes(), true);
        assert!(out.skipped.is_empty(), "{:?}", out.skipped);
        let texts: Vec<(Role, String)> = out.messages.iter().map(|m| (m.role, m.text())).collect();
        let users = texts.iter().filter(|(r, t)| *r == Role::User && t == "Say hello world").count();
        let answers = texts.iter().filter(|(r, t)| *r == Role::Assistant && t == "Done: hello world").count();
        assert_eq!((users, answers), (1, 1), "{texts:?}");
        assert!(out.messages[0].is_meta, "environment context is meta");
        assert!(
            out.messages.iter().any(
                |m| matches!(&m.content[0], Block::Thinking { redacted: true, summary: Some(s), .. } if s == "plan")
            )
        );
        let result = out.messages.iter().find(|m| m.role == Role::Tool).unwrap();
        assert!(
            matches!(&result.content[0], Block::ToolResult { content, exit_code: Some(0), tool_use_id, .. } if content == "hello world\n" && tool_use_id == "call_001")
        );
        let meta = p.meta();
        assert_eq!((meta.input_tokens, meta.output_tokens, meta.turn_count), (500, 100, 1));
        assert_eq!(meta.model.as_deref(), Some("gpt-4.1"));
        assert_eq!(meta.git_branch.as_deref(), Some("main"));
        assert_eq!(meta.first_prompt.as_deref(), Some("Say hello world"));
    }

    #[test]
    fn an_echo_is_dropped_across_a_saved_and_restored_state_which_keeps_digests_not_texts() {
        let file = rollout_file();
        // Cut after the prompt's event, before its echo as a response item.
        let cut = ROLLOUT.find("\n{\"timestamp\":\"2026-03-20T09:12:01.400Z\"").unwrap() + 1;
        let mut first = Codex.parser(&file);
        let before = first.feed(&ROLLOUT.as_bytes()[..cut], false).messages;
        let saved = first.save();
        let digests = saved["seen_digests"].as_array().unwrap();
        assert!(!digests.is_empty() && digests.iter().all(Value::is_u64), "{saved}");
        let mut restored = Codex.restore_parser(&file, saved).unwrap();
        let after = restored.feed(&ROLLOUT.as_bytes()[cut..], true).messages;
        let prompts = before.iter().chain(&after).filter(|m| m.text() == "Say hello world").count();
        assert_eq!(prompts, 1, "the echo after the restore is dropped");
    }

    #[test]
    fn a_state_saved_by_an_older_build_still_drops_the_echo() {
        let file = rollout_file();
        let old = serde_json::json!({"turn_id": "turn-001", "seen_in_turn": ["user\u{0}Say hello world"]});
        let mut p = Codex.restore_parser(&file, old).unwrap();
        let echo = r#"{"timestamp":"2026-03-20T09:12:01.400Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"Say hello world"}]}}"#;
        assert!(p.feed(format!("{echo}\n").as_bytes(), true).messages.is_empty());
        assert!(p.save().get("seen_in_turn").is_none(), "written as digests only");
    }

    #[test]
    fn a_byte_order_mark_before_the_session_meta_is_skipped() {
        let file = rollout_file();
        let mut p = Codex.parser(&file);
        let out = p.feed(format!("\u{feff}{ROLLOUT}").as_bytes(), true);
        assert!(out.skipped.is_empty(), "{:?}", out.skipped);
        assert_eq!(p.meta().git_branch.as_deref(), Some("main"), "the session_meta was read");
    }
}
