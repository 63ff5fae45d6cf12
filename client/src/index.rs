//! `index.db`: session metadata, the messages search finds, and where capture stopped in each native file;
//! with `fulltext.db`, the full-text index over message text (FTS5, see `index/fulltext.rs`). Shared by the daemon
//! and the CLI: WAL lets readers run beside the one writer, and a 5 s busy timeout absorbs short waits for
//! the write lock (the seed's "database is locked" entry).

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sessionfs_shared::search::{query_terms, snippet};
use sessionfs_shared::sfs::Message;
use sessionfs_shared::{AgentKind, SessionId};

use crate::error::{ClientError, Result};
use crate::session_dir::{LineSpan, MessagesRead, SessionDir};

mod bulk_insert;
pub(crate) mod damage;
pub(crate) mod fulltext;
mod transaction;

use fulltext::{Change, Feed, FullText, FullTextThread};
pub use transaction::WriteTx;

/// The index schema this build reads and writes: its number of migrations. A daemon records it in its status,
/// so an older daemon still running after an upgrade can be told apart (see `sfs doctor`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    include_str!("index/001_init.sql"),
    include_str!("index/002_resumes.sql"),
    include_str!("index/003_contentless_fts.sql"),
    include_str!("index/004_fulltext_db.sql"),
    include_str!("index/005_message_rows_lean.sql"),
    include_str!("index/006_session_keys.sql"),
];

/// WAL pages between checkpoints during imports and rebuilds (64 MiB; SQLite's default is 1000, 4 MiB). A
/// checkpoint syncs the database file, and on a journaled file system that syncs every file the import
/// wrote since the last one: an import of 4,000 sessions on ext4 spent a tenth of its time there.
pub(crate) const BULK_WAL_AUTOCHECKPOINT: i64 = 16_384;

/// How long a writer waits for another's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Above this many matching messages a search orders by recency instead of bm25 (see [`Index::search`]).
pub const SEARCH_WINDOW: usize = 2_000;

/// Above this many words a prefix is left to FTS5's own prefix matching (an OR that wide costs more).
const MAX_PREFIX_WORDS: usize = 2_000;

/// Words in a search snippet.
const SNIPPET_WORDS: usize = 16;

/// The most text indexed per message: tool outputs can be whole files, which search does not need.
const MAX_INDEXED_TEXT: usize = 64 * 1024;

/// Open a connection with the settings every user of the index needs. The only place that opens one.
pub fn open_connection(path: &Path) -> Result<Connection> {
    #[allow(clippy::disallowed_methods)] // this is the one sanctioned opener
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A session as the index knows it; the `sfs list --json` object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    /// `ses_…`
    pub id: SessionId,
    /// The agent (`claude-code`, `codex`, `gemini-cli`, …).
    pub source_tool: String,
    /// The agent's own session ID.
    pub native_id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// User alias.
    pub alias: Option<String>,
    /// User tags.
    pub tags: Vec<String>,
    /// Working directory of the session.
    pub project_path: Option<String>,
    /// Main model.
    pub model_id: Option<String>,
    /// Messages.
    pub message_count: u64,
    /// User turns.
    pub turn_count: u64,
    /// Tool calls.
    pub tool_use_count: u64,
    /// Prompt tokens.
    pub total_input_tokens: u64,
    /// Completion tokens.
    pub total_output_tokens: u64,
    /// First message (RFC 3339).
    pub created_at: String,
    /// Last message (RFC 3339).
    pub updated_at: String,
    /// Disk use of the `.sfs` directory.
    pub size_bytes: u64,
    /// The session this one continues (a resume in another agent) or was forked from.
    pub parent_session_id: Option<String>,
    #[serde(skip)]
    pub(crate) messages_bytes: u64,
}

impl SessionRow {
    /// The row for a manifest (project path unset: it comes from the workspace).
    pub fn from_manifest(m: &sessionfs_shared::sfs::Manifest, messages_bytes: u64, size_bytes: u64) -> Self {
        let stats = m.stats.clone().unwrap_or_default();
        Self {
            id: m.session_id.clone(),
            source_tool: m.source.tool.canonical().to_owned(),
            native_id: m.source.original_session_id.clone(),
            title: m.title.clone(),
            alias: m.alias.clone(),
            tags: m.tags.clone(),
            project_path: None,
            model_id: m.model.as_ref().and_then(|x| x.model_id.clone()),
            message_count: stats.message_count,
            turn_count: stats.turn_count,
            tool_use_count: stats.tool_use_count,
            total_input_tokens: stats.total_input_tokens,
            total_output_tokens: stats.total_output_tokens,
            created_at: m.created_at.to_rfc3339(),
            updated_at: m.updated_at.unwrap_or(m.created_at).to_rfc3339(),
            size_bytes,
            parent_session_id: m.parent_session_id.clone(),
            messages_bytes,
        }
    }
}

/// Filters for [`Index::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this agent.
    pub tool: Option<AgentKind>,
    /// Only sessions updated at or after this RFC 3339 time.
    pub since: Option<String>,
    /// At most this many (newest first).
    pub limit: Option<u32>,
}

/// One search result: the best-matching message of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The session.
    pub session_id: SessionId,
    /// The matching message; `None` when it could not be read back (the session changed under the index).
    pub msg_id: Option<String>,
    /// Its role, likewise.
    pub role: Option<String>,
    /// Text around the match, matches in «…».
    pub snippet: String,
    /// BM25 score (lower is better), when the hits are ranked by relevance; `None` when they come newest
    /// first (a query of several words, a prefix, or a word in more than [`SEARCH_WINDOW`] messages; see
    /// [`Index::search`]).
    pub score: Option<f64>,
    /// The session's agent.
    pub source_tool: String,
    /// The session's title.
    pub title: Option<String>,
}

/// Capture health of one agent, from the native files the index tracks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentHealth {
    /// The agent.
    pub agent: String,
    /// Native files tracked.
    pub files: u64,
    /// Sessions captured.
    pub sessions: u64,
    /// Records that could not be parsed, over all files.
    pub records_skipped: u64,
    /// The most recent parse error.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// The most recent capture.
    pub last_captured_at: Option<String>,
}

/// A tracked native file's capture position.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeFileRow {
    /// The file.
    pub path: String,
    /// Its agent.
    pub agent: String,
    /// The session it feeds.
    pub session_id: SessionId,
    /// Sub-agent name, for sub-agent threads.
    pub subagent: Option<String>,
    /// Bytes consumed so far.
    pub offset: u64,
    /// Hash of the file's first bytes when last read, to notice a rewrite.
    pub head_hash: Option<String>,
    /// The parser's saved state (JSON).
    pub parser_state: Option<String>,
    /// Messages this file contributed.
    pub messages: u64,
    /// Records skipped so far.
    pub records_skipped: u64,
    /// Last parse error.
    pub last_error: Option<String>,
    /// When.
    pub last_error_at: Option<String>,
    /// Last capture.
    pub last_captured_at: Option<String>,
}

/// A native session `sfs resume` wrote: which session it continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResumeRecord {
    /// The native file written (`None` while it is being written).
    pub native_path: Option<String>,
    /// The agent it was written for.
    pub agent: String,
    /// The agent's ID of it.
    pub native_id: String,
    /// The session it continues.
    pub origin_session_id: SessionId,
    /// Messages written into it.
    pub written_messages: u64,
    /// When (RFC 3339).
    pub created_at: String,
}

fn row_to_resume(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResumeRecord> {
    let id: String = r.get("origin_session_id")?;
    Ok(ResumeRecord {
        native_path: r.get("native_path")?,
        agent: r.get("agent")?,
        native_id: r.get("native_id")?,
        origin_session_id: SessionId::parse(&id)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))?,
        written_messages: r.get::<_, i64>("written_messages")? as u64,
        created_at: r.get("created_at")?,
    })
}

/// The index database, with the full-text index in `fulltext.db` beside it.
pub struct Index {
    conn: Connection,
    /// Where the sessions' directories are: search reads the text of the messages it shows from there.
    sessions: PathBuf,
    /// Where the full-text changes of writes go.
    feed: RefCell<Feed>,
    index_db: PathBuf,
    fulltext_db: PathBuf,
    /// Which `index.db` this is (see `index/004_fulltext_db.sql`).
    identity: String,
}

fn row_to_session(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    let id: String = r.get("session_id")?;
    let tags: String = r.get("tags")?;
    Ok(SessionRow {
        // Rows are only written from valid IDs; a hand-edited bad row surfaces as a conversion error.
        id: SessionId::parse(&id)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))?,
        source_tool: r.get("source_tool")?,
        native_id: r.get("native_id")?,
        title: r.get("title")?,
        alias: r.get("alias")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        project_path: r.get("project_path")?,
        model_id: r.get("model_id")?,
        message_count: r.get::<_, i64>("message_count")? as u64,
        turn_count: r.get::<_, i64>("turn_count")? as u64,
        tool_use_count: r.get::<_, i64>("tool_use_count")? as u64,
        total_input_tokens: r.get::<_, i64>("total_input_tokens")? as u64,
        total_output_tokens: r.get::<_, i64>("total_output_tokens")? as u64,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        size_bytes: r.get::<_, i64>("size_bytes")? as u64,
        parent_session_id: r.get("parent_session_id")?,
        messages_bytes: r.get::<_, i64>("messages_bytes")? as u64,
    })
}

fn row_to_native(r: &rusqlite::Row<'_>) -> rusqlite::Result<NativeFileRow> {
    let id: String = r.get("session_id")?;
    Ok(NativeFileRow {
        path: r.get("path")?,
        agent: r.get("agent")?,
        session_id: SessionId::parse(&id)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))?,
        subagent: r.get("subagent")?,
        offset: r.get::<_, i64>("offset")? as u64,
        head_hash: r.get("head_hash")?,
        parser_state: r.get("parser_state")?,
        messages: r.get::<_, i64>("messages")? as u64,
        records_skipped: r.get::<_, i64>("records_skipped")? as u64,
        last_error: r.get("last_error")?,
        last_error_at: r.get("last_error_at")?,
        last_captured_at: r.get("last_captured_at")?,
    })
}

pub use sessionfs_shared::search::fts_query;
pub use write::searchable_text;

/// A matching message as the search queries select it: session, message, where its line is, score, and
/// the session's agent and title.
struct HitRow {
    session_id: String,
    span: LineSpan,
    score: Option<f64>,
    source_tool: String,
    title: Option<String>,
}

impl HitRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            session_id: r.get(0)?,
            span: LineSpan { offset: r.get::<_, i64>(1)? as u64, len: r.get::<_, i64>(2)? as u64 },
            score: r.get(3)?,
            source_tool: r.get(4)?,
            title: r.get(5)?,
        })
    }
}

/// How [`Index::hit_rows`] orders matches.
#[derive(Clone, Copy)]
enum HitOrder {
    /// By bm25, best first.
    Rank,
    /// Newest first.
    Newest,
    /// Newest first, down to this rowid.
    NewestFrom(i64),
}

/// The words of a query made by [`fts_query`] as one FTS5 phrase (`"a" + "b"`: the words side by side, in
/// this order); `None` when a word is a prefix.
fn phrase_query(fts: &str) -> Option<String> {
    let words: Vec<&str> = fts.split_whitespace().collect();
    (words.len() > 1 && words.iter().all(|w| !w.ends_with('*'))).then(|| words.join(" + "))
}

impl Index {
    /// Open (creating and migrating as needed) the index at `path` and its full-text index at `fulltext_db`,
    /// of the sessions under `sessions`.
    pub fn open(path: &Path, fulltext_db: &Path, sessions: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(ClientError::io("creating", dir))?;
        }
        let (conn, identity) = Self::open_index_db(path).map_err(damage::naming(path))?;
        let fulltext = FullText::open(fulltext_db, sessions, &identity)?;
        // Read-only: a write transaction on this connection (`BEGIN IMMEDIATE`) would otherwise take
        // fulltext.db's write lock too, which is the lock the split exists to keep apart. Opened after
        // `fulltext`, whose connection keeps fulltext.db's WAL files in place for a read-only reader.
        conn.execute("ATTACH DATABASE ?1 AS fulltext", [read_only_uri(fulltext_db)])?;
        Ok(Self {
            conn,
            sessions: sessions.to_owned(),
            feed: RefCell::new(Feed::new(fulltext)),
            index_db: path.to_owned(),
            fulltext_db: fulltext_db.to_owned(),
            identity,
        })
    }

    /// `index.db`, migrated to this build's schema, and its identity.
    fn open_index_db(path: &Path) -> Result<(Connection, String)> {
        let mut conn = open_connection(path)?;
        // A capture alone keeps more statements than rusqlite's default 16 (the multi-row inserts of
        // `index_messages` among them); evicting one means parsing its SQL again for every session.
        conn.set_prepared_statement_cache_capacity(32);
        migrate(&mut conn)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        let identity: String = conn.query_row("SELECT id FROM index_identity", [], |r| r.get(0))?;
        Ok((conn, identity))
    }

    /// Start a write transaction (`BEGIN IMMEDIATE`: the write lock is taken now, not at first write, so
    /// two writers queue on the busy timeout instead of failing half-way).
    pub fn write(&mut self) -> Result<WriteTx<'_>> {
        WriteTx::begin(&self.conn, &self.feed)
    }

    /// Write the full-text index on a thread of its own until [`Index::join_fulltext_thread`]: for long runs
    /// of writes (imports, rebuilds), so FTS5's work runs beside the writes to `index.db`.
    pub fn start_fulltext_thread(&mut self) -> Result<()> {
        let thread = FullTextThread::start(&self.fulltext_db, &self.index_db, &self.sessions, &self.identity)?;
        self.feed.get_mut().start_thread(thread);
        self.conn.pragma_update(None, "wal_autocheckpoint", BULK_WAL_AUTOCHECKPOINT)?;
        Ok(())
    }

    /// Wait for the full-text thread to finish its writes, and index from their files any messages it could
    /// not.
    pub fn join_fulltext_thread(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        self.feed.get_mut().stop_thread(&self.conn)
    }

    /// Index `writes` for search the way an import's full-text thread does (a write per session, its
    /// messages numbered from 1), and do nothing else: what the full-text index costs on its own, which the
    /// capture benchmark sets beside a whole capture. For an empty scratch index only: the rows it
    /// indexes are no messages of it (so each commit also looks in vain for message rows to read back,
    /// one indexed query that an import's commits skip).
    #[doc(hidden)]
    pub fn bench_fulltext_alone(&mut self, writes: Vec<Vec<String>>) -> Result<()> {
        let thread = FullTextThread::start(&self.fulltext_db, &self.index_db, &self.sessions, &self.identity)?;
        let mut rowid = 0;
        for texts in writes {
            let rows = texts
                .into_iter()
                .map(|text| {
                    rowid += 1;
                    (rowid, text)
                })
                .collect();
            thread.change(Change::Insert(rows));
            thread.commit(rowid);
        }
        thread.finish()
    }

    /// Index for search the messages the full-text index is behind on (after a crash, a failed write, or
    /// an upgrade), reading their text from their sessions' files. With `wait` false, does nothing when
    /// another writer holds `fulltext.db` (it catches up as it commits). Returns how many were indexed.
    pub fn catch_up_fulltext(&mut self, wait: bool) -> Result<u64> {
        self.feed.get_mut().fulltext().catch_up(&self.conn, wait)
    }

    /// Messages not yet in the full-text index: message rows above its `indexed_through`.
    pub fn fulltext_lag(&self) -> Result<u64> {
        let through = self.feed.borrow().state().indexed_through()?;
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM message_rows WHERE rowid > ?1", [through], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Rows in the full-text index.
    pub fn fulltext_rows(&self) -> Result<u64> {
        self.feed.borrow().state().rows()
    }

    /// Group the writes that follow, until [`Index::end_batch`], into one transaction (an import's sessions).
    /// Other processes wait for the index meanwhile, so keep batches short (well under the 5 s busy timeout).
    pub fn begin_batch(&mut self) -> Result<()> {
        transaction::begin_batch(&self.conn)
    }

    /// Commit the open batch, if any.
    pub fn end_batch(&mut self) -> Result<()> {
        transaction::end_batch(&self.conn, &self.feed)
    }

    /// Roll the open batch back, if any: nothing written in it is kept.
    pub fn abort_batch(&mut self) {
        transaction::abort_batch(&self.conn, &self.feed);
    }

    /// Whether a batch is open (false after a failed write rolled it back).
    pub fn in_batch(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// The connection, for read queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// One session.
    pub fn session(&self, id: &SessionId) -> Result<Option<SessionRow>> {
        Ok(self
            .conn
            .prepare_cached("SELECT * FROM sessions WHERE session_id = ?1")?
            .query_row([id.as_str()], row_to_session)
            .optional()?)
    }

    /// Sessions, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<SessionRow>> {
        let mut sql = String::from("SELECT * FROM sessions WHERE 1=1");
        let mut args: Vec<String> = Vec::new();
        if let Some(tool) = filter.tool {
            args.push(tool.as_str().to_owned());
            sql.push_str(&format!(" AND source_tool = ?{}", args.len()));
        }
        if let Some(since) = &filter.since {
            args.push(since.clone());
            sql.push_str(&format!(" AND updated_at >= ?{}", args.len()));
        }
        sql.push_str(" ORDER BY updated_at DESC, session_id");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), row_to_session)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Find a session by full ID, unique ID prefix (with or without `ses_`), alias, or the agent's own ID.
    pub fn resolve(&self, reference: &str) -> Result<SessionId> {
        let reference = reference.trim();
        if reference.is_empty() {
            // The catalogue's message says what a session ID looks like; a prefix or an alias also works.
            return Err(SessionId::parse(reference)
                .err()
                .map_or_else(|| ClientError::NotFound(String::new()), Into::into));
        }
        if let Ok(id) = SessionId::parse(reference)
            && self.session(&id)?.is_some()
        {
            return Ok(id);
        }
        let by_alias: Option<String> = self
            .conn
            .query_row("SELECT session_id FROM sessions WHERE alias = ?1", [reference], |r| r.get(0))
            .optional()?;
        if let Some(id) = by_alias {
            return Ok(SessionId::parse(&id)?);
        }
        let hex = reference.strip_prefix("ses_").unwrap_or(reference);
        let prefix_ok =
            !hex.is_empty() && hex.len() <= 40 && hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if prefix_ok {
            let mut stmt = self.conn.prepare("SELECT session_id FROM sessions WHERE session_id >= ?1 AND session_id < ?2 ORDER BY session_id LIMIT 6")?;
            let lo = format!("ses_{hex}");
            let hi = format!("ses_{hex}\u{7f}");
            let matches: Vec<String> = stmt.query_map([&lo, &hi], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
            match matches.len() {
                0 => {}
                1 => return Ok(SessionId::parse(&matches[0])?),
                _ => {
                    return Err(ClientError::Ambiguous { given: reference.to_owned(), candidates: matches });
                }
            }
        }
        let by_native: Option<String> = self
            .conn
            .query_row("SELECT session_id FROM sessions WHERE native_id = ?1", [reference], |r| r.get(0))
            .optional()?;
        if let Some(id) = by_native {
            return Ok(SessionId::parse(&id)?);
        }
        if reference.starts_with("ses_") && SessionId::parse(reference).is_err() && !prefix_ok {
            SessionId::parse(reference)?; // say why the ID is malformed
        }
        Err(ClientError::NotFound(reference.to_owned()))
    }

    /// Full-text search; at most `limit` sessions, each with its best-matching message, best first:
    /// - a query of one word (not a prefix) found in at most [`SEARCH_WINDOW`] messages is ranked by bm25;
    /// - a query of several words, a prefix, or a word in more messages comes newest first, unscored;
    /// - of several whole words, the messages that hold them as a phrase (side by side, in the order typed)
    ///   come first, among the newest [`SEARCH_WINDOW`] matches of any agent.
    pub fn search(&self, query: &str, tool: Option<AgentKind>, limit: usize) -> Result<Vec<SearchHit>> {
        let Some(q) = fts_query(query) else {
            return Ok(Vec::new());
        };
        // Ranking every match by bm25 costs time in proportion to the doclists of the query's words, and a
        // common word matches hundreds of thousands of messages. So: find the newest matches first (FTS5
        // walks a doclist newest-first and stops early). If there are few, rank them all by bm25; if the
        // window fills, the query is too common for relevance to mean much, and the newest hits win.
        let single_word = !q.contains(' ') && !q.ends_with('*');
        let terms = q.clone();
        let Some(q) = self.expand_prefixes(&q)? else {
            return Ok(Vec::new()); // a prefix no indexed word starts with
        };
        let window = SEARCH_WINDOW as i64;
        let newest: Vec<i64> = {
            let mut probe = self.conn.prepare_cached(
                "SELECT rowid FROM fulltext.messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2",
            )?;
            probe.query_map(params![q, window + 1], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        };
        if newest.is_empty() {
            return Ok(Vec::new());
        }
        // bm25's IDF walks the whole doclist of every word in the query, so it is affordable only for a
        // single rare word; several words, or a common one, are ordered newest first.
        let common = newest.len() as i64 > window || !single_word;
        // Several whole words: among the matches the probe holds, the messages that have them side by side
        // as typed come first (a phrase is what several words usually mean). Only rowids down to the
        // probe's oldest are searched, so a phrase that never occurs costs no more than the probe did.
        let phrase = if single_word { None } else { phrase_query(&terms) };
        let floor = newest.last().copied().unwrap_or(0);
        if common && tool.is_none() {
            // The probe already holds the newest matches. Matching again (for FTS5's `snippet()`) would cost as
            // much as the probe.
            let ordered = match &phrase {
                Some(phrase) => self.phrase_first(phrase, floor, newest)?,
                None => newest,
            };
            return self.hits_from_rowids(&ordered, &terms, limit);
        }
        // Fetch more messages than sessions wanted: several hits may fall in one session.
        let fetch = (limit.max(1) * 8) as i64;
        let mut rows = Vec::new();
        if let Some(phrase) = &phrase {
            rows = self.hit_rows(phrase, tool, HitOrder::NewestFrom(floor), fetch)?;
        }
        rows.extend(self.hit_rows(&q, tool, if common { HitOrder::Newest } else { HitOrder::Rank }, fetch)?);
        self.hits(rows, &terms, limit)
    }

    /// Up to `fetch` matches of `fts` (of `tool`'s sessions only, if given), in `order`.
    fn hit_rows(&self, fts: &str, tool: Option<AgentKind>, order: HitOrder, fetch: i64) -> Result<Vec<HitRow>> {
        let ranked = matches!(order, HitOrder::Rank);
        let mut sql = String::from(
            "SELECT s.session_id, r.line_offset, r.line_len, \
             CASE WHEN ?4 THEN messages_fts.rank END, s.source_tool, s.title \
             FROM fulltext.messages_fts JOIN message_rows r ON r.rowid = messages_fts.rowid JOIN sessions s ON s.session_key = r.session_key \
             WHERE messages_fts MATCH ?1",
        );
        if tool.is_some() {
            sql.push_str(" AND s.source_tool = ?3");
        }
        let floor = match order {
            HitOrder::NewestFrom(floor) => {
                sql.push_str(" AND messages_fts.rowid >= ?5");
                Some(floor)
            }
            HitOrder::Newest | HitOrder::Rank => None,
        };
        // `rank` is bm25(); ordering by it (not by bm25(...)) lets FTS5 sort inside the virtual table and
        // stop after LIMIT rows, so joins and snippets are computed for those only.
        sql.push_str(if ranked {
            " ORDER BY messages_fts.rank LIMIT ?2"
        } else {
            " ORDER BY messages_fts.rowid DESC LIMIT ?2"
        });
        let tool = tool.map_or("", |t| t.as_str());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = match floor {
            Some(floor) => stmt.query_map(params![fts, fetch, tool, ranked, floor], HitRow::read)?,
            None => stmt.query_map(params![fts, fetch, tool, ranked], HitRow::read)?,
        };
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// `newest` (rowids, newest first) with the matches of `phrase` among them moved to the front.
    fn phrase_first(&self, phrase: &str, floor: i64, newest: Vec<i64>) -> Result<Vec<i64>> {
        let mut probe = self.conn.prepare_cached(
            "SELECT rowid FROM fulltext.messages_fts WHERE messages_fts MATCH ?1 AND rowid >= ?2 ORDER BY rowid DESC",
        )?;
        let first: Vec<i64> =
            probe.query_map(params![phrase, floor], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        if first.is_empty() {
            return Ok(newest);
        }
        let mut ordered = Vec::with_capacity(first.len() + newest.len());
        ordered.extend_from_slice(&first);
        // Both lists are newest first. The phrase's matches are the probe's, but for those a writer added
        // between the two queries, which are skipped here (they are at the front already).
        let mut phrase_matches = first.iter().peekable();
        for rowid in newest {
            while phrase_matches.next_if(|&&p| p > rowid).is_some() {}
            if phrase_matches.next_if_eq(&&rowid).is_none() {
                ordered.push(rowid);
            }
        }
        Ok(ordered)
    }

    /// One hit per session, in the order given, each with a snippet made from its message's text, which is
    /// read from the session's `messages.jsonl` (the index keeps where, not a copy).
    fn hits(&self, rows: impl IntoIterator<Item = HitRow>, fts: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let terms = query_terms(fts);
        let mut hits: Vec<SearchHit> = Vec::new();
        for row in rows {
            if hits.iter().any(|h| h.session_id.as_str() == row.session_id) {
                continue;
            }
            let session_id = SessionId::parse(&row.session_id)?;
            let dir = SessionDir::new(self.sessions.join(session_id.as_str()));
            let (msg_id, role, text) = match dir.read_message_at(row.span) {
                Ok(m) => {
                    let text = m.search_text();
                    (Some(m.msg_id), Some(m.role.as_str().to_owned()), text)
                }
                Err(e) => {
                    // The session changed under the index (a pull, a hand edit): still a hit, without context.
                    tracing::debug!(session.id = %session_id, error = %e, "no text for a search hit");
                    (None, None, String::new())
                }
            };
            hits.push(SearchHit {
                session_id,
                msg_id,
                role,
                snippet: snippet(&text, &terms, SNIPPET_WORDS),
                score: row.score,
                source_tool: row.source_tool,
                title: row.title,
            });
            if hits.len() >= limit {
                break;
            }
        }
        Ok(hits)
    }

    /// Replace each short ASCII prefix (`"ab"*`) of an FTS query by the OR of the indexed words that start
    /// with it, read from the FTS vocabulary. FTS5 answers a prefix by merging the doclists of all those words
    /// in full before it returns the newest row (120 ms for `th*` over a million messages); an OR of the same
    /// words is merged lazily and stops at the LIMIT (44 ms, vocabulary lookup included), with the same
    /// rows. `None` when a prefix matches no indexed word, so nothing can match.
    fn expand_prefixes(&self, fts: &str) -> Result<Option<String>> {
        if !fts.contains("\"*") {
            return Ok(Some(fts.to_owned()));
        }
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_vocab USING fts5vocab(fulltext, 'messages_fts', 'row')",
        )?;
        let mut words =
            self.conn.prepare_cached("SELECT term FROM temp.messages_vocab WHERE term >= ?1 AND term < ?2 LIMIT ?3")?;
        let mut out = Vec::new();
        for token in fts.split_whitespace() {
            let stem = token.strip_suffix('*').and_then(|t| t.strip_prefix('"')).and_then(|t| t.strip_suffix('"'));
            // Only plain ASCII word stems: others (accents FTS5 folds, several tokens) keep FTS5's own prefix
            // matching, which is always right.
            let Some(stem) = stem.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())) else {
                out.push(token.to_owned());
                continue;
            };
            let lo = stem.to_ascii_lowercase();
            let mut hi = lo.clone().into_bytes();
            if let Some(last) = hi.last_mut() {
                *last += 1; // alphanumeric ASCII: never 0x7f, so still ASCII
            }
            let hi = String::from_utf8(hi).unwrap_or_default();
            let found: Vec<String> = words
                .query_map(params![lo, hi, MAX_PREFIX_WORDS as i64 + 1], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            match found.len() {
                0 => return Ok(None),
                n if n > MAX_PREFIX_WORDS => out.push(token.to_owned()),
                _ => {
                    out.push(format!("({})", found.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" OR ")))
                }
            }
        }
        Ok(Some(out.join(" AND ")))
    }

    /// Hits for matching rowids, in the order given: one per session, with a snippet made from the message's
    /// text.
    fn hits_from_rowids(&self, rowids: &[i64], fts: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let mut row = self.conn.prepare_cached(
            "SELECT s.session_id, r.line_offset, r.line_len, NULL, s.source_tool, s.title \
             FROM message_rows r JOIN sessions s ON s.session_key = r.session_key WHERE r.rowid = ?1",
        )?;
        // Rows are looked up lazily: a common word's probe holds thousands of rowids, and `hits` stops at `limit`.
        let mut failed = None;
        let rows = rowids.iter().map_while(|&rowid| match row.query_row([rowid], HitRow::read).optional() {
            Ok(found) => Some(found),
            Err(e) => {
                failed = Some(e);
                None
            }
        });
        let hits = self.hits(rows.flatten(), fts, limit)?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(hits),
        }
    }

    /// The tracked state of a native file.
    pub fn native_file(&self, path: &str) -> Result<Option<NativeFileRow>> {
        Ok(self
            .conn
            .prepare_cached("SELECT * FROM native_files WHERE path = ?1")?
            .query_row([path], row_to_native)
            .optional()?)
    }

    /// The native files feeding a session.
    pub fn native_files_of(&self, id: &SessionId) -> Result<Vec<NativeFileRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT * FROM native_files WHERE session_id = ?1 ORDER BY subagent IS NOT NULL, path")?;
        let rows = stmt.query_map([id.as_str()], row_to_native)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Capture health per agent.
    pub fn agent_health(&self) -> Result<Vec<AgentHealth>> {
        let mut stmt = self.conn.prepare(
            "SELECT agent, COUNT(*), COUNT(DISTINCT session_id), SUM(records_skipped), MAX(last_captured_at), \
               (SELECT last_error FROM native_files n2 WHERE n2.agent = n.agent AND last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1), \
               MAX(last_error_at) \
             FROM native_files n GROUP BY agent ORDER BY agent",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AgentHealth {
                    agent: r.get(0)?,
                    files: r.get::<_, i64>(1)? as u64,
                    sessions: r.get::<_, i64>(2)? as u64,
                    records_skipped: r.get::<_, Option<i64>>(3)?.unwrap_or(0) as u64,
                    last_captured_at: r.get(4)?,
                    last_error: r.get(5)?,
                    last_error_at: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The resume that wrote a native session, found by the agent's ID of it or by its file; `None` for
    /// sessions SessionFS did not write.
    pub fn resume_origin(
        &self,
        native_path: &str,
        agent: &str,
        native_id: Option<&str>,
    ) -> Result<Option<ResumeRecord>> {
        resume_origin(&self.conn, native_path, agent, native_id)
    }

    /// Sessions whose messages an upgrade of the index dropped, to be indexed again from their directories.
    pub fn reindex_pending(&self) -> Result<Vec<SessionId>> {
        let mut stmt = self.conn.prepare("SELECT session_id FROM reindex_pending ORDER BY session_id")?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        // A malformed ID cannot be a session's; it is dropped with the rest when re-indexed.
        Ok(ids.iter().filter_map(|id| SessionId::parse(id).ok()).collect())
    }

    /// The schema version of the index as it is on disk: above [`SCHEMA_VERSION`] when a newer build
    /// upgraded it since this one opened it.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?)
    }

    /// Number of indexed messages (FTS rows).
    pub fn message_rows(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM message_rows", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// [`Index::resume_origin`] on any connection (an import's staging thread has its own).
pub(crate) fn resume_origin(
    conn: &Connection,
    native_path: &str,
    agent: &str,
    native_id: Option<&str>,
) -> Result<Option<ResumeRecord>> {
    if let Some(native_id) = native_id {
        let found = conn
            .prepare_cached("SELECT * FROM resumes WHERE agent = ?1 AND native_id = ?2")?
            .query_row([agent, native_id], row_to_resume)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(conn
        .prepare_cached("SELECT * FROM resumes WHERE native_path = ?1")?
        .query_row([native_path], row_to_resume)
        .optional()?)
}

/// Write-side operations, inside a transaction from [`Index::write`].
pub(crate) mod write {
    use super::*;

    pub(crate) fn upsert_session(tx: &Connection, s: &SessionRow, now: &str) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO sessions (session_id, source_tool, native_id, title, alias, tags, project_path, model_id, message_count, turn_count, \
               tool_use_count, total_input_tokens, total_output_tokens, created_at, updated_at, size_bytes, messages_bytes, indexed_at, parent_session_id) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19) \
             ON CONFLICT(session_id) DO UPDATE SET source_tool=excluded.source_tool, native_id=excluded.native_id, title=excluded.title, \
               alias=excluded.alias, tags=excluded.tags, project_path=excluded.project_path, model_id=excluded.model_id, \
               message_count=excluded.message_count, turn_count=excluded.turn_count, tool_use_count=excluded.tool_use_count, \
               total_input_tokens=excluded.total_input_tokens, total_output_tokens=excluded.total_output_tokens, created_at=excluded.created_at, \
               updated_at=excluded.updated_at, size_bytes=excluded.size_bytes, messages_bytes=excluded.messages_bytes, indexed_at=excluded.indexed_at, \
               parent_session_id=excluded.parent_session_id",
        )?
        .execute(
            params![
                s.id.as_str(),
                s.source_tool,
                s.native_id,
                s.title,
                s.alias,
                serde_json::to_string(&s.tags).unwrap_or_else(|_| "[]".into()),
                s.project_path,
                s.model_id,
                s.message_count as i64,
                s.turn_count as i64,
                s.tool_use_count as i64,
                s.total_input_tokens as i64,
                s.total_output_tokens as i64,
                s.created_at,
                s.updated_at,
                s.size_bytes as i64,
                s.messages_bytes as i64,
                now,
                s.parent_session_id
            ],
        )?;
        Ok(())
    }

    /// Index messages whose lines are at `spans` in the session's `messages.jsonl`, with their searchable
    /// texts (from [`searchable_text`]; an empty one is not indexed).
    pub(crate) fn index_messages(
        tx: &WriteTx<'_>,
        id: &SessionId,
        spans: &[LineSpan],
        texts: Vec<String>,
    ) -> Result<()> {
        let indexed: Vec<(&LineSpan, String)> = spans.iter().zip(texts).filter(|(_, text)| !text.is_empty()).collect();
        if indexed.is_empty() {
            // Nothing to index needs no session row.
            return Ok(());
        }
        let key = session_key(tx, id)?;
        // Rowids are given here, not left to SQLite, so that many rows go in one statement (see `bulk_insert`)
        // and each message still knows its own: past the highest rowid ever given, as AUTOINCREMENT would give
        // them. SQLite moves `sqlite_sequence` up to the highest one given.
        let first = next_message_rowid(tx)?;
        let mut rows = Vec::with_capacity(indexed.len());
        let mut fulltext = Vec::with_capacity(indexed.len());
        for ((span, text), rowid) in indexed.into_iter().zip(first..) {
            rows.push([rowid, key, span.offset as i64, span.len as i64]);
            fulltext.push((rowid, text));
        }
        bulk_insert::insert_rows(
            tx,
            "INSERT INTO message_rows (rowid, session_key, line_offset, line_len)",
            &rows,
            |[rowid, key, offset, len]| [rowid, key, offset, len],
        )?;
        tx.fulltext(Change::Insert(fulltext));
        Ok(())
    }

    /// The rowid AUTOINCREMENT would give the next message row: one past the highest ever given.
    fn next_message_rowid(tx: &Connection) -> Result<i64> {
        Ok(tx
            .prepare_cached(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'message_rows'), 0),
                            COALESCE((SELECT MAX(rowid) FROM message_rows), 0)) + 1",
            )?
            .query_row([], |r| r.get(0))?)
    }

    /// Index the messages of a session as read back from its `messages.jsonl`.
    pub(crate) fn index_read(tx: &WriteTx<'_>, id: &SessionId, read: &MessagesRead) -> Result<()> {
        index_messages(tx, id, &read.spans, searchable_texts(&read.messages))
    }

    /// What the index holds of a message's text: empty when there is nothing to search, and cut to 64 KiB
    /// (`MAX_INDEXED_TEXT`).
    pub fn searchable_text(m: &Message) -> String {
        let mut text = m.search_text();
        if text.trim().is_empty() {
            return String::new();
        }
        if text.len() > MAX_INDEXED_TEXT {
            let mut cut = MAX_INDEXED_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        text
    }

    /// [`searchable_text`] of each message.
    pub(crate) fn searchable_texts(messages: &[Message]) -> Vec<String> {
        messages.iter().map(searchable_text).collect()
    }

    /// The integer key the session's message rows carry; the session must be in the index.
    fn session_key(tx: &Connection, id: &SessionId) -> Result<i64> {
        tx.prepare_cached("SELECT session_key FROM sessions WHERE session_id = ?1")?
            .query_row([id.as_str()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| ClientError::NotFound(id.to_string()))
    }

    pub(crate) fn clear_messages(tx: &WriteTx<'_>, id: &SessionId) -> Result<()> {
        let rowids: Vec<i64> = tx
            .prepare_cached(
                "DELETE FROM message_rows WHERE session_key = (SELECT session_key FROM sessions WHERE session_id = ?1) \
                 RETURNING rowid",
            )?
            .query_map([id.as_str()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !rowids.is_empty() {
            tx.fulltext(Change::Delete(rowids));
        }
        Ok(())
    }

    pub(crate) fn put_native_file(tx: &Connection, f: &NativeFileRow) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO native_files (path, agent, session_id, subagent, offset, head_hash, parser_state, messages, records_skipped, last_error, last_error_at, last_captured_at) \
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12) \
             ON CONFLICT(path) DO UPDATE SET agent=excluded.agent, session_id=excluded.session_id, subagent=excluded.subagent, offset=excluded.offset, \
               head_hash=excluded.head_hash, parser_state=excluded.parser_state, messages=excluded.messages, records_skipped=excluded.records_skipped, \
               last_error=excluded.last_error, last_error_at=excluded.last_error_at, last_captured_at=excluded.last_captured_at",
        )?
        .execute(
            params![
                f.path,
                f.agent,
                f.session_id.as_str(),
                f.subagent,
                f.offset as i64,
                f.head_hash,
                f.parser_state,
                f.messages as i64,
                f.records_skipped as i64,
                f.last_error,
                f.last_error_at,
                f.last_captured_at
            ],
        )?;
        Ok(())
    }

    pub(crate) fn record_resume(tx: &Connection, r: &ResumeRecord) -> Result<()> {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO resumes (native_path, agent, native_id, origin_session_id, written_messages, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(
            params![
                r.native_path,
                r.agent,
                r.native_id,
                r.origin_session_id.as_str(),
                r.written_messages as i64,
                r.created_at
            ],
        )?;
        Ok(())
    }

    pub(crate) fn forget_resume(tx: &Connection, agent: &str, native_id: &str) -> Result<()> {
        tx.execute("DELETE FROM resumes WHERE agent = ?1 AND native_id = ?2", [agent, native_id])?;
        Ok(())
    }

    /// Take a session off [`Index::reindex_pending`]; false when it was not on it (another process did it).
    pub(crate) fn take_reindex_pending(tx: &Connection, id: &SessionId) -> Result<bool> {
        Ok(tx.execute("DELETE FROM reindex_pending WHERE session_id = ?1", [id.as_str()])? > 0)
    }

    /// Remove a session's rows, with the capture positions of its native files.
    pub(crate) fn delete_session(tx: &WriteTx<'_>, id: &SessionId) -> Result<()> {
        tx.execute("DELETE FROM native_files WHERE session_id = ?1", [id.as_str()])?;
        delete_session_keeping_capture(tx, id)
    }

    /// Remove a session's rows but not the capture positions of its native files.
    pub(crate) fn delete_session_keeping_capture(tx: &WriteTx<'_>, id: &SessionId) -> Result<()> {
        clear_messages(tx, id)?;
        tx.execute("DELETE FROM sessions WHERE session_id = ?1", [id.as_str()])?;
        Ok(())
    }
}

/// `fulltext.db` as a read-only SQLite URI (`?`, `#` and `%` in the path escaped).
fn read_only_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '?' | '#' | '%' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    uri
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // Usually there is nothing to do, and a read says so without waiting for an import's write lock.
    let made: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_version')", [], |r| r.get(0))?;
    if made {
        let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
        if current >= MIGRATIONS.len() as i64 {
            return Ok(());
        }
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)", [])?;
    let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version > current {
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_version (version) VALUES (?1)", [version])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_indexed_under_their_sessions_key_and_need_its_row_only_when_there_is_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("index.db"), &dir.path().join("fulltext.db"), dir.path()).unwrap();
        let id = SessionId::parse("ses_0123456789abcdef").unwrap();
        let span = LineSpan { offset: 0, len: 10 };

        let tx = index.write().unwrap();
        // Nothing to search: no row needed, none written.
        write::index_messages(&tx, &id, &[span], vec![String::new()]).unwrap();
        // Text of a session the index does not hold is an error, not a row under no session.
        let err = write::index_messages(&tx, &id, &[span], vec!["text".into()]).unwrap_err();
        assert!(matches!(err, ClientError::NotFound(_)), "{err}");
        tx.execute(
            "INSERT INTO sessions (session_id, source_tool, created_at, updated_at, indexed_at)
             VALUES (?1, 'claude-code', '', '', '')",
            [id.as_str()],
        )
        .unwrap();
        write::index_messages(&tx, &id, &[span, span], vec!["one".into(), "two".into()]).unwrap();
        tx.commit().unwrap();

        let keys: Vec<(i64, i64)> = index
            .conn()
            .prepare("SELECT r.session_key, s.session_key FROM message_rows r JOIN sessions s USING (session_key)")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(keys.len(), 2, "both rows under the session's key");
        assert_eq!(index.message_rows().unwrap(), 2, "and no row from the calls without a session");
    }

    #[test]
    fn many_messages_go_in_several_inserts_each_row_keeping_its_span_and_text_and_no_rowid_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Index::open(&dir.path().join("index.db"), &dir.path().join("fulltext.db"), dir.path()).unwrap();
        let id = SessionId::parse("ses_0123456789abcdef").unwrap();
        index
            .conn()
            .execute(
                "INSERT INTO sessions (session_id, source_tool, created_at, updated_at, indexed_at)
                 VALUES (?1, 'claude-code', '', '', '')",
                [id.as_str()],
            )
            .unwrap();
        // 90 messages, every tenth without text: 81 rows, which is 64 + 16 + 1.
        let spans: Vec<LineSpan> = (0..90).map(|i| LineSpan { offset: i * 100, len: 99 }).collect();
        let texts = |tag: &str| -> Vec<String> {
            (0..90).map(|i| if i % 10 == 9 { String::new() } else { format!("{tag}{i}") }).collect()
        };
        let rows = |index: &Index| -> Vec<(i64, i64)> {
            let mut stmt = index.conn().prepare("SELECT rowid, line_offset FROM message_rows ORDER BY rowid").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
        };
        let hit = |index: &Index, word: &str| -> i64 {
            index
                .conn()
                .query_row("SELECT rowid FROM fulltext.messages_fts WHERE messages_fts MATCH ?1", [word], |r| r.get(0))
                .unwrap()
        };

        let tx = index.write().unwrap();
        write::index_messages(&tx, &id, &spans, texts("first")).unwrap();
        tx.commit().unwrap();
        let first = rows(&index);
        assert_eq!(first.len(), 81);
        let offsets: Vec<i64> = first.iter().map(|&(_, offset)| offset).collect();
        let expected: Vec<i64> = (0..90).filter(|i| i % 10 != 9).map(|i| i * 100).collect();
        assert_eq!(offsets, expected, "rows in the order of their messages");
        for (i, &(rowid, offset)) in first.iter().enumerate() {
            assert_eq!(rowid, first[0].0 + i as i64, "consecutive rowids");
            assert_eq!(hit(&index, &format!("first{}", offset / 100)), rowid, "each row's text is its message's");
        }

        // The newest rows go; the next rows must still come after every rowid ever given.
        let highest = first.last().unwrap().0;
        index.conn().execute("DELETE FROM message_rows WHERE rowid > ?1", [highest - 5]).unwrap();
        let tx = index.write().unwrap();
        write::index_messages(&tx, &id, &spans[..3], texts("second")[..3].to_vec()).unwrap();
        tx.commit().unwrap();
        let second: Vec<i64> = rows(&index).iter().map(|&(rowid, _)| rowid).filter(|&r| r > highest - 5).collect();
        assert_eq!(second, vec![highest + 1, highest + 2, highest + 3]);
        assert_eq!(hit(&index, "second2"), highest + 3);
        let sequence: i64 = index
            .conn()
            .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'message_rows'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sequence, highest + 3, "AUTOINCREMENT's sequence follows the rowids given");
    }
}
