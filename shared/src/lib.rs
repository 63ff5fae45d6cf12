//! The vocabulary every SessionFS surface shares: session and handoff IDs, the agent names, the `.sfs`
//! session model (format 0.1.0, read leniently and written strictly), and the catalogue of user-visible
//! errors with their fixes.
//!
//! This crate does no I/O and uses no async runtime, so the dashboard can compile it to wasm32. Anything
//! that touches files, sockets or SQLite belongs in `sessionfs-client` or `sessionfs-server`.
//!
//! Entry points: [`SessionId`], [`AgentKind`], [`sfs::Manifest`], [`sfs::Message`], [`ErrorCode`].
#![warn(missing_docs)]

mod agent_kind;
pub mod api;
#[cfg(feature = "archive")]
pub mod archive;
pub mod error;
mod id;
#[cfg(feature = "redact")]
pub mod redact;
pub mod search;
pub mod sfs;
pub mod size;
pub mod terminal;
mod time;

pub use agent_kind::{AgentKind, EmptyToolName, ToolName, UnknownAgent};
pub use error::ErrorCode;
pub use id::{HandoffId, InvalidHandoffId, InvalidSessionId, SessionId};
pub use time::{InvalidSince, Timestamp, parse_since};
