//! One module per subcommand; each has an `Args` struct and a `run`.

mod auth;
mod daemon;
mod delete;
mod doctor;
mod export;
mod handoff;
mod import;
mod list;
mod mcp;
mod push;
mod remote_list;
mod resume;
mod search;
mod show;
mod storage;
mod sync;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

/// The subcommands of `sfs`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Capture every supported agent's sessions once
    Import(import::Import),
    /// Run, stop and inspect the capture daemon (sfsd)
    #[command(subcommand)]
    Daemon(daemon::Daemon),
    /// List captured sessions, newest first
    List(list::List),
    /// Show a session: its manifest and conversation
    Show(show::Show),
    /// Search message text of every session
    Search(search::Search),
    /// Write a session out as .sfs, Markdown or JSON
    Export(export::Export),
    /// Continue a session in Claude Code, Codex or Gemini CLI
    Resume(resume::Resume),
    /// Show local disk use per agent
    Storage(storage::Storage),
    /// Check the store, the index and each agent's capture
    Doctor(doctor::Doctor),
    /// Log in to a sync server, sign up, show or forget the login
    #[command(subcommand)]
    Auth(auth::Auth),
    /// Upload a session to the server (merging if it changed there)
    Push(push::Push),
    /// Download a session from the server (merging with local changes)
    Pull(push::Pull),
    /// Sync every session both ways, or manage autosync
    Sync(sync::Sync),
    /// List the sessions on the server
    ListRemote(remote_list::ListRemote),
    /// Hand a session to a teammate by email, or list your handoffs (`sfs handoff list`)
    Handoff(handoff::Handoff),
    /// Claim a session handed to you and pull your copy
    PullHandoff(handoff::PullHandoff),
    /// Delete a session here, on the server, or both
    Delete(delete::Delete),
    /// Bring back a deleted session
    Restore(delete::Restore),
    /// Serve sessions to agents over MCP (stdio), or add SessionFS to an agent's MCP settings
    #[command(subcommand)]
    Mcp(mcp::Mcp),
}

impl Command {
    pub fn run(self) -> Result<ExitCode> {
        match self {
            Self::Import(c) => c.run(),
            Self::Daemon(c) => c.run(),
            Self::List(c) => c.run(),
            Self::Show(c) => c.run(),
            Self::Search(c) => c.run(),
            Self::Export(c) => c.run(),
            Self::Resume(c) => c.run(),
            Self::Storage(c) => c.run(),
            Self::Doctor(c) => c.run(),
            Self::Auth(c) => c.run(),
            Self::Push(c) => c.run(),
            Self::Pull(c) => c.run(),
            Self::Sync(c) => c.run(),
            Self::ListRemote(c) => c.run(),
            Self::Handoff(c) => c.run(),
            Self::PullHandoff(c) => c.run(),
            Self::Delete(c) => c.run(),
            Self::Restore(c) => c.run(),
            Self::Mcp(c) => c.run(),
        }
    }
}

/// Print a value as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Cut `s` to `max` characters with an ellipsis.
fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis() {
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("ab", 4), "ab");
    }
}
