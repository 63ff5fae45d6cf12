//! `manifest.json`: identity, provenance, stats and sync state of a session.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CONVERTER_VERSION, Extra, SFS_VERSION};
use crate::{AgentKind, SessionId, Timestamp, ToolName};

/// Where a session came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The agent (any name; see [`ToolName::kind`]).
    pub tool: ToolName,
    /// The agent's version that wrote the native file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// Version of the converter that produced this `.sfs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfs_converter_version: Option<String>,
    /// The agent's own session ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_session_id: Option<String>,
    /// The native file it was captured from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_path: Option<String>,
    /// `cli`, `ide`, `exec`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The model a session mostly used.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `anthropic`, `openai`, `google`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// `low`, `medium`, `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Counts over the session.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionStats {
    /// Lines in `messages.jsonl`.
    pub message_count: u64,
    /// User turns.
    pub turn_count: u64,
    /// Tool calls.
    pub tool_use_count: u64,
    /// Prompt tokens over all calls.
    pub total_input_tokens: u64,
    /// Completion tokens over all calls.
    pub total_output_tokens: u64,
    /// Estimated cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_cost_usd: Option<f64>,
    /// From the first to the last message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// Local sync bookkeeping (written by the sync client, kept across re-captures).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SyncState {
    /// When it was last pushed or pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<Timestamp>,
    /// The server's ETag at that time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Changed locally since then.
    #[serde(default = "yes")]
    pub dirty: bool,
    /// The server it syncs with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_url: Option<String>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

fn yes() -> bool {
    true
}

/// A sub-agent that ran inside the session (Claude Code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubAgent {
    /// The sub-agent's ID (file stem).
    pub agent_id: String,
    /// Its model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Its messages in this session.
    #[serde(default)]
    pub message_count: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`SFS_VERSION`] when written.
    pub sfs_version: String,
    /// The session's ID.
    pub session_id: SessionId,
    /// A human title; `None` when nothing usable could be derived.
    #[serde(default)]
    pub title: Option<String>,
    /// A user-chosen short name (`sfs show <alias>`). Kept across re-captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// User tags. Kept across re-captures.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Time of the first message.
    pub created_at: Timestamp,
    /// Time of the last message.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Provenance.
    pub source: Source,
    /// The main model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelInfo>,
    /// Counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<SessionStats>,
    /// Sync bookkeeping. Kept across re-captures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncState>,
    /// The session this one was forked or resumed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_session_id: Option<String>,
    /// Sub-agents (Claude Code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_agents: Vec<SubAgent>,
    /// Open metadata (git branch, capture details, resume links).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Unknown keys, kept.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Manifest {
    /// A minimal manifest for a newly captured session.
    pub fn new(session_id: SessionId, tool: AgentKind, created_at: Timestamp) -> Self {
        Self {
            sfs_version: SFS_VERSION.to_owned(),
            session_id,
            title: None,
            alias: None,
            tags: Vec::new(),
            created_at,
            updated_at: None,
            source: Source {
                tool: tool.into(),
                tool_version: None,
                sfs_converter_version: Some(CONVERTER_VERSION.to_owned()),
                original_session_id: None,
                original_path: None,
                interface: None,
                extra: Map::new(),
            },
            model: None,
            stats: None,
            sync: None,
            parent_session_id: None,
            sub_agents: Vec::new(),
            metadata: Map::new(),
            extra: Map::new(),
        }
    }

    /// Copy the fields a person or the sync client owns (alias, tags, sync state, parent, user metadata
    /// under `metadata.user`) from `previous`, so re-capturing a session never drops them.
    pub fn keep_user_fields(&mut self, previous: &Manifest) {
        if previous.alias.is_some() {
            self.alias.clone_from(&previous.alias);
        }
        for tag in &previous.tags {
            if !self.tags.contains(tag) {
                self.tags.push(tag.clone());
            }
        }
        if let Some(prev_sync) = &previous.sync {
            let mut sync = prev_sync.clone();
            sync.dirty = true; // the capture changed the content, so it needs pushing again
            self.sync = Some(sync);
        }
        if self.parent_session_id.is_none() {
            self.parent_session_id.clone_from(&previous.parent_session_id);
        }
        for (k, v) in &previous.metadata {
            if !self.metadata.contains_key(k) {
                self.metadata.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &previous.extra {
            if !self.extra.contains_key(k) {
                self.extra.insert(k.clone(), v.clone());
            }
        }
    }

    /// Message count from the stats, zero when absent.
    pub fn message_count(&self) -> u64 {
        self.stats.as_ref().map_or(0, |s| s.message_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = r#"{"sfs_version":"0.1.0","session_id":"ses_b2c3d4e5f6a74b8c","title":"Add user validation to signup endpoint",
 "tags":["feature","auth"],"created_at":"2026-03-20T14:00:00.000Z","updated_at":"2026-03-20T14:05:30.000Z",
 "source":{"tool":"claude-code","tool_version":"2.1.59","sfs_converter_version":"0.1.0",
           "original_session_id":"e420cbd4-abcd-1234-5678-ef0123456789","interface":"cli"},
 "model":{"provider":"anthropic","model_id":"claude-opus-4-6"},
 "stats":{"message_count":8,"turn_count":3,"tool_use_count":4,"total_input_tokens":12000,"total_output_tokens":3500,
          "estimated_cost_usd":0.42,"duration_ms":330000},
 "sync":{"etag":"9f2c","last_sync_at":"2026-03-20T14:06:00+00:00","dirty":false},
 "sub_agents":[{"agent_id":"agent-explore-001","model":"claude-haiku-4-5-20251001","message_count":4}],
 "checkpoint_count":1}"#;

    #[test]
    fn reads_the_spec_example_and_keeps_unknown_keys() {
        let m: Manifest = serde_json::from_str(SPEC_EXAMPLE).unwrap();
        assert_eq!(m.source.tool, AgentKind::ClaudeCode);
        assert_eq!(m.message_count(), 8);
        assert_eq!(m.sync.as_ref().unwrap().etag.as_deref(), Some("9f2c"));
        assert_eq!(m.extra.get("checkpoint_count"), Some(&Value::from(1)));
        let again: Manifest = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn recapture_keeps_user_fields() {
        let previous: Manifest = serde_json::from_str(SPEC_EXAMPLE).unwrap();
        let mut previous = previous;
        previous.alias = Some("signup-fix".into());
        let mut fresh = Manifest::new(previous.session_id.clone(), AgentKind::ClaudeCode, previous.created_at);
        fresh.tags = vec!["auth".into()];
        fresh.keep_user_fields(&previous);
        assert_eq!(fresh.alias.as_deref(), Some("signup-fix"));
        assert_eq!(fresh.tags, vec!["auth".to_string(), "feature".to_string()]);
        let sync = fresh.sync.unwrap();
        assert_eq!(sync.etag.as_deref(), Some("9f2c"));
        assert!(sync.dirty, "new content must be pushed again");
    }

    #[test]
    fn a_bad_session_id_in_a_manifest_is_an_error() {
        let bad = SPEC_EXAMPLE.replace("ses_b2c3d4e5f6a74b8c", "ses_NOPE");
        let err = serde_json::from_str::<Manifest>(&bad).unwrap_err();
        assert!(err.to_string().contains("lowercase hex"), "{err}");
    }
}
