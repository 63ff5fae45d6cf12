//! `sfs resume` without the real agents: its errors (session not found, agent not installed, unknown
//! version, unsupported agent), the working-folder fallback, `--project`, trimming with `--max-tokens`, and
//! the `--no-launch --json` output. A stand-in `claude`/`codex` script answers `--version`; sessions come
//! from the recorded fixtures, whose folders do not exist on this machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    /// A home holding the recorded Claude Code `tool_call` and `two_turns` sessions, captured.
    fn new() -> Self {
        let env = Self { tmp: tempfile::tempdir().unwrap() };
        std::fs::create_dir_all(env.bin()).unwrap();
        std::fs::create_dir_all(env.work()).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures/claude-code/2.1.197");
        for scenario in ["tool_call", "two_turns"] {
            copy(&fixtures.join(scenario).join("home"), &env.home());
        }
        pad_first_answer(&env.home(), TWO_TURNS);
        let out = env.sfs(&["import"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        env
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }
    fn bin(&self) -> PathBuf {
        self.tmp.path().join("bin")
    }
    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    /// A stand-in for an agent's program that reports `version`.
    fn fake_cli(&self, program: &str, version: &str) {
        let path = self.bin().join(program);
        std::fs::write(&path, format!("#!/bin/sh\necho '{version}'\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    fn sfs(&self, args: &[&str]) -> Output {
        self.sfs_with(&[], args)
    }

    /// `sfs` with more variables set. The agents' own folder variables are cleared first: a developer's
    /// would move the agents' folders out of this test's home.
    fn sfs_with(&self, vars: &[(&str, &Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sfs"));
        cmd.args(args)
            .current_dir(self.work())
            .env("PATH", self.bin())
            .env("HOME", self.home())
            .env("SFS_HOME", self.tmp.path().join("store"));
        for var in ["CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME"] {
            cmd.env_remove(var);
        }
        cmd.envs(vars.iter().copied()).output().unwrap()
    }

    /// The captured session whose agent ID is `native`.
    fn session(&self, native: &str) -> String {
        let out = self.sfs(&["list", "--json"]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let row = list.as_array().unwrap().iter().find(|r| r["native_id"] == native).unwrap();
        row["id"].as_str().unwrap().to_owned()
    }
}

const TOOL_CALL: &str = "e72b7bde-28dd-409c-92ba-037d2a2b00d6";
const TWO_TURNS: &str = "1899c274-7c5e-4d94-968b-02149e06bf42";

/// Make the first answer of session `native` long (about 500 tokens), so that leaving its turn out saves more than
/// the summary standing for it costs.
fn pad_first_answer(home: &Path, native: &str) {
    let projects = home.join(".claude/projects");
    for dir in std::fs::read_dir(&projects).unwrap().flatten() {
        let file = dir.path().join(format!("{native}.jsonl"));
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let mut padded = false;
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                let mut r: Value = serde_json::from_str(l).unwrap();
                if !padded && r["type"] == "assistant" {
                    let said = r["message"]["content"][0]["text"].as_str().unwrap().to_owned();
                    r["message"]["content"][0]["text"] = format!("{said} {}", "A long answer. ".repeat(130)).into();
                    padded = true;
                }
                r.to_string()
            })
            .collect();
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn session_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        session_files(&e.path())
                    } else {
                        usize::from(e.path().extension().is_some_and(|x| x == "jsonl"))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unknown_session_is_not_found() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    let out = env.sfs(&["resume", "ses_deadbeef00", "--in", "claude-code", "--no-launch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("no session matches \"ses_deadbeef00\""), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn a_missing_agent_says_how_to_install_it() {
    let env = Env::new();
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--in", "codex", "--no-launch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("codex is not installed: no `codex` on PATH"), "{err}");
    assert!(err.contains("hint: install it with `npm install -g @openai/codex`"), "{err}");
}

#[test]
fn an_unknown_version_lists_the_known_ones_unless_forced() {
    let env = Env::new();
    env.fake_cli("claude", "9.9.9 (Claude Code)");
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--no-launch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("claude-code \"9.9.9\"") && err.contains("known versions: 2.1.197"), "{err}");
    assert!(err.contains("--force-version"), "{err}");
    assert_eq!(session_files(&env.home().join(".claude/projects")), 2, "nothing was written");

    let out = env.sfs(&["resume", &id, "--no-launch", "--force-version", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a verified version"), "{}", stderr(&out));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(Path::new(written["files"][0].as_str().unwrap()).is_file());
}

#[test]
fn an_agent_without_a_writer_is_refused() {
    let env = Env::new();
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--in", "cursor", "--no-launch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot continue sessions in \"cursor\""), "{err}");
    assert!(err.contains("hint: pass --in claude-code"), "{err}");
}

#[test]
fn a_folder_missing_here_falls_back_to_the_current_one_in_one_line() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--no-launch", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let notes: Vec<String> = stderr(&out).lines().filter(|l| l.contains("does not exist")).map(str::to_owned).collect();
    assert_eq!(notes.len(), 1, "{}", stderr(&out));
    assert!(notes[0].contains("/tmp/sfs-fixture-OohIJb/project-tool_call"), "{}", notes[0]);
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    let work = std::fs::canonicalize(env.work()).unwrap();
    assert_eq!(written["cwd"], work.to_str().unwrap());
    assert_eq!(written["agent"], "claude-code");
    assert_eq!(written["command"][0], "claude");
    assert_eq!(written["command"][1], "--resume");
    assert_eq!(written["command"][2], written["native_id"]);
    assert_eq!(
        written["shell"],
        format!("cd {} && claude --resume {}", work.display(), written["native_id"].as_str().unwrap())
    );
    // Written where Claude Code looks for the current folder's sessions.
    let file = PathBuf::from(written["files"][0].as_str().unwrap());
    let folder = work.to_str().unwrap().replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    assert_eq!(file.parent().unwrap(), env.home().join(".claude/projects").join(folder));

    // --project overrides it, and must exist.
    let other = env.tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let out = env.sfs(&["resume", &id, "--no-launch", "--json", "--project", other.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("does not exist"));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(written["cwd"], std::fs::canonicalize(&other).unwrap().to_str().unwrap());
    let out = env.sfs(&["resume", &id, "--no-launch", "--project", "/no/such/place"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--project /no/such/place: no such folder"), "{}", stderr(&out));
}

#[test]
fn max_tokens_trims_the_oldest_turns_behind_a_summary() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    let id = env.session(TWO_TURNS);
    let out = env.sfs(&["resume", &id, "--no-launch", "--json", "--max-tokens", "200"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(written["trimmed"]["turns"], 1, "{written}");
    assert!(stderr(&out).contains("left out the oldest 1 turn"), "{}", stderr(&out));
    let text = std::fs::read_to_string(written["files"][0].as_str().unwrap()).unwrap();
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records[0]["type"], "custom-title", "Claude Code's picker shows the title, not the note");
    let first = records.iter().find(|r| r["type"] == "user").unwrap();
    let head = first["message"]["content"].as_str().unwrap();
    assert!(head.starts_with("[SessionFS] The start of this session was left out"), "{head}");
    assert!(head.contains("MARKER-TURN1"), "the summary names the dropped prompt: {head}");
    assert!(!text.contains("\"content\":\"First turn"), "the first turn itself is gone");
    assert!(text.contains("MARKER-TURN2"), "the newest turn stays");
}

#[test]
fn json_output_needs_no_launch() {
    let env = Env::new();
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn codex_home_and_claude_config_dir_move_resume_and_capture_as_they_move_the_agents() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    env.fake_cli("codex", "codex-cli 0.169.0");
    let id = env.session(TOOL_CALL);
    let (codex_home, claude_dir) = (env.tmp.path().join("alt-codex"), env.tmp.path().join("alt-claude"));
    std::fs::create_dir_all(&codex_home).unwrap();
    std::fs::create_dir_all(&claude_dir).unwrap();
    std::fs::write(codex_home.join("config.toml"), "model = \"m\"\nmodel_provider = \"fake\"\n").unwrap();
    let vars = [("CODEX_HOME", codex_home.as_path()), ("CLAUDE_CONFIG_DIR", claude_dir.as_path())];

    let out = env.sfs_with(&vars, &["resume", &id, "--in", "codex", "--no-launch", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rollout = PathBuf::from(written["files"][0].as_str().unwrap());
    assert!(rollout.starts_with(codex_home.join("sessions")), "{}", rollout.display());
    let text = std::fs::read_to_string(&rollout).unwrap();
    let meta: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(meta["payload"]["model_provider"], "fake", "the provider comes from $CODEX_HOME/config.toml");

    let out = env.sfs_with(&vars, &["resume", &id, "--in", "claude-code", "--no-launch", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = PathBuf::from(written["files"][0].as_str().unwrap());
    assert!(file.starts_with(claude_dir.join("projects")), "{}", file.display());
    assert!(!env.home().join(".codex").exists(), "nothing written to ~/.codex");

    // Capture looks where the agents write: a Codex session recorded under $CODEX_HOME is imported.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures/codex/0.169.0/two_turns/home/.codex");
    copy(&fixture, &codex_home);
    let native = |out: &Output| -> Vec<String> {
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        list.as_array().unwrap().iter().map(|r| r["native_id"].as_str().unwrap_or_default().to_owned()).collect()
    };
    let rollouts = session_files(&codex_home.join("sessions"));
    assert!(env.sfs(&["import"]).status.success());
    let before = native(&env.sfs(&["list", "--json", "--tool", "codex"]));
    assert!(env.sfs_with(&vars, &["import"]).status.success());
    let after = native(&env.sfs_with(&vars, &["list", "--json", "--tool", "codex"]));
    assert_eq!((before.len(), after.len()), (0, rollouts), "before: {before:?}, after: {after:?}");
}

#[test]
fn a_trimmed_resume_captured_back_is_not_titled_by_the_trim_note() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    env.fake_cli("codex", "codex-cli 0.169.0");
    env.fake_cli("gemini", "0.61.0");
    let id = env.session(TWO_TURNS);
    for target in ["claude-code", "codex", "gemini-cli"] {
        let out = env.sfs(&["resume", &id, "--in", target, "--no-launch", "--json", "--max-tokens", "200"]);
        assert!(out.status.success(), "{target}: {}", stderr(&out));
        let written: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(written["trimmed"]["turns"], 1, "{target}: {written}");
    }
    assert!(env.sfs(&["import"]).status.success());
    let list: Value = serde_json::from_slice(&env.sfs(&["list", "--json"]).stdout).unwrap();
    let resumed: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["parent_session_id"].is_string())
        .map(|s| (s["source_tool"].as_str().unwrap(), s["title"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(resumed.len(), 3, "{resumed:?}");
    for (tool, title) in resumed {
        assert!(!title.is_empty() && !title.starts_with("[SessionFS]"), "{tool}: {title:?}");
    }
}

#[test]
fn a_budget_under_the_only_turn_cuts_nothing_and_says_so() {
    let env = Env::new();
    env.fake_cli("claude", "2.1.197 (Claude Code)");
    let id = env.session(TOOL_CALL);
    let out = env.sfs(&["resume", &id, "--no-launch", "--json", "--max-tokens", "20"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written: Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &written["trimmed"];
    assert_eq!((t["turns"].as_u64(), t["steps"].as_u64(), t["items"].as_u64()), (Some(0), Some(0), Some(0)), "{t}");
    assert_eq!(t["tokens_after"], t["tokens_before"], "never bigger: {t}");
    let err = stderr(&out);
    assert!(err.contains("over the budget of 20") && err.contains("nothing was left out"), "{err}");
    assert!(!err.contains("0 turn"), "{err}");
    let text = std::fs::read_to_string(written["files"][0].as_str().unwrap()).unwrap();
    assert!(!text.contains("[SessionFS]"), "no summary note");
}
