//! Where things are in a store directory.

use std::path::{Path, PathBuf};

use sessionfs_shared::SessionId;

/// The layout of a store rooted at `$SFS_HOME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePaths {
    root: PathBuf,
}

impl StorePaths {
    /// A store at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$SFS_HOME`, else `~/.sessionfs`.
    pub fn from_env() -> Option<Self> {
        if let Some(dir) = std::env::var_os("SFS_HOME").filter(|v| !v.is_empty()) {
            return Some(Self::new(dir));
        }
        home_dir().map(|h| Self::new(h.join(".sessionfs")))
    }

    /// The store root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `sessions/`.
    pub fn sessions(&self) -> PathBuf {
        self.root.join("sessions")
    }
    /// One session's directory.
    pub fn session(&self, id: &SessionId) -> PathBuf {
        self.sessions().join(id.as_str())
    }
    /// Where imports write new sessions before moving them into `sessions/` (one folder per process).
    pub fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }
    /// The SQLite index.
    pub fn index_db(&self) -> PathBuf {
        self.root.join("index.db")
    }
    /// The full-text index, beside the index.
    pub fn fulltext_db(&self) -> PathBuf {
        self.root.join("fulltext.db")
    }
    /// The sync-aware delete list.
    pub fn deleted_json(&self) -> PathBuf {
        self.root.join("deleted.json")
    }
    /// The daemon's lock (held while it runs; holds its pid).
    pub fn daemon_lock(&self) -> PathBuf {
        self.root.join("sfsd.lock")
    }
    /// The daemon's status, rewritten as it works.
    pub fn daemon_status(&self) -> PathBuf {
        self.root.join("daemon.json")
    }
    /// The daemon's log.
    pub fn daemon_log(&self) -> PathBuf {
        self.root.join("daemon.log")
    }
}

/// An SQLite database in WAL mode and the two files beside it (`-wal`, `-shm`), which go with it wherever it
/// goes: moved aside, removed, or checked.
pub fn sqlite_files(db: &Path) -> [PathBuf; 3] {
    ["", "-wal", "-shm"].map(|suffix| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// The user's home directory: `$HOME` (or `%USERPROFILE%` on Windows).
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")).filter(|v| !v.is_empty()).map(PathBuf::from)
}
