//! `fulltext.db`: the full-text index of message text (FTS5), in a database file of its own.
//!
//! Why a file of its own: SQLite has one write lock per file, and tokenising text and merging FTS5
//! segments was most of what an import's indexing thread did while it held `index.db`'s. In its own file,
//! the full-text index is written by a thread of its own (see [`FullTextThread`]) beside the writes to
//! `index.db`, and by the writer itself, after its `index.db` commit, everywhere else.
//!
//! How the two files stay in step:
//! - A message's full-text rowid is its `message_rows` rowid, which is never used twice (AUTOINCREMENT).
//! - `fulltext.db` records `indexed_through`: every message row at or below it is in the full-text index
//!   (or has been deleted). Rows above it are indexed by whoever commits through them next: the writer
//!   that made them, with the text it has in hand, or anyone else, reading each message back from its
//!   session's `messages.jsonl` at the span `message_rows` keeps. So a crash, a failed write or a busy
//!   lock only delays rows, and never loses or doubles them: inserts at or below `indexed_through` are
//!   skipped, under the write lock that guards it.
//! - A full-text row whose message row is gone (a crash between the two commits) matches nothing: every
//!   search joins `message_rows`.
//! - `fulltext.db` records which `index.db` it follows, and starts afresh under another one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use super::{damage, open_connection, write};
use crate::error::{ClientError, Result};
use crate::session_dir::{LineSpan, MessageFile, SessionDir};

mod feed;

pub(crate) use feed::{Feed, FullTextThread};

/// Rows indexed per transaction when catching up from the sessions' files.
const CATCH_UP_CHUNK: i64 = 20_000;

/// A change an `index.db` write makes to the full-text index.
#[derive(Debug)]
pub(crate) enum Change {
    /// New message rows and their searchable text.
    Insert(Vec<(i64, String)>),
    /// Message rows deleted.
    Delete(Vec<i64>),
    /// Every message row deleted (a rebuild).
    Clear,
    /// Merge the index's segments into one (after a rebuild).
    Optimize,
}

/// A writer of `fulltext.db`.
pub(crate) struct FullText {
    conn: Connection,
    sessions: PathBuf,
    /// The open write, if any.
    open: Option<OpenWrite>,
}

/// What a write knows between its begin and its commit.
struct OpenWrite {
    /// `indexed_through` when it began: rows at or below are indexed already.
    through: i64,
    /// Rows it inserted, ascending (a writer's new rowids only grow).
    inserted: Vec<i64>,
    /// Whether it deleted rows.
    deleted: bool,
}

impl OpenWrite {
    fn has_inserted(&self, rowid: i64) -> bool {
        self.inserted.binary_search(&rowid).is_ok()
    }
}

impl FullText {
    /// Open (creating as needed) `fulltext.db` at `path`, following the `index.db` whose identity is
    /// `index_identity`, with the sessions' directories under `sessions`.
    pub(crate) fn open(path: &Path, sessions: &Path, index_identity: &str) -> Result<Self> {
        match Self::open_file(path, sessions, index_identity) {
            Err(ClientError::Sqlite(e)) if damage::is_damaged_file(path, &e) => {
                // Everything in it comes from the session folders: a new one is filled from them.
                let aside = damage::move_aside(path)?;
                tracing::warn!(error = %e, aside = %aside.display(), "fulltext.db was damaged: moved aside, building a new one from the session folders");
                Self::open_file(path, sessions, index_identity)
            }
            opened => opened,
        }
    }

    fn open_file(path: &Path, sessions: &Path, index_identity: &str) -> Result<Self> {
        let conn = open_connection(path)?;
        // Usually everything is in place, and a read says so: an import in another process holds the write
        // lock nearly all the time, and opening the store must not wait for it.
        if follows(&conn)?.as_deref() != Some(index_identity) {
            set_up(&conn, index_identity)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self { conn, sessions: sessions.to_owned(), open: None })
    }

    /// `indexed_through`, as last committed.
    pub(crate) fn indexed_through(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT indexed_through FROM fulltext_state", [], |r| r.get(0))?)
    }

    /// Take the write lock and read `indexed_through`, unless a write is open already; returns it.
    fn begin(&mut self) -> Result<i64> {
        if let Some(open) = &self.open {
            return Ok(open.through);
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match self.indexed_through() {
            Ok(through) => {
                self.open = Some(OpenWrite { through, inserted: Vec::new(), deleted: false });
                Ok(through)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Apply a change inside the open write (beginning one if needed).
    pub(crate) fn apply(&mut self, change: Change) -> Result<()> {
        self.begin()?;
        let result = self.apply_open(change);
        if result.is_err() {
            self.rollback();
        }
        result
    }

    fn apply_open(&mut self, change: Change) -> Result<()> {
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        match change {
            Change::Insert(rows) => {
                // One row per statement: a statement that inserts several rows opens a statement savepoint,
                // and FTS5 writes out its pending terms at every savepoint (64 rows a statement made an import
                // 2.5x slower).
                let mut insert = self.conn.prepare_cached("INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)")?;
                for (rowid, text) in rows {
                    // At or below `indexed_through`, someone indexed it from its file already.
                    if rowid > open.through && open.inserted.last().is_none_or(|last| rowid > *last) {
                        insert.execute(params![rowid, text])?;
                        open.inserted.push(rowid);
                    }
                }
            }
            Change::Delete(rowids) => {
                let mut delete = self.conn.prepare_cached("DELETE FROM messages_fts WHERE rowid = ?1")?;
                for rowid in rowids {
                    // Rows above `indexed_through` are in the index only if this write put them there.
                    if rowid <= open.through || open.has_inserted(rowid) {
                        delete.execute([rowid])?;
                        open.deleted = true;
                    }
                }
            }
            Change::Clear => {
                self.conn.execute_batch("INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')")?;
            }
            Change::Optimize => {
                self.conn.execute_batch("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")?;
            }
        }
        Ok(())
    }

    /// Commit the open write (beginning one if needed) as indexing every message row up to `through`: the
    /// rows in that range it was not given are read back from their files, through `index`. Returns how
    /// many were.
    pub(crate) fn commit(&mut self, index: &Connection, through: i64) -> Result<u64> {
        self.begin()?;
        let result = self.fill_and_commit(index, through);
        if result.is_err() {
            self.rollback();
        }
        result
    }

    fn fill_and_commit(&mut self, index: &Connection, through: i64) -> Result<u64> {
        let Some(open) = self.open.as_mut() else {
            return Ok(0);
        };
        let mut filled = 0;
        if through > open.through {
            // Usually this write inserted every row in the range: counting them is enough to know it.
            let in_range: i64 = index.query_row(
                "SELECT COUNT(*) FROM message_rows WHERE rowid > ?1 AND rowid <= ?2",
                [open.through, through],
                |r| r.get(0),
            )?;
            if open.deleted || in_range as usize != open.inserted.len() {
                filled = self.fill(index, through)?;
            }
            self.conn.execute("UPDATE fulltext_state SET indexed_through = ?1", [through])?;
        }
        self.conn.execute_batch("COMMIT")?;
        self.open = None;
        Ok(filled)
    }

    /// Index the rows up to `through` that the open write was not given, from their sessions' files.
    fn fill(&mut self, index: &Connection, through: i64) -> Result<u64> {
        let Some(open) = self.open.as_ref() else {
            return Ok(0);
        };
        let mut rows = index.prepare_cached(
            "SELECT r.rowid, s.session_id, r.line_offset, r.line_len \
             FROM message_rows r JOIN sessions s ON s.session_key = r.session_key \
             WHERE r.rowid > ?1 AND r.rowid <= ?2 ORDER BY r.rowid",
        )?;
        let missing: Vec<(i64, String, LineSpan)> = rows
            .query_map([open.through, through], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    LineSpan { offset: r.get::<_, i64>(2)? as u64, len: r.get::<_, i64>(3)? as u64 },
                ))
            })?
            .filter(|row| !matches!(row, Ok((rowid, _, _)) if open.has_inserted(*rowid)))
            .collect::<rusqlite::Result<_>>()?;
        let mut insert = self.conn.prepare_cached("INSERT INTO messages_fts (rowid, text) VALUES (?1, ?2)")?;
        let mut file: Option<(String, MessageFile)> = None;
        let mut filled = 0;
        for (rowid, session, span) in missing {
            if let Some(text) = text_at(&self.sessions, &mut file, &session, span) {
                insert.execute(params![rowid, text])?;
                filled += 1;
            }
        }
        Ok(filled)
    }

    /// Drop the open write.
    pub(crate) fn rollback(&mut self) {
        if self.open.take().is_some()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::warn!(error = %e, "rolling back a fulltext.db write failed");
        }
    }

    /// Index the message rows above `indexed_through`, reading their text from the sessions' files, in
    /// transactions of a few thousand. With `wait` false, gives up at once when another writer has
    /// `fulltext.db` (it will index them). Returns how many messages were indexed.
    pub(crate) fn catch_up(&mut self, index: &Connection, wait: bool) -> Result<u64> {
        let last: i64 = index.query_row("SELECT COALESCE(MAX(rowid), 0) FROM message_rows", [], |r| r.get(0))?;
        if self.indexed_through()? >= last {
            return Ok(0);
        }
        if !wait {
            self.conn.busy_timeout(Duration::ZERO)?;
        }
        let mut indexed = 0;
        let result = loop {
            let through = match self.begin() {
                Ok(through) => through,
                Err(ClientError::Sqlite(e)) if !wait && e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
                    break Ok(());
                }
                Err(e) => break Err(e),
            };
            if through >= last {
                self.rollback();
                break Ok(());
            }
            match self.commit(index, (through + CATCH_UP_CHUNK).min(last)) {
                Ok(n) => indexed += n,
                Err(e) => break Err(e),
            }
        };
        self.conn.busy_timeout(super::BUSY_TIMEOUT)?;
        result.map(|()| indexed)
    }

    /// Number of rows in the full-text index.
    pub(crate) fn rows(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM messages_fts", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// The identity of the `index.db` that `fulltext.db` follows; `None` for a new file.
fn follows(conn: &Connection) -> Result<Option<String>> {
    let made: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'fulltext_state')", [], |r| r.get(0))?;
    if !made {
        return Ok(None);
    }
    Ok(conn.query_row("SELECT index_identity FROM fulltext_state", [], |r| r.get(0)).optional()?)
}

/// Create the tables of a new `fulltext.db`, or empty one that followed another `index.db`.
fn set_up(conn: &Connection, index_identity: &str) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
             text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
         );
         CREATE TABLE IF NOT EXISTS fulltext_state (
             id              INTEGER PRIMARY KEY CHECK (id = 0),
             index_identity  TEXT NOT NULL,
             indexed_through INTEGER NOT NULL
         );",
    )?;
    // Another process may have done it while this one waited for the lock.
    let followed = follows(&tx)?;
    if followed.as_deref() != Some(index_identity) {
        if followed.is_some() {
            tracing::info!("fulltext.db follows another index.db: starting the full-text index afresh");
        }
        // FTS5 writes its pending terms out as a new segment whenever they pass `hashsize` (1 MB by
        // default), and merges segments as they pile up: a bigger buffer means fewer, larger segments.
        tx.execute_batch(
            "INSERT INTO messages_fts (messages_fts) VALUES ('delete-all');
             INSERT INTO messages_fts (messages_fts, rank) VALUES ('hashsize', 16777216);",
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO fulltext_state (id, index_identity, indexed_through) VALUES (0, ?1, 0)",
            [index_identity],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The searchable text of the message at `span` in `session`'s `messages.jsonl`, keeping the last file open
/// in `file` (catch-up reads a session's messages one after another). `None` when it cannot be read: the
/// session changed under the index, which `sfs doctor` reports.
fn text_at(sessions: &Path, file: &mut Option<(String, MessageFile)>, session: &str, span: LineSpan) -> Option<String> {
    if file.as_ref().is_none_or(|(open, _)| open != session) {
        let dir = SessionDir::new(sessions.join(session));
        match dir.open_messages() {
            Ok(f) => *file = Some((session.to_owned(), f)),
            Err(e) => {
                tracing::debug!(session.id = session, error = %e, "cannot read a session to index its messages");
                *file = None;
                return None;
            }
        }
    }
    let (_, f) = file.as_mut()?;
    match f.read_at(span) {
        Ok(m) => Some(write::searchable_text(&m)).filter(|t| !t.is_empty()),
        Err(e) => {
            tracing::debug!(session.id = session, error = %e, "cannot read a message to index it");
            None
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::index::Index;

    /// An index with message rows 1..=n of a session that has no directory (so nothing can be read back).
    pub(crate) fn index_with_rows(dir: &Path, n: i64) -> (Index, String) {
        let index = Index::open(&dir.join("index.db"), &dir.join("fulltext.db"), &dir.join("sessions")).unwrap();
        index
            .conn()
            .execute_batch(
                "INSERT INTO sessions (session_id, source_tool, created_at, updated_at, indexed_at)
                 VALUES ('ses_0123456789abcdef', 'claude-code', '', '', '')",
            )
            .unwrap();
        for _ in 0..n {
            index
                .conn()
                .execute(
                    "INSERT INTO message_rows (session_key, line_offset, line_len)
                     SELECT session_key, 0, 0 FROM sessions WHERE session_id = 'ses_0123456789abcdef'",
                    [],
                )
                .unwrap();
        }
        let identity = index.conn().query_row("SELECT id FROM index_identity", [], |r| r.get(0)).unwrap();
        (index, identity)
    }

    /// A writer of the `fulltext.db` in `dir`.
    pub(crate) fn writer(dir: &Path, identity: &str) -> FullText {
        FullText::open(&dir.join("fulltext.db"), &dir.join("sessions"), identity).unwrap()
    }

    pub(crate) fn insert(rows: &[(i64, &str)]) -> Change {
        Change::Insert(rows.iter().map(|(r, t)| (*r, t.to_string())).collect())
    }

    #[test]
    fn each_row_is_indexed_once_whoever_gets_there_first_and_a_rollback_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (index, identity) = index_with_rows(dir.path(), 4);
        let mut a = writer(dir.path(), &identity);
        let mut b = writer(dir.path(), &identity);

        a.apply(insert(&[(1, "alpha"), (2, "beta")])).unwrap();
        a.commit(index.conn(), 2).unwrap();
        assert_eq!((a.rows().unwrap(), a.indexed_through().unwrap()), (2, 2));
        // b was given row 2 too (it raced a): it is not indexed twice.
        b.apply(insert(&[(2, "beta"), (3, "gamma")])).unwrap();
        b.commit(index.conn(), 3).unwrap();
        assert_eq!((b.rows().unwrap(), b.indexed_through().unwrap()), (3, 3));
        // A write rolled back leaves nothing.
        b.apply(insert(&[(4, "delta")])).unwrap();
        b.rollback();
        assert_eq!((b.rows().unwrap(), b.indexed_through().unwrap()), (3, 3));
        // Deletes apply to indexed rows.
        a.apply(Change::Delete(vec![1])).unwrap();
        a.commit(index.conn(), 0).unwrap();
        assert_eq!(a.rows().unwrap(), 2);
        // Row 4 cannot be read back (its session has no directory): catching up passes it, not stuck on it.
        assert_eq!(a.catch_up(index.conn(), true).unwrap(), 0);
        assert_eq!(a.indexed_through().unwrap(), 4);
    }

    #[test]
    fn catching_up_without_waiting_gives_way_to_a_writer_holding_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let (index, identity) = index_with_rows(dir.path(), 2);
        let mut holder = writer(dir.path(), &identity);
        let mut other = writer(dir.path(), &identity);
        holder.apply(insert(&[(1, "alpha")])).unwrap();
        assert_eq!(other.catch_up(index.conn(), false).unwrap(), 0, "gave way at once");
        assert_eq!(other.indexed_through().unwrap(), 0);
        holder.commit(index.conn(), 2).unwrap();
        assert_eq!(other.indexed_through().unwrap(), 2);
    }
}
