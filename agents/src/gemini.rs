//! Gemini CLI sessions: `~/.gemini/tmp/<project>/chats/session-<date>-<id8>.jsonl` (an operation log) or,
//! from older versions, `session-….json` (one document rewritten in place). Verified against
//! gemini-cli 0.61.0.
//!
//! The `.jsonl` log's first line holds the session header (`sessionId`, `startTime`, …); later lines are
//! operations such as `{"$set": {"messages": [...]}}` applied in order, or single message records. Since an
//! operation may replace the whole conversation, this parser works on snapshots: it reads the whole file
//! and returns the whole conversation, and the store keeps what it already has. `write` writes sessions
//! back for resume, registering their project in `registry`.

mod registry;
mod write;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role, Usage};
use sessionfs_shared::{AgentKind, Timestamp};

use crate::digest::digest;
use crate::lines::parse_line;
use crate::{
    Agent, AgentDirs, AgentError, LineSplitter, NativeFile, NativeParser, NativeWriter, ParseMode, ParseOutcome,
    SessionMeta, SkippedRecord,
};

/// The Gemini CLI adapter.
pub struct Gemini;

impl Agent for Gemini {
    fn kind(&self) -> AgentKind {
        AgentKind::GeminiCli
    }

    fn watch_roots(&self, dirs: &AgentDirs) -> Vec<PathBuf> {
        vec![dirs.gemini().join("tmp")]
    }

    fn classify(&self, path: &Path) -> Option<NativeFile> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_prefix("session-")?;
        let stem = stem.strip_suffix(".jsonl").or_else(|| stem.strip_suffix(".json"))?;
        if path.parent()?.file_name()? != "chats" {
            return None;
        }
        // The file name ends in the first 8 hex digits of the session UUID; the header has the whole one.
        let short = stem.rsplit('-').next().map(str::to_owned);
        Some(NativeFile { agent: AgentKind::GeminiCli, path: path.to_owned(), native_id: short, subagent: None })
    }

    fn parser(&self, file: &NativeFile) -> Box<dyn NativeParser> {
        let project_root = project_root_of(&file.path);
        let log = file.path.extension().is_some_and(|e| e == "jsonl");
        let mut state = State { project_root, log, ..State::default() };
        if log {
            state.meta = state.fresh_meta();
        }
        Box::new(state)
    }

    fn restore_parser(&self, file: &NativeFile, saved: Value) -> Result<Box<dyn NativeParser>, AgentError> {
        let mut state: State = serde_json::from_value(saved)
            .map_err(|source| AgentError::BadState { agent: AgentKind::GeminiCli, source })?;
        state.project_root = project_root_of(&file.path);
        Ok(Box::new(state))
    }

    fn writer(&self) -> Option<&dyn NativeWriter> {
        Some(self)
    }
}

/// The session's working directory: the session file does not record it, but Gemini keeps it in
/// `<…>/tmp/<project>/.project_root` (and maps it in `~/.gemini/projects.json`).
fn project_root_of(path: &Path) -> Option<String> {
    let project_dir = path.parent()?.parent()?;
    if let Ok(text) = std::fs::read_to_string(project_dir.join(".project_root")) {
        let root = text.trim();
        if !root.is_empty() {
            return Some(root.to_owned());
        }
    }
    let slug = project_dir.file_name()?.to_str()?;
    let projects: Value =
        serde_json::from_slice(&std::fs::read(project_dir.parent()?.parent()?.join("projects.json")).ok()?).ok()?;
    projects.get("projects")?.as_object()?.iter().find(|(_, v)| v.as_str() == Some(slug)).map(|(k, _)| k.clone())
}

/// Context Gemini CLI injects as a user message; it is not something the person typed.
fn is_injected_context(text: &str) -> bool {
    text.trim_start().starts_with("<session_context>")
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    meta: SessionMeta,
    #[serde(skip)]
    project_root: Option<String>,
    /// A `.jsonl` operation log, read incrementally; otherwise a `.json` document, read whole each time.
    /// (States saved before logs were read incrementally lack it, and read their file whole once more.)
    log: bool,
    /// Lines of the log read so far.
    lines_read: u64,
    /// Digests of the IDs of the log's messages emitted so far: a message is emitted once, however often the
    /// log writes it again (a `$set` of the whole conversation, an update of a streamed message).
    emitted: HashSet<u64>,
}

impl NativeParser for State {
    fn mode(&self) -> ParseMode {
        if self.log { ParseMode::Incremental } else { ParseMode::Snapshot }
    }

    fn feed(&mut self, chunk: &[u8], at_eof: bool) -> ParseOutcome {
        if self.log {
            return self.feed_log(chunk, at_eof);
        }
        let mut out = ParseOutcome::default();
        let trimmed = chunk.trim_ascii_start();
        let mut doc = Map::new();
        // A `.json` document starts with `{` and spans lines; a `.jsonl` log has one object per line.
        let whole: Option<Map<String, Value>> =
            (trimmed.first() == Some(&b'{')).then(|| serde_json::from_slice(chunk).ok()).flatten();
        if let Some(d) = whole {
            doc = d;
            out.consumed = chunk.len() as u64;
        } else {
            let mut lines = LineSplitter::new(chunk, at_eof, 1);
            for (line_no, line) in lines.by_ref() {
                if line.trim_ascii().is_empty() {
                    continue;
                }
                match parse_line::<Map<String, Value>>(line) {
                    Ok(op) => apply(&mut doc, op),
                    Err(e) => out.skipped.push(SkippedRecord { line: line_no, error: format!("invalid JSON: {e}") }),
                }
            }
            out.consumed = lines.consumed();
        }
        self.meta = self.fresh_meta();
        if let Some(id) = doc.get("sessionId").and_then(Value::as_str) {
            self.meta.native_id = Some(id.to_owned());
        }
        for key in ["startTime", "lastUpdated"] {
            if let Some(t) = doc.get(key).and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok()) {
                self.meta.saw_time(t);
            }
        }
        self.meta.title =
            doc.get("summary").and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned);
        let records = doc.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, record) in records.iter().enumerate() {
            match self.convert(record) {
                Ok(msgs) => out.messages.extend(msgs),
                Err(error) => out.skipped.push(SkippedRecord { line: 0, error: format!("message {}: {error}", i + 1) }),
            }
        }
        out
    }

    fn meta(&self) -> &SessionMeta {
        &self.meta
    }

    fn save(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl State {
    /// Session facts before any record is read.
    fn fresh_meta(&self) -> SessionMeta {
        SessionMeta {
            interface: Some("cli".into()),
            provider: Some("google".into()),
            cwd: self.project_root.clone(),
            ..SessionMeta::default()
        }
    }

    /// Read the log's lines in `chunk`, which follows what was read before: the header's and `$set`'s session
    /// facts, and each message not emitted before, in its last version in the chunk.
    fn feed_log(&mut self, chunk: &[u8], at_eof: bool) -> ParseOutcome {
        let mut out = ParseOutcome::default();
        let mut records = Records::default();
        let mut lines = LineSplitter::new(chunk, at_eof, self.lines_read + 1);
        for (line_no, line) in lines.by_ref() {
            if line.trim_ascii().is_empty() {
                continue;
            }
            match parse_line::<Map<String, Value>>(line) {
                Ok(op) => self.apply_logged(op, &mut records),
                Err(e) => out.skipped.push(SkippedRecord { line: line_no, error: format!("invalid JSON: {e}") }),
            }
        }
        self.lines_read = lines.line_no();
        out.consumed = lines.consumed();
        for (digest, record) in records.list {
            self.emitted.insert(digest);
            match self.convert(&record) {
                Ok(msgs) => out.messages.extend(msgs),
                Err(error) => out.skipped.push(SkippedRecord { line: 0, error: format!("message: {error}") }),
            }
        }
        out
    }

    /// One line of the log, as [`apply`] reads it for a whole document, with its messages gathered in
    /// `records` instead of a conversation.
    fn apply_logged(&mut self, op: Map<String, Value>, records: &mut Records) {
        let mut take = |record: &Value| {
            let Some(id) = record.get("id").and_then(Value::as_str) else {
                return;
            };
            let digest = digest(id.as_bytes());
            if self.emitted.contains(&digest) {
                return;
            }
            match records.at.get(&digest) {
                Some(&i) => records.list[i].1 = record.clone(),
                None => {
                    records.at.insert(digest, records.list.len());
                    records.list.push((digest, record.clone()));
                }
            }
        };
        let facts: Map<String, Value> = if let Some(Value::Object(set)) = op.get("$set") {
            for record in set.get("messages").and_then(Value::as_array).into_iter().flatten() {
                take(record);
            }
            set.clone()
        } else if let Some(Value::Object(push)) = op.get("$push") {
            match push.get("messages") {
                Some(Value::Object(each)) => {
                    each.get("$each").and_then(Value::as_array).into_iter().flatten().for_each(&mut take)
                }
                Some(one) => take(one),
                None => {}
            }
            Map::new()
        } else if op.contains_key("type") && op.contains_key("id") && !op.contains_key("sessionId") {
            take(&Value::Object(op));
            Map::new()
        } else {
            op
        };
        if let Some(id) = facts.get("sessionId").and_then(Value::as_str) {
            self.meta.native_id = Some(id.to_owned());
        }
        for key in ["startTime", "lastUpdated"] {
            if let Some(t) = facts.get(key).and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok()) {
                self.meta.saw_time(t);
            }
        }
        if let Some(title) = facts.get("summary").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
            self.meta.title = Some(title.to_owned());
        }
    }
}

/// The messages met in one feed of a log, in order of first sight, each in its last version.
#[derive(Default)]
struct Records {
    list: Vec<(u64, Value)>,
    /// Where each digest is in `list`.
    at: std::collections::HashMap<u64, usize>,
}

/// Apply one line of the log to the document: `$set` assigns keys, `$push` appends to arrays, a message
/// record (it has `type` and `id`) is appended to `messages`, and any other object is merged (the header).
fn apply(doc: &mut Map<String, Value>, op: Map<String, Value>) {
    if let Some(Value::Object(set)) = op.get("$set") {
        for (k, v) in set {
            doc.insert(k.clone(), v.clone());
        }
    } else if let Some(Value::Object(push)) = op.get("$push") {
        for (k, v) in push {
            let arr = doc.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = arr {
                match v {
                    Value::Object(each) if each.contains_key("$each") => {
                        a.extend(each.get("$each").and_then(Value::as_array).cloned().unwrap_or_default());
                    }
                    other => a.push(other.clone()),
                }
            }
        }
    } else if op.contains_key("type") && op.contains_key("id") && !op.contains_key("sessionId") {
        let arr = doc.entry("messages".to_owned()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = arr {
            // A record with an ID already present replaces it (an update of a streamed message).
            let id = op.get("id").cloned();
            match a.iter_mut().find(|m| m.get("id") == id.as_ref()) {
                Some(existing) => *existing = Value::Object(op),
                None => a.push(Value::Object(op)),
            }
        }
    } else {
        for (k, v) in op {
            doc.insert(k, v);
        }
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Gemini content: a string, or a list of parts (`{"text"}`, `{"inlineData"}`, `{"functionCall"}`, …).
fn parts(content: Option<&Value>) -> Vec<Block> {
    match content {
        Some(Value::String(s)) if !s.is_empty() => vec![Block::text(s.clone())],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|part| {
                if let Some(t) = part.get("text").and_then(Value::as_str) {
                    return (!t.is_empty()).then(|| Block::text(t));
                }
                if let Some(d) = part.get("inlineData") {
                    return Some(Block::Image {
                        source: ImageSource {
                            kind: "base64".into(),
                            data: str_of(d, "data"),
                            media_type: str_of(d, "mimeType"),
                            extra: Map::new(),
                        },
                    });
                }
                None
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl State {
    fn convert(&mut self, r: &Value) -> Result<Vec<Message>, String> {
        let kind = r.get("type").and_then(Value::as_str).ok_or("no type")?;
        let id = str_of(r, "id").unwrap_or_default();
        let at = r.get("timestamp").and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok());
        if let Some(t) = at {
            self.meta.saw_time(t);
        }
        let mut out = Vec::new();
        match kind {
            "user" => {
                let only_tool_responses = r.get("content").and_then(Value::as_array).is_some_and(|items| {
                    !items.is_empty() && items.iter().all(|p| p.get("functionResponse").is_some())
                });
                if only_tool_responses {
                    // The same results are in the answer's `toolCalls`, where they are captured.
                    return Ok(out);
                }
                let content = parts(r.get("content"));
                let text: Vec<&str> = content.iter().filter_map(Block::searchable_text).collect();
                let text = text.join("\n");
                let injected = is_injected_context(&text);
                if !injected {
                    self.meta.turn_count += 1;
                    self.meta.saw_prompt(&text);
                }
                let mut m = Message::new(id, Role::User, content);
                m.timestamp = at;
                m.is_meta = injected;
                out.push(m);
            }
            "gemini" | "model" | "assistant" => {
                let mut content = Vec::new();
                for thought in r.get("thoughts").and_then(Value::as_array).into_iter().flatten() {
                    let subject = str_of(thought, "subject").unwrap_or_default();
                    let description = str_of(thought, "description").unwrap_or_default();
                    let text = if subject.is_empty() { description } else { format!("**{subject}** {description}") };
                    content.push(Block::Thinking { text, signature: None, redacted: false, summary: None });
                }
                content.extend(parts(r.get("content")));
                let mut results = Vec::new();
                for call in r.get("toolCalls").and_then(Value::as_array).into_iter().flatten() {
                    let call_id = str_of(call, "id").unwrap_or_default();
                    let name = str_of(call, "name").unwrap_or_else(|| "tool".into());
                    content.push(Block::ToolUse {
                        tool_use_id: call_id.clone(),
                        name,
                        input: call.get("args").cloned().unwrap_or(Value::Object(Map::new())),
                    });
                    let output: Vec<String> = call
                        .get("result")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|res| res.get("functionResponse").and_then(|f| f.get("response")))
                        .map(|resp| match resp.get("output").or_else(|| resp.get("error")) {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => resp.to_string(),
                        })
                        .collect();
                    let is_error = call.get("status").and_then(Value::as_str) == Some("error");
                    let mut res = Message::new(
                        format!("{id}_result_{call_id}"),
                        Role::Tool,
                        vec![Block::ToolResult {
                            tool_use_id: call_id,
                            content: output.join("\n"),
                            is_error,
                            exit_code: None,
                            duration_ms: None,
                        }],
                    );
                    res.timestamp =
                        call.get("timestamp").and_then(|v| serde_json::from_value::<Timestamp>(v.clone()).ok()).or(at);
                    results.push(res);
                }
                let mut m = Message::new(id, Role::Assistant, content);
                m.timestamp = at;
                if let Some(model) = str_of(r, "model") {
                    self.meta.model.get_or_insert_with(|| model.clone());
                    m.model = Some(model);
                    m.provider = Some("google".into());
                }
                if let Some(tokens) = r.get("tokens") {
                    let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
                    self.meta.input_tokens += n("input");
                    self.meta.output_tokens += n("output");
                    m.usage = Some(Usage {
                        input_tokens: n("input"),
                        output_tokens: n("output"),
                        cache_read_tokens: n("cached"),
                        cache_write_tokens: 0,
                        reasoning_tokens: n("thoughts"),
                    });
                }
                out.push(m);
                out.extend(results);
            }
            "info" | "error" | "warning" => {
                let text =
                    parts(r.get("content")).iter().filter_map(Block::searchable_text).collect::<Vec<_>>().join("\n");
                let label = if kind == "error" { "[Error] " } else { "[Info] " };
                let mut m = Message::new(id, Role::System, vec![Block::text(format!("{label}{text}"))]);
                m.timestamp = at;
                m.is_meta = true;
                out.push(m);
            }
            other => return Err(format!("unknown message type {other:?}")),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"sessionId":"a61f1632-3cef-4677-aca5-8c2d8eed841f","projectHash":"abc123","startTime":"2026-03-20T10:00:00.000Z","lastUpdated":"2026-03-20T10:05:00.000Z","summary":"Debug the auth flow",
 "messages":[{"id":"msg-001","timestamp":"2026-03-20T10:00:00.000Z","type":"user","content":[{"text":"Why 401?"}]},
  {"id":"msg-a1","timestamp":"2026-03-20T10:00:01.000Z","type":"gemini","content":"I will list","thoughts":[{"subject":"Planning","description":"look"}],"tokens":{"input":100,"output":20,"cached":0,"thoughts":10,"tool":0,"total":130},"model":"gemini-3-flash-preview",
   "toolCalls":[{"id":"list_directory_001","name":"list_directory","args":{"dir_path":"src/"},"result":[{"functionResponse":{"id":"list_directory_001","name":"list_directory","response":{"output":"main.py\nutils.py"}}}],"status":"success","timestamp":"2026-03-20T10:00:02.000Z"}]},
  {"id":"msg-006","timestamp":"2026-03-20T10:00:03.000Z","type":"error","content":"[API Error: rate limit exceeded]"}]}"#;

    fn file() -> NativeFile {
        Gemini.classify(Path::new("/h/.gemini/tmp/proj/chats/session-2026-03-20T10-00-a61f1632.json")).unwrap()
    }

    #[test]
    fn reads_the_older_json_document() {
        let mut p = Gemini.parser(&file());
        let out = p.feed(DOC.as_bytes(), true);
        assert!(out.skipped.is_empty(), "{:?}", out.skipped);
        let roles: Vec<Role> = out.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::System]);
        assert!(
            matches!(&out.messages[2].content[0], Block::ToolResult { content, .. } if content == "main.py\nutils.py")
        );
        assert_eq!(p.meta().title.as_deref(), Some("Debug the auth flow"));
        assert_eq!(p.meta().model.as_deref(), Some("gemini-3-flash-preview"));
        assert_eq!(p.meta().native_id.as_deref(), Some("a61f1632-3cef-4677-aca5-8c2d8eed841f"));
    }

    #[test]
    fn applies_an_operation_log() {
        let log = concat!(
            r#"{"sessionId":"a61f1632-3cef-4677-aca5-8c2d8eed841f","projectHash":"p","startTime":"2026-03-20T10:00:00.000Z","kind":"main"}"#,
            "\n",
            r#"{"$set":{"messages":[{"id":"1","type":"user","timestamp":"2026-03-20T10:00:00.000Z","content":[{"text":"hi"}]}]}}"#,
            "\n",
            r#"{"$set":{"messages":[{"id":"1","type":"user","timestamp":"2026-03-20T10:00:00.000Z","content":[{"text":"hi"}]},{"id":"2","type":"gemini","timestamp":"2026-03-20T10:00:01.000Z","content":"hello"}]}}"#,
            "\n",
            "{\"$set\":{\"messages\":[tr"
        );
        let mut p = Gemini.parser(&file());
        let out = p.feed(log.as_bytes(), true);
        assert_eq!(out.messages.len(), 2);
        assert!(out.skipped.is_empty(), "a half-written last line is not an error");
        assert!(out.consumed < log.len() as u64);
    }

    #[test]
    fn a_log_is_read_incrementally_and_each_message_emitted_once_in_its_last_version() {
        let log_file =
            Gemini.classify(Path::new("/h/.gemini/tmp/proj/chats/session-2026-03-20T10-00-a61f1632.jsonl")).unwrap();
        let mut p = Gemini.parser(&log_file);
        assert_eq!(p.mode(), ParseMode::Incremental);
        assert_eq!(Gemini.parser(&file()).mode(), ParseMode::Snapshot, "a .json document is read whole");
        let user = |id: &str, text: &str| format!(r#"{{"id":"{id}","type":"user","content":[{{"text":"{text}"}}]}}"#);
        let reply = |id: &str, text: &str| {
            format!(r#"{{"id":"{id}","type":"gemini","content":"{text}","tokens":{{"input":5,"output":2}}}}"#)
        };
        let first = [
            r#"{"sessionId":"a61f1632-3cef-4677-aca5-8c2d8eed841f","startTime":"2026-03-20T10:00:00.000Z"}"#.to_owned(),
            format!(r#"{{"$set":{{"messages":[{}]}}}}"#, user("1", "hi")),
            reply("2", "hel"),
            reply("2", "hello"), // the streamed reply, updated
            r#"{"$set":{"lastUpdated":"2026-03-20T10:00:05.000Z"}}"#.to_owned(),
        ]
        .join("\n")
            + "\n";
        let out = p.feed(first.as_bytes(), false);
        let texts: Vec<String> = out.messages.iter().map(Message::text).collect();
        assert_eq!(texts, ["hi", "hello"]);
        assert_eq!(out.consumed, first.len() as u64);
        assert_eq!(p.meta().native_id.as_deref(), Some("a61f1632-3cef-4677-aca5-8c2d8eed841f"));

        // Saved and restored between captures, as the store does; the next lines alone are fed.
        let mut p = Gemini.restore_parser(&log_file, p.save()).unwrap();
        let next = [
            user("3", "and then?"),
            // The whole conversation set again: only what is new in it is emitted.
            format!(
                r#"{{"$set":{{"messages":[{},{},{},{}]}}}}"#,
                user("1", "hi"),
                reply("2", "hello"),
                user("3", "and then?"),
                reply("4", "then this")
            ),
        ]
        .join("\n")
            + "\n";
        let out = p.feed(next.as_bytes(), false);
        let texts: Vec<String> = out.messages.iter().map(Message::text).collect();
        assert_eq!(texts, ["and then?", "then this"]);
        let meta = p.meta();
        assert_eq!((meta.turn_count, meta.input_tokens, meta.output_tokens), (2, 10, 4), "counted across feeds");
    }
}
