//! What the tools read from: [`SessionSource`], implemented by the local store (client) and by the server's
//! database (per caller), and the plain values it hands back.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sessionfs_shared::ErrorCode;
use sessionfs_shared::sfs::Message;

/// Who is calling. Over stdio the local user; over HTTP the owner of the request's bearer key, read anew on
/// every call.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's ID (`local` over stdio).
    pub user_id: String,
    /// The user's email, when known.
    pub email: Option<String>,
    /// The bearer key this call came with (HTTP), for sources that act on the caller's behalf.
    pub key: Option<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("user_id", &self.user_id).field("email", &self.email).finish_non_exhaustive()
    }
}

impl Caller {
    /// The local user of a stdio server.
    pub fn local() -> Self {
        Self { user_id: "local".to_owned(), email: None, key: None }
    }
}

/// A domain failure: a catalogue code and what went wrong. Tools turn it into a tool error carrying the
/// catalogue's fix, or a fix of its own where the catalogue's would not apply to a tool caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {detail}", code.message())]
pub struct SourceError {
    /// The catalogue entry.
    pub code: ErrorCode,
    /// What happened, for this call.
    pub detail: String,
    /// What to do, when it is more specific than the catalogue's fix.
    pub fix: Option<String>,
}

/// The most characters of a detail a tool error repeats: details quote what was given, which can be huge.
const DETAIL_CHARS: usize = 500;

impl SourceError {
    /// A failure with its detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into(), fix: None }
    }

    /// Say what to do instead of the catalogue's fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The text a tool error carries: message, detail (cut to 500 characters) and the fix, each once.
    pub fn to_tool_text(&self) -> String {
        // The catalogue's "bad request" points at the REST API reference; a tool caller got its arguments wrong.
        let (message, fix) = match self.code {
            ErrorCode::BadRequest => {
                ("Invalid params", "correct the arguments (tools/list gives each tool's input schema)")
            }
            c => (c.message(), c.fix()),
        };
        let fix = self.fix.as_deref().unwrap_or(fix);
        // A detail that only repeats the catalogue's message (some sources have nothing more to say) is left out.
        let detail = self.detail.trim();
        let detail = detail.strip_prefix(self.code.message()).map_or(detail, |d| d.trim_start_matches([':', ' ']));
        let detail = crate::digest::cut(detail, DETAIL_CHARS).0;
        if detail.is_empty() { format!("{message}. Fix: {fix}") } else { format!("{message}: {detail}. Fix: {fix}") }
    }
}

/// Source results.
pub type SourceResult<T> = Result<T, SourceError>;

/// One session, as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInfo {
    /// `ses_…` ID.
    pub id: String,
    /// The agent that recorded it (`claude-code`, `codex`, `gemini-cli`, …).
    pub agent: String,
    /// Title, when known.
    pub title: Option<String>,
    /// User alias, when set.
    pub alias: Option<String>,
    /// User tags.
    pub tags: Vec<String>,
    /// The folder the agent worked in, when known.
    pub project_path: Option<String>,
    /// Main model.
    pub model: Option<String>,
    /// Messages.
    pub message_count: u64,
    /// User turns.
    pub turn_count: u64,
    /// Tool calls.
    pub tool_call_count: u64,
    /// Created (RFC 3339).
    pub created_at: Option<String>,
    /// Last updated (RFC 3339).
    pub updated_at: Option<String>,
}

/// Filters and page of [`SessionSource::list_sessions`].
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only this agent.
    pub agent: Option<String>,
    /// Only sessions whose project path contains this.
    pub project: Option<String>,
    /// Only sessions updated at or after this time, in the canonical UTC form (`2026-01-31T00:00:00.000Z`,
    /// [`sessionfs_shared::Timestamp::to_rfc3339`]) that sources compare with their stored times.
    pub since: Option<String>,
    /// Only sessions whose title, alias or tags contain this (case-insensitive).
    pub text: Option<String>,
    /// Page from 1.
    pub page: u32,
    /// Page size.
    pub page_size: u32,
}

/// A page of sessions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SessionPage {
    /// The sessions on this page.
    pub sessions: Vec<SessionInfo>,
    /// This page (from 1).
    pub page: u32,
    /// Page size.
    pub page_size: u32,
    /// Sessions matching the filters, all pages.
    pub total: u64,
    /// True when a later page exists.
    pub has_more: bool,
}

/// One search hit: the best-matching message of a session.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SearchHit {
    /// The session.
    pub session_id: String,
    /// Its agent.
    pub agent: String,
    /// Its title.
    pub title: Option<String>,
    /// The matching message's ID, when known.
    pub msg_id: Option<String>,
    /// The matching message's role, when known.
    pub role: Option<String>,
    /// Text around the match.
    pub snippet: String,
}

/// A session with all its messages, as a source loads it for reading.
#[derive(Debug, Clone)]
pub struct LoadedSession {
    /// Its metadata.
    pub info: SessionInfo,
    /// Its messages, in order.
    pub messages: Vec<Message>,
}

/// A handoff, as the handoff tools return it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HandoffInfo {
    /// `hnd_…` ID.
    pub id: String,
    /// The session handed off.
    pub session_id: String,
    /// Sender.
    pub sender_email: String,
    /// Recipient.
    pub recipient_email: String,
    /// The sender's note.
    pub message: Option<String>,
    /// `pending`, `claimed`, `revoked`, `declined` or `expired`.
    pub status: String,
    /// Session title.
    pub title: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
    /// The recipient's copy, once claimed.
    pub claimed_session_id: Option<String>,
}

/// Which handoffs to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mailbox {
    /// Handoffs sent to the caller.
    #[default]
    Inbox,
    /// Handoffs the caller sent.
    Sent,
}

/// A session written for another agent (local store only).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ResumeWritten {
    /// The agent it was written for.
    pub agent: String,
    /// The agent's ID of the new native session.
    pub native_id: String,
    /// The folder to run the agent in.
    pub cwd: String,
    /// The command (argv) that continues the session, run in `cwd`.
    pub command: Vec<String>,
    /// The same as one shell line (`cd … && …`).
    pub shell: String,
    /// Messages the agent will read.
    pub messages: u64,
    /// What was left out to fit the agent's context, when the session was over it: the oldest turns, replaced
    /// by a summary of them that opens the written session.
    pub trimmed: Option<ResumeTrimmed>,
}

/// What a resume left out to fit the agent's context.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ResumeTrimmed {
    /// User turns left out, oldest first.
    pub turns: u64,
    /// Items (prompts, steps, results) left out.
    pub items: u64,
    /// Estimated tokens of the whole conversation.
    pub tokens_before: u64,
    /// Estimated tokens written, the summary included.
    pub tokens_after: u64,
    /// The budget: the agent's context for the conversation.
    pub budget: u64,
}

/// Where the MCP tools read sessions and handoffs from. Every method takes the caller and must only ever
/// return the caller's own data.
#[async_trait]
pub trait SessionSource: Send + Sync + 'static {
    /// The caller, from the request's bearer key (`None` over stdio or when the request had none).
    async fn caller(&self, bearer: Option<&str>) -> SourceResult<Caller>;
    /// A page of the caller's sessions, newest first.
    async fn list_sessions(&self, caller: &Caller, query: &ListQuery) -> SourceResult<SessionPage>;
    /// Full-text search over the caller's sessions' messages: at most `limit` hits, best first.
    async fn search_sessions(
        &self,
        caller: &Caller,
        query: &str,
        agent: Option<&str>,
        limit: u32,
    ) -> SourceResult<Vec<SearchHit>>;
    /// One session with its messages; `reference` is an ID (or, where the source supports it, a unique
    /// prefix or an alias).
    async fn load_session(&self, caller: &Caller, reference: &str) -> SourceResult<LoadedSession>;
    /// Write the session as a native session of `target_tool` so that agent can continue it, within
    /// `max_tokens` of conversation (`None`: the agent's own context budget, as `sfs resume` uses). Only the
    /// local store can; the default refuses.
    async fn write_for_agent(
        &self,
        _caller: &Caller,
        _session_id: &str,
        target_tool: &str,
        _max_tokens: Option<u64>,
    ) -> SourceResult<ResumeWritten> {
        Err(SourceError::new(
            ErrorCode::BadRequest,
            format!(
                "this server cannot write sessions for {target_tool} on your machine; \
                 run `sfs pull` and `sfs resume` locally, or use the local `sfs mcp serve`"
            ),
        ))
    }
    /// Hand a session to `email` with an optional note.
    async fn handoff(
        &self,
        caller: &Caller,
        session_id: &str,
        email: &str,
        message: Option<&str>,
    ) -> SourceResult<HandoffInfo>;
    /// The caller's inbox or sent handoffs, newest first.
    async fn list_handoffs(&self, caller: &Caller, mailbox: Mailbox) -> SourceResult<Vec<HandoffInfo>>;
    /// Claim a handoff sent to the caller: the caller gets their own copy of the session.
    async fn claim_handoff(&self, caller: &Caller, handoff_id: &str) -> SourceResult<HandoffInfo>;
}

impl From<sessionfs_shared::api::HandoffResponse> for HandoffInfo {
    fn from(h: sessionfs_shared::api::HandoffResponse) -> Self {
        Self {
            id: h.id,
            session_id: h.session_id,
            sender_email: h.sender_email,
            recipient_email: h.recipient_email,
            message: h.message,
            status: h.status,
            title: h.session_title,
            created_at: h.created_at,
            expires_at: h.expires_at,
            claimed_session_id: h.recipient_session_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_text_says_each_part_once_and_cuts_long_details() {
        let text = SourceError::new(ErrorCode::SessionNotFound, "no session matches \"x\"").to_tool_text();
        assert_eq!(
            text,
            format!("Session not found: no session matches \"x\". Fix: {}", ErrorCode::SessionNotFound.fix())
        );
        // A detail that is the message again is not repeated.
        let text = SourceError::new(ErrorCode::Conflict, ErrorCode::Conflict.message()).to_tool_text();
        assert_eq!(text.matches(ErrorCode::Conflict.message()).count(), 1, "{text}");
        // Wrong arguments: no pointer to the REST API reference; a fix of the source's own replaces the catalogue's.
        let text = SourceError::new(ErrorCode::BadRequest, "since: bad").to_tool_text();
        assert!(text.starts_with("Invalid params: since: bad. Fix:") && !text.contains("openapi"), "{text}");
        let text = SourceError::new(ErrorCode::Unauthorized, "no key").with_fix("log in").to_tool_text();
        assert_eq!(text, "Unauthorized: no key. Fix: log in");
        let text = SourceError::new(ErrorCode::InvalidSessionId, "x".repeat(5 << 20)).to_tool_text();
        assert!(text.len() < 1_000, "{} bytes", text.len());
    }
}
