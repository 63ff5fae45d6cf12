//! Resume: writing a captured session back as a new native session of an agent, where that agent looks for
//! it, registered in the agent's own index where it needs that, so the agent's own `resume` continues it.
//!
//! [`Conversation::from_messages`] reduces a session to what every provider's API accepts (calls paired
//! with results, unique IDs, no injected context), [`trim`] fits it to a token budget, an agent's
//! [`NativeWriter`] writes it, and [`write_checked`] reads it back with the same agent's capture parser,
//! removing what it wrote unless that reads as intended.

pub(crate) mod atomic;
pub mod cli;
mod conversation;
mod error;
pub(crate) mod ids;
mod readback;
pub(crate) mod tools;
mod trim;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sessionfs_shared::sfs::{GitInfo, Message};
use sessionfs_shared::{AgentKind, Timestamp};

pub use cli::CliInfo;
pub(crate) use conversation::is_sessionfs_note;
pub use conversation::{Conversation, Item, MISSING_RESULT, Turn};
pub use error::ResumeError;
pub use readback::read_back;
pub use trim::{Trimmed, trim};

use crate::{Agent, AgentDirs};

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    /// The agent's ID for the new session, from [`new_native_id`].
    pub native_id: &'a str,
    /// The conversation, already trimmed.
    pub conversation: &'a Conversation,
    /// The session's title, for the agent's session list.
    pub title: Option<&'a str>,
    /// The folder the agent will run in (absolute, symlinks resolved).
    pub cwd: &'a Path,
    /// The agents' folders (`~/.claude`, `~/.codex`, `~/.gemini`, or where their variables move them).
    pub dirs: &'a AgentDirs,
    /// The installed agent's version, written where the format records one.
    pub cli_version: &'a str,
    /// Git facts of `cwd`, when known.
    pub git: Option<&'a GitInfo>,
    /// The time of the resume.
    pub now: Timestamp,
}

/// A change made to an agent's own index, undone if the written session is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Registration {
    /// A row in Codex's `threads` table.
    CodexThread {
        /// `~/.codex/state_5.sqlite`.
        database: PathBuf,
        /// The thread (the native ID).
        thread_id: String,
    },
    /// Gemini CLI's project registry maps the working directory to a project folder. Kept on removal:
    /// Gemini CLI makes the same entry on its first run in that folder.
    GeminiProject {
        /// `~/.gemini/projects.json`.
        registry: PathBuf,
        /// The project folder's name.
        slug: String,
    },
}

/// What a writer wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrittenSession {
    /// The agent.
    pub agent: AgentKind,
    /// The agent's ID of the new session.
    pub native_id: String,
    /// The session file the agent's capture parser reads.
    pub main_file: PathBuf,
    /// Every file created, the main one first.
    pub files: Vec<PathBuf>,
    /// Entries made in the agent's own indexes.
    pub registrations: Vec<Registration>,
    /// The command (argv) that continues the session, to run in the working directory.
    pub launch: Vec<String>,
    /// What the agent's capture parser should read from `main_file`, message for message.
    #[serde(skip)]
    pub expected: Vec<Message>,
}

impl WrittenSession {
    /// Remove what was written and undo the registrations that can be undone. Best effort: a failure to
    /// remove one thing does not stop the rest.
    pub fn discard(&self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        for r in &self.registrations {
            if let Registration::CodexThread { database, thread_id } = r {
                let _ = crate::codex::unregister_thread(database, thread_id);
            }
        }
    }
}

/// Writing an agent's native format.
pub trait NativeWriter: Send + Sync {
    /// The agent's command-line program.
    fn cli(&self) -> &'static CliInfo;
    /// Write `request.conversation` as a new native session and register it where the agent needs.
    fn write(&self, request: &WriteRequest<'_>) -> Result<WrittenSession, ResumeError>;
}

/// Write with `agent`'s writer, then read the result back with `agent`'s parser. When it does not read
/// back as intended, everything written is removed and the difference is the error.
pub fn write_checked(agent: &dyn Agent, request: &WriteRequest<'_>) -> Result<WrittenSession, ResumeError> {
    let writer = agent.writer().ok_or(ResumeError::Unsupported { agent: agent.kind().to_string() })?;
    if request.conversation.items.is_empty() {
        return Err(ResumeError::Empty);
    }
    let written = writer.write(request)?;
    if let Err(e) = read_back(agent, &written) {
        written.discard();
        return Err(e);
    }
    Ok(written)
}

/// A fresh ID for a new native session of `kind`, in the agent's own shape: a time-ordered UUID for
/// Codex threads, a random one for Claude Code and Gemini CLI sessions. Made before writing, so the resume
/// can be recorded before any agent or daemon sees the file.
pub fn new_native_id(kind: AgentKind, now: Timestamp) -> String {
    match kind {
        AgentKind::Codex => ids::uuid_v7(now),
        _ => ids::uuid_v4(),
    }
}

/// The writer's cli info for `kind`, if SessionFS can resume sessions there.
pub fn cli_info(kind: AgentKind) -> Option<&'static CliInfo> {
    crate::for_kind(kind).and_then(|a| a.writer().map(NativeWriter::cli))
}

/// The text of a thinking block as plain text, for targets that cannot carry thinking; `None` when
/// there is nothing readable (redacted or encrypted reasoning).
pub(crate) fn thinking_as_text(text: &str, summary: Option<&str>) -> Option<String> {
    let body = if text.trim().is_empty() { summary.unwrap_or_default() } else { text };
    (!body.trim().is_empty()).then(|| format!("(thinking) {body}"))
}
