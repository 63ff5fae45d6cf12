//! `sfs resume`: continue a captured session in Claude Code, Codex or Gemini CLI.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, Result};
use sessionfs_agents::ResumeError;
use sessionfs_agents::resume::{cli, cli_info};
use sessionfs_client::ClientError;
use sessionfs_client::resume::{ResumeRequest, Resumed, resume};
use sessionfs_shared::AgentKind;

use crate::context;

/// Continue a session in Claude Code, Codex or Gemini CLI
#[derive(Debug, clap::Args)]
pub struct Resume {
    /// Session ID, unique ID prefix, or alias
    session: String,
    /// Agent to continue in: claude-code, codex or gemini-cli (default: the session's own)
    #[arg(long = "in", value_name = "AGENT")]
    target: Option<AgentKind>,
    /// Folder to continue in (default: the session's own if it exists here, else the current one)
    #[arg(long, value_name = "PATH")]
    project: Option<PathBuf>,
    /// Write the session, print its ID and the command, and do not start the agent
    #[arg(long)]
    no_launch: bool,
    /// Token budget for the conversation: older turns are trimmed to fit (default: the agent's context)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_tokens: Option<u64>,
    /// Write even if the installed agent's version is not one whose format SessionFS knows
    #[arg(long)]
    force_version: bool,
    /// With --no-launch: print a JSON object
    #[arg(long, requires = "no_launch")]
    json: bool,
}

impl Resume {
    pub fn run(self) -> Result<ExitCode> {
        let mut store = context::open_store()?;
        let id = store.index().resolve(&self.session)?;
        let target = match self.target {
            Some(t) => t,
            None => {
                let row = store.index().session(&id)?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
                row.source_tool
                    .parse()
                    .map_err(|_| ClientError::from(ResumeError::Unsupported { agent: row.source_tool }))?
            }
        };
        let info = cli_info(target)
            .ok_or_else(|| ClientError::from(ResumeError::Unsupported { agent: target.to_string() }))?;
        let exe = cli::find(info).map_err(ClientError::from)?;
        let version = cli::read_version(info, &exe).map_err(ClientError::from)?;
        cli::check_version(info, &version, self.force_version).map_err(ClientError::from)?;
        if !info.knows(&version) {
            eprintln!(
                "sfs: {target} {version} is not a verified version; writing the {target} {} format (--force-version)",
                info.newest_known()
            );
        }
        let current = std::env::current_dir().context("reading the current folder")?;
        let home = context::agent_home()?;
        let request = ResumeRequest {
            target,
            cli_version: &version,
            project: self.project.as_deref(),
            current_dir: &current,
            home: &home,
            max_tokens: self.max_tokens,
        };
        let resumed = resume(&mut store, &id, &request)?;
        drop(store);
        if let Some(note) = &resumed.cwd_note {
            eprintln!("sfs: {note}");
        }
        if let Some(t) = &resumed.trimmed {
            eprintln!("sfs: {}", t.describe());
        }
        let line = cli::shell_command_line(&resumed.cwd, &resumed.command);
        if self.no_launch {
            print_written(&resumed, &line, self.json)?;
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "sfs: continuing {} in {target} as {} ({} messages)",
            resumed.session_id, resumed.native_id, resumed.messages
        );
        launch(&exe, &resumed)
    }
}

fn print_written(resumed: &Resumed, line: &str, json: bool) -> Result<()> {
    if json {
        let mut value = serde_json::to_value(resumed)?;
        value["shell"] = line.into();
        return super::print_json(&value);
    }
    outln!("native id: {}", resumed.native_id);
    outln!("command:   {line}");
    Ok(())
}

/// Run the agent on the written session in its folder, on this terminal: the agent replaces `sfs`.
#[cfg(unix)]
fn launch(exe: &std::path::Path, resumed: &Resumed) -> Result<ExitCode> {
    use std::os::unix::process::CommandExt as _;
    let err = Command::new(exe).args(resumed.command.iter().skip(1)).current_dir(&resumed.cwd).exec();
    Err(ClientError::from(ResumeError::Launch { program: exe.display().to_string(), source: err }).into())
}

/// Run the agent on the written session in its folder, on this terminal, and pass on its exit code.
#[cfg(not(unix))]
fn launch(exe: &std::path::Path, resumed: &Resumed) -> Result<ExitCode> {
    let status = Command::new(exe)
        .args(resumed.command.iter().skip(1))
        .current_dir(&resumed.cwd)
        .status()
        .map_err(|source| ClientError::from(ResumeError::Launch { program: exe.display().to_string(), source }))?;
    Ok(ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8))
}
