//! The local store as an MCP [`SessionSource`] (`sfs mcp serve`): sessions from the store and its index,
//! handoffs through the configured sync server, resumes written as `sfs resume --no-launch` writes them.
//!
//! The store API is synchronous; each call opens the store on a blocking thread, so the daemon and the CLI
//! keep sharing the index as usual.

use std::path::PathBuf;

use async_trait::async_trait;
use sessionfs_agents::ResumeError;
use sessionfs_agents::resume::{cli, cli_info};
use sessionfs_mcp::{
    Caller, HandoffInfo, ListQuery, LoadedSession, Mailbox, ResumeTrimmed, ResumeWritten, SearchHit, SessionInfo,
    SessionPage, SessionSource, SourceError, SourceResult,
};
use sessionfs_shared::api::CreateHandoffRequest;
use sessionfs_shared::{AgentKind, ErrorCode};

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::index::{ListFilter, SessionRow};
use crate::paths::StorePaths;
use crate::resume::{ResumeRequest, resume};
use crate::store::Store;
use crate::sync::{RemoteClient, SyncError};

/// The local store, for the MCP tools.
#[derive(Debug, Clone)]
pub struct LocalSource {
    paths: StorePaths,
    home: PathBuf,
    current_dir: PathBuf,
}

impl LocalSource {
    /// A source over the store at `paths`; `home` holds the agents' folders (for resumes), `current_dir` is the
    /// fallback folder to continue in.
    pub fn new(paths: StorePaths, home: PathBuf, current_dir: PathBuf) -> Self {
        Self { paths, home, current_dir }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Self) -> SourceResult<T> + Send + 'static,
    ) -> SourceResult<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || f(&this))
            .await
            .map_err(|e| SourceError::new(ErrorCode::Internal, format!("the store task failed: {e}")))?
    }

    fn store(&self) -> SourceResult<Store> {
        Store::open(self.paths.clone()).map_err(client_error)
    }

    fn remote(&self) -> SourceResult<RemoteClient> {
        let config = ClientConfig::load(self.paths.root()).map_err(client_error)?;
        let remote = config.remote().ok_or_else(|| {
            SourceError::new(
                ErrorCode::Unauthorized,
                "handoffs go through a sync server and none is configured; log in first with \
                 `sfs auth login --url <server> --key <sk_sfs_…>`",
            )
        })?;
        RemoteClient::new(&remote).map_err(sync_error)
    }
}

fn client_error(e: ClientError) -> SourceError {
    let code = match &e {
        ClientError::NotFound(_) | ClientError::Ambiguous { .. } => ErrorCode::SessionNotFound,
        ClientError::InvalidSessionId(_) => ErrorCode::InvalidSessionId,
        ClientError::Resume(_) => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    };
    let detail = match &e {
        // The catalogue's message already says what the format is.
        ClientError::InvalidSessionId(bad) => format!("{:?} was given", bad.given),
        _ => e.to_string(),
    };
    // Hints name `sfs` flags; a tool caller has arguments instead.
    let fix = match &e {
        ClientError::Resume(ResumeError::Unsupported { .. }) => {
            Some("set target_tool to claude-code, codex or gemini-cli".to_owned())
        }
        ClientError::Resume(ResumeError::VersionUnreadable { path, .. }) => {
            Some(format!("check that `{} --version` runs", path.display()))
        }
        ClientError::Resume(ResumeError::UnknownVersion { known, package, .. }) => Some(format!(
            "install a known version (`npm install -g {package}@{}`), or run `sfs resume` with --force-version in a \
             terminal",
            known.last().copied().unwrap_or_default()
        )),
        ClientError::Resume(ResumeError::Empty) => Some("pick another session (list_sessions)".to_owned()),
        _ => e.hint(),
    };
    let error = SourceError::new(code, detail);
    match fix {
        Some(fix) => error.with_fix(fix),
        None => error,
    }
}

fn sync_error(e: SyncError) -> SourceError {
    let code = e.code().unwrap_or(ErrorCode::Unavailable);
    // The server's message is "<message>: <detail>. Fix: <fix>"; the tool error adds the message and the fix
    // itself, so only the detail is kept (each is said once).
    let mut detail = e.to_string();
    if let Some(at) = detail.rfind(". Fix: ") {
        detail.truncate(at);
    }
    if let Some(rest) = detail.strip_prefix(code.message()) {
        detail = rest.trim_start_matches(':').trim().to_owned();
    }
    let error = SourceError::new(code, detail);
    match e.hint() {
        Some(hint) => error.with_fix(hint),
        None => error,
    }
}

fn info(r: SessionRow) -> SessionInfo {
    SessionInfo {
        id: r.id.to_string(),
        agent: r.source_tool,
        title: r.title,
        alias: r.alias,
        tags: r.tags,
        project_path: r.project_path,
        model: r.model_id,
        message_count: r.message_count,
        turn_count: r.turn_count,
        tool_call_count: r.tool_use_count,
        created_at: Some(r.created_at).filter(|s| !s.is_empty()),
        updated_at: Some(r.updated_at).filter(|s| !s.is_empty()),
    }
}

fn matches(r: &SessionRow, q: &ListQuery) -> bool {
    if let Some(p) = &q.project
        && !r.project_path.as_deref().is_some_and(|rp| rp.contains(p.as_str()))
    {
        return false;
    }
    if let Some(t) = &q.text {
        let t = t.to_lowercase();
        let hit = r.title.as_deref().is_some_and(|s| s.to_lowercase().contains(&t))
            || r.alias.as_deref().is_some_and(|s| s.to_lowercase().contains(&t))
            || r.tags.iter().any(|s| s.to_lowercase().contains(&t));
        if !hit {
            return false;
        }
    }
    true
}

fn agent(name: &str) -> SourceResult<AgentKind> {
    name.parse().map_err(|_| SourceError::new(ErrorCode::BadRequest, format!("unknown agent {name:?}")))
}

#[async_trait]
impl SessionSource for LocalSource {
    async fn caller(&self, _bearer: Option<&str>) -> SourceResult<Caller> {
        Ok(Caller::local())
    }

    async fn list_sessions(&self, _caller: &Caller, query: &ListQuery) -> SourceResult<SessionPage> {
        let query = query.clone();
        self.blocking(move |this| {
            let store = this.store()?;
            let filter = ListFilter {
                tool: query.agent.as_deref().map(agent).transpose()?,
                since: query.since.clone(),
                limit: None,
            };
            let rows: Vec<SessionRow> =
                store.index().list(&filter).map_err(client_error)?.into_iter().filter(|r| matches(r, &query)).collect();
            let total = rows.len() as u64;
            let size = query.page_size as usize;
            let skip = (query.page.saturating_sub(1) as usize).saturating_mul(size);
            let sessions: Vec<SessionInfo> = rows.into_iter().skip(skip).take(size).map(info).collect();
            let has_more = (skip + sessions.len()) < total as usize;
            Ok(SessionPage { sessions, page: query.page, page_size: query.page_size, total, has_more })
        })
        .await
    }

    async fn search_sessions(
        &self,
        _caller: &Caller,
        query: &str,
        agent_name: Option<&str>,
        limit: u32,
    ) -> SourceResult<Vec<SearchHit>> {
        let query = query.to_owned();
        let tool = agent_name.map(agent).transpose()?;
        self.blocking(move |this| {
            let store = this.store()?;
            let hits = store.index().search(&query, tool, limit as usize).map_err(client_error)?;
            Ok(hits
                .into_iter()
                .map(|h| SearchHit {
                    session_id: h.session_id.to_string(),
                    agent: h.source_tool,
                    title: h.title,
                    msg_id: h.msg_id,
                    role: h.role,
                    snippet: h.snippet,
                })
                .collect())
        })
        .await
    }

    async fn load_session(&self, _caller: &Caller, reference: &str) -> SourceResult<LoadedSession> {
        let reference = reference.to_owned();
        self.blocking(move |this| {
            let store = this.store()?;
            let id = store.index().resolve(&reference).map_err(client_error)?;
            let row = store.index().session(&id).map_err(client_error)?;
            let (_, read) = store.load(&id).map_err(client_error)?;
            let row = row.ok_or_else(|| SourceError::new(ErrorCode::SessionNotFound, id.to_string()))?;
            Ok(LoadedSession { info: info(row), messages: read.messages })
        })
        .await
    }

    async fn write_for_agent(
        &self,
        _caller: &Caller,
        session_id: &str,
        target_tool: &str,
        max_tokens: Option<u64>,
    ) -> SourceResult<ResumeWritten> {
        let session_id = session_id.to_owned();
        let target = agent(target_tool)?;
        self.blocking(move |this| {
            let mut store = this.store()?;
            let id = store.index().resolve(&session_id).map_err(client_error)?;
            let unsupported = || client_error(ResumeError::Unsupported { agent: target.to_string() }.into());
            let info = cli_info(target).ok_or_else(unsupported)?;
            let exe = cli::find(info).map_err(|e| client_error(e.into()))?;
            let version = cli::read_version(info, &exe).map_err(|e| client_error(e.into()))?;
            cli::check_version(info, &version, false).map_err(|e| client_error(e.into()))?;
            let request = ResumeRequest {
                target,
                cli_version: &version,
                project: None,
                current_dir: &this.current_dir,
                home: &this.home,
                max_tokens,
            };
            let r = resume(&mut store, &id, &request).map_err(client_error)?;
            Ok(ResumeWritten {
                agent: r.agent.to_string(),
                native_id: r.native_id.clone(),
                cwd: r.cwd.display().to_string(),
                shell: cli::shell_command_line(&r.cwd, &r.command),
                command: r.command,
                messages: r.messages as u64,
                trimmed: r.trimmed.map(|t| ResumeTrimmed {
                    turns: t.turns as u64,
                    items: t.items as u64,
                    tokens_before: t.tokens_before,
                    tokens_after: t.tokens_after,
                    budget: t.budget,
                }),
            })
        })
        .await
    }

    async fn handoff(
        &self,
        _caller: &Caller,
        session_id: &str,
        email: &str,
        message: Option<&str>,
    ) -> SourceResult<HandoffInfo> {
        let req = CreateHandoffRequest {
            session_id: session_id.to_owned(),
            recipient_email: Some(email.to_owned()),
            message: message.map(str::to_owned),
            ..CreateHandoffRequest::default()
        };
        self.blocking(move |this| Ok(this.remote()?.create_handoff(&req).map_err(sync_error)?.into())).await
    }

    async fn list_handoffs(&self, _caller: &Caller, mailbox: Mailbox) -> SourceResult<Vec<HandoffInfo>> {
        self.blocking(move |this| {
            let list = this.remote()?.handoffs(mailbox == Mailbox::Sent).map_err(sync_error)?;
            Ok(list.handoffs.into_iter().map(HandoffInfo::from).collect())
        })
        .await
    }

    async fn claim_handoff(&self, _caller: &Caller, handoff_id: &str) -> SourceResult<HandoffInfo> {
        let id = handoff_id.to_owned();
        self.blocking(move |this| Ok(this.remote()?.claim(&id).map_err(sync_error)?.into())).await
    }
}
