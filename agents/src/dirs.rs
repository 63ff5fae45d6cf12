//! Where each agent keeps its files. By default `~/.claude`, `~/.codex` and `~/.gemini`, but each agent
//! has a variable that moves its folder, and it writes its sessions there: capture must look, and resume
//! must write, where the agent itself does. Resolved once, here, for both.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Claude Code's folder instead of `~/.claude`.
pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// Codex's folder instead of `~/.codex`.
pub const CODEX_HOME: &str = "CODEX_HOME";
/// The folder holding `.gemini` instead of the home folder (gemini-cli 0.61.0).
pub const GEMINI_CLI_HOME: &str = "GEMINI_CLI_HOME";

/// The agents' folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDirs {
    home: PathBuf,
    claude: PathBuf,
    codex: PathBuf,
    gemini: PathBuf,
}

impl AgentDirs {
    /// The default folders under `home`, whatever the environment says (tests, an explicit home).
    pub fn under(home: impl Into<PathBuf>) -> Self {
        Self::resolve(home.into(), |_| None)
    }

    /// The folders the agents use when run in this process's environment: `home` is `$HOME`, and
    /// `CLAUDE_CONFIG_DIR`, `CODEX_HOME` and `GEMINI_CLI_HOME` move them as they move the agents' own.
    pub fn from_env(home: impl Into<PathBuf>) -> Self {
        Self::resolve(home.into(), |name| std::env::var_os(name))
    }

    /// `var` reads a variable; an empty one counts as unset, as the agents treat it.
    pub fn resolve(home: PathBuf, var: impl Fn(&str) -> Option<OsString>) -> Self {
        // A relative value is relative to where the agent is started; capture may run elsewhere later.
        let dir = |name: &str| {
            var(name).filter(|v| !v.is_empty()).map(|v| std::path::absolute(&v).unwrap_or_else(|_| PathBuf::from(v)))
        };
        Self {
            claude: dir(CLAUDE_CONFIG_DIR).unwrap_or_else(|| home.join(".claude")),
            codex: dir(CODEX_HOME).unwrap_or_else(|| home.join(".codex")),
            gemini: dir(GEMINI_CLI_HOME).unwrap_or_else(|| home.clone()).join(".gemini"),
            home,
        }
    }

    /// The home folder they were resolved from.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Claude Code's folder (`~/.claude`).
    pub fn claude(&self) -> &Path {
        &self.claude
    }

    /// Codex's folder (`~/.codex`).
    pub fn codex(&self) -> &Path {
        &self.codex
    }

    /// Gemini CLI's folder (`~/.gemini`).
    pub fn gemini(&self) -> &Path {
        &self.gemini
    }
}

impl From<PathBuf> for AgentDirs {
    fn from(home: PathBuf) -> Self {
        Self::under(home)
    }
}

impl From<&Path> for AgentDirs {
    fn from(home: &Path) -> Self {
        Self::under(home)
    }
}

impl From<&PathBuf> for AgentDirs {
    fn from(home: &PathBuf) -> Self {
        Self::under(home)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_under_home() {
        let d = AgentDirs::under("/h");
        assert_eq!(
            (d.claude(), d.codex(), d.gemini()),
            (Path::new("/h/.claude"), Path::new("/h/.codex"), Path::new("/h/.gemini"))
        );
    }

    #[test]
    fn each_agents_variable_moves_its_folder() {
        let vars = |name: &str| match name {
            CLAUDE_CONFIG_DIR => Some("/c".into()),
            CODEX_HOME => Some("/x".into()),
            GEMINI_CLI_HOME => Some("/g".into()),
            _ => None,
        };
        let d = AgentDirs::resolve("/h".into(), vars);
        assert_eq!(d.claude(), Path::new("/c"), "CLAUDE_CONFIG_DIR replaces ~/.claude");
        assert_eq!(d.codex(), Path::new("/x"), "CODEX_HOME replaces ~/.codex");
        assert_eq!(d.gemini(), Path::new("/g/.gemini"), "GEMINI_CLI_HOME holds .gemini");
        let empty = AgentDirs::resolve("/h".into(), |_| Some("".into()));
        assert_eq!(empty, AgentDirs::under("/h"), "an empty variable is unset");
    }
}
