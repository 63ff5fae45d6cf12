//! Codex's own index of threads, `~/.codex/state_5.sqlite` table `threads`: `codex resume <id>` and its
//! picker look threads up there, so a rollout SessionFS writes gets a row. The table's columns change
//! between Codex versions; the row is built from the columns the table has, and a required column
//! SessionFS has no value for is an error rather than a guess.

use std::path::Path;
use std::time::Duration;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use sessionfs_shared::Timestamp;

use crate::ResumeError;

/// The index file under `~/.codex`.
pub(crate) const STATE_DB: &str = "state_5.sqlite";

/// What a thread row says.
pub(crate) struct ThreadRow<'a> {
    pub id: &'a str,
    pub rollout_path: &'a Path,
    pub created: Timestamp,
    pub model_provider: &'a str,
    pub cwd: &'a Path,
    pub title: &'a str,
    pub first_user_message: &'a str,
    pub cli_version: &'a str,
    pub model: Option<&'a str>,
    pub git_sha: Option<&'a str>,
    pub git_branch: Option<&'a str>,
    pub git_origin_url: Option<&'a str>,
}

fn open(db: &Path) -> Result<Connection, ResumeError> {
    let err = |source| ResumeError::CodexIndex { path: db.to_owned(), source };
    // Codex's database, not SessionFS's index: open it as it is (no journal-mode change, never created).
    #[allow(clippy::disallowed_methods)]
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(err)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
    Ok(conn)
}

/// Insert the thread's row.
pub(crate) fn register_thread(db: &Path, row: &ThreadRow<'_>) -> Result<(), ResumeError> {
    let conn = open(db)?;
    let err = |source| ResumeError::CodexIndex { path: db.to_owned(), source };
    // (name, not null, has default, part of primary key)
    let mut stmt = conn.prepare("PRAGMA table_info(threads)").map_err(err)?;
    let columns: Vec<(String, bool, bool, bool)> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, i64>(3)? != 0,
                r.get::<_, Option<String>>(4)?.is_some(),
                r.get::<_, i64>(5)? != 0,
            ))
        })
        .map_err(err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(err)?;
    drop(stmt);
    if columns.is_empty() {
        return Err(ResumeError::CodexSchema { path: db.to_owned(), detail: "it has no threads table".into() });
    }
    let secs = row.created.millis().div_euclid(1000);
    let ms = row.created.millis();
    let text = |s: &str| Sql::Text(s.to_owned());
    let opt = |s: Option<&str>| s.map_or(Sql::Null, |s| Sql::Text(s.to_owned()));
    let known: Vec<(&str, Sql)> = vec![
        ("id", text(row.id)),
        ("rollout_path", text(&row.rollout_path.to_string_lossy())),
        ("created_at", Sql::Integer(secs)),
        ("updated_at", Sql::Integer(secs)),
        ("created_at_ms", Sql::Integer(ms)),
        ("updated_at_ms", Sql::Integer(ms)),
        ("recency_at", Sql::Integer(secs)),
        ("recency_at_ms", Sql::Integer(ms)),
        ("source", text("cli")),
        ("model_provider", text(row.model_provider)),
        ("cwd", text(&row.cwd.to_string_lossy())),
        ("title", text(row.title)),
        ("sandbox_policy", text(r#"{"type":"read-only"}"#)),
        ("approval_mode", text("on-request")),
        ("tokens_used", Sql::Integer(0)),
        ("has_user_event", Sql::Integer(1)),
        ("archived", Sql::Integer(0)),
        ("git_sha", opt(row.git_sha)),
        ("git_branch", opt(row.git_branch)),
        ("git_origin_url", opt(row.git_origin_url)),
        ("cli_version", text(row.cli_version)),
        ("first_user_message", text(row.first_user_message)),
        ("preview", text(row.first_user_message)),
        ("memory_mode", text("enabled")),
        ("model", opt(row.model)),
        ("history_mode", text("legacy")),
        ("originator", text(crate::codex::SESSIONFS_ORIGINATOR)),
        ("is_pinned", Sql::Integer(0)),
    ];
    let mut names = Vec::new();
    let mut values = Vec::new();
    for (name, not_null, has_default, _pk) in &columns {
        match known.iter().find(|(k, _)| k == name) {
            Some((_, v)) => {
                names.push(format!("\"{name}\""));
                values.push(v.clone());
            }
            None if *not_null && !*has_default => {
                return Err(ResumeError::CodexSchema {
                    path: db.to_owned(),
                    detail: format!("required column {name:?} of threads is not one SessionFS knows"),
                });
            }
            None => {}
        }
    }
    let marks: Vec<String> = (1..=values.len()).map(|n| format!("?{n}")).collect();
    let sql = format!("INSERT INTO threads ({}) VALUES ({})", names.join(", "), marks.join(", "));
    conn.execute(&sql, rusqlite::params_from_iter(values)).map_err(err)?;
    Ok(())
}

/// Remove the thread's row (when the written session is discarded).
pub(crate) fn unregister_thread(db: &Path, id: &str) -> Result<(), ResumeError> {
    let conn = open(db)?;
    conn.execute("DELETE FROM threads WHERE id = ?1", [id])
        .map_err(|source| ResumeError::CodexIndex { path: db.to_owned(), source })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `threads` table of codex 0.169.0, as it created it.
    const SCHEMA_0_169: &str = "CREATE TABLE threads (
        id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
        source TEXT NOT NULL, model_provider TEXT NOT NULL, cwd TEXT NOT NULL, title TEXT NOT NULL,
        sandbox_policy TEXT NOT NULL, approval_mode TEXT NOT NULL, tokens_used INTEGER NOT NULL DEFAULT 0,
        has_user_event INTEGER NOT NULL DEFAULT 0, archived INTEGER NOT NULL DEFAULT 0, archived_at INTEGER,
        git_sha TEXT, git_branch TEXT, git_origin_url TEXT, cli_version TEXT NOT NULL DEFAULT '',
        first_user_message TEXT NOT NULL DEFAULT '', agent_nickname TEXT, agent_role TEXT,
        memory_mode TEXT NOT NULL DEFAULT 'enabled', model TEXT, reasoning_effort TEXT, agent_path TEXT,
        created_at_ms INTEGER, updated_at_ms INTEGER, thread_source TEXT, preview TEXT NOT NULL DEFAULT '',
        recency_at INTEGER NOT NULL DEFAULT 0, recency_at_ms INTEGER NOT NULL DEFAULT 0,
        history_mode TEXT NOT NULL DEFAULT 'legacy', name TEXT, is_pinned INTEGER NOT NULL DEFAULT 0,
        thread_section_id TEXT, section_position INTEGER, section_entered_at_ms INTEGER, project_id TEXT,
        originator TEXT, daybreak_enabled BOOLEAN, creator_user_id TEXT, creator_account_id TEXT,
        attached_thread_parent_id TEXT)";

    fn row<'a>(rollout: &'a Path) -> ThreadRow<'a> {
        ThreadRow {
            id: "019a0000-0000-7000-8000-000000000001",
            rollout_path: rollout,
            created: Timestamp::from_millis(1_767_225_600_000).unwrap(),
            model_provider: "openai",
            cwd: Path::new("/w"),
            title: "Fix it",
            first_user_message: "Fix it",
            cli_version: "0.169.0",
            model: Some("gpt-5"),
            git_sha: None,
            git_branch: Some("main"),
            git_origin_url: None,
        }
    }

    fn db(schema: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_DB);
        #[allow(clippy::disallowed_methods)]
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema).unwrap();
        (dir, path)
    }

    #[test]
    fn registers_and_unregisters_a_thread() {
        let (_dir, path) = db(SCHEMA_0_169);
        register_thread(&path, &row(Path::new("/h/.codex/sessions/r.jsonl"))).unwrap();
        #[allow(clippy::disallowed_methods)]
        let conn = Connection::open(&path).unwrap();
        let (cwd, origin, mode, created): (String, String, String, i64) = conn
            .query_row("SELECT cwd, originator, history_mode, created_at FROM threads", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!(
            (cwd.as_str(), origin.as_str(), mode.as_str(), created),
            ("/w", "sessionfs", "legacy", 1_767_225_600)
        );
        unregister_thread(&path, "019a0000-0000-7000-8000-000000000001").unwrap();
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM threads", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn an_unknown_required_column_is_an_error_not_a_guess() {
        let (_dir, path) =
            db("CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, flavour TEXT NOT NULL)");
        let err = register_thread(&path, &row(Path::new("/r.jsonl"))).unwrap_err();
        assert!(err.to_string().contains("\"flavour\""), "{err}");
    }
}
