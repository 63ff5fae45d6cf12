//! Tool calls and images in each provider's own terms: a shell command run by one agent is written as a
//! call of the target's own shell tool, so the model sees a history made with the tools it has.

use serde_json::Value;
use sessionfs_shared::sfs::ImageSource;

/// The command of a shell tool call, whichever agent made it: Claude Code `Bash {command}`, Codex
/// `exec_command {cmd}` / `shell {command: [argv]}` / `local_shell`, Gemini CLI `run_shell_command
/// {command}`.
pub(crate) fn shell_command(name: &str, input: &Value) -> Option<String> {
    let known = ["Bash", "bash", "shell", "local_shell", "exec_command", "run_shell_command", "shell_command"];
    if !known.contains(&name) {
        return None;
    }
    match input.get("command").or_else(|| input.get("cmd"))? {
        Value::String(s) => Some(s.clone()),
        Value::Array(argv) => {
            let argv: Vec<&str> = argv.iter().filter_map(Value::as_str).collect();
            match argv.as_slice() {
                // ["bash", "-lc", "<script>"]: the script is the command.
                [shell, flag, script] if shell.ends_with("sh") && flag.starts_with('-') && flag.ends_with('c') => {
                    Some((*script).to_owned())
                }
                [] => None,
                words => Some(words.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ")),
            }
        }
        _ => None,
    }
}

/// A tool name every provider accepts: `[A-Za-z0-9_-]`, starting with a letter or `_`, at most 64
/// characters.
pub(crate) fn tool_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(64)
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert_str(0, "t_");
        out.truncate(64);
    }
    out
}

/// Quote a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | '+' | ',' | '@'));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// An image as a target can write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageData {
    /// Inline bytes.
    Base64 {
        /// MIME type.
        media_type: String,
        /// The base64 payload.
        data: String,
    },
    /// An `http(s)` URL.
    Url(String),
    /// Something no target can send (a local path, nothing at all): a text stand-in.
    Placeholder(String),
}

pub(crate) fn image_data(source: &ImageSource) -> ImageData {
    let data = source.data.clone().unwrap_or_default();
    if let Some(rest) = data.strip_prefix("data:")
        && let Some((meta, payload)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return ImageData::Base64 { media_type: media_type.to_owned(), data: payload.to_owned() };
    }
    match source.kind.as_str() {
        "base64" if !data.is_empty() => {
            let media_type = source.media_type.clone().unwrap_or_else(|| sniff(&data).to_owned());
            ImageData::Base64 { media_type, data }
        }
        "url" if data.starts_with("http://") || data.starts_with("https://") => ImageData::Url(data),
        _ if data.is_empty() => ImageData::Placeholder("[image]".to_owned()),
        _ if data.len() > 300 => ImageData::Placeholder("[image]".to_owned()),
        _ => ImageData::Placeholder(format!("[image: {data}]")),
    }
}

/// The MIME type of base64 image bytes, from their first characters.
fn sniff(data: &str) -> &'static str {
    if data.starts_with("/9j/") {
        "image/jpeg"
    } else if data.starts_with("R0lG") {
        "image/gif"
    } else if data.starts_with("UklG") {
        "image/webp"
    } else {
        "image/png"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    #[test]
    fn shell_calls_of_every_agent() {
        assert_eq!(shell_command("Bash", &json!({"command": "ls -a"})).as_deref(), Some("ls -a"));
        assert_eq!(shell_command("exec_command", &json!({"cmd": "pwd"})).as_deref(), Some("pwd"));
        assert_eq!(shell_command("run_shell_command", &json!({"command": "echo hi"})).as_deref(), Some("echo hi"));
        assert_eq!(
            shell_command("local_shell", &json!({"command": ["bash", "-lc", "echo x"]})).as_deref(),
            Some("echo x")
        );
        assert_eq!(shell_command("shell", &json!({"command": ["ls", "a b"]})).as_deref(), Some("ls 'a b'"));
        assert_eq!(shell_command("Read", &json!({"file_path": "x"})), None);
    }

    #[test]
    fn names_and_quotes() {
        assert_eq!(tool_name("functions.exec"), "functions_exec");
        assert_eq!(tool_name("9lives"), "t_9lives");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("/tmp/a-b"), "/tmp/a-b");
    }

    #[test]
    fn images_from_data_urls_urls_and_paths() {
        let src = |kind: &str, data: &str| ImageSource {
            kind: kind.into(),
            data: Some(data.into()),
            media_type: None,
            extra: Map::new(),
        };
        assert_eq!(
            image_data(&src("url", "data:image/jpeg;base64,AAAA")),
            ImageData::Base64 { media_type: "image/jpeg".into(), data: "AAAA".into() }
        );
        assert_eq!(
            image_data(&src("base64", "/9j/xx")),
            ImageData::Base64 { media_type: "image/jpeg".into(), data: "/9j/xx".into() }
        );
        assert_eq!(image_data(&src("url", "https://x/y.png")), ImageData::Url("https://x/y.png".into()));
        assert_eq!(image_data(&src("path", "/tmp/shot.png")), ImageData::Placeholder("[image: /tmp/shot.png]".into()));
    }
}
