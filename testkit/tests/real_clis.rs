//! Runs the real Claude Code, Codex CLI and Gemini CLI against the fake model: a session with a
//! tool call, then a resume of that session.
//!
//! Skipped (with a note) when the CLIs are not installed, unless `SFS_REAL_AGENTS=1`, which makes
//! their absence a failure. Install them with `scripts/regen-fixtures.sh` or point
//! `SFS_AGENT_CLIS_BIN` at a `node_modules/.bin` holding `claude`, `codex` and `gemini`.

// Test helpers outside `#[test]` functions are test code too: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use sessionfs_shared::AgentKind;
use sessionfs_testkit::{FakeModel, agent_cli};

/// False when the test should be skipped.
fn clis_available() -> bool {
    let required = std::env::var("SFS_REAL_AGENTS").is_ok_and(|v| v == "1");
    match agent_cli::bin_dir() {
        Some(dir) => {
            assert!(dir.is_dir(), "{} (the agent CLIs) does not exist", dir.display());
            true
        }
        None if required => panic!(
            "SFS_REAL_AGENTS=1 but the agent CLIs are not installed: run scripts/regen-fixtures.sh or set {}",
            agent_cli::BIN_DIR_ENV
        ),
        None => {
            eprintln!(
                "note: skipping the real-CLI test: the agent CLIs are not installed (set {} or run scripts/regen-fixtures.sh; SFS_REAL_AGENTS=1 makes this a failure)",
                agent_cli::BIN_DIR_ENV
            );
            false
        }
    }
}

fn read_all(files: &[impl AsRef<Path>]) -> Vec<String> {
    files.iter().map(|f| fs::read_to_string(f).unwrap()).collect()
}

fn tool_call_then_resume(agent: AgentKind) {
    if !clis_available() {
        return;
    }
    assert!(agent_cli::version(agent).is_some_and(|v| v.contains('.')), "{agent} --version failed");
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let cwd = tmp.path().join("project-test");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&cwd).unwrap();
    let model = FakeModel::start().unwrap();
    let marker = format!("MARKER-TOOL-{agent}");

    let output =
        agent_cli::run(agent, &home, &cwd, &model, &format!("List the files. TOOL:echo {marker}"), None).unwrap();
    assert!(output.status.success(), "{agent} failed: {}", String::from_utf8_lossy(&output.stderr));

    let files = agent_cli::session_files(agent, &home);
    assert!(!files.is_empty(), "{agent} wrote no native session file under {}", home.display());
    let contents = read_all(&files);
    assert!(contents.iter().any(|c| c.contains(&marker)), "no native file contains {marker}");
    assert!(
        model.tool_results().iter().any(|r| r.contains(&marker)),
        "the tool result never reached the model: {:?}",
        model.tool_results()
    );
    // The final answer quotes the tool's output, so the whole call/result/answer loop completed.
    assert!(
        contents.iter().any(|c| c.contains(&format!("tool said: {marker}"))),
        "the native file lacks the answer that quotes the tool output"
    );

    let id = agent_cli::native_session_id(agent, &files[0]).expect("a native session id");
    let resume_marker = format!("MARKER-RESUME-{agent}");
    let output = agent_cli::run(agent, &home, &cwd, &model, &format!("Again {resume_marker}"), Some(&id)).unwrap();
    assert!(output.status.success(), "{agent} resume failed: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        model.requests().iter().any(|r| {
            let body = r.body.to_string();
            body.contains(&marker) && body.contains(&resume_marker)
        }),
        "the resumed {agent} session did not send the earlier conversation to the model"
    );
    let contents = read_all(&agent_cli::session_files(agent, &home));
    assert!(
        contents.iter().any(|c| c.contains(&marker) && c.contains(&resume_marker)),
        "{agent} did not append the resumed turn to the original session file"
    );
}

#[test]
fn claude_code_tool_call_and_resume() {
    tool_call_then_resume(AgentKind::ClaudeCode);
}

#[test]
fn codex_tool_call_and_resume() {
    tool_call_then_resume(AgentKind::Codex);
}

#[test]
fn gemini_cli_tool_call_and_resume() {
    tool_call_then_resume(AgentKind::GeminiCli);
}
