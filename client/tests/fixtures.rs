//! Capture of the fixtures recorded from the real agent CLIs (`agents/tests/fixtures/<agent>/<version>/<scenario>/`):
//! every scenario becomes one session whose markers are searchable, with tool calls paired to their results,
//! the session's cwd, branch, model and token counts, and no record skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sessionfs_client::{Capturer, ListFilter, Store, StorePaths};
use sessionfs_shared::sfs::{Block, Role};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures")
}

/// Every (agent, version, scenario dir).
fn scenarios() -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for agent in std::fs::read_dir(fixtures_root()).unwrap().flatten() {
        for version in std::fs::read_dir(agent.path()).unwrap().flatten().filter(|e| e.path().is_dir()) {
            for scenario in std::fs::read_dir(version.path()).unwrap().flatten().filter(|e| e.path().is_dir()) {
                out.push((
                    agent.file_name().to_string_lossy().into_owned(),
                    version.file_name().to_string_lossy().into_owned(),
                    scenario.path(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_recorded_scenario_is_captured_faithfully() {
    let all = scenarios();
    assert!(all.len() >= 15, "expected 5 scenarios for each of 3 agents, found {}", all.len());
    for (agent, version, dir) in all {
        let name = format!("{agent}/{version}/{}", dir.file_name().unwrap().to_string_lossy());
        let scenario: Value = serde_json::from_slice(&std::fs::read(dir.join("scenario.json")).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Capturer::new(Store::open(StorePaths::new(tmp.path())).unwrap(), dir.join("home"));
        let reports = c.import_all(&mut ()).unwrap();
        assert!(!reports.is_empty(), "{name}: nothing captured");
        assert!(
            reports.iter().all(|r| r.skipped == 0),
            "{name}: skipped records {:?}",
            c.store().index().agent_health().unwrap()
        );

        let sessions = c.store().index().list(&ListFilter::default()).unwrap();
        assert_eq!(sessions.len(), 1, "{name}: one native session must be one session");
        let row = &sessions[0];
        assert_eq!(row.source_tool, agent, "{name}");
        let native = scenario["native_session_id"].as_str().unwrap();
        assert_eq!(row.native_id.as_deref(), Some(native), "{name}");
        assert_eq!(row.project_path.as_deref(), scenario["cwd"].as_str(), "{name}: cwd");
        assert!(row.model_id.is_some(), "{name}: model");
        assert!(row.total_input_tokens > 0 && row.total_output_tokens > 0, "{name}: tokens {row:?}");

        let (manifest, read) = c.store().load(&row.id).unwrap();
        assert!(read.skipped.is_empty(), "{name}");
        assert!(manifest.source.tool_version.as_deref().is_some() || agent == "gemini-cli", "{name}: version");

        // Every marker is in the captured text and found by search.
        for marker in scenario["markers"].as_array().unwrap() {
            let marker = marker.as_str().unwrap();
            let hits = c.store().index().search(marker, None, 5).unwrap();
            assert!(!hits.is_empty(), "{name}: {marker} not found by search");
            assert!(read.messages.iter().any(|m| m.text().contains(marker)), "{name}: {marker} not in messages");
        }
        // The prompt a person typed is there verbatim (unicode and a 20 KB prompt included), once.
        let prompts: Vec<&str> = match scenario.get("prompts").and_then(Value::as_array) {
            Some(p) => p.iter().map(|v| v.as_str().unwrap()).collect(),
            None => vec![scenario["prompt"].as_str().unwrap()],
        };
        for prompt in &prompts {
            let n = read
                .messages
                .iter()
                .filter(|m| m.role == Role::User && !m.is_meta && m.text().trim() == prompt.trim())
                .count();
            assert_eq!(n, 1, "{name}: prompt {:?}… recorded {n} times", prompt.chars().take(40).collect::<String>());
        }
        assert_eq!(row.turn_count, prompts.len() as u64, "{name}: turns");
        let title = row.title.clone().unwrap_or_default();
        assert!(prompts[0].starts_with(title.trim_end_matches('…')), "{name}: title {title:?}");

        // Tool calls and results pair up.
        let calls: Vec<&str> = read
            .messages
            .iter()
            .flat_map(|m| m.content.iter())
            .filter_map(|b| match b {
                Block::ToolUse { tool_use_id, .. } => Some(tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        let results: Vec<&str> = read
            .messages
            .iter()
            .flat_map(|m| m.content.iter())
            .filter_map(|b| match b {
                Block::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        for call in &calls {
            assert!(results.contains(call), "{name}: call {call} has no result");
        }
        if name.ends_with("tool_call") {
            assert!(!calls.is_empty(), "{name}: the tool call is missing");
            let marker = scenario["markers"][0].as_str().unwrap();
            let result_has_marker = read
                .messages
                .iter()
                .flat_map(|m| m.content.iter())
                .any(|b| matches!(b, Block::ToolResult { content, .. } if content.contains(marker)));
            assert!(result_has_marker, "{name}: the tool's output was not captured");
            assert_eq!(row.tool_use_count, calls.len() as u64, "{name}");
        }
        if agent != "gemini-cli" {
            let branch = manifest_branch(&c, &row.id);
            assert_eq!(branch.as_deref(), scenario["git_branch"].as_str(), "{name}: branch");
        }
        // Capturing again changes nothing.
        assert!(c.import_all(&mut ()).unwrap().is_empty(), "{name}: a second import must be a no-op");
    }
}

fn manifest_branch(c: &Capturer, id: &sessionfs_shared::SessionId) -> Option<String> {
    let ws: Value = c.store().session_dir(id).read_json("workspace.json").unwrap()?;
    ws["git"]["branch"].as_str().map(str::to_owned)
}
