//! Drives `FakeModel` over real HTTP with a tiny std-only HTTP/1.1 client, in each provider's
//! request shape.

// Test helpers outside `#[test]` functions are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use sessionfs_testkit::FakeModel;

struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// `(event name, data)` of every SSE event.
    fn events(&self) -> Vec<(Option<String>, Value)> {
        assert_eq!(self.content_type, "text/event-stream", "body: {}", self.body);
        self.body
            .split("\n\n")
            .filter(|chunk| !chunk.trim().is_empty())
            .map(|chunk| {
                let mut name = None;
                let mut data = None;
                for line in chunk.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = Some(n.to_owned());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str(d).unwrap());
                    }
                }
                (name, data.expect("an SSE event without data"))
            })
            .collect()
    }
}

fn request(model: &FakeModel, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", model.port())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
        .unwrap_or_default();
    assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "the client cannot read chunked bodies");
    Reply { status, content_type, body: body.to_owned() }
}

fn post(model: &FakeModel, path: &str, body: &Value) -> Reply {
    request(model, "POST", path, Some(body))
}

#[test]
fn anthropic_streams_a_tool_call_then_acknowledges_the_result() {
    let model = FakeModel::start().unwrap();
    let user = json!({"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>context</system-reminder>"},
        {"type": "text", "text": "List the files. TOOL:echo MARKER-A"},
    ]});
    let first = json!({
        "model": "claude-test", "stream": true, "tools": [{"name": "Bash"}, {"name": "Read"}],
        "messages": [user, {"role": "system", "content": "trailing system message"}],
    });
    let reply = post(&model, "/v1/messages?beta=true", &first);
    assert_eq!(reply.status, 200);
    let events = reply.events();
    let names: Vec<_> = events.iter().map(|(n, _)| n.clone().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[0].1["message"]["model"], "claude-test");
    assert!(events[0].1["message"]["usage"]["input_tokens"].as_u64().unwrap() > 0);
    let block = &events[1].1["content_block"];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "Bash");
    assert_eq!(events[2].1["delta"]["type"], "input_json_delta");
    let input: Value = serde_json::from_str(events[2].1["delta"]["partial_json"].as_str().unwrap()).unwrap();
    assert_eq!(input, json!({"command": "echo MARKER-A"}));
    assert_eq!(events[4].1["delta"]["stop_reason"], "tool_use");
    assert!(events[4].1["usage"]["output_tokens"].as_u64().unwrap() > 0);

    let tool_id = block["id"].clone();
    let second = json!({
        "model": "claude-test", "tools": [{"name": "Bash"}],
        "messages": [
            user,
            {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": input}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "MARKER-A\n"}]},
            {"role": "system", "content": "trailing system message"},
        ],
    });
    let reply = post(&model, "/v1/messages", &second).json();
    assert_eq!(reply["stop_reason"], "end_turn");
    assert_eq!(reply["content"][0]["text"], "ACK: List the files. TOOL:echo MARKER-A | tool said: MARKER-A");
    assert!(reply["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let counted = post(&model, "/v1/messages/count_tokens", &second).json();
    assert!(counted["input_tokens"].as_u64().unwrap() > 0);

    let requests = model.requests();
    assert_eq!(
        requests.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
        ["/v1/messages", "/v1/messages", "/v1/messages/count_tokens"]
    );
    assert_eq!(requests[0].body, first);
    assert_eq!(model.requests_containing("MARKER-A"), 3);
    assert_eq!(model.requests_containing("trailing system"), 3);
    assert_eq!(model.requests_containing("no such text"), 0);
    assert_eq!(model.tool_results(), ["MARKER-A\n"]);
}

#[test]
fn anthropic_without_a_shell_tool_answers_text() {
    let model = FakeModel::start().unwrap();
    let body = json!({"model": "haiku", "messages": [{"role": "user", "content": "Title for: TOOL:rm -rf /"}]});
    let reply = post(&model, "/v1/messages", &body).json();
    assert_eq!(reply["content"][0]["type"], "text");
    assert_eq!(reply["content"][0]["text"], "ACK: Title for: TOOL:rm -rf /");
}

#[test]
fn openai_responses_calls_exec_command_then_acknowledges() {
    let model = FakeModel::start().unwrap();
    let tools = json!([{"type": "function", "name": "exec_command"}, {"type": "function", "name": "apply_patch"}]);
    let prompt = json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go TOOL:echo MARKER-O"}]});
    let context = json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>x</environment_context>"}]});
    let first = json!({"model": "gpt-test", "stream": true, "tools": tools, "input": [context, prompt]});
    let events = post(&model, "/v1/responses", &first).events();
    let names: Vec<_> = events.iter().map(|(n, _)| n.clone().unwrap()).collect();
    assert_eq!(
        names,
        ["response.created", "response.output_item.added", "response.output_item.done", "response.completed"]
    );
    let item = &events[2].1["item"];
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "exec_command");
    let args: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"cmd": "echo MARKER-O"}));
    let usage = &events[3].1["response"]["usage"];
    assert!(usage["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["input_tokens"].as_u64().unwrap() + usage["output_tokens"].as_u64().unwrap()
    );

    let output = "Chunk ID: 1\nProcess exited with code 0\nOutput:\nMARKER-O\n";
    let second = json!({"model": "gpt-test", "stream": true, "tools": tools, "input": [
        context, prompt, item,
        {"type": "function_call_output", "call_id": item["call_id"], "output": output},
    ]});
    let events = post(&model, "/v1/responses", &second).events();
    let names: Vec<_> = events.iter().map(|(n, _)| n.clone().unwrap()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(events[2].1["delta"], "ACK: Go TOOL:echo MARKER-O | tool said: MARKER-O");
    assert_eq!(
        events[4].1["response"]["output"][0]["content"][0]["text"],
        "ACK: Go TOOL:echo MARKER-O | tool said: MARKER-O"
    );
    assert_eq!(model.tool_results(), [output]);
}

#[test]
fn openai_falls_back_to_the_older_shell_tool() {
    let model = FakeModel::start().unwrap();
    let body = json!({"model": "gpt-test", "stream": true, "tools": [{"type": "function", "name": "shell"}],
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "TOOL:ls -la"}]}]});
    let events = post(&model, "/v1/responses", &body).events();
    let item = &events[2].1["item"];
    assert_eq!(item["name"], "shell");
    let args: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"command": ["bash", "-lc", "ls -la"]}));
}

#[test]
fn gemini_answers_the_classifier_with_schema_json() {
    let model = FakeModel::start().unwrap();
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "TOOL:echo nope"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, "model_choice": {"type": "string", "enum": ["flash", "pro"]}},
            "required": ["reasoning", "model_choice"],
        }},
    });
    let reply = post(&model, "/v1beta/models/gemini-test-lite:generateContent", &body).json();
    let text = reply["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap();
    let answer: Value = serde_json::from_str(text).unwrap();
    assert_eq!(answer["model_choice"], "flash");
    assert!(answer["reasoning"].is_string());
    assert_eq!(reply["candidates"][0]["finishReason"], "STOP");
    assert_eq!(reply["modelVersion"], "gemini-test-lite");
    assert!(reply["usageMetadata"]["promptTokenCount"].as_u64().unwrap() > 0);
}

#[test]
fn gemini_streams_a_shell_call_then_acknowledges() {
    let model = FakeModel::start().unwrap();
    let tools = json!([{"functionDeclarations": [{"name": "read_file"}, {"name": "run_shell_command"}]}]);
    let context = json!({"role": "user", "parts": [{"text": "<session_context>\nsetup\n</session_context>"}]});
    let prompt = json!({"role": "user", "parts": [{"text": "Run TOOL:echo MARKER-G"}]});
    let first = json!({"contents": [context, prompt], "tools": tools});
    let reply = post(&model, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse", &first);
    let events = reply.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, None);
    let part = &events[0].1["candidates"][0]["content"]["parts"][0];
    assert_eq!(part["functionCall"], json!({"name": "run_shell_command", "args": {"command": "echo MARKER-G"}}));
    assert!(events[0].1["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);

    let output = "<untrusted_context>\nOutput: MARKER-G\n</untrusted_context>";
    let second = json!({"tools": tools, "contents": [
        context, prompt,
        {"role": "model", "parts": [part]},
        {"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": output}}}]},
    ]});
    let reply = post(&model, "/v1beta/models/gemini-test:generateContent", &second).json();
    let text = reply["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("ACK: Run TOOL:echo MARKER-G | tool said: MARKER-G"), "{text}");
    assert_eq!(model.tool_results(), [output]);
}

#[test]
fn unknown_paths_get_a_json_404() {
    let model = FakeModel::start().unwrap();
    let reply = post(&model, "/v2/unknown", &json!({"x": 1}));
    assert_eq!(reply.status, 404);
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("/v2/unknown"));
    let reply = request(&model, "GET", "/", None);
    assert_eq!(reply.status, 404);
    assert_eq!(model.requests().len(), 1, "POSTs are recorded, other methods are not");
}

#[test]
fn base_url_names_the_port_and_drop_stops_the_server() {
    let model = FakeModel::start().unwrap();
    let port = model.port();
    assert_eq!(model.base_url(), format!("http://127.0.0.1:{port}"));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(model);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the port still accepts connections");
}
