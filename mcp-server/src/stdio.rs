//! The stdio transport: one JSON-RPC message per line. rmcp's own drops a line that is not JSON, or longer
//! than 16 MiB, without a word, and answers a `tools/call` whose `arguments` is not an object with "method
//! not found"; the client then waits for an answer that never comes, or is told the wrong thing. Here every
//! such line gets the JSON-RPC error it calls for (-32700 parse error, -32600 invalid request, -32602 invalid
//! params), with `id` null when the line has none to give, and never repeats what was sent.
//!
//! The handshake is checked here too. rmcp's answer to an `initialize` without `clientInfo` named fields of
//! another protocol version (`_meta` ones), and anything but a request before `initialize` (the client's
//! `notifications/initialized` sent too early) ended the server with a Debug dump on stderr. Until
//! `initialize` is passed on, a malformed one is answered with what it needs, another request with
//! "initialize must come first", and a notification or response is dropped, so the client can still begin.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::sync::{Mutex, mpsc};

/// The longest line read, as rmcp's limit.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// Line-delimited JSON-RPC over a reader and a writer (stdin and stdout for `sfs mcp serve`).
pub struct LineTransport<W> {
    incoming: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    out: Arc<Mutex<W>>,
}

impl<W: AsyncWrite + Unpin + Send + 'static> LineTransport<W> {
    /// Read messages from `read` (on a task of its own) and write replies to `write`, one line each.
    pub fn new<R: AsyncRead + Unpin + Send + 'static>(read: R, write: W) -> Self {
        let out = Arc::new(Mutex::new(write));
        let (tx, incoming) = mpsc::channel(16);
        tokio::spawn(read_lines(BufReader::new(read), tx, out.clone()));
        Self { incoming, out }
    }
}

/// Write one whole line under the lock, so that replies never interleave.
async fn write_line<W: AsyncWrite + Unpin>(out: &Mutex<W>, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let mut out = out.lock().await;
    out.write_all(&line).await?;
    out.flush().await
}

enum Line {
    Whole(Vec<u8>),
    TooLong,
    End,
}

/// The next line, never holding more than [`MAX_LINE_BYTES`] of it: the rest of a longer one is skipped.
async fn next_line<R: AsyncBufRead + Unpin>(read: &mut R) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::End
            } else {
                Line::Whole(line)
            });
        }
        let newline = available.iter().position(|b| *b == b'\n');
        let take = newline.map_or(available.len(), |i| i + 1);
        if !too_long && line.len() + take > MAX_LINE_BYTES + 1 {
            too_long = true;
            line = Vec::new();
        }
        if !too_long {
            line.extend_from_slice(&available[..take]);
        }
        read.consume(take);
        if newline.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Whole(line) });
        }
    }
}

fn error_reply(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// What to do with one line: hand a message on, answer with an error, or ignore it.
enum Verdict {
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    Reply(Value),
    Ignore,
}

/// Where the session is: rmcp ends the connection on anything before its lifecycle begins but a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing but `ping` has been passed on yet.
    BeforeInitialize,
    /// `initialize` (or a request carrying the protocol version in its `_meta`, the lifecycle of MCP
    /// 2026-07-28 that rmcp also serves) was passed on.
    Started,
}

const INITIALIZE_TAKES: &str = "initialize takes {\"protocolVersion\": \"2025-06-18\", \"capabilities\": {…}, \
                                \"clientInfo\": {\"name\": …, \"version\": …}}";

/// What an `initialize` request's params lack, if anything. Never quotes what was sent (a serde error may,
/// so it is cut).
fn initialize_problem(params: Option<&Value>) -> Option<String> {
    let Some(params) = params.filter(|p| p.is_object()) else {
        return Some("params is missing or not an object".into());
    };
    let mut missing = Vec::new();
    if !params.get("protocolVersion").is_some_and(Value::is_string) {
        missing.push("protocolVersion (a string)");
    }
    if !params.get("capabilities").is_some_and(Value::is_object) {
        missing.push("capabilities (an object)");
    }
    let info = params.get("clientInfo");
    let field_is_string = |f: &str| info.and_then(|i| i.get(f)).is_some_and(Value::is_string);
    if !field_is_string("name") || !field_is_string("version") {
        missing.push("clientInfo (an object with name and version strings)");
    }
    if !missing.is_empty() {
        return Some(format!("missing or of the wrong type: {}", missing.join(", ")));
    }
    serde_json::from_value::<rmcp::model::InitializeRequestParams>(params.clone()).err().map(|e| {
        let e = e.to_string();
        let cut: String = e.chars().take(200).collect();
        format!("a field has the wrong shape ({cut}{})", if cut.len() < e.len() { "…" } else { "" })
    })
}

fn judge(line: &[u8], phase: Phase) -> Verdict {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Ignore;
    }
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("Parse error: the line is not JSON ({e}); send one JSON-RPC message per line");
            return Verdict::Reply(error_reply(Value::Null, PARSE_ERROR, &message));
        }
    };
    // An id is a string or a number (JSON-RPC 2.0 §4); one that is neither cannot be answered by it, so the
    // error goes to id null. (rmcp dropped such a line without a word.)
    if value.get("id").is_some_and(|id| !id.is_string() && !id.is_number()) {
        return Verdict::Reply(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: \"id\" must be a string or a number",
        ));
    }
    // Only a request (with an id) is answered; a malformed notification has no one to answer.
    let id = value.get("id").cloned();
    let method = value.get("method").and_then(Value::as_str).map(str::to_owned);
    if phase == Phase::BeforeInitialize {
        match (&id, method.as_deref()) {
            (Some(id), Some("initialize")) => {
                if let Some(problem) = initialize_problem(value.get("params")) {
                    let message = format!("Invalid params: {INITIALIZE_TAKES}; {problem}");
                    return Verdict::Reply(error_reply(id.clone(), INVALID_PARAMS, &message));
                }
            }
            (Some(_), Some("ping")) => {}
            (Some(id), Some(_)) => {
                let inline = value.pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion").is_some();
                if !inline {
                    let message = format!(
                        "Invalid Request: initialize must come first, and be answered, before other requests; \
                         {INITIALIZE_TAKES}"
                    );
                    return Verdict::Reply(error_reply(id.clone(), INVALID_REQUEST, &message));
                }
            }
            // A notification (`notifications/initialized` sent before `initialize`) or a response: nothing
            // to answer, and rmcp would end the connection on it. (A line that is neither is judged below.)
            _ if serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value.clone()).is_ok() => {
                tracing::warn!("ignored a message that is not a request before initialize (initialize comes first)");
                return Verdict::Ignore;
            }
            _ => {}
        }
    }
    if let (Some(id), Some("tools/call")) = (&id, method.as_deref()) {
        let params = value.get("params");
        let name_ok = params.and_then(|p| p.get("name")).is_some_and(Value::is_string);
        let arguments_ok = params.and_then(|p| p.get("arguments")).is_none_or(|a| a.is_object() || a.is_null());
        if !params.is_some_and(Value::is_object) || !name_ok || !arguments_ok {
            let message = "Invalid params: tools/call takes {\"name\": <tool name>, \"arguments\": {…}} (arguments an \
                           object, or left out)";
            return Verdict::Reply(error_reply(id.clone(), INVALID_PARAMS, message));
        }
    }
    match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value) {
        Ok(message) => Verdict::Message(Box::new(message)),
        Err(e) => match id {
            Some(id) => {
                let message = format!("Invalid Request: not a JSON-RPC 2.0 request this server knows ({e})");
                Verdict::Reply(error_reply(id, INVALID_REQUEST, &message))
            }
            // Notifications of other protocols (or newer MCP versions) are ignored, as rmcp does.
            None if method.is_some() => Verdict::Ignore,
            None => Verdict::Reply(error_reply(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: a JSON-RPC 2.0 message needs \"jsonrpc\": \"2.0\" and a method or a result",
            )),
        },
    }
}

async fn read_lines<R, W>(mut read: R, tx: mpsc::Sender<RxJsonRpcMessage<RoleServer>>, out: Arc<Mutex<W>>)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut phase = Phase::BeforeInitialize;
    loop {
        let verdict = match next_line(&mut read).await {
            Ok(Line::Whole(line)) => judge(&line, phase),
            Ok(Line::TooLong) => Verdict::Reply(error_reply(
                Value::Null,
                INVALID_REQUEST,
                &format!("Invalid Request: the message is over {} MiB, the limit of one line", MAX_LINE_BYTES >> 20),
            )),
            Ok(Line::End) => return,
            Err(e) => {
                tracing::error!(error = %e, "reading the MCP input failed");
                return;
            }
        };
        match verdict {
            Verdict::Message(message) => {
                // Before initialize only requests get here, and of those all but ping begin the lifecycle.
                if phase == Phase::BeforeInitialize
                    && let RxJsonRpcMessage::<RoleServer>::Request(r) = &*message
                    && !matches!(r.request, rmcp::model::ClientRequest::PingRequest(_))
                {
                    phase = Phase::Started;
                }
                if tx.send(*message).await.is_err() {
                    return; // the service stopped
                }
            }
            Verdict::Reply(reply) => {
                if let Err(e) = write_line(&out, &reply).await {
                    tracing::error!(error = %e, "writing an MCP error reply failed");
                    return;
                }
            }
            Verdict::Ignore => {}
        }
    }
}

impl<W: AsyncWrite + Unpin + Send + 'static> Transport<RoleServer> for LineTransport<W> {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move { write_line(&out, &item).await }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        self.out.lock().await.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_over_the_limit_is_skipped_whole() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\n{}\n");
        let mut read = BufReader::new(input.as_slice());
        assert!(matches!(next_line(&mut read).await.unwrap(), Line::TooLong));
        assert!(matches!(next_line(&mut read).await.unwrap(), Line::Whole(l) if l == b"{}\n"));
        assert!(matches!(next_line(&mut read).await.unwrap(), Line::End));
    }
}
