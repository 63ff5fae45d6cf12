//! The `.sfs` session format, version 0.1.0 (compatible with the original's spec): a directory holding
//! `manifest.json`, `messages.jsonl`, and optionally `workspace.json` and `tools.json`.
//!
//! Reading is lenient (real stores hold variants: `id` for `tool_use_id`, list-valued tool results, missing
//! timestamps); writing is strict and canonical. Unknown keys are kept in `extra` and written back, so a
//! session round-trips through this model without losing anything.

mod manifest;
mod message;
mod workspace;

pub use manifest::{Manifest, ModelInfo, SessionStats, Source, SubAgent, SyncState};
pub use message::{Block, ImageSource, Message, Role, Usage};
pub use workspace::{GitInfo, Tools, Workspace};

/// The format version this crate reads and writes.
pub const SFS_VERSION: &str = "0.1.0";
/// The converter version stamped into `source.sfs_converter_version`.
pub const CONVERTER_VERSION: &str = "0.1.0";

/// File names inside a `.sfs` directory.
pub mod files {
    /// Identity, provenance, stats, sync state.
    pub const MANIFEST: &str = "manifest.json";
    /// One message per line.
    pub const MESSAGES: &str = "messages.jsonl";
    /// Root path, git, files touched.
    pub const WORKSPACE: &str = "workspace.json";
    /// Tools used, shell configuration.
    pub const TOOLS: &str = "tools.json";
}

/// A JSON object of keys this model does not name; kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_false_is_the_negation() {
        assert!(super::is_false(&false));
        assert!(!super::is_false(&true));
    }
}
