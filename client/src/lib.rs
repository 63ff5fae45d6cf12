//! The SessionFS local store and what keeps it current.
//!
//! A store lives at `$SFS_HOME` (default `~/.sessionfs`): one `.sfs` directory per session under
//! `sessions/`; `index.db`, an SQLite index (WAL, `busy_timeout` 5000 ms) that the daemon and the CLI share;
//! and `fulltext.db` beside it, the full-text index over message text (FTS5, see `index/fulltext.rs`).
//! [`Capturer`] turns agents' native files into sessions incrementally: an appended native file costs work in
//! proportion to what was appended. [`daemon::run`] watches the agents' folders and captures as they change.
//!
//! The store API is synchronous (rusqlite); async callers wrap it in `spawn_blocking`.
//!
//! Entry points: [`Store`], [`Index`], [`Capturer`], [`daemon::run`].

mod capture;
pub mod config;
pub mod daemon;
mod deleted;
mod error;
pub mod index;
pub mod mcp_source;
pub mod paths;
pub use sessionfs_shared::redact;
pub mod resume;
mod session_dir;
mod store;
pub mod sync;

pub use capture::{CaptureReport, Capturer, ImportProgress};
pub use config::{ClientConfig, Remote};
pub use deleted::DeletedList;
pub use error::{ClientError, Result};
pub use index::{AgentHealth, Index, ListFilter, ResumeRecord, SearchHit, SessionRow};
pub use mcp_source::LocalSource;
pub use paths::StorePaths;
pub use redact::{Finding, Redactor};
pub use session_dir::{MessagesRead, SessionDir};
pub use store::{RebuildReport, Store};
