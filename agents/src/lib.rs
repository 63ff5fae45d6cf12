//! Coding agents' native session formats, one module per agent: where each agent keeps its sessions
//! ([`Agent::discover`], [`Agent::classify`]) and how to turn its files into `.sfs` messages
//! ([`NativeParser`]).
//!
//! [`resume`] goes the other way: it writes a captured session as a new native session of an agent
//! ([`Agent::writer`]), registers it where the agent needs, and checks it with the agent's own parser.
//!
//! Parsing is incremental where the format allows it: a parser remembers where it stopped (its state is
//! serialisable, so a restarted daemon picks up where it was) and is fed only the bytes appended since.
//! Only complete lines are consumed; a half-written last line is left for the next pass. Records that do
//! not parse are counted in [`ParseOutcome::skipped`] with their line and error, never dropped silently.
//!
//! This crate reads and writes agents' files but keeps no store: `sessionfs-client` owns the `.sfs` store and
//! the index.

pub mod claude_code;
pub mod codex;
mod digest;
mod dirs;
pub mod gemini;
mod lenient;
mod lines;
mod meta;
pub mod resume;

use std::path::{Path, PathBuf};

pub use dirs::{AgentDirs, CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME};
pub use lines::{LineSplitter, is_complete_json_object};
pub use meta::{SessionMeta, title_from_prompt};
pub use resume::{NativeWriter, ResumeError, WriteRequest, WrittenSession};
use serde::{Deserialize, Serialize};
use sessionfs_shared::AgentKind;
use sessionfs_shared::sfs::Message;

/// A native file that feeds one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeFile {
    /// The agent that wrote it.
    pub agent: AgentKind,
    /// Where it is.
    pub path: PathBuf,
    /// The agent's session ID, when the path tells it (otherwise the parser finds it in the content).
    pub native_id: Option<String>,
    /// A sub-agent thread of another session (Claude Code `…/<session>/subagents/<agent>.jsonl`).
    pub subagent: Option<String>,
}

/// One record that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// 1-based line number in the native file (0 when the format has no lines).
    pub line: u64,
    /// Why it was skipped.
    pub error: String,
}

/// What one `feed` produced.
#[derive(Debug, Default)]
pub struct ParseOutcome {
    /// New messages, in order. For [`ParseMode::Snapshot`] parsers: the whole conversation.
    pub messages: Vec<Message>,
    /// Records that could not be parsed.
    pub skipped: Vec<SkippedRecord>,
    /// Bytes of the fed chunk that were consumed; the rest must be fed again with what follows.
    pub consumed: u64,
}

/// How a parser wants to be fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// Feed the bytes appended since the last offset; the outcome holds only new messages.
    Incremental,
    /// Feed the whole file every time; the outcome holds the whole conversation (the store diffs it).
    Snapshot,
}

/// A parser for one native file, holding its position and everything earlier lines told it.
pub trait NativeParser: Send {
    /// How to feed it.
    fn mode(&self) -> ParseMode;
    /// Parse `chunk`, which starts where the previous call's `consumed` ended (or at 0 for
    /// [`ParseMode::Snapshot`]). `at_eof`: the chunk runs to the current end of the file.
    fn feed(&mut self, chunk: &[u8], at_eof: bool) -> ParseOutcome;
    /// What is known of the session so far.
    fn meta(&self) -> &SessionMeta;
    /// The parser's state, to be stored and given back to [`Agent::restore_parser`].
    fn save(&self) -> serde_json::Value;
}

/// Errors restoring a saved parser state.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The saved state is not this parser's.
    #[error("saved parser state for {agent} is unreadable: {source}")]
    BadState {
        /// The agent.
        agent: AgentKind,
        /// Why.
        source: serde_json::Error,
    },
}

/// Everything SessionFS knows of one agent's storage.
pub trait Agent: Send + Sync {
    /// Which agent.
    fn kind(&self) -> AgentKind;
    /// Folders to watch for changes, in the agent's folder.
    fn watch_roots(&self, dirs: &AgentDirs) -> Vec<PathBuf>;
    /// Whether `path` is one of this agent's session files, and what it feeds.
    fn classify(&self, path: &Path) -> Option<NativeFile>;
    /// A parser for a file seen for the first time.
    fn parser(&self, file: &NativeFile) -> Box<dyn NativeParser>;
    /// A parser restored from [`NativeParser::save`].
    fn restore_parser(&self, file: &NativeFile, state: serde_json::Value) -> Result<Box<dyn NativeParser>, AgentError>;
    /// The writer of this agent's native format, when SessionFS can resume sessions in it.
    fn writer(&self) -> Option<&dyn NativeWriter> {
        None
    }

    /// Every session file in the agent's folder, and every folder there that could not be read, found by
    /// walking the watch roots.
    fn scan(&self, dirs: &AgentDirs) -> Scan {
        let mut scan = Scan::default();
        for root in self.watch_roots(dirs) {
            walk(&root, 8, &mut scan.unreadable, &mut |p| {
                if let Some(f) = self.classify(p) {
                    scan.files.push(f);
                }
            });
        }
        scan.files.sort_by(|a, b| a.path.cmp(&b.path));
        scan
    }

    /// Every session file in the agent's folder; folders that cannot be read are logged as warnings.
    fn discover(&self, dirs: &AgentDirs) -> Vec<NativeFile> {
        let scan = self.scan(dirs);
        for (path, error) in &scan.unreadable {
            tracing::warn!(path = %path.display(), %error, "cannot read this folder: the sessions in it are not captured");
        }
        scan.files
    }
}

/// What a walk of an agent's folders found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The session files, by path.
    pub files: Vec<NativeFile>,
    /// Folders that exist but could not be read, and why: the sessions in them are not captured.
    pub unreadable: Vec<(PathBuf, std::io::Error)>,
}

/// Walk `dir` depth-first, at most `depth` levels, calling `visit` on every regular file and noting each
/// folder it cannot read. Symlinks are not followed: a session store must not be steered outside the
/// agent's folders.
fn walk(dir: &Path, depth: usize, unreadable: &mut Vec<(PathBuf, std::io::Error)>, visit: &mut dyn FnMut(&Path)) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // An agent not installed here has no folder: nothing to say.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            unreadable.push((dir.to_owned(), e));
            return;
        }
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        let path = entry.path();
        if ft.is_dir() && depth > 0 {
            walk(&path, depth - 1, unreadable, visit);
        } else if ft.is_file() {
            visit(&path);
        }
    }
}

/// The adapters for every agent this build captures.
pub fn all() -> Vec<Box<dyn Agent>> {
    vec![Box::new(claude_code::ClaudeCode), Box::new(codex::Codex), Box::new(gemini::Gemini)]
}

/// The adapter for one agent, if this build captures it.
pub fn for_kind(kind: AgentKind) -> Option<Box<dyn Agent>> {
    all().into_iter().find(|a| a.kind() == kind)
}
