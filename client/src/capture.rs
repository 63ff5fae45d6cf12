//! Capture: turning agents' native files into `.sfs` sessions in the store.
//!
//! The fast path is an appended native file: its parser is restored from the index, fed only the new
//! bytes, the new messages are appended to `messages.jsonl` and indexed, and the manifest is rewritten.
//! Anything else (a file seen for the first time, one rewritten or shortened by its agent, a snapshot
//! format) recaptures the whole session from all its native files; a recapture that would make a session
//! shorter than what is stored keeps the stored copy (an agent compacting its file must not lose history).

use std::collections::BTreeSet;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use serde_json::Value;
use sessionfs_agents::{
    Agent, AgentDirs, NativeFile, NativeParser, ParseMode, SessionMeta, SkippedRecord, title_from_prompt,
};
use sessionfs_shared::sfs::{
    Block, GitInfo, Manifest, Message, ModelInfo, SessionStats, SubAgent, Tools, Workspace, files,
};
use sessionfs_shared::{AgentKind, SessionId, Timestamp};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::deleted::DeletedList;
use crate::error::{ClientError, Result};
use crate::index::{NativeFileRow, ResumeRecord, SessionRow, write};
use crate::session_dir::{EncodedLines, SessionDir};
use crate::store::Store;

mod ahead;

use ahead::Ahead;

/// How long an import holds one index transaction open: the daemon and other `sfs` commands wait for it,
/// so this stays far below the index's 5 s busy timeout.
const IMPORT_BATCH: Duration = Duration::from_millis(500);

/// The most memory an import sets aside ahead of need for one file: its parsing thread's read buffer, kept
/// from file to file, and the room reserved to encode a file's messages.
const MAX_KEPT_BUFFER: usize = 64 << 20;

/// How many leading bytes identify a native file, to notice when its agent rewrote it.
const HEAD_BYTES: u64 = 4096;

/// What one capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureReport {
    /// The session.
    pub session_id: SessionId,
    /// Its agent.
    pub agent: AgentKind,
    /// Messages added by this capture.
    pub new_messages: u64,
    /// Records skipped by this capture.
    pub skipped: u64,
    /// The session was rebuilt from all its files.
    pub recaptured: bool,
    /// A recapture came out shorter than the stored copy (or, restoring, each lacked messages the other
    /// held), and the stored copy was kept, with the native files' messages it lacked after it.
    pub kept_longer_copy: bool,
}

/// Progress of an import, for progress bars.
pub trait ImportProgress {
    /// `total` files were found.
    fn start(&mut self, total: u64);
    /// One file was processed.
    fn advance(&mut self, path: &Path, report: Option<&CaptureReport>);
}

impl ImportProgress for () {
    fn start(&mut self, _: u64) {}
    fn advance(&mut self, _: &Path, _: Option<&CaptureReport>) {}
}

/// Captures native files into a store.
pub struct Capturer {
    store: Store,
    dirs: AgentDirs,
    // Shared with the import's parse-ahead thread.
    agents: Arc<[Box<dyn Agent>]>,
}

#[derive(Deserialize)]
struct SavedMeta {
    #[serde(default)]
    meta: SessionMeta,
}

fn now() -> String {
    Timestamp::now().to_rfc3339()
}

fn hash_head(path: &Path, len: u64) -> Result<String> {
    let mut f = File::open(path).map_err(ClientError::io("opening", path))?;
    let mut buf = Vec::with_capacity(len as usize);
    f.by_ref().take(len).read_to_end(&mut buf).map_err(ClientError::io("reading", path))?;
    Ok(hash_of_head(&buf))
}

/// The identity [`hash_head`] gives a file's first bytes.
fn hash_of_head(head: &[u8]) -> String {
    format!("{}:{:x}", head.len(), Sha256::digest(head))
}

fn read_from(path: &Path, offset: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    read_into(path, offset, &mut buf)?;
    Ok(buf)
}

/// Read `path` from `offset` to its end into `buf`, replacing what it held (and keeping its memory: the
/// import's parsing thread reads every file into one buffer, instead of faulting in fresh pages for each).
fn read_into(path: &Path, offset: u64, buf: &mut Vec<u8>) -> Result<()> {
    let mut f = File::open(path).map_err(ClientError::io("opening", path))?;
    f.seek(SeekFrom::Start(offset)).map_err(ClientError::io("seeking", path))?;
    buf.clear();
    f.read_to_end(buf).map_err(ClientError::io("reading", path))?;
    Ok(())
}

fn mtime(path: &Path) -> Option<Timestamp> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let ms = t.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_millis();
    Timestamp::from_millis(i64::try_from(ms).ok()?)
}

/// A file parsed from the start.
struct Parsed {
    file: NativeFile,
    parser: Box<dyn NativeParser>,
    messages: Vec<Message>,
    /// `messages` prepared for writing, when parsed ahead of an import (see [`parse_ahead`]).
    prepared: Option<Prepared>,
    skipped: Vec<SkippedRecord>,
    offset: u64,
    head_hash: String,
}

/// Messages ready to be written and indexed: their `messages.jsonl` lines and their searchable texts.
#[derive(Default)]
struct Prepared {
    lines: EncodedLines,
    texts: Vec<String>,
}

impl Prepared {
    fn new(messages: &[Message]) -> Self {
        Self::sized(messages, 0)
    }

    /// [`Prepared::new`], for messages parsed from `native_bytes` bytes: their lines are fewer bytes than
    /// that (the native records carry more than the messages), so encoding into a buffer of that size does
    /// not grow and copy it.
    fn sized(messages: &[Message], native_bytes: usize) -> Self {
        // Capped: a huge file's messages may be far smaller than it, and memory reserved may be committed.
        let capacity = native_bytes.min(MAX_KEPT_BUFFER);
        Self { lines: EncodedLines::with_capacity(messages, capacity), texts: write::searchable_texts(messages) }
    }
}

impl Capturer {
    /// Capture into `store` from the agents' folders (a home folder: the default folders under it), for
    /// every agent this build knows.
    pub fn new(store: Store, dirs: impl Into<AgentDirs>) -> Self {
        Self::with_agents(store, dirs, sessionfs_agents::all())
    }

    /// Capture with a chosen set of agents.
    pub fn with_agents(store: Store, dirs: impl Into<AgentDirs>, agents: Vec<Box<dyn Agent>>) -> Self {
        Self { store, dirs: dirs.into(), agents: agents.into() }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, mutably.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Take the store back.
    pub fn into_store(self) -> Store {
        self.store
    }

    /// The home folder whose agent folders are captured.
    pub fn home(&self) -> &Path {
        self.dirs.home()
    }

    /// The agents' folders captured.
    pub fn dirs(&self) -> &AgentDirs {
        &self.dirs
    }

    /// The agents, for watching their folders.
    pub fn agents(&self) -> &[Box<dyn Agent>] {
        &self.agents
    }

    /// Every native file in the agents' folders, for every agent.
    pub fn discover(&self) -> Vec<NativeFile> {
        self.agents.iter().flat_map(|a| a.discover(&self.dirs)).collect()
    }

    fn classify(&self, path: &Path) -> Option<(usize, NativeFile)> {
        self.agents.iter().enumerate().find_map(|(i, a)| a.classify(path).map(|f| (i, f)))
    }

    /// Capture every native file under home. Per-file failures are logged and counted, not fatal.
    pub fn import_all(&mut self, progress: &mut dyn ImportProgress) -> Result<Vec<CaptureReport>> {
        let mut found = self.discover();
        // Main session files before sub-agent threads, so a session's main file fixes its identity.
        found.sort_by_key(|f| (f.subagent.is_some(), f.path.clone()));
        progress.start(found.len() as u64);
        let mut reports = Vec::new();
        // Sessions are committed in batches: one commit per session spent more on FTS5's segment flushes
        // and merges than on the session. The index is still the commit point: files written for a batch
        // that never commits are rewritten by the next capture.
        let agents = Arc::clone(&self.agents);
        let paths = self.store.paths().clone();
        let staging = ahead::staging_dir(&paths);
        ahead::remove_abandoned_staging(&paths);
        // Two files ahead per stage at most: a parsed session can be several times its file's size in memory.
        let (parsed_tx, parsed_rx) = mpsc::sync_channel(2);
        let (staged_tx, staged_rx) = mpsc::sync_channel(2);
        let files = found.clone();
        // And a fourth thread writes the full-text index (fulltext.db), a step behind the indexing thread.
        self.store.index_mut().start_fulltext_thread()?;
        let done = std::thread::scope(|scope| -> Result<()> {
            scope.spawn(|| ahead::parse_ahead(&agents, &paths, files, parsed_tx));
            scope.spawn(|| ahead::stage_new(&paths, parsed_rx, staged_tx));
            self.import_batched(found, staged_rx, progress, &mut reports)
        });
        let searchable = self.store.index_mut().join_fulltext_thread();
        // Whatever was staged and not moved into the store (the import failed, or files were skipped).
        let _ = std::fs::remove_dir_all(&staging);
        done?;
        searchable?;
        Ok(reports)
    }

    fn import_batched(
        &mut self,
        found: Vec<NativeFile>,
        parsed: mpsc::Receiver<Option<Result<Ahead>>>,
        progress: &mut dyn ImportProgress,
        reports: &mut Vec<CaptureReport>,
    ) -> Result<()> {
        self.store.index_mut().begin_batch()?;
        let mut batch: Vec<PathBuf> = Vec::new();
        let mut batch_started = Instant::now();
        for file in found {
            // A file that failed to parse ahead goes the ordinary way, which decides what its failure means.
            let mut result = match parsed.recv().ok().flatten() {
                Some(Ok(Ahead::Parsed(p))) => self.capture_path_with(&file.path, Some(*p)),
                Some(Ok(Ahead::Staged(s))) => self.commit_staged(s),
                Some(Err(_)) | None => self.capture_path(&file.path),
            };
            if !self.store.index().in_batch() {
                // A failed write rolled the batch back: redo its sessions one at a time, each committing alone.
                for path in batch.drain(..) {
                    if let Err(e) = self.capture_path(&path) {
                        warn!(path = %path.display(), error = %e, "capture failed");
                    }
                }
                result = self.capture_path(&file.path);
                self.store.index_mut().begin_batch()?;
                batch_started = Instant::now();
            } else {
                batch.push(file.path.clone());
            }
            match result {
                Ok(report) => {
                    progress.advance(&file.path, report.as_ref());
                    reports.extend(report);
                }
                Err(e) => {
                    warn!(path = %file.path.display(), error = %e, "capture failed");
                    progress.advance(&file.path, None);
                }
            }
            if batch_started.elapsed() >= IMPORT_BATCH {
                self.store.index_mut().end_batch()?;
                self.store.index_mut().begin_batch()?;
                batch.clear();
                batch_started = Instant::now();
            }
        }
        self.store.index_mut().end_batch()
    }

    /// Capture one native file, if it is one. `Ok(None)`: not a session file, unchanged, or deleted.
    pub fn capture_path(&mut self, path: &Path) -> Result<Option<CaptureReport>> {
        if self.store.index().in_batch() {
            return self.capture_path_with(path, None);
        }
        // One capture at a time across processes: the index's write lock is held from reading where the last
        // capture stopped to committing this one, so two writers (the daemon and an import) never append to
        // one `messages.jsonl` at once, nor take each other's uncommitted lines for their own.
        self.in_batch(|c| c.capture_path_with(path, None))
    }

    /// Run `f` holding the index's write lock, committing what it wrote if it succeeds and dropping it if not.
    fn in_batch<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.store.index_mut().begin_batch()?;
        match f(self) {
            Ok(done) => {
                self.store.index_mut().end_batch()?;
                Ok(done)
            }
            Err(e) => {
                self.store.index_mut().abort_batch();
                Err(e)
            }
        }
    }

    /// [`Capturer::capture_path`], with the file already parsed when the index has never seen it.
    fn capture_path_with(&mut self, path: &Path, mut parsed_ahead: Option<Parsed>) -> Result<Option<CaptureReport>> {
        let Some((agent_idx, file)) = self.classify(path) else {
            return Ok(None);
        };
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_file() => m,
            Ok(_) => return Ok(None), // links are not followed: they could point anywhere
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ClientError::io("reading", path)(e)),
        };
        let size = meta.len();
        let key = path.to_string_lossy().into_owned();
        let prev = self.store.index().native_file(&key)?;
        let agent = &self.agents[agent_idx];

        if let Some(prev) = prev.as_ref().filter(|p| p.session_id.as_str().starts_with("ses_")) {
            let id = prev.session_id.clone();
            if DeletedList::load(&self.store.paths().deleted_json()).contains(&id) {
                // Not read while deleted: its position stays where capture stopped, so what the agent writes
                // meanwhile is still ahead of it when the session is restored (read now, it would be passed over).
                return Ok(None);
            }
            let row = self.store.index().session(&id)?;
            if row.is_none() {
                // The session was removed from the store while its native file stayed: capture it again.
                return self.recapture(&id, Some(file)).map(Some);
            }
            let dir = self.store.session_dir(&id);
            let gone = row.as_ref().is_some_and(|r| {
                !dir.path().is_dir() || (r.message_count > 0 && !dir.path().join(files::MESSAGES).is_file())
            });
            if let Some(row) = row.as_ref().filter(|_| !gone && !dir.exists()) {
                // Its manifest alone was lost: one is made again from what the index holds (`sfs show` reads
                // it), and the capture goes on.
                warn!(session.id = %id, "a session's manifest.json is gone; writing it again from the index");
                let created = Timestamp::parse(&row.created_at).unwrap_or_else(Timestamp::now);
                let mut manifest = Manifest::new(id.clone(), file.agent, created);
                manifest.title.clone_from(&row.title);
                manifest.alias.clone_from(&row.alias);
                manifest.tags.clone_from(&row.tags);
                manifest.stats = Some(SessionStats {
                    message_count: row.message_count,
                    turn_count: row.turn_count,
                    tool_use_count: row.tool_use_count,
                    total_input_tokens: row.total_input_tokens,
                    total_output_tokens: row.total_output_tokens,
                    estimated_cost_usd: None,
                    duration_ms: None,
                });
                dir.write_manifest(&manifest)?;
            }
            if gone {
                // Its folder, or its messages, were deleted by hand: the index forgets its rows (not what is
                // left of the folder: the manifest keeps the user's fields), and it is captured again whole
                // from all its files (an append would write past the end of a file that is gone).
                warn!(session.id = %id, "the session's messages are gone from the store; capturing it again from its native files");
                let files = self.session_files(&id, Some(file))?;
                self.store.unindex(&id)?;
                return self.recapture_files(&id, files).map(Some);
            }
            let restored = prev
                .parser_state
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|v| agent.restore_parser(&file, v).ok());
            if let Some(mut parser) = restored {
                if parser.mode() == ParseMode::Incremental && size >= prev.offset {
                    let same_head =
                        prev.head_hash.as_deref() == Some(hash_head(path, prev.offset.min(HEAD_BYTES))?.as_str());
                    if same_head {
                        if size == prev.offset {
                            return Ok(None);
                        }
                        let chunk = read_from(path, prev.offset)?;
                        let before = parser.meta().clone();
                        let out = parser.feed(&chunk, true);
                        if out.consumed == 0 && out.messages.is_empty() && out.skipped.is_empty() {
                            return Ok(None); // only a half-written line so far
                        }
                        let fed = Fed { before, parser, messages: out.messages, skipped: out.skipped };
                        return self.append(prev.clone(), file, fed, prev.offset + out.consumed);
                    }
                } else if parser.mode() == ParseMode::Snapshot
                    && prev.offset == size
                    && prev.head_hash.as_deref() == Some(hash_head(path, size)?.as_str())
                {
                    return Ok(None);
                }
            }
            let id = prev.session_id.clone();
            return self.recapture(&id, Some(file)).map(Some);
        }

        // First sight of this file. A sub-agent thread of an already captured session joins it.
        if let Some(native) = file.native_id.as_deref().filter(|_| file.subagent.is_some()) {
            let id = SessionId::derive(native);
            if self.store.index().session(&id)?.is_some() {
                return self.recapture(&id, Some(file)).map(Some);
            }
        }
        let parsed = match parsed_ahead.take().filter(|p| p.file.path == file.path) {
            Some(p) => p,
            None => self.parse_whole(file)?,
        };
        let Some(id) = session_id_of(&parsed) else {
            debug!(path = %path.display(), "no session in this file yet");
            return Ok(None);
        };
        let known = self.store.index().session(&id)?.is_some();
        if !known && parsed.messages.is_empty() && parsed.skipped.is_empty() {
            // An agent started but nothing said yet: no session to list. The first message captures it.
            debug!(path = %path.display(), "no message in this file yet");
            return Ok(None);
        }
        if known {
            // Another file of a known session (a sub-agent thread seen before its parent was).
            return self.recapture(&id, Some(parsed.file)).map(Some);
        }
        self.write_full(&id, vec![parsed], false).map(Some)
    }

    fn parse_whole(&self, file: NativeFile) -> Result<Parsed> {
        parse_whole(&self.agents, file)
    }

    /// Rebuild a session from all its native files (plus `extra`, a newly seen one).
    fn recapture(&mut self, id: &SessionId, extra: Option<NativeFile>) -> Result<CaptureReport> {
        let files = self.session_files(id, extra)?;
        self.recapture_files(id, files)
    }

    /// The native files the index knows for a session, that are still there, plus `extra`.
    fn session_files(&self, id: &SessionId, extra: Option<NativeFile>) -> Result<Vec<NativeFile>> {
        let mut files: Vec<NativeFile> = Vec::new();
        for row in self.store.index().native_files_of(id)? {
            let path = PathBuf::from(&row.path);
            if let Some((_, f)) = self.classify(&path)
                && path.is_file()
            {
                files.push(f);
            }
        }
        if let Some(f) = extra
            && !files.iter().any(|x| x.path == f.path)
        {
            files.push(f);
        }
        Ok(files)
    }

    /// Rebuild a session from `files`, its main file first.
    fn recapture_files(&mut self, id: &SessionId, mut files: Vec<NativeFile>) -> Result<CaptureReport> {
        files.sort_by_key(|f| (f.subagent.is_some(), f.path.clone()));
        let parsed = files.into_iter().map(|f| self.parse_whole(f)).collect::<Result<Vec<_>>>()?;
        self.write_full(id, parsed, false)
    }

    /// Read a restored session's native files again from their start, and add to its stored copy what they
    /// hold that it lacks. While a session is deleted its files are not read, and a copy pulled back from the
    /// server lacks what this machine captured and never pushed: the agent's files still hold both. The stored
    /// copy (the server's, or the one kept here) is kept whole, the native files' messages it lacks go after
    /// it, and capture goes on from the files' ends. The session must no longer be in `deleted.json`.
    ///
    /// Its files are those the index has positions for, and any other whose name carries its agent's ID for
    /// the session. `Ok(None)`: no such file, or none with a message, and no stored copy.
    pub fn recapture_restored(&mut self, id: &SessionId) -> Result<Option<CaptureReport>> {
        let mut files = self.session_files(id, None)?;
        for f in self.discover() {
            let named = f.native_id.as_deref().is_some_and(|n| !n.is_empty() && SessionId::derive(n) == *id);
            if named && !files.iter().any(|x| x.path == f.path) {
                files.push(f);
            }
        }
        if files.is_empty() {
            return Ok(None);
        }
        files.sort_by_key(|f| (f.subagent.is_some(), f.path.clone()));
        // As in `capture_path`: one capture at a time across processes (the daemon may be capturing).
        self.in_batch(|c| {
            let parsed = files.into_iter().map(|f| c.parse_whole(f)).collect::<Result<Vec<_>>>()?;
            let known = c.store.index().session(id)?.is_some() || c.store.session_dir(id).exists();
            if !known && parsed.iter().all(|p| p.messages.is_empty()) {
                return Ok(None); // as for any file: no session until its first message
            }
            c.write_full(id, parsed, true).map(Some)
        })
    }

    /// Write a whole session from parsed files: append when the stored copy is a prefix of it, rewrite
    /// when it is at least as long, keep the stored copy when it is longer. `restoring`
    /// ([`Capturer::recapture_restored`]): the stored copy is kept, not rewritten, also when it and the native
    /// files each hold messages the other lacks.
    fn write_full(&mut self, id: &SessionId, mut parsed: Vec<Parsed>, restoring: bool) -> Result<CaptureReport> {
        let Some(first) = parsed.first() else {
            return Err(ClientError::NotFound(id.to_string()));
        };
        let agent = first.file.agent;
        let main_path = first.file.path.clone();
        let deleted = DeletedList::load(&self.store.paths().deleted_json());
        // Move the messages out (sessions can be large; no copies), keeping each file's count.
        let counts: Vec<u64> = parsed.iter().map(|p| p.messages.len() as u64).collect();
        // Prepared ahead only for a session of one file, which an import's new sessions usually are.
        let prepared_ahead = match parsed.as_mut_slice() {
            [only] => only.prepared.take(),
            _ => None,
        };
        let mut all: Vec<Message> = Vec::with_capacity(counts.iter().sum::<u64>() as usize);
        for p in &mut parsed {
            all.append(&mut p.messages);
        }
        if parsed.len() > 1 {
            // The same messages in two files (a project folder copied after a rename) are one conversation. Only
            // equal messages go: IDs alone can repeat across files (Codex numbers each file's messages).
            let mut kept: Vec<Message> = Vec::with_capacity(all.len());
            let mut first: HashMap<String, usize> = HashMap::new();
            for m in all.drain(..) {
                match first.get(&m.msg_id) {
                    Some(&earlier) if kept[earlier] == m => continue,
                    Some(_) => {}
                    None => {
                        first.insert(m.msg_id.clone(), kept.len());
                    }
                }
                kept.push(m);
            }
            all = kept;
        }
        let skipped: u64 = parsed.iter().map(|p| p.skipped.len() as u64).sum();
        let dir = self.store.session_dir(id);
        let mut row = self.store.index().session(id)?;
        if row.is_none() && !deleted.contains(id) && !dir.exists() && has_messages(&dir) {
            // Messages with no manifest beside them (it was lost): a stored copy all the same. A manifest is made
            // for it, so that it is indexed and compared below like any stored copy, not written over.
            warn!(session.id = %id, "a session folder has messages but no manifest.json; writing one and keeping its messages");
            dir.write_manifest(&Manifest::new(id.clone(), agent, Timestamp::now()))?;
        }
        if row.is_none() && !deleted.contains(id) && dir.exists() {
            // A stored copy the index does not list (index.db was lost or deleted): indexed as it is first, so
            // that it is compared with the native files like any stored copy, and a longer one is kept.
            info!(session.id = %id, "indexing the stored copy of a session the index had lost");
            self.store.reindex_session(id)?;
            row = self.store.index().session(id)?;
        }
        if !deleted.contains(id) && !self.adopt_uncommitted(id)?.is_empty() {
            row = self.store.index().session(id)?;
        }
        let stored_count = row.as_ref().map_or(0, |r| r.message_count);
        let is_prefix_of_all = |stored: &[Message]| {
            stored.len() <= all.len() && stored.iter().zip(&all).all(|(a, b)| a.msg_id == b.msg_id)
        };
        // Read here only when restoring (a rewrite is decided on lengths otherwise).
        let mut stored_read = match row.as_ref() {
            Some(_) if restoring && !deleted.contains(id) => Some(dir.read_messages()?.messages),
            _ => None,
        };
        let diverged = stored_read.as_deref().is_some_and(|stored| !is_prefix_of_all(stored));

        let mut tx_plan = WritePlan::default();
        if deleted.contains(id) {
            info!(session.id = %id, "not capturing a deleted session");
        } else if let Some(row) = row.as_ref().filter(|_| (all.len() as u64) < stored_count || diverged) {
            if diverged && (all.len() as u64) >= stored_count {
                info!(session.id = %id, "the restored copy and the native files each hold messages the other lacks; keeping the restored copy and adding the others after it");
            } else {
                warn!(session.id = %id, stored = stored_count, native = all.len(), "native files are shorter than the stored session; keeping the stored copy");
            }
            tx_plan.kept_longer = true;
            // What the native files hold that the stored copy does not (a turn added in the same pass as the
            // file shrank, or while the session was deleted) goes after it.
            let stored = match stored_read.take() {
                Some(stored) => stored,
                None => dir.read_messages()?.messages,
            };
            let mut have: HashMap<&str, Vec<&Message>> = HashMap::new();
            for m in &stored {
                have.entry(m.msg_id.as_str()).or_default().push(m);
            }
            // Not by ID alone: a Codex file rewritten shorter numbers its new messages like stored ones.
            let new: Vec<Message> = all
                .drain(..)
                .filter(|m| !have.get(m.msg_id.as_str()).is_some_and(|same_id| same_id.iter().any(|s| s.is_copy_of(m))))
                .collect();
            if !new.is_empty() {
                let prepared = Prepared::new(&new);
                tx_plan.base = dir.append_lines(row.messages_bytes, &prepared.lines)?;
                tx_plan.total = row.message_count + new.len() as u64;
                tx_plan.tool_uses = row.tool_use_count + new.iter().map(|m| m.tool_use_count() as u64).sum::<u64>();
                tx_plan.new_messages = new;
                tx_plan.prepared = prepared;
            }
        } else {
            dir.create()?;
            let stored = match (stored_read.take(), row.is_some()) {
                (Some(stored), _) => stored,
                (None, true) => dir.read_messages()?.messages,
                (None, false) => Vec::new(),
            };
            let is_prefix = is_prefix_of_all(&stored);
            tx_plan.total = all.len() as u64;
            tx_plan.tool_uses = all.iter().map(|m| m.tool_use_count() as u64).sum();
            if row.is_none() {
                // Not listed yet, so not read by anyone: written in place (see `SessionDir::put_json`).
                let prepared = prepared_ahead.unwrap_or_else(|| Prepared::new(&all));
                tx_plan.base = dir.append_lines(0, &prepared.lines)?;
                tx_plan.unlisted = true;
                tx_plan.new_messages = std::mem::take(&mut all);
                tx_plan.prepared = prepared;
            } else if is_prefix {
                let new = all.split_off(stored.len());
                let prepared = Prepared::new(&new);
                tx_plan.base = dir.append_lines(row.as_ref().map_or(0, |r| r.messages_bytes), &prepared.lines)?;
                tx_plan.new_messages = new;
                tx_plan.prepared = prepared;
            } else {
                let prepared = Prepared::new(&all);
                dir.rewrite_lines(&prepared.lines)?;
                tx_plan.reindex_all = true;
                tx_plan.new_messages = std::mem::take(&mut all);
                tx_plan.prepared = prepared;
            }
        }

        let mut native_rows = native_rows_of(&parsed, &counts, id);
        if deleted.contains(id) {
            // A file seen for the first time is recorded, so it is not parsed again on every pass; the others
            // keep their positions (see `capture_path_with`), and a restore reads them all again.
            let mut first_seen = Vec::new();
            for r in native_rows {
                if self.store.index().native_file(&r.path)?.is_none() {
                    first_seen.push(r);
                }
            }
            native_rows = first_seen;
        }
        let metas = metas_of(&parsed);
        let report = CaptureReport {
            session_id: id.clone(),
            agent,
            new_messages: tx_plan.new_messages.len() as u64,
            skipped,
            recaptured: true,
            kept_longer_copy: tx_plan.kept_longer,
        };
        let skip_session = deleted.contains(id) || (tx_plan.kept_longer && tx_plan.new_messages.is_empty());
        let texts = std::mem::take(&mut tx_plan.prepared.texts);
        let w = SessionWrite {
            id,
            agent,
            main_path: &main_path,
            metas: &metas,
            native_rows: &native_rows,
            plan: &tx_plan,
            // Messages added to a copy kept longer: its counts stay at least what they were (the native files
            // count less than it holds).
            carried: match row.as_ref() {
                Some(row) if tx_plan.kept_longer => Totals::of(&metas).beyond(row),
                _ => Totals::default(),
            },
        };
        self.commit(&w, texts, skip_session)?;
        Ok(report)
    }

    /// The fast path: new messages from an appended file. `None`: the session is deleted, and the file's
    /// position stays where it was (see `capture_path_with`).
    fn append(
        &mut self,
        prev: NativeFileRow,
        file: NativeFile,
        fed: Fed,
        offset: u64,
    ) -> Result<Option<CaptureReport>> {
        let Fed { before, parser, mut messages, skipped } = fed;
        let id = prev.session_id.clone();
        if DeletedList::load(&self.store.paths().deleted_json()).contains(&id) {
            return Ok(None);
        }
        // Written by a pass that was not committed: the native file brings them again, once is enough.
        let adopted = self.adopt_uncommitted(&id)?;
        messages.retain(|m| !adopted.contains(&m.msg_id));
        let row = self.store.index().session(&id)?;
        let mut plan = WritePlan::default();
        let skip_session = row.is_none();
        if !skip_session {
            let row = row.as_ref().ok_or_else(|| ClientError::NotFound(id.to_string()))?;
            let dir = self.store.session_dir(&id);
            dir.create()?;
            let prepared = Prepared::new(&messages);
            plan.base = dir.append_lines(row.messages_bytes, &prepared.lines)?;
            plan.prepared = prepared;
            plan.total = row.message_count + messages.len() as u64;
            plan.tool_uses = row.tool_use_count + messages.iter().map(|m| m.tool_use_count() as u64).sum::<u64>();
            plan.new_messages = messages;
        }
        let now = now();
        for s in &skipped {
            warn!(agent = %file.agent, path = %file.path.display(), line = s.line, error = %s.error, "skipped an unparseable record");
        }
        let this = NativeFileRow {
            offset,
            head_hash: Some(hash_head(&file.path, offset.min(HEAD_BYTES))?),
            parser_state: Some(parser.save().to_string()),
            messages: prev.messages + plan.new_messages.len() as u64,
            records_skipped: prev.records_skipped + skipped.len() as u64,
            last_error: skipped.last().map(|s| skipped_error(&file.path, s)).or(prev.last_error.clone()),
            last_error_at: skipped.last().map(|_| now.clone()).or(prev.last_error_at.clone()),
            last_captured_at: Some(now.clone()),
            ..prev
        };
        // Session-level facts come from every file of the session; the others' are in their saved states.
        let mut metas: Vec<(Option<String>, SessionMeta)> = Vec::new();
        let rows = vec![this];
        for other in self.store.index().native_files_of(&id)? {
            if other.path == rows[0].path {
                continue;
            }
            let meta = other
                .parser_state
                .as_deref()
                .and_then(|s| serde_json::from_str::<SavedMeta>(s).ok())
                .map(|s| s.meta)
                .unwrap_or_default();
            metas.push((other.subagent.clone(), meta));
        }
        // What the native files counted before these lines: the stored copy may hold more (a longer copy kept
        // when the file shrank), and its stats carry that on (see `build_manifest`).
        metas.insert(0, (file.subagent.clone(), before));
        let carried = row.as_ref().map_or_else(Totals::default, |row| Totals::of(&metas).beyond(row));
        metas[0].1 = parser.meta().clone();
        let main_path = if file.subagent.is_none() {
            file.path.clone()
        } else {
            self.store
                .index()
                .native_files_of(&id)?
                .into_iter()
                .find(|r| r.subagent.is_none())
                .map_or(file.path.clone(), |r| PathBuf::from(r.path))
        };
        let report = CaptureReport {
            session_id: id.clone(),
            agent: file.agent,
            new_messages: plan.new_messages.len() as u64,
            skipped: skipped.len() as u64,
            recaptured: false,
            kept_longer_copy: false,
        };
        let texts = std::mem::take(&mut plan.prepared.texts);
        let w = SessionWrite {
            id: &id,
            agent: file.agent,
            main_path: &main_path,
            metas: &metas,
            native_rows: &rows,
            plan: &plan,
            carried,
        };
        self.commit(&w, texts, skip_session)?;
        Ok(Some(report))
    }

    /// Take into the index what `messages.jsonl` holds past the length the index committed: whole message
    /// lines that a pass wrote and did not commit (it was killed between the two, or `index.db` is older than
    /// the store, restored from a backup). Cutting them, as a crash's leftovers once were, lost them when the
    /// native file no longer had them. A half-written last line is cut. The file is then indexed again whole
    /// (a committed end that is not a line's end means the index does not match it at all), and the IDs of its
    /// messages returned: the native files may bring some of them again.
    fn adopt_uncommitted(&mut self, id: &SessionId) -> Result<HashSet<String>> {
        let Some(row) = self.store.index().session(id)? else {
            return Ok(HashSet::new());
        };
        let dir = self.store.session_dir(id);
        let len = std::fs::metadata(dir.path().join(files::MESSAGES)).map_or(0, |m| m.len());
        if len <= row.messages_bytes || dir.cut_after_last_line()? == row.messages_bytes {
            return Ok(HashSet::new());
        }
        warn!(session.id = %id, "messages.jsonl holds lines the index never committed; taking them in");
        self.store.reindex_messages(id)
    }

    /// Write the manifest and side files, then commit the index: the index is the commit point. `texts` are
    /// the plan's searchable texts, taken out of it: they move on to the full-text index, not copied.
    fn commit(&mut self, w: &SessionWrite<'_>, texts: Vec<String>, skip_session: bool) -> Result<()> {
        let session_row = if skip_session {
            None
        } else {
            let dir = self.store.session_dir(w.id);
            Some(write_session_files(&dir, self.store.index().conn(), w)?)
        };
        self.commit_index(w.id, session_row.as_ref(), w.native_rows, w.plan, texts)
    }

    /// Commit a session's index rows: its row and new messages (unless it is not to be written), and the
    /// capture positions of its native files. `texts` are the new messages' searchable texts.
    fn commit_index(
        &mut self,
        id: &SessionId,
        session_row: Option<&SessionRow>,
        native_rows: &[NativeFileRow],
        plan: &WritePlan,
        texts: Vec<String>,
    ) -> Result<()> {
        let now = now();
        let index = self.store.index_mut();
        let tx = index.write()?;
        if let Some(row) = session_row {
            write::upsert_session(&tx, row, &now)?;
            if plan.reindex_all {
                write::clear_messages(&tx, id)?;
            }
            let spans = plan.prepared.lines.spans_at(plan.base);
            write::index_messages(&tx, id, &spans, texts)?;
        }
        for r in native_rows {
            write::put_native_file(&tx, r)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// What feeding an appended file's new lines to its parser gave.
struct Fed {
    /// The parser's session facts before the new lines.
    before: SessionMeta,
    parser: Box<dyn NativeParser>,
    messages: Vec<Message>,
    skipped: Vec<SkippedRecord>,
}

/// A session as a capture writes it, after parsing: what writing its files and its index rows needs.
struct SessionWrite<'a> {
    id: &'a SessionId,
    agent: AgentKind,
    /// The main native file (the session's `source.original_path`).
    main_path: &'a Path,
    /// Each native file's session facts, with its sub-agent (none for the main file).
    metas: &'a [(Option<String>, SessionMeta)],
    /// The capture positions of its native files.
    native_rows: &'a [NativeFileRow],
    plan: &'a WritePlan,
    /// What the stored copy counts beyond its native files (a copy kept longer than a file that shrank), from
    /// the index's committed row: the manifest on disk may already count a pass that was never committed.
    carried: Totals,
}

/// The stats a manifest takes from its files' session facts: the main file's turns, and every file's tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    turns: u64,
    input_tokens: u64,
    output_tokens: u64,
}

impl Totals {
    fn of(metas: &[(Option<String>, SessionMeta)]) -> Self {
        let main = metas.iter().find(|(sub, _)| sub.is_none()).or(metas.first()).map(|(_, m)| m);
        Self {
            turns: main.map_or(0, |m| m.turn_count),
            input_tokens: metas.iter().map(|(_, m)| m.input_tokens).sum(),
            output_tokens: metas.iter().map(|(_, m)| m.output_tokens).sum(),
        }
    }

    /// What the index's committed `row` counts beyond these totals: the part of a stored copy its native
    /// files no longer hold.
    fn beyond(self, row: &SessionRow) -> Self {
        Self {
            turns: row.turn_count.saturating_sub(self.turns),
            input_tokens: row.total_input_tokens.saturating_sub(self.input_tokens),
            output_tokens: row.total_output_tokens.saturating_sub(self.output_tokens),
        }
    }
}

/// Write a session's manifest and side files into `dir` (the messages are written already); returns the
/// session's index row. `conn` is read for the resume that may have written the session.
fn write_session_files(dir: &SessionDir, conn: &rusqlite::Connection, w: &SessionWrite<'_>) -> Result<SessionRow> {
    let SessionWrite { agent, main_path, metas, plan, .. } = *w;
    // A session the index does not list yet may still have a manifest (the index was deleted and is
    // being rebuilt by capture): its user fields are kept.
    let previous = dir.read_manifest().ok().flatten();
    let unlisted = plan.unlisted;
    let mut manifest = build_manifest(w, previous.as_ref());
    // A native session `sfs resume` wrote continues another session: link it, don't start a new line.
    let native_id = manifest.source.original_session_id.clone();
    let main_key = main_path.to_string_lossy();
    if let Some(origin) = crate::index::resume_origin(conn, &main_key, agent.as_str(), native_id.as_deref())? {
        link_to_origin(&mut manifest, &origin);
    }
    let manifest_len = dir.put_json(files::MANIFEST, &manifest, unlisted)?;
    let main = metas.iter().find(|(s, _)| s.is_none()).map(|(_, m)| m).or(metas.first().map(|(_, m)| m));
    if let Some(cwd) = main.and_then(|m| m.cwd.clone()) {
        let m = main.cloned().unwrap_or_default();
        let git = (m.git_branch.is_some() || m.git_commit.is_some() || m.git_remote.is_some()).then(|| GitInfo {
            remote_url: m.git_remote,
            branch: m.git_branch,
            commit_sha: m.git_commit,
            extra: Default::default(),
        });
        let ws = Workspace { root_path: cwd, git, files: Vec::new(), extra: Default::default() };
        if dir.read_json::<Workspace>(files::WORKSPACE).ok().flatten().as_ref() != Some(&ws) {
            dir.put_json(files::WORKSPACE, &ws, unlisted)?;
        }
    }
    let mut tools: Tools = dir.read_json(files::TOOLS).ok().flatten().unwrap_or_default();
    let mut names: BTreeSet<String> =
        if plan.reindex_all { BTreeSet::new() } else { tools.tools_used.iter().cloned().collect() };
    for m in &plan.new_messages {
        for b in &m.content {
            if let Block::ToolUse { name, .. } = b {
                names.insert(name.clone());
            }
        }
    }
    let used: Vec<String> = names.into_iter().collect();
    if used != tools.tools_used {
        tools.tools_used = used;
        dir.put_json(files::TOOLS, &tools, unlisted)?;
    }
    let side: u64 = [files::WORKSPACE, files::TOOLS]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum();
    let messages_bytes = plan.messages_end();
    let mut row = SessionRow::from_manifest(&manifest, messages_bytes, messages_bytes + manifest_len + side);
    row.project_path = main.and_then(|x| x.cwd.clone());
    Ok(row)
}

/// The capture positions of parsed files of session `id` (`counts`: each file's messages), logging what
/// each file skipped.
fn native_rows_of(parsed: &[Parsed], counts: &[u64], id: &SessionId) -> Vec<NativeFileRow> {
    let now = now();
    for p in parsed {
        for s in &p.skipped {
            warn!(agent = %p.file.agent, path = %p.file.path.display(), line = s.line, error = %s.error, "skipped an unparseable record");
        }
    }
    parsed
        .iter()
        .zip(counts)
        .map(|(p, count)| NativeFileRow {
            path: p.file.path.to_string_lossy().into_owned(),
            agent: p.file.agent.as_str().to_owned(),
            session_id: id.clone(),
            subagent: p.file.subagent.clone(),
            offset: p.offset,
            head_hash: Some(p.head_hash.clone()),
            parser_state: Some(p.parser.save().to_string()),
            messages: *count,
            records_skipped: p.skipped.len() as u64,
            last_error: p.skipped.last().map(|s| skipped_error(&p.file.path, s)),
            last_error_at: p.skipped.last().map(|_| now.clone()),
            last_captured_at: Some(now.clone()),
        })
        .collect()
}

/// Whether a session folder's `messages.jsonl` holds anything.
fn has_messages(dir: &SessionDir) -> bool {
    std::fs::metadata(dir.path().join(files::MESSAGES)).is_ok_and(|m| m.len() > 0)
}

/// How a skipped record is reported in `status` and `doctor`: where it is, and why.
fn skipped_error(path: &Path, s: &SkippedRecord) -> String {
    format!("{} line {}: {}", path.display(), s.line, s.error)
}

/// Each parsed file's session facts, with its sub-agent (none for the main file).
fn metas_of(parsed: &[Parsed]) -> Vec<(Option<String>, SessionMeta)> {
    parsed.iter().map(|p| (p.file.subagent.clone(), p.parser.meta().clone())).collect()
}

/// Read and parse a whole native file.
fn parse_whole(agents: &[Box<dyn Agent>], file: NativeFile) -> Result<Parsed> {
    parse_whole_in(agents, file, &mut Vec::new())
}

/// [`parse_whole`], reading the file into `bytes`.
fn parse_whole_in(agents: &[Box<dyn Agent>], file: NativeFile, bytes: &mut Vec<u8>) -> Result<Parsed> {
    let agent =
        agents.iter().find(|a| a.kind() == file.agent).ok_or_else(|| ClientError::NotFound(file.agent.to_string()))?;
    read_into(&file.path, 0, bytes)?;
    let mut parser = agent.parser(&file);
    let out = parser.feed(bytes, true);
    // The bytes parsed, not the file read again: what the hash identifies is what this capture saw.
    let offset = match parser.mode() {
        ParseMode::Incremental => out.consumed,
        ParseMode::Snapshot => bytes.len() as u64,
    };
    let head = match parser.mode() {
        ParseMode::Incremental => &bytes[..(offset.min(HEAD_BYTES) as usize).min(bytes.len())],
        ParseMode::Snapshot => &bytes[..],
    };
    let head_hash = hash_of_head(head);
    Ok(Parsed { file, parser, messages: out.messages, prepared: None, skipped: out.skipped, offset, head_hash })
}

#[derive(Default)]
struct WritePlan {
    /// The session is not in the index yet: its files are written in place.
    unlisted: bool,
    new_messages: Vec<Message>,
    /// `new_messages` as written, at `base` in `messages.jsonl`.
    prepared: Prepared,
    base: u64,
    reindex_all: bool,
    total: u64,
    tool_uses: u64,
    kept_longer: bool,
}

impl WritePlan {
    /// The length of `messages.jsonl` once the new lines are written.
    fn messages_end(&self) -> u64 {
        self.base + self.prepared.lines.byte_len()
    }
}

fn session_id_of(p: &Parsed) -> Option<SessionId> {
    let native = if p.file.subagent.is_some() {
        p.file.native_id.clone()
    } else {
        p.parser.meta().native_id.clone().or_else(|| p.file.native_id.clone())
    };
    native.filter(|n| !n.is_empty()).map(|n| SessionId::derive(&n))
}

/// Mark a session as the continuation of the one a resume wrote it from.
fn link_to_origin(manifest: &mut Manifest, origin: &ResumeRecord) {
    if origin.origin_session_id == manifest.session_id {
        return;
    }
    manifest.parent_session_id = Some(origin.origin_session_id.to_string());
    manifest.metadata.insert(
        "resumed_from".into(),
        serde_json::json!({
            "session_id": origin.origin_session_id,
            "agent": origin.agent,
            "native_id": origin.native_id,
            "written_messages": origin.written_messages,
            "resumed_at": origin.created_at,
        }),
    );
}

fn build_manifest(w: &SessionWrite<'_>, previous: Option<&Manifest>) -> Manifest {
    let SessionWrite { id, agent, main_path, metas, native_rows, plan, carried } = *w;
    let main = metas
        .iter()
        .find(|(s, _)| s.is_none())
        .map(|(_, m)| m.clone())
        .or_else(|| metas.first().map(|(_, m)| m.clone()))
        .unwrap_or_default();
    let created = metas
        .iter()
        .filter_map(|(_, m)| m.created_at)
        .min()
        .or(previous.map(|p| p.created_at))
        .or_else(|| mtime(main_path))
        .unwrap_or_else(Timestamp::now);
    let updated = metas.iter().filter_map(|(_, m)| m.updated_at).max().or_else(|| mtime(main_path));
    let mut m = Manifest::new(id.clone(), agent, created);
    m.updated_at = updated;
    m.title = main.title.clone().or_else(|| main.first_prompt.as_deref().and_then(title_from_prompt));
    m.source.tool_version.clone_from(&main.tool_version);
    m.source.original_session_id.clone_from(&main.native_id);
    m.source.original_path = Some(main_path.to_string_lossy().into_owned());
    m.source.interface.clone_from(&main.interface);
    m.model = main.model.as_ref().map(|model| ModelInfo {
        provider: main.provider.clone().or_else(|| Some(agent.default_provider().to_owned())),
        model_id: Some(model.clone()),
        reasoning_effort: None,
        extra: Default::default(),
    });
    let duration = match (m.updated_at, Some(created)) {
        (Some(u), Some(c)) if u >= c => Some((u.millis() - c.millis()) as u64),
        _ => None,
    };
    let totals = Totals::of(metas);
    m.stats = Some(SessionStats {
        message_count: plan.total,
        turn_count: totals.turns + carried.turns,
        tool_use_count: plan.tool_uses,
        total_input_tokens: totals.input_tokens + carried.input_tokens,
        total_output_tokens: totals.output_tokens + carried.output_tokens,
        estimated_cost_usd: None,
        duration_ms: duration,
    });
    m.sub_agents = metas
        .iter()
        .filter_map(|(sub, meta)| {
            let agent_id = sub.clone()?;
            let count =
                native_rows.iter().find(|r| r.subagent.as_deref() == Some(agent_id.as_str())).map_or(0, |r| r.messages);
            Some(SubAgent { agent_id, model: meta.model.clone(), message_count: count })
        })
        .collect();
    if let Some(prev) = previous {
        m.keep_user_fields(prev);
        if m.title.is_none() {
            m.title.clone_from(&prev.title);
        }
    }
    m
}
