//! `sfs delete` and `sfs restore`. Deletes are sync-aware: the ID goes into `deleted.json`, so neither
//! capture nor autosync brings the session back by itself.

use std::process::ExitCode;

use anyhow::Result;
use sessionfs_client::DeletedList;
use sessionfs_client::sync::SyncError;

use crate::context;

/// Where a delete applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scope {
    /// This machine only
    Local,
    /// The server only (into its trash; the local copy stays)
    Cloud,
    /// Both
    Everywhere,
}

/// Delete a session here, on the server, or both
#[derive(Debug, clap::Args)]
pub struct Delete {
    /// Session ID, unique ID prefix, or alias
    session: String,
    /// Where (default: everywhere when logged in, else local)
    #[arg(long, value_enum)]
    scope: Option<Scope>,
}

/// Bring back a deleted session
#[derive(Debug, clap::Args)]
pub struct Restore {
    /// Session ID (ses_…)
    id: sessionfs_shared::SessionId,
}

impl Delete {
    pub fn run(self) -> Result<ExitCode> {
        let mut store = context::open_store()?;
        let (id, local) = match store.index().resolve(&self.session) {
            Ok(id) => (id, true),
            Err(e) => match sessionfs_shared::SessionId::parse(&self.session) {
                Ok(id) => (id, false), // not local: may still be on the server, or be captured later
                Err(_) => return Err(e.into()),
            },
        };
        let remote = context::remote().ok();
        let scope = self.scope.unwrap_or(if remote.is_some() { Scope::Everywhere } else { Scope::Local });
        if scope != Scope::Local {
            let remote = remote.ok_or(SyncError::NotLoggedIn)?;
            let wire = if scope == Scope::Cloud { "cloud" } else { "everywhere" };
            match remote.delete(id.as_str(), wire) {
                Ok(d) => outln!(
                    "Deleted {id} on the server; it stays in its trash until {}.",
                    d.summary.purge_after.as_deref().unwrap_or("purged")
                ),
                Err(e) if e.status() == Some(410) => outln!("{id} was already in the server's trash."),
                Err(e) if e.status() == Some(404) && scope == Scope::Everywhere => {
                    outln!("{id} is not on the server.")
                }
                Err(e) => return Err(e.into()),
            }
        }
        let wire = match scope {
            Scope::Local => "local",
            Scope::Cloud => "cloud",
            Scope::Everywhere => "everywhere",
        };
        // Marked first: the daemon may capture the session's native file between the two steps.
        DeletedList::mark(&store.paths().deleted_json(), &id, wire, None, None)?;
        if scope != Scope::Cloud {
            store.remove(&id)?;
            if local {
                outln!("Deleted {id} from this machine.");
            } else {
                outln!("{id} is not on this machine; it is marked deleted, so it will not be captured here.");
            }
        }
        outln!("Capture and autosync will not bring it back; `sfs restore {id}` undoes this.");
        Ok(ExitCode::SUCCESS)
    }
}

impl Restore {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        DeletedList::remove(&store.paths().deleted_json(), &self.id)?;
        let local = store.session_dir(&self.id).exists();
        drop(store);
        // Whether the server now holds a live copy to pull.
        let mut on_server = false;
        if let Ok(remote) = context::remote() {
            match remote.restore(self.id.as_str()) {
                Ok(_) => {
                    outln!("Restored {} on the server.", self.id);
                    on_server = true;
                }
                Err(e) if e.status() == Some(409) => {
                    outln!("{} is not deleted on the server.", self.id);
                    on_server = true;
                }
                // Purged, or never pushed (a local delete of a session that only ever lived here): what is
                // left to restore is here, below.
                Err(e) if e.status() == Some(410) => outln!("{} is not on the server, nor in its trash.", self.id),
                Err(e) => return Err(e.into()),
            }
        }
        if !local && on_server {
            let mut syncer = context::syncer()?;
            syncer.pull(&self.id, true)?;
            outln!("Pulled {} back into the local store.", self.id);
        }
        // Whichever copy came back, the agent's files may hold more: what it wrote while the session was
        // deleted (capture does not read a deleted session's files), and what this machine captured and never
        // pushed (a copy pulled from the server lacks it). They are read again whole, and what the copy lacks
        // goes after it.
        let mut capturer = context::capturer()?;
        let mut report = capturer.recapture_restored(&self.id)?;
        if report.is_none() && !local && !on_server {
            // Its files are not where the index last saw them: any file of the agent's may be it.
            report = capturer.import_all(&mut ())?.into_iter().find(|r| r.session_id == self.id);
        }
        match report {
            Some(r) if !local && !on_server => {
                outln!("Captured {} again from the agent's files ({} messages).", self.id, r.new_messages)
            }
            Some(r) if r.new_messages > 0 => outln!(
                "Captured {} message{} the restored copy lacked from the agent's files.",
                r.new_messages,
                if r.new_messages == 1 { "" } else { "s" }
            ),
            Some(_) => {}
            None if !local && !on_server => {
                outln!("{} is no longer in the agent's files; nothing to restore here.", self.id);
                return Ok(ExitCode::FAILURE);
            }
            None => {}
        }
        outln!("{} is no longer excluded from capture and autosync.", self.id);
        Ok(ExitCode::SUCCESS)
    }
}
