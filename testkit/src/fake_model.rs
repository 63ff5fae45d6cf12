//! [`FakeModel`]: one local HTTP server that imitates the Anthropic, OpenAI Responses and Gemini
//! model APIs closely enough for the real agent CLIs, with scripted answers.
//!
//! The script is the same for every provider. The newest user turn of a request decides:
//! - if its text holds `TOOL:<command>` (up to the end of the line) and no tool result has come
//!   back since that user turn, the answer is a shell tool call running `<command>`;
//! - otherwise the answer is the text `ACK: <first 80 chars of the user text>`, followed by
//!   ` | tool said: <first 80 chars of the tool output>` when the turn carried a tool result.
//!
//! Every request body is recorded ([`FakeModel::requests`]) so a test can assert what reached the
//! model, e.g. that a resumed session re-sent an earlier marker.

mod anthropic;
mod gemini;
mod openai;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// One request the fake model received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The request path without the query string, e.g. `/v1/messages`.
    pub path: String,
    /// The JSON body; a body that is not JSON is recorded as a JSON string.
    pub body: Value,
}

/// A running fake model endpoint on `127.0.0.1`. It serves from its own thread with its own tokio
/// runtime, so synchronous tests can use it; dropping it stops the server.
pub struct FakeModel {
    port: u16,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    ids: AtomicU64,
}

impl Shared {
    fn requests(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        // A poisoned lock only means a handler panicked mid-push; the data is still usable.
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh id with the given prefix, unique within this server.
    fn id(&self, prefix: &str) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}fake{n:020}")
    }
}

impl FakeModel {
    /// Binds `127.0.0.1:0` and starts serving on a background thread.
    pub fn start() -> anyhow::Result<FakeModel> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).context("binding 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the fake model's tokio runtime")?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared::default());
        let app = Router::new().fallback(handle).layer(DefaultBodyLimit::disable()).with_state(Arc::clone(&shared));
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("fake-model-{port}"))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(err) = served {
                                eprintln!("fake-model: server on port {port} failed: {err}");
                            }
                        }
                        _ = stop => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .context("spawning the fake model thread")?;
        Ok(FakeModel { port, shared, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests().clone()
    }

    /// How many recorded requests hold `needle` in some string of their JSON body (object keys
    /// included).
    pub fn requests_containing(&self, needle: &str) -> usize {
        self.shared.requests().iter().filter(|r| value_contains(&r.body, needle)).count()
    }

    /// The tool outputs the agents sent back to the model (Anthropic `tool_result`, OpenAI
    /// `function_call_output`, Gemini `functionResponse`), over all requests, oldest first and
    /// without repeats.
    pub fn tool_results(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for request in self.shared.requests().iter() {
            let outputs = match provider_of(&request.path) {
                Some(Provider::Anthropic) => anthropic::tool_outputs(&request.body),
                Some(Provider::OpenAi) => openai::tool_outputs(&request.body),
                Some(Provider::Gemini) => gemini::tool_outputs(&request.body),
                None => Vec::new(),
            };
            for output in outputs {
                if !seen.contains(&output) {
                    seen.push(output);
                }
            }
        }
        seen
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for FakeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeModel").field("port", &self.port).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Anthropic,
    OpenAi,
    Gemini,
}

fn provider_of(path: &str) -> Option<Provider> {
    if path.starts_with("/v1/messages") {
        Some(Provider::Anthropic)
    } else if path.starts_with("/v1/responses") {
        Some(Provider::OpenAi)
    } else if path.starts_with("/v1beta/models/") || path.starts_with("/v1/models/") {
        Some(Provider::Gemini)
    } else {
        None
    }
}

async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    if std::env::var_os("SFS_FAKE_MODEL_LOG").is_some() {
        eprintln!("fake-model: {method} {uri} {}", compact(&body, 2000));
    }
    if method != Method::POST {
        return not_found(&method, &uri);
    }
    shared.requests().push(RecordedRequest { path: path.clone(), body: body.clone() });
    match path.as_str() {
        "/v1/messages" => anthropic::messages(&shared, &body),
        "/v1/messages/count_tokens" => anthropic::count_tokens(&body),
        "/v1/responses" => openai::responses(&shared, &body),
        _ if provider_of(&path) == Some(Provider::Gemini) => {
            let action = path.rsplit_once(':').map(|(_, action)| action).unwrap_or_default();
            let model = path.rsplit('/').next().and_then(|m| m.split(':').next()).unwrap_or("gemini-fake");
            match action {
                "generateContent" => gemini::generate(&body, model, false),
                "streamGenerateContent" => gemini::generate(&body, model, true),
                "countTokens" => json_response(json!({"totalTokens": estimate_tokens(&body)})),
                _ => not_found(&method, &uri),
            }
        }
        _ => not_found(&method, &uri),
    }
}

fn not_found(method: &Method, uri: &Uri) -> Response {
    eprintln!("fake-model: no handler for {method} {uri}");
    let body =
        json!({"error": {"type": "not_found", "message": format!("fake model has no handler for {method} {uri}")}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

fn json_response(body: Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// A `text/event-stream` response holding all of `events` at once. Each event is
/// `(Some(event name), data)` or `(None, data)` for data-only events.
fn sse_response(events: &[(Option<&str>, Value)]) -> Response {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            out.push_str("event: ");
            out.push_str(name);
            out.push('\n');
        }
        out.push_str("data: ");
        out.push_str(&data.to_string());
        out.push_str("\n\n");
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], out)
        .into_response()
}

/// The newest user turn of a request, as each provider module extracts it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Turn {
    /// The text of the newest user message (its last non-context text block).
    user_text: Option<String>,
    /// The newest tool output sent after that user message, if any.
    tool_output: Option<String>,
}

/// What the fake model answers.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    /// Run this shell command.
    Tool(String),
    /// Say this.
    Text(String),
}

/// The script: a tool call for `TOOL:<cmd>` until a tool result arrived, an `ACK:` text otherwise.
/// `can_call_tool` is false when the request offers no shell tool (title generation, classifiers).
fn decide(turn: &Turn, can_call_tool: bool) -> Reply {
    let user_text = turn.user_text.as_deref().unwrap_or_default();
    if can_call_tool
        && turn.tool_output.is_none()
        && let Some(cmd) = tool_command(user_text)
    {
        return Reply::Tool(cmd.to_owned());
    }
    let mut text = format!("ACK: {}", first_chars(user_text, 80));
    if let Some(output) = &turn.tool_output {
        // Codex and Gemini CLI wrap the command's output in a report ("…Output:\n<output>…");
        // quote the output itself.
        let output = output.split_once("Output:").map_or(output.as_str(), |(_, rest)| rest);
        text.push_str(" | tool said: ");
        text.push_str(&first_chars(output.trim(), 80));
    }
    Reply::Text(text)
}

/// The command after `TOOL:` up to the end of its line, if any.
fn tool_command(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once("TOOL:")?;
    let cmd = rest.lines().next().unwrap_or_default().trim();
    (!cmd.is_empty()).then_some(cmd)
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// True for blocks that agents inject as context rather than what the user typed, such as
/// `<system-reminder>…</system-reminder>`, `<environment_context>…` or `<session_context>…`.
fn is_context_block(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with('<') && t.ends_with('>')) || t.starts_with("# AGENTS.md instructions")
}

/// Picks the user text out of a message's text blocks: the last one that is not injected context,
/// or the last one if all are.
fn pick_user_text(texts: &[String]) -> Option<String> {
    texts.iter().rev().find(|t| !is_context_block(t)).or_else(|| texts.last()).cloned()
}

/// A rough token count for usage numbers: a quarter of the body's JSON length, at least 1.
fn estimate_tokens(body: &Value) -> u64 {
    (body.to_string().len() as u64 / 4).max(1)
}

fn output_tokens(reply: &Reply) -> u64 {
    let len = match reply {
        Reply::Tool(cmd) => cmd.len() + 20,
        Reply::Text(text) => text.len(),
    };
    (len as u64 / 4).max(1)
}

fn value_contains(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Array(items) => items.iter().any(|v| value_contains(v, needle)),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains(needle) || value_contains(v, needle)),
        _ => false,
    }
}

/// Text of a JSON value: a string as is, anything else serialized.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compact(body: &Value, max: usize) -> String {
    let s = body.to_string();
    if s.len() <= max { s } else { format!("{}… ({} bytes)", first_chars(&s, max), s.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_calls_the_tool_once_then_acknowledges() {
        let turn = Turn { user_text: Some("List. TOOL:echo hi\nmore".into()), tool_output: None };
        assert_eq!(decide(&turn, true), Reply::Tool("echo hi".into()));
        assert!(matches!(decide(&turn, false), Reply::Text(t) if t.starts_with("ACK: List.")));
        let done = Turn { tool_output: Some("hi\n".into()), ..turn };
        assert_eq!(decide(&done, true), Reply::Text("ACK: List. TOOL:echo hi\nmore | tool said: hi".into()));
        let wrapped =
            Turn { tool_output: Some("Chunk ID: 1\nProcess exited with code 0\nOutput:\nhi\n".into()), ..done };
        assert_eq!(decide(&wrapped, true), Reply::Text("ACK: List. TOOL:echo hi\nmore | tool said: hi".into()));
    }

    #[test]
    fn ack_is_cut_at_80_chars_not_bytes() {
        let turn = Turn { user_text: Some("é".repeat(100)), tool_output: None };
        assert_eq!(decide(&turn, true), Reply::Text(format!("ACK: {}", "é".repeat(80))));
    }

    #[test]
    fn context_blocks_are_skipped() {
        let texts = vec!["real prompt".to_owned(), "<system-reminder>x</system-reminder>".to_owned()];
        assert_eq!(pick_user_text(&texts).as_deref(), Some("real prompt"));
        assert_eq!(pick_user_text(&texts[1..]).as_deref(), Some("<system-reminder>x</system-reminder>"));
    }
}
