//! Writing a Codex thread: a rollout `~/.codex/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl` with
//! `session_meta` (originator `sessionfs`), then per user turn `task_started`, `turn_context`, the
//! conversation as `response_item`s (messages, `function_call` / `function_call_output` pairs sharing a
//! `call_id`) with the `user_message` / `agent_message` events Codex shows, and `task_complete`. The thread
//! is registered in `~/.codex/state_5.sqlite` when that exists (without a row `codex resume <id>` does
//! not find it); otherwise Codex indexes the rollout itself when it creates that database.

use std::collections::HashSet;
use std::path::Path;

use chrono::Local;
use serde_json::{Map, Value, json};
use sessionfs_shared::Timestamp;
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role};

use super::Codex;
use super::state::{STATE_DB, ThreadRow, register_thread};
use crate::resume::tools::{ImageData, image_data, shell_command};
use crate::resume::{
    CliInfo, Item, NativeWriter, Registration, ResumeError, WriteRequest, WrittenSession, ids, thinking_as_text,
};

/// Codex's command line.
pub(super) static CLI: CliInfo = CliInfo {
    agent: sessionfs_shared::AgentKind::Codex,
    program: "codex",
    package: "@openai/codex",
    known_versions: &["0.169.0"],
    context_tokens: 258_400,
    resume_args: &["resume"],
};

/// The model named when neither the configuration nor the session names one.
const DEFAULT_MODEL: &str = "gpt-5";

/// The model and provider the user configured in Codex's `config.toml` (top level, or the selected
/// profile). Codex refuses to resume a thread recorded with another provider.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct CodexConfig {
    pub model: Option<String>,
    pub model_provider: Option<String>,
}

impl CodexConfig {
    /// `<codex dir>/config.toml`. No file is Codex's defaults; a file that is not TOML is an error, as it
    /// is for Codex, which does not start with it either.
    pub(crate) fn read(codex_dir: &Path) -> Result<Self, ResumeError> {
        let path = codex_dir.join("config.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(ResumeError::io("reading", &path, e)),
        };
        Self::parse(&text).map_err(|detail| ResumeError::InvalidCodexConfig { path, detail })
    }

    /// A key missing, or not a string, is not set (Codex's default applies); so is a profile that names no
    /// `[profiles.<name>]` table.
    fn parse(text: &str) -> Result<Self, String> {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let lines_before = |end: usize| text.bytes().take(end).filter(|&b| b == b'\n').count();
            let line = e.span().map(|s| lines_before(s.start) + 1);
            match line {
                Some(line) => format!("line {line}: {}", e.message().trim()),
                None => e.message().trim().to_owned(),
            }
        })?;
        let string = |table: &toml::Table, key: &str| table.get(key).and_then(toml::Value::as_str).map(str::to_owned);
        let profile = string(&doc, "profile")
            .and_then(|name| doc.get("profiles").and_then(toml::Value::as_table)?.get(&name)?.as_table().cloned());
        let pick = |key: &str| profile.as_ref().and_then(|p| string(p, key)).or_else(|| string(&doc, key));
        Ok(Self { model: pick("model"), model_provider: pick("model_provider") })
    }
}

impl NativeWriter for Codex {
    fn cli(&self) -> &'static CliInfo {
        &CLI
    }

    fn write(&self, req: &WriteRequest<'_>) -> Result<WrittenSession, ResumeError> {
        let thread_id = req.native_id.to_owned();
        let local = req.now.datetime().with_timezone(&Local);
        let codex = req.dirs.codex().to_owned();
        let file = codex
            .join("sessions")
            .join(local.format("%Y").to_string())
            .join(local.format("%m").to_string())
            .join(local.format("%d").to_string())
            .join(format!("rollout-{}-{thread_id}.jsonl", local.format("%Y-%m-%dT%H-%M-%S")));
        let config = CodexConfig::read(&codex)?;
        let provider = config.model_provider.clone().unwrap_or_else(|| "openai".to_owned());
        let last_model = req.conversation.items.iter().rev().find_map(|i| i.turn().model.clone());
        // `turn_context.model` is required; Codex notes a switch when it differs from the configured one.
        let model = config.model.clone().or(last_model).unwrap_or_else(|| DEFAULT_MODEL.to_owned());

        let mut w = Rollout { lines: String::new(), ordinal: 0, expected: Vec::new(), seen: HashSet::new() };
        let now = req.now.to_rfc3339();
        let mut meta = json!({
            "session_id": thread_id,
            "id": thread_id,
            "timestamp": now,
            "cwd": req.cwd.to_string_lossy(),
            "originator": super::SESSIONFS_ORIGINATOR,
            "cli_version": req.cli_version,
            "source": "cli",
            "model_provider": provider,
        });
        if let Some(git) = req.git {
            meta["git"] =
                json!({"commit_hash": git.commit_sha, "branch": git.branch, "repository_url": git.remote_url});
        }
        w.line(req.now, "session_meta", meta);

        let mut turn: Option<(String, Option<String>)> = None; // (turn id, last agent message)
        for item in &req.conversation.items {
            let at = item.turn().timestamp.unwrap_or(req.now);
            match item {
                Item::User(t) => {
                    if let Some((id, last)) = turn.take() {
                        w.end_turn(at, &id, last);
                    }
                    let id = ids::uuid_v7(at);
                    w.seen.clear();
                    w.line(at, "event_msg", json!({"type": "task_started", "turn_id": id}));
                    w.line(
                        at,
                        "turn_context",
                        json!({
                            "turn_id": id,
                            "cwd": req.cwd.to_string_lossy(),
                            "approval_policy": "on-request",
                            "sandbox_policy": {"type": "read-only"},
                            "model": model,
                            "summary": "auto",
                        }),
                    );
                    w.user(at, &t.blocks);
                    turn = Some((id, None));
                }
                Item::Assistant(t) => {
                    let said = w.assistant(at, &t.blocks);
                    if let (Some((_, last)), Some(text)) = (turn.as_mut(), said) {
                        *last = Some(text);
                    }
                }
                Item::Results(t) => w.results(at, &t.blocks),
            }
        }
        if let Some((id, last)) = turn.take() {
            w.end_turn(req.now, &id, last);
        }

        crate::resume::atomic::create_new(&file, w.lines.as_bytes())?;
        let mut registrations = Vec::new();
        let db = codex.join(STATE_DB);
        if db.is_file() {
            let first = req.conversation.first_prompt().unwrap_or_default();
            let title = req.title.map_or_else(|| first.clone(), str::to_owned);
            let row = ThreadRow {
                id: &thread_id,
                rollout_path: &file,
                created: req.now,
                model_provider: &provider,
                cwd: req.cwd,
                title: &title,
                first_user_message: &first,
                cli_version: req.cli_version,
                model: Some(&model),
                git_sha: req.git.and_then(|g| g.commit_sha.as_deref()),
                git_branch: req.git.and_then(|g| g.branch.as_deref()),
                git_origin_url: req.git.and_then(|g| g.remote_url.as_deref()),
            };
            if let Err(e) = register_thread(&db, &row) {
                let _ = std::fs::remove_file(&file);
                return Err(e);
            }
            registrations.push(Registration::CodexThread { database: db, thread_id: thread_id.clone() });
        }
        Ok(WrittenSession {
            agent: CLI.agent,
            native_id: thread_id.clone(),
            main_file: file.clone(),
            files: vec![file],
            registrations,
            launch: CLI.launch(&thread_id),
            expected: w.expected,
        })
    }
}

struct Rollout {
    lines: String,
    ordinal: u64,
    expected: Vec<Message>,
    /// (role, text) emitted in the current turn: Codex's parser reads each once per turn.
    seen: HashSet<(Role, String)>,
}

impl Rollout {
    fn line(&mut self, at: Timestamp, kind: &str, payload: Value) {
        let line = json!({"timestamp": at.to_rfc3339(), "ordinal": self.ordinal, "type": kind, "payload": payload});
        self.ordinal += 1;
        self.lines.push_str(&line.to_string());
        self.lines.push('\n');
    }

    /// A text the parser reads once per turn: expected only the first time.
    fn expect_text_once(&mut self, role: Role, text: &str) {
        if self.seen.insert((role, text.trim().to_owned())) {
            self.expected.push(Message::new("", role, vec![Block::text(text)]));
        }
    }

    fn user(&mut self, at: Timestamp, blocks: &[Block]) {
        let mut texts = Vec::new();
        let mut images = Vec::new();
        for b in blocks {
            match b {
                Block::Text { text } => texts.push(text.clone()),
                Block::Image { source } => match image_data(source) {
                    ImageData::Base64 { media_type, data } => images.push(format!("data:{media_type};base64,{data}")),
                    ImageData::Url(url) => images.push(url),
                    ImageData::Placeholder(text) => texts.push(text),
                },
                _ => {}
            }
        }
        let mut content: Vec<Value> = texts.iter().map(|t| json!({"type": "input_text", "text": t})).collect();
        content.extend(images.iter().map(|url| json!({"type": "input_image", "image_url": url})));
        self.line(at, "response_item", json!({"type": "message", "role": "user", "content": content}));
        let text = texts.join("\n");
        // The event is what Codex shows and titles threads by, images included (as the URLs the model got);
        // the parser counts the prompt once.
        self.line(at, "event_msg", json!({"type": "user_message", "message": text, "images": images}));
        if images.is_empty() {
            self.expect_text_once(Role::User, &text);
        } else {
            let mut key = text.trim().to_owned();
            for url in &images {
                key.push('\0');
                key.push_str(url);
            }
            if self.seen.insert((Role::User, key)) {
                let mut read = vec![Block::text(text)];
                read.extend(images.into_iter().map(|url| Block::Image {
                    source: ImageSource { kind: "url".into(), data: Some(url), media_type: None, extra: Map::new() },
                }));
                self.expected.push(Message::new("", Role::User, read));
            }
        }
    }

    /// Returns the step's last text, for `task_complete`.
    fn assistant(&mut self, at: Timestamp, blocks: &[Block]) -> Option<String> {
        let mut last = None;
        for b in blocks {
            let text = match b {
                Block::Text { text } => Some(text.clone()),
                // Reasoning items need the provider's encrypted content to be sent back; carry the text.
                Block::Thinking { text, summary, .. } => thinking_as_text(text, summary.as_deref()),
                Block::ToolUse { tool_use_id, name, input } => {
                    let (name, input) = match shell_command(name, input) {
                        Some(command) => ("exec_command".to_owned(), json!({ "cmd": command })),
                        None => (name.clone(), input.clone()),
                    };
                    self.line(
                        at,
                        "response_item",
                        json!({"type": "function_call", "name": name, "arguments": input.to_string(), "call_id": tool_use_id}),
                    );
                    self.expected.push(Message::new(
                        "",
                        Role::Assistant,
                        vec![Block::ToolUse { tool_use_id: tool_use_id.clone(), name, input }],
                    ));
                    None
                }
                _ => None,
            };
            if let Some(text) = text {
                self.line(
                    at,
                    "response_item",
                    json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}),
                );
                self.line(at, "event_msg", json!({"type": "agent_message", "message": text}));
                self.expect_text_once(Role::Assistant, &text);
                last = Some(text);
            }
        }
        last
    }

    fn results(&mut self, at: Timestamp, blocks: &[Block]) {
        for b in blocks {
            let Block::ToolResult { tool_use_id, content, is_error, exit_code, .. } = b else { continue };
            self.line(
                at,
                "response_item",
                json!({"type": "function_call_output", "call_id": tool_use_id, "output": output(content, *is_error, *exit_code)}),
            );
            self.expected.push(Message::new("", Role::Tool, vec![b.clone()]));
        }
    }

    fn end_turn(&mut self, at: Timestamp, turn_id: &str, last: Option<String>) {
        self.line(at, "event_msg", json!({"type": "task_complete", "turn_id": turn_id, "last_agent_message": last}));
    }
}

/// A tool's output as Codex records it: the text itself, or, when it failed or is itself a JSON object
/// (which Codex's readers would unwrap), `{"output", "metadata": {"exit_code"}}` as older Codex wrote.
fn output(content: &str, is_error: bool, exit_code: Option<i64>) -> String {
    let is_object = serde_json::from_str::<Value>(content).is_ok_and(|v| v.is_object());
    if !is_error && !is_object {
        return content.to_owned();
    }
    let mut metadata = Map::new();
    if let Some(code) = exit_code.or(is_error.then_some(1)) {
        metadata.insert("exit_code".into(), code.into());
    }
    json!({"output": content, "metadata": metadata}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_provider_and_model() {
        let text = r#"model = "gpt-fake"
model_provider = "fake"

[model_providers.fake]
name = "fake"
"#;
        assert_eq!(
            CodexConfig::parse(text),
            Ok(CodexConfig { model: Some("gpt-fake".into()), model_provider: Some("fake".into()) })
        );
        let profiled = "profile = 'work'\nmodel = \"a\"\n[profiles.work]\nmodel_provider = \"azure\"\n";
        assert_eq!(
            CodexConfig::parse(profiled),
            Ok(CodexConfig { model: Some("a".into()), model_provider: Some("azure".into()) })
        );
        assert_eq!(CodexConfig::parse(""), Ok(CodexConfig::default()));
    }

    #[test]
    fn config_is_read_as_toml() {
        // Comments after a header or a value, a quoted profile name, a multi-line array before the key, and
        // the same key in another table: all as Codex reads them.
        let text = r#"profile = "my work" # the account
model = "top" # default model
sandbox_allow = [
  "model_provider = 'not-this'",
]
[model_providers.azure]   # a provider
model_provider = "wrong"
[profiles."my work"]   # work account
model_provider = "azure"
"#;
        assert_eq!(
            CodexConfig::parse(text),
            Ok(CodexConfig { model: Some("top".into()), model_provider: Some("azure".into()) })
        );
        let missing_profile = "profile = \"nope\"\nmodel_provider = \"fake\"\nmodel = 3\n";
        assert_eq!(
            CodexConfig::parse(missing_profile),
            Ok(CodexConfig { model: None, model_provider: Some("fake".into()) }),
            "a missing profile or a key of another type is not set"
        );
    }

    #[test]
    fn an_invalid_config_is_an_error_naming_its_line() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CodexConfig::read(dir.path()).unwrap(), CodexConfig::default(), "no file: the defaults");
        std::fs::write(dir.path().join("config.toml"), "model = \"a\"\nmodel_provider = \n").unwrap();
        let err = CodexConfig::read(dir.path()).unwrap_err();
        assert!(
            matches!(&err, ResumeError::InvalidCodexConfig { detail, .. } if detail.starts_with("line 2:")),
            "{err}"
        );
        assert!(err.to_string().contains("config.toml"), "{err}");
        assert!(err.hint().is_some_and(|h| h.contains("fix")), "{:?}", err.hint());
    }

    #[test]
    fn outputs_keep_their_text() {
        assert_eq!(output("hello", false, Some(0)), "hello");
        assert_eq!(output("boom", true, None), r#"{"output":"boom","metadata":{"exit_code":1}}"#);
        assert_eq!(output(r#"{"a":1}"#, false, None), r#"{"output":"{\"a\":1}","metadata":{}}"#);
    }
}
