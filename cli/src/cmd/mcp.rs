//! `sfs mcp`: serve the local store's sessions to agents over MCP (stdio), and write the MCP entry into an
//! agent's own configuration.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};
use sessionfs_agents::AgentDirs;
use sessionfs_client::LocalSource;

use crate::context;

/// The name our entry has in every agent's configuration.
const ENTRY: &str = "sessionfs";

/// Serve sessions to agents over MCP, or add SessionFS to an agent's MCP settings
#[derive(Debug, clap::Subcommand)]
pub enum Mcp {
    /// Serve the local store's sessions as MCP tools on stdin/stdout (logs go to stderr)
    Serve,
    /// Write the SessionFS MCP entry into an agent's configuration (idempotent; other settings are kept)
    Install(Install),
}

/// Arguments of `sfs mcp install`.
#[derive(Debug, clap::Args)]
pub struct Install {
    /// The agent: claude-code, codex, gemini-cli or cursor
    #[arg(long = "for", value_name = "AGENT")]
    target: Target,
    /// Use the server's MCP endpoint (e.g. https://sfs.example.com/mcp) with the logged-in API key, instead of
    /// the local `sfs mcp serve`
    #[arg(long, value_name = "URL")]
    remote: Option<String>,
}

/// Agents whose MCP configuration `sfs mcp install` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// `~/.claude.json` → `mcpServers`
    ClaudeCode,
    /// `~/.codex/config.toml` → `[mcp_servers.sessionfs]`
    Codex,
    /// `~/.gemini/settings.json` → `mcpServers`
    GeminiCli,
    /// `~/.cursor/mcp.json` → `mcpServers`
    Cursor,
}

/// How the agent reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Run `command args…` and talk over stdio.
    Stdio {
        /// The program.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Environment to set.
        env: Vec<(String, String)>,
    },
    /// Streamable HTTP at `url` with a bearer key.
    Http {
        /// The endpoint.
        url: String,
        /// The API key.
        key: String,
    },
}

impl Mcp {
    pub fn run(self) -> Result<ExitCode> {
        match self {
            Self::Serve => serve(),
            Self::Install(i) => i.run(),
        }
    }
}

fn serve() -> Result<ExitCode> {
    let paths = context::store_paths()?;
    let home = context::agent_home()?;
    let current = std::env::current_dir().context("reading the current folder")?;
    let source = Arc::new(LocalSource::new(paths, home, current));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(sessionfs_mcp::serve_stdio(source))?;
    Ok(ExitCode::SUCCESS)
}

impl Install {
    fn run(self) -> Result<ExitCode> {
        let dirs = context::agent_dirs()?;
        let endpoint = match &self.remote {
            Some(url) => {
                let paths = context::store_paths()?;
                let config = sessionfs_client::ClientConfig::load(paths.root())?;
                let remote = config.remote().ok_or(sessionfs_client::sync::SyncError::NotLoggedIn)?;
                Endpoint::Http { url: url.clone(), key: remote.api_key }
            }
            None => {
                let exe = std::env::current_exe().context("finding the sfs program")?;
                let env = std::env::var("SFS_HOME").ok().filter(|h| !h.is_empty());
                Endpoint::Stdio {
                    command: exe.display().to_string(),
                    args: vec!["mcp".into(), "serve".into()],
                    env: env.map(|h| vec![("SFS_HOME".to_owned(), h)]).unwrap_or_default(),
                }
            }
        };
        let (path, changed) = install(self.target, &dirs, &endpoint)?;
        if changed {
            eprintln!("sfs: added the {ENTRY} MCP server to {}", path.display());
        } else {
            eprintln!("sfs: {} already has this {ENTRY} MCP server", path.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// The configuration file `target` reads, where `dirs` says its folder is.
pub fn config_path(target: Target, dirs: &AgentDirs) -> PathBuf {
    match target {
        // Beside `~/.claude`, or inside `CLAUDE_CONFIG_DIR` when that moves it (as Claude Code 2.1 looks).
        Target::ClaudeCode if dirs.claude() != dirs.home().join(".claude") => dirs.claude().join(".claude.json"),
        Target::ClaudeCode => dirs.home().join(".claude.json"),
        Target::Codex => dirs.codex().join("config.toml"),
        Target::GeminiCli => dirs.gemini().join("settings.json"),
        Target::Cursor => dirs.home().join(".cursor").join("mcp.json"),
    }
}

/// Write the entry; returns the file and whether it changed. Everything else in the file is kept.
pub fn install(target: Target, dirs: &AgentDirs, endpoint: &Endpoint) -> Result<(PathBuf, bool)> {
    let path = config_path(target, dirs);
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let new = match target {
        Target::Codex => codex_text(old.as_deref(), endpoint)?,
        _ => json_text(target, old.as_deref(), endpoint)?,
    };
    if old.as_deref() == Some(new.as_str()) {
        return Ok((path, false));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("sfs-tmp");
    std::fs::write(&tmp, &new).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok((path, true))
}

fn json_entry(target: Target, endpoint: &Endpoint) -> Value {
    match endpoint {
        Endpoint::Stdio { command, args, env } => {
            let env: Map<String, Value> = env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
            let mut entry = json!({ "command": command, "args": args, "env": env });
            if target == Target::ClaudeCode {
                entry["type"] = "stdio".into();
            }
            entry
        }
        Endpoint::Http { url, key } => {
            let headers = json!({ "Authorization": format!("Bearer {key}") });
            match target {
                Target::ClaudeCode => json!({ "type": "http", "url": url, "headers": headers }),
                Target::GeminiCli => json!({ "httpUrl": url, "headers": headers }),
                _ => json!({ "url": url, "headers": headers }),
            }
        }
    }
}

fn json_text(target: Target, old: Option<&str>, endpoint: &Endpoint) -> Result<String> {
    let mut doc: Value = match old.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => serde_json::from_str(text).context("the agent's settings file is not valid JSON")?,
        None => json!({}),
    };
    let Some(root) = doc.as_object_mut() else { bail!("the agent's settings file is not a JSON object") };
    let servers = root.entry("mcpServers").or_insert_with(|| json!({}));
    let Some(servers) = servers.as_object_mut() else { bail!("mcpServers in the agent's settings is not an object") };
    servers.insert(ENTRY.to_owned(), json_entry(target, endpoint));
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

/// Codex's `config.toml` with our `[mcp_servers.sessionfs]`, edited in place: the user's comments, key order
/// and formatting stay as they were.
fn codex_text(old: Option<&str>, endpoint: &Endpoint) -> Result<String> {
    use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};
    let mut doc: DocumentMut = old.unwrap_or("").parse().context("~/.codex/config.toml is not valid TOML")?;
    let mut entry = Table::new();
    match endpoint {
        Endpoint::Stdio { command, args, env } => {
            entry["command"] = value(command.as_str());
            entry["args"] = value(args.iter().map(String::as_str).collect::<Array>());
            if !env.is_empty() {
                let mut t = InlineTable::new();
                for (k, v) in env {
                    t.insert(k, v.as_str().into());
                }
                entry["env"] = value(t);
            }
        }
        Endpoint::Http { url, key } => {
            entry["url"] = value(url.as_str());
            let mut headers = InlineTable::new();
            headers.insert("Authorization", format!("Bearer {key}").into());
            entry["http_headers"] = value(headers);
        }
    }
    if !doc.contains_key("mcp_servers") {
        let mut servers = Table::new();
        servers.set_implicit(true); // no empty `[mcp_servers]` header above ours
        doc.insert("mcp_servers", Item::Table(servers));
    }
    match doc.get_mut("mcp_servers") {
        Some(Item::Table(servers)) => {
            servers.insert(ENTRY, Item::Table(entry));
        }
        Some(Item::Value(toml_edit::Value::InlineTable(servers))) => {
            servers.insert(ENTRY, toml_edit::Value::InlineTable(entry.into_inline_table()));
        }
        _ => bail!("mcp_servers in ~/.codex/config.toml is not a table"),
    }
    let text = doc.to_string();
    // Unchanged content keeps the file byte for byte.
    if let Some(old) = old
        && toml::from_str::<toml::Table>(old).ok() == toml::from_str::<toml::Table>(&text).ok()
    {
        return Ok(old.to_owned());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn stdio() -> Endpoint {
        Endpoint::Stdio { command: "/usr/bin/sfs".into(), args: vec!["mcp".into(), "serve".into()], env: vec![] }
    }

    #[test]
    fn each_config_is_where_the_agents_variable_moves_it() {
        let vars = |name: &str| match name {
            sessionfs_agents::CLAUDE_CONFIG_DIR => Some("/c".into()),
            sessionfs_agents::CODEX_HOME => Some("/x".into()),
            sessionfs_agents::GEMINI_CLI_HOME => Some("/g".into()),
            _ => None,
        };
        let moved = AgentDirs::resolve("/h".into(), vars);
        assert_eq!(config_path(Target::ClaudeCode, &moved), Path::new("/c/.claude.json"));
        assert_eq!(config_path(Target::Codex, &moved), Path::new("/x/config.toml"));
        assert_eq!(config_path(Target::GeminiCli, &moved), Path::new("/g/.gemini/settings.json"));
        let home = AgentDirs::under("/h");
        assert_eq!(config_path(Target::ClaudeCode, &home), Path::new("/h/.claude.json"));
        assert_eq!(config_path(Target::Codex, &home), Path::new("/h/.codex/config.toml"));
    }

    #[test]
    fn json_agents_keep_other_keys_and_are_idempotent() {
        for target in [Target::ClaudeCode, Target::GeminiCli, Target::Cursor] {
            let home = tempfile::tempdir().unwrap();
            let path = config_path(target, &AgentDirs::under(home.path()));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, r#"{"theme":"dark","mcpServers":{"other":{"command":"x"}},"n":1}"#).unwrap();
            let (_, changed) = install(target, &AgentDirs::under(home.path()), &stdio()).unwrap();
            assert!(changed);
            let first = std::fs::read_to_string(&path).unwrap();
            let (_, changed) = install(target, &AgentDirs::under(home.path()), &stdio()).unwrap();
            assert!(!changed, "{target:?}: second install changed the file");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
            let v: Value = serde_json::from_str(&first).unwrap();
            assert_eq!(v["theme"], "dark");
            assert_eq!(v["n"], 1);
            assert_eq!(v["mcpServers"]["other"]["command"], "x");
            assert_eq!(v["mcpServers"]["sessionfs"]["args"], json!(["mcp", "serve"]));
            let http = Endpoint::Http { url: "https://h/mcp".into(), key: "sk_sfs_k".into() };
            install(target, &AgentDirs::under(home.path()), &http).unwrap();
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_eq!(v["mcpServers"]["sessionfs"]["headers"]["Authorization"], "Bearer sk_sfs_k");
            assert_eq!(v["mcpServers"]["other"]["command"], "x");
        }
    }

    #[test]
    fn codex_keeps_other_tables_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        let path = config_path(Target::Codex, &AgentDirs::under(home.path()));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "model = \"o4\"\n\n[mcp_servers.other]\ncommand = \"x\"\n").unwrap();
        assert!(install(Target::Codex, &AgentDirs::under(home.path()), &stdio()).unwrap().1);
        let first = std::fs::read_to_string(&path).unwrap();
        assert!(!install(Target::Codex, &AgentDirs::under(home.path()), &stdio()).unwrap().1);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        let t: toml::Table = toml::from_str(&first).unwrap();
        assert_eq!(t["model"].as_str(), Some("o4"));
        assert_eq!(t["mcp_servers"]["other"]["command"].as_str(), Some("x"));
        assert_eq!(t["mcp_servers"]["sessionfs"]["command"].as_str(), Some("/usr/bin/sfs"));
    }

    #[test]
    fn codex_config_keeps_comments_and_layout() {
        let home = tempfile::tempdir().unwrap();
        let path = config_path(Target::Codex, &AgentDirs::under(home.path()));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let before = "# my settings\nmodel = \"o4\"   # the fast one\n\n[tui]\n# quiet please\nnotifications = false\n";
        std::fs::write(&path, before).unwrap();
        install(Target::Codex, &AgentDirs::under(home.path()), &stdio()).unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with(before), "the user's part is unchanged:\n{after}");
        assert!(after.contains("[mcp_servers.sessionfs]"), "{after}");
        assert!(!after.contains("[mcp_servers]\n"), "no empty parent table header: {after}");
        let http = Endpoint::Http { url: "https://h/mcp".into(), key: "sk_sfs_k".into() };
        install(Target::Codex, &AgentDirs::under(home.path()), &http).unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with(before), "{after}");
        let t: toml::Table = toml::from_str(&after).unwrap();
        assert_eq!(t["mcp_servers"]["sessionfs"]["http_headers"]["Authorization"].as_str(), Some("Bearer sk_sfs_k"));
        assert!(t["mcp_servers"]["sessionfs"].get("command").is_none(), "the entry is replaced, not merged");
    }

    #[test]
    fn missing_file_is_created() {
        let home = tempfile::tempdir().unwrap();
        let (path, changed) = install(Target::Cursor, &AgentDirs::under(home.path()), &stdio()).unwrap();
        assert!(changed && path.exists());
    }
}
