//! `sfs list`.

use std::process::ExitCode;

use anyhow::Result;
use sessionfs_client::ListFilter;
use sessionfs_shared::{AgentKind, Timestamp};

use crate::context;

/// `--since`, in the canonical UTC form the index compares (the MCP `list_sessions` tool parses it alike).
fn parse_since(s: &str) -> Result<String, String> {
    sessionfs_shared::parse_since(s, Timestamp::now()).map(Timestamp::to_rfc3339).map_err(|e| e.to_string())
}

/// List captured sessions, newest first
#[derive(Debug, clap::Args)]
pub struct List {
    /// Only this agent (claude-code, codex, gemini-cli; also claude, gemini)
    #[arg(long, value_name = "AGENT")]
    tool: Option<AgentKind>,
    /// Only sessions updated since (7d, 12h, 2026-03-20, RFC 3339)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    since: Option<String>,
    /// At most this many sessions
    #[arg(long, short = 'n', default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// Print a JSON array
    #[arg(long)]
    json: bool,
}

impl List {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let filtered = self.tool.is_some() || self.since.is_some();
        let rows = store.index().list(&ListFilter { tool: self.tool, since: self.since, limit: Some(self.limit) })?;
        if self.json {
            super::print_json(&rows)?;
            return Ok(ExitCode::SUCCESS);
        }
        if rows.is_empty() {
            if filtered {
                eprintln!("No session matches --tool/--since; `sfs list` alone lists them all.");
            } else {
                eprintln!("No sessions yet. Run `sfs import`, or `sfs daemon start` to capture as you work.");
            }
            return Ok(ExitCode::SUCCESS);
        }
        outln!("{:<21} {:<11} {:>5}  {:<16}  TITLE", "ID", "AGENT", "MSGS", "UPDATED");
        for r in rows {
            let updated = r.updated_at.get(..16).unwrap_or(&r.updated_at).replace('T', " ");
            let title = r.alias.as_ref().map(|a| format!("[{a}] ")).unwrap_or_default()
                + r.title.as_deref().unwrap_or("(untitled)");
            // A session continued from another (`sfs resume`, a fork) names it.
            let title = match &r.parent_session_id {
                Some(parent) => format!("{} (from {parent})", super::ellipsize(&title, 45)),
                None => title,
            };
            outln!(
                "{:<21} {:<11} {:>5}  {:<16}  {}",
                r.id.as_str(),
                r.source_tool,
                r.message_count,
                updated,
                super::ellipsize(&title, 70)
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
