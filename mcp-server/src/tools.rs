//! The tools, defined once over a [`SessionSource`]: the same code serves the local store over stdio and
//! the server's database over streamable HTTP.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sessionfs_shared::redact::Redactor;
use sessionfs_shared::search::check_query_size;
use sessionfs_shared::{ErrorCode, Timestamp};

use crate::digest::{self, Counts, MessageView};
use crate::source::{Caller, HandoffInfo, ListQuery, Mailbox, ResumeWritten, SearchHit, SessionInfo, SessionPage};
use crate::{SessionSource, SourceError};

/// The most characters of one message `get_messages` returns.
pub const MESSAGE_CHARS: usize = 4_000;
/// The most characters of messages one `get_messages` page returns, all together.
pub const PAGE_CHARS: usize = 60_000;

const INSTRUCTIONS: &str = "SessionFS holds the user's captured AI coding-agent sessions (Claude Code, Codex, \
Gemini CLI, Cursor, …). Use list_sessions or search_sessions to find a session, get_session for its summary, \
get_messages to read it, resume_session to continue it, and the handoff tools to pass it to a teammate. \
Secrets in returned text are redacted.";

/// The MCP server: every tool, over one source.
#[derive(Clone)]
pub struct SessionTools {
    source: Arc<dyn SessionSource>,
    redactor: Arc<Redactor>,
    tool_router: ToolRouter<Self>,
}

fn default_page() -> u32 {
    1
}
fn default_page_size() -> u32 {
    20
}
fn default_search_limit() -> u32 {
    10
}
fn default_message_limit() -> u32 {
    20
}
fn default_max_tokens() -> u64 {
    4_000
}

/// The range of `resume_session`'s `max_tokens`.
const MIN_BRIEF_TOKENS: u64 = 500;
const MAX_BRIEF_TOKENS: u64 = 50_000;

/// Arguments of `list_sessions`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListSessionsArgs {
    /// Only sessions of this agent: claude-code, codex, gemini-cli, copilot-cli, cursor, amp, cline, roo-code or kilo-code.
    pub agent: Option<String>,
    /// Only sessions whose project folder path contains this text.
    pub project: Option<String>,
    /// Only sessions updated at or after this time: RFC 3339 (e.g. 2026-01-31T00:00:00Z; an offset is
    /// converted to UTC), a day (2026-01-31, from its start in UTC), or how long ago (7d, 12h, 30m, 2w).
    pub since: Option<String>,
    /// Only sessions whose title, alias or tags contain this text (case-insensitive). For message text use search_sessions.
    pub text: Option<String>,
    /// Page number, from 1 (default 1).
    #[serde(default = "default_page")]
    pub page: u32,
    /// Sessions per page, 1 to 100 (default 20).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

/// Arguments of `search_sessions`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchSessionsArgs {
    /// Words to find in message text (full-text search; all words must occur). At most 500 characters and
    /// 64 words.
    pub query: String,
    /// Only sessions of this agent (e.g. claude-code, codex, gemini-cli).
    pub agent: Option<String>,
    /// Maximum hits, 1 to 50 (default 10).
    #[serde(default = "default_search_limit")]
    pub limit: u32,
}

/// Arguments naming one session.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SessionArgs {
    /// The session: its `ses_…` ID (locally also a unique ID prefix or an alias).
    pub session_id: String,
}

/// Arguments of `get_messages`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetMessagesArgs {
    /// The session: its `ses_…` ID (locally also a unique ID prefix or an alias).
    pub session_id: String,
    /// Index of the first message to return, from 0 (default 0). Negative counts from the end (-10: the last ten).
    #[serde(default)]
    pub offset: i64,
    /// Maximum messages, 1 to 100 (default 20). A page also stops at about 60,000 characters.
    #[serde(default = "default_message_limit")]
    pub limit: u32,
}

/// Arguments of `resume_session`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ResumeSessionArgs {
    /// The session: its `ses_…` ID (locally also a unique ID prefix or an alias).
    pub session_id: String,
    /// Token budget for the brief plus the recent turns, 500 to 50,000 (default 4,000).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u64,
    /// Local server only: also write the whole session (trimmed only to fit that agent's own context, as
    /// `sfs resume` does) as a native session of this agent (claude-code, codex or gemini-cli) and return the
    /// command that continues it there.
    pub target_tool: Option<String>,
}

/// Arguments of `handoff_session`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct HandoffSessionArgs {
    /// The session to hand off: its `ses_…` ID (it must be on the sync server; locally run `sfs push` first).
    pub session_id: String,
    /// The recipient's email address.
    pub email: String,
    /// A note for the recipient (at most 2,000 characters).
    pub message: Option<String>,
}

/// Arguments of `list_handoffs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ListHandoffsArgs {
    /// `inbox` (handed to you, the default) or `sent` (handed off by you).
    #[serde(default)]
    pub mailbox: Mailbox,
}

/// Arguments of `claim_handoff`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClaimHandoffArgs {
    /// The handoff's `hnd_…` ID (from list_handoffs or the email).
    pub handoff_id: String,
}

/// Result of `search_sessions`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchResults {
    /// The query as run.
    pub query: String,
    /// Hits, best first; snippets mark matches with «…».
    pub hits: Vec<SearchHit>,
}

/// Result of `get_session`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SessionDetails {
    /// The session's metadata.
    pub session: SessionInfo,
    /// Message and tool-call counts.
    pub counts: Counts,
    /// Files the session's tool calls read or changed (at most 50, first seen first).
    pub files_touched: Vec<String>,
    /// Shell commands it ran (the last 30).
    pub commands_run: Vec<String>,
    /// The last messages (at most 5, each cut to 1,000 characters).
    pub last_messages: Vec<MessageView>,
}

/// Result of `get_messages`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MessagesPage {
    /// The session.
    pub session_id: String,
    /// Messages in the session.
    pub total: u64,
    /// Index of the first message returned.
    pub offset: u64,
    /// The messages, in order; each cut to 4,000 characters.
    pub messages: Vec<MessageView>,
    /// The offset of the next page, when there are more messages.
    pub next_offset: Option<u64>,
}

/// Result of `resume_session`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ResumeBrief {
    /// The session's metadata.
    pub session: SessionInfo,
    /// A compact brief: goal, project, counts, files touched and commands run.
    pub brief: String,
    /// The most recent messages that fit the budget, oldest first.
    pub recent_turns: Vec<MessageView>,
    /// Estimated tokens of `brief` plus `recent_turns` (about 4 characters a token).
    pub estimated_tokens: u64,
    /// Messages before `recent_turns` left out of it.
    pub omitted_messages: u64,
    /// When `target_tool` was given: the native session written and the command to continue it.
    pub written: Option<ResumeWritten>,
}

/// Result of `list_handoffs`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HandoffList {
    /// Which mailbox.
    pub mailbox: Mailbox,
    /// The handoffs, newest first (at most 100).
    pub handoffs: Vec<HandoffInfo>,
}

/// The streamable HTTP service serving [`SessionTools`].
pub type HttpService = rmcp::transport::streamable_http_server::StreamableHttpService<
    SessionTools,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
>;

type ToolResult<T> = Result<Json<T>, String>;

#[tool_router]
impl SessionTools {
    /// Tools over `source`.
    pub fn new(source: Arc<dyn SessionSource>) -> Self {
        Self { source, redactor: Arc::new(Redactor::new()), tool_router: Self::tool_router() }
    }

    /// Tools over `source`, sharing one compiled redactor.
    pub fn with_redactor(source: Arc<dyn SessionSource>, redactor: Arc<Redactor>) -> Self {
        Self { source, redactor, tool_router: Self::tool_router() }
    }

    async fn caller(&self, cx: &RequestContext<RoleServer>) -> Result<Caller, String> {
        let bearer = cx
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.headers.get(http::header::AUTHORIZATION))
            .and_then(|v| v.to_str().ok())
            .and_then(sessionfs_shared::api::bearer_token);
        self.source.caller(bearer).await.map_err(|e| e.to_tool_text())
    }

    /// Redact every string of a result and wrap it.
    fn out<T: Serialize + DeserializeOwned>(&self, value: T) -> ToolResult<T> {
        let mut json = serde_json::to_value(&value).map_err(|e| e.to_string())?;
        if self.redactor.redact_json(&mut json).is_empty() {
            return Ok(Json(value));
        }
        serde_json::from_value(json).map(Json).map_err(|e| e.to_string())
    }

    #[tool(
        description = "List the user's captured agent sessions, newest first, one page at a time (1 to 100 per page, \
        default 20). Returns each session's ID, agent, title, project folder, model, counts and times, plus the total \
        and has_more. Filter by agent, project path, update time (since) or title/alias/tag text. Call this to find a \
        session when you know roughly when or where it happened; use search_sessions to find words in messages.",
        annotations(read_only_hint = true, destructive_hint = false, open_world_hint = false)
    )]
    async fn list_sessions(
        &self,
        Parameters(a): Parameters<ListSessionsArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<SessionPage>, String> {
        let caller = self.caller(&cx).await?;
        // Sources compare `since` with stored UTC times as text: it must be in that same canonical form.
        let since = a
            .since
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| sessionfs_shared::parse_since(s, Timestamp::now()))
            .transpose()
            .map_err(|e| invalid(format!("since: {e}")))?;
        let query = ListQuery {
            agent: a.agent.filter(|s| !s.is_empty()),
            project: a.project.filter(|s| !s.is_empty()),
            since: since.map(Timestamp::to_rfc3339),
            text: a.text.filter(|s| !s.is_empty()),
            page: a.page.max(1),
            page_size: a.page_size.clamp(1, 100),
        };
        let page = self.source.list_sessions(&caller, &query).await.map_err(tool_error)?;
        self.out(page)
    }

    #[tool(
        description = "Full-text search over the messages of the user's captured sessions. Returns at most `limit` \
        hits (1 to 50, default 10), best first: session ID, agent, title, and a snippet of the matching message. \
        Call get_session or get_messages on a hit to read more.",
        annotations(read_only_hint = true, destructive_hint = false, open_world_hint = false)
    )]
    async fn search_sessions(
        &self,
        Parameters(a): Parameters<SearchSessionsArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<SearchResults>, String> {
        let caller = self.caller(&cx).await?;
        let query = a.query.trim().to_owned();
        if query.is_empty() {
            return Err(invalid("query is empty: give at least one word"));
        }
        // Every word is a doclist walk and the query is echoed in the result: both stay bounded.
        check_query_size(&query).map_err(|e| invalid(format!("query: {e}")))?;
        let hits = self
            .source
            .search_sessions(&caller, &query, a.agent.as_deref().filter(|s| !s.is_empty()), a.limit.clamp(1, 50))
            .await
            .map_err(tool_error)?;
        self.out(SearchResults { query, hits })
    }

    #[tool(
        description = "One session's summary: metadata, message and tool-call counts, the files it touched (at most \
        50), the shell commands it ran (the last 30) and its last 5 messages (each cut to 1,000 characters). \
        Call this before reading or resuming a session to see what it was about.",
        annotations(read_only_hint = true, destructive_hint = false, open_world_hint = false)
    )]
    async fn get_session(
        &self,
        Parameters(a): Parameters<SessionArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<SessionDetails>, String> {
        let caller = self.caller(&cx).await?;
        let s = self.source.load_session(&caller, &a.session_id).await.map_err(tool_error)?;
        let start = s.messages.len().saturating_sub(5);
        let last_messages =
            s.messages[start..].iter().enumerate().map(|(i, m)| digest::view(start + i, m, 1_000)).collect();
        self.out(SessionDetails {
            counts: digest::counts(&s.messages),
            files_touched: digest::files_touched(&s.messages, 50),
            commands_run: digest::commands_run(&s.messages, 30),
            last_messages,
            session: s.info,
        })
    }

    #[tool(
        description = "Read a session's messages in order, one page at a time: at most `limit` messages (1 to 100, \
        default 20) from `offset` (negative counts from the end), each cut to 4,000 characters, a page at most about \
        60,000 characters. Returns the messages with role, time, text and tool calls, the total, and next_offset \
        while more remain.",
        annotations(read_only_hint = true, destructive_hint = false, open_world_hint = false)
    )]
    async fn get_messages(
        &self,
        Parameters(a): Parameters<GetMessagesArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<MessagesPage>, String> {
        let caller = self.caller(&cx).await?;
        let s = self.source.load_session(&caller, &a.session_id).await.map_err(tool_error)?;
        let total = s.messages.len();
        let start = if a.offset < 0 {
            total.saturating_sub(usize::try_from(a.offset.unsigned_abs()).unwrap_or(usize::MAX))
        } else {
            usize::try_from(a.offset).unwrap_or(usize::MAX).min(total)
        };
        let limit = a.limit.clamp(1, 100) as usize;
        let mut messages = Vec::new();
        let mut chars = 0usize;
        for (i, m) in s.messages.iter().enumerate().skip(start).take(limit) {
            let v = digest::view(i, m, MESSAGE_CHARS);
            chars += v.text.len() + v.tool_calls.iter().map(|c| c.input.len()).sum::<usize>();
            if !messages.is_empty() && chars > PAGE_CHARS {
                break;
            }
            messages.push(v);
        }
        let end = start + messages.len();
        self.out(MessagesPage {
            session_id: s.info.id,
            total: total as u64,
            offset: start as u64,
            messages,
            next_offset: (end < total).then_some(end as u64),
        })
    }

    #[tool(
        description = "Continue a session: returns a compact brief (goal, project, counts, files touched, commands \
        run) and the most recent turns, together within `max_tokens` (500 to 50,000, default 4,000), so you can pick \
        up where the session left off. With `target_tool` (local server only) it also writes the session as a native \
        session of that agent (claude-code, codex or gemini-cli), trimmed only to fit that agent's context \
        (`written.trimmed` says what was left out), and returns the command that continues it there.",
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn resume_session(
        &self,
        Parameters(a): Parameters<ResumeSessionArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<ResumeBrief>, String> {
        if !(MIN_BRIEF_TOKENS..=MAX_BRIEF_TOKENS).contains(&a.max_tokens) {
            return Err(invalid(format!(
                "max_tokens is {}; give {MIN_BRIEF_TOKENS} to {MAX_BRIEF_TOKENS} (it bounds the brief, not what \
                 target_tool writes)",
                a.max_tokens
            )));
        }
        let caller = self.caller(&cx).await?;
        let s = self.source.load_session(&caller, &a.session_id).await.map_err(tool_error)?;
        let budget = a.max_tokens;
        let brief = brief(&s.info, &s.messages, budget / 4);
        let brief_tokens = digest::tokens(&brief);
        let per_message = usize::try_from(budget.saturating_mul(2)).unwrap_or(usize::MAX).clamp(400, MESSAGE_CHARS);
        let recent_turns = digest::recent_within(&s.messages, budget.saturating_sub(brief_tokens), per_message);
        let recent_tokens: u64 = recent_turns
            .iter()
            .map(|v| {
                digest::tokens(&v.text) + v.tool_calls.iter().map(|c| digest::tokens(&c.input) + 4).sum::<u64>() + 8
            })
            .sum();
        let omitted_messages = (s.messages.len() - recent_turns.len()) as u64;
        let written = match a.target_tool.as_deref().filter(|t| !t.is_empty()) {
            Some(target) => Some(
                // The agent's own context is the budget of what it reads, as for `sfs resume`: the brief's
                // budget would leave most of a long session out of it.
                self.source.write_for_agent(&caller, &s.info.id, target, None).await.map_err(tool_error)?,
            ),
            None => None,
        };
        self.out(ResumeBrief {
            session: s.info,
            brief,
            recent_turns,
            estimated_tokens: brief_tokens + recent_tokens,
            omitted_messages,
            written,
        })
    }

    #[tool(
        description = "Hand a session to a teammate by email, with an optional note: the server emails them and \
        they can claim their own copy (claim_handoff). Returns the handoff with its hnd_ ID, status and expiry. \
        The session must be on the sync server. Locally this needs a login (`sfs auth login`).",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn handoff_session(
        &self,
        Parameters(a): Parameters<HandoffSessionArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<HandoffInfo>, String> {
        let caller = self.caller(&cx).await?;
        let message = a.message.as_deref().map(|m| digest::cut(m, 2_000).0);
        let h = self
            .source
            .handoff(&caller, &a.session_id, a.email.trim(), message.as_deref())
            .await
            .map_err(tool_error)?;
        self.out(h)
    }

    #[tool(
        description = "List handoffs: `inbox` (sessions handed to you; claim one with claim_handoff) or `sent`. \
        Returns at most 100, newest first, each with its hnd_ ID, session, sender, recipient, note, status and \
        expiry. Locally this needs a login (`sfs auth login`).",
        annotations(read_only_hint = true, destructive_hint = false, open_world_hint = true)
    )]
    async fn list_handoffs(
        &self,
        Parameters(a): Parameters<ListHandoffsArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<HandoffList>, String> {
        let caller = self.caller(&cx).await?;
        let mut handoffs = self.source.list_handoffs(&caller, a.mailbox).await.map_err(tool_error)?;
        handoffs.truncate(100);
        self.out(HandoffList { mailbox: a.mailbox, handoffs })
    }

    #[tool(
        description = "Claim a handoff sent to you: you get your own copy of the session (its ID is \
        claimed_session_id; read it with get_session, or locally `sfs pull-handoff` to resume it). Returns the \
        handoff. Fails if it was not sent to you, expired or was revoked.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true)
    )]
    async fn claim_handoff(
        &self,
        Parameters(a): Parameters<ClaimHandoffArgs>,
        cx: RequestContext<RoleServer>,
    ) -> Result<Json<HandoffInfo>, String> {
        let caller = self.caller(&cx).await?;
        let h = self.source.claim_handoff(&caller, a.handoff_id.trim()).await.map_err(tool_error)?;
        self.out(h)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SessionTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(rmcp::model::Implementation::new("sessionfs", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

fn tool_error(e: SourceError) -> String {
    e.to_tool_text()
}

/// A tool error for arguments that are wrong as given.
fn invalid(detail: impl Into<String>) -> String {
    SourceError::new(ErrorCode::BadRequest, detail).to_tool_text()
}

/// The brief: what the session was for, where, how big, what it touched; about `budget_tokens` at most.
fn brief(info: &SessionInfo, messages: &[sessionfs_shared::sfs::Message], budget_tokens: u64) -> String {
    let budget_chars = usize::try_from(budget_tokens).unwrap_or(usize::MAX).saturating_mul(digest::CHARS_PER_TOKEN);
    let c = digest::counts(messages);
    let mut lines = vec![format!(
        "Session {} ({}){}",
        info.id,
        info.agent,
        info.title.as_deref().map(|t| format!(": {t}")).unwrap_or_default()
    )];
    if let Some(p) = &info.project_path {
        lines.push(format!("Project: {p}"));
    }
    if let Some(m) = &info.model {
        lines.push(format!("Model: {m}"));
    }
    lines.push(format!(
        "{} messages ({} from the user), {} tool calls ({} failed); last updated {}",
        c.messages,
        c.user,
        c.tool_calls,
        c.tool_errors,
        info.updated_at.as_deref().or(info.created_at.as_deref()).unwrap_or("unknown")
    ));
    if let Some(goal) = digest::first_request(messages) {
        lines.push(format!("Goal (first request): {}", digest::cut(&goal, budget_chars / 3).0));
    }
    let files = digest::files_touched(messages, 20);
    if !files.is_empty() {
        lines.push(format!("Files touched: {}", files.join(", ")));
    }
    let commands = digest::commands_run(messages, 10);
    if !commands.is_empty() {
        lines.push(format!("Recent commands: {}", commands.join(" ; ")));
    }
    digest::cut(&lines.join("\n"), budget_chars.max(200)).0
}
