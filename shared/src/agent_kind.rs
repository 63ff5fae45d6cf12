//! The coding agents SessionFS knows, by the names the `.sfs` format uses (`source.tool`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A coding agent. The wire/manifest name is [`AgentKind::as_str`]; [`FromStr`] also takes the short
/// names people type (`claude`, `gemini`, `copilot`, `roo`, `kilo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum AgentKind {
    /// Anthropic's Claude Code CLI.
    ClaudeCode,
    /// OpenAI's Codex CLI.
    Codex,
    /// Google's Gemini CLI.
    GeminiCli,
    /// GitHub Copilot CLI.
    CopilotCli,
    /// Cursor (IDE).
    Cursor,
    /// Sourcegraph Amp.
    Amp,
    /// Cline (VS Code extension).
    Cline,
    /// Roo Code (VS Code extension).
    RooCode,
    /// Kilo Code (VS Code extension).
    KiloCode,
}

/// A name that is no known agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown agent {given:?}: expected one of claude-code, codex, gemini-cli, copilot-cli, cursor, amp, cline, roo-code, kilo-code"
)]
pub struct UnknownAgent {
    /// What was given.
    pub given: String,
}

impl AgentKind {
    /// Every agent, in display order.
    pub const ALL: [AgentKind; 9] = [
        Self::ClaudeCode,
        Self::Codex,
        Self::GeminiCli,
        Self::CopilotCli,
        Self::Cursor,
        Self::Amp,
        Self::Cline,
        Self::RooCode,
        Self::KiloCode,
    ];

    /// The name written to `manifest.source.tool` and used on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::Codex => "codex",
            Self::GeminiCli => "gemini-cli",
            Self::CopilotCli => "copilot-cli",
            Self::Cursor => "cursor",
            Self::Amp => "amp",
            Self::Cline => "cline",
            Self::RooCode => "roo-code",
            Self::KiloCode => "kilo-code",
        }
    }

    /// The model provider an agent talks to by default.
    pub const fn default_provider(self) -> &'static str {
        match self {
            Self::ClaudeCode => "anthropic",
            Self::Codex => "openai",
            Self::GeminiCli => "google",
            Self::CopilotCli => "github",
            _ => "unknown",
        }
    }
}

impl FromStr for AgentKind {
    type Err = UnknownAgent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let kind = match s.trim().to_ascii_lowercase().as_str() {
            "claude-code" | "claude" | "claude_code" | "cc" => Self::ClaudeCode,
            "codex" | "codex-cli" => Self::Codex,
            "gemini-cli" | "gemini" => Self::GeminiCli,
            "copilot-cli" | "copilot" => Self::CopilotCli,
            "cursor" => Self::Cursor,
            "amp" => Self::Amp,
            "cline" => Self::Cline,
            "roo-code" | "roo" => Self::RooCode,
            "kilo-code" | "kilo" | "kilocode" => Self::KiloCode,
            _ => {
                return Err(UnknownAgent { given: s.to_owned() });
            }
        };
        Ok(kind)
    }
}

impl TryFrom<String> for AgentKind {
    type Error = UnknownAgent;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AgentKind> for &'static str {
    fn from(k: AgentKind) -> Self {
        k.as_str()
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for kind in AgentKind::ALL {
            assert_eq!(kind.as_str().parse::<AgentKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<AgentKind>(&json).unwrap(), kind);
        }
        assert_eq!("claude".parse::<AgentKind>().unwrap(), AgentKind::ClaudeCode);
        assert_eq!("Gemini".parse::<AgentKind>().unwrap(), AgentKind::GeminiCli);
        let err = "vim".parse::<AgentKind>().unwrap_err();
        assert!(err.to_string().contains("claude-code"));
    }
}
