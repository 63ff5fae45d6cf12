//! `sfs` against a real `sessionfs-server` on loopback, with separate stores standing for machines:
//! login, push/pull, merge and fork, sync-aware deletes, handoffs, limits, redaction, a server restart,
//! and the daemon's autosync.
//!
//! The server binary comes from the same target directory (`cargo test --workspace` builds it first), or
//! from `SFS_SERVER_BIN`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{ID, Machine, NATIVE, Server, signup};

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
    a.login(&server, &key);
    b.login(&server, &key);

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
    a.login(&server, &key);
    b.login(&server, &key);
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
    // Restore on A brings it back (from the server), with the turn the agent wrote while it was deleted.
    a.ok(&["restore", ID]);
    assert_eq!(a.msg_ids(ID), ["u1", "u2"]);
    assert_eq!(a.json(&["list-remote", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn handoff_from_one_user_to_another() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    a.login(&server, &signup(&server, "alice@example.com"));
    b.login(&server, &signup(&server, "bob@example.com"));
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
    a.login(&server, &key);
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
    a.login(&server, &key);
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
    a.login(&server, &key);
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
    b.login(&server, &key);
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["pulled"], 30, "{report}");
}

#[test]
fn the_daemon_autosyncs_a_changed_session_within_the_debounce() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    a.login(&server, &key);
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
    a.login(&server, &key);
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

/// The server's message count for `id`, as `list-remote` reports it (`None`: not there).
fn remote_count(m: &Machine, id: &str) -> Option<u64> {
    m.json(&["list-remote", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .map(|s| s["message_count"].as_u64().unwrap())
}

/// A tar.gz of a session folder of `m`'s store, as the original Python client uploads it.
fn archive_of(m: &Machine, id: &str, to: &Path) {
    let dir = m.store.join("sessions").join(id);
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    let out = Command::new("tar").arg("czf").arg(to).arg("-C").arg(&dir).args(&names).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Machine `from`'s whole folder (agent files and store) copied as machine `name`.
fn clone_machine(root: &Path, from: &str, name: &str) -> Machine {
    let out = Command::new("cp").arg("-a").arg(root.join(from)).arg(root.join(name)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Machine { home: root.join(name).join("home"), store: root.join(name).join("store") }
}

#[test]
fn a_copy_never_synced_here_does_not_overwrite_the_servers_and_a_pull_keeps_local_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    a.login(&server, &key);
    b.login(&server, &key);
    // The same agent session on two machines (its folder copied to a new laptop): A went on, B did not.
    for m in [&a, &b] {
        m.say(NATIVE, "u1", "first");
        m.say(NATIVE, "u2", "second");
        m.ok(&["import"]);
    }
    let older = tmp.path().join("older.tar.gz");
    archive_of(&b, ID, &older);
    a.say(NATIVE, "u3", "third, only on a");
    a.ok(&["import"]);
    a.ok(&["sync"]);
    assert_eq!(remote_count(&a, ID), Some(3));

    // B never synced this session: its push asks to create it, the server has it, and B catches up instead
    // of writing its two turns over the server's three.
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(remote_count(&a, ID), Some(3), "B's older copy replaced the server's");
    assert_eq!(b.msg_ids(ID), ["u1", "u2", "u3"]);

    // An original client pushes the older copy unconditionally (last writer wins there). A's pull keeps
    // the turn the server now lacks and says so; A's sync puts it back.
    let put = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "-H",
            &format!("Authorization: Bearer {key}"),
        ])
        .arg("-F")
        .arg(format!("file=@{};type=application/gzip", older.display()))
        .arg(format!("{}/api/v1/sessions/{ID}/sync", server.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&put.stdout), "200");
    assert_eq!(remote_count(&a, ID), Some(2));
    let out = a.ok(&["pull", ID]);
    assert!(out.contains("1 message(s) the server's copy lacks") && out.contains("sfs push"), "{out}");
    assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3"]);
    let report = a.json(&["sync", "--json"]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(remote_count(&a, ID), Some(3));
    assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3"]);
}

#[test]
fn machines_that_diverge_differently_make_different_forks_and_a_fork_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    a.login(&server, &key);
    a.say(NATIVE, "u1", "common start");
    a.ok(&["import"]);
    a.ok(&["sync"]);
    let (b, c) = (Machine::new(tmp.path(), "b"), Machine::new(tmp.path(), "c"));
    for m in [&b, &c] {
        m.login(&server, &key);
        m.ok(&["pull", ID]);
        fs::copy(a.session_file(NATIVE), m.session_file(NATIVE)).unwrap();
        m.ok(&["import"]);
    }
    for (m, turn) in [(&a, "ua"), (&b, "ub"), (&c, "uc")] {
        m.say(NATIVE, turn, &format!("diverging turn {turn}"));
        m.ok(&["import"]);
    }
    // A copy of B as it is now: the same diverged turns, synced later.
    let b2 = clone_machine(tmp.path(), "b", "b2");
    a.ok(&["sync"]);
    let fork_of = |m: &Machine| {
        let report = m.json(&["sync", "--json"]);
        assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
        let forks = report["forks"].as_array().unwrap();
        assert_eq!(forks.len(), 1, "{report}");
        forks[0].as_str().unwrap().to_owned()
    };
    let (fork_b, fork_c) = (fork_of(&b), fork_of(&c));
    assert_ne!(fork_b, fork_c, "two different divergences got one fork ID");
    // B's copy forks the same turns under the same ID; the fork on the server is found in step, not replaced.
    assert_eq!(fork_of(&b2), fork_b);
    a.ok(&["sync"]);
    assert_eq!(a.msg_ids(ID), ["u1", "ua"]);
    assert_eq!(a.msg_ids(&fork_b), ["u1", "ub"]);
    assert_eq!(a.msg_ids(&fork_c), ["u1", "uc"]);
    assert_eq!(remote_count(&a, &fork_b), Some(2));
    assert_eq!(b.msg_ids(&fork_b), ["u1", "ub"]);
    assert_eq!(a.json(&["list-remote", "--json"]).as_array().unwrap().len(), 3);
}

#[test]
fn after_logging_in_elsewhere_every_session_is_uploaded_there() {
    let tmp = tempfile::tempdir().unwrap();
    let (s1, s2) = (Server::start(&tmp.path().join("srv1"), &[]), Server::start(&tmp.path().join("srv2"), &[]));
    let a = Machine::new(tmp.path(), "a");
    a.say(NATIVE, "u1", "synced with the first server");
    a.ok(&["import"]);
    a.login(&s1, &signup(&s1, "me@example.com"));
    assert_eq!(a.json(&["sync", "--json"])["pushed"], 1);
    // Another server: the state recorded for the first one does not count here.
    a.login(&s2, &signup(&s2, "me@example.com"));
    let report = a.json(&["sync", "--json"]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(remote_count(&a, ID), Some(1));
    assert!(a.ok(&["push", ID]).contains("already in step"));
    // Another account on the same server: the same.
    a.login(&s2, &signup(&s2, "other@example.com"));
    let out = a.ok(&["push", ID]);
    assert!(out.contains("Created remote session"), "{out}");
    assert_eq!(remote_count(&a, ID), Some(1));
}

#[test]
fn a_full_quota_is_not_a_session_too_large_and_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[("SFS_STORAGE_QUOTA_BYTES", "2000")]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    a.login(&server, &key);
    let other_native = "99999999-1111-2222-3333-444455556666";
    let other = "ses_9999999911112222";
    // Text that does not compress much: each archive takes about half the quota.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for native in [NATIVE, other_native] {
        let mut text = String::new();
        for _ in 0..250 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(&format!("{:x} ", x % 100_000));
        }
        a.say(native, "u1", &text);
    }
    a.ok(&["import"]);
    a.ok(&["push", ID]);
    let out = a.sfs(&["push", other]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{stdout}");
    assert!(stderr.contains("quota") && stderr.contains("SFS_STORAGE_QUOTA_BYTES"), "{stderr}");
    assert!(!stdout.contains("too large") && !stderr.contains("compact"), "{stdout} {stderr}");
    let deleted = fs::read_to_string(a.store.join("deleted.json")).unwrap_or_default();
    assert!(!deleted.contains(other), "excluded as if too large: {deleted}");
    // Still full: `sfs sync` fails on it, and does not call it too large.
    let out = a.sfs(&["sync", "--json"]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["too_large"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(report["failed"][0][0], other, "{report}");
    // Room made: the next sync sends it.
    a.ok(&["delete", ID, "--scope", "cloud"]);
    let report = a.json(&["sync", "--json"]);
    assert_eq!(report["pushed"], 1, "{report}");
    assert_eq!(remote_count(&a, other), Some(1));
}

#[test]
fn a_failed_pull_leaves_a_local_delete_in_force() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let a = Machine::new(tmp.path(), "a");
    a.login(&server, &key);
    a.say(NATIVE, "u1", "to be deleted everywhere");
    a.ok(&["import"]);
    a.ok(&["push", ID]);
    a.ok(&["delete", ID, "--scope", "everywhere"]);
    // In the server's trash: not pullable.
    assert!(!a.sfs(&["pull", ID]).status.success());
    a.ok(&["import"]);
    assert!(a.json(&["list", "--json"]).as_array().unwrap().is_empty(), "the failed pull undid the delete");
}

#[test]
fn codex_sessions_continued_differently_on_two_machines_fork_instead_of_overwriting() {
    // Codex numbers messages by position: both machines' new turn is `msg_000002`.
    let native = "0a1b2c3d-7777-2222-3333-444455556666";
    let rollout = |m: &Machine| {
        let dir = m.home.join(".codex/sessions/2026/03/20");
        fs::create_dir_all(&dir).unwrap();
        dir.join(format!("rollout-2026-03-20T10-00-00-{native}.jsonl"))
    };
    let prompt = |m: &Machine, text: &str, second: u32| {
        let line = json!({"timestamp": format!("2026-03-20T10:00:{second:02}.000Z"), "type": "response_item",
            "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}});
        let mut f = OpenOptions::new().create(true).append(true).open(rollout(m)).unwrap();
        writeln!(f, "{line}").unwrap();
    };
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    let meta = json!({"timestamp": "2026-03-20T10:00:00.000Z", "type": "session_meta", "payload": {"id": native,
        "timestamp": "2026-03-20T10:00:00.000Z", "cwd": "/tmp/p", "originator": "codex_cli_rs", "cli_version": "0.169.0"}});
    for m in [&a, &b] {
        m.login(&server, &key);
        fs::create_dir_all(rollout(m).parent().unwrap()).unwrap();
        fs::write(rollout(m), format!("{meta}\n")).unwrap();
        prompt(m, "common start", 1);
    }
    a.ok(&["import"]);
    a.ok(&["sync"]);
    let id = a.json(&["list", "--json"])[0]["id"].as_str().unwrap().to_owned();
    b.ok(&["import"]);
    b.ok(&["sync"]);
    prompt(&a, "continued on a", 5);
    prompt(&b, "continued on b", 7);
    a.ok(&["import"]);
    b.ok(&["import"]);
    a.ok(&["sync"]);
    let report = b.json(&["sync", "--json"]);
    assert_eq!(report["forks"].as_array().map(Vec::len), Some(1), "B's turn must fork, not replace A's: {report}");
    let fork = report["forks"][0].as_str().unwrap().to_owned();
    a.ok(&["sync"]);
    let texts = |m: &Machine, id: &str| -> Vec<String> {
        let v = m.json(&["show", id, "--json"]);
        v["messages"].as_array().unwrap().iter().map(|m| m["content"][0]["text"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(texts(&a, &id), ["common start", "continued on a"]);
    assert_eq!(texts(&a, &fork), ["common start", "continued on b"]);
    assert_eq!(texts(&b, &id), ["common start", "continued on a"], "B takes the server's version");
}
