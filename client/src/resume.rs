//! Continuing a captured session in an agent: pick the working folder, reduce and trim the conversation,
//! write it as a new native session of the target (checked by reading it back), and record the resume in
//! the index so capture links the native session to the session it continues.
//!
//! Finding the agent's program and checking its version is the caller's part
//! ([`sessionfs_agents::resume::cli`]); launching it too.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sessionfs_agents::resume::{Conversation, Registration, Trimmed, WriteRequest, new_native_id, trim, write_checked};
use sessionfs_agents::{AgentDirs, ResumeError, for_kind};
use sessionfs_shared::sfs::{Workspace, files};
use sessionfs_shared::{AgentKind, SessionId, Timestamp};

use crate::error::Result;
use crate::index::{ResumeRecord, write};
use crate::store::Store;

/// What to resume, where.
#[derive(Debug, Clone)]
pub struct ResumeRequest<'a> {
    /// The agent to continue in.
    pub target: AgentKind,
    /// Its installed version (checked by the caller).
    pub cli_version: &'a str,
    /// `--project`: the folder to continue in, overriding the session's own.
    pub project: Option<&'a Path>,
    /// The current folder: the fallback when the session's folder does not exist here.
    pub current_dir: &'a Path,
    /// The home folder holding the agents' folders (`$HOME`; the agents' own variables, such as `CODEX_HOME`,
    /// move them as they move the agents' own).
    pub home: &'a Path,
    /// `--max-tokens`: the budget for the conversation; the target's context window when `None`.
    pub max_tokens: Option<u64>,
}

/// What a resume wrote; the `sfs resume --no-launch --json` object.
#[derive(Debug, Clone, Serialize)]
pub struct Resumed {
    /// The session continued.
    pub session_id: SessionId,
    /// The agent it continues in.
    pub agent: AgentKind,
    /// The agent's ID of the new native session.
    pub native_id: String,
    /// The folder to run the agent in.
    pub cwd: PathBuf,
    /// Why `cwd` is not the session's own folder, when it is not.
    pub cwd_note: Option<String>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Entries made in the agent's own indexes.
    pub registrations: Vec<Registration>,
    /// The command (argv) that continues the session, run in `cwd`.
    pub command: Vec<String>,
    /// Messages the agent will read.
    pub messages: usize,
    /// What trimming dropped, when the session was over the budget (`items` 0: nothing could be dropped).
    pub trimmed: Option<Trimmed>,
}

/// The folder to continue in: `--project` when given, else the session's own folder when it exists on
/// this machine, else the current folder, with a one-line note saying so. Symlinks are resolved, as the
/// agents resolve them to file their sessions.
pub fn working_dir(
    recorded: Option<&str>,
    project: Option<&Path>,
    current: &Path,
) -> Result<(PathBuf, Option<String>)> {
    let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    if let Some(p) = project {
        let p = if p.is_absolute() { p.to_owned() } else { current.join(p) };
        if !p.is_dir() {
            return Err(ResumeError::ProjectMissing { path: p }.into());
        }
        return Ok((resolve(&p), None));
    }
    match recorded.filter(|r| !r.is_empty()) {
        Some(r) if Path::new(r).is_dir() => Ok((resolve(Path::new(r)), None)),
        Some(r) => {
            let cwd = resolve(current);
            let note = format!(
                "the session's folder {r} does not exist on this machine; continuing in the current folder {}",
                cwd.display()
            );
            Ok((cwd, Some(note)))
        }
        None => {
            let cwd = resolve(current);
            Ok((
                cwd.clone(),
                Some(format!("the session recorded no folder; continuing in the current folder {}", cwd.display())),
            ))
        }
    }
}

/// Write session `id` into `request.target`, check it, and record the resume.
pub fn resume(store: &mut Store, id: &SessionId, request: &ResumeRequest<'_>) -> Result<Resumed> {
    let (manifest, read) = store.load(id)?;
    let workspace: Option<Workspace> = store.session_dir(id).read_json(files::WORKSPACE).ok().flatten();
    let recorded = match &workspace {
        Some(w) => Some(w.root_path.clone()),
        None => store.index().session(id)?.and_then(|r| r.project_path),
    };
    let (cwd, cwd_note) = working_dir(recorded.as_deref(), request.project, request.current_dir)?;
    let agent = for_kind(request.target).ok_or(ResumeError::Unsupported { agent: request.target.to_string() })?;
    let writer = agent.writer().ok_or(ResumeError::Unsupported { agent: request.target.to_string() })?;

    let mut conversation = Conversation::from_messages(manifest.source.tool.canonical(), &read.messages);
    if conversation.items.is_empty() {
        return Err(ResumeError::Empty.into());
    }
    let budget = request.max_tokens.unwrap_or_else(|| writer.cli().conversation_budget());
    let trimmed = trim(&mut conversation, budget);
    // Git facts belong to the session's own folder only.
    let same_folder = recorded.as_deref().is_some_and(|r| std::fs::canonicalize(r).is_ok_and(|r| r == cwd));
    let git = workspace.as_ref().and_then(|w| w.git.as_ref()).filter(|_| same_folder);

    let now = Timestamp::now();
    let native_id = new_native_id(request.target, now);
    let mut record = ResumeRecord {
        native_path: None,
        agent: request.target.as_str().to_owned(),
        native_id: native_id.clone(),
        origin_session_id: id.clone(),
        written_messages: 0,
        created_at: now.to_rfc3339(),
    };
    // Recorded first: a daemon that captures the file the moment it appears already sees the link.
    let tx = store.index_mut().write()?;
    write::record_resume(&tx, &record)?;
    tx.commit()?;

    // Written where the agent, started from this environment, looks for it.
    let dirs = AgentDirs::from_env(request.home);
    let write_request = WriteRequest {
        native_id: &native_id,
        conversation: &conversation,
        title: manifest.title.as_deref(),
        cwd: &cwd,
        dirs: &dirs,
        cli_version: request.cli_version,
        git,
        now,
    };
    let written = match write_checked(agent.as_ref(), &write_request) {
        Ok(w) => w,
        Err(e) => {
            let tx = store.index_mut().write()?;
            write::forget_resume(&tx, record.agent.as_str(), &native_id)?;
            tx.commit()?;
            return Err(e.into());
        }
    };
    record.native_path = Some(written.main_file.to_string_lossy().into_owned());
    record.written_messages = written.expected.len() as u64;
    let tx = store.index_mut().write()?;
    write::record_resume(&tx, &record)?;
    tx.commit()?;

    Ok(Resumed {
        session_id: id.clone(),
        agent: request.target,
        native_id: written.native_id,
        cwd,
        cwd_note,
        files: written.files,
        registrations: written.registrations,
        command: written.launch,
        messages: written.expected.len(),
        trimmed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sessions_own_folder_when_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own");
        std::fs::create_dir(&own).unwrap();
        let (cwd, note) = working_dir(Some(own.to_str().unwrap()), None, dir.path()).unwrap();
        assert_eq!(cwd, std::fs::canonicalize(&own).unwrap());
        assert_eq!(note, None);
    }

    #[test]
    fn the_current_folder_with_a_note_when_it_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (cwd, note) = working_dir(Some("/no/such/folder/anywhere"), None, dir.path()).unwrap();
        assert_eq!(cwd, std::fs::canonicalize(dir.path()).unwrap());
        let note = note.unwrap();
        assert!(note.contains("/no/such/folder/anywhere") && note.contains("current folder"), "{note}");
        assert!(!note.contains('\n'), "one line");
        let (_, note) = working_dir(None, None, dir.path()).unwrap();
        assert!(note.unwrap().contains("recorded no folder"));
    }

    #[test]
    fn project_overrides_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own");
        let other = dir.path().join("other");
        std::fs::create_dir(&own).unwrap();
        std::fs::create_dir(&other).unwrap();
        let (cwd, note) = working_dir(Some(own.to_str().unwrap()), Some(Path::new("other")), dir.path()).unwrap();
        assert_eq!((cwd, note), (std::fs::canonicalize(&other).unwrap(), None));
        let err = working_dir(None, Some(Path::new("missing")), dir.path()).unwrap_err();
        assert!(err.to_string().contains("missing: no such folder"), "{err}");
        assert!(err.hint().is_some());
    }
}
