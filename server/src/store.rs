//! The metadata store: users, API keys, session rows, sync settings and handoffs, behind one trait so
//! that SQLite (the embedded default) and PostgreSQL run the same handlers and the same conformance tests.
//!
//! Every session method takes the owner first: nothing reads a session by ID alone, so one user's request
//! can never reach another's rows. Session IDs are unique per owner, not globally, so a push never learns
//! whether someone else has a session with the same ID (the original answered 409 and leaked it).

pub mod sqlite;

use async_trait::async_trait;
use serde::Serialize;
use sessionfs_shared::SessionId;
use sessionfs_shared::api::{SessionPatch, SessionSort, SyncMode, ToolUsage};

/// What a store method can fail with. Handlers map these to catalogue errors; SQL text never leaves.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row (or not the caller's).
    #[error("not found")]
    NotFound,
    /// The row changed: an ETag compare-and-swap lost, or a state transition was not possible.
    #[error("conflict (current etag {current_etag:?})")]
    Conflict {
        /// The row's ETag now, for sessions.
        current_etag: Option<String>,
    },
    /// The session is soft-deleted.
    #[error("deleted")]
    Deleted,
    /// A unique value is taken.
    #[error("{0} already exists")]
    Duplicate(&'static str),
    /// The push would exceed the owner's quota.
    #[error("quota exceeded")]
    Quota {
        /// Bytes used now.
        used: u64,
        /// The quota.
        quota: u64,
        /// Bytes this push adds.
        needed: u64,
    },
    /// The database cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else (logged, never sent).
    #[error("{0}")]
    Other(String),
}

/// Store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// An account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRecord {
    /// 32 hex digits.
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Verified.
    pub email_verified: bool,
    /// Has the admin role.
    pub is_admin: bool,
    /// Created.
    pub created_at: String,
}

/// An API key, stored as its SHA-256 hash.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// Key ID.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Name.
    pub name: String,
    /// Hex SHA-256 of the key.
    pub key_hash: String,
    /// First 12 characters of the key.
    pub key_prefix: String,
    /// Created.
    pub created_at: String,
    /// Expiry.
    pub expires_at: Option<String>,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// Last use.
    pub last_used_at: Option<String>,
}

/// Session metadata taken from an uploaded archive.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionMeta {
    /// Title.
    pub title: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Agent.
    pub source_tool: String,
    /// Agent version.
    pub source_tool_version: Option<String>,
    /// Agent's own ID.
    pub original_session_id: Option<String>,
    /// Model provider.
    pub model_provider: Option<String>,
    /// Model.
    pub model_id: Option<String>,
    /// Messages.
    pub message_count: u64,
    /// Turns.
    pub turn_count: u64,
    /// Tool calls.
    pub tool_use_count: u64,
    /// Prompt tokens.
    pub total_input_tokens: u64,
    /// Completion tokens.
    pub total_output_tokens: u64,
    /// Duration.
    pub duration_ms: Option<u64>,
    /// Forked/copied from.
    pub parent_session_id: Option<String>,
    /// Created (from the manifest).
    pub created_at: String,
    /// Updated (from the manifest).
    pub updated_at: String,
    /// Text for full-text search.
    pub search_text: String,
}

/// A new version of a session's archive.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    /// Metadata.
    pub meta: SessionMeta,
    /// Where the archive is in the blob store.
    pub blob_key: String,
    /// Its size.
    pub blob_size: u64,
    /// Its SHA-256.
    pub etag: String,
}

/// A session row.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Owner.
    pub owner: String,
    /// ID.
    pub id: SessionId,
    /// Alias.
    pub alias: Option<String>,
    /// Metadata.
    pub meta: SessionMeta,
    /// Archive key.
    pub blob_key: String,
    /// Archive size.
    pub blob_size: u64,
    /// Archive SHA-256.
    pub etag: String,
    /// Last upload.
    pub uploaded_at: String,
    /// Soft-deleted.
    pub is_deleted: bool,
    /// When.
    pub deleted_at: Option<String>,
    /// By whom.
    pub deleted_by: Option<String>,
    /// `cloud` or `everywhere`.
    pub delete_scope: Option<String>,
    /// Purge time.
    pub purge_after: Option<String>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    /// A new session.
    Created,
    /// A new version; the old archive may be deleted.
    Updated {
        /// The replaced archive.
        previous_blob_key: String,
    },
}

/// A push: new version, the ETag the client had, whether it may bring back a deleted session, the quota.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    /// The new version.
    pub version: &'a NewVersion,
    /// `If-Match`, when sent.
    pub expected_etag: Option<&'a str>,
    /// `X-SessionFS-Undelete: true`.
    pub undelete: bool,
    /// `If-None-Match: *`: only create. A live session under this ID is a [`StoreError::Conflict`] with its
    /// ETag, checked in the same transaction as the write so that two creators cannot both win. A session in
    /// the trash follows `undelete` as any push does.
    pub create_only: bool,
    /// The owner's quota.
    pub quota: Option<u64>,
    /// Now (RFC 3339).
    pub now: &'a str,
}

/// Filters for listing sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Page from 1.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// Only this agent.
    pub source_tool: Option<String>,
    /// Only sessions with this tag.
    pub tag: Option<String>,
    /// The trash instead of live sessions.
    pub deleted: bool,
    /// The order; none is most recently updated first, or most recently deleted first in the trash.
    pub sort: Option<SessionSort>,
}

/// Where an owner's storage goes, read in one snapshot so that the parts add up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageUsage {
    /// Live sessions per agent, most bytes first.
    pub by_tool: Vec<ToolUsage>,
    /// Soft-deleted sessions.
    pub deleted_sessions: u64,
    /// Their bytes.
    pub deleted_bytes: u64,
}

impl StorageUsage {
    /// Live sessions.
    pub fn sessions(&self) -> u64 {
        self.by_tool.iter().map(|t| t.sessions).sum()
    }

    /// Bytes of live sessions: what [`MetadataStore::storage_used`] reports.
    pub fn used_bytes(&self) -> u64 {
        self.by_tool.iter().map(|t| t.bytes).sum()
    }
}

/// A watch-list row.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchRecord {
    /// The session.
    pub session_id: String,
    /// `pending`, `queued`, `synced`, `failed`.
    pub status: String,
    /// Last successful sync.
    pub last_synced_at: Option<String>,
    /// The session, when it is on the server.
    pub session: Option<SessionRecord>,
}

/// A handoff row.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffRecord {
    /// `hnd_…`
    pub id: String,
    /// Sender.
    pub sender_id: String,
    /// Sender's email.
    pub sender_email: String,
    /// The sender's session.
    pub session_id: String,
    /// Recipient email (lower-cased).
    pub recipient_email: String,
    /// Note.
    pub message: Option<String>,
    /// `pending`, `claimed`, `revoked`, `declined`, `expired`.
    pub status: String,
    /// Created.
    pub created_at: String,
    /// Expires.
    pub expires_at: String,
    /// Claimed.
    pub claimed_at: Option<String>,
    /// Recipient user, once claimed.
    pub recipient_id: Option<String>,
    /// The recipient's copy.
    pub recipient_session_id: Option<String>,
    /// Title when handed off.
    pub snapshot_title: Option<String>,
    /// Agent when handed off.
    pub snapshot_tool: Option<String>,
    /// Model when handed off.
    pub snapshot_model_id: Option<String>,
    /// Messages when handed off.
    pub snapshot_message_count: u64,
    /// First seen by the recipient.
    pub viewed_at: Option<String>,
    /// Revoked at.
    pub revoked_at: Option<String>,
    /// Why it was revoked or declined.
    pub revoke_reason: Option<String>,
}

/// A comment on a handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoffComment {
    /// `hcm_…`
    pub id: String,
    /// The handoff.
    pub handoff_id: String,
    /// Who wrote it.
    pub author_user_id: String,
    /// The text.
    pub content: String,
    /// When.
    pub created_at: String,
}

/// Something that happened to a handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoffEvent {
    /// Sequence number.
    pub id: i64,
    /// The handoff.
    pub handoff_id: String,
    /// `created`, `viewed`, `claimed`, `revoked`, `declined`, `expired`, `commented`.
    pub event_type: String,
    /// Who did it.
    pub actor_user_id: Option<String>,
    /// Details.
    pub payload: serde_json::Value,
    /// When.
    pub created_at: String,
}

/// Server-wide counts for admins.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Accounts.
    pub users: u64,
    /// Verified accounts.
    pub verified_users: u64,
    /// Live sessions.
    pub sessions: u64,
    /// Soft-deleted sessions.
    pub deleted_sessions: u64,
    /// Bytes of live sessions.
    pub storage_bytes: u64,
    /// Handoffs.
    pub handoffs: u64,
    /// Pending handoffs.
    pub pending_handoffs: u64,
}

/// A user with usage, for the admin list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserUsage {
    /// The user.
    #[serde(flatten)]
    pub user: UserRecord,
    /// Live sessions.
    pub session_count: u64,
    /// Their bytes.
    pub storage_used_bytes: u64,
}

/// The metadata store.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    /// Reachable?
    async fn ping(&self) -> StoreResult<()>;

    /// Make an account; [`StoreError::Duplicate`] if the email is taken.
    async fn create_user(&self, email: &str, is_admin: bool, verified: bool, now: &str) -> StoreResult<UserRecord>;
    /// An account by ID.
    async fn user(&self, id: &str) -> StoreResult<UserRecord>;
    /// An account by (lower-cased) email.
    async fn user_by_email(&self, email: &str) -> StoreResult<UserRecord>;
    /// Mark verified.
    async fn set_email_verified(&self, user_id: &str) -> StoreResult<()>;
    /// Grant or remove admin.
    async fn set_admin(&self, user_id: &str, admin: bool) -> StoreResult<()>;
    /// Store a verification token's hash.
    async fn add_verification_token(&self, user_id: &str, token_hash: &str, expires_at: &str) -> StoreResult<()>;
    /// Consume a token that has not expired; returns the user.
    async fn take_verification_token(&self, token_hash: &str, now: &str) -> StoreResult<String>;
    /// Accounts with usage, paged; and the total.
    async fn list_users(&self, page: u32, page_size: u32, search: Option<&str>) -> StoreResult<(Vec<UserUsage>, u64)>;
    /// Server-wide counts.
    async fn stats(&self) -> StoreResult<Stats>;

    /// Store a new key.
    async fn create_key(&self, key: &KeyRecord) -> StoreResult<()>;
    /// A key and its owner by the key's hash.
    async fn key_by_hash(&self, key_hash: &str) -> StoreResult<(KeyRecord, UserRecord)>;
    /// A user's keys.
    async fn keys(&self, user_id: &str) -> StoreResult<Vec<KeyRecord>>;
    /// Revoke one of the user's keys.
    async fn revoke_key(&self, user_id: &str, key_id: &str, now: &str) -> StoreResult<()>;
    /// Record a use.
    async fn touch_key(&self, key_id: &str, now: &str) -> StoreResult<()>;

    /// Store a new archive version with an ETag compare-and-swap: of N concurrent pushes with the same
    /// `expected_etag`, exactly one wins; the others get [`StoreError::Conflict`] with the winner's ETag.
    /// Likewise of N concurrent `create_only` pushes of a new ID exactly one creates it.
    async fn put_session(&self, owner: &str, id: &SessionId, push: Push<'_>) -> StoreResult<PutOutcome>;
    /// A session; deleted ones only when `include_deleted`.
    async fn session(&self, owner: &str, id: &SessionId, include_deleted: bool) -> StoreResult<SessionRecord>;
    /// A live session by alias.
    async fn session_by_alias(&self, owner: &str, alias: &str) -> StoreResult<SessionRecord>;
    /// A page of sessions in `filter.sort` order, and the total.
    async fn list_sessions(&self, owner: &str, filter: &SessionFilter) -> StoreResult<(Vec<SessionRecord>, u64)>;
    /// Full-text search over live sessions: (session, snippet), best first, and the total.
    async fn search_sessions(
        &self,
        owner: &str,
        query: &str,
        tool: Option<&str>,
        since: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> StoreResult<(Vec<(SessionRecord, String)>, u64)>;
    /// Change title, alias, tags.
    async fn patch_session(
        &self,
        owner: &str,
        id: &SessionId,
        patch: &SessionPatch,
        now: &str,
    ) -> StoreResult<SessionRecord>;
    /// Soft-delete; [`StoreError::Deleted`] if it already is.
    async fn soft_delete(
        &self,
        owner: &str,
        id: &SessionId,
        scope: &str,
        now: &str,
        purge_after: &str,
    ) -> StoreResult<SessionRecord>;
    /// Undo a soft delete; returns the row and the scope it had. Conflict if not deleted.
    async fn restore(&self, owner: &str, id: &SessionId) -> StoreResult<(SessionRecord, Option<String>)>;
    /// Bytes of the owner's live sessions.
    async fn storage_used(&self, owner: &str) -> StoreResult<u64>;
    /// The owner's live sessions and bytes per agent, and what is in the trash.
    async fn storage_usage(&self, owner: &str) -> StoreResult<StorageUsage>;
    /// Deleted sessions whose purge time has passed (or one given deleted session).
    async fn purgeable(&self, now: &str, one: Option<(&str, &SessionId)>) -> StoreResult<Vec<SessionRecord>>;
    /// Remove a deleted session's row.
    async fn purge_session(&self, owner: &str, id: &SessionId) -> StoreResult<()>;
    /// Every blob key still referenced (to keep shared archives when purging one copy).
    async fn blob_in_use(&self, blob_key: &str) -> StoreResult<bool>;

    /// Sync mode and debounce.
    async fn sync_settings(&self, owner: &str) -> StoreResult<(SyncMode, u32)>;
    /// Set them.
    async fn set_sync_settings(&self, owner: &str, mode: SyncMode, debounce: u32) -> StoreResult<()>;
    /// Watch a session (idempotent).
    async fn watch(&self, owner: &str, id: &SessionId, now: &str) -> StoreResult<()>;
    /// Stop watching (idempotent).
    async fn unwatch(&self, owner: &str, id: &SessionId) -> StoreResult<()>;
    /// The watch list, newest first.
    async fn watchlist(&self, owner: &str) -> StoreResult<Vec<WatchRecord>>;
    /// Set a watched session's status; false if it is not watched.
    async fn set_watch_status(&self, owner: &str, id: &SessionId, status: &str, now: &str) -> StoreResult<bool>;

    /// Store a new handoff.
    async fn create_handoff(&self, h: &HandoffRecord) -> StoreResult<()>;
    /// A handoff by ID (callers check that the caller is a party).
    async fn handoff(&self, id: &str) -> StoreResult<HandoffRecord>;
    /// Handoffs addressed to an email, newest first.
    async fn inbox(&self, email: &str) -> StoreResult<Vec<HandoffRecord>>;
    /// Handoffs a user sent, newest first.
    async fn sent(&self, user_id: &str) -> StoreResult<Vec<HandoffRecord>>;
    /// Move a handoff from `pending` to `status` (with a reason for revoke/decline); Conflict if it was
    /// not pending.
    async fn set_handoff_status(&self, id: &str, status: &str, reason: Option<&str>, now: &str) -> StoreResult<()>;
    /// Stamp the recipient's first view; true if this was it.
    async fn mark_handoff_viewed(&self, id: &str, now: &str) -> StoreResult<bool>;
    /// Add a comment.
    async fn add_handoff_comment(&self, c: &HandoffComment) -> StoreResult<()>;
    /// Comments, oldest first, at most `limit`.
    async fn handoff_comments(&self, id: &str, limit: u32) -> StoreResult<Vec<HandoffComment>>;
    /// Record an event.
    async fn add_handoff_event(
        &self,
        id: &str,
        event_type: &str,
        actor: Option<&str>,
        payload: &serde_json::Value,
        now: &str,
    ) -> StoreResult<()>;
    /// Events, oldest first, at most `limit`.
    async fn handoff_events(&self, id: &str, limit: u32) -> StoreResult<Vec<HandoffEvent>>;
    /// Claim atomically: the handoff goes from `pending` to `claimed` and the recipient's copy is inserted
    /// in one transaction; Conflict if someone else claimed it first.
    async fn claim_handoff(&self, id: &str, recipient_id: &str, copy: &SessionRecord, now: &str) -> StoreResult<()>;
}
