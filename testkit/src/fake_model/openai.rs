//! OpenAI Responses API (`POST /v1/responses`, streamed), as Codex CLI uses it.

use axum::response::Response;
use serde_json::{Value, json};

use super::{
    Reply, Shared, Turn, decide, estimate_tokens, json_response, output_tokens, pick_user_text, sse_response, text_of,
};

/// How the request lets the model run a shell command, newest tool name first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShellTool {
    /// `exec_command` with `{"cmd": "..."}` (Codex 0.1xx's unified exec).
    ExecCommand,
    /// `shell_command` with `{"command": "..."}`.
    ShellCommand,
    /// `shell` with `{"command": ["bash", "-lc", "..."]}` (older Codex).
    Shell,
}

impl ShellTool {
    fn name(self) -> &'static str {
        match self {
            Self::ExecCommand => "exec_command",
            Self::ShellCommand => "shell_command",
            Self::Shell => "shell",
        }
    }

    fn arguments(self, cmd: &str) -> Value {
        match self {
            Self::ExecCommand => json!({"cmd": cmd}),
            Self::ShellCommand => json!({"command": cmd}),
            Self::Shell => json!({"command": ["bash", "-lc", cmd]}),
        }
    }
}

fn shell_tool(body: &Value) -> Option<ShellTool> {
    let tools = body["tools"].as_array()?;
    let offered = |name: &str| tools.iter().any(|t| t["name"].as_str() == Some(name));
    [ShellTool::ExecCommand, ShellTool::ShellCommand, ShellTool::Shell].into_iter().find(|t| offered(t.name()))
}

pub(super) fn responses(shared: &Shared, body: &Value) -> Response {
    let tool = shell_tool(body);
    let reply = decide(&turn(body), tool.is_some());
    let model = body["model"].as_str().unwrap_or("gpt-fake");
    let response_id = shared.id("resp_");
    let input_tokens = estimate_tokens(body);
    let out_tokens = output_tokens(&reply);
    let usage = json!({
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": out_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + out_tokens,
    });
    let (added, item, delta) = match (&reply, tool) {
        (Reply::Tool(cmd), Some(tool)) => {
            let item = json!({
                "type": "function_call", "id": shared.id("fc_"), "call_id": shared.id("call_"),
                "name": tool.name(), "arguments": tool.arguments(cmd).to_string(), "status": "completed",
            });
            let mut added = item.clone();
            added["status"] = json!("in_progress");
            (added, item, None)
        }
        (Reply::Tool(text) | Reply::Text(text), _) => {
            let id = shared.id("msg_");
            let added =
                json!({"type": "message", "id": id, "status": "in_progress", "role": "assistant", "content": []});
            let item = json!({
                "type": "message", "id": id, "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            });
            (
                added,
                item,
                Some(json!({
                    "type": "response.output_text.delta", "item_id": id, "output_index": 0, "content_index": 0, "delta": text,
                })),
            )
        }
    };
    let created = json!({
        "id": response_id, "object": "response", "created_at": now_secs(), "status": "in_progress",
        "model": model, "output": [],
    });
    let mut completed = created.clone();
    completed["status"] = json!("completed");
    completed["output"] = json!([item.clone()]);
    completed["usage"] = usage;
    if body["stream"].as_bool() == Some(false) {
        return json_response(completed);
    }
    let mut events = vec![
        (Some("response.created"), json!({"type": "response.created", "response": created})),
        (
            Some("response.output_item.added"),
            json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
        ),
    ];
    if let Some(delta) = delta {
        events.push((Some("response.output_text.delta"), delta));
    }
    events.push((
        Some("response.output_item.done"),
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
    ));
    events.push((Some("response.completed"), json!({"type": "response.completed", "response": completed})));
    for (seq, (_, event)) in events.iter_mut().enumerate() {
        event["sequence_number"] = json!(seq);
    }
    sse_response(&events)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The newest user turn: the last `input` item of role `user` that holds text, plus the newest
/// tool output after it.
pub(super) fn turn(body: &Value) -> Turn {
    let items = input_items(body);
    let Some(at) = items.iter().rposition(|item| item["role"].as_str() == Some("user") && !texts(item).is_empty())
    else {
        return Turn { user_text: body["input"].as_str().map(str::to_owned), tool_output: None };
    };
    let user_text = pick_user_text(&texts(&items[at]));
    let tool_output = items[at + 1..].iter().filter_map(output_of).next_back();
    Turn { user_text, tool_output }
}

/// Every tool output in the request.
pub(super) fn tool_outputs(body: &Value) -> Vec<String> {
    input_items(body).iter().filter_map(output_of).collect()
}

fn input_items(body: &Value) -> &[Value] {
    body["input"].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn texts(item: &Value) -> Vec<String> {
    match &item["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter(|p| matches!(p["type"].as_str(), Some("input_text" | "text")))
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn output_of(item: &Value) -> Option<String> {
    if !matches!(item["type"].as_str(), Some("function_call_output" | "custom_tool_call_output")) {
        return None;
    }
    Some(match &item["output"] {
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        other => text_of(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_user_item_and_function_output() {
        let body = json!({"input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>x</environment_context>"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "do TOOL:ls"}]},
            {"type": "function_call", "name": "exec_command", "arguments": "{}", "call_id": "c1"},
            {"type": "function_call_output", "call_id": "c1", "output": "file.txt"},
        ], "tools": [{"type": "function", "name": "exec_command"}]});
        let turn = turn(&body);
        assert_eq!(turn.user_text.as_deref(), Some("do TOOL:ls"));
        assert_eq!(turn.tool_output.as_deref(), Some("file.txt"));
        assert_eq!(shell_tool(&body), Some(ShellTool::ExecCommand));
    }
}
