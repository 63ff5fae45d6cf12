//! What a parser learns of a session besides its messages.

use serde::{Deserialize, Serialize};
use sessionfs_shared::Timestamp;

/// Session-level facts gathered while parsing; saved with the parser state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionMeta {
    /// The agent's own session ID.
    pub native_id: Option<String>,
    /// The agent's version.
    pub tool_version: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Git branch.
    pub git_branch: Option<String>,
    /// Git commit.
    pub git_commit: Option<String>,
    /// Git remote.
    pub git_remote: Option<String>,
    /// Main model.
    pub model: Option<String>,
    /// Model provider.
    pub provider: Option<String>,
    /// A title the agent gave the session.
    pub title: Option<String>,
    /// The first prompt a person typed (for a derived title).
    pub first_prompt: Option<String>,
    /// Earliest timestamp seen.
    pub created_at: Option<Timestamp>,
    /// Latest timestamp seen.
    pub updated_at: Option<Timestamp>,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// User turns.
    pub turn_count: u64,
    /// `cli`, `exec`, …
    pub interface: Option<String>,
    /// Who created the native session (Codex `originator`); SessionFS's own resumes say `sessionfs`.
    pub originator: Option<String>,
}

impl SessionMeta {
    /// Widen the time range to include `t`.
    pub fn saw_time(&mut self, t: Timestamp) {
        if self.created_at.is_none_or(|c| t < c) {
            self.created_at = Some(t);
        }
        if self.updated_at.is_none_or(|u| t > u) {
            self.updated_at = Some(t);
        }
    }

    /// Record the first prompt, once, skipping text a person did not type.
    pub fn saw_prompt(&mut self, text: &str) {
        if self.first_prompt.is_none() && title_from_prompt(text).is_some() {
            self.first_prompt = Some(text.chars().take(500).collect());
        }
    }
}

/// What every note SessionFS writes into a session it resumes begins with (a summary of trimmed turns, where
/// the conversation came from): model context, not a prompt a person typed.
pub(crate) const SESSIONFS_NOTE_PREFIX: &str = "[SessionFS]";

/// A title from a prompt: its first meaningful line, cut at a sentence end, at most 80 characters.
/// `None` for text that is not something a person typed (system reminders, commands, caveats, SessionFS's
/// own notes).
pub fn title_from_prompt(prompt: &str) -> Option<String> {
    if prompt.trim_start().starts_with(SESSIONFS_NOTE_PREFIX) {
        return None;
    }
    let line = prompt
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('<') && !l.starts_with("```") && !l.starts_with("Caveat:"))?;
    if line.starts_with('/') && !line.contains(' ') {
        return None; // a bare slash command
    }
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        if let Some(cut) = title.rfind(' ').filter(|&i| i > 40) {
            title.truncate(cut);
        }
        title.push('…');
    }
    Some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(title_from_prompt("  \nFix the login bug\nmore").as_deref(), Some("Fix the login bug"));
        assert_eq!(title_from_prompt("<system-reminder>x</system-reminder>"), None);
        assert_eq!(title_from_prompt("/clear"), None);
        let note = "[SessionFS] The start of this session was left out to fit the context window: 2 turn(s)";
        assert_eq!(title_from_prompt(note), None, "a note SessionFS wrote is no prompt");
        let mut meta = SessionMeta::default();
        meta.saw_prompt(note);
        meta.saw_prompt("Fix the login bug");
        assert_eq!(meta.first_prompt.as_deref(), Some("Fix the login bug"));
        let long = "word ".repeat(40);
        let t = title_from_prompt(&long).unwrap();
        assert!(t.ends_with('…') && t.chars().count() <= 81, "{t}");
    }
}
