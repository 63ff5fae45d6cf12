//! Writing a Gemini CLI session: `~/.gemini/tmp/<project>/chats/session-<time>-<id8>.jsonl`, a header line
//! then one record per message, in the shape gemini-cli 0.61.0 writes: a `gemini` record carries its
//! tool calls with their results (`toolCalls[].result` holds the `functionResponse`), followed by the
//! `user` record of those responses. The project is registered in `~/.gemini/projects.json` as Gemini
//! CLI does, so `gemini --resume <uuid>` run in the folder finds the session.
//!
//! The header's `startTime` and `lastUpdated` are the time of the resume: Gemini CLI deletes sessions
//! whose `lastUpdated` is older than its retention period (30 days by default) when it starts.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sessionfs_shared::Timestamp;
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role};
use sha2::{Digest, Sha256};

use super::Gemini;
use super::registry::project_slug;
use crate::resume::tools::{ImageData, image_data, shell_command, tool_name};
use crate::resume::{CliInfo, Item, NativeWriter, Registration, ResumeError, WriteRequest, WrittenSession, ids};

/// Gemini CLI's command line.
pub(super) static CLI: CliInfo = CliInfo {
    agent: sessionfs_shared::AgentKind::GeminiCli,
    program: "gemini",
    package: "@google/gemini-cli",
    known_versions: &["0.61.0"],
    context_tokens: 1_048_576,
    resume_args: &["--resume"],
};

impl NativeWriter for Gemini {
    fn cli(&self) -> &'static CliInfo {
        &CLI
    }

    fn write(&self, req: &WriteRequest<'_>) -> Result<WrittenSession, ResumeError> {
        let gemini = req.dirs.gemini().to_owned();
        let project = req.cwd.to_string_lossy().into_owned();
        let slug = project_slug(&gemini, &project)?;
        let session_id = req.native_id.to_owned();
        let stamp = req.now.datetime().format("%Y-%m-%dT%H-%M");
        let file =
            gemini.join("tmp").join(&slug).join("chats").join(format!("session-{stamp}-{}.jsonl", &session_id[..8]));
        let now = req.now.to_rfc3339();
        let mut header = json!({
            "sessionId": session_id,
            "projectHash": format!("{:x}", Sha256::digest(project.as_bytes())),
            "startTime": now,
            "lastUpdated": now,
            "kind": "main",
        });
        if let Some(title) = req.title {
            header["summary"] = title.into();
        }
        let mut w = Records { lines: String::new(), expected: Vec::new(), now: req.now };
        w.line(&header);
        let items = &req.conversation.items;
        for (n, item) in items.iter().enumerate() {
            match item {
                Item::User(t) => w.user(&t.blocks, t.timestamp),
                Item::Assistant(t) => {
                    let results = match items.get(n + 1) {
                        Some(Item::Results(r)) => r.blocks.as_slice(),
                        _ => &[],
                    };
                    w.assistant(&t.blocks, results, t.timestamp, t.model.as_deref());
                }
                Item::Results(_) => {} // written with their step
            }
        }
        w.line(&json!({"$set": {"lastUpdated": now}}));
        crate::resume::atomic::create_new(&file, w.lines.as_bytes())?;
        Ok(WrittenSession {
            agent: CLI.agent,
            native_id: session_id.clone(),
            main_file: file.clone(),
            files: vec![file],
            registrations: vec![Registration::GeminiProject { registry: gemini.join("projects.json"), slug }],
            launch: CLI.launch(&session_id),
            expected: w.expected,
        })
    }
}

struct Records {
    lines: String,
    expected: Vec<Message>,
    now: Timestamp,
}

/// One `gemini` record being built: thoughts, text, then calls.
#[derive(Default)]
struct Answer {
    thoughts: Vec<String>,
    texts: Vec<String>,
    calls: Vec<(String, String, Value)>,
}

impl Records {
    fn line(&mut self, v: &Value) {
        self.lines.push_str(&v.to_string());
        self.lines.push('\n');
    }

    fn time(&self, at: Option<Timestamp>) -> String {
        at.unwrap_or(self.now).to_rfc3339()
    }

    fn user(&mut self, blocks: &[Block], at: Option<Timestamp>) {
        let mut parts = Vec::new();
        let mut read = Vec::new();
        for b in blocks {
            match b {
                Block::Text { text } => {
                    parts.push(json!({ "text": text }));
                    read.push(Block::text(text.clone()));
                }
                Block::Image { source } => match image_data(source) {
                    ImageData::Base64 { media_type, data } => {
                        parts.push(json!({"inlineData": {"mimeType": media_type, "data": data}}));
                        read.push(Block::Image {
                            source: ImageSource {
                                kind: "base64".into(),
                                data: Some(data),
                                media_type: Some(media_type),
                                extra: Map::new(),
                            },
                        });
                    }
                    ImageData::Url(url) => {
                        let text = format!("[image: {url}]");
                        parts.push(json!({ "text": text }));
                        read.push(Block::text(text));
                    }
                    ImageData::Placeholder(text) => {
                        parts.push(json!({ "text": text }));
                        read.push(Block::text(text));
                    }
                },
                _ => {}
            }
        }
        let record = json!({"id": ids::uuid_v4(), "timestamp": self.time(at), "type": "user", "content": parts});
        self.line(&record);
        self.expected.push(Message::new("", Role::User, read));
    }

    /// A step becomes one `gemini` record, or several when it speaks again after a call (a record holds
    /// its text before its calls).
    fn assistant(&mut self, blocks: &[Block], results: &[Block], at: Option<Timestamp>, model: Option<&str>) {
        let results: HashMap<&str, (&str, bool)> = results
            .iter()
            .filter_map(|b| match b {
                Block::ToolResult { tool_use_id, content, is_error, .. } => {
                    Some((tool_use_id.as_str(), (content.as_str(), *is_error)))
                }
                _ => None,
            })
            .collect();
        let mut answer = Answer::default();
        for b in blocks {
            let speaks = matches!(b, Block::Text { .. } | Block::Thinking { .. });
            if speaks && !answer.calls.is_empty() {
                self.answer(std::mem::take(&mut answer), &results, at, model);
            }
            match b {
                Block::Text { text } => answer.texts.push(text.clone()),
                Block::Thinking { text, summary, .. } => {
                    let body = if text.trim().is_empty() { summary.clone().unwrap_or_default() } else { text.clone() };
                    if !body.trim().is_empty() {
                        answer.thoughts.push(body);
                    }
                }
                Block::ToolUse { tool_use_id, name, input } => {
                    let (name, args) = match shell_command(name, input) {
                        Some(command) => ("run_shell_command".to_owned(), json!({ "command": command })),
                        None if input.is_object() => (tool_name(name), input.clone()),
                        None => (tool_name(name), json!({ "input": input })),
                    };
                    answer.calls.push((tool_use_id.clone(), name, args));
                }
                _ => {}
            }
        }
        self.answer(answer, &results, at, model);
    }

    fn answer(&mut self, a: Answer, results: &HashMap<&str, (&str, bool)>, at: Option<Timestamp>, model: Option<&str>) {
        if a.thoughts.is_empty() && a.texts.is_empty() && a.calls.is_empty() {
            return;
        }
        let time = self.time(at);
        let text = a.texts.join("\n\n");
        let mut record = json!({
            "id": ids::uuid_v4(),
            "timestamp": time,
            "type": "gemini",
            "content": text,
            "thoughts": a.thoughts.iter().map(|t| json!({"subject": "", "description": t, "timestamp": time})).collect::<Vec<_>>(),
        });
        if let Some(model) = model {
            record["model"] = model.into();
        }
        let mut read: Vec<Block> = a
            .thoughts
            .iter()
            .map(|t| Block::Thinking { text: t.clone(), signature: None, redacted: false, summary: None })
            .collect();
        if !text.is_empty() {
            read.push(Block::text(text));
        }
        let mut calls = Vec::new();
        let mut responses = Vec::new();
        let mut read_results = Vec::new();
        for (id, name, args) in &a.calls {
            let (output, is_error) = results.get(id.as_str()).copied().unwrap_or(("", true));
            let response = if is_error { json!({ "error": output }) } else { json!({ "output": output }) };
            let function_response = json!({"functionResponse": {"id": id, "name": name, "response": response}});
            calls.push(json!({
                "id": id,
                "name": name,
                "args": args,
                "result": [function_response.clone()],
                "status": if is_error { "error" } else { "success" },
                "timestamp": time,
                "resultDisplay": output,
                "description": args.get("command").and_then(Value::as_str).unwrap_or_default(),
                "displayName": name,
                "renderOutputAsMarkdown": false,
            }));
            responses.push(function_response);
            read.push(Block::ToolUse { tool_use_id: id.clone(), name: name.clone(), input: args.clone() });
            read_results.push(Message::new(
                "",
                Role::Tool,
                vec![Block::ToolResult {
                    tool_use_id: id.clone(),
                    content: output.to_owned(),
                    is_error,
                    exit_code: None,
                    duration_ms: None,
                }],
            ));
        }
        if !calls.is_empty() {
            record["toolCalls"] = Value::Array(calls);
        }
        self.line(&record);
        self.expected.push(Message::new("", Role::Assistant, read));
        self.expected.extend(read_results);
        if !responses.is_empty() {
            // Gemini CLI also records the responses as the user turn that sent them.
            let user = json!({"id": ids::uuid_v4(), "timestamp": time, "type": "user", "content": responses});
            self.line(&user);
        }
    }
}
