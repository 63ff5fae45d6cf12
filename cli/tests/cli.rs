//! The `sfs` and `sfsd` binaries, run for real in a temporary `HOME` and `SFS_HOME`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

const NATIVE_ID: &str = "0a1b2c3d-1111-2222-3333-444455556666";

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let env = Self { tmp: tempfile::tempdir().unwrap() };
        fs::create_dir_all(env.home().join(".claude/projects/-tmp-p")).unwrap();
        env
    }
    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }
    fn store(&self) -> PathBuf {
        self.tmp.path().join("store")
    }
    fn session_file(&self) -> PathBuf {
        self.home().join(format!(".claude/projects/-tmp-p/{NATIVE_ID}.jsonl"))
    }
    fn append(&self, line: &str) {
        let mut f = OpenOptions::new().create(true).append(true).open(self.session_file()).unwrap();
        writeln!(f, "{line}").unwrap();
    }
    fn sfs(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(args)
            .env("HOME", self.home())
            .env("SFS_HOME", self.store())
            .env("SFS_SFSD_BIN", env!("CARGO_BIN_EXE_sfsd"))
            .env_remove("SFS_LOG")
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.sfs(args);
        assert!(out.status.success(), "sfs {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

fn user_line(uuid: &str, text: &str) -> String {
    serde_json::json!({"parentUuid": null, "isSidechain": false, "cwd": "/tmp/p", "sessionId": NATIVE_ID, "version": "2.1.197",
        "gitBranch": "main", "type": "user", "message": {"role": "user", "content": text}, "uuid": uuid,
        "timestamp": "2026-03-20T10:00:00.000Z"})
    .to_string()
}

fn tool_lines() -> [String; 2] {
    [
        serde_json::json!({"parentUuid": "u1", "type": "assistant", "uuid": "a1", "timestamp": "2026-03-20T10:00:01.000Z",
            "message": {"id": "m1", "role": "assistant", "model": "claude-sonnet-4-6", "stop_reason": "tool_use",
                "content": [{"type": "thinking", "thinking": "Let me look", "signature": "sig"},
                            {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "ls"}}]}})
        .to_string(),
        serde_json::json!({"parentUuid": "a1", "type": "user", "uuid": "u2", "timestamp": "2026-03-20T10:00:02.000Z",
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "README.md"}]}})
        .to_string(),
    ]
}

fn seeded() -> Env {
    let env = Env::new();
    env.append(&user_line("u1", "Refactor the quasar module"));
    for l in tool_lines() {
        env.append(&l);
    }
    env.ok(&["import"]);
    env
}

#[test]
fn list_json_has_the_documented_fields() {
    let env = seeded();
    let list = env.json(&["list", "--json"]);
    let s = &list.as_array().unwrap()[0];
    for key in ["id", "source_tool", "native_id", "title", "project_path", "message_count", "created_at", "updated_at"]
    {
        assert!(s.get(key).is_some(), "missing {key} in {s}");
    }
    assert_eq!(s["source_tool"], "claude-code");
    assert_eq!(s["native_id"], NATIVE_ID);
    assert_eq!(s["message_count"], 3);
    assert_eq!(s["project_path"], "/tmp/p");
    assert_eq!(s["title"], "Refactor the quasar module");
    // The short agent names work as filters; others are refused with the list of names.
    assert_eq!(env.json(&["list", "--json", "--tool", "claude"]).as_array().unwrap().len(), 1);
    assert_eq!(env.json(&["list", "--json", "--tool", "gemini"]).as_array().unwrap().len(), 0);
    let bad = env.sfs(&["list", "--tool", "vim"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("claude-code"));
    assert_eq!(env.json(&["list", "--json", "--since", "2099-01-01"]).as_array().unwrap().len(), 0);
}

#[test]
fn search_json_has_session_id_and_snippet() {
    let env = seeded();
    let hits = env.json(&["search", "quasar", "--json"]);
    let h = &hits.as_array().unwrap()[0];
    assert_eq!(h["session_id"], "ses_0a1b2c3d11112222");
    assert!(h["snippet"].as_str().unwrap().contains("«quasar»"), "{h}");
    // One word is ranked by BM25 (negative: lower is better); several words come newest first, unscored.
    assert!(h["score"].as_f64().is_some_and(|s| s < 0.0), "{h}");
    let two = env.json(&["search", "quasar module", "--json"]);
    assert_eq!(two[0]["session_id"], "ses_0a1b2c3d11112222");
    assert!(two[0]["score"].is_null(), "{}", two[0]);
    assert!(env.json(&["search", "nonexistentword", "--json"]).as_array().unwrap().is_empty());
    // FTS syntax in a query is text, not an error.
    env.ok(&["search", "NEAR( \"quasar", "--json"]);
}

#[test]
fn show_prints_tools_and_thinking_and_json_has_messages() {
    let env = seeded();
    let text = env.ok(&["show", "ses_0a1b"]);
    assert!(text.contains("▶ tool call Bash [tu1]"), "{text}");
    assert!(text.contains("◀ tool result [tu1]"), "{text}");
    assert!(text.contains("💭 Let me look"), "{text}");
    let json = env.json(&["show", "ses_0a1b2c3d11112222", "--json"]);
    assert_eq!(json["session_id"], "ses_0a1b2c3d11112222");
    assert_eq!(json["sfs_version"], "0.1.0");
    assert_eq!(json["messages"].as_array().unwrap().len(), 3);
    assert_eq!(json["messages"][1]["content"][1]["type"], "tool_use");
    let keys = json.as_object().unwrap();
    for key in ["title", "alias", "model", "stats", "sync", "tags", "sub_agents"] {
        assert!(keys.contains_key(key), "{key} is always there");
    }
    assert!(json["alias"].is_null() && json["sync"].is_null() && json["sub_agents"] == serde_json::json!([]));
}

#[test]
fn bad_ids_give_the_catalogue_message_and_fix() {
    let env = seeded();
    let out = env.sfs(&["show", "ses_XYZ"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be ses_ + 8-40 lowercase hex chars"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    let out = env.sfs(&["show", "ses_ffffffffffffffff"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no session matches") && err.contains("sfs list"), "{err}");
}

#[test]
fn export_writes_sfs_markdown_and_json() {
    let env = seeded();
    let out_dir = env.tmp.path().join("export.sfs");
    env.ok(&["export", "ses_0a1b", "--format", "sfs", "-o", out_dir.to_str().unwrap()]);
    for f in ["manifest.json", "messages.jsonl", "workspace.json", "tools.json"] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let again = env.sfs(&["export", "ses_0a1b", "--format", "sfs", "-o", out_dir.to_str().unwrap()]);
    assert!(!again.status.success(), "existing output is not replaced without --force");
    let md = env.ok(&["export", "ses_0a1b", "--format", "markdown"]);
    assert!(md.starts_with("# Refactor the quasar module"), "{md}");
    assert!(md.contains("**Tool call** `Bash`") && md.contains("<summary>Thinking</summary>"), "{md}");
    let json: Value = serde_json::from_str(&env.ok(&["export", "ses_0a1b", "--format", "json"])).unwrap();
    assert_eq!(json["messages"].as_array().unwrap().len(), 3);
}

#[test]
fn export_paths_are_checked_and_force_replaces_only_what_an_export_made() {
    let env = seeded();
    let out = env.tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let err = |args: &[&str]| {
        let o = env.sfs(args);
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    // A file format into a folder, forced or not.
    let md = path(&out);
    assert!(err(&["export", "ses_0a1b", "--format", "markdown", "-o", &md, "--force"]).contains("is a folder"));
    // A folder that is not an export is never replaced.
    fs::write(out.join("precious.txt"), "keep me").unwrap();
    assert!(err(&["export", "ses_0a1b", "--format", "sfs", "-o", &md, "--force"]).contains("not a session export"));
    assert!(out.join("precious.txt").exists());
    // A missing parent folder is named.
    let deep = path(&out.join("no/such/dir/x.md"));
    assert!(err(&["export", "ses_0a1b", "--format", "markdown", "-o", &deep]).contains("does not exist"));
    // An export replaces an earlier export whole, and a file in the way.
    let sfs = out.join("s.sfs");
    env.ok(&["export", "ses_0a1b", "--format", "sfs", "-o", &path(&sfs)]);
    fs::write(sfs.join("stale.txt"), "old").unwrap();
    env.ok(&["export", "ses_0a1b", "--format", "sfs", "-o", &path(&sfs), "--force"]);
    assert!(sfs.join("manifest.json").is_file() && !sfs.join("stale.txt").exists());
    let file = out.join("file.json");
    fs::write(&file, "{}").unwrap();
    env.ok(&["export", "ses_0a1b", "--format", "sfs", "-o", &path(&file), "--force"]);
    assert!(file.join("manifest.json").is_file());

    // Never into the store, where it could replace a session's folder.
    let session_dir = fs::read_dir(env.store().join("sessions")).unwrap().flatten().next().unwrap().path();
    let into = err(&["export", "ses_0a1b", "--format", "sfs", "-o", &path(&session_dir), "--force"]);
    assert!(into.contains("inside the store"), "{into}");
    assert!(session_dir.join("messages.jsonl").is_file());
    // A forced export that cannot read its session leaves the earlier export where it was.
    fs::remove_dir_all(&session_dir).unwrap();
    let gone = err(&["export", "ses_0a1b", "--format", "sfs", "-o", &path(&sfs), "--force"]);
    assert!(gone.contains("sfs import"), "{gone}");
    assert!(sfs.join("manifest.json").is_file(), "the earlier export is kept");
}

#[test]
fn storage_and_doctor_report_per_agent() {
    let env = seeded();
    let storage = env.json(&["storage", "--json"]);
    assert_eq!(storage["agents"]["claude-code"]["sessions"], 1);
    assert!(storage["agents"]["claude-code"]["bytes"].as_u64().unwrap() > 500);
    env.append("{broken json");
    env.append(&user_line("u9", "after the broken line"));
    env.ok(&["import"]);
    let doctor = env.json(&["doctor", "--json"]);
    assert_eq!(doctor["ok"], true);
    let agent =
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "agent claude-code").unwrap().clone();
    assert_eq!(agent["level"], "warn");
    assert!(agent["detail"].as_str().unwrap().contains("1 record(s) skipped"), "{agent}");
    let check = |doctor: &Value, name: &str| {
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap().clone()
    };
    let text = check(&doctor, "search text");
    assert_eq!(text["level"], "ok", "{text}");

    // A session's messages changed under the index (a hand edit): doctor says so, and how to fix it.
    let sessions = env.store().join("sessions");
    let dir = fs::read_dir(&sessions).unwrap().flatten().next().unwrap().path();
    let messages = fs::read_to_string(dir.join("messages.jsonl")).unwrap();
    let reversed: Vec<&str> = messages.lines().rev().collect();
    fs::write(dir.join("messages.jsonl"), reversed.join("\n") + "\n").unwrap();
    let doctor = env.json(&["doctor", "--json"]);
    let text = check(&doctor, "search text");
    assert_eq!(text["level"], "warn", "{text}");
    assert!(text["detail"].as_str().unwrap().contains("--rebuild-index"), "{text}");

    let rebuilt = env.json(&["doctor", "--json", "--rebuild-index"]);
    assert_eq!(rebuilt["checks"][0]["check"], "index rebuild");
    assert_eq!(check(&rebuilt, "search text")["level"], "ok", "the rebuild indexed the lines where they are now");
}

#[test]
fn doctor_warns_about_an_agent_folder_it_cannot_read() {
    let env = seeded();
    // A folder read_dir refuses (as root, permissions cannot make one): Codex's sessions folder is a file.
    fs::create_dir_all(env.home().join(".codex")).unwrap();
    fs::write(env.home().join(".codex/sessions"), "not a folder").unwrap();
    let doctor = env.json(&["doctor", "--json"]);
    let codex = doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "agent codex").unwrap().clone();
    assert_eq!(codex["level"], "warn", "{codex}");
    let detail = codex["detail"].as_str().unwrap();
    assert!(detail.contains("1 folder(s) cannot be read") && detail.contains(".codex/sessions"), "{detail}");
    assert!(detail.contains("sfs import"), "says what to do: {detail}");
    let claude =
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "agent claude-code").unwrap().clone();
    assert_eq!(claude["level"], "ok", "{claude}");
}

#[test]
fn the_store_opens_and_doctor_reports_while_another_process_writes_the_fulltext_index() {
    let env = seeded();
    let check = |doctor: &Value| {
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "search index").unwrap().clone()
    };
    assert_eq!(check(&env.json(&["doctor", "--json"]))["level"], "ok");
    // Another process (an import) is writing fulltext.db and has not caught up yet: it holds the write lock.
    let db = sessionfs_client::index::open_connection(&env.store().join("fulltext.db")).unwrap();
    db.execute_batch("DELETE FROM messages_fts; UPDATE fulltext_state SET indexed_through = 0; BEGIN IMMEDIATE;")
        .unwrap();
    let started = std::time::Instant::now();
    let doctor = env.json(&["doctor", "--json"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "opening the store did not wait for the lock");
    let search = check(&doctor);
    assert_eq!(search["level"], "warn", "{search}");
    assert!(search["detail"].as_str().unwrap().contains("not searchable yet"), "{search}");
    assert_eq!(env.json(&["list", "--json"]).as_array().unwrap().len(), 1);
    // The writer is done: the next command catches up, and search finds the messages again.
    db.execute_batch("COMMIT").unwrap();
    drop(db);
    assert_eq!(check(&env.json(&["doctor", "--json"]))["level"], "ok");
    assert_eq!(env.json(&["search", "quasar", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_closed_stdout_ends_the_output_quietly() {
    let env = seeded();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(["list", "--json"])
        .env("HOME", env.home())
        .env("SFS_HOME", env.store())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `sfs list --json | head -c 0`
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    // Every command that prints, in its plain form too (`println!` panicked on a closed pipe).
    let id = env.json(&["list", "--json"])[0]["id"].as_str().unwrap().to_owned();
    let commands: [&[&str]; 7] = [
        &["list"],
        &["import"],
        &["doctor"],
        &["storage"],
        &["show", &id],
        &["search", "quasar"],
        &["daemon", "status"],
    ];
    for args in commands {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(args)
            .env("HOME", env.home())
            .env("SFS_HOME", env.store())
            .env_remove("SFS_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked") && out.status.code() != Some(101), "sfs {args:?}: {stderr}");
    }
}

#[test]
fn a_damaged_fulltext_db_is_replaced_and_filled_again_on_open() {
    let env = seeded();
    let fulltext = env.store().join("fulltext.db");
    for damage in ["garbage", "half"] {
        let bytes = fs::read(&fulltext).unwrap();
        match damage {
            "garbage" => fs::write(&fulltext, vec![0x42; 8192]).unwrap(),
            _ => fs::write(&fulltext, &bytes[..bytes.len() / 2]).unwrap(),
        }
        let _ = fs::remove_file(env.store().join("fulltext.db-wal"));
        let hits = env.json(&["search", "quasar", "--json"]);
        assert_eq!(hits.as_array().unwrap().len(), 1, "{damage}: searchable again");
        assert!(env.store().join("fulltext.db.damaged").exists(), "{damage}: kept aside to look at");
    }
}

#[test]
fn a_damaged_index_db_is_named_with_the_fix_and_rebuild_index_repairs_it() {
    let env = seeded();
    fs::write(env.store().join("index.db"), vec![0x42; 8192]).unwrap();
    let out = env.sfs(&["list"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("index.db is damaged") && stderr.contains("sfs doctor --rebuild-index"), "{stderr}");
    // The daemon's state is still reported, in JSON, with why the store could not be read.
    let status = env.sfs(&["daemon", "status", "--json"]);
    assert_eq!(status.status.code(), Some(1));
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["running"], false);
    assert!(status["error"].as_str().unwrap().contains("index.db is damaged"), "{status}");

    let doctor = env.sfs(&["doctor", "--rebuild-index", "--json"]);
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["check"] == "index repair"), "{report}");
    assert!(env.store().join("index.db.damaged").exists());
    let list = env.json(&["list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "the session is listed again");
    assert_eq!(env.json(&["search", "quasar", "--json"]).as_array().unwrap().len(), 1);
    // Capture goes on: nothing new, nothing lost.
    env.ok(&["import"]);
    assert_eq!(env.json(&["list", "--json"])[0]["message_count"], list[0]["message_count"]);

    // index.db damaged past its first page: whether opening or the rebuild meets it, the rebuild gets through.
    env.sfs(&["daemon", "status"]); // a command that opens the store, so index.db is written out whole
    let index_db = env.store().join("index.db");
    let mut bytes = fs::read(&index_db).unwrap();
    for b in bytes.iter_mut().skip(4096) {
        *b = 0x42;
    }
    fs::write(&index_db, &bytes).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(env.store().join(format!("index.db{suffix}")));
    }
    let doctor = env.sfs(&["doctor", "--rebuild-index", "--json"]);
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    assert!(report["checks"].as_array().unwrap().iter().any(|c| c["check"] == "index repair"), "{report}");
    assert_eq!(env.json(&["search", "quasar", "--json"]).as_array().unwrap().len(), 1);

    // A folder where index.db should be: named, and moved aside by the rebuild.
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(env.store().join(format!("index.db{suffix}")));
    }
    fs::create_dir(env.store().join("index.db")).unwrap();
    let stderr = String::from_utf8_lossy(&env.sfs(&["list"]).stderr).into_owned();
    assert!(stderr.contains("index.db is damaged") && stderr.contains("--rebuild-index"), "{stderr}");
    env.sfs(&["doctor", "--rebuild-index"]);
    assert_eq!(env.json(&["search", "quasar", "--json"]).as_array().unwrap().len(), 1);

    // fulltext.db damaged past its first page, where opening it does not notice: the rebuild starts it anew.
    let fulltext = env.store().join("fulltext.db");
    let mut bytes = fs::read(&fulltext).unwrap();
    for b in bytes.iter_mut().skip(4096) {
        *b = 0x42;
    }
    fs::write(&fulltext, &bytes).unwrap();
    let _ = fs::remove_file(env.store().join("fulltext.db-wal"));
    env.sfs(&["doctor", "--rebuild-index"]);
    assert_eq!(env.json(&["search", "quasar", "--json"]).as_array().unwrap().len(), 1);
    let doctor = env.json(&["doctor", "--json"]);
    let search_index =
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "search index").unwrap().clone();
    assert_eq!(search_index["level"], "ok", "{search_index}");
}

struct DaemonGuard<'a>(&'a Env);

impl Drop for DaemonGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.sfs(&["daemon", "stop"]);
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn the_daemon_captures_appends_while_watching() {
    let env = Env::new();
    env.append(&user_line("u1", "daemon test begins"));
    let started = env.ok(&["daemon", "start"]);
    let _guard = DaemonGuard(&env);
    assert!(started.contains("sfsd started"), "{started}");
    // One instance only: a second start says so and where.
    let again = env.sfs(&["daemon", "start"]);
    let msg = String::from_utf8_lossy(&again.stderr);
    assert!(msg.contains("already running") && msg.contains("sfsd.lock"), "{msg}");
    let direct =
        Command::new(env!("CARGO_BIN_EXE_sfsd")).env("HOME", env.home()).env("SFS_HOME", env.store()).output().unwrap();
    assert!(!direct.status.success());
    assert!(String::from_utf8_lossy(&direct.stderr).contains("already running"));

    wait_for("the initial scan", Duration::from_secs(10), || {
        env.json(&["search", "begins", "--json"]).as_array().is_some_and(|a| !a.is_empty())
    });
    let appended_at = Instant::now();
    env.append(&user_line("u2", "a platypus appears"));
    wait_for("the appended message in search", Duration::from_secs(5), || {
        env.json(&["search", "platypus", "--json"]).as_array().is_some_and(|a| !a.is_empty())
    });
    eprintln!("append searchable after {:?}", appended_at.elapsed());

    let status = env.json(&["daemon", "status", "--json"]);
    assert_eq!(status["running"], true);
    assert!(status["pid"].is_u64() && status["pid"] == status["daemon"]["pid"], "one pid, a number: {status}");
    let agent = &status["agents"][0];
    assert_eq!(agent["agent"], "claude-code");
    assert_eq!(agent["sessions"], 1);
    assert_eq!(agent["records_skipped"], 0);
    assert!(agent["last_captured_at"].is_string());
    let logs = env.ok(&["daemon", "logs", "-n", "20"]);
    assert!(logs.contains("captured"), "{logs}");

    env.ok(&["daemon", "stop"]);
    assert_eq!(env.json(&["daemon", "status", "--json"])["running"], false);
    // Restart picks up what changed while stopped.
    env.append(&user_line("u3", "while stopped a narwhal"));
    env.ok(&["daemon", "restart"]);
    wait_for("the change made while stopped", Duration::from_secs(10), || {
        env.json(&["search", "narwhal", "--json"]).as_array().is_some_and(|a| !a.is_empty())
    });

    // index.db deleted under the running daemon: the next command rebuilds it from the session folders, and
    // the daemon notices and captures into the new one, not the deleted file.
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(env.store().join(format!("index.db{suffix}")));
    }
    assert_eq!(env.json(&["search", "narwhal", "--json"]).as_array().unwrap().len(), 1, "rebuilt on open");
    env.append(&user_line("u4", "after the index went an okapi"));
    wait_for("a message captured after index.db was replaced", Duration::from_secs(10), || {
        env.json(&["search", "okapi", "--json"]).as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(env.json(&["list", "--json"])[0]["message_count"], 4);
}

#[test]
fn a_daemon_older_than_the_index_is_flagged_and_stops_when_the_index_is_upgraded_under_it() {
    let env = Env::new();
    env.append(&user_line("u1", "schema guard"));
    env.ok(&["daemon", "start"]);
    let _guard = DaemonGuard(&env);
    let daemon_check = |env: &Env| {
        let doctor = env.json(&["doctor", "--json"]);
        doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "daemon").unwrap().clone()
    };
    wait_for("the daemon's status", Duration::from_secs(10), || daemon_check(&env)["level"] == "ok");

    // A daemon from before the status recorded its schema (an upgrade left it running): doctor says to restart.
    let status_file = env.store().join("daemon.json");
    let mut status: Value = serde_json::from_str(&fs::read_to_string(&status_file).unwrap()).unwrap();
    status.as_object_mut().unwrap().remove("index_schema");
    fs::write(&status_file, serde_json::to_string(&status).unwrap()).unwrap();
    let check = daemon_check(&env);
    assert_eq!(check["level"], "warn", "{check}");
    assert!(check["detail"].as_str().unwrap().contains("sfs daemon restart"), "{check}");

    // A newer sfs upgrades the index under the running daemon: it stops rather than write the old schema.
    let db = sessionfs_client::index::open_connection(&env.store().join("index.db")).unwrap();
    db.execute_batch("INSERT INTO schema_version (version) VALUES (999)").unwrap();
    wait_for("the daemon to stop", Duration::from_secs(10), || {
        env.json(&["daemon", "status", "--json"])["running"] == false
    });
    let logs = env.ok(&["daemon", "logs", "-n", "20"]);
    assert!(logs.contains("a newer sfs upgraded the index"), "{logs}");
}

#[test]
fn list_columns_line_up_and_bad_or_empty_filters_say_so() {
    let env = seeded();
    let list = env.ok(&["list"]);
    let mut lines = list.lines();
    let (header, row) = (lines.next().unwrap(), lines.next().unwrap());
    assert_eq!(header.find("AGENT"), row.find("claude-code"), "{list}");
    let none = env.sfs(&["list", "--tool", "codex"]);
    assert!(none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("No session matches"), "not \"No sessions yet\"");
    for bad in [
        &["list", "-n", "0"][..],
        &["search", "quasar", "-n", "0"],
        &["list", "--since", "99999999d"],
        &["list", "--since", "24"],
        &["search", " "],
    ] {
        let out = env.sfs(bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: a usage error, not a panic: {stderr}");
    }
}

#[test]
fn a_usage_error_shows_only_the_start_of_a_huge_argument() {
    let env = Env::new();
    let huge = "x".repeat(100_000);
    let quoted_huge = "\"".repeat(50_000);
    for (args, says) in [
        (vec!["search", huge.as_str()], "at most 500"),
        (vec!["search", quoted_huge.as_str()], "at most 500"),
        (vec!["list", "--since", huge.as_str()], "7d"),
        (vec!["list", "--tool", huge.as_str()], "claude-code"),
        (vec!["list", "-n", huge.as_str()], "--limit"),
        (vec!["sync", "watch", huge.as_str()], "ses_"),
        (vec!["list", huge.as_str()], "unexpected argument"),
        (vec![huge.as_str()], "unrecognized subcommand"),
    ] {
        let out = env.sfs(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {}", &args[0], &stderr[..stderr.len().min(300)]);
        assert!(stderr.len() < 600, "{}: the argument is echoed: {} bytes", &args[0], stderr.len());
        assert!(stderr.contains(says) && stderr.contains('…'), "{stderr}");
    }
    // Not a usage error, but the lookup's "no session matches" quotes it too.
    for command in ["show", "export", "delete"] {
        let out = env.sfs(&[command, huge.as_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.len() < 600, "{command}: the argument is echoed: {} bytes", stderr.len());
    }
}

#[test]
fn a_session_too_large_for_the_server_gets_each_piece_of_advice_once() {
    let env = seeded();
    let server = common::Server::start(&env.tmp.path().join("srv"), &[("SFS_MAX_UPLOAD_SIZE", "1KB")]);
    let key = common::signup(&server, "me@example.com");
    env.ok(&["auth", "login", "--url", &server.url, "--key", &key]);
    let id = env.json(&["list", "--json"])[0]["id"].as_str().unwrap().to_owned();
    for attempt in ["first", "excluded since"] {
        let out = env.sfs(&["push", &id]);
        let said = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert_eq!(out.status.code(), Some(1), "{attempt}: {said}");
        assert!(said.contains("too large"), "{attempt}: {said}");
        assert_eq!(said.matches("/compact").count(), 1, "{attempt}: {said}");
        assert!(said.matches("retried when it changes").count() <= 1, "{attempt}: {said}");
    }
}

#[test]
fn terminal_escapes_in_session_text_are_shown_not_sent() {
    let env = Env::new();
    env.append(&user_line("u1", "retitle \u{1b}]0;pwned\u{7}then clear\u{1b}[2J the walrus"));
    env.ok(&["import"]);
    let id = env.json(&["list", "--json"])[0]["id"].as_str().unwrap().to_owned();
    for args in [&["list"][..], &["search", "walrus"], &["show", &id]] {
        let printed = env.ok(args);
        assert!(printed.contains("walrus"), "{args:?}: {printed}");
        assert!(!printed.contains('\u{1b}') && !printed.contains('\u{7}'), "{args:?} sent an escape: {printed:?}");
        assert!(printed.contains("␛"), "{args:?}: shown instead: {printed}");
    }
    // JSON keeps the text as it is, escaped the JSON way.
    let hits = env.json(&["search", "walrus", "--json"]);
    assert!(hits[0]["snippet"].as_str().unwrap().contains('\u{1b}'));
}

#[test]
fn a_broken_config_is_an_error_in_doctor_and_auth_status_json_still_answers_in_json() {
    let env = seeded();
    for broken in [&b"x = = [[[\n"[..], b"\x00\xff\xfe"] {
        fs::write(env.store().join("config.toml"), broken).unwrap();
        let doctor = env.sfs(&["doctor", "--json"]);
        let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
        assert_eq!(report["ok"], false);
        let config = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "config").unwrap().clone();
        assert_eq!(config["level"], "error", "{config}");
        assert!(config["detail"].as_str().unwrap().contains("sfs auth login"), "{config}");

        let status = env.sfs(&["auth", "status", "--json"]);
        assert_eq!(status.status.code(), Some(1));
        let status: Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(status["logged_in"], false);
        assert!(status["error"].as_str().unwrap().contains("config.toml"), "{status}");
    }
    fs::remove_file(env.store().join("config.toml")).unwrap();
    let status = env.json(&["auth", "status", "--json"]);
    assert_eq!(
        status,
        serde_json::json!({"logged_in": false, "url": null, "key": null, "account": null, "error": null})
    );
}

#[test]
fn an_empty_store_lists_nothing_helpfully() {
    let env = Env::new();
    let out = env.sfs(&["list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sfs import"));
    assert_eq!(env.json(&["list", "--json"]), serde_json::json!([]));
}

#[test]
fn exports_redact_secrets_unless_told_not_to() {
    let env = Env::new();
    let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop";
    env.append(&user_line("u1", &format!("use the key {key} for the deploy")));
    env.ok(&["import"]);
    let md = env.sfs(&["export", "ses_0a1b", "--format", "markdown"]);
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(!text.contains(key) && text.contains("[REDACTED:"), "{text}");
    assert!(String::from_utf8_lossy(&md.stderr).contains("redacted"), "the redaction is reported");
    let dir = env.tmp.path().join("out.sfs");
    env.ok(&["export", "ses_0a1b", "--format", "sfs", "-o", dir.to_str().unwrap()]);
    let messages = fs::read_to_string(dir.join("messages.jsonl")).unwrap();
    assert!(!messages.contains(key), "{messages}");
    let raw = env.ok(&["export", "ses_0a1b", "--format", "json", "--no-redact"]);
    assert!(raw.contains(key));
}

#[test]
fn import_counts_only_sessions_it_wrote_and_a_local_delete_is_restored_from_the_agent_files() {
    let env = seeded();
    let id = env.json(&["list", "--json"])[0]["id"].as_str().unwrap().to_owned();
    env.ok(&["delete", &id, "--scope", "local"]);
    // The agent file is still there and changed: it is read, but a deleted session is not captured.
    env.append(&user_line("u9", "one more turn"));
    let summary = env.json(&["import", "--json"]);
    assert_eq!(summary["sessions_updated"], 0, "{summary}");
    assert_eq!(summary["new_messages"], 0, "{summary}");
    let out = env.ok(&["import"]);
    assert!(out.contains("Captured 0 session(s)"), "{out}");
    assert!(env.json(&["list", "--json"]).as_array().unwrap().is_empty());
    let out = env.ok(&["restore", &id]);
    assert!(out.contains("Captured") && out.contains("again"), "{out}");
    assert_eq!(env.json(&["list", "--json"]).as_array().unwrap().len(), 1);
    // With the turn the agent wrote while it was deleted.
    let shown = env.json(&["show", &id, "--json"]);
    assert!(shown["messages"].as_array().unwrap().iter().any(|m| m["msg_id"] == "u9"), "{shown}");
}
