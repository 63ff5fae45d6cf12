//! Running the real agent CLIs (Claude Code, Codex CLI, Gemini CLI) offline against a
//! [`FakeModel`], in a throw-away `HOME`, and finding the native session files they wrote.
//!
//! The CLIs are npm packages. [`bin_dir`] finds their `node_modules/.bin`: the directory named by
//! `SFS_AGENT_CLIS_BIN`, else `<workspace>/.agent-clis/node_modules/.bin` (what
//! `scripts/regen-fixtures.sh` installs).

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sessionfs_shared::AgentKind;

use crate::FakeModel;

/// The environment variable naming the directory that holds the `claude`, `codex` and `gemini`
/// executables.
pub const BIN_DIR_ENV: &str = "SFS_AGENT_CLIS_BIN";

/// How long [`run`] lets a CLI run before killing it.
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// The agents this module can drive.
pub const SUPPORTED: [AgentKind; 3] = [AgentKind::ClaudeCode, AgentKind::Codex, AgentKind::GeminiCli];

/// The directory holding the CLI executables: `$SFS_AGENT_CLIS_BIN` when set, else the
/// workspace's `.agent-clis/node_modules/.bin` when it exists, else `None`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let dir = workspace_root()?.join(".agent-clis").join("node_modules").join(".bin");
    dir.is_dir().then_some(dir)
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf)
}

/// The executable's file name in [`bin_dir`], for the supported agents.
pub fn executable_name(agent: AgentKind) -> Option<&'static str> {
    match agent {
        AgentKind::ClaudeCode => Some("claude"),
        AgentKind::Codex => Some("codex"),
        AgentKind::GeminiCli => Some("gemini"),
        _ => None,
    }
}

/// The path of the agent's executable, if [`bin_dir`] is known and holds it.
pub fn executable(agent: AgentKind) -> Option<PathBuf> {
    let path = bin_dir()?.join(executable_name(agent)?);
    path.exists().then_some(path)
}

/// The CLI's version (e.g. `2.1.197`), from `<cli> --version`; `None` when it cannot be run.
pub fn version(agent: AgentKind) -> Option<String> {
    let exe = executable(agent)?;
    let mut command = Command::new(exe);
    command.arg("--version");
    base_env(&mut command, &std::env::temp_dir());
    let output = command.stdin(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .map(|w| w.trim_start_matches('v'))
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_owned)
}

/// Runs `agent` once, non-interactively, with `prompt`, in `cwd`, as if `home` were the user's
/// home directory, against `model`. With `resume_native_id`, the run resumes that native session
/// (Claude `--resume <uuid>`, Codex `exec resume <uuid>`, Gemini `--resume <uuid>`).
///
/// Writes the configuration the CLI needs into `home`, clears the environment (so no proxy or real
/// API key leaks in), lets the CLI run shell tools without asking, and kills it after [`TIMEOUT`].
/// A non-zero exit is not an error here: the caller sees it in the returned status.
pub fn run(
    agent: AgentKind,
    home: &Path,
    cwd: &Path,
    model: &FakeModel,
    prompt: &str,
    resume_native_id: Option<&str>,
) -> anyhow::Result<Output> {
    let Some(name) = executable_name(agent) else {
        bail!("agent_cli cannot drive {agent}");
    };
    let Some(dir) = bin_dir() else {
        bail!("the agent CLIs are not installed: set {BIN_DIR_ENV} or run scripts/regen-fixtures.sh");
    };
    let exe = dir.join(name);
    if !exe.exists() {
        bail!("{} does not exist", exe.display());
    }
    let mut command = Command::new(&exe);
    base_env(&mut command, home);
    command.current_dir(cwd);
    match agent {
        AgentKind::ClaudeCode => {
            claude_env(&mut command, model);
            command.arg("-p");
            if let Some(id) = resume_native_id {
                command.args(["--resume", id]);
            }
            command.arg("--allowedTools=Bash").arg("--").arg(prompt);
        }
        AgentKind::Codex => {
            write_codex_config(home, model)?;
            command.env("FAKE_KEY", "x");
            command.args(["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]);
            if let Some(id) = resume_native_id {
                command.args(["resume", id]);
            }
            command.arg("--").arg(prompt);
        }
        AgentKind::GeminiCli => {
            write_gemini_settings(home)?;
            command
                .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
                .env("GEMINI_API_KEY", "x")
                .env("GOOGLE_GEMINI_BASE_URL", model.base_url());
            command.arg("-y");
            if let Some(id) = resume_native_id {
                command.args(["--resume", id]);
            }
            command.arg("-p").arg(prompt);
        }
        _ => bail!("agent_cli cannot drive {agent}"),
    }
    run_with_timeout(command, TIMEOUT).with_context(|| format!("running {}", exe.display()))
}

/// Runs Claude Code once with extra arguments before the prompt (for example `--mcp-config <file>` and
/// `--allowedTools=mcp__sessionfs__search_sessions`), otherwise as [`run`] does.
pub fn run_claude_with(
    home: &Path,
    cwd: &Path,
    model: &FakeModel,
    prompt: &str,
    extra_args: &[&str],
) -> anyhow::Result<Output> {
    let Some(dir) = bin_dir() else {
        bail!("the agent CLIs are not installed: set {BIN_DIR_ENV} or run scripts/regen-fixtures.sh");
    };
    let exe = dir.join("claude");
    let mut command = Command::new(&exe);
    base_env(&mut command, home);
    command.current_dir(cwd);
    claude_env(&mut command, model);
    command.arg("-p").args(extra_args).arg("--").arg(prompt);
    run_with_timeout(command, TIMEOUT).with_context(|| format!("running {}", exe.display()))
}

/// Points Claude Code at the fake model and keeps it from calling home.
fn claude_env(command: &mut Command, model: &FakeModel) {
    command
        .env("ANTHROPIC_BASE_URL", model.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-fake")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1");
}

/// A clean environment: only `PATH` (to find `node`) is inherited.
fn base_env(command: &mut Command, home: &Path) {
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
        .env("HOME", home)
        .env("USER", "sfs-test")
        .env("LOGNAME", "sfs-test")
        .env("SHELL", "/bin/bash")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("TZ", "UTC");
}

fn write_codex_config(home: &Path, model: &FakeModel) -> anyhow::Result<()> {
    let dir = home.join(".codex");
    fs::create_dir_all(&dir)?;
    let config = format!(
        r#"model = "gpt-fake"
model_provider = "fake"
check_for_update_on_startup = false

[model_providers.fake]
name = "fake"
base_url = "{}/v1"
wire_api = "responses"
env_key = "FAKE_KEY"
request_max_retries = 0
stream_max_retries = 0
"#,
        model.base_url()
    );
    fs::write(dir.join("config.toml"), config).context("writing ~/.codex/config.toml")
}

fn write_gemini_settings(home: &Path) -> anyhow::Result<()> {
    let dir = home.join(".gemini");
    fs::create_dir_all(&dir)?;
    let settings = serde_json::json!({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "general": {"disableAutoUpdate": true},
    });
    fs::write(dir.join("settings.json"), serde_json::to_vec_pretty(&settings)?)
        .context("writing ~/.gemini/settings.json")
}

/// Runs `command` in its own process group with stdin closed, collecting stdout and stderr; kills
/// the whole group when `timeout` passes (and returns an error holding what it had printed).
fn run_with_timeout(mut command: Command, timeout: Duration) -> anyhow::Result<Output> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn()?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let timed_out = status.is_none();
    // Leftover grandchildren (shells the agent started) would keep the pipes open.
    kill_group(&mut child);
    let status = match status {
        Some(status) => status,
        None => child.wait()?,
    };
    let output = Output { status, stdout: join(stdout), stderr: join(stderr) };
    if timed_out {
        bail!(
            "timed out after {timeout:?}; stdout: {}; stderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

fn kill_group(child: &mut Child) {
    let group: OsString = format!("-{}", child.id()).into();
    let _ = Command::new("kill").arg("-KILL").arg("--").arg(group).stdout(Stdio::null()).stderr(Stdio::null()).status();
    let _ = child.kill();
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    let mut pipe = pipe?;
    Some(std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    }))
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

/// The native session files under `home`, sorted: Claude Code `~/.claude/projects/**/*.jsonl`
/// (sub-agent files included), Codex `~/.codex/sessions/**/rollout-*.jsonl`, Gemini CLI
/// `~/.gemini/tmp/*/chats/session-*.json` / `.jsonl`.
pub fn session_files(agent: AgentKind, home: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    match agent {
        AgentKind::ClaudeCode => walk(&home.join(".claude").join("projects"), &mut files),
        AgentKind::Codex => walk(&home.join(".codex").join("sessions"), &mut files),
        AgentKind::GeminiCli => {
            for project in read_dir(&home.join(".gemini").join("tmp")) {
                walk(&project.join("chats"), &mut files);
            }
        }
        _ => {}
    }
    files.retain(|path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match agent {
            AgentKind::ClaudeCode => name.ends_with(".jsonl"),
            AgentKind::Codex => name.starts_with("rollout-") && name.ends_with(".jsonl"),
            AgentKind::GeminiCli => {
                path.parent().and_then(Path::file_name).is_some_and(|d| d == "chats")
                    && name.starts_with("session-")
                    && (name.ends_with(".json") || name.ends_with(".jsonl"))
            }
            _ => false,
        }
    });
    files.sort();
    files
}

/// The agent's own id for the session stored in `file` (one of [`session_files`]): Claude Code's
/// `sessionId`, Codex's `session_meta.payload.id`, Gemini CLI's `sessionId`.
pub fn native_session_id(agent: AgentKind, file: &Path) -> Option<String> {
    let text = fs::read_to_string(file).ok()?;
    let from_value = |value: &serde_json::Value| -> Option<String> {
        let id = match agent {
            AgentKind::Codex if value["type"] == "session_meta" => &value["payload"]["id"],
            AgentKind::Codex => return None,
            _ => &value["sessionId"],
        };
        id.as_str().map(str::to_owned)
    };
    if let Ok(document) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(id) = from_value(&document)
    {
        return Some(id);
    }
    text.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).find_map(|v| from_value(&v))
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> =
        fs::read_dir(dir).map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    entries
}

/// Every regular file under `dir`, without following symbolic links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for path in read_dir(dir) {
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, out);
        } else if meta.is_file() {
            out.push(path);
        }
    }
}
