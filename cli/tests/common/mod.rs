//! A real `sessionfs-server` on loopback for the integration tests: started from the same target directory
//! (`cargo test --workspace` builds it first) or from `SFS_SERVER_BIN`, killed on drop.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

mod machine;
#[allow(unused_imports)] // not every test binary uses it
pub use machine::{ID, Machine, NATIVE};

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SFS_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_BIN_EXE_sfs")).with_file_name("sessionfs-server");
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build -p sessionfs-server` (or the whole workspace's tests)",
        p.display()
    );
    p
}

pub struct Server {
    child: Child,
    pub url: String,
    data: PathBuf,
    env: Vec<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_on(data, "127.0.0.1:0", env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn start_on(data: &Path, bind: &str, env: Vec<(String, String)>) -> Self {
        let mut cmd = Command::new(server_bin());
        cmd.env("SFS_DATA_DIR", data)
            .env("SFS_BIND", bind)
            .env("SFS_RATE_LIMIT_PER_MINUTE", "0")
            .env("SFS_REQUIRE_EMAIL_VERIFICATION", "false")
            .env("SFS_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("the server exited before listening").unwrap();
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["fields"]["message"] == "listening"
            {
                break v["fields"]["addr"].as_str().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, url: format!("http://{addr}"), data: data.to_owned(), env }
    }

    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let bind = self.url.trim_start_matches("http://").to_owned();
        let next = Self::start_on(&self.data, &bind, self.env.clone());
        *self = next;
    }
}

/// Signs `email` up and returns its API key.
pub fn signup(server: &Server, email: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &json!({"email": email}).to_string(),
            &format!("{}/api/v1/auth/signup", server.url),
        ])
        .output()
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["raw_key"].as_str().unwrap().to_owned()
}
