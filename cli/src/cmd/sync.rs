//! `sfs sync`: everything both ways; `sfs sync status|auto|watch|unwatch`: the autosync settings.

use std::process::ExitCode;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use sessionfs_client::sync::{Redactions, SyncProgress, Syncer};
use sessionfs_shared::SessionId;
use sessionfs_shared::api::SyncMode;
use sessionfs_shared::size::human_bytes;

use crate::context;

/// Sync every session both ways, or manage autosync
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Sync {
    #[command(subcommand)]
    action: Option<Action>,
    /// Parallel transfers
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Show the autosync mode, watched sessions and storage used
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Set the autosync mode the daemon follows
    Auto {
        /// off: manual only; all: every session; selective: watched ones
        #[arg(long, value_parser = ["off", "all", "selective"])]
        mode: String,
        /// Seconds a session must be quiet before it is pushed (5 to 300)
        #[arg(long)]
        debounce: Option<u32>,
    },
    /// Autosync this session in selective mode
    Watch {
        /// Session ID
        id: SessionId,
    },
    /// Stop autosyncing this session
    Unwatch {
        /// Session ID
        id: SessionId,
    },
}

struct Bar(ProgressBar);

impl SyncProgress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn done(&self, id: &str) {
        self.0.set_message(id.to_owned());
        self.0.inc(1);
    }
}

impl Sync {
    pub fn run(self) -> Result<ExitCode> {
        let remote = context::remote()?;
        match self.action {
            None => {
                let bar = if self.json { ProgressBar::hidden() } else { ProgressBar::new(0) };
                bar.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} sessions {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                let paths = context::store_paths()?;
                let report = Syncer::sync_all(&paths, &remote, self.workers, &Bar(bar.clone()))?;
                bar.finish_and_clear();
                if self.json {
                    super::print_json(&report)?;
                } else {
                    out!(
                        "Sync complete: {} pushed, {} pulled, {} unchanged",
                        report.pushed,
                        report.pulled,
                        report.unchanged
                    );
                    if report.skipped_deleted > 0 {
                        out!(", {} skipped (deleted)", report.skipped_deleted);
                    }
                    outln!(".");
                    for f in &report.forks {
                        outln!("Diverged turns were kept as fork {f}.");
                    }
                    if !report.redactions.is_empty() {
                        outln!("Redacted before upload: {}.", Redactions(&report.redactions));
                    }
                    for id in &report.too_large {
                        outln!(
                            "{id} is too large for the server; compact it in its agent. It is retried when it changes."
                        );
                    }
                    for (id, err) in &report.failed {
                        eprintln!("failed: {id}: {err}");
                    }
                }
                Ok(if report.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
            }
            Some(Action::Status { json }) => {
                let st = remote.status()?;
                if json || self.json {
                    super::print_json(&st)?;
                } else {
                    outln!("Mode:     {}", st.mode.as_str());
                    outln!(
                        "Sessions: {} on the server, {} watched ({} queued, {} failed)",
                        st.total_sessions,
                        st.watched_sessions,
                        st.queued,
                        st.failed
                    );
                    outln!(
                        "Storage:  {} used{} (deleted sessions not counted)",
                        human_bytes(st.storage_used_bytes),
                        st.storage_quota_bytes.map(|q| format!(" of {}", human_bytes(q))).unwrap_or_default()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Some(Action::Auto { mode, debounce }) => {
                let mode = match mode.as_str() {
                    "all" => SyncMode::All,
                    "selective" => SyncMode::Selective,
                    _ => SyncMode::Off,
                };
                let s = remote.set_settings(mode, debounce)?;
                outln!(
                    "Autosync mode is {} (debounce {} s); a running daemon picks it up within a minute.",
                    s.mode.as_str(),
                    s.debounce_seconds
                );
                Ok(ExitCode::SUCCESS)
            }
            Some(Action::Watch { id }) => {
                remote.watch(id.as_str(), true)?;
                outln!("Watching {id}: in selective mode the daemon syncs it.");
                Ok(ExitCode::SUCCESS)
            }
            Some(Action::Unwatch { id }) => {
                remote.watch(id.as_str(), false)?;
                outln!("No longer watching {id}.");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}
