//! Getting an `index.db` write's full-text changes to `fulltext.db`: the [`Feed`] every write hands its
//! changes to, and the [`FullTextThread`] that writes them during imports and rebuilds.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::{Change, FullText};
use crate::error::{ClientError, Result};
use crate::index::{BULK_WAL_AUTOCHECKPOINT, open_connection};

/// Changes handed to the writer thread ahead of it: bounded, so a slow full-text index slows the import
/// instead of queueing the text of the whole import in memory.
const THREAD_QUEUE: usize = 64;

/// What the writer thread is told.
enum Op {
    Change(Change),
    /// `index.db` committed every row up to this one.
    Commit(i64),
    /// `index.db` rolled back the changes since the last commit.
    Rollback,
}

/// A thread writing `fulltext.db` while its owner writes `index.db` (an import, a rebuild): changes are sent
/// as they are made and applied in order, and `fulltext.db` commits through the last `index.db` commit at most
/// every [`COMMIT_EVERY`], and when the thread finishes.
pub(crate) struct FullTextThread {
    ops: SyncSender<Op>,
    handle: JoinHandle<()>,
}

impl FullTextThread {
    /// Start a writer thread with its own connections to `fulltext.db` and `index.db`.
    pub(crate) fn start(fulltext_db: &Path, index_db: &Path, sessions: &Path, index_identity: &str) -> Result<Self> {
        Self::committing_every(COMMIT_EVERY, fulltext_db, index_db, sessions, index_identity)
    }

    /// [`FullTextThread::start`], following `index.db` commits at most every `commit_every`.
    fn committing_every(
        commit_every: Duration,
        fulltext_db: &Path,
        index_db: &Path,
        sessions: &Path,
        index_identity: &str,
    ) -> Result<Self> {
        let mut fulltext = FullText::open(fulltext_db, sessions, index_identity)?;
        fulltext.conn.pragma_update(None, "wal_autocheckpoint", BULK_WAL_AUTOCHECKPOINT)?;
        set_merging(&fulltext.conn, &BULK_MERGING)?;
        let index = open_connection(index_db)?;
        let (ops, received) = mpsc::sync_channel(THREAD_QUEUE);
        let handle = std::thread::Builder::new()
            .name("fulltext.db".into())
            .spawn(move || run(&mut fulltext, &index, received, commit_every))
            .map_err(ClientError::io("starting a thread for", fulltext_db))?;
        Ok(Self { ops, handle })
    }

    pub(crate) fn change(&self, change: Change) {
        // The thread stops only by panicking, which `finish` reports; what it missed is caught up after.
        let _ = self.ops.send(Op::Change(change));
    }

    pub(crate) fn commit(&self, through: i64) {
        let _ = self.ops.send(Op::Commit(through));
    }

    pub(crate) fn rollback(&self) {
        let _ = self.ops.send(Op::Rollback);
    }

    /// Wait for the thread to write what it was sent.
    pub(crate) fn finish(self) -> Result<()> {
        drop(self.ops);
        self.handle.join().map_err(|_| ClientError::Io {
            action: "writing",
            path: PathBuf::from("fulltext.db"),
            source: std::io::Error::other("the fulltext.db writer thread panicked"),
        })
    }
}

fn run(fulltext: &mut FullText, index: &Connection, ops: Receiver<Op>, commit_every: Duration) {
    // After a failed change, the rest until the next commit or rollback is skipped: the write was rolled
    // back, and its rows are read from their files by the next commit through them.
    let mut failed = false;
    // `index.db` commits are followed by one of `fulltext.db` at most every `commit_every`: each commit
    // writes a segment, and fewer segments are fewer to merge. `deferred` is the last one not yet followed.
    // Meanwhile `indexed_through` stays behind, which only means that a crash loses more work to redo.
    let mut deferred: Option<i64> = None;
    let mut committed_at = Instant::now();
    // Whether the open write holds changes of an `index.db` write that has not committed (yet).
    let mut uncommitted = false;
    for op in ops {
        match op {
            Op::Change(_) if failed => {}
            Op::Change(change) => {
                uncommitted = true;
                if let Err(e) = fulltext.apply(change) {
                    tracing::warn!(error = %e, "writing the full-text index failed; its messages are indexed later");
                    failed = true;
                }
            }
            Op::Commit(through) => {
                failed = false;
                uncommitted = false;
                deferred = Some(through);
                if committed_at.elapsed() >= commit_every {
                    commit(fulltext, index, through);
                    deferred = None;
                    committed_at = Instant::now();
                }
            }
            Op::Rollback => {
                failed = false;
                uncommitted = false;
                // The open write holds the deferred commits' rows too: they go with it, and the next commit
                // through them reads them back from their files.
                fulltext.rollback();
            }
        }
    }
    // Changes after the last commit belong to an `index.db` write that never committed, and cannot be told
    // apart from the deferred ones: then all go, and catching up reads the committed ones from their files.
    match deferred {
        Some(through) if !uncommitted => commit(fulltext, index, through),
        _ => fulltext.rollback(),
    }
    // The merges the import left half done are finished here, not by whoever writes next: under the
    // default `crisismerge`, that would be one long merge inside, say, the daemon's next capture.
    if let Err(e) = finish_merges(&fulltext.conn) {
        tracing::warn!(error = %e, "could not finish fulltext.db's merges after an import");
    }
    // FTS5 keeps these settings in the file: an import that crashed leaves the bulk ones, which only
    // means fewer, later merges until the next import puts them back.
    if let Err(e) = set_merging(&fulltext.conn, &MERGING) {
        tracing::warn!(error = %e, "could not set fulltext.db's merge settings back after an import");
    }
}

/// The longest an import's `fulltext.db` commit waits behind `index.db`'s. An import commits `index.db`
/// every half second, and following each commit wrote ~25 segments for 10,000 sessions, which FTS5 merged
/// during the import and again after it; every two seconds, ~15 of them, which need no merge (10k sessions
/// on tmpfs: 1.62–1.79x a plain parse against 2.02–2.06x, BENCHMARKS.md, fifth round).
const COMMIT_EVERY: Duration = Duration::from_secs(2);

fn commit(fulltext: &mut FullText, index: &Connection, through: i64) {
    if let Err(e) = fulltext.commit(index, through) {
        tracing::warn!(error = %e, "committing the full-text index failed; its messages are indexed later");
    }
}

/// When FTS5 merges the segments each commit writes (its `automerge` and `crisismerge` options).
struct Merging {
    /// How many segments of one size may pile up before FTS5 starts merging them, a few pages after each
    /// write.
    automerge: i64,
    /// How many segments of one size force a whole merge of them at once, inside the write that adds the
    /// last one.
    crisismerge: i64,
}

/// FTS5's defaults, for the daemon's many small writes, which would otherwise leave searches walking
/// dozens of small segments.
const MERGING: Merging = Merging { automerge: 4, crisismerge: 16 };

/// During an import or a rebuild. Each of their commits writes a segment of several megabytes, and
/// merging them four at a time was a fifth of the full-text thread's work on 10,000 sessions: the thread
/// that sets the pace of an import. Sixteen at a time cut that work and searched as fast afterwards. And
/// `crisismerge` must stay above `automerge`: equal (FTS5's default is 16), every merge was a whole one, and
/// the pipeline stood still behind it, two seconds at a time, with one core idle; above it, FTS5 merges a
/// few pages after each commit instead (BENCHMARKS.md, fifth round).
const BULK_MERGING: Merging = Merging { automerge: 16, crisismerge: 64 };

fn set_merging(conn: &Connection, merging: &Merging) -> Result<()> {
    let mut set = conn.prepare_cached("INSERT INTO messages_fts (messages_fts, rank) VALUES (?1, ?2)")?;
    set.execute(params!["automerge", merging.automerge])?;
    set.execute(params!["crisismerge", merging.crisismerge])?;
    Ok(())
}

/// Pages merged per transaction when finishing merges.
const MERGE_STEP: i64 = 4096;

/// Finish the merges in progress (and start none, unless a level holds as many segments as an import lets
/// pile up). FTS5 says a `merge` command that changed fewer than two rows found nothing left to do.
fn finish_merges(conn: &Connection) -> Result<()> {
    let mut merge = conn.prepare_cached("INSERT INTO messages_fts (messages_fts, rank) VALUES (?1, ?2)")?;
    merge.execute(params!["usermerge", BULK_MERGING.automerge])?;
    loop {
        let before = conn.total_changes();
        merge.execute(params!["merge", MERGE_STEP])?;
        if conn.total_changes() - before < 2 {
            break;
        }
    }
    merge.execute(params!["usermerge", USERMERGE])?;
    Ok(())
}

/// FTS5's default `usermerge`, which only the `merge` command reads.
const USERMERGE: i64 = 4;

/// Where the full-text changes of `index.db` writes go: held until the write commits and then written to
/// `fulltext.db` by the writer itself, or, while a [`FullTextThread`] runs, sent to it as they are made.
pub(crate) struct Feed {
    /// This connection's own writer of `fulltext.db`.
    fulltext: FullText,
    thread: Option<FullTextThread>,
    /// Changes of the open `index.db` write, for `fulltext` when it commits.
    pending: Vec<Change>,
    /// Whether changes were handed since the last commit.
    changed: bool,
    /// The highest message rowid inserted since the last commit.
    inserted_through: i64,
}

impl Feed {
    pub(crate) fn new(fulltext: FullText) -> Self {
        Self { fulltext, thread: None, pending: Vec::new(), changed: false, inserted_through: 0 }
    }

    /// The writer of `fulltext.db`, for catching up.
    pub(crate) fn fulltext(&mut self) -> &mut FullText {
        &mut self.fulltext
    }

    /// The writer of `fulltext.db`, for reading its state.
    pub(crate) fn state(&self) -> &FullText {
        &self.fulltext
    }

    /// Send changes to `thread` from now on, until [`Feed::stop_thread`].
    pub(crate) fn start_thread(&mut self, thread: FullTextThread) {
        self.thread = Some(thread);
    }

    /// Wait for the thread to write what it was sent, then index what it could not from the files.
    pub(crate) fn stop_thread(&mut self, index: &Connection) -> Result<()> {
        if let Some(thread) = self.thread.take() {
            thread.finish()?;
            self.fulltext.catch_up(index, true)?;
        }
        Ok(())
    }

    /// A change an `index.db` write made.
    pub(crate) fn hand(&mut self, change: Change) {
        if let Change::Insert(rows) = &change {
            self.inserted_through = rows.iter().map(|(rowid, _)| *rowid).fold(self.inserted_through, i64::max);
        }
        self.changed = true;
        match &self.thread {
            Some(thread) => thread.change(change),
            None => self.pending.push(change),
        }
    }

    /// The `index.db` write committed: write its changes to `fulltext.db`. A failure is logged, not
    /// returned: the `index.db` write stands, and its messages are indexed from their files later.
    pub(crate) fn committed(&mut self, index: &Connection) {
        if !std::mem::take(&mut self.changed) {
            return;
        }
        let through = std::mem::take(&mut self.inserted_through);
        if let Some(thread) = &self.thread {
            thread.commit(through);
            return;
        }
        let mut written = Ok(0);
        for change in self.pending.drain(..) {
            if let Err(e) = self.fulltext.apply(change) {
                written = Err(e);
                break;
            }
        }
        self.pending.clear();
        if written.is_ok() {
            written = self.fulltext.commit(index, through);
        }
        if let Err(e) = written {
            tracing::warn!(error = %e, "writing the full-text index failed; these messages are indexed on a later write");
        }
    }

    /// The `index.db` write rolled back: so do its changes.
    pub(crate) fn rolled_back(&mut self) {
        self.changed = false;
        self.inserted_through = 0;
        self.pending.clear();
        match &self.thread {
            Some(thread) => thread.rollback(),
            None => self.fulltext.rollback(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::fulltext::tests::{index_with_rows, insert, writer};

    /// A writer thread for the `fulltext.db` in `dir`, and that file's path.
    fn start(dir: &Path, identity: &str) -> (FullTextThread, PathBuf) {
        let path = dir.join("fulltext.db");
        let thread = FullTextThread::start(&path, &dir.join("index.db"), &dir.join("sessions"), identity).unwrap();
        (thread, path)
    }

    fn indexed(f: &FullText) -> Vec<i64> {
        let mut rows = f.conn.prepare("SELECT rowid FROM messages_fts ORDER BY rowid").unwrap();
        rows.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    }

    #[test]
    fn the_writer_thread_commits_what_index_db_committed_when_it_finishes() {
        let dir = tempfile::tempdir().unwrap();
        let (_index, identity) = index_with_rows(dir.path(), 3);
        let (thread, _) = start(dir.path(), &identity);
        thread.change(insert(&[(1, "alpha"), (2, "beta")]));
        thread.commit(2);
        thread.change(insert(&[(3, "gamma")]));
        thread.commit(3);
        thread.finish().unwrap();
        let fulltext = writer(dir.path(), &identity);
        assert_eq!((indexed(&fulltext), fulltext.indexed_through().unwrap()), (vec![1, 2, 3], 3));
    }

    #[test]
    fn what_index_db_rolled_back_or_never_committed_is_never_in_the_full_text_index() {
        let dir = tempfile::tempdir().unwrap();
        let (index, identity) = index_with_rows(dir.path(), 5);
        let (thread, _) = start(dir.path(), &identity);
        thread.change(insert(&[(1, "alpha")]));
        thread.commit(1);
        thread.change(insert(&[(2, "beta")]));
        thread.rollback();
        thread.change(insert(&[(3, "gamma")]));
        thread.commit(3);
        thread.change(insert(&[(4, "delta")])); // a write that never commits
        thread.finish().unwrap();
        let mut fulltext = writer(dir.path(), &identity);
        // The rollback took row 1's deferred commit with it (unless it had committed already), and the end,
        // with a write still open, everything since the last commit: what index.db committed is read back
        // from the sessions' files by whoever catches up next (here there are none to read).
        let through = fulltext.indexed_through().unwrap();
        assert!(through <= 3, "{through}");
        assert!(indexed(&fulltext).iter().all(|r| [1, 3].contains(r)), "{:?}", indexed(&fulltext));
        fulltext.catch_up(index.conn(), true).unwrap();
        assert_eq!(fulltext.indexed_through().unwrap(), 5);
        assert!(indexed(&fulltext).iter().all(|r| [1, 3].contains(r)), "{:?}", indexed(&fulltext));
    }

    fn merging(conn: &Connection) -> (i64, i64) {
        let option =
            |k: &str| conn.query_row("SELECT v FROM messages_fts_config WHERE k = ?1", [k], |r| r.get(0)).unwrap();
        (option("automerge"), option("crisismerge"))
    }

    fn segments(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(DISTINCT segid) FROM messages_fts_idx", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_writer_thread_merges_in_steps_while_it_runs_and_leaves_no_merge_behind() {
        let dir = tempfile::tempdir().unwrap();
        let commits = 20;
        let (_index, identity) = index_with_rows(dir.path(), commits);
        let path = dir.path().join("fulltext.db");
        let (index_db, sessions) = (dir.path().join("index.db"), dir.path().join("sessions"));
        // Following every commit of index.db, as if each came two seconds after the last.
        let thread = FullTextThread::committing_every(Duration::ZERO, &path, &index_db, &sessions, &identity).unwrap();
        let reader = open_connection(&path).unwrap();
        assert_eq!(merging(&reader), (BULK_MERGING.automerge, BULK_MERGING.crisismerge));
        // Each commit writes a segment; twenty of them are more than FTS5's default lets pile up (16), and
        // fewer than the bulk setting (64), so they are all still there while the thread runs.
        for rowid in 1..=commits {
            thread.change(Change::Insert(vec![(rowid, format!("common word{rowid}"))]));
            thread.commit(rowid);
        }
        thread.finish().unwrap();
        assert!(segments(&reader) <= 2, "merged when the thread finished: {} segments", segments(&reader));
        assert_eq!(merging(&reader), (MERGING.automerge, MERGING.crisismerge));
        let found: Vec<i64> = reader
            .prepare("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'word7 OR common' ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(found, (1..=commits).collect::<Vec<_>>());
    }
}
