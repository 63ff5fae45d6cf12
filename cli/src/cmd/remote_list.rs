//! `sfs list-remote`: the sessions on the server.

use std::process::ExitCode;

use anyhow::Result;
use sessionfs_shared::size::human_bytes;

use crate::context;

/// List the sessions on the server
#[derive(Debug, clap::Args)]
pub struct ListRemote {
    /// The trash instead of live sessions
    #[arg(long)]
    deleted: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

impl ListRemote {
    pub fn run(self) -> Result<ExitCode> {
        let remote = context::remote()?;
        let store = context::open_store()?;
        let mut sessions = Vec::new();
        let mut page = 1;
        loop {
            let p = remote.list(page, 100, self.deleted)?;
            sessions.extend(p.sessions);
            if !p.has_more {
                break;
            }
            page += 1;
        }
        if self.json {
            super::print_json(&sessions)?;
            return Ok(ExitCode::SUCCESS);
        }
        if sessions.is_empty() {
            eprintln!("No sessions on the server{}.", if self.deleted { " in the trash" } else { "" });
            return Ok(ExitCode::SUCCESS);
        }
        outln!("{:<21} {:<11} {:>5} {:>9} {:<5}  TITLE", "ID", "AGENT", "MSGS", "SIZE", "LOCAL");
        for s in sessions {
            let local =
                sessionfs_shared::SessionId::parse(&s.id).ok().is_some_and(|id| store.session_dir(&id).exists());
            outln!(
                "{:<21} {:<11} {:>5} {:>9} {:<5}  {}",
                s.id,
                s.source_tool,
                s.message_count,
                human_bytes(s.blob_size_bytes),
                if local { "yes" } else { "no" },
                super::ellipsize(s.title.as_deref().unwrap_or("(untitled)"), 60)
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
