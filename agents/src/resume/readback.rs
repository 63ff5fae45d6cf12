//! The read-back check: the target agent's own capture parser reads the written session, and what it
//! reads must be what the writer meant, message for message.

use sessionfs_shared::sfs::{Block, Message};

use super::{ResumeError, WrittenSession};
use crate::Agent;

/// Parse `written.main_file` with `agent`'s capture parser and compare it with `written.expected`.
pub fn read_back(agent: &dyn Agent, written: &WrittenSession) -> Result<(), ResumeError> {
    let fail = |difference: String| ResumeError::ReadBack {
        agent: written.agent,
        path: written.main_file.clone(),
        difference,
    };
    let file = agent.classify(&written.main_file).ok_or_else(|| {
        fail(format!("{} is not where {} looks for sessions", written.main_file.display(), written.agent))
    })?;
    let bytes = std::fs::read(&written.main_file).map_err(|e| ResumeError::io("reading", &written.main_file, e))?;
    let mut parser = agent.parser(&file);
    let out = parser.feed(&bytes, true);
    if let Some(s) = out.skipped.first() {
        return Err(fail(format!("line {} could not be parsed: {}", s.line, s.error)));
    }
    if out.consumed != bytes.len() as u64 {
        return Err(fail(format!("only {} of {} bytes were read", out.consumed, bytes.len())));
    }
    if parser.meta().native_id.as_deref() != Some(written.native_id.as_str()) {
        return Err(fail(format!(
            "the session ID reads as {:?}, not {:?}",
            parser.meta().native_id,
            written.native_id
        )));
    }
    compare(&written.expected, &out.messages).map_err(fail)
}

/// `Ok` when `read` says what `expected` says: same count, and per message the same role and content
/// (empty text blocks aside; tool results by call ID and text).
pub(crate) fn compare(expected: &[Message], read: &[Message]) -> Result<(), String> {
    let first_difference = expected.iter().zip(read).position(|(e, r)| !same(e, r));
    match first_difference {
        Some(n) => {
            Err(format!("message {}: wrote {}, read back {}", n + 1, describe(&expected[n]), describe(&read[n])))
        }
        None if expected.len() != read.len() => {
            let n = expected.len().min(read.len());
            let extra = expected
                .get(n)
                .map(|m| format!("; first missing: {}", describe(m)))
                .unwrap_or_else(|| read.get(n).map(|m| format!("; first extra: {}", describe(m))).unwrap_or_default());
            Err(format!("wrote {} messages, read back {}{extra}", expected.len(), read.len()))
        }
        None => Ok(()),
    }
}

fn normalized(m: &Message) -> Vec<Block> {
    m.content
        .iter()
        .filter(|b| !matches!(b, Block::Text { text } if text.is_empty()))
        .map(|b| match b {
            Block::ToolResult { tool_use_id, content, .. } => Block::ToolResult {
                tool_use_id: tool_use_id.clone(),
                content: content.clone(),
                is_error: false,
                exit_code: None,
                duration_ms: None,
            },
            other => other.clone(),
        })
        .collect()
}

fn same(e: &Message, r: &Message) -> bool {
    e.role == r.role && normalized(e) == normalized(r)
}

fn describe(m: &Message) -> String {
    let blocks: Vec<String> = m
        .content
        .iter()
        .map(|b| {
            let detail = match b {
                Block::Text { text } | Block::Summary { text, .. } | Block::Thinking { text, .. } => short(text),
                Block::ToolUse { tool_use_id, name, .. } => format!("{name} {tool_use_id}"),
                Block::ToolResult { tool_use_id, content, .. } => format!("{tool_use_id} {}", short(content)),
                Block::Image { source } => source.kind.clone(),
                Block::Unknown(_) => String::new(),
            };
            format!("{} {detail}", b.type_name())
        })
        .collect();
    format!("{} [{}]", m.role.as_str(), blocks.join(", "))
}

fn short(s: &str) -> String {
    let one_line = s.replace('\n', " ");
    if one_line.chars().count() > 40 {
        format!("{:?}…", one_line.chars().take(40).collect::<String>())
    } else {
        format!("{one_line:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionfs_shared::sfs::Role;

    #[test]
    fn differences_are_named() {
        let a = Message::new("1", Role::User, vec![Block::text("hello")]);
        let b = Message::new("2", Role::Assistant, vec![Block::text("hi"), Block::text("")]);
        compare(&[a.clone(), b.clone()], &[a.clone(), b.clone()]).unwrap();
        let err = compare(&[a.clone(), b.clone()], std::slice::from_ref(&a)).unwrap_err();
        assert_eq!(err, "wrote 2 messages, read back 1; first missing: assistant [text \"hi\", text \"\"]");
        let c = Message::new("2", Role::Assistant, vec![Block::text("HI")]);
        let err = compare(&[a.clone(), b], &[a, c]).unwrap_err();
        assert!(err.starts_with("message 2: wrote assistant [text \"hi\""), "{err}");
    }
}
