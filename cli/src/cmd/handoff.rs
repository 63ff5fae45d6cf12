//! `sfs handoff`, `sfs handoff list` and `sfs pull-handoff`: give a session to a teammate, see what was given
//! to you (or by you), and take one given to you.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use sessionfs_client::sync::{PushOutcome, SyncError};
use sessionfs_shared::api::CreateHandoffRequest;
use sessionfs_shared::{HandoffId, SessionId};

use crate::context;

/// Hand a session to a teammate by email, or list your handoffs (`sfs handoff list`)
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, disable_help_subcommand = true)]
pub struct Handoff {
    #[command(subcommand)]
    command: Option<HandoffCommand>,
    /// Session ID, unique ID prefix, or alias
    #[arg(required = true)]
    session: Option<String>,
    /// The teammate's email
    #[arg(long, required = true)]
    to: Option<String>,
    /// A note for them
    #[arg(long, short = 'm')]
    message: Option<String>,
    /// Hours until it expires (1 to 720)
    #[arg(long, default_value_t = 168)]
    expires_hours: u32,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum HandoffCommand {
    /// List the sessions handed to you (your inbox), newest first; claim one with `sfs pull-handoff <hnd_id>`
    List(HandoffList),
}

/// Arguments of `sfs handoff list`.
#[derive(Debug, clap::Args)]
struct HandoffList {
    /// The handoffs you sent instead of your inbox
    #[arg(long)]
    sent: bool,
    /// Print JSON (the server's handoff objects)
    #[arg(long)]
    json: bool,
}

/// Claim a session handed to you and pull your copy
#[derive(Debug, clap::Args)]
pub struct PullHandoff {
    /// The handoff ID (hnd_…), from the email or `sfs handoff list`
    id: HandoffId,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

impl Handoff {
    pub fn run(self) -> Result<ExitCode> {
        let (session, to) = match (self.command, self.session, self.to) {
            (Some(HandoffCommand::List(list)), _, _) => return list.run(),
            (None, Some(session), Some(to)) => (session, to),
            // clap requires both without a subcommand.
            _ => bail!("give the session and --to EMAIL, or run `sfs handoff list`"),
        };
        let mut syncer = context::syncer()?;
        let id = syncer.store().index().resolve(&session)?;
        // The recipient gets the server's copy: bring it up to date first (redacted, merged if needed).
        let pushed = syncer.push(&id, false, false)?;
        if matches!(pushed, PushOutcome::TooLarge { .. } | PushOutcome::DeletedOnServer | PushOutcome::SkippedDeleted) {
            bail!("{}", super::push::describe_push(id.as_str(), &pushed));
        }
        let req = CreateHandoffRequest {
            session_id: id.to_string(),
            recipient_email: Some(to),
            message: self.message,
            expires_in_hours: Some(self.expires_hours),
            ..CreateHandoffRequest::default()
        };
        let h = syncer.remote().create_handoff(&req)?;
        if self.json {
            super::print_json(&h)?;
        } else {
            outln!("Handed {id} to {} (handoff {}, expires {}).", h.recipient_email, h.id, h.expires_at);
            outln!("They can claim it with:  sfs pull-handoff {}", h.id);
        }
        Ok(ExitCode::SUCCESS)
    }
}

impl HandoffList {
    fn run(self) -> Result<ExitCode> {
        let list = context::remote()?.handoffs(self.sent)?;
        if self.json {
            super::print_json(&list.handoffs)?;
            return Ok(ExitCode::SUCCESS);
        }
        if list.handoffs.is_empty() {
            eprintln!("{}", if self.sent { "You have not handed off any session." } else { "No handoffs for you." });
            return Ok(ExitCode::SUCCESS);
        }
        let who = if self.sent { "TO" } else { "FROM" };
        outln!("{:<20} {:<8} {:<17} {:<28} TITLE", "HANDOFF", "STATUS", "EXPIRES (UTC)", who);
        for h in &list.handoffs {
            let other = if self.sent { &h.recipient_email } else { &h.sender_email };
            outln!(
                "{:<20} {:<8} {:<17} {:<28} {}",
                h.id,
                h.status,
                // RFC 3339 to the minute is enough to see what is about to expire.
                h.expires_at.get(..16).unwrap_or(&h.expires_at).replace('T', " "),
                super::ellipsize(other, 28),
                super::ellipsize(h.session_title.as_deref().unwrap_or("(untitled)"), 50)
            );
        }
        if !self.sent && list.handoffs.iter().any(|h| h.status == "pending") {
            outln!("Claim one (your own copy, pulled here) with:  sfs pull-handoff <HANDOFF>");
        }
        Ok(ExitCode::SUCCESS)
    }
}

impl PullHandoff {
    pub fn run(self) -> Result<ExitCode> {
        let mut syncer = context::syncer()?;
        let remote = syncer.remote().clone();
        let h = remote.handoff(self.id.as_str()).with_context(|| format!("reading handoff {}", self.id))?;
        let claimed = match remote.claim(self.id.as_str()) {
            Ok(c) => c,
            // Already claimed (by this account, earlier): carry on with the copy it made.
            Err(e @ SyncError::Api { status: 409, .. }) => match remote.handoff(self.id.as_str())? {
                again if again.recipient_session_id.is_some() => again,
                _ => return Err(e.into()),
            },
            Err(e) => return Err(e.into()),
        };
        let copy = claimed.recipient_session_id.clone().context("the server did not say which session is your copy")?;
        let copy = SessionId::parse(&copy)?;
        let outcome = syncer.pull(&copy, true)?;
        if self.json {
            super::print_json(&serde_json::json!({ "handoff": claimed, "session_id": copy, "pull": outcome }))?;
        } else {
            outln!("Claimed {} from {}: your copy is {copy}.", h.id, h.sender_email);
            if let Some(m) = &h.message {
                outln!("Their note: {m}");
            }
            outln!("Continue it with:  sfs resume {copy}");
        }
        Ok(ExitCode::SUCCESS)
    }
}
