//! `daemon.json`: what the running daemon is doing, for `sfs daemon status` and `sfs doctor`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::DaemonConfig;
use crate::error::{ClientError, Result};
use crate::paths::StorePaths;
use crate::session_dir::write_atomic;

/// One watched agent folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedRoot {
    /// The agent.
    pub agent: String,
    /// The folder.
    pub path: PathBuf,
    /// False while the folder does not exist (the daemon checks again every second).
    pub watching: bool,
}

/// The status file's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// The daemon's pid.
    pub pid: u32,
    /// When it started.
    pub started_at: String,
    /// Its version.
    pub version: String,
    /// The store.
    pub store: PathBuf,
    /// Whose agent folders it watches.
    pub home: PathBuf,
    /// The agent folders.
    pub roots: Vec<WatchedRoot>,
    /// File events received.
    pub events: u64,
    /// Captures done.
    pub captures: u64,
    /// Failures (watch errors, failed captures).
    pub errors: u64,
    /// The last capture.
    pub last_capture_at: Option<String>,
    /// Background sync with the configured server runs.
    #[serde(default)]
    pub autosync: bool,
    /// The index schema it writes ([`crate::index::SCHEMA_VERSION`]); 0 from daemons older than the field.
    #[serde(default)]
    pub index_schema: i64,
}

impl DaemonStatus {
    pub(super) fn new(config: &DaemonConfig) -> Self {
        Self {
            pid: std::process::id(),
            started_at: sessionfs_shared::Timestamp::now().to_rfc3339(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            store: config.paths.root().to_owned(),
            home: config.home.clone(),
            roots: Vec::new(),
            events: 0,
            captures: 0,
            errors: 0,
            last_capture_at: None,
            autosync: false,
            index_schema: crate::index::SCHEMA_VERSION,
        }
    }

    pub(super) fn write(&self, paths: &StorePaths) -> Result<()> {
        let path = paths.daemon_status();
        let bytes =
            serde_json::to_vec_pretty(self).map_err(|source| ClientError::Json { path: path.clone(), source })?;
        write_atomic(&path, &bytes)
    }

    /// Read the status file, if there is one.
    pub fn read(paths: &StorePaths) -> Option<Self> {
        let bytes = std::fs::read(paths.daemon_status()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

pub(super) fn remove(paths: &StorePaths) {
    let _ = std::fs::remove_file(paths.daemon_status());
}
