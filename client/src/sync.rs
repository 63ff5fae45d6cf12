//! Syncing the local store with a SessionFS server: push, pull, full sync, conflict resolution that never
//! loses messages, and the daemon's autosync. Secrets are redacted from everything that leaves the
//! machine ([`crate::redact`]); deleted sessions (`deleted.json`) are skipped in both directions.

mod autosync;
mod engine;
mod pack;
mod remote;

use std::fmt;

pub use autosync::{AutoSync, AutoSyncConfig};
pub use engine::{PullOutcome, PushOutcome, SyncProgress, SyncReport, Syncer};
pub use pack::{PackedSession, pack_session};
pub use remote::{Pulled, RemoteClient};
use serde_json::{Map, Value};
use sessionfs_shared::ErrorCode;

use crate::error::ClientError;

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No server configured.
    #[error("not logged in to a sync server")]
    NotLoggedIn,
    /// A URL that would send the key in the clear.
    #[error("{url:?} is not allowed: use https:// (plain http:// only for localhost)")]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The server answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Catalogue code, when known.
        code: Option<ErrorCode>,
        /// The server's message (it says how to fix it).
        message: String,
        /// Envelope details (`current_etag`, limits, …).
        details: Map<String, Value>,
        /// `Retry-After`, when sent.
        retry_after: Option<String>,
    },
    /// The server could not be reached (no connection, or no answer in time). The cause's whole chain is
    /// in `reason` and not exposed as a source, so a report that walks the chain says it once.
    #[error("cannot reach {url}: {reason}")]
    Transport {
        /// The server.
        url: String,
        /// What the connection said, causes included.
        reason: String,
    },
    /// The connection broke while a request or its answer was on the wire, after every retry. A server that
    /// refuses a request before reading its body (a rate limit, an upload limit) closes it this way.
    #[error("the server at {url} closed the connection during the request, {attempts} times: {reason}")]
    Interrupted {
        /// The server.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// What the connection said, causes included.
        reason: String,
    },
    /// The server answered with something this client cannot read.
    #[error("the answer from {url} could not be read: {reason}")]
    BadResponse {
        /// The server.
        url: String,
        /// Why.
        reason: String,
    },
    /// The push would take the account over its storage quota (413 `quota_exceeded`). Not a size problem of
    /// the session: it goes through once there is room.
    #[error("{message}")]
    QuotaExceeded {
        /// The server's message (used, quota, needed).
        message: String,
        /// Envelope details (`storage_used_bytes`, `storage_quota_bytes`).
        details: Map<String, Value>,
    },
    /// An archive from the server is unsafe or malformed.
    #[error("the archive for {id} is refused: {reason}")]
    Archive {
        /// The session.
        id: String,
        /// Why.
        reason: String,
    },
    /// The local store failed.
    #[error(transparent)]
    Local(#[from] ClientError),
}

impl SyncError {
    /// The catalogue code, when the server sent one (or for a missing login).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            // The original server's codes are mostly the bare status ("401"); fall back on the status.
            Self::Api { code: Some(c), .. } => Some(*c),
            Self::Api { status, details, .. } => match status {
                401 => Some(ErrorCode::Unauthorized),
                404 => Some(ErrorCode::SessionNotFound),
                409 if details.contains_key("current_etag") => Some(ErrorCode::EtagMismatch),
                409 => Some(ErrorCode::Conflict),
                410 => Some(ErrorCode::SessionDeleted),
                413 => Some(ErrorCode::RequestEntityTooLarge),
                429 => Some(ErrorCode::RateLimited),
                _ => None,
            },
            Self::NotLoggedIn => Some(ErrorCode::Unauthorized),
            Self::QuotaExceeded { .. } => Some(ErrorCode::QuotaExceeded),
            Self::Local(e) => e.code(),
            _ => None,
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            Self::QuotaExceeded { .. } => Some(ErrorCode::QuotaExceeded.status()),
            _ => None,
        }
    }

    /// The server's current ETag in a 409.
    pub fn current_etag(&self) -> Option<&str> {
        match self {
            Self::Api { details, .. } => details.get("current_etag").and_then(Value::as_str),
            _ => None,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotLoggedIn => Some("run `sfs auth login --url <server> --key <sk_sfs_…>`".into()),
            Self::InsecureUrl { .. } => Some("use the server's https:// address".into()),
            Self::Transport { .. } => {
                Some("check the URL with `sfs auth status` and that the server is up (its /healthz)".into())
            }
            Self::Interrupted { .. } => Some(
                "the server may have refused it before reading it (rate limit or upload size): wait a minute and run \
                 `sfs sync` again; if it keeps happening, check the server's log"
                    .into(),
            ),
            Self::BadResponse { .. } => {
                Some("check that the URL in `sfs auth status` is a SessionFS server, not a proxy's page".into())
            }
            // The server's message usually says the fix already ("… Fix: …"): not twice.
            Self::Api { message, .. } | Self::QuotaExceeded { message, .. } => {
                self.code().map(ErrorCode::fix).filter(|fix| !message.contains(fix)).map(str::to_owned)
            }
            Self::Archive { .. } => {
                Some("the server's copy is damaged or hostile; it was not written to your store".into())
            }
            Self::Local(e) => e.hint(),
        }
    }
}

/// A short human line for a redaction summary.
pub struct Redactions<'a>(pub &'a std::collections::BTreeMap<&'static str, usize>);

impl fmt::Display for Redactions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, n)| format!("{n} {k}")).collect();
        f.write_str(&parts.join(", "))
    }
}
