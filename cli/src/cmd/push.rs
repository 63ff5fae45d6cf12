//! `sfs push` and `sfs pull`: one session to or from the server.

use std::process::ExitCode;

use anyhow::Result;
use sessionfs_client::sync::{PullOutcome, PushOutcome, Redactions};
use sessionfs_shared::SessionId;
use sessionfs_shared::size::human_bytes;

use crate::context;

/// Upload a session to the server (merging if it changed there)
#[derive(Debug, clap::Args)]
pub struct Push {
    /// Session ID, unique ID prefix, or alias
    session: String,
    /// Push even if nothing changed since the last sync
    #[arg(long)]
    force: bool,
    /// Bring back a session that was deleted on the server
    #[arg(long)]
    undelete: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Download a session from the server (merging with local changes)
#[derive(Debug, clap::Args)]
pub struct Pull {
    /// Session ID (ses_…)
    id: SessionId,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn describe_push(id: &str, o: &PushOutcome) -> String {
    match o {
        PushOutcome::Pushed { created, etag, bytes, redactions } => {
            let verb = if *created { "Created" } else { "Updated" };
            let mut s = format!(
                "{verb} remote session {id} (etag {}…, {}).",
                etag.get(..12).unwrap_or(etag),
                human_bytes(*bytes)
            );
            if !redactions.is_empty() {
                s.push_str(&format!(" Redacted before upload: {}.", Redactions(redactions)));
            }
            s
        }
        PushOutcome::Unchanged => format!("{id} is already in step with the server."),
        PushOutcome::FastForwarded { .. } => {
            format!("The server had newer turns of {id}; the local copy was updated to them (nothing lost).")
        }
        PushOutcome::Merged { .. } => {
            format!("The server's copy of {id} had changed; your copy extends it and was pushed on top (nothing lost).")
        }
        PushOutcome::Forked { fork_id, .. } => format!(
            "{id} diverged between machines: the server's copy is now {id}, and your local turns were kept as the fork {fork_id} (pushed too)."
        ),
        PushOutcome::SkippedDeleted => {
            format!("{id} is deleted (deleted.json); push it with --undelete to bring it back.")
        }
        PushOutcome::DeletedOnServer => format!(
            "{id} was deleted on the server; it was not pushed. Use `sfs push {id} --undelete` to bring it back."
        ),
        PushOutcome::TooLarge { message } => {
            let mut s = format!("{id} is too large for the server: {}.", message.trim_end_matches('.'));
            // The client's own size check ends with the catalogue's fix (compact, or raise the limit), and a
            // session excluded before says when it is retried: each piece of advice is given once.
            if !message.contains("/compact") {
                s.push_str(" Compact the session in its agent (/compact).");
            }
            if !message.contains("retried when it changes") {
                s.push_str(" It is retried when it changes.");
            }
            s
        }
    }
}

impl Push {
    pub fn run(self) -> Result<ExitCode> {
        let mut syncer = context::syncer()?;
        let id = syncer.store().index().resolve(&self.session)?;
        let outcome = syncer.push(&id, self.force, self.undelete)?;
        if self.json {
            super::print_json(&serde_json::json!({ "session_id": id, "result": outcome }))?;
        } else {
            outln!("{}", describe_push(id.as_str(), &outcome));
        }
        Ok(if matches!(outcome, PushOutcome::TooLarge { .. } | PushOutcome::DeletedOnServer) {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
}

impl Pull {
    pub fn run(self) -> Result<ExitCode> {
        let mut syncer = context::syncer()?;
        let outcome = syncer.pull(&self.id, true)?;
        if self.json {
            super::print_json(&serde_json::json!({ "session_id": self.id, "result": outcome }))?;
            return Ok(ExitCode::SUCCESS);
        }
        match &outcome {
            PullOutcome::Pulled { created: true, .. } => outln!("Pulled {} into the local store.", self.id),
            PullOutcome::Pulled { .. } => outln!("Updated {} from the server.", self.id),
            PullOutcome::UpToDate => outln!("{} is up to date.", self.id),
            PullOutcome::LocalAhead { local_only, .. } => outln!(
                "{} here has {local_only} message(s) the server's copy lacks; they were kept. `sfs push {}` (or `sfs sync`) sends them.",
                self.id,
                self.id
            ),
            PullOutcome::SkippedDeleted => outln!("{} is deleted locally.", self.id),
            PullOutcome::Resolved(o) => outln!("{}", describe_push(self.id.as_str(), o)),
        }
        Ok(ExitCode::SUCCESS)
    }
}
