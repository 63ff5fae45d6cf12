//! Anthropic Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`), as Claude Code
//! uses it.

use axum::response::Response;
use serde_json::{Value, json};

use super::{
    Reply, Shared, Turn, decide, estimate_tokens, json_response, output_tokens, pick_user_text, sse_response, text_of,
};

/// The shell tool Claude Code offers.
const SHELL_TOOL: &str = "Bash";

/// `MCP:<tool> <json args>` in the newest user text asks for a call of the MCP tool Claude Code names
/// `mcp__sessionfs__<tool>`, when the request offers it and no tool result has come back yet.
fn mcp_call(body: &Value, turn: &Turn) -> Option<(String, Value)> {
    if turn.tool_output.is_some() {
        return None;
    }
    let text = turn.user_text.as_deref()?;
    let (_, rest) = text.split_once("MCP:")?;
    let line = rest.lines().next()?.trim();
    let (tool, args) = line.split_once(' ').unwrap_or((line, "{}"));
    let name = format!("mcp__sessionfs__{tool}");
    let offered =
        body["tools"].as_array().is_some_and(|tools| tools.iter().any(|t| t["name"].as_str() == Some(name.as_str())));
    let input: Value = serde_json::from_str(args.trim()).ok()?;
    offered.then_some((name, input))
}

pub(super) fn messages(shared: &Shared, body: &Value) -> Response {
    if let Some((name, input)) = mcp_call(body, &turn(body)) {
        return tool_call(shared, body, &name, input);
    }
    let can_call_tool =
        body["tools"].as_array().is_some_and(|tools| tools.iter().any(|t| t["name"].as_str() == Some(SHELL_TOOL)));
    let reply = decide(&turn(body), can_call_tool);
    let model = body["model"].as_str().unwrap_or("claude-fake");
    let id = shared.id("msg_");
    let input_tokens = estimate_tokens(body);
    let out_tokens = output_tokens(&reply);
    let (block, stop_reason) = match &reply {
        Reply::Tool(cmd) => (
            json!({"type": "tool_use", "id": shared.id("toolu_"), "name": SHELL_TOOL, "input": {"command": cmd}}),
            "tool_use",
        ),
        Reply::Text(text) => (json!({"type": "text", "text": text}), "end_turn"),
    };
    let usage = json!({
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": out_tokens,
    });
    if body["stream"].as_bool() != Some(true) {
        return json_response(json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [block], "stop_reason": stop_reason, "stop_sequence": null, "usage": usage,
        }));
    }
    let (start_block, delta) = match &reply {
        Reply::Tool(cmd) => (
            json!({"type": "tool_use", "id": block["id"], "name": SHELL_TOOL, "input": {}}),
            json!({"type": "input_json_delta", "partial_json": json!({"command": cmd}).to_string()}),
        ),
        Reply::Text(text) => (json!({"type": "text", "text": ""}), json!({"type": "text_delta", "text": text})),
    };
    let start_usage = json!({
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    });
    sse_response(&[
        (
            Some("message_start"),
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": start_usage,
            }}),
        ),
        (Some("content_block_start"), json!({"type": "content_block_start", "index": 0, "content_block": start_block})),
        (Some("content_block_delta"), json!({"type": "content_block_delta", "index": 0, "delta": delta})),
        (Some("content_block_stop"), json!({"type": "content_block_stop", "index": 0})),
        (
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": usage}),
        ),
        (Some("message_stop"), json!({"type": "message_stop"})),
    ])
}

pub(super) fn count_tokens(body: &Value) -> Response {
    json_response(json!({"input_tokens": estimate_tokens(body)}))
}

/// The newest user turn: the last `user` message holding text and no `tool_result` (Claude Code
/// appends a `system` message after it), plus the newest tool result after it.
pub(super) fn turn(body: &Value) -> Turn {
    let messages = body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let Some(at) = messages.iter().rposition(is_user_text_message) else {
        return Turn::default();
    };
    let user_text = pick_user_text(&texts(&messages[at]["content"]));
    let tool_output = messages[at + 1..].iter().flat_map(results_of).next_back();
    Turn { user_text, tool_output }
}

/// Every `tool_result` content in the request.
pub(super) fn tool_outputs(body: &Value) -> Vec<String> {
    body["messages"].as_array().map(Vec::as_slice).unwrap_or_default().iter().flat_map(results_of).collect()
}

fn is_user_text_message(message: &Value) -> bool {
    if message["role"].as_str() != Some("user") {
        return false;
    }
    match &message["content"] {
        Value::String(s) => !s.is_empty(),
        Value::Array(blocks) => {
            blocks.iter().any(|b| b["type"].as_str() == Some("text"))
                && !blocks.iter().any(|b| b["type"].as_str() == Some("tool_result"))
        }
        _ => false,
    }
}

fn texts(content: &Value) -> Vec<String> {
    match content {
        Value::String(s) => vec![s.clone()],
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"].as_str() == Some("text"))
            .filter_map(|b| b["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn results_of(message: &Value) -> Vec<String> {
    let Some(blocks) = message["content"].as_array() else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b["type"].as_str() == Some("tool_result"))
        .map(|b| match &b["content"] {
            Value::Array(parts) => texts(&Value::Array(parts.clone())).join("\n"),
            other => text_of(other),
        })
        .collect()
}

/// Answer with one call of `name` (streamed when asked).
fn tool_call(shared: &Shared, body: &Value, name: &str, input: Value) -> Response {
    let model = body["model"].as_str().unwrap_or("claude-fake");
    let id = shared.id("msg_");
    let call_id = shared.id("toolu_");
    let usage = json!({"input_tokens": estimate_tokens(body), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 20});
    if body["stream"].as_bool() != Some(true) {
        return json_response(json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "tool_use", "id": call_id, "name": name, "input": input}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": usage,
        }));
    }
    sse_response(&[
        (
            Some("message_start"),
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": usage,
            }}),
        ),
        (
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}}),
        ),
        (
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        ),
        (Some("content_block_stop"), json!({"type": "content_block_stop", "index": 0})),
        (
            Some("message_delta"),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": usage}),
        ),
        (Some("message_stop"), json!({"type": "message_stop"})),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_user_turn_skips_trailing_system_message_and_finds_tool_result() {
        let body = json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "go TOOL:echo x"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "x\n"},
                {"type": "text", "text": "<system-reminder>more</system-reminder>"}]},
            {"role": "system", "content": "sys"},
        ]});
        let turn = turn(&body);
        assert_eq!(turn.user_text.as_deref(), Some("go TOOL:echo x"));
        assert_eq!(turn.tool_output.as_deref(), Some("x\n"));
        assert_eq!(tool_outputs(&body), vec!["x\n".to_owned()]);
    }
}
