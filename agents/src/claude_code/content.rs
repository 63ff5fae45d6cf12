//! The `content` of a Claude Code message, read straight into SessionFS blocks.
//!
//! Message content is most of a session file's bytes, so it is read in one pass. Each field of an Anthropic
//! content block is read into the place it ends up, instead of first building a `serde_json::Value` per block
//! (and, as `#[serde(untagged)]` would, buffering the whole content once more to try each shape in turn).
//!
//! Reading stays as lenient as a walk over a `Value`: a field of an unexpected type reads as absent, and a
//! block of a type this reader does not know is kept whole, its fields in their order.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use sessionfs_shared::sfs::{Block, ImageSource};

use crate::lenient::Field;

/// A message's content: a plain string is one text block, `null` or a missing field is no block.
#[derive(Debug, Default)]
pub(super) struct Content(pub(super) Vec<Block>);

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, an array of content blocks or null")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Content, E> {
        Ok(Content(vec![Block::text(text)]))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Content, E> {
        Ok(Content(vec![Block::Text { text }]))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Content, E> {
        Ok(Content::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Content, E> {
        Ok(Content::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
        let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(1));
        while let Some(AnthropicBlock(block)) = seq.next_element()? {
            blocks.push(block);
        }
        Ok(Content(blocks))
    }
}

/// One element of a content array.
struct AnthropicBlock(Block);

impl<'de> Deserialize<'de> for AnthropicBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = AnthropicBlock;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a content block (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnthropicBlock, A::Error> {
        let mut fields = Fields(Vec::with_capacity(map.size_hint().unwrap_or(4)));
        while let Some(key) = map.next_key::<Key>()? {
            fields.0.push((key, map.next_value::<Field>()?));
        }
        Ok(AnthropicBlock(fields.into_block()))
    }
}

/// The field names a block's conversion reads; any other is kept by name for an unknown block.
#[derive(Debug, PartialEq)]
enum Key {
    Type,
    Text,
    Thinking,
    Signature,
    Data,
    Id,
    Name,
    Input,
    ToolUseId,
    Content,
    IsError,
    Source,
    Other(String),
}

impl Key {
    fn from_name(name: &str) -> Self {
        match name {
            "type" => Self::Type,
            "text" => Self::Text,
            "thinking" => Self::Thinking,
            "signature" => Self::Signature,
            "data" => Self::Data,
            "id" => Self::Id,
            "name" => Self::Name,
            "input" => Self::Input,
            "tool_use_id" => Self::ToolUseId,
            "content" => Self::Content,
            "is_error" => Self::IsError,
            "source" => Self::Source,
            other => Self::Other(other.to_owned()),
        }
    }

    fn into_name(self) -> String {
        let name = match self {
            Self::Other(name) => return name,
            Self::Type => "type",
            Self::Text => "text",
            Self::Thinking => "thinking",
            Self::Signature => "signature",
            Self::Data => "data",
            Self::Id => "id",
            Self::Name => "name",
            Self::Input => "input",
            Self::ToolUseId => "tool_use_id",
            Self::Content => "content",
            Self::IsError => "is_error",
            Self::Source => "source",
        };
        name.to_owned()
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key::from_name(name))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// A block's fields in the order they came. Blocks have a handful, so a scan beats a map.
struct Fields(Vec<(Key, Field)>);

impl Fields {
    /// The value of `key`; as in a JSON object, the last of repeated keys wins.
    fn get(&self, key: &Key) -> Option<&Field> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn take(&mut self, key: &Key) -> Option<Field> {
        let at = self.0.iter().rposition(|(k, _)| k == key)?;
        Some(std::mem::replace(&mut self.0[at].1, Field::Json(Value::Null)))
    }

    /// The object value of `key`, taken; `None`, and the field left as it was, when it is not an object.
    fn take_object(&mut self, key: &Key) -> Option<Map<String, Value>> {
        let at = self.0.iter().rposition(|(k, _)| k == key)?;
        match &mut self.0[at].1 {
            Field::Json(Value::Object(map)) => Some(std::mem::take(map)),
            _ => None,
        }
    }

    /// The string value of `key`; absent when it is missing or not a string.
    fn string(&mut self, key: &Key) -> Option<String> {
        match self.take(key)? {
            Field::Str(s) => Some(s),
            Field::Json(_) => None,
        }
    }

    fn into_block(mut self) -> Block {
        let kind = match self.get(&Key::Type) {
            Some(Field::Str(kind)) => BlockType::from_name(kind),
            _ => BlockType::Unknown,
        };
        match kind {
            BlockType::Text => Block::Text { text: self.string(&Key::Text).unwrap_or_default() },
            BlockType::Thinking => Block::Thinking {
                text: self.string(&Key::Thinking).unwrap_or_default(),
                signature: self.string(&Key::Signature),
                redacted: false,
                summary: None,
            },
            BlockType::RedactedThinking => Block::Thinking {
                text: String::new(),
                signature: self.string(&Key::Data),
                redacted: true,
                summary: None,
            },
            BlockType::ToolUse => Block::ToolUse {
                tool_use_id: self.string(&Key::Id).unwrap_or_default(),
                name: self.string(&Key::Name).unwrap_or_default(),
                input: self.take(&Key::Input).map_or_else(|| Value::Object(Map::new()), Field::into_value),
            },
            BlockType::ToolResult => Block::ToolResult {
                tool_use_id: self.string(&Key::ToolUseId).unwrap_or_default(),
                content: tool_result_text(self.take(&Key::Content)),
                is_error: matches!(self.get(&Key::IsError), Some(Field::Json(Value::Bool(true)))),
                exit_code: None,
                duration_ms: None,
            },
            BlockType::Image => match self.take_object(&Key::Source) {
                Some(source) => Block::Image { source: image_source(source) },
                None => Block::Unknown(self.into_map()),
            },
            BlockType::Unknown => Block::Unknown(self.into_map()),
        }
    }

    /// The block as it came, for a type this reader does not know.
    fn into_map(self) -> Map<String, Value> {
        let mut map = Map::with_capacity(self.0.len());
        for (key, value) in self.0 {
            map.insert(key.into_name(), value.into_value());
        }
        map
    }
}

enum BlockType {
    Text,
    Thinking,
    RedactedThinking,
    ToolUse,
    ToolResult,
    Image,
    Unknown,
}

impl BlockType {
    fn from_name(name: &str) -> Self {
        match name {
            "text" => Self::Text,
            "thinking" => Self::Thinking,
            "redacted_thinking" => Self::RedactedThinking,
            "tool_use" | "server_tool_use" => Self::ToolUse,
            "tool_result" => Self::ToolResult,
            "image" => Self::Image,
            _ => Self::Unknown,
        }
    }
}

fn image_source(mut source: Map<String, Value>) -> ImageSource {
    let kind = match source.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => "base64".to_owned(),
    };
    let data = match (source.remove("data"), source.remove("url")) {
        (Some(Value::String(data)), _) => Some(data),
        // A `data` of another type shadows the `url`, as it always has.
        (Some(_), _) => None,
        (None, Some(Value::String(url))) => Some(url),
        (None, _) => None,
    };
    let media_type = match source.remove("media_type") {
        Some(Value::String(media_type)) => Some(media_type),
        _ => None,
    };
    ImageSource { kind, data, media_type, extra: Map::new() }
}

/// A tool result's content is a string or a list of text and image parts; it is kept as text, an image as
/// `[image]`, and a part of any other kind as its JSON.
fn tool_result_text(content: Option<Field>) -> String {
    match content.map(Field::into_value) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(Value::Array(parts)) => {
            let parts: Vec<String> = parts.into_iter().map(tool_result_part).collect();
            parts.join("\n")
        }
        Some(other) => other.to_string(),
    }
}

fn tool_result_part(part: Value) -> String {
    let Value::Object(mut fields) = part else {
        return part.to_string();
    };
    match fields.get("type").and_then(Value::as_str) {
        Some("text") => match fields.remove("text") {
            Some(Value::String(text)) => text,
            _ => String::new(),
        },
        Some("image") => "[image]".to_owned(),
        _ => Value::Object(fields).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(content: Value) -> Result<Vec<Block>, serde_json::Error> {
        serde_json::from_str::<Content>(&content.to_string()).map(|c| c.0)
    }

    fn one(block: Value) -> Block {
        let mut blocks = read(json!([block])).unwrap();
        assert_eq!(blocks.len(), 1);
        blocks.remove(0)
    }

    #[test]
    fn a_string_is_one_text_block_and_null_is_none() {
        assert_eq!(read(json!("hi")).unwrap(), vec![Block::text("hi")]);
        assert_eq!(read(json!("")).unwrap(), vec![Block::text("")]);
        assert_eq!(read(json!("a\"\\n\u{e9}")).unwrap(), vec![Block::text("a\"\\n\u{e9}")]);
        assert!(read(Value::Null).unwrap().is_empty());
        assert!(read(json!([])).unwrap().is_empty());
    }

    #[test]
    fn other_shapes_are_errors_not_guesses() {
        for bad in [json!(5), json!(true), json!({"type": "text"}), json!(["text"]), json!([[]])] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_blocks_take_their_fields() {
        assert_eq!(one(json!({"text": "hi", "type": "text", "citations": []})), Block::text("hi"));
        assert_eq!(
            one(json!({"type": "thinking", "thinking": "hmm", "signature": "s1"})),
            Block::Thinking { text: "hmm".into(), signature: Some("s1".into()), redacted: false, summary: None }
        );
        assert_eq!(
            one(json!({"type": "redacted_thinking", "data": "opaque"})),
            Block::Thinking { text: String::new(), signature: Some("opaque".into()), redacted: true, summary: None }
        );
        assert_eq!(
            one(json!({"type": "server_tool_use", "id": "t1", "name": "web_search", "input": {"query": "q"}})),
            Block::ToolUse { tool_use_id: "t1".into(), name: "web_search".into(), input: json!({"query": "q"}) }
        );
        assert_eq!(
            one(json!({"type": "tool_use", "id": "t2", "name": "Bash"})),
            Block::ToolUse { tool_use_id: "t2".into(), name: "Bash".into(), input: json!({}) }
        );
        assert_eq!(
            one(json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}})),
            Block::Image {
                source: ImageSource {
                    kind: "base64".into(),
                    data: Some("AAAA".into()),
                    media_type: Some("image/png".into()),
                    extra: Map::new()
                }
            }
        );
        let Block::Image { source } =
            one(json!({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}))
        else {
            panic!("not an image");
        };
        assert_eq!((source.kind.as_str(), source.data.as_deref()), ("url", Some("https://x/y.png")));
    }

    #[test]
    fn tool_results_become_text() {
        let result = |content: Value, is_error: Value| {
            one(json!({"type": "tool_result", "tool_use_id": "t1", "content": content, "is_error": is_error}))
        };
        let text = |b: Block| match b {
            Block::ToolResult { content, tool_use_id, .. } if tool_use_id == "t1" => content,
            other => panic!("{other:?}"),
        };
        assert_eq!(text(result(json!("out"), Value::Null)), "out");
        assert_eq!(text(result(Value::Null, Value::Null)), "");
        assert_eq!(
            text(result(
                json!([{"type": "text", "text": "a"}, {"type": "image", "source": {}}, {"type": "doc", "n": 1}, 7]),
                Value::Null
            )),
            "a\n[image]\n{\"type\":\"doc\",\"n\":1}\n7"
        );
        assert_eq!(text(result(json!({"k": 1}), Value::Null)), "{\"k\":1}");
        assert!(matches!(result(json!("x"), json!(true)), Block::ToolResult { is_error: true, .. }));
        // Only a JSON `true` is an error; a string "true" is not read as one.
        assert!(matches!(result(json!("x"), json!("true")), Block::ToolResult { is_error: false, .. }));
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent() {
        assert_eq!(one(json!({"type": "text", "text": 5})), Block::text(""));
        assert_eq!(
            one(json!({"type": "tool_use", "id": ["x"], "name": null, "input": "raw"})),
            Block::ToolUse { tool_use_id: String::new(), name: String::new(), input: json!("raw") }
        );
        assert_eq!(
            one(json!({"type": "thinking", "thinking": {"t": 1}, "signature": false})),
            Block::Thinking { text: String::new(), signature: None, redacted: false, summary: None }
        );
    }

    #[test]
    fn the_last_of_repeated_keys_wins() {
        let block: AnthropicBlock = serde_json::from_str(r#"{"type":"text","text":"first","text":"last"}"#).unwrap();
        assert_eq!(block.0, Block::text("last"));
    }

    #[test]
    fn unknown_blocks_are_kept_whole_in_order() {
        let raw = r#"{"z":1,"type":"document","text":"t","source":{"a":[1,2]},"id":null,"zz":"x"}"#;
        let block: AnthropicBlock = serde_json::from_str(raw).unwrap();
        let Block::Unknown(map) = block.0 else { panic!("not kept whole") };
        assert_eq!(Value::Object(map).to_string(), raw);
        // An image without an object source, and a block whose type is not a string, are unknown too.
        for raw in [r#"{"type":"image","source":"x"}"#, r#"{"type":7,"text":"t"}"#, r#"{"text":"t"}"#] {
            let block: AnthropicBlock = serde_json::from_str(raw).unwrap();
            let Block::Unknown(map) = block.0 else { panic!("{raw} not kept whole") };
            assert_eq!(Value::Object(map).to_string(), raw);
        }
    }
}
