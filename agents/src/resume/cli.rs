//! The agents' command-line programs: finding them on `PATH`, asking their version, and the command that
//! continues a native session.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sessionfs_shared::AgentKind;

use super::ResumeError;
use super::tools::shell_quote;

/// How long `<program> --version` may take (Node CLIs start slowly on a cold disk).
const VERSION_TIMEOUT: Duration = Duration::from_secs(30);

/// One agent's command-line program, as far as resume needs it.
#[derive(Debug)]
pub struct CliInfo {
    /// The agent.
    pub agent: AgentKind,
    /// The command (`claude`, `codex`, `gemini`).
    pub program: &'static str,
    /// The npm package that installs it.
    pub package: &'static str,
    /// Versions whose session format was verified against the real CLI, oldest first.
    pub known_versions: &'static [&'static str],
    /// The context window of the agent's default model, in tokens.
    pub context_tokens: u64,
    /// Arguments before the native session ID that continue a session (`--resume`, or the `resume`
    /// subcommand).
    pub resume_args: &'static [&'static str],
}

impl CliInfo {
    /// The command (argv) that continues native session `native_id` interactively.
    pub fn launch(&self, native_id: &str) -> Vec<String> {
        std::iter::once(self.program)
            .chain(self.resume_args.iter().copied())
            .chain(std::iter::once(native_id))
            .map(str::to_owned)
            .collect()
    }

    /// Tokens a resumed conversation may take: the context window less room for the agent's own system
    /// prompt and tool definitions (about 20k tokens in each of the three) and for the next answer.
    pub fn conversation_budget(&self) -> u64 {
        self.context_tokens.saturating_sub(self.context_tokens / 5).saturating_sub(32_000)
    }

    /// Whether `version` is one SessionFS knows the format of.
    pub fn knows(&self, version: &str) -> bool {
        self.known_versions.contains(&version)
    }

    /// The newest known version.
    pub fn newest_known(&self) -> &'static str {
        self.known_versions.last().copied().unwrap_or_default()
    }
}

/// The executable `program` in the folders of `path_var` (a `PATH` value), if there is one.
pub fn locate(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{program}.exe"), format!("{program}.cmd"), program.to_owned()]
    } else {
        vec![program.to_owned()]
    };
    std::env::split_paths(path_var)
        .filter(|d| !d.as_os_str().is_empty())
        .find_map(|dir| names.iter().map(|n| dir.join(n)).find(|p| is_executable(p)))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The agent's executable on this machine's `PATH`.
pub fn find(info: &CliInfo) -> Result<PathBuf, ResumeError> {
    locate(info.program, std::env::var_os("PATH").as_deref()).ok_or(ResumeError::NotInstalled {
        agent: info.agent,
        program: info.program,
        package: info.package,
    })
}

/// The version `exe --version` reports (`2.1.197 (Claude Code)`, `codex-cli 0.169.0`, `0.61.0`).
pub fn read_version(info: &CliInfo, exe: &Path) -> Result<String, ResumeError> {
    let unreadable =
        |detail: String| ResumeError::VersionUnreadable { agent: info.agent, path: exe.to_owned(), detail };
    let mut child = Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| unreadable(e.to_string()))?;
    let deadline = Instant::now() + VERSION_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(unreadable(format!("no answer within {}s", VERSION_TIMEOUT.as_secs())));
            }
            Err(e) => return Err(unreadable(e.to_string())),
        }
    }
    let output = child.wait_with_output().map_err(|e| unreadable(e.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_version(&text).ok_or_else(|| unreadable(format!("it printed {:?}", text.trim())))
}

/// The first word of `text` that looks like a version number.
pub fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_start_matches('v'))
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_owned)
}

/// Refuse a version whose format SessionFS does not know, unless `force`.
pub fn check_version(info: &CliInfo, version: &str, force: bool) -> Result<(), ResumeError> {
    if force || info.knows(version) {
        return Ok(());
    }
    Err(ResumeError::UnknownVersion {
        agent: info.agent,
        found: version.to_owned(),
        known: info.known_versions.to_vec(),
        package: info.package,
    })
}

/// `cd <dir> && <argv…>`, quoted for a POSIX shell.
pub fn shell_command_line(cwd: &Path, argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
    format!("cd {} && {}", shell_quote(&cwd.to_string_lossy()), words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    static INFO: CliInfo = CliInfo {
        agent: AgentKind::Codex,
        program: "codex",
        package: "@openai/codex",
        known_versions: &["0.169.0"],
        context_tokens: 258_400,
        resume_args: &["resume"],
    };

    #[test]
    fn versions_from_each_cli() {
        assert_eq!(parse_version("2.1.197 (Claude Code)\n").as_deref(), Some("2.1.197"));
        assert_eq!(parse_version("codex-cli 0.169.0\n").as_deref(), Some("0.169.0"));
        assert_eq!(parse_version("v0.61.0").as_deref(), Some("0.61.0"));
        assert_eq!(parse_version("command not found"), None);
    }

    #[test]
    fn an_unknown_version_names_the_known_ones_and_the_override() {
        check_version(&INFO, "0.169.0", false).unwrap();
        check_version(&INFO, "0.170.0", true).unwrap();
        let err = check_version(&INFO, "0.170.0", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "codex \"0.170.0\" writes a session format SessionFS has not verified (known versions: 0.169.0)"
        );
        let hint = err.hint().unwrap();
        assert!(hint.contains("npm install -g @openai/codex@0.169.0") && hint.contains("--force-version"), "{hint}");
    }

    #[test]
    fn a_missing_program_says_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(locate("codex", Some(empty.path().as_os_str())), None);
        assert_eq!(locate("codex", None), None);
        let err = ResumeError::NotInstalled { agent: INFO.agent, program: INFO.program, package: INFO.package };
        assert_eq!(err.to_string(), "codex is not installed: no `codex` on PATH");
        assert!(err.hint().unwrap().contains("npm install -g @openai/codex"));
    }

    #[cfg(unix)]
    #[test]
    fn locate_finds_executables_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("codex");
        std::fs::write(&exe, "#!/bin/sh\necho codex-cli 0.169.0\n").unwrap();
        assert_eq!(locate("codex", Some(dir.path().as_os_str())), None, "not executable yet");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate("codex", Some(dir.path().as_os_str())), Some(exe.clone()));
        assert_eq!(read_version(&INFO, &exe).unwrap(), "0.169.0");
    }

    #[test]
    fn launch_commands() {
        assert_eq!(INFO.launch("abc"), ["codex", "resume", "abc"]);
        assert_eq!(
            shell_command_line(Path::new("/tmp/my dir"), &INFO.launch("abc")),
            "cd '/tmp/my dir' && codex resume abc"
        );
    }
}
