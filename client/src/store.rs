//! The store: the `.sfs` directories and the index, opened together.

use std::fs;

use rusqlite::{OptionalExtension, params};

use sessionfs_shared::SessionId;
use sessionfs_shared::sfs::{Manifest, Workspace, files};

use crate::error::{ClientError, Result};
use crate::index::fulltext::Change;
use crate::index::{Index, SessionRow, write};
use crate::paths::StorePaths;
use crate::session_dir::{LineSpan, MessagesRead, SessionDir, restrict_permissions};

/// A local store.
pub struct Store {
    paths: StorePaths,
    index: Index,
}

impl Store {
    /// Open the store at `paths`, creating its folders and index on first use.
    pub fn open(paths: StorePaths) -> Result<Self> {
        Self::open_with(paths, false)
    }

    /// [`Store::open`]; `for_rebuild` leaves the indexes as they are (behind, or empty) for a rebuild that fills
    /// them.
    fn open_with(paths: StorePaths, for_rebuild: bool) -> Result<Self> {
        let sessions = paths.sessions();
        fs::create_dir_all(&sessions).map_err(ClientError::io("creating", &sessions))?;
        restrict_permissions(paths.root());
        // Only an index.db this open makes (there was none, or an empty file) can be one that was lost. An
        // existing index with no session but folders beside it is an import at work: it moves new sessions'
        // folders in before its batch commits their rows.
        let made = fs::metadata(paths.index_db()).map_or(true, |m| m.len() == 0);
        let index = Index::open(&paths.index_db(), &paths.fulltext_db(), &sessions)?;
        let mut store = Self { paths, index };
        if made && !for_rebuild {
            store.rebuild_lost_index()?;
        }
        store.reindex_after_upgrade()?;
        if !for_rebuild {
            store.catch_up_search()?;
        }
        Ok(store)
    }

    /// Rebuild the index of the store at `paths` from its session folders (`sfs doctor --rebuild-index`).
    /// `fulltext.db` starts from a new file, which the rebuild fills whole (a damaged one could fail it). A
    /// damaged `index.db`, whether opening it or the rebuild meets the damage, is moved aside (to
    /// `index.db.damaged`) and a new one built. What `index.db` alone held (capture positions, resume records)
    /// goes with it, so this is done only when asked; the next import reads every native file again. Returns
    /// the store, what the rebuild did, and where a damaged `index.db` went.
    pub fn rebuild(paths: StorePaths) -> Result<(Self, RebuildReport, Option<std::path::PathBuf>)> {
        let index_db = paths.index_db();
        match Self::open_and_rebuild(paths.clone()) {
            Err(ClientError::Damaged { path, .. }) if path == index_db => {}
            // With fulltext.db new, damage met by the rebuild is index.db's.
            Err(ClientError::Sqlite(e)) if crate::index::damage::is_damage(&e) => {}
            done => return done.map(|(store, report)| (store, report, None)),
        }
        let aside = crate::index::damage::move_aside(&index_db)?;
        tracing::warn!(aside = %aside.display(), "index.db was damaged: moved aside");
        let (store, report) = Self::open_and_rebuild(paths)?;
        Ok((store, report, Some(aside)))
    }

    fn open_and_rebuild(paths: StorePaths) -> Result<(Self, RebuildReport)> {
        for file in crate::paths::sqlite_files(&paths.fulltext_db()) {
            match fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound && !file.is_dir() => {
                    return Err(ClientError::io("removing", file)(e));
                }
                _ => {}
            }
        }
        let mut store = Self::open_with(paths, true)?;
        let report = store.rebuild_index()?;
        Ok((store, report))
    }

    /// Build the index again from the session folders when a new `index.db` lists no session but the store
    /// holds some: `index.db` was deleted or lost. Every command and the daemon open the store, so the first
    /// repairs it, before an import could take a stored copy for a new session (and `sfs list` say there is
    /// none).
    fn rebuild_lost_index(&mut self) -> Result<()> {
        let listed: bool = self.index.conn().query_row("SELECT EXISTS (SELECT 1 FROM sessions)", [], |r| r.get(0))?;
        if listed {
            return Ok(());
        }
        let stored = fs::read_dir(self.paths.sessions())
            .map(|mut dirs| dirs.any(|d| d.is_ok_and(|d| SessionDir::new(d.path()).exists())))
            .unwrap_or(false);
        if !stored {
            return Ok(());
        }
        tracing::warn!("the index lists no session but the store holds some: rebuilding it from the session folders");
        let report = self.rebuild_index()?;
        tracing::info!(sessions = report.sessions, messages = report.messages, "index rebuilt");
        for (path, error) in &report.failed {
            tracing::warn!(path, error, "a session folder could not be read; `sfs doctor` shows it");
        }
        Ok(())
    }

    /// Index for search the messages the full-text index is behind on: none, unless a writer crashed or an
    /// upgrade moved the index (then once, from the sessions' files). Not while another process is writing
    /// the full-text index: an import in progress is behind by design, and catches up itself.
    fn catch_up_search(&mut self) -> Result<()> {
        let lag = self.index.fulltext_lag()?;
        if lag == 0 {
            return Ok(());
        }
        if lag > 10_000 {
            // A warning only so that it shows: the command may take a minute, once.
            tracing::warn!(
                messages = lag,
                "building the search index from the sessions' files (once, after an upgrade or a lost fulltext.db)"
            );
        }
        let indexed = self.index.catch_up_fulltext(false)?;
        tracing::debug!(messages = indexed, "caught up the full-text index");
        Ok(())
    }

    /// Index again the messages an upgrade of the index dropped (see `index/003_contentless_fts.sql`). Once,
    /// in transactions of a few hundred sessions so the daemon and other commands are not kept waiting.
    fn reindex_after_upgrade(&mut self) -> Result<()> {
        let pending = self.index.reindex_pending()?;
        if pending.is_empty() {
            return Ok(());
        }
        tracing::info!(
            sessions = pending.len(),
            "re-indexing messages for the new search index (once, after an upgrade)"
        );
        for chunk in pending.chunks(200) {
            let tx = self.index.write()?;
            for id in chunk {
                if !write::take_reindex_pending(&tx, id)? {
                    continue; // another process got there first
                }
                let read = match SessionDir::new(self.paths.session(id)).read_messages() {
                    Ok(read) => read,
                    Err(e) => {
                        tracing::warn!(session.id = %id, error = %e, "cannot re-index a session's messages; `sfs doctor --rebuild-index` retries");
                        continue;
                    }
                };
                write::clear_messages(&tx, id)?;
                write::index_read(&tx, id, &read)?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Where things are.
    pub fn paths(&self) -> &StorePaths {
        &self.paths
    }

    /// The index, for reading.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The index, for writing.
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// A session's directory.
    pub fn session_dir(&self, id: &SessionId) -> SessionDir {
        SessionDir::new(self.paths.session(id))
    }

    /// A session's manifest and messages.
    pub fn load(&self, id: &SessionId) -> Result<(Manifest, MessagesRead)> {
        let dir = self.session_dir(id);
        let manifest = dir.read_manifest()?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
        let messages = dir.read_messages()?;
        Ok((manifest, messages))
    }

    /// Rebuild the index's session rows and full-text rows from the `.sfs` directories (capture positions
    /// are kept). Sessions whose manifest cannot be read are skipped and returned with the reason.
    pub fn rebuild_index(&mut self) -> Result<RebuildReport> {
        let mut report = RebuildReport::default();
        let mut dirs: Vec<_> = fs::read_dir(self.paths.sessions())
            .map_err(ClientError::io("reading", self.paths.sessions()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        // The full-text index is written beside, by a thread of its own, and committed after index.db.
        self.index.start_fulltext_thread()?;
        let rebuilt = self.rebuild_rows(dirs, &mut report);
        let joined = self.index.join_fulltext_thread();
        rebuilt?;
        joined?;
        Ok(report)
    }

    fn rebuild_rows(&mut self, dirs: Vec<std::path::PathBuf>, report: &mut RebuildReport) -> Result<()> {
        let now = sessionfs_shared::Timestamp::now().to_rfc3339();
        let tx = self.index.write()?;
        tx.execute_batch("DELETE FROM message_rows; DELETE FROM sessions; DELETE FROM reindex_pending;")?;
        tx.fulltext(Change::Clear);
        for path in dirs {
            let dir = SessionDir::new(&path);
            let manifest = match dir.read_manifest() {
                Ok(Some(m)) => m,
                Ok(None) if path.join(files::MESSAGES).is_file() => {
                    // Not indexed without one (its agent is not known), and said so: `sfs import` makes one
                    // when it captures the session's native files again, keeping these messages.
                    report.failed.push((
                        path.display().to_string(),
                        "messages.jsonl but no manifest.json: `sfs import` writes one and keeps the messages".into(),
                    ));
                    continue;
                }
                Ok(None) => continue,
                Err(e) => {
                    report.failed.push((path.display().to_string(), e.to_string()));
                    continue;
                }
            };
            let read = match dir.read_messages() {
                Ok(read) => read,
                Err(e) => {
                    report.failed.push((path.display().to_string(), e.to_string()));
                    continue;
                }
            };
            let messages_bytes = fs::metadata(path.join(files::MESSAGES)).map(|m| m.len()).unwrap_or(0);
            let workspace: Option<Workspace> = dir.read_json(files::WORKSPACE).ok().flatten();
            let mut row = SessionRow::from_manifest(&manifest, messages_bytes, dir.size_bytes());
            row.project_path = workspace.map(|w| w.root_path).filter(|p| !p.is_empty());
            row.message_count = read.messages.len() as u64;
            write::upsert_session(&tx, &row, &now)?;
            write::index_read(&tx, &manifest.session_id, &read)?;
            report.sessions += 1;
            report.messages += read.messages.len() as u64;
        }
        // One pass fills the index in many small segments; merged into one, every query reads one b-tree
        // per word instead of dozens.
        tx.fulltext(Change::Optimize);
        tx.commit()
    }

    /// Re-read one session's directory into the index (after a pull replaced it).
    pub fn reindex_session(&mut self, id: &SessionId) -> Result<()> {
        let dir = self.session_dir(id);
        let manifest = dir.read_manifest()?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
        let read = dir.read_messages()?;
        let messages_bytes = fs::metadata(dir.path().join(files::MESSAGES)).map(|m| m.len()).unwrap_or(0);
        let workspace: Option<Workspace> = dir.read_json(files::WORKSPACE).ok().flatten();
        let mut row = SessionRow::from_manifest(&manifest, messages_bytes, dir.size_bytes());
        row.project_path = workspace.map(|w| w.root_path).filter(|p| !p.is_empty());
        row.message_count = read.messages.len() as u64;
        let now = sessionfs_shared::Timestamp::now().to_rfc3339();
        let tx = self.index.write()?;
        write::upsert_session(&tx, &row, &now)?;
        write::clear_messages(&tx, id)?;
        write::index_read(&tx, id, &read)?;
        tx.commit()?;
        Ok(())
    }

    /// Re-read a session's messages into the index, keeping its row's turns and tokens: for lines written past
    /// what the index committed, beside a manifest that may count a pass that was never committed. Returns the
    /// IDs of the messages indexed.
    pub(crate) fn reindex_messages(&mut self, id: &SessionId) -> Result<std::collections::HashSet<String>> {
        let dir = self.session_dir(id);
        let read = dir.read_messages()?;
        let messages_bytes = fs::metadata(dir.path().join(files::MESSAGES)).map(|m| m.len()).unwrap_or(0);
        let tool_uses: u64 = read.messages.iter().map(|m| m.tool_use_count() as u64).sum();
        let tx = self.index.write()?;
        tx.execute(
            "UPDATE sessions SET message_count = ?2, tool_use_count = ?3, messages_bytes = ?4 WHERE session_id = ?1",
            params![id.as_str(), read.messages.len() as i64, tool_uses as i64, messages_bytes as i64],
        )?;
        write::clear_messages(&tx, id)?;
        write::index_read(&tx, id, &read)?;
        tx.commit()?;
        Ok(read.messages.into_iter().map(|m| m.msg_id).collect())
    }

    /// Read `n` indexed messages, picked at random (a message may come up twice), back from their sessions' files: search reads the text of
    /// its hits from where the index says each message is. Returns how many were read and a description of
    /// each that was not where the index says (the session changed under the index).
    pub fn verify_message_spans(&self, n: usize) -> Result<(usize, Vec<String>)> {
        // A random point in the rowid range, then the row at or after it: a b-tree lookup each, where
        // `ORDER BY random()` would sort every message of the store.
        let mut stmt = self.index.conn().prepare(
            "SELECT r.rowid, s.session_id, r.line_offset, r.line_len \
             FROM message_rows r LEFT JOIN sessions s ON s.session_key = r.session_key \
             WHERE r.rowid >= (SELECT min(rowid) + abs(random() % (max(rowid) - min(rowid) + 1)) FROM message_rows) \
             ORDER BY r.rowid LIMIT 1",
        )?;
        let mut rows = Vec::with_capacity(n);
        for _ in 0..n {
            let row = stmt
                .query_row([], |r| {
                    let span = LineSpan { offset: r.get::<_, i64>(2)? as u64, len: r.get::<_, i64>(3)? as u64 };
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, span))
                })
                .optional()?;
            match row {
                Some(row) => rows.push(row),
                None => break, // no messages
            }
        }
        // Only messages with something to search are indexed, so the line at a right span is a message
        // with searchable text; a span that is off by even a byte does not parse.
        let mut wrong = Vec::new();
        for (rowid, session, span) in &rows {
            let Some(session) = session else {
                wrong.push(format!("message row {rowid} belongs to no session in the index"));
                continue;
            };
            let at = span.offset;
            match SessionDir::new(self.paths.sessions().join(session)).read_message_at(*span) {
                Ok(m) if !write::searchable_text(&m).is_empty() => {}
                Ok(m) => wrong.push(format!("{session}: byte {at} holds {}, which has nothing to search", m.msg_id)),
                Err(e) => wrong.push(format!("{session}: no indexed message at byte {at}: {e}")),
            }
        }
        Ok((rows.len(), wrong))
    }

    /// Point capture of `from`'s native files at `to` (a fork that continues the local line).
    pub fn move_capture(&mut self, from: &SessionId, to: &SessionId) -> Result<()> {
        let tx = self.index.write()?;
        tx.execute("UPDATE native_files SET session_id = ?2 WHERE session_id = ?1", [from.as_str(), to.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// Remove a session from the index only; its folder, or what is left of it, stays.
    pub(crate) fn unindex(&mut self, id: &SessionId) -> Result<()> {
        let tx = self.index.write()?;
        write::delete_session(&tx, id)?;
        tx.commit()
    }

    /// Remove a session from disk and index. The index keeps where capture stopped in each of its native
    /// files: a deleted session's files are not read while it is deleted, and a restore (see
    /// [`crate::Capturer::recapture_restored`]) finds them there; a session removed and not deleted is captured
    /// again whole.
    pub fn remove(&mut self, id: &SessionId) -> Result<()> {
        let dir = self.paths.session(id);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(ClientError::io("removing", &dir))?;
        }
        let tx = self.index.write()?;
        write::delete_session_keeping_capture(&tx, id)?;
        tx.commit()?;
        Ok(())
    }
}

/// What [`Store::rebuild_index`] did.
#[derive(Debug, Default, serde::Serialize)]
pub struct RebuildReport {
    /// Sessions indexed.
    pub sessions: u64,
    /// Messages indexed.
    pub messages: u64,
    /// Directories that could not be read, with the reason.
    pub failed: Vec<(String, String)>,
}
