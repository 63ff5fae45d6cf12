//! `$SFS_HOME/config.toml`: where the server is and the API key, written owner-only (0600) because it
//! holds a credential. `SFS_API_URL` and `SFS_API_KEY` (or the original's `SESSIONFS_API_URL`/`_KEY`)
//! override the file, for CI and containers.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};
use crate::session_dir::write_atomic;

/// Connection to a sync server.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// Base URL, e.g. `https://sessionfs.example.com`.
    pub url: String,
    /// `sk_sfs_…`
    pub api_key: String,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).field("api_key", &redact_key(&self.api_key)).finish()
    }
}

/// A key shown safely: its prefix and `…(redacted)`.
pub fn redact_key(key: &str) -> String {
    let shown: String = key.chars().take(11).collect();
    format!("{shown}…(redacted)")
}

/// The client's settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The sync server, once logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<Remote>,
}

impl ClientConfig {
    /// The file.
    pub fn path(store_root: &Path) -> PathBuf {
        store_root.join("config.toml")
    }

    /// Read it; a missing file is the default.
    pub fn load(store_root: &Path) -> Result<Self> {
        let path = Self::path(store_root);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ClientError::Config { path, reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                Err(ClientError::Config { path, reason: "not UTF-8 text, so not TOML".into() })
            }
            Err(e) => Err(ClientError::io("reading", path)(e)),
        }
    }

    /// Write it, readable only by its owner.
    pub fn save(&self, store_root: &Path) -> Result<()> {
        std::fs::create_dir_all(store_root).map_err(ClientError::io("creating", store_root))?;
        let path = Self::path(store_root);
        let text =
            toml::to_string(self).map_err(|e| ClientError::Config { path: path.clone(), reason: e.to_string() })?;
        write_atomic(&path, text.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(ClientError::io("protecting", &path))?;
        }
        Ok(())
    }

    /// The remote to use: the environment's, else the file's.
    pub fn remote(&self) -> Option<Remote> {
        let env =
            |a: &str, b: &str| std::env::var(a).ok().or_else(|| std::env::var(b).ok()).filter(|v| !v.trim().is_empty());
        match (env("SFS_API_URL", "SESSIONFS_API_URL"), env("SFS_API_KEY", "SESSIONFS_API_KEY")) {
            (Some(url), Some(api_key)) => Some(Remote { url, api_key }),
            (None, Some(api_key)) => self.sync.as_ref().map(|r| Remote { url: r.url.clone(), api_key }),
            (Some(url), None) => self.sync.as_ref().map(|r| Remote { url, api_key: r.api_key.clone() }),
            (None, None) => self.sync.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_owner_only_and_never_prints_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = ClientConfig {
            sync: Some(Remote { url: "http://127.0.0.1:8080".into(), api_key: format!("sk_sfs_{}", "a".repeat(32)) }),
        };
        c.save(dir.path()).unwrap();
        assert_eq!(ClientConfig::load(dir.path()).unwrap(), c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(ClientConfig::path(dir.path())).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let shown = format!("{:?}", c.sync.unwrap());
        assert!(!shown.contains(&"a".repeat(32)) && shown.contains("(redacted)"), "{shown}");
        assert_eq!(ClientConfig::load(&dir.path().join("missing")).unwrap(), ClientConfig::default());
    }
}
