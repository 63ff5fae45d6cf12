//! `sfs` against a real `sessionfs-server` on loopback, with separate stores standing for machines:
//! login, push/pull, merge and fork, sync-aware deletes, handoffs, limits, redaction, a server restart,
//! and the daemon's autosync.
//!
//! The server binary comes from the same target directory (`cargo test --workspace` builds it first), or
//! from `SFS_SERVER_BIN`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Server, signup};

/// One machine: its own HOME (agent files) and store.
struct Machine {
    home: PathBuf,
    store: PathBuf,
}

const NATIVE: &str = "0a1b2c3d-1111-2222-3333-444455556666";
const ID: &str = "ses_0a1b2c3d11112222";

impl Machine {
    fn new(root: &Path, name: &str) -> Self {
        let m = Self { home: root.join(name).join("home"), store: root.join(name).join("store") };
        fs::create_dir_all(m.home.join(".claude/projects/-tmp-p")).unwrap();
        m
    }

    fn session_file(&self, native: &str) -> PathBuf {
        self.home.join(format!(".claude/projects/-tmp-p/{native}.jsonl"))
    }

    fn say(&self, native: &str, uuid: &str, text: &str) {
        let line = json!({"parentUuid": null, "isSidechain": false, "cwd": "/tmp/p", "sessionId": native, "version": "2.1.197",
            "type": "user", "message": {"role": "user", "content": text}, "uuid": uuid, "timestamp": "2026-03-20T10:00:00.000Z"});
        let mut f = OpenOptions::new().create(true).append(true).open(self.session_file(native)).unwrap();
        writeln!(f, "{line}").unwrap();
    }

    fn sfs(&self, args: &[&str]) -> Output {
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

    fn ok(&self, args: &[&str]) -> String {
        let out = self.sfs(args);
        assert!(
            out.status.success(),
            "sfs {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn msg_ids(&self, id: &str) -> Vec<String> {
        let v = self.json(&["show", id, "--json"]);
        v["messages"].as_array().unwrap().iter().map(|m| m["msg_id"].as_str().unwrap().to_owned()).collect()
    }
}

/// `sfs resume <id> --in claude-code --no-launch --json` on machine `m`, with a stand-in `claude` on PATH
/// (only its `--version` is asked).
fn resume_here(m: &Machine, id: &str) -> Value {
    let bin = m.home.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    fs::write(&claude, "#!/bin/sh\necho '2.1.197 (Claude Code)'\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&claude, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(["resume", id, "--in", "claude-code", "--no-launch", "--json", "--project", m.home.to_str().unwrap()])
        .env("HOME", &m.home)
        .env("SFS_HOME", &m.store)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "resume failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn login(m: &Machine, server: &Server, key: &str) {
    let out = m.ok(&["auth", "login", "--url", &server.url, "--key", key]);
    assert!(out.contains("Logged in") && !out.contains(key), "{out}");
}

#[test]
fn login_keeps_the_key_private() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let a = Machine::new(tmp.path(), "a");
    let out = a.ok(&["auth", "signup", "--email", "a@example.com", "--url", &server.url]);
    assert!(out.contains("Account created"), "{out}");
    let cfg = a.store.join("config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&cfg).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let key = fs::read_to_string(&cfg)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("api_key = ").map(|k| k.trim_matches('"').to_owned()))
        .unwrap();
    let status = a.ok(&["auth", "status"]);
    assert!(status.contains("a@example.com") && !status.contains(&key), "{status}");
    let j = a.json(&["auth", "status", "--json"]);
    assert_eq!(j["account"]["email"], "a@example.com");
    assert!(!j.to_string().contains(&key));
    // A wrong key is refused with the fix.
    let bad = a.sfs(&["auth", "login", "--url", &server.url, "--key", "sk_sfs_00000000000000000000000000000000"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sfs auth login"));
    // Plain http to another host is refused before any key is sent.
    let insecure = a.sfs(&["auth", "login", "--url", "http://sessionfs.example.com", "--key", &key]);
    assert!(
        String::from_utf8_lossy(&insecure.stderr).contains("https://"),
        "{}",
        String::from_utf8_lossy(&insecure.stderr)
    );
    a.ok(&["auth", "logout"]);
    let out = a.sfs(&["push", "anything"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not logged in"));
}

#[test]
fn two_machines_push_pull_merge_and_fork_without_losing_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    login(&a, &server, &key);
    login(&b, &server, &key);

    a.say(NATIVE, "u1", "first turn about kumquats");
    a.ok(&["import"]);
    let out = a.ok(&["push", ID]);
    assert!(out.contains("Created remote session"), "{out}");
    assert!(a.ok(&["push", ID]).contains("already in step"));
    let out = b.ok(&["pull", ID]);
    assert!(out.contains("Pulled"), "{out}");
    assert_eq!(b.msg_ids(ID), ["u1"]);
    assert!(!b.json(&["search", "kumquats", "--json"]).as_array().unwrap().is_empty(), "pulled sessions are indexed");
    // And B can continue it in an agent: the pulled session is written natively there.
    let resumed = resume_here(&b, ID);
    assert!(Path::new(resumed["files"][0].as_str().unwrap()).starts_with(&b.home), "{resumed}");
    assert!(fs::read_to_string(resumed["files"][0].as_str().unwrap()).unwrap().contains("kumquats"));

    // A extends; B has not changed: a sync on B fast-forwards.
    a.say(NATIVE, "u2", "second turn");
    a.ok(&["import"]);
    a.ok(&["push", ID]);
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["pulled"], 1, "{report}");
    assert_eq!(b.msg_ids(ID), ["u1", "u2"]);

    // B extends the latest: a plain push.
    let bnative = b.store.join("..").join("dummy");
    let _ = bnative;
    // B's turns come from B's own agent file for the same native session.
    fs::copy(a.session_file(NATIVE), b.session_file(NATIVE)).unwrap();
    b.say(NATIVE, "u3", "third turn from b");
    b.ok(&["import"]);
    let out = b.ok(&["push", ID]);
    assert!(out.contains("Updated remote session"), "{out}");

    // Now both diverge: A (still at u2) adds u4; the server has u3.
    a.say(NATIVE, "u4", "fourth turn from a, unaware of b");
    a.ok(&["import"]);
    let out = a.ok(&["push", ID]);
    assert!(out.contains("diverged") && out.contains("fork"), "{out}");
    let fork = out
        .split_whitespace()
        .find(|w| w.starts_with("ses_") && !w.starts_with(ID))
        .unwrap()
        .trim_end_matches(['.', ',', ')'])
        .to_owned();
    // The session is the server's line; the fork keeps A's line: nothing lost.
    assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3"]);
    assert_eq!(a.msg_ids(&fork), ["u1", "u2", "u4"]);
    let listed: Vec<String> = b
        .json(&["list-remote", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(listed.contains(&fork), "the fork was pushed too: {listed:?}");
    // A's agent continues in the fork (its local line).
    a.say(NATIVE, "u5", "a continues");
    a.ok(&["import"]);
    assert_eq!(a.msg_ids(&fork), ["u1", "u2", "u4", "u5"]);
    assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3"]);
}

#[test]
fn deletes_are_sync_aware_on_both_machines() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    login(&a, &server, &key);
    login(&b, &server, &key);
    a.say(NATIVE, "u1", "to be deleted");
    a.ok(&["import"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.msg_ids(ID), ["u1"]);

    let out = a.ok(&["delete", ID]);
    assert!(out.contains("Deleted") && out.contains("server"), "{out}");
    // The agent file is still there: neither capture nor sync brings it back on A.
    a.say(NATIVE, "u2", "the agent goes on writing");
    a.ok(&["import"]);
    a.ok(&["sync"]);
    assert!(a.json(&["list", "--json"]).as_array().unwrap().is_empty());
    // B still has a copy; its sync learns of the delete and does not resurrect it.
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert!(b.json(&["list-remote", "--json"]).as_array().unwrap().is_empty());
    let trash = b.json(&["list-remote", "--deleted", "--json"]);
    assert_eq!(trash.as_array().unwrap().len(), 1);
    b.ok(&["sync"]);
    assert!(b.json(&["list-remote", "--json"]).as_array().unwrap().is_empty(), "still deleted after B's second sync");
    // Restore on A brings it back (from the server).
    a.ok(&["restore", ID]);
    assert_eq!(a.msg_ids(ID), ["u1"]);
    assert_eq!(a.json(&["list-remote", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn handoff_from_one_user_to_another() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    login(&a, &server, &signup(&server, "alice@example.com"));
    login(&b, &server, &signup(&server, "bob@example.com"));
    a.say(NATIVE, "u1", "please finish the migration");
    a.ok(&["import"]);
    let out = a.ok(&["handoff", ID, "--to", "bob@example.com", "-m", "over to you"]);
    let hid =
        out.split_whitespace().find(|w| w.starts_with("hnd_")).unwrap().trim_end_matches([',', ')', '.']).to_owned();
    let out = b.ok(&["pull-handoff", &hid]);
    assert!(out.contains("over to you") && out.contains("sfs resume"), "{out}");
    let copy = b.json(&["list", "--json"]);
    assert_eq!(copy.as_array().unwrap().len(), 1);
    let copy_id = copy[0]["id"].as_str().unwrap().to_owned();
    assert_ne!(copy_id, ID);
    assert_eq!(b.msg_ids(&copy_id), ["u1"]);
    // Claiming twice is harmless.
    b.ok(&["pull-handoff", &hid]);
}

#[test]
fn secrets_are_redacted_before_upload_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    login(&a, &server, &key);
    let aws = "AKIAZ3X7Q2LMNP4RTW5Y";
    let gh = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0".repeat(2).get(..36).unwrap());
    a.say(NATIVE, "u1", &format!("deploy with {aws} and token {gh} please"));
    a.ok(&["import"]);
    let out = a.ok(&["push", ID]);
    assert!(out.contains("Redacted before upload"), "{out}");
    let raw = Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {key}"),
            &format!("{}/api/v1/sessions/{ID}/messages", server.url),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&raw.stdout);
    assert!(!text.contains(aws) && !text.contains(&gh), "{text}");
    assert!(text.contains("REDACTED"), "{text}");
    // The local copy keeps the original text.
    assert!(a.ok(&["show", ID]).contains(aws));
}

#[test]
fn too_large_sessions_are_reported_and_excluded_until_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[("SFS_MAX_UPLOAD_SIZE", "20KB")]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    login(&a, &server, &key);
    // Random-looking text so that it does not compress below the limit.
    let mut text = String::new();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..30_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(&format!("{:x} ", x % 100_000));
    }
    a.say(NATIVE, "u1", &text);
    a.ok(&["import"]);
    let out = a.sfs(&["push", ID]);
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stdout);
    assert!(
        msg.contains("too large") && msg.contains("MAX_UPLOAD_SIZE"),
        "{msg} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = a.json(&["sync", "--json"]);
    assert_eq!(report["too_large"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["failed"].as_array().unwrap().len(), 0, "{report}");
}

#[test]
fn rate_limits_are_retried_and_a_server_restart_is_survived() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(&tmp.path().join("srv"), &[("SFS_RATE_LIMIT_PER_MINUTE", "600")]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    login(&a, &server, &key);
    for i in 0..30 {
        let native = format!("{i:08x}-1111-2222-3333-444455556666");
        a.say(&native, "u1", &format!("session number {i}"));
    }
    a.ok(&["import"]);
    // Restart the server while a sync runs: the sync retries, and a second sync finishes the job.
    let mut sync = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(["sync", "--json", "--workers", "2"])
        .env("HOME", &a.home)
        .env("SFS_HOME", &a.store)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    server.restart();
    let _ = sync.wait().unwrap();
    let report = a.json(&["sync", "--json"]);
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(a.json(&["list-remote", "--json"]).as_array().unwrap().len(), 30);
    // Every session is whole on the server: a fresh machine pulls them all.
    let b = Machine::new(tmp.path(), "b");
    login(&b, &server, &key);
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["pulled"], 30, "{report}");
}

#[test]
fn the_daemon_autosyncs_a_changed_session_within_the_debounce() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    login(&a, &server, &key);
    a.ok(&["sync", "auto", "--mode", "all", "--debounce", "5"]);
    a.ok(&["daemon", "start"]);
    struct Stop<'a>(&'a Machine);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.sfs(&["daemon", "stop"]);
        }
    }
    let _stop = Stop(&a);
    // A session captured while the daemon runs (not only at start) is pushed after the debounce.
    std::thread::sleep(Duration::from_millis(500));
    a.say(NATIVE, "u1", "captured while running");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let remote = a.json(&["list-remote", "--json"]);
        if remote.as_array().unwrap().iter().any(|s| s["id"] == ID && s["message_count"] == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "autosync did not push the session; log:\n{}",
            a.ok(&["daemon", "logs", "-n", "40"])
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // And a later change is pushed too.
    a.say(NATIVE, "u2", "and again");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let remote = a.json(&["list-remote", "--json"]);
        if remote.as_array().unwrap().iter().any(|s| s["id"] == ID && s["message_count"] == 2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "autosync did not push the change; log:\n{}",
            a.ok(&["daemon", "logs", "-n", "40"])
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn selective_autosync_pushes_only_watched_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    login(&a, &server, &key);
    let other_native = "99999999-1111-2222-3333-444455556666";
    let other = "ses_9999999911112222";
    a.ok(&["sync", "auto", "--mode", "selective", "--debounce", "5"]);
    a.ok(&["sync", "watch", ID]);
    a.ok(&["daemon", "start"]);
    struct Stop<'a>(&'a Machine);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            let _ = self.0.sfs(&["daemon", "stop"]);
        }
    }
    let _stop = Stop(&a);
    std::thread::sleep(Duration::from_millis(500));
    a.say(NATIVE, "u1", "watched session");
    a.say(other_native, "u1", "not watched");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ids: Vec<String> = a
            .json(&["list-remote", "--json"])
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        if ids.contains(&ID.to_string()) {
            assert!(!ids.contains(&other.to_string()), "an unwatched session was pushed: {ids:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watched session was not pushed; log:\n{}",
            a.ok(&["daemon", "logs", "-n", "40"])
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Give the daemon time to (wrongly) push the other one, then check it did not.
    std::thread::sleep(Duration::from_secs(7));
    let ids: Vec<String> = a
        .json(&["list-remote", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [ID.to_string()]);
}
