//! Cross-agent resume with the real CLIs from npm against the fake model endpoint: for every ordered pair
//! of Claude Code, Codex and Gemini CLI (each agent into itself included), a session made in the source
//! (a unique marker in the prompt, a shell tool call) is captured, written into the target with
//! `sfs resume --in <target> --no-launch`, and the target is run non-interactively on it with a follow-up
//! prompt. A pair passes only when the request the target sends to the model holds the source's marker,
//! its tool call's command and the call's output. Then capture runs again: every resumed session is linked
//! to its origin and nothing else appears.
//!
//! Runs when the CLIs are installed (`scripts/install-agent-clis.sh`); `SFS_REAL_AGENTS=1` makes their
//! absence a failure instead of a skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sessionfs_shared::AgentKind;
use sessionfs_testkit::{FakeModel, agent_cli};

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

/// `sfs` with the agents' CLIs on `PATH`, as a user who installed them would have.
fn sfs(home: &Path, store: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut path = OsString::from(agent_cli::bin_dir().unwrap());
    if let Some(rest) = std::env::var_os("PATH") {
        path.push(":");
        path.push(rest);
    }
    Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env("HOME", home)
        .env("SFS_HOME", store)
        .output()
        .unwrap()
}

fn json(home: &Path, store: &Path, cwd: &Path, args: &[&str]) -> Value {
    let out = sfs(home, store, cwd, args);
    assert!(out.status.success(), "sfs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every string in `v` (object keys included).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// Codex resumes a thread only with the provider it was recorded with: configure the fake one before
/// `sfs resume` reads `~/.codex/config.toml` (the runner rewrites the same settings when Codex runs).
fn configure_codex(home: &Path) {
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::write(home.join(".codex/config.toml"), "model = \"gpt-fake\"\nmodel_provider = \"fake\"\n").unwrap();
}

fn short(agent: AgentKind) -> &'static str {
    match agent {
        AgentKind::ClaudeCode => "claude",
        AgentKind::Codex => "codex",
        _ => "gemini",
    }
}

#[test]
fn every_pair_of_agents_continues_a_session_with_its_marker_and_tool_call() {
    if !clis_available() {
        return;
    }
    let model = FakeModel::start().unwrap();
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for source in agent_cli::SUPPORTED {
        let tmp = tempfile::tempdir().unwrap();
        let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
        let cwd = tmp.path().join(format!("project_{}", short(source)));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        configure_codex(&home);
        let marker = format!("MARKER-RESUME-{}", short(source));
        let tool = format!("TOOLRUN-{}", short(source));
        let out =
            agent_cli::run(source, &home, &cwd, &model, &format!("Remember {marker}. TOOL:echo {tool}"), None).unwrap();
        assert!(out.status.success(), "{source}: {}", String::from_utf8_lossy(&out.stderr));
        let import = sfs(&home, &store, &cwd, &["import"]);
        assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
        let hits = json(&home, &store, &cwd, &["search", &marker, "--json"]);
        let origin =
            hits[0]["session_id"].as_str().unwrap_or_else(|| panic!("{source}: {marker} not captured")).to_owned();

        for target in agent_cli::SUPPORTED {
            let pair = format!("{source} -> {target}");
            // Run from another folder: the session's own folder is found from what was captured.
            let written =
                json(&home, &store, tmp.path(), &["resume", &origin, "--in", target.as_str(), "--no-launch", "--json"]);
            let native_id = written["native_id"].as_str().unwrap().to_owned();
            let run_in = Path::new(written["cwd"].as_str().unwrap()).to_owned();
            assert_eq!(run_in, std::fs::canonicalize(&cwd).unwrap(), "{pair}: the session's own folder");
            let follow = format!("FOLLOW-{}-{}", short(source), short(target));
            let before = model.requests().len();
            let out =
                agent_cli::run(target, &home, &run_in, &model, &format!("Go on. {follow}"), Some(&native_id)).unwrap();
            if !out.status.success() {
                failures.push(format!("{pair}: the target failed: {}", String::from_utf8_lossy(&out.stderr)));
                continue;
            }
            let requests: Vec<Vec<String>> = model.requests()[before..]
                .iter()
                .map(|r| {
                    let mut all = Vec::new();
                    strings(&r.body, &mut all);
                    all
                })
                .filter(|all| all.iter().any(|s| s.contains(&follow)))
                .collect();
            let ok = requests.iter().any(|all| {
                let marker_sent = all.iter().any(|s| s.contains(&marker));
                let call_sent = all.iter().any(|s| s.contains(&format!("echo {tool}")));
                let output_sent = all.iter().any(|s| s.contains(&tool) && !s.contains("echo") && !s.contains(&marker));
                marker_sent && call_sent && output_sent
            });
            if ok {
                passed.push(pair);
            } else {
                failures.push(format!(
                    "{pair}: {} request(s) carried the follow-up, none with the marker, the call and its output",
                    requests.len()
                ));
            }
        }

        // Capture again: the three resumed sessions are linked to their origin; no unrelated copy appears.
        let import = sfs(&home, &store, &cwd, &["import"]);
        assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
        let list = json(&home, &store, &cwd, &["list", "--json"]);
        let sessions = list.as_array().unwrap();
        let others: Vec<&Value> = sessions.iter().filter(|s| s["id"] != origin.as_str()).collect();
        assert_eq!(others.len(), 3, "{source}: one session per resume: {list}");
        for s in others {
            assert_eq!(s["parent_session_id"], origin.as_str(), "{source}: linked to the origin: {s}");
            let shown = json(&home, &store, &cwd, &["show", s["id"].as_str().unwrap(), "--json"]);
            assert_eq!(shown["metadata"]["resumed_from"]["session_id"], origin.as_str(), "{source}");
        }
    }
    eprintln!("passed: {passed:?}");
    assert!(failures.is_empty(), "{} of 9 pairs failed:\n{}", failures.len(), failures.join("\n"));
}
