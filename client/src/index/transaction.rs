//! Write transactions on the index, and import batches that group many of them into one commit.
//!
//! Every writer takes `BEGIN IMMEDIATE` (so two processes queue on the lock instead of failing to upgrade a
//! read). During a batch, which an import opens around many sessions, writers join the batch's transaction
//! instead, and the batch commits many sessions at once. Not as savepoints: FTS5 flushes its pending terms
//! to a new segment (and merges segments) at every savepoint, which is the cost batching exists to avoid. So
//! a write that fails inside a batch rolls the whole batch back; [`Index::in_batch`](super::Index::in_batch)
//! then reads false and the importer redoes the batch's sessions one at a time.
//!
//! A write's changes to the full-text index go to the index's [`Feed`], which writes them to `fulltext.db`
//! after the `index.db` commit (or drops them with its rollback).

use std::cell::RefCell;
use std::ops::Deref;

use rusqlite::Connection;

use super::fulltext::{Change, Feed};
use crate::error::Result;

/// An open write: committed by [`WriteTx::commit`], rolled back when dropped without it.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    feed: &'a RefCell<Feed>,
    in_batch: bool,
    open: bool,
}

impl<'a> WriteTx<'a> {
    pub(super) fn begin(conn: &'a Connection, feed: &'a RefCell<Feed>) -> Result<Self> {
        let in_batch = !conn.is_autocommit();
        if !in_batch {
            conn.execute_batch("BEGIN IMMEDIATE")?;
        }
        Ok(Self { conn, feed, in_batch, open: true })
    }

    /// Make the writes durable (inside a batch: with the batch's commit).
    pub fn commit(mut self) -> Result<()> {
        if !self.in_batch {
            self.conn.execute_batch("COMMIT")?;
            self.feed.borrow_mut().committed(self.conn);
        }
        self.open = false;
        Ok(())
    }

    /// A change this write makes to the full-text index.
    pub(crate) fn fulltext(&self, change: Change) {
        self.feed.borrow_mut().hand(change);
    }
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        if !self.conn.is_autocommit() {
            if self.in_batch {
                tracing::warn!("an index write failed inside an import batch; the batch is rolled back and redone");
            }
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rolling back an index write failed");
            }
        }
        // Also when SQLite rolled the transaction back itself (some errors do): its changes never happened.
        self.feed.borrow_mut().rolled_back();
    }
}

/// Open a batch: writes until [`end_batch`] share one transaction.
pub(super) fn begin_batch(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    Ok(())
}

/// Commit a batch. On failure the batch is rolled back, so the connection is never left inside it.
pub(super) fn end_batch(conn: &Connection, feed: &RefCell<Feed>) -> Result<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        feed.borrow_mut().rolled_back();
        return Err(e.into());
    }
    feed.borrow_mut().committed(conn);
    Ok(())
}

/// Roll back the open batch, if any.
pub(super) fn abort_batch(conn: &Connection, feed: &RefCell<Feed>) {
    if conn.is_autocommit() {
        return;
    }
    if let Err(e) = conn.execute_batch("ROLLBACK") {
        tracing::warn!(error = %e, "rolling back an index batch failed");
    }
    feed.borrow_mut().rolled_back();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::fulltext::FullText;
    use crate::index::open_connection;

    fn rows(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn a_batch_commits_its_writes_together_and_a_failed_write_undoes_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open_connection(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").unwrap();
        let other = open_connection(&path).unwrap();
        let feed = RefCell::new(Feed::new(FullText::open(&dir.path().join("s.db"), dir.path(), "t").unwrap()));

        begin_batch(&conn).unwrap();
        for x in [1, 2] {
            let w = WriteTx::begin(&conn, &feed).unwrap();
            w.execute("INSERT INTO t VALUES (?1)", [x]).unwrap();
            w.commit().unwrap();
        }
        assert_eq!(rows(&conn), vec![1, 2], "the batch's own connection sees its writes");
        assert!(rows(&other).is_empty(), "others see nothing before the batch commits");
        end_batch(&conn, &feed).unwrap();
        assert_eq!(rows(&other), vec![1, 2]);
        assert!(conn.is_autocommit());
        end_batch(&conn, &feed).unwrap(); // no batch open: nothing to do

        // A write dropped without commit inside a batch takes the batch down: nothing of it is kept.
        begin_batch(&conn).unwrap();
        let w = WriteTx::begin(&conn, &feed).unwrap();
        w.execute("INSERT INTO t VALUES (3)", []).unwrap();
        w.commit().unwrap();
        {
            let w = WriteTx::begin(&conn, &feed).unwrap();
            w.execute("INSERT INTO t VALUES (4)", []).unwrap();
        }
        assert!(conn.is_autocommit(), "the batch is over");
        end_batch(&conn, &feed).unwrap();
        assert_eq!(rows(&other), vec![1, 2]);

        // Outside a batch a write is its own transaction.
        let w = WriteTx::begin(&conn, &feed).unwrap();
        w.execute("INSERT INTO t VALUES (5)", []).unwrap();
        drop(w);
        let w = WriteTx::begin(&conn, &feed).unwrap();
        w.execute("INSERT INTO t VALUES (6)", []).unwrap();
        w.commit().unwrap();
        assert_eq!(rows(&other), vec![1, 2, 6]);
        assert!(conn.is_autocommit());
    }
}
