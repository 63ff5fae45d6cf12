//! Why a resume failed, and what to do about it.

use std::path::PathBuf;

use sessionfs_shared::AgentKind;

/// Everything that can stop a session from being written into an agent or launched there.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The agent has no writer.
    #[error("SessionFS cannot continue sessions in {agent:?}; it can in claude-code, codex and gemini-cli")]
    Unsupported {
        /// The agent asked for.
        agent: String,
    },
    /// The agent's command is not on `PATH`.
    #[error("{agent} is not installed: no `{program}` on PATH")]
    NotInstalled {
        /// The agent.
        agent: AgentKind,
        /// Its command.
        program: &'static str,
        /// Its npm package.
        package: &'static str,
    },
    /// `<program> --version` did not say.
    #[error("cannot read the version of {agent} from `{} --version`: {detail}", path.display())]
    VersionUnreadable {
        /// The agent.
        agent: AgentKind,
        /// The executable.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The installed version is not one whose session format was verified.
    #[error("{agent} {found:?} writes a session format SessionFS has not verified (known versions: {})", known.join(", "))]
    UnknownVersion {
        /// The agent.
        agent: AgentKind,
        /// The version found.
        found: String,
        /// The versions SessionFS writes for.
        known: Vec<&'static str>,
        /// The agent's npm package.
        package: &'static str,
    },
    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Codex's thread index could not be updated.
    #[error("registering the thread in Codex's index {}: {source}", path.display())]
    CodexIndex {
        /// `~/.codex/state_5.sqlite`.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// Codex's thread index has a shape SessionFS does not know.
    #[error("Codex's index {} has an unknown layout: {detail}", path.display())]
    CodexSchema {
        /// `~/.codex/state_5.sqlite`.
        path: PathBuf,
        /// What does not fit.
        detail: String,
    },
    /// Gemini CLI's project registry is held by another process.
    #[error("{} is locked by another Gemini CLI process", path.display())]
    Locked {
        /// The registry.
        path: PathBuf,
        /// The lock Gemini CLI takes on it (`projects.json.lock`).
        lock: PathBuf,
    },
    /// Gemini CLI's project registry is not the JSON it should be; it is left as it is.
    #[error("{} cannot be read as Gemini CLI's project registry: {detail}", path.display())]
    InvalidRegistry {
        /// `~/.gemini/projects.json`.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// Codex's `config.toml` is not valid TOML.
    #[error("{} is not valid TOML: {detail}", path.display())]
    InvalidCodexConfig {
        /// `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`).
        path: PathBuf,
        /// Where and what is wrong.
        detail: String,
    },
    /// The written session did not read back as intended; its files were removed.
    #[error("the session written for {agent} does not read back as intended, so it was removed: {difference}")]
    ReadBack {
        /// The target agent.
        agent: AgentKind,
        /// The native file.
        path: PathBuf,
        /// The first difference found.
        difference: String,
    },
    /// The session has no message to continue from.
    #[error("the session has no messages to continue from")]
    Empty,
    /// `--project` names no folder.
    #[error("--project {}: no such folder", path.display())]
    ProjectMissing {
        /// The path given.
        path: PathBuf,
    },
    /// The agent could not be started.
    #[error("starting {program}: {source}")]
    Launch {
        /// The command.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ResumeError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { action, path: path.into(), source }
    }

    /// What the user should do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Unsupported { .. } => Some("pass --in claude-code, --in codex or --in gemini-cli".into()),
            Self::NotInstalled { program, package, .. } => {
                Some(format!("install it with `npm install -g {package}`, then check that `{program} --version` runs"))
            }
            Self::VersionUnreadable { .. } => {
                Some("check that the agent runs; --force-version skips the version check".into())
            }
            Self::UnknownVersion { agent, known, package, .. } => {
                let newest = known.last().copied().unwrap_or_default();
                Some(format!(
                    "install a known version (`npm install -g {package}@{newest}`), or pass --force-version to write the {agent} {newest} format anyway"
                ))
            }
            Self::CodexIndex { .. } => {
                Some("another process holds it; close running agent sessions and try again".into())
            }
            Self::Locked { lock, .. } => Some(format!(
                "close running Gemini CLI sessions and try again; if none is running, remove {} (a lock left behind)",
                lock.display()
            )),
            Self::InvalidRegistry { path, .. } => Some(format!(
                "fix {} or move it aside (Gemini CLI makes a new one and registers its projects again), then resume again",
                path.display()
            )),
            Self::InvalidCodexConfig { path, .. } => Some(format!(
                "fix {} (Codex does not start with it either: it reads the model and provider from it), then resume again",
                path.display()
            )),
            Self::ReadBack { .. } => Some("this is a SessionFS bug: please report it with the difference shown".into()),
            Self::Empty => Some("pick another session with `sfs list`".into()),
            Self::ProjectMissing { .. } => Some("give an existing folder, or leave --project out".into()),
            _ => None,
        }
    }
}
