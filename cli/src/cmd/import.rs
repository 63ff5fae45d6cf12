//! `sfs import`: one scan of every agent's session folders.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use sessionfs_client::{CaptureReport, DeletedList, ImportProgress};

use crate::context;

/// Capture every supported agent's sessions once
#[derive(Debug, clap::Args)]
pub struct Import {
    /// Print a JSON summary instead of text
    #[arg(long)]
    json: bool,
}

struct Bar(ProgressBar);

impl ImportProgress for Bar {
    fn start(&mut self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&mut self, path: &Path, _: Option<&CaptureReport>) {
        self.0.set_message(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        self.0.inc(1);
    }
}

impl Import {
    pub fn run(self) -> Result<ExitCode> {
        let mut capturer = context::capturer()?;
        let bar = if self.json { ProgressBar::hidden() } else { ProgressBar::new(0) };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} files {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let mut reports = capturer.import_all(&mut Bar(bar.clone()))?;
        bar.finish_and_clear();
        // A deleted session's files are still read (and reported) but nothing of them is stored: only the
        // sessions actually written count.
        let deleted = DeletedList::load(&capturer.store().paths().deleted_json());
        reports.retain(|r| !deleted.contains(&r.session_id));
        let sessions = reports.len();
        let messages: u64 = reports.iter().map(|r| r.new_messages).sum();
        let skipped: u64 = reports.iter().map(|r| r.skipped).sum();
        let health = capturer.store().index().agent_health()?;
        if self.json {
            super::print_json(&serde_json::json!({
                "sessions_updated": sessions, "new_messages": messages, "records_skipped": skipped, "agents": health,
            }))?;
        } else {
            outln!("Captured {sessions} session(s), {messages} new message(s).");
            for h in &health {
                outln!("  {:<12} {} session(s) from {} file(s)", h.agent, h.sessions, h.files);
            }
            if skipped > 0 {
                outln!("{skipped} record(s) could not be parsed and were skipped; see `sfs doctor`.");
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
