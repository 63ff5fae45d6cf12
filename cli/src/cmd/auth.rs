//! `sfs auth login|signup|status|logout`: which server to sync with, and the API key (kept in
//! `$SFS_HOME/config.toml`, owner-only, never printed in full).

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;
use sessionfs_client::config::redact_key;
use sessionfs_client::sync::RemoteClient;
use sessionfs_client::{ClientConfig, Remote};
use sessionfs_shared::size::human_bytes;

use crate::context;

/// Log in to a sync server, sign up, show or forget the login
#[derive(Debug, clap::Subcommand)]
pub enum Auth {
    /// Log in with an API key (checked against the server)
    Login {
        /// The server (default: the one already configured, else http://localhost:8080)
        #[arg(long)]
        url: Option<String>,
        /// The API key (sk_sfs_…); read from stdin when omitted
        #[arg(long, env = "SFS_API_KEY", hide_env_values = true)]
        key: Option<String>,
    },
    /// Create an account on the server and log in with its first key
    Signup {
        /// Your email
        #[arg(long)]
        email: String,
        /// The server
        #[arg(long)]
        url: Option<String>,
    },
    /// Show the server, the key (redacted) and the account
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Forget the server and the key
    Logout,
}

fn default_url(config: &ClientConfig, url: Option<String>) -> String {
    url.or_else(|| config.sync.as_ref().map(|r| r.url.clone())).unwrap_or_else(|| "http://localhost:8080".into())
}

impl Auth {
    pub fn run(self) -> Result<ExitCode> {
        let paths = context::store_paths()?;
        let mut config = match (ClientConfig::load(paths.root()), &self) {
            (Ok(config), _) => config,
            (Err(e), Self::Status { json: true }) => {
                // `--json` answers in JSON even when the config cannot be read.
                let error = format!("{e}");
                super::print_json(
                    &json!({ "logged_in": false, "url": null, "key": null, "account": null, "error": error }),
                )?;
                return Ok(ExitCode::FAILURE);
            }
            (Err(e), _) => return Err(e.into()),
        };
        match self {
            Self::Login { url, key } => {
                let url = default_url(&config, url);
                let key = match key {
                    Some(k) => k,
                    None => {
                        eprint!("API key for {url}: ");
                        let mut line = String::new();
                        std::io::stdin().lock().read_line(&mut line).context("reading the key from stdin")?;
                        line.trim().to_owned()
                    }
                };
                if key.is_empty() {
                    bail!("no API key given (pass --key, set SFS_API_KEY, or type it)");
                }
                let remote = Remote { url, api_key: key };
                let me = RemoteClient::new(&remote)?
                    .me()
                    .with_context(|| format!("checking the key with {}", remote.url))?;
                config.sync = Some(remote.clone());
                config.save(paths.root())?;
                outln!("Logged in to {} as {} (key {}).", remote.url, me.email, redact_key(&remote.api_key));
            }
            Self::Signup { email, url } => {
                let url = default_url(&config, url);
                // The same rule as every later request, checked before this one: the answer carries the new key,
                // and a key sent over plain http to another host would be refused afterwards, leaving an account
                // whose only key was never saved.
                let base = RemoteClient::new(&Remote { url: url.clone(), api_key: String::new() })?.base().to_owned();
                let resp = reqwest::blocking::Client::new()
                    .post(format!("{base}/api/v1/auth/signup"))
                    .json(&json!({ "email": email }))
                    .send()
                    .with_context(|| format!("reaching {base}"))?;
                let status = resp.status();
                let body: serde_json::Value = resp.json().unwrap_or_default();
                if !status.is_success() {
                    bail!("signup refused ({status}): {}", body["error"]["message"].as_str().unwrap_or("no details"));
                }
                let key = body["raw_key"].as_str().context("the server sent no key")?.to_owned();
                // The server's note starts like ours and says to keep the key: the key is shown right below it.
                let note = body["message"].as_str().unwrap_or("");
                let note = note.strip_prefix("Account created.").unwrap_or(note).trim();
                outln!("Account created for {email} on {base}. {note}");
                // Shown in full this once (before saving it, so a failed save does not lose it): the dashboard
                // and other machines sign in with it.
                outln!("Your API key (not shown again; it signs you in to the dashboard and on other machines):");
                outln!("  {key}");
                let remote = Remote { url: base, api_key: key };
                config.sync = Some(remote.clone());
                config.save(paths.root()).context(
                    "saving the key; log in with `sfs auth login --url <server> --key <the key above>` once fixed",
                )?;
                outln!(
                    "Logged in. The key is stored in {}, readable only by you.",
                    ClientConfig::path(paths.root()).display()
                );
            }
            Self::Status { json } => {
                let Some(remote) = config.remote() else {
                    if json {
                        super::print_json(
                            &json!({ "logged_in": false, "url": null, "key": null, "account": null, "error": null }),
                        )?;
                    } else {
                        outln!("Not logged in. Run `sfs auth login --url <server> --key <sk_sfs_…>`.");
                    }
                    return Ok(ExitCode::SUCCESS);
                };
                let me = match RemoteClient::new(&remote) {
                    Ok(c) => c.me(),
                    Err(e) => Err(e),
                };
                if json {
                    let (account, error) = match &me {
                        Ok(m) => (serde_json::to_value(m)?, None),
                        Err(e) => (serde_json::Value::Null, Some(e.to_string())),
                    };
                    super::print_json(
                        &json!({ "logged_in": true, "url": remote.url, "key": redact_key(&remote.api_key), "account": account, "error": error }),
                    )?;
                    return Ok(if me.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
                }
                outln!("Server: {}\nKey:    {}", remote.url, redact_key(&remote.api_key));
                match me {
                    Ok(m) => outln!(
                        "Account: {} ({}verified), {} used{}",
                        m.email,
                        if m.email_verified { "" } else { "not " },
                        human_bytes(m.storage_used_bytes),
                        m.storage_quota_bytes.map(|q| format!(" of {}", human_bytes(q))).unwrap_or_default()
                    ),
                    Err(e) => return Err(e).context("the server did not accept the key"),
                }
            }
            Self::Logout => {
                config.sync = None;
                config.save(paths.root())?;
                outln!("Logged out; the key was removed from {}.", ClientConfig::path(paths.root()).display());
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
