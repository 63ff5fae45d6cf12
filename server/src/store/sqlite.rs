//! The embedded backend: SQLite through rusqlite, in WAL mode, on a small pool of connections used from
//! `spawn_blocking`. Writes take `BEGIN IMMEDIATE`, so concurrent writers queue on the busy timeout and a
//! compare-and-swap inside one transaction cannot interleave with another.

mod rows;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sessionfs_shared::SessionId;
use sessionfs_shared::api::{SessionPatch, SessionSort, SyncMode, ToolUsage};
use tokio::sync::Semaphore;

use super::{
    HandoffComment, HandoffEvent, HandoffRecord, KeyRecord, MetadataStore, Push, PutOutcome, SessionFilter,
    SessionRecord, Stats, StorageUsage, StoreError, StoreResult, UserRecord, UserUsage, WatchRecord,
};
use rows::{SESSION_COLUMNS, handoff_from_row, key_from_row, session_from_row, user_from_row};

const MIGRATIONS: &[&str] = &[
    include_str!("sqlite/001_init.sql"),
    include_str!("sqlite/002_listing_index.sql"),
    include_str!("sqlite/003_listing_sorts.sql"),
];
const POOL_SIZE: usize = 4;

/// The SQLite metadata store.
pub struct SqliteStore {
    conns: Vec<Arc<Mutex<Connection>>>,
    permits: Arc<Semaphore>,
}

fn other(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Every row of `sql` with `params`, each mapped by `map`.
fn query_all<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = c.prepare(sql).map_err(other)?;
    let rows = stmt.query_map(params, map).map_err(other)?.collect::<rusqlite::Result<Vec<_>>>();
    rows.map_err(other)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    #[allow(clippy::disallowed_methods)] // the server's own database; settings applied just below
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(5000))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(format!("creating {}: {e}", dir.display())))?;
        }
        let mut first = open(path).map_err(other)?;
        migrate(&mut first).map_err(other)?;
        let mut conns = vec![Arc::new(Mutex::new(first))];
        for _ in 1..POOL_SIZE {
            conns.push(Arc::new(Mutex::new(open(path).map_err(other)?)));
        }
        Ok(Self { conns, permits: Arc::new(Semaphore::new(POOL_SIZE)) })
    }

    /// Run `f` on a free connection in the blocking pool.
    async fn with<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|e| StoreError::Other(e.to_string()))?;
        let conns = self.conns.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A permit guarantees one connection is free; a poisoned one (a panic mid-query) is still usable
            // because every write runs in a transaction that rolled back with the panic.
            for c in &conns {
                let guard = match c.try_lock() {
                    Ok(g) => g,
                    Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => continue,
                };
                let mut guard = guard;
                return f(&mut guard);
            }
            Err(StoreError::Other("no free database connection".into()))
        })
        .await
        .map_err(|e| StoreError::Other(format!("database worker failed: {e}")))?
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)", [])?;
    let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i as i64 + 1;
        if v > current {
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [v])?;
        }
    }
    tx.commit()
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

fn get_session(conn: &Connection, owner: &str, id: &str) -> StoreResult<Option<SessionRecord>> {
    conn.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE owner = ?1 AND id = ?2"),
        params![owner, id],
        session_from_row,
    )
    .optional()
    .map_err(other)
}

fn live_usage(conn: &Connection, owner: &str) -> StoreResult<u64> {
    conn.query_row(
        "SELECT COALESCE(SUM(blob_size), 0) FROM sessions WHERE owner = ?1 AND is_deleted = 0",
        [owner],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(other)
}

/// The `ORDER BY` of a session listing. Only these constant strings reach the SQL, never the caller's text.
/// Each ends with `id` so equal values keep one order from page to page, and each matches an index of
/// `003_listing_sorts.sql` term for term (change both together, or the page is sorted row by row again).
fn listing_order(sort: Option<SessionSort>, trash: bool) -> &'static str {
    match sort {
        None if trash => "deleted_at DESC, id",
        None | Some(SessionSort::Updated) => "updated_at DESC, id",
        Some(SessionSort::Created) => "created_at DESC, id",
        Some(SessionSort::Title) => "title IS NULL, title COLLATE NOCASE, id",
        Some(SessionSort::Size) => "blob_size DESC, id",
        Some(SessionSort::Messages) => "message_count DESC, id",
    }
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.with(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(other)).await
    }

    async fn create_user(&self, email: &str, is_admin: bool, verified: bool, now: &str) -> StoreResult<UserRecord> {
        let user = UserRecord {
            id: crate::auth::random_hex(16),
            email: email.to_owned(),
            display_name: None,
            email_verified: verified,
            is_admin,
            created_at: now.to_owned(),
        };
        let u = user.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO users (id, email, email_verified, is_admin, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![u.id, u.email, u.email_verified, u.is_admin, u.created_at],
            )
            .map_err(|e| {
                if is_unique_violation(&e) { StoreError::Duplicate("an account with this email") } else { other(e) }
            })?;
            Ok(())
        })
        .await?;
        Ok(user)
    }

    async fn user(&self, id: &str) -> StoreResult<UserRecord> {
        let id = id.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT id, email, display_name, email_verified, is_admin, created_at FROM users WHERE id = ?1",
                [id],
                user_from_row,
            )
            .optional()
            .map_err(other)?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<UserRecord> {
        let email = email.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT id, email, display_name, email_verified, is_admin, created_at FROM users WHERE email = ?1",
                [email],
                user_from_row,
            )
            .optional()
            .map_err(other)?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn set_email_verified(&self, user_id: &str) -> StoreResult<()> {
        let id = user_id.to_owned();
        self.with(move |c| {
            c.execute("UPDATE users SET email_verified = 1 WHERE id = ?1", [id]).map(|_| ()).map_err(other)
        })
        .await
    }

    async fn set_admin(&self, user_id: &str, admin: bool) -> StoreResult<()> {
        let id = user_id.to_owned();
        self.with(move |c| {
            c.execute("UPDATE users SET is_admin = ?2 WHERE id = ?1", params![id, admin]).map(|_| ()).map_err(other)
        })
        .await
    }

    async fn add_verification_token(&self, user_id: &str, token_hash: &str, expires_at: &str) -> StoreResult<()> {
        let (u, t, e) = (user_id.to_owned(), token_hash.to_owned(), expires_at.to_owned());
        self.with(move |c| {
            c.execute(
                "INSERT INTO verification_tokens (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                params![t, u, e],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn take_verification_token(&self, token_hash: &str, now: &str) -> StoreResult<String> {
        let (t, now) = (token_hash.to_owned(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            let user: Option<String> = tx
                .query_row(
                    "SELECT user_id FROM verification_tokens WHERE token_hash = ?1 AND expires_at > ?2",
                    params![t, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(other)?;
            tx.execute("DELETE FROM verification_tokens WHERE token_hash = ?1", [&t]).map_err(other)?;
            tx.commit().map_err(other)?;
            user.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_users(&self, page: u32, page_size: u32, search: Option<&str>) -> StoreResult<(Vec<UserUsage>, u64)> {
        let pattern = format!("%{}%", search.unwrap_or("").to_lowercase());
        let offset = i64::from(page.saturating_sub(1)) * i64::from(page_size);
        let limit = i64::from(page_size);
        self.with(move |c| {
            let total: i64 = c
                .query_row("SELECT COUNT(*) FROM users WHERE email LIKE ?1", [&pattern], |r| r.get(0))
                .map_err(other)?;
            let rows = query_all(
                c,
                "SELECT u.id, u.email, u.display_name, u.email_verified, u.is_admin, u.created_at, \
                       (SELECT COUNT(*) FROM sessions s WHERE s.owner = u.id AND s.is_deleted = 0), \
                       (SELECT COALESCE(SUM(blob_size), 0) FROM sessions s WHERE s.owner = u.id AND s.is_deleted = 0) \
                     FROM users u WHERE u.email LIKE ?1 ORDER BY u.created_at, u.email LIMIT ?2 OFFSET ?3",
                params![pattern, limit, offset],
                |r| {
                    Ok(UserUsage {
                        user: user_from_row(r)?,
                        session_count: r.get::<_, i64>(6)? as u64,
                        storage_used_bytes: r.get::<_, i64>(7)? as u64,
                    })
                },
            )?;
            Ok((rows, total as u64))
        })
        .await
    }

    async fn stats(&self) -> StoreResult<Stats> {
        self.with(|c| {
            let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|v| v as u64).map_err(other);
            Ok(Stats {
                users: n("SELECT COUNT(*) FROM users")?,
                verified_users: n("SELECT COUNT(*) FROM users WHERE email_verified = 1")?,
                sessions: n("SELECT COUNT(*) FROM sessions WHERE is_deleted = 0")?,
                deleted_sessions: n("SELECT COUNT(*) FROM sessions WHERE is_deleted = 1")?,
                storage_bytes: n("SELECT COALESCE(SUM(blob_size), 0) FROM sessions WHERE is_deleted = 0")?,
                handoffs: n("SELECT COUNT(*) FROM handoffs")?,
                pending_handoffs: n("SELECT COUNT(*) FROM handoffs WHERE status = 'pending'")?,
            })
        })
        .await
    }

    async fn create_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let k = key.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash, key_prefix, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![k.id, k.user_id, k.name, k.key_hash, k.key_prefix, k.created_at, k.expires_at],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<(KeyRecord, UserRecord)> {
        let h = key_hash.to_owned();
        self.with(move |c| {
            c.query_row(
                "SELECT k.id, k.user_id, k.name, k.key_hash, k.key_prefix, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, \
                        u.id, u.email, u.display_name, u.email_verified, u.is_admin, u.created_at \
                 FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?1",
                [h],
                |r| {
                    let key = key_from_row(r)?;
                    let user = UserRecord {
                        id: r.get(9)?,
                        email: r.get(10)?,
                        display_name: r.get(11)?,
                        email_verified: r.get(12)?,
                        is_admin: r.get(13)?,
                        created_at: r.get(14)?,
                    };
                    Ok((key, user))
                },
            )
            .optional()
            .map_err(other)?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn keys(&self, user_id: &str) -> StoreResult<Vec<KeyRecord>> {
        let u = user_id.to_owned();
        self.with(move |c| {
            let rows = query_all(c, "SELECT id, user_id, name, key_hash, key_prefix, created_at, expires_at, revoked_at, last_used_at FROM api_keys WHERE user_id = ?1 ORDER BY created_at, id", [u], key_from_row)?;
            Ok(rows)
        })
        .await
    }

    async fn revoke_key(&self, user_id: &str, key_id: &str, now: &str) -> StoreResult<()> {
        let (u, k, now) = (user_id.to_owned(), key_id.to_owned(), now.to_owned());
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND user_id = ?2",
                    params![k, u, now],
                )
                .map_err(other)?;
            if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn touch_key(&self, key_id: &str, now: &str) -> StoreResult<()> {
        let (k, now) = (key_id.to_owned(), now.to_owned());
        self.with(move |c| {
            c.execute("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1", params![k, now]).map(|_| ()).map_err(other)
        })
        .await
    }

    async fn put_session(&self, owner: &str, id: &SessionId, push: Push<'_>) -> StoreResult<PutOutcome> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        let v = push.version.clone();
        let expected = push.expected_etag.map(str::to_owned);
        let (undelete, create_only, quota, now) = (push.undelete, push.create_only, push.quota, push.now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            let existing = get_session(&tx, &owner, &id)?;
            let used = live_usage(&tx, &owner)?;
            let m = &v.meta;
            let outcome = match existing {
                None => {
                    if let Some(q) = quota.filter(|q| used + v.blob_size > *q) {
                        return Err(StoreError::Quota { used, quota: q, needed: v.blob_size });
                    }
                    tx.execute(
                        "INSERT INTO sessions (owner, id, title, tags, source_tool, source_tool_version, original_session_id, model_provider, model_id, \
                           message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, duration_ms, parent_session_id, \
                           created_at, updated_at, uploaded_at, blob_key, blob_size, etag, search_text) \
                         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)",
                        params![
                            owner, id, m.title, tags_json(&m.tags), m.source_tool, m.source_tool_version, m.original_session_id, m.model_provider,
                            m.model_id, m.message_count as i64, m.turn_count as i64, m.tool_use_count as i64, m.total_input_tokens as i64,
                            m.total_output_tokens as i64, m.duration_ms.map(|d| d as i64), m.parent_session_id, m.created_at, m.updated_at, now,
                            v.blob_key, v.blob_size as i64, v.etag, m.search_text
                        ],
                    )
                    .map_err(other)?;
                    PutOutcome::Created
                }
                Some(row) => {
                    if row.is_deleted && !undelete {
                        return Err(StoreError::Deleted);
                    }
                    if create_only && !row.is_deleted {
                        return Err(StoreError::Conflict { current_etag: Some(row.etag) });
                    }
                    if let Some(exp) = &expected
                        && *exp != row.etag {
                            return Err(StoreError::Conflict { current_etag: Some(row.etag) });
                        }
                    let freed = if row.is_deleted { 0 } else { row.blob_size };
                    if let Some(q) = quota.filter(|q| used - freed + v.blob_size > *q) {
                        return Err(StoreError::Quota { used, quota: q, needed: v.blob_size.saturating_sub(freed) });
                    }
                    // The etag in the WHERE clause makes this a compare-and-swap even if the read above were stale.
                    let n = tx
                        .execute(
                            "UPDATE sessions SET title = COALESCE(?3, title), tags = ?4, source_tool = ?5, source_tool_version = ?6, original_session_id = ?7, \
                               model_provider = ?8, model_id = ?9, message_count = ?10, turn_count = ?11, tool_use_count = ?12, total_input_tokens = ?13, \
                               total_output_tokens = ?14, duration_ms = ?15, parent_session_id = COALESCE(?16, parent_session_id), created_at = ?17, \
                               updated_at = ?18, uploaded_at = ?19, blob_key = ?20, blob_size = ?21, etag = ?22, search_text = ?23, \
                               is_deleted = 0, deleted_at = NULL, deleted_by = NULL, delete_scope = NULL, purge_after = NULL \
                             WHERE owner = ?1 AND id = ?2 AND etag = ?24",
                            params![
                                owner, id, m.title, tags_json(&m.tags), m.source_tool, m.source_tool_version, m.original_session_id, m.model_provider,
                                m.model_id, m.message_count as i64, m.turn_count as i64, m.tool_use_count as i64, m.total_input_tokens as i64,
                                m.total_output_tokens as i64, m.duration_ms.map(|d| d as i64), m.parent_session_id, m.created_at, m.updated_at, now,
                                v.blob_key, v.blob_size as i64, v.etag, m.search_text, row.etag
                            ],
                        )
                        .map_err(other)?;
                    if n != 1 {
                        return Err(StoreError::Conflict { current_etag: get_session(&tx, &owner, &id)?.map(|r| r.etag) });
                    }
                    PutOutcome::Updated { previous_blob_key: row.blob_key }
                }
            };
            tx.commit().map_err(other)?;
            Ok(outcome)
        })
        .await
    }

    async fn session(&self, owner: &str, id: &SessionId, include_deleted: bool) -> StoreResult<SessionRecord> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.with(move |c| match get_session(c, &owner, &id)? {
            Some(s) if include_deleted || !s.is_deleted => Ok(s),
            _ => Err(StoreError::NotFound),
        })
        .await
    }

    async fn session_by_alias(&self, owner: &str, alias: &str) -> StoreResult<SessionRecord> {
        let (owner, alias) = (owner.to_owned(), alias.to_owned());
        self.with(move |c| {
            c.query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE owner = ?1 AND alias = ?2 AND is_deleted = 0"),
                params![owner, alias],
                session_from_row,
            )
            .optional()
            .map_err(other)?
            .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn list_sessions(&self, owner: &str, f: &SessionFilter) -> StoreResult<(Vec<SessionRecord>, u64)> {
        let owner = owner.to_owned();
        let f = f.clone();
        self.with(move |c| {
            let mut filter = String::from("owner = ?1 AND is_deleted = ?2");
            let mut args: Vec<rusqlite::types::Value> = vec![owner.into(), i64::from(f.deleted).into()];
            if let Some(tool) = f.source_tool {
                args.push(tool.into());
                filter.push_str(&format!(" AND source_tool = ?{}", args.len()));
            }
            if let Some(tag) = f.tag {
                args.push(format!("%{}%", serde_json::to_string(&tag).unwrap_or_default()).into());
                filter.push_str(&format!(" AND tags LIKE ?{}", args.len()));
            }
            let total: i64 = c
                .query_row(
                    &format!("SELECT COUNT(*) FROM sessions WHERE {filter}"),
                    rusqlite::params_from_iter(args.iter()),
                    |r| r.get(0),
                )
                .map_err(other)?;
            let offset = i64::from(f.page.saturating_sub(1)) * i64::from(f.page_size);
            let order = listing_order(f.sort, f.deleted);
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE {filter} ORDER BY {order} LIMIT {} OFFSET {offset}",
                f.page_size
            );
            let rows = query_all(c, &sql, rusqlite::params_from_iter(args.iter()), session_from_row)?;
            Ok((rows, total as u64))
        })
        .await
    }

    async fn search_sessions(
        &self,
        owner: &str,
        query: &str,
        tool: Option<&str>,
        since: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> StoreResult<(Vec<(SessionRecord, String)>, u64)> {
        let Some(q) = sessionfs_shared::search::fts_query(query) else { return Ok((Vec::new(), 0)) };
        let owner = owner.to_owned();
        let tool = tool.map(str::to_owned);
        let since = since.map(str::to_owned);
        self.with(move |c| {
            let mut filter = String::from("sessions_fts MATCH ?1 AND s.owner = ?2 AND s.is_deleted = 0");
            let mut args: Vec<rusqlite::types::Value> = vec![q.into(), owner.into()];
            if let Some(t) = tool {
                args.push(t.into());
                filter.push_str(&format!(" AND s.source_tool = ?{}", args.len()));
            }
            if let Some(s) = since {
                args.push(s.into());
                filter.push_str(&format!(" AND s.updated_at >= ?{}", args.len()));
            }
            let from = "FROM sessions_fts JOIN sessions s ON s.rowid = sessions_fts.rowid";
            let total: i64 = c
                .query_row(&format!("SELECT COUNT(*) {from} WHERE {filter}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                .map_err(other)?;
            let offset = i64::from(page.saturating_sub(1)) * i64::from(page_size);
            let cols = SESSION_COLUMNS.split(", ").map(|col| format!("s.{col}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {cols}, snippet(sessions_fts, 1, '<mark>', '</mark>', '…', 24) {from} WHERE {filter} ORDER BY rank LIMIT {page_size} OFFSET {offset}"
            );
            let mut stmt = c.prepare(&sql).map_err(other)?;
            let n = SESSION_COLUMNS.split(", ").count();
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), |r| Ok((session_from_row(r)?, r.get::<_, String>(n)?)))
                .map_err(other)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(other)?;
            Ok((rows, total as u64))
        })
        .await
    }

    async fn patch_session(
        &self,
        owner: &str,
        id: &SessionId,
        patch: &SessionPatch,
        now: &str,
    ) -> StoreResult<SessionRecord> {
        let (owner, id, p, now) = (owner.to_owned(), id.to_string(), patch.clone(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            match get_session(&tx, &owner, &id)? {
                Some(s) if !s.is_deleted => {}
                _ => return Err(StoreError::NotFound),
            }
            if let Some(title) = &p.title {
                tx.execute(
                    "UPDATE sessions SET title = ?3, updated_at = ?4 WHERE owner = ?1 AND id = ?2",
                    params![owner, id, title, now],
                )
                .map_err(other)?;
            }
            if let Some(alias) = &p.alias {
                let value = if alias.is_empty() { None } else { Some(alias.as_str()) };
                tx.execute("UPDATE sessions SET alias = ?3 WHERE owner = ?1 AND id = ?2", params![owner, id, value])
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            StoreError::Duplicate("a session with this alias")
                        } else {
                            other(e)
                        }
                    })?;
            }
            if let Some(tags) = &p.tags {
                tx.execute(
                    "UPDATE sessions SET tags = ?3 WHERE owner = ?1 AND id = ?2",
                    params![owner, id, tags_json(tags)],
                )
                .map_err(other)?;
            }
            let s = get_session(&tx, &owner, &id)?.ok_or(StoreError::NotFound)?;
            tx.commit().map_err(other)?;
            Ok(s)
        })
        .await
    }

    async fn soft_delete(
        &self,
        owner: &str,
        id: &SessionId,
        scope: &str,
        now: &str,
        purge_after: &str,
    ) -> StoreResult<SessionRecord> {
        let (owner, id, scope, now, purge) =
            (owner.to_owned(), id.to_string(), scope.to_owned(), now.to_owned(), purge_after.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            match get_session(&tx, &owner, &id)? {
                None => return Err(StoreError::NotFound),
                Some(s) if s.is_deleted => return Err(StoreError::Deleted),
                Some(_) => {}
            }
            tx.execute(
                "UPDATE sessions SET is_deleted = 1, deleted_at = ?3, deleted_by = ?1, delete_scope = ?4, purge_after = ?5 WHERE owner = ?1 AND id = ?2",
                params![owner, id, now, scope, purge],
            )
            .map_err(other)?;
            let s = get_session(&tx, &owner, &id)?.ok_or(StoreError::NotFound)?;
            tx.commit().map_err(other)?;
            Ok(s)
        })
        .await
    }

    async fn restore(&self, owner: &str, id: &SessionId) -> StoreResult<(SessionRecord, Option<String>)> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            let before = get_session(&tx, &owner, &id)?.ok_or(StoreError::NotFound)?;
            if !before.is_deleted {
                return Err(StoreError::Conflict { current_etag: None });
            }
            tx.execute(
                "UPDATE sessions SET is_deleted = 0, deleted_at = NULL, deleted_by = NULL, delete_scope = NULL, purge_after = NULL WHERE owner = ?1 AND id = ?2",
                params![owner, id],
            )
            .map_err(other)?;
            let s = get_session(&tx, &owner, &id)?.ok_or(StoreError::NotFound)?;
            tx.commit().map_err(other)?;
            Ok((s, before.delete_scope))
        })
        .await
    }

    async fn storage_used(&self, owner: &str) -> StoreResult<u64> {
        let owner = owner.to_owned();
        self.with(move |c| live_usage(c, &owner)).await
    }

    async fn storage_usage(&self, owner: &str) -> StoreResult<StorageUsage> {
        let owner = owner.to_owned();
        self.with(move |c| {
            // One statement, so the per-agent figures and the trash come from the same snapshot.
            let groups = query_all(
                c,
                "SELECT is_deleted, source_tool, COUNT(*), COALESCE(SUM(blob_size), 0) FROM sessions WHERE owner = ?1 \
                 GROUP BY is_deleted, source_tool ORDER BY 4 DESC, source_tool",
                [owner],
                |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ))
                },
            )?;
            let mut usage = StorageUsage::default();
            for (deleted, source_tool, sessions, bytes) in groups {
                if deleted {
                    usage.deleted_sessions += sessions;
                    usage.deleted_bytes += bytes;
                } else {
                    usage.by_tool.push(ToolUsage { source_tool, sessions, bytes });
                }
            }
            Ok(usage)
        })
        .await
    }

    async fn purgeable(&self, now: &str, one: Option<(&str, &SessionId)>) -> StoreResult<Vec<SessionRecord>> {
        let now = now.to_owned();
        let one = one.map(|(o, id)| (o.to_owned(), id.to_string()));
        self.with(move |c| {
            let (sql, args): (String, Vec<String>) = match one {
                Some((o, id)) => (format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE owner = ?1 AND id = ?2 AND is_deleted = 1"), vec![o, id]),
                None => (format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE is_deleted = 1 AND purge_after IS NOT NULL AND purge_after < ?1"), vec![now]),
            };
            let rows = query_all(c, &sql, rusqlite::params_from_iter(args.iter()), session_from_row)?;
            Ok(rows)
        })
        .await
    }

    async fn purge_session(&self, owner: &str, id: &SessionId) -> StoreResult<()> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            tx.execute("DELETE FROM sessions WHERE owner = ?1 AND id = ?2 AND is_deleted = 1", params![owner, id])
                .map_err(other)?;
            tx.execute("DELETE FROM sync_watchlist WHERE owner = ?1 AND session_id = ?2", params![owner, id])
                .map_err(other)?;
            tx.commit().map_err(other)
        })
        .await
    }

    async fn blob_in_use(&self, blob_key: &str) -> StoreResult<bool> {
        let k = blob_key.to_owned();
        self.with(move |c| {
            c.query_row("SELECT EXISTS(SELECT 1 FROM sessions WHERE blob_key = ?1)", [k], |r| r.get(0)).map_err(other)
        })
        .await
    }

    async fn sync_settings(&self, owner: &str) -> StoreResult<(SyncMode, u32)> {
        let owner = owner.to_owned();
        self.with(move |c| {
            let (mode, debounce): (String, i64) = c
                .query_row("SELECT sync_mode, sync_debounce FROM users WHERE id = ?1", [owner], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(other)?
                .ok_or(StoreError::NotFound)?;
            let mode = match mode.as_str() {
                "all" => SyncMode::All,
                "selective" => SyncMode::Selective,
                _ => SyncMode::Off,
            };
            Ok((mode, debounce as u32))
        })
        .await
    }

    async fn set_sync_settings(&self, owner: &str, mode: SyncMode, debounce: u32) -> StoreResult<()> {
        let owner = owner.to_owned();
        self.with(move |c| {
            c.execute(
                "UPDATE users SET sync_mode = ?2, sync_debounce = ?3 WHERE id = ?1",
                params![owner, mode.as_str(), debounce],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn watch(&self, owner: &str, id: &SessionId, now: &str) -> StoreResult<()> {
        let (owner, id, now) = (owner.to_owned(), id.to_string(), now.to_owned());
        self.with(move |c| {
            c.execute(
                "INSERT INTO sync_watchlist (owner, session_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![owner, id, now],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn unwatch(&self, owner: &str, id: &SessionId) -> StoreResult<()> {
        let (owner, id) = (owner.to_owned(), id.to_string());
        self.with(move |c| {
            c.execute("DELETE FROM sync_watchlist WHERE owner = ?1 AND session_id = ?2", params![owner, id])
                .map(|_| ())
                .map_err(other)
        })
        .await
    }

    async fn watchlist(&self, owner: &str) -> StoreResult<Vec<WatchRecord>> {
        let owner = owner.to_owned();
        self.with(move |c| {
            let mut stmt = c
                .prepare("SELECT session_id, status, last_synced_at FROM sync_watchlist WHERE owner = ?1 ORDER BY created_at DESC, session_id")
                .map_err(other)?;
            let rows: Vec<(String, String, Option<String>)> =
                stmt.query_map([&owner], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(other)?.collect::<rusqlite::Result<_>>().map_err(other)?;
            rows.into_iter()
                .map(|(session_id, status, last_synced_at)| {
                    let session = get_session(c, &owner, &session_id)?.filter(|s| !s.is_deleted);
                    Ok(WatchRecord { session_id, status, last_synced_at, session })
                })
                .collect()
        })
        .await
    }

    async fn set_watch_status(&self, owner: &str, id: &SessionId, status: &str, now: &str) -> StoreResult<bool> {
        let (owner, id, status, now) = (owner.to_owned(), id.to_string(), status.to_owned(), now.to_owned());
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE sync_watchlist SET status = ?3, last_synced_at = CASE WHEN ?3 = 'synced' THEN ?4 ELSE last_synced_at END \
                     WHERE owner = ?1 AND session_id = ?2",
                    params![owner, id, status, now],
                )
                .map_err(other)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_handoff(&self, h: &HandoffRecord) -> StoreResult<()> {
        let h = h.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO handoffs (id, sender_id, session_id, recipient_email, message, status, created_at, expires_at, snapshot_title, snapshot_tool, \
                   snapshot_model_id, snapshot_message_count) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                params![
                    h.id, h.sender_id, h.session_id, h.recipient_email, h.message, h.status, h.created_at, h.expires_at, h.snapshot_title,
                    h.snapshot_tool, h.snapshot_model_id, h.snapshot_message_count as i64
                ],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn handoff(&self, id: &str) -> StoreResult<HandoffRecord> {
        let id = id.to_owned();
        self.with(move |c| {
            c.query_row(&format!("{} WHERE h.id = ?1", rows::HANDOFF_SELECT), [id], handoff_from_row)
                .optional()
                .map_err(other)?
                .ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn inbox(&self, email: &str) -> StoreResult<Vec<HandoffRecord>> {
        let email = email.to_lowercase();
        self.with(move |c| {
            let rows = query_all(
                c,
                &format!("{} WHERE h.recipient_email = ?1 ORDER BY h.created_at DESC", rows::HANDOFF_SELECT),
                [email],
                handoff_from_row,
            )?;
            Ok(rows)
        })
        .await
    }

    async fn sent(&self, user_id: &str) -> StoreResult<Vec<HandoffRecord>> {
        let u = user_id.to_owned();
        self.with(move |c| {
            let rows = query_all(
                c,
                &format!("{} WHERE h.sender_id = ?1 ORDER BY h.created_at DESC", rows::HANDOFF_SELECT),
                [u],
                handoff_from_row,
            )?;
            Ok(rows)
        })
        .await
    }

    async fn set_handoff_status(&self, id: &str, status: &str, reason: Option<&str>, now: &str) -> StoreResult<()> {
        let (id, status, reason, now) = (id.to_owned(), status.to_owned(), reason.map(str::to_owned), now.to_owned());
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE handoffs SET status = ?2, revoke_reason = COALESCE(?3, revoke_reason), \
                       revoked_at = CASE WHEN ?2 = 'revoked' THEN ?4 ELSE revoked_at END WHERE id = ?1 AND status = 'pending'",
                    params![id, status, reason, now],
                )
                .map_err(other)?;
            if n == 1 { Ok(()) } else { Err(StoreError::Conflict { current_etag: None }) }
        })
        .await
    }

    async fn mark_handoff_viewed(&self, id: &str, now: &str) -> StoreResult<bool> {
        let (id, now) = (id.to_owned(), now.to_owned());
        self.with(move |c| {
            let n = c
                .execute("UPDATE handoffs SET viewed_at = ?2 WHERE id = ?1 AND viewed_at IS NULL", params![id, now])
                .map_err(other)?;
            Ok(n == 1)
        })
        .await
    }

    async fn add_handoff_comment(&self, cm: &HandoffComment) -> StoreResult<()> {
        let cm = cm.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO handoff_comments (id, handoff_id, author_user_id, content, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![cm.id, cm.handoff_id, cm.author_user_id, cm.content, cm.created_at],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn handoff_comments(&self, id: &str, limit: u32) -> StoreResult<Vec<HandoffComment>> {
        let id = id.to_owned();
        self.with(move |c| {
            let rows = query_all(c, "SELECT id, handoff_id, author_user_id, content, created_at FROM handoff_comments WHERE handoff_id = ?1 \
                     ORDER BY created_at, id LIMIT ?2", params![id, limit], |r| {
                    Ok(HandoffComment {
                        id: r.get(0)?,
                        handoff_id: r.get(1)?,
                        author_user_id: r.get(2)?,
                        content: r.get(3)?,
                        created_at: r.get(4)?,
                    })
                })?;
            Ok(rows)
        })
        .await
    }

    async fn add_handoff_event(
        &self,
        id: &str,
        event_type: &str,
        actor: Option<&str>,
        payload: &serde_json::Value,
        now: &str,
    ) -> StoreResult<()> {
        let (id, kind, actor, payload, now) =
            (id.to_owned(), event_type.to_owned(), actor.map(str::to_owned), payload.to_string(), now.to_owned());
        self.with(move |c| {
            c.execute(
                "INSERT INTO handoff_events (handoff_id, event_type, actor_user_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, kind, actor, payload, now],
            )
            .map(|_| ())
            .map_err(other)
        })
        .await
    }

    async fn handoff_events(&self, id: &str, limit: u32) -> StoreResult<Vec<HandoffEvent>> {
        let id = id.to_owned();
        self.with(move |c| {
            let rows = query_all(
                c,
                "SELECT id, handoff_id, event_type, actor_user_id, payload, created_at FROM handoff_events \
                     WHERE handoff_id = ?1 ORDER BY id LIMIT ?2",
                params![id, limit],
                |r| {
                    let payload: String = r.get(4)?;
                    Ok(HandoffEvent {
                        id: r.get(0)?,
                        handoff_id: r.get(1)?,
                        event_type: r.get(2)?,
                        actor_user_id: r.get(3)?,
                        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                        created_at: r.get(5)?,
                    })
                },
            )?;
            Ok(rows)
        })
        .await
    }

    async fn claim_handoff(&self, id: &str, recipient_id: &str, copy: &SessionRecord, now: &str) -> StoreResult<()> {
        let (id, recipient, now) = (id.to_owned(), recipient_id.to_owned(), now.to_owned());
        let s = copy.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(other)?;
            let n = tx
                .execute(
                    "UPDATE handoffs SET status = 'claimed', recipient_id = ?2, recipient_session_id = ?3, claimed_at = ?4 WHERE id = ?1 AND status = 'pending'",
                    params![id, recipient, s.id.as_str(), now],
                )
                .map_err(other)?;
            if n != 1 {
                return Err(StoreError::Conflict { current_etag: None });
            }
            let m = &s.meta;
            tx.execute(
                "INSERT INTO sessions (owner, id, title, tags, source_tool, source_tool_version, original_session_id, model_provider, model_id, \
                   message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, duration_ms, parent_session_id, \
                   created_at, updated_at, uploaded_at, blob_key, blob_size, etag, search_text) \
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23)",
                params![
                    s.owner, s.id.as_str(), m.title, tags_json(&m.tags), m.source_tool, m.source_tool_version, m.original_session_id,
                    m.model_provider, m.model_id, m.message_count as i64, m.turn_count as i64, m.tool_use_count as i64, m.total_input_tokens as i64,
                    m.total_output_tokens as i64, m.duration_ms.map(|d| d as i64), m.parent_session_id, m.created_at, m.updated_at, s.uploaded_at,
                    s.blob_key, s.blob_size as i64, s.etag, m.search_text
                ],
            )
            .map_err(other)?;
            tx.commit().map_err(other)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listing order reads an index in order; a sort step here means `listing_order` and
    /// `003_listing_sorts.sql` drifted apart.
    #[test]
    fn every_listing_order_is_read_from_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = open(&dir.path().join("db.sqlite")).unwrap();
        migrate(&mut c).unwrap();
        let orders = SessionSort::ALL.map(Some).into_iter().chain([None]);
        for (sort, trash) in orders.flat_map(|s| [(s, false), (s, true)]) {
            let order = listing_order(sort, trash);
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT {SESSION_COLUMNS} FROM sessions WHERE owner = ?1 AND is_deleted = ?2 \
                 ORDER BY {order} LIMIT 20 OFFSET 0"
            );
            let plan: Vec<String> = query_all(&c, &sql, params!["u", trash], |r| r.get(3)).unwrap();
            assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{order}: {plan:?}");
        }
        let usage = "EXPLAIN QUERY PLAN SELECT is_deleted, source_tool, COUNT(*), COALESCE(SUM(blob_size), 0) \
                     FROM sessions WHERE owner = ?1 GROUP BY is_deleted, source_tool";
        let plan: Vec<String> = query_all(&c, usage, ["u"], |r| r.get(3)).unwrap();
        assert!(plan.iter().any(|p| p.contains("COVERING INDEX")), "{plan:?}");
    }
}
