//! `workspace.json` and `tools.json`: where the session ran and with which tools.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// Git state of the working directory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GitInfo {
    /// Remote URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    /// Branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// HEAD commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `workspace.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Workspace {
    /// The session's working directory (absolute).
    #[serde(default)]
    pub root_path: String,
    /// Git state, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// Files the session referenced (relative paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Value>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tools.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tools {
    /// Names of the tools the session called, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools_used: Vec<String>,
    /// Unknown keys (`mcp_servers`, `shell`, …), kept.
    #[serde(flatten)]
    pub extra: Extra,
}
