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

/// The agent named in a manifest's `source.tool`. Any non-empty name is accepted, because real stores
/// hold sessions of tools this build does not know (the original's client captures more agents than it
/// names); [`ToolName::kind`] says whether it is one of ours.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ToolName(String);

/// An empty tool name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source.tool must name the agent (e.g. claude-code, codex, gemini-cli); it is empty")]
pub struct EmptyToolName;

impl ToolName {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The agent, when this build knows it (aliases such as `gemini` included).
    pub fn kind(&self) -> Option<AgentKind> {
        self.0.parse().ok()
    }

    /// The canonical name for known agents, the name as written otherwise.
    pub fn canonical(&self) -> &str {
        match self.kind() {
            Some(k) => k.as_str(),
            None => &self.0,
        }
    }
}

impl TryFrom<String> for ToolName {
    type Error = EmptyToolName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let t = s.trim();
        if t.is_empty() { Err(EmptyToolName) } else { Ok(Self(t.to_owned())) }
    }
}

impl From<ToolName> for String {
    fn from(t: ToolName) -> Self {
        t.0
    }
}

impl From<AgentKind> for ToolName {
    fn from(k: AgentKind) -> Self {
        Self(k.as_str().to_owned())
    }
}

impl PartialEq<AgentKind> for ToolName {
    fn eq(&self, other: &AgentKind) -> bool {
        self.kind() == Some(*other)
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tool_name_tests {
    use super::*;

    #[test]
    fn unknown_tools_are_kept_known_ones_recognised() {
        let t: ToolName = serde_json::from_str("\"antigravity\"").unwrap();
        assert_eq!((t.as_str(), t.kind()), ("antigravity", None));
        let g: ToolName = serde_json::from_str("\"gemini\"").unwrap();
        assert_eq!((g.kind(), g.canonical()), (Some(AgentKind::GeminiCli), "gemini-cli"));
        assert!(serde_json::from_str::<ToolName>("\"  \"").is_err());
        assert_eq!(ToolName::from(AgentKind::Codex), AgentKind::Codex);
    }
}
