//! The real agent CLIs from npm, driven against the fake model endpoint, captured by the real `sfs` and
//! `sfsd`. Runs when the CLIs are installed (`scripts/install-agent-clis.sh`); `.ci/run` sets
//! `SFS_REAL_AGENTS=1`, which makes their absence a failure instead of a skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use sessionfs_shared::AgentKind;
use sessionfs_testkit::{FakeModel, agent_cli};

mod common;

fn clis_available() -> bool {
    let required = std::env::var("SFS_REAL_AGENTS").is_ok_and(|v| v == "1");
    let present = agent_cli::SUPPORTED.iter().all(|a| agent_cli::executable(*a).is_some());
    assert!(
        present || !required,
        "SFS_REAL_AGENTS=1 but the agent CLIs are not installed: run scripts/install-agent-clis.sh"
    );
    if !present {
        eprintln!("skipping: agent CLIs not installed (scripts/install-agent-clis.sh installs them)");
    }
    present
}

fn sfs(home: &Path, store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(args)
        .env("HOME", home)
        .env("SFS_HOME", store)
        .env("SFS_SFSD_BIN", env!("CARGO_BIN_EXE_sfsd"))
        .output()
        .unwrap()
}

fn json(home: &Path, store: &Path, args: &[&str]) -> Value {
    let out = sfs(home, store, args);
    assert!(out.status.success(), "sfs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_agent(agent: AgentKind, home: &Path, cwd: &Path, model: &FakeModel, prompt: &str, resume: Option<&str>) {
    let out = agent_cli::run(agent, home, cwd, model, prompt, resume).unwrap();
    assert!(
        out.status.success(),
        "{agent} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sessions_of_the_real_clis_are_captured_with_their_tool_calls() {
    if !clis_available() {
        return;
    }
    let model = FakeModel::start().unwrap();
    for agent in agent_cli::SUPPORTED {
        let tmp = tempfile::tempdir().unwrap();
        let (home, store, cwd) = (tmp.path().join("home"), tmp.path().join("store"), tmp.path().join("work"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        let marker = format!("MARKER-REAL-{}", agent.as_str().replace('-', ""));
        run_agent(agent, &home, &cwd, &model, &format!("Run it. TOOL:echo {marker}"), None);
        let out = sfs(&home, &store, &["import"]);
        assert!(out.status.success(), "{agent}: {}", String::from_utf8_lossy(&out.stderr));

        let hits = json(&home, &store, &["search", &marker, "--json"]);
        let hit = hits.as_array().unwrap().first().unwrap_or_else(|| panic!("{agent}: {marker} not found"));
        let id = hit["session_id"].as_str().unwrap().to_owned();
        let session = json(&home, &store, &["show", &id, "--json"]);
        assert_eq!(session["source"]["tool"], agent.as_str());
        let blocks: Vec<&Value> =
            session["messages"].as_array().unwrap().iter().flat_map(|m| m["content"].as_array().unwrap()).collect();
        let call = blocks.iter().find(|b| b["type"] == "tool_use").unwrap_or_else(|| panic!("{agent}: no tool call"));
        let result = blocks
            .iter()
            .find(|b| b["type"] == "tool_result" && b["tool_use_id"] == call["tool_use_id"])
            .unwrap_or_else(|| panic!("{agent}: the tool call has no result"));
        assert!(result["content"].as_str().unwrap().contains(&marker), "{agent}: {result}");
        let status = json(&home, &store, &["daemon", "status", "--json"]);
        assert_eq!(status["agents"][0]["records_skipped"], 0, "{agent}: {status}");
    }
}

#[test]
fn the_daemon_captures_a_real_cli_turn_as_it_happens() {
    if !clis_available() {
        return;
    }
    let model = FakeModel::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (home, store, cwd) = (tmp.path().join("home"), tmp.path().join("store"), tmp.path().join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let started = sfs(&home, &store, &["daemon", "start"]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    struct Stop<'a>(&'a Path, &'a Path);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = sfs(self.0, self.1, &["daemon", "stop"]);
        }
    }
    let _stop = Stop(&home, &store);
    run_agent(AgentKind::ClaudeCode, &home, &cwd, &model, "First turn MARKER-LIVE-ONE", None);
    let file = agent_cli::session_files(AgentKind::ClaudeCode, &home).pop().unwrap();
    let native = agent_cli::native_session_id(AgentKind::ClaudeCode, &file).unwrap();
    run_agent(AgentKind::ClaudeCode, &home, &cwd, &model, "Second turn MARKER-LIVE-TWO", Some(&native));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = json(&home, &store, &["search", "MARKER-LIVE-TWO", "--json"]);
        if !hits.as_array().unwrap().is_empty() {
            let both = json(&home, &store, &["list", "--json"]);
            assert_eq!(both.as_array().unwrap().len(), 1, "both turns are one session: {both}");
            assert_eq!(both[0]["turn_count"], 2);
            break;
        }
        assert!(Instant::now() < deadline, "the daemon did not capture the second turn within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs Claude Code once with `servers` as its only MCP configuration and a prompt that makes the fake
/// model (its own, so nothing of an earlier run is counted) call `mcp__sessionfs__<tool>` with `input`;
/// returns the tool results Claude Code sent back to the model.
fn claude_calls_mcp_tool(tmp: &Path, servers: &Value, tool: &str, input: &Value) -> Vec<String> {
    let model = FakeModel::start().unwrap();
    let (home, cwd) = (tmp.join("home"), tmp.join("work"));
    let config = tmp.join("mcp.json");
    std::fs::write(&config, servers.to_string()).unwrap();
    let allowed = format!("--allowedTools=mcp__sessionfs__{tool}");
    let flags = ["--mcp-config", config.to_str().unwrap(), "--strict-mcp-config", allowed.as_str()];
    let prompt = format!("Do it. MCP:{tool} {input}");
    let out = agent_cli::run_claude_with(&home, &cwd, &model, &prompt, &flags).unwrap();
    assert!(
        out.status.success(),
        "claude failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = model.requests().iter().any(|r| {
        r.body["tools"].as_array().is_some_and(|t| t.iter().any(|t| t["name"] == format!("mcp__sessionfs__{tool}")))
    });
    assert!(offered, "Claude Code did not offer mcp__sessionfs__{tool} to the model");
    model.tool_results()
}

/// Claude Code itself, given our MCP server (`sfs mcp serve` over stdio, then the server's `/mcp` with a
/// bearer key), calls `search_sessions` and `resume_session` on the session an earlier run captured, and
/// the results reach the model's next request.
#[test]
fn claude_code_searches_and_resumes_through_the_mcp_server() {
    if !clis_available() {
        return;
    }
    let model = FakeModel::start().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (home, store, cwd) = (tmp.path().join("home"), tmp.path().join("store"), tmp.path().join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let marker = "MARKERMCPREAL";
    run_agent(AgentKind::ClaudeCode, &home, &cwd, &model, &format!("Run it. TOOL:echo {marker}"), None);
    let out = sfs(&home, &store, &["import"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hits = json(&home, &store, &["search", marker, "--json"]);
    let id = hits[0]["session_id"].as_str().unwrap().to_owned();

    let stdio = serde_json::json!({"mcpServers": {"sessionfs": {
        "command": env!("CARGO_BIN_EXE_sfs"),
        "args": ["mcp", "serve"],
        "env": {"SFS_HOME": store, "HOME": home},
    }}});
    let search = serde_json::json!({"query": marker});
    let resume = serde_json::json!({"session_id": id, "max_tokens": 4000});
    let results = claude_calls_mcp_tool(tmp.path(), &stdio, "search_sessions", &search);
    assert!(results.iter().any(|r| r.contains(&id)), "stdio search_sessions did not return {id}: {results:?}");
    let results = claude_calls_mcp_tool(tmp.path(), &stdio, "resume_session", &resume);
    assert!(results.iter().any(|r| r.contains(marker)), "stdio resume_session has no recent turns: {results:?}");

    // The same through the server: push the session, then point Claude Code at /mcp with the key.
    let server = common::Server::start(&tmp.path().join("server"), &[]);
    let key = common::signup(&server, "mcp-real@example.com");
    for args in [&["auth", "login", "--url", &server.url, "--key", &key][..], &["push", &id]] {
        let out = sfs(&home, &store, args);
        assert!(out.status.success(), "sfs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let http = serde_json::json!({"mcpServers": {"sessionfs": {
        "type": "http",
        "url": format!("{}/mcp", server.url),
        "headers": {"Authorization": format!("Bearer {key}")},
    }}});
    let results = claude_calls_mcp_tool(tmp.path(), &http, "search_sessions", &search);
    assert!(results.iter().any(|r| r.contains(&id)), "HTTP search_sessions did not return {id}: {results:?}");
    let results = claude_calls_mcp_tool(tmp.path(), &http, "resume_session", &resume);
    assert!(results.iter().any(|r| r.contains(marker)), "HTTP resume_session has no recent turns: {results:?}");
}
