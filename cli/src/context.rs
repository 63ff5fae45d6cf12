//! What every command needs: where the store is, whose agent folders to read, logging.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use sessionfs_agents::AgentDirs;
use sessionfs_client::{Capturer, Store, StorePaths};

/// The store (`$SFS_HOME`, default `~/.sessionfs`).
pub fn store_paths() -> Result<StorePaths> {
    StorePaths::from_env().context("cannot find the store: set SFS_HOME or HOME")
}

/// Open the store.
pub fn open_store() -> Result<Store> {
    let paths = store_paths()?;
    Store::open(paths.clone()).with_context(|| format!("opening the store at {}", paths.root().display()))
}

/// The folder whose agent folders (`.claude`, `.codex`, `.gemini`) are captured: `$HOME`.
pub fn agent_home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set: cannot find the agents' session folders")
}

/// The agents' folders: under `$HOME`, unless `CLAUDE_CONFIG_DIR`, `CODEX_HOME` or `GEMINI_CLI_HOME` moves
/// them, as each moves the agent's own.
pub fn agent_dirs() -> Result<AgentDirs> {
    Ok(AgentDirs::from_env(agent_home()?))
}

/// A capturer over the store and the agents' folders.
pub fn capturer() -> Result<Capturer> {
    Ok(Capturer::new(open_store()?, agent_dirs()?))
}

/// Log warnings to stderr (`SFS_LOG` sets the filter).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // No colours: log lines quote paths and errors from session files, so control characters are shown, not
    // sent (`PrintableWriter`), and that would show colour codes too.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| sessionfs_shared::terminal::PrintableWriter(std::io::stderr()))
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// The configured server, or the not-logged-in error with its hint.
pub fn remote() -> Result<sessionfs_client::sync::RemoteClient> {
    let paths = store_paths()?;
    let config = sessionfs_client::ClientConfig::load(paths.root())?;
    let remote = config.remote().ok_or(sessionfs_client::sync::SyncError::NotLoggedIn)?;
    Ok(sessionfs_client::sync::RemoteClient::new(&remote)?)
}

/// A syncer over the store and the configured server.
pub fn syncer() -> Result<sessionfs_client::sync::Syncer> {
    Ok(sessionfs_client::sync::Syncer::new(open_store()?, remote()?))
}
