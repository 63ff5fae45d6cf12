//! Work done ahead of an import, on two more threads, while the importing thread indexes earlier sessions.
//!
//! Every file the index has never seen (an import's usual case) is read, parsed and encoded on one thread.
//! On the next, a file that is a whole new session (a main file, no session of that ID in the index or the
//! store, not deleted) has its session directory written complete under `staging/<pid>/`, beside the
//! store. The importing thread then only moves it into `sessions/` (one rename: the session appears whole
//! or not at all) and commits its index rows. Creating files is a large part of a capture's cost on some
//! file systems, and this takes it off the thread that holds the index's write lock.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;
use sessionfs_agents::{Agent, NativeFile};
use sessionfs_shared::SessionId;
use tracing::debug;

use super::{
    CaptureReport, Capturer, MAX_KEPT_BUFFER, Parsed, Prepared, SessionWrite, Totals, WritePlan, metas_of,
    native_rows_of, parse_whole_in, session_id_of, write_session_files,
};
use crate::deleted::DeletedList;
use crate::error::{ClientError, Result};
use crate::index::{NativeFileRow, SessionRow};
use crate::paths::StorePaths;
use crate::session_dir::SessionDir;

/// What the threads ahead of an import hand over for one file.
pub(super) enum Ahead {
    /// Parsed, to be written by the importing thread.
    Parsed(Box<Parsed>),
    /// A new session, written complete in a staging directory.
    Staged(Box<Staged>),
}

/// A new session's directory, written complete, waiting to be moved into the store and indexed.
pub(super) struct Staged {
    native_path: PathBuf,
    dir: PathBuf,
    id: SessionId,
    row: SessionRow,
    native_rows: Vec<NativeFileRow>,
    plan: WritePlan,
    report: CaptureReport,
}

/// This process's staging directory. Each importing process has its own, so two never share one.
pub(super) fn staging_dir(paths: &StorePaths) -> PathBuf {
    paths.staging().join(std::process::id().to_string())
}

/// How long an import's staging folder may stand untouched before another import takes it for the leftover
/// of a killed process and removes it. An import in progress touches its folder with every new session.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Remove what killed imports left in `staging/`: this process's folder (a leftover of an earlier process
/// with the same pid), and any folder untouched for a day.
pub(super) fn remove_abandoned_staging(paths: &StorePaths) {
    let _ = fs::remove_dir_all(staging_dir(paths));
    let Ok(entries) = fs::read_dir(paths.staging()) else {
        return;
    };
    for entry in entries.flatten() {
        let idle = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        if idle.is_some_and(|idle| idle > ABANDONED_AFTER) {
            debug!(path = %entry.path().display(), "removing an abandoned staging folder");
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Parse `files` in order, sending one answer per file: `None` for a file the index already knows, or that
/// is not a regular file (links are not followed, see `capture_path`).
pub(super) fn parse_ahead(
    agents: &[Box<dyn Agent>],
    paths: &StorePaths,
    files: Vec<NativeFile>,
    tx: mpsc::SyncSender<Option<Result<Parsed>>>,
) {
    // Its own connection: WAL readers never wait for the importer's write transaction.
    let conn = crate::index::open_connection(&paths.index_db()).ok();
    let mut bytes = Vec::new();
    for file in files {
        let known = conn.as_ref().is_none_or(|c| {
            c.prepare_cached("SELECT 1 FROM native_files WHERE path = ?1")
                .and_then(|mut known| known.exists([file.path.to_string_lossy()]))
                .unwrap_or(false)
        });
        let regular = fs::symlink_metadata(&file.path).is_ok_and(|m| m.file_type().is_file());
        let parsed = (!known && regular).then(|| {
            parse_whole_in(agents, file, &mut bytes).map(|mut p| {
                p.prepared = Some(Prepared::sized(&p.messages, bytes.len()));
                p
            })
        });
        if bytes.capacity() > MAX_KEPT_BUFFER {
            bytes = Vec::new(); // one huge session's memory is not held for the rest of the import
        }
        if tx.send(parsed).is_err() {
            return; // the importer stopped
        }
    }
}

/// Stage the new sessions among what [`parse_ahead`] sends, passing everything on in order. A thread of its
/// own: where creating files is slow, this is the longest stage, and on its own thread it shares the
/// cores with parsing and indexing instead of adding to either.
pub(super) fn stage_new(
    paths: &StorePaths,
    rx: mpsc::Receiver<Option<Result<Parsed>>>,
    tx: mpsc::SyncSender<Option<Result<Ahead>>>,
) {
    let conn = crate::index::open_connection(&paths.index_db()).ok();
    let deleted = DeletedList::load(&paths.deleted_json());
    let staging = staging_dir(paths);
    for (n, parsed) in rx.into_iter().enumerate() {
        let ahead = parsed.map(|parsed| {
            let parsed = parsed?;
            match conn.as_ref() {
                Some(c) if is_new_session(c, paths, &deleted, &parsed) => {
                    // Named by position, not session: two files of one session must not share a folder.
                    stage(c, &staging.join(n.to_string()), parsed).map(|s| Ahead::Staged(Box::new(s)))
                }
                _ => Ok(Ahead::Parsed(Box::new(parsed))),
            }
        });
        if tx.send(ahead).is_err() {
            return;
        }
    }
}

/// Whether `p` starts a session nobody has: a main file whose session is neither indexed, nor in the store
/// (a store whose index is being rebuilt keeps its user fields, which the ordinary path merges), nor deleted.
fn is_new_session(conn: &Connection, paths: &StorePaths, deleted: &DeletedList, p: &Parsed) -> bool {
    let Some(id) = session_id_of(p).filter(|_| p.file.subagent.is_none()) else {
        return false;
    };
    let indexed = conn
        .prepare_cached("SELECT 1 FROM sessions WHERE session_id = ?1")
        .and_then(|mut indexed| indexed.exists([id.as_str()]))
        .unwrap_or(false);
    // A file without messages yet is left to the ordinary path, which does not make it a session.
    !p.messages.is_empty() && !indexed && !deleted.contains(&id) && !paths.session(&id).exists()
}

/// Write the session of `p` complete in the folder `at`.
fn stage(conn: &Connection, at: &Path, mut p: Parsed) -> Result<Staged> {
    let id = session_id_of(&p).ok_or_else(|| ClientError::NotFound(p.file.path.display().to_string()))?;
    let dir = SessionDir::new(at);
    let written = (|| -> Result<_> {
        dir.create()?;
        let prepared = p.prepared.take().unwrap_or_else(|| Prepared::new(&p.messages));
        let base = dir.append_lines(0, &prepared.lines)?;
        let native_rows = native_rows_of(std::slice::from_ref(&p), &[p.messages.len() as u64], &id);
        let metas = metas_of(std::slice::from_ref(&p));
        let plan = WritePlan {
            unlisted: true,
            total: p.messages.len() as u64,
            tool_uses: p.messages.iter().map(|m| m.tool_use_count() as u64).sum(),
            new_messages: std::mem::take(&mut p.messages),
            prepared,
            base,
            ..WritePlan::default()
        };
        let w = SessionWrite {
            id: &id,
            agent: p.file.agent,
            main_path: &p.file.path,
            metas: &metas,
            native_rows: &native_rows,
            plan: &plan,
            carried: Totals::default(),
        };
        let row = write_session_files(&dir, conn, &w)?;
        Ok((row, native_rows, plan))
    })();
    let (row, native_rows, plan) = written.inspect_err(|_| {
        let _ = fs::remove_dir_all(dir.path());
    })?;
    let report = CaptureReport {
        session_id: id.clone(),
        agent: p.file.agent,
        new_messages: plan.new_messages.len() as u64,
        skipped: p.skipped.len() as u64,
        recaptured: true,
        kept_longer_copy: false,
    };
    Ok(Staged { native_path: p.file.path, dir: dir.path().to_owned(), id, row, native_rows, plan, report })
}

impl Capturer {
    /// Move a staged session into the store and index it, if it is still new; else drop the staged copy
    /// and capture its file the ordinary way (someone else, the daemon say, captured it meanwhile).
    pub(super) fn commit_staged(&mut self, mut s: Box<Staged>) -> Result<Option<CaptureReport>> {
        let dest = self.store.paths().session(&s.id);
        let index = self.store.index();
        let still_new = index.native_file(&s.native_path.to_string_lossy())?.is_none()
            && index.session(&s.id)?.is_none()
            && !DeletedList::load(&self.store.paths().deleted_json()).contains(&s.id)
            && !dest.exists();
        if !still_new || fs::rename(&s.dir, &dest).is_err() {
            debug!(session.id = %s.id, "a staged session is no longer new; capturing it again");
            let _ = fs::remove_dir_all(&s.dir);
            return self.capture_path(&s.native_path);
        }
        let texts = std::mem::take(&mut s.plan.prepared.texts);
        self.commit_index(&s.id, Some(&s.row), &s.native_rows, &s.plan, texts)?;
        Ok(Some(s.report))
    }
}
