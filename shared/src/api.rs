//! Request and response bodies of the `/api/v1` protocol, shared by the server, the sync client and the
//! dashboard. Field names follow the original's wire format (`reference/sessionfs-server.md` §1.2), so its
//! Python client works against our server unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ErrorCode;

/// The credentials of an `Authorization: Bearer <token>` value. The scheme's name is case-insensitive (RFC 7235
/// §2.1), so `bearer` and `BEARER` work as well. Shared by the REST API and the MCP endpoint, which read the
/// same header.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `{"error": {"code", "message", "details"}}`: every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// The inside of [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Wire code from the catalogue ([`ErrorCode::code`]).
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Machine-readable details (`current_etag`, `limit_bytes`, `fix`, …).
    #[serde(default)]
    pub details: Map<String, Value>,
}

impl ErrorEnvelope {
    /// An envelope for a catalogue code, with the fix in the message and under `details.fix`.
    pub fn new(code: ErrorCode, detail: Option<&str>) -> Self {
        let mut message = code.message().to_owned();
        if let Some(d) = detail.filter(|d| !d.is_empty()) {
            message.push_str(": ");
            message.push_str(d);
        }
        message.push_str(". Fix: ");
        message.push_str(code.fix());
        let mut details = Map::new();
        details.insert("fix".into(), code.fix().into());
        Self { error: ErrorBody { code: code.code().to_owned(), message, details } }
    }

    /// The catalogue code, when the server sent one this client knows.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(&self.error.code)
    }
}

/// `POST /api/v1/auth/signup`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignupRequest {
    /// The account's email.
    pub email: String,
}

/// Reply to a signup: the first API key, shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignupResponse {
    /// The new user.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// The API key (`sk_sfs_…`), shown only here.
    pub raw_key: String,
    /// The key's ID.
    pub key_id: String,
    /// What to do next.
    pub message: String,
}

/// `GET /api/v1/auth/me`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MeResponse {
    /// The user.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// A display name.
    pub display_name: Option<String>,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// `admin` or `user` (the original's tiers do not exist on a self-hosted server).
    pub tier: String,
    /// Same as `tier`.
    pub effective_tier: String,
    /// When the account was made.
    pub created_at: String,
    /// Bytes used by non-deleted sessions.
    pub storage_used_bytes: u64,
    /// The quota, when one is set.
    pub storage_quota_bytes: Option<u64>,
}

/// A personal API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// Its ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The first 12 characters, to recognise it.
    pub key_prefix: String,
    /// Made at.
    pub created_at: String,
    /// Expires at.
    pub expires_at: Option<String>,
    /// Last used at.
    pub last_used_at: Option<String>,
    /// Not revoked and not expired.
    pub is_active: bool,
}

/// `POST /api/v1/auth/me/api-keys`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateApiKeyRequest {
    /// A name, 1 to 255 characters.
    pub name: String,
    /// Lifetime in days, 1 to 730; none means no expiry.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new key, with the key itself shown once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedApiKey {
    /// The listing fields.
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    /// The key (`sk_sfs_…`).
    pub key: String,
}

/// A session as listed (`SessionSummary` of the original).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSummary {
    /// `ses_…`
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Alias.
    pub alias: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The agent.
    pub source_tool: String,
    /// Main model.
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
    /// Archive size.
    pub blob_size_bytes: u64,
    /// SHA-256 of the archive.
    pub etag: String,
    /// The session it was copied or forked from.
    pub parent_session_id: Option<String>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// In the trash.
    pub is_deleted: bool,
    /// When it was deleted.
    pub deleted_at: Option<String>,
    /// Who deleted it.
    pub deleted_by: Option<String>,
    /// `cloud` or `everywhere`.
    pub delete_scope: Option<String>,
    /// When it will be purged.
    pub purge_after: Option<String>,
}

/// A session with everything the server knows of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionDetail {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// The agent's own ID.
    pub original_session_id: Option<String>,
    /// The agent's version.
    pub source_tool_version: Option<String>,
    /// Model provider.
    pub model_provider: Option<String>,
    /// Duration.
    pub duration_ms: Option<u64>,
    /// Last upload.
    pub uploaded_at: String,
}

/// `GET /api/v1/sessions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionListResponse {
    /// This page.
    pub sessions: Vec<SessionSummary>,
    /// All matches.
    pub total: u64,
    /// Page number, from 1.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// More pages follow.
    pub has_more: bool,
}

/// The `sort` of `GET /api/v1/sessions`. Every order breaks ties by session ID, so pages do not shift
/// between requests when values are equal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionSort {
    /// Most recently updated first (the default; the trash defaults to most recently deleted first).
    #[default]
    Updated,
    /// Most recently created first.
    Created,
    /// By title, A to Z ignoring ASCII case; untitled sessions last.
    Title,
    /// Largest archive first.
    Size,
    /// Most messages first.
    Messages,
}

impl SessionSort {
    /// Every order, in the order the dashboard offers them.
    pub const ALL: [Self; 5] = [Self::Updated, Self::Created, Self::Title, Self::Size, Self::Messages];

    /// The wire name (the `sort` query value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Created => "created",
            Self::Title => "title",
            Self::Size => "size",
            Self::Messages => "messages",
        }
    }

    /// The order with this wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|sort| sort.as_str() == s)
    }
}

/// Reply to an upload or sync push.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncPushResponse {
    /// The session.
    pub session_id: String,
    /// SHA-256 of the stored archive.
    pub etag: String,
    /// Its size.
    pub blob_size_bytes: u64,
    /// When it was stored.
    pub synced_at: String,
}

/// `PATCH /api/v1/sessions/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionPatch {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New alias (empty clears it).
    #[serde(default)]
    pub alias: Option<String>,
    /// New tags.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// A page of messages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessagesPage {
    /// The messages (`.sfs` message objects).
    pub messages: Vec<Value>,
    /// All messages.
    pub total: u64,
    /// Page, from 1.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// More pages follow.
    pub has_more: bool,
}

/// Reply to a restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestoreResponse {
    /// The session.
    #[serde(flatten)]
    pub session: SessionDetail,
    /// The scope it had been deleted with.
    pub restored_from_scope: Option<String>,
    /// Deleted everywhere: the local copy may be gone.
    pub local_copy_may_be_missing: bool,
}

/// Search results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Hits, best first.
    pub results: Vec<SearchResult>,
    /// All hits.
    pub total: u64,
    /// Page.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// The query.
    pub query: String,
}

/// One search hit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    /// The session.
    pub session_id: String,
    /// Title.
    pub title: Option<String>,
    /// Alias.
    pub alias: Option<String>,
    /// Agent.
    pub source_tool: String,
    /// Model.
    pub model_id: Option<String>,
    /// Messages.
    pub message_count: u64,
    /// Updated.
    pub updated_at: String,
    /// Snippets around the matches.
    pub matches: Vec<SearchMatch>,
}

/// A snippet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchMatch {
    /// Text around a match, matches in `<mark>`.
    pub snippet: String,
}

/// The autosync mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Manual push only.
    #[default]
    Off,
    /// Every captured session.
    All,
    /// Watched sessions only.
    Selective,
}

impl SyncMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::All => "all",
            Self::Selective => "selective",
        }
    }
}

/// `GET/PUT /api/v1/sync/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Autosync mode.
    pub mode: SyncMode,
    /// Seconds between a change and its push (5 to 300).
    pub debounce_seconds: u32,
    /// Largest archive member the server accepts.
    pub max_member_bytes: u64,
    /// Largest upload the server accepts (`SFS_MAX_UPLOAD_SIZE`); clients check it before sending, since
    /// a server refuses an oversized body before reading it. Absent from the original server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_bytes: Option<u64>,
}

/// `PUT /api/v1/sync/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncSettingsUpdate {
    /// New mode.
    pub mode: SyncMode,
    /// New debounce (clamped to 5..=300).
    #[serde(default)]
    pub debounce_seconds: Option<u32>,
}

/// One watched session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchedSession {
    /// The session.
    pub session_id: String,
    /// Its title, when it is on the server.
    pub title: Option<String>,
    /// Its agent.
    pub source_tool: Option<String>,
    /// Its messages.
    pub message_count: Option<u64>,
    /// `pending`, `queued`, `synced`, `failed`.
    pub status: String,
    /// Last successful sync.
    pub last_synced_at: Option<String>,
}

/// `GET /api/v1/sync/watchlist`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Watchlist {
    /// Watched sessions, newest first.
    pub sessions: Vec<WatchedSession>,
}

/// `GET /api/v1/sync/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncStatus {
    /// Autosync mode.
    pub mode: SyncMode,
    /// Sessions on the server (not deleted).
    pub total_sessions: u64,
    /// Same as `total_sessions`.
    pub synced_sessions: u64,
    /// Watched sessions.
    pub watched_sessions: u64,
    /// Watched sessions queued.
    pub queued: u64,
    /// Watched sessions whose last sync failed.
    pub failed: u64,
    /// Bytes of non-deleted sessions.
    pub storage_used_bytes: u64,
    /// Largest accepted upload.
    pub storage_limit_bytes: u64,
    /// Storage quota, when set.
    pub storage_quota_bytes: Option<u64>,
}

/// `POST /api/v1/handoffs`. Exactly one recipient: an email or a user ID.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateHandoffRequest {
    /// The session to hand off.
    pub session_id: String,
    /// Who receives it, by email.
    #[serde(default)]
    pub recipient_email: Option<String>,
    /// Who receives it, by user ID.
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    /// Teams are not supported by this server; naming one is an error.
    #[serde(default)]
    pub recipient_team_id: Option<String>,
    /// A note for them.
    #[serde(default)]
    pub message: Option<String>,
    /// Lifetime in hours (1 to 720, default 168).
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

/// A handoff.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HandoffResponse {
    /// `hnd_…`
    pub id: String,
    /// The handed-off session (the sender's).
    pub session_id: String,
    /// The sender.
    pub sender_id: String,
    /// The sender's email.
    pub sender_email: String,
    /// The recipient's email.
    pub recipient_email: String,
    /// The note.
    pub message: Option<String>,
    /// `pending`, `claimed`, `revoked`, `declined`, `expired`.
    pub status: String,
    /// Made at.
    pub created_at: String,
    /// Expires at.
    pub expires_at: String,
    /// Claimed at.
    pub claimed_at: Option<String>,
    /// The recipient's copy, once claimed.
    pub recipient_session_id: Option<String>,
    /// Title at hand-off time.
    pub session_title: Option<String>,
    /// Agent at hand-off time.
    pub session_tool: Option<String>,
    /// Model at hand-off time.
    pub session_model_id: Option<String>,
    /// Messages at hand-off time.
    pub session_message_count: u64,
    /// Always `individual` (team handoffs are not supported).
    pub handoff_kind: String,
    /// The recipient, once known.
    pub recipient_user_id: Option<String>,
    /// Always null.
    pub recipient_team_id: Option<String>,
    /// Always null (tickets are not part of this server).
    pub ticket_id: Option<String>,
    /// Always null.
    pub persona_name: Option<String>,
    /// First seen by the recipient.
    pub viewed_at: Option<String>,
    /// Revoked at.
    pub revoked_at: Option<String>,
    /// Why it was revoked or declined.
    pub revoke_reason: Option<String>,
    /// Always empty.
    #[serde(default)]
    pub attachments: Vec<Value>,
    /// Comments (on `GET /handoffs/{id}` only).
    #[serde(default)]
    pub comments: Vec<Value>,
    /// Events (on `GET /handoffs/{id}` only).
    #[serde(default)]
    pub events: Vec<Value>,
}

/// `POST /api/v1/handoffs/{id}/comments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandoffCommentRequest {
    /// The comment, 1 to 10,000 characters.
    pub content: String,
}

/// Handoff lists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HandoffListResponse {
    /// Newest first.
    pub handoffs: Vec<HandoffResponse>,
    /// Count.
    pub total: u64,
}

/// `POST /api/v1/handoffs/{id}/revoke` and `/decline`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReasonRequest {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/admin/purge-deleted`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PurgeRequest {
    /// One deleted session to purge now, whatever its retention; none purges every expired one.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The owner of that session (admins purge across users).
    #[serde(default)]
    pub user_id: Option<String>,
}

/// Reply to a purge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeResponse {
    /// Sessions removed.
    pub purged: u64,
    /// Archive bytes removed.
    pub bytes_reclaimed: u64,
}

/// Storage used by one agent's sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolUsage {
    /// The agent.
    pub source_tool: String,
    /// Its live sessions.
    pub sessions: u64,
    /// Their archive bytes.
    pub bytes: u64,
}

/// `GET /api/v1/storage`: where the caller's storage goes. Soft-deleted sessions are reported apart and
/// count toward neither `used_bytes` nor the quota, as the original's storage figures promise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageResponse {
    /// Archive bytes of live sessions: the same figure as `storage_used_bytes` of `/auth/me`.
    pub used_bytes: u64,
    /// The quota, when one is set.
    pub quota_bytes: Option<u64>,
    /// Live sessions.
    pub session_count: u64,
    /// Sessions in the trash.
    pub deleted_count: u64,
    /// Archive bytes in the trash (freed when they are purged).
    pub deleted_bytes: u64,
    /// Live sessions per agent, most bytes first; the bytes add up to `used_bytes`.
    pub by_tool: Vec<ToolUsage>,
    /// The ten largest live sessions, largest first.
    pub largest: Vec<SessionSummary>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case() {
        assert_eq!(bearer_token("Bearer sk_sfs_a"), Some("sk_sfs_a"));
        assert_eq!(bearer_token("bearer  sk_sfs_a "), Some("sk_sfs_a"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn session_sort_wire_names_round_trip() {
        for sort in SessionSort::ALL {
            let json = serde_json::to_string(&sort).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", sort.as_str()));
            assert_eq!(serde_json::from_str::<SessionSort>(&json).ok(), Some(sort));
            assert_eq!(SessionSort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(SessionSort::default(), SessionSort::Updated);
        assert_eq!(SessionSort::parse("Size"), None, "wire names are lower case, as serde reads them");
        assert_eq!(SessionSort::parse("updated_at"), None);
    }
}
