//! `sfs storage`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use sessionfs_client::ListFilter;
use sessionfs_shared::size::human_bytes;

use crate::context;

/// Show local disk use per agent
#[derive(Debug, clap::Args)]
pub struct Storage {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Default, Serialize)]
struct AgentUse {
    sessions: u64,
    messages: u64,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    store: String,
    sessions: u64,
    session_bytes: u64,
    index_bytes: u64,
    total_bytes: u64,
    agents: BTreeMap<String, AgentUse>,
}

impl Storage {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let rows = store.index().list(&ListFilter::default())?;
        let mut agents: BTreeMap<String, AgentUse> = BTreeMap::new();
        for r in &rows {
            let a = agents.entry(r.source_tool.clone()).or_default();
            a.sessions += 1;
            a.messages += r.message_count;
            a.bytes += r.size_bytes;
        }
        let session_bytes: u64 = agents.values().map(|a| a.bytes).sum();
        let index_bytes: u64 = [store.paths().index_db(), store.paths().fulltext_db()]
            .iter()
            .flat_map(|db| ["", "-wal", "-shm"].map(|s| format!("{}{s}", db.display())))
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let report = Report {
            store: store.paths().root().display().to_string(),
            sessions: rows.len() as u64,
            session_bytes,
            index_bytes,
            total_bytes: session_bytes + index_bytes,
            agents,
        };
        if self.json {
            super::print_json(&report)?;
            return Ok(ExitCode::SUCCESS);
        }
        outln!("Local storage at {}", report.store);
        outln!("{:<12} {:>9} {:>10} {:>10}", "AGENT", "SESSIONS", "MESSAGES", "SIZE");
        for (name, a) in &report.agents {
            outln!("{:<12} {:>9} {:>10} {:>10}", name, a.sessions, a.messages, human_bytes(a.bytes));
        }
        outln!("{:<12} {:>9} {:>10} {:>10}", "index", "", "", human_bytes(report.index_bytes));
        outln!("{:<12} {:>9} {:>10} {:>10}", "total", report.sessions, "", human_bytes(report.total_bytes));
        Ok(ExitCode::SUCCESS)
    }
}
