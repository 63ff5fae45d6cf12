//! The client crate's error type.

use std::path::PathBuf;

use sessionfs_shared::{ErrorCode, InvalidSessionId};

/// Everything that can go wrong in the local store.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", …).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The index database failed.
    #[error("index database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A database file of the store is not one, or is damaged.
    #[error("{} is damaged: {source}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A JSON file is malformed.
    #[error("malformed {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A session reference is not a valid ID.
    #[error(transparent)]
    InvalidSessionId(#[from] InvalidSessionId),
    /// No session matches.
    #[error("no session matches {:?}", sessionfs_shared::terminal::abbreviated(.0))]
    NotFound(String),
    /// Several sessions match a prefix.
    #[error("{:?} matches {} sessions: {}", sessionfs_shared::terminal::abbreviated(given), candidates.len(), candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        given: String,
        /// Some of the matches.
        candidates: Vec<String>,
    },
    /// The daemon could not watch a folder.
    #[error("watching {path}: {source}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: notify::Error,
    },
    /// The config file is malformed.
    #[error("config file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Another daemon holds the store's lock.
    #[error("the daemon is already running (pid {pid}, lock {lock})")]
    AlreadyRunning {
        /// Its pid, as written in the lock file.
        pid: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// A session could not be continued in an agent.
    #[error(transparent)]
    Resume(#[from] sessionfs_agents::ResumeError),
}

impl ClientError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { action, path, source }
    }

    /// The catalogue entry for this error, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::InvalidSessionId(_) => Some(ErrorCode::InvalidSessionId),
            Self::NotFound(_) => Some(ErrorCode::SessionNotFound),
            _ => None,
        }
    }

    /// What the user should do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Ambiguous { .. } => Some("give more characters of the ID, or the whole ID from `sfs list`".into()),
            Self::AlreadyRunning { .. } => Some("see `sfs daemon status`; stop it with `sfs daemon stop`".into()),
            Self::Resume(e) => e.hint(),
            Self::Damaged { .. } => Some(DAMAGED_HINT.into()),
            Self::Config { path, .. } => Some(format!(
                "fix {} by hand, or move it away and sign in again with `sfs auth login` (it holds only the server \
                 and your key)",
                path.display()
            )),
            Self::Sqlite(e) if crate::index::damage::is_damage(e) => Some(DAMAGED_HINT.into()),
            Self::Sqlite(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) => Some(READ_ONLY_HINT.into()),
            Self::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                Some(READ_ONLY_HINT.into())
            }
            Self::Sqlite(e) if e.to_string().contains("locked") => Some(
                "another process holds the index; it usually clears within 5 seconds. If not, check for several daemons with `ps aux | grep sfsd` and run `sfs daemon restart`".into(),
            ),
            _ => self.code().map(|c| c.fix().to_owned()),
        }
    }
}

/// What to do when the store cannot be written.
const READ_ONLY_HINT: &str = "the store (`$SFS_HOME`, default ~/.sessionfs) must be writable by you: check its \
     owner and permissions with `ls -ld`, or point SFS_HOME at a folder you can write";

/// What to do about a damaged index file.
const DAMAGED_HINT: &str = "`sfs doctor --rebuild-index` moves the damaged file aside (to `<file>.damaged`) and builds \
     the index again from the session folders, which it never touches; then `sfs import` picks up what changed since";

/// Results of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_cannot_be_written_says_how_to_fix_it() {
        let read_only = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(8), None);
        assert!(ClientError::Sqlite(read_only).hint().unwrap().contains("writable"));
        let denied = ClientError::io("opening", "/x")(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(denied.hint().unwrap().contains("ls -ld"));
    }
}
