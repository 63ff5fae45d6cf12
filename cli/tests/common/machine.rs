//! One machine for the client-server tests: its own HOME (agent files) and store, and `sfs` run there.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use super::Server;

/// One machine: its own HOME (agent files) and store.
pub struct Machine {
    pub home: PathBuf,
    pub store: PathBuf,
}

/// The Claude Code session the tests write.
pub const NATIVE: &str = "0a1b2c3d-1111-2222-3333-444455556666";
/// Its SessionFS ID.
pub const ID: &str = "ses_0a1b2c3d11112222";

impl Machine {
    pub fn new(root: &Path, name: &str) -> Self {
        let m = Self { home: root.join(name).join("home"), store: root.join(name).join("store") };
        fs::create_dir_all(m.home.join(".claude/projects/-tmp-p")).unwrap();
        m
    }

    pub fn session_file(&self, native: &str) -> PathBuf {
        self.home.join(format!(".claude/projects/-tmp-p/{native}.jsonl"))
    }

    pub fn say(&self, native: &str, uuid: &str, text: &str) {
        let line = json!({"parentUuid": null, "isSidechain": false, "cwd": "/tmp/p", "sessionId": native, "version": "2.1.197",
            "type": "user", "message": {"role": "user", "content": text}, "uuid": uuid, "timestamp": "2026-03-20T10:00:00.000Z"});
        let mut f = OpenOptions::new().create(true).append(true).open(self.session_file(native)).unwrap();
        writeln!(f, "{line}").unwrap();
    }

    pub fn sfs(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(args)
            .env("HOME", &self.home)
            .env("SFS_HOME", &self.store)
            .env("SFS_SFSD_BIN", env!("CARGO_BIN_EXE_sfsd"))
            .env("SFS_SYNC_POLL_SECS", "1")
            .env_remove("SFS_API_KEY")
            .env_remove("SFS_API_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.sfs(args);
        assert!(
            out.status.success(),
            "sfs {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    pub fn msg_ids(&self, id: &str) -> Vec<String> {
        let v = self.json(&["show", id, "--json"]);
        v["messages"].as_array().unwrap().iter().map(|m| m["msg_id"].as_str().unwrap().to_owned()).collect()
    }

    /// `sfs auth login` with `key`, which the output must not show.
    pub fn login(&self, server: &Server, key: &str) {
        let out = self.ok(&["auth", "login", "--url", &server.url, "--key", key]);
        assert!(out.contains("Logged in") && !out.contains(key), "{out}");
    }
}
