//! Gemini API (`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`),
//! as Gemini CLI uses it, including its JSON-schema side calls (the model-routing classifier).

use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{
    Reply, Turn, decide, estimate_tokens, json_response, output_tokens, pick_user_text, sse_response, text_of,
};

/// The shell tool Gemini CLI offers.
const SHELL_TOOL: &str = "run_shell_command";

pub(super) fn generate(body: &Value, model: &str, stream: bool) -> Response {
    let config = &body["generationConfig"];
    let schema = [&config["responseJsonSchema"], &config["responseSchema"]].into_iter().find(|s| s.is_object());
    let (part, out_tokens) = if let Some(schema) = schema {
        let answer = from_schema(schema, 0).to_string();
        let tokens = (answer.len() as u64 / 4).max(1);
        (json!({"text": answer}), tokens)
    } else {
        let can_call_tool = body["tools"].as_array().is_some_and(|tools| {
            tools.iter().any(|t| {
                t["functionDeclarations"]
                    .as_array()
                    .is_some_and(|decls| decls.iter().any(|d| d["name"].as_str() == Some(SHELL_TOOL)))
            })
        });
        let reply = decide(&turn(body), can_call_tool);
        let tokens = output_tokens(&reply);
        let part = match reply {
            Reply::Tool(cmd) => json!({"functionCall": {"name": SHELL_TOOL, "args": {"command": cmd}}}),
            Reply::Text(text) => json!({"text": text}),
        };
        (part, tokens)
    };
    let input_tokens = estimate_tokens(body);
    let answer = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": input_tokens,
            "candidatesTokenCount": out_tokens,
            "totalTokenCount": input_tokens + out_tokens,
        },
        "modelVersion": model,
    });
    if stream { sse_response(&[(None, answer)]) } else { json_response(answer) }
}

/// A value that fits `schema`: the first `enum` value, a short string, 1, false, and objects with
/// every property filled (the required ones at least).
fn from_schema(schema: &Value, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = schema[key].as_array().and_then(|e| e.first()) {
            return from_schema(first, depth + 1);
        }
    }
    let kind = match &schema["type"] {
        Value::String(t) => t.to_ascii_lowercase(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("null"))
            .unwrap_or("null")
            .to_ascii_lowercase(),
        _ if schema["properties"].is_object() => "object".to_owned(),
        _ => "string".to_owned(),
    };
    match kind.as_str() {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    object.insert(name.clone(), from_schema(property, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let min = schema["minItems"].as_u64().unwrap_or(0);
            if min == 0 {
                json!([])
            } else {
                Value::Array(vec![from_schema(&schema["items"], depth + 1); min as usize])
            }
        }
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "null" => Value::Null,
        _ => json!("fake model answer"),
    }
}

/// The newest user turn: the last `contents` item of role `user` with a text part and no
/// `functionResponse`, plus the newest function response after it.
pub(super) fn turn(body: &Value) -> Turn {
    let contents = contents(body);
    let Some(at) = contents.iter().rposition(is_user_text) else {
        return Turn::default();
    };
    let user_text = pick_user_text(&texts(&contents[at]));
    let tool_output = contents[at + 1..].iter().flat_map(responses_of).next_back();
    Turn { user_text, tool_output }
}

/// Every function response in the request.
pub(super) fn tool_outputs(body: &Value) -> Vec<String> {
    contents(body).iter().flat_map(responses_of).collect()
}

fn contents(body: &Value) -> &[Value] {
    body["contents"].as_array().map(Vec::as_slice).unwrap_or_default()
}

fn is_user_text(content: &Value) -> bool {
    content["role"].as_str() == Some("user")
        && !texts(content).is_empty()
        && !content["parts"].as_array().is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()))
}

fn texts(content: &Value) -> Vec<String> {
    content["parts"]
        .as_array()
        .map(|parts| parts.iter().filter_map(|p| p["text"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn responses_of(content: &Value) -> Vec<String> {
    content["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p.get("functionResponse"))
                .map(|r| {
                    let response = &r["response"];
                    match response.get("output") {
                        Some(output) => text_of(output),
                        None => text_of(response),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_answer_fills_properties() {
        let schema = json!({"type": "object", "properties": {
            "reasoning": {"type": "string"},
            "model_choice": {"type": "string", "enum": ["flash", "pro"]},
            "n": {"type": "integer"},
        }, "required": ["reasoning", "model_choice"]});
        assert_eq!(from_schema(&schema, 0), json!({"reasoning": "fake model answer", "model_choice": "flash", "n": 1}));
    }

    #[test]
    fn newest_user_text_and_function_response() {
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "<session_context>x</session_context>"}]},
            {"role": "user", "parts": [{"text": "run TOOL:echo a"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "run_shell_command", "response": {"output": "a"}}}]},
        ]});
        let turn = turn(&body);
        assert_eq!(turn.user_text.as_deref(), Some("run TOOL:echo a"));
        assert_eq!(turn.tool_output.as_deref(), Some("a"));
    }
}
