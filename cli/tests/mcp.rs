//! `sfs mcp serve` over stdio on a store imported from the agents' fixtures: JSON-RPC in, protocol only on
//! stdout, results matching the store. (The official Python SDK drives the same server in
//! `mcp-server/tests/python_sdk.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn stdio_server_lists_reads_and_resumes_the_local_store() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let store = tmp.path().join("store");
    std::fs::create_dir_all(&home).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures");
    for f in ["claude-code/2.1.197/tool_call", "codex/0.169.0/tool_call", "gemini-cli/0.61.0/two_turns"] {
        copy_dir(&fixtures.join(f).join("home"), &home);
    }
    let sfs = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(args)
            .env("HOME", &home)
            .env("SFS_HOME", &store)
            .output()
            .unwrap();
        assert!(out.status.success(), "sfs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    sfs(&["import"]);
    let listed: Value = serde_json::from_slice(&sfs(&["list", "--json"])).unwrap();
    let mut ids: Vec<String> =
        listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids.len(), 3, "{listed}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(["mcp", "serve"])
        .env("HOME", &home)
        .env("SFS_HOME", &store)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut next = 0;
    let mut request = |method: &str, params: Value| -> Value {
        next += 1;
        writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "id": next, "method": method, "params": params})).unwrap();
        if method == "initialize" {
            writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).unwrap();
        }
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the server closed stdout");
            let v: Value = serde_json::from_str(&line).expect("stdout carries JSON-RPC only");
            if v["id"] == next {
                return v["result"].clone();
            }
        }
    };
    let init = request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    );
    assert_eq!(init["serverInfo"]["name"], "sessionfs");
    assert_eq!(request("tools/list", json!({}))["tools"].as_array().unwrap().len(), 8);
    let call = |request: &mut dyn FnMut(&str, Value) -> Value, name: &str, args: Value| {
        let r = request("tools/call", json!({"name": name, "arguments": args}));
        (r["isError"] == true, r["structuredContent"].clone(), r)
    };
    let (err, page, _) = call(&mut request, "list_sessions", json!({}));
    assert!(!err);
    let mut got: Vec<String> =
        page["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
    got.sort();
    assert_eq!(got, ids);
    let (_, page, _) = call(&mut request, "list_sessions", json!({"agent": "codex"}));
    assert_eq!(page["total"], 1);
    let (_, page, _) = call(&mut request, "list_sessions", json!({"page_size": 2, "page": 2}));
    assert_eq!((page["sessions"].as_array().unwrap().len(), page["has_more"].clone()), (1, json!(false)));
    let first = &ids[0];
    let (err, s, r) = call(&mut request, "get_session", json!({"session_id": first}));
    assert!(!err, "{r}");
    let count = s["counts"]["messages"].as_u64().unwrap();
    let (_, m, _) = call(&mut request, "get_messages", json!({"session_id": first}));
    assert_eq!(m["total"].as_u64(), Some(count));
    let word = m["messages"][0]["text"].as_str().unwrap().split_whitespace().find(|w| w.len() > 4).unwrap().to_owned();
    let (err, hits, r) = call(&mut request, "search_sessions", json!({"query": word}));
    assert!(!err && !hits["hits"].as_array().unwrap().is_empty(), "{r}");
    let (err, brief, r) = call(&mut request, "resume_session", json!({"session_id": first, "max_tokens": 800}));
    assert!(!err && brief["brief"].as_str().unwrap().contains(first.as_str()), "{r}");
    let (err, _, r) = call(&mut request, "list_handoffs", json!({}));
    assert!(err && r["content"][0]["text"].as_str().unwrap().contains("sfs auth login"), "{r}");
    child.kill().ok();
    child.wait().unwrap();
}

/// `sfs mcp serve` on a store, driven line by line.
struct Serve {
    child: std::process::Child,
    /// `None` once closed by [`Serve::finish`].
    stdin: Option<std::process::ChildStdin>,
    /// Lines of stdout, read on a thread so that a missing reply fails the test instead of hanging it.
    lines: std::sync::mpsc::Receiver<String>,
    next: u64,
}

impl Serve {
    /// The server after the handshake.
    fn start(home: &Path, store: &Path, path: &str) -> Self {
        let mut s = Self::spawn(home, store, path, Stdio::null());
        let init =
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
        s.request("initialize", init);
        s.raw(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string().as_bytes());
        s
    }

    /// The server before any message.
    fn spawn(home: &Path, store: &Path, path: &str, stderr: Stdio) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(["mcp", "serve"])
            .env("HOME", home)
            .env("SFS_HOME", store)
            .env("PATH", path)
            .env_remove("SFS_LOG")
            .current_dir(home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdin = Some(child.stdin.take().unwrap());
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                if tx.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        Self { child, stdin, lines, next: 0 }
    }

    fn raw(&mut self, line: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Close stdin, as a client that is done, and wait (60 s at most) for the server to exit.
    fn finish(&mut self) -> std::process::ExitStatus {
        self.stdin = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not exit within 60 s of stdin closing");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The next message the server writes, whole.
    fn reply(&mut self) -> Value {
        let line = self.lines.recv_timeout(std::time::Duration::from_secs(60)).expect("no reply within 60 s");
        serde_json::from_str(&line).expect("stdout carries JSON-RPC only")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        self.raw(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string().as_bytes());
        loop {
            let v = self.reply();
            if v["id"] == id {
                return v;
            }
        }
    }

    /// A tool call's result: (is it an error, the text, the structured content).
    fn call(&mut self, name: &str, args: Value) -> (bool, String, Value) {
        let r = self.request("tools/call", json!({"name": name, "arguments": args}));
        let r = &r["result"];
        (
            r["isError"] == true,
            r["content"][0]["text"].as_str().unwrap_or_default().to_owned(),
            r["structuredContent"].clone(),
        )
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A Claude Code session of `turns` user questions, each answered at `answer_chars` characters.
fn claude_session(home: &Path, native: &str, turns: usize, answer_chars: usize) {
    let dir = home.join(".claude/projects/-tmp-p");
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = String::new();
    let mut parent = Value::Null;
    for i in 0..turns {
        let (u, a) = (format!("u{i}"), format!("a{i}"));
        let ts = format!("2026-03-20T10:{:02}:{:02}.000Z", i / 60, i % 60);
        lines += &json!({"parentUuid": parent, "isSidechain": false, "cwd": "/tmp/p", "sessionId": native,
            "version": "2.1.197", "type": "user", "message": {"role": "user", "content": format!("question {i}")},
            "uuid": u, "timestamp": ts})
        .to_string();
        lines.push('\n');
        lines += &json!({"parentUuid": u, "isSidechain": false, "cwd": "/tmp/p", "sessionId": native,
            "version": "2.1.197", "type": "assistant", "uuid": a, "timestamp": ts,
            "message": {"id": format!("m{i}"), "role": "assistant", "model": "claude-sonnet-4-6",
                "stop_reason": "end_turn", "content": [{"type": "text", "text": format!("answer {i} {}", "lorem ipsum ".repeat(answer_chars / 12))}]}})
        .to_string();
        lines.push('\n');
        parent = json!(a);
    }
    std::fs::write(dir.join(format!("{native}.jsonl")), lines).unwrap();
}

/// A stand-in `claude` that only answers `--version`, first on the returned PATH.
fn fake_claude(root: &Path) -> String {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(&claude, "#!/bin/sh\necho '2.1.197 (Claude Code)'\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn run_sfs(home: &Path, store: &Path, path: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(args)
        .env("HOME", home)
        .env("SFS_HOME", store)
        .env("PATH", path)
        .current_dir(home)
        .output()
        .unwrap();
    assert!(out.status.success(), "sfs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[test]
fn resume_for_an_agent_writes_what_sfs_resume_writes_and_says_what_it_trimmed() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    // Over Claude Code's context (about 200,000 tokens of 4 characters), so that even its own budget trims.
    claude_session(&home, "0a1b2c3d-1111-2222-3333-444455556666", 100, 8_000);
    let path = fake_claude(tmp.path());
    run_sfs(&home, &store, &path, &["import"]);
    let id = "ses_0a1b2c3d11112222";
    let cli: Value = serde_json::from_slice(&run_sfs(
        &home,
        &store,
        &path,
        &["resume", id, "--in", "claude-code", "--no-launch", "--json"],
    ))
    .unwrap();
    let mut mcp = Serve::start(&home, &store, &path);
    let (err, text, r) = mcp.call("resume_session", json!({"session_id": id, "target_tool": "claude-code"}));
    assert!(!err, "{text}");
    let written = &r["written"];
    // The brief's 4,000-token budget bounds the brief only: the agent gets as much as `sfs resume` gives it.
    assert_eq!(written["messages"], cli["messages"], "{written}");
    assert!(written["messages"].as_u64().unwrap() > 100, "{written}");
    assert_eq!(written["trimmed"]["turns"], cli["trimmed"]["turns"], "{written}");
    assert_eq!(written["trimmed"]["budget"], cli["trimmed"]["budget"], "{written}");
    assert!(r["estimated_tokens"].as_u64().unwrap() <= 4_400, "{}", r["estimated_tokens"]);
    for bad in [0, 499, 50_001] {
        let (err, text, _) = mcp.call("resume_session", json!({"session_id": id, "max_tokens": bad}));
        assert!(err && text.starts_with("Invalid params: max_tokens") && text.contains("500 to 50000"), "{text}");
    }
}

#[test]
fn list_since_is_parsed_like_the_cli_and_bad_input_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    claude_session(&home, "0a1b2c3d-1111-2222-3333-444455556666", 2, 100);
    let path = std::env::var("PATH").unwrap_or_default();
    run_sfs(&home, &store, &path, &["import"]);
    let listed: Value = serde_json::from_slice(&run_sfs(&home, &store, &path, &["list", "--json"])).unwrap();
    let updated = listed[0]["updated_at"].as_str().unwrap().to_owned();
    assert!(updated.starts_with("2026-03-20T10:00:01"), "{updated}");
    let mut mcp = Serve::start(&home, &store, &path);
    for (since, want) in [
        // 15:00 at +05:00 is 10:00 UTC, before the session's last update: compared as text it filtered it out.
        ("2026-03-20T15:00:00+05:00", 1),
        ("2026-03-20T10:00:01Z", 1),
        ("2026-03-20", 1),
        ("2026-03-21", 0),
        ("2026-03-20T11:00:00+00:00", 0),
        ("100000d", 1),
    ] {
        let (err, text, page) = mcp.call("list_sessions", json!({"since": since}));
        assert!(!err, "{since}: {text}");
        assert_eq!(page["total"], want, "since {since}");
    }
    for bad in ["yesterday", "24", "-5d"] {
        let (err, text, _) = mcp.call("list_sessions", json!({"since": bad}));
        assert!(err && text.starts_with("Invalid params: since:"), "{bad}: {text}");
        assert!(!text.contains("openapi"), "{text}");
    }
}

#[test]
fn oversized_search_queries_are_refused_quickly_without_echo() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    claude_session(&home, "0a1b2c3d-1111-2222-3333-444455556666", 2, 100);
    let path = std::env::var("PATH").unwrap_or_default();
    run_sfs(&home, &store, &path, &["import"]);
    let mut mcp = Serve::start(&home, &store, &path);
    let words: Vec<String> = (0..100_000).map(|i| format!("w{i}")).collect();
    let started = std::time::Instant::now();
    let (err, text, _) = mcp.call("search_sessions", json!({"query": words.join(" ")}));
    assert!(err && text.starts_with("Invalid params: query:") && text.contains("500"), "{}", &text[..200]);
    assert!(text.len() < 400, "the answer echoes the query: {} bytes", text.len());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (err, text, _) = mcp.call("search_sessions", json!({"query": words[..65].join(" ")}));
    assert!(err && text.contains("at most 64"), "{text}");
    let (err, text, hits) = mcp.call("search_sessions", json!({"query": "question"}));
    assert!(!err && !hits["hits"].as_array().unwrap().is_empty(), "{text}");
    // `sfs search` keeps the same limits.
    let out = Command::new(env!("CARGO_BIN_EXE_sfs"))
        .args(["search", &words[..65].join(" ")])
        .env("HOME", &home)
        .env("SFS_HOME", &store)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("at most 64"));
}

#[test]
fn protocol_and_argument_errors_are_answered_as_json_rpc_says_and_never_echo_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    std::fs::create_dir_all(&home).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let mut mcp = Serve::start(&home, &store, &path);
    // A line that is not JSON: parse error, id null.
    mcp.raw(b"this is not json");
    let r = mcp.reply();
    assert_eq!((r["id"].clone(), r["error"]["code"].clone()), (Value::Null, json!(-32700)), "{r}");
    // tools/call whose arguments are not an object: invalid params, with the request's id.
    for args in [json!("x"), json!([1])] {
        let r = mcp.request("tools/call", json!({"name": "get_session", "arguments": args}));
        assert_eq!(r["error"]["code"], -32602, "{r}");
    }
    // A line over 16 MiB: an error, and the server goes on.
    let mut huge = b"\"".to_vec();
    huge.resize(17 << 20, b'a');
    huge.push(b'"');
    mcp.raw(&huge);
    let r = mcp.reply();
    assert_eq!((r["id"].clone(), r["error"]["code"].clone()), (Value::Null, json!(-32600)), "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("16 MiB"), "{r}");
    // A malformed ID: the format error (not "not found"), its fix once, the ID cut.
    let bad = format!("ses_{}", "g".repeat(5 << 20));
    let (err, text, _) = mcp.call("get_session", json!({"session_id": bad}));
    assert!(err && text.starts_with("Invalid session ID format"), "{}", &text[..100]);
    assert!(text.len() < 1_000, "the ID was echoed whole: {} bytes", text.len());
    assert_eq!(text.matches("Fix:").count(), 1, "{text}");
    let (_, text, _) = mcp.call("get_session", json!({"session_id": "ses_0123456789abcdef"}));
    assert!(text.starts_with("Session not found") && text.matches("sfs list-remote").count() == 1, "{text}");
    // A resume into an agent SessionFS cannot write names the argument, not a flag of `sfs resume`.
    let (err, text, _) =
        mcp.call("resume_session", json!({"session_id": "ses_0123456789abcdef", "target_tool": "nonesuch"}));
    assert!(err && !text.contains("--in") && !text.contains("openapi"), "{text}");
    let r = mcp.request("tools/list", json!({}));
    assert_eq!(r["result"]["tools"].as_array().unwrap().len(), 8, "still serving");
}

#[test]
fn a_malformed_handshake_is_answered_and_the_client_can_begin_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    std::fs::create_dir_all(&home).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let log = tmp.path().join("stderr");
    let mut mcp = Serve::spawn(&home, &store, &path, Stdio::from(std::fs::File::create(&log).unwrap()));
    // `notifications/initialized` before initialize: dropped (rmcp ended the server on it, with a Debug dump).
    mcp.raw(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string().as_bytes());
    // Another request before initialize: told what comes first.
    let r = mcp.request("tools/list", json!({}));
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert_eq!(r["error"]["code"], -32600, "{r}");
    assert!(message.contains("initialize must come first") && message.contains("clientInfo"), "{r}");
    // initialize without clientInfo, or without anything: invalid params naming what it needs (rmcp named
    // `_meta` fields of another protocol version).
    for params in [json!({"protocolVersion": "2025-06-18", "capabilities": {}}), json!(null)] {
        let r = mcp.request("initialize", params);
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(r["error"]["code"], -32602, "{r}");
        assert!(message.contains("clientInfo") && !message.contains("_meta"), "{r}");
    }
    // ping is allowed before initialize, and a good initialize still begins the session.
    assert_eq!(mcp.request("ping", json!({}))["result"], json!({}));
    let init =
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
    let r = mcp.request("initialize", init);
    assert_eq!(r["result"]["serverInfo"]["name"], "sessionfs", "{r}");
    mcp.raw(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string().as_bytes());
    assert_eq!(mcp.request("tools/list", json!({}))["result"]["tools"].as_array().unwrap().len(), 8);
    assert!(mcp.finish().success());
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(!stderr.contains("JsonRpc") && !stderr.contains("{ "), "a Debug dump: {stderr}");
    assert!(stderr.lines().count() <= 1, "{stderr}");

    // A client that gives up after a failed initialize ends the server quietly.
    let mut mcp = Serve::spawn(&home, &store, &path, Stdio::from(std::fs::File::create(&log).unwrap()));
    let r = mcp.request("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(mcp.finish().success());
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");
}

#[test]
fn a_request_whose_id_is_not_a_string_or_number_gets_invalid_request_with_id_null() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, store) = (tmp.path().join("home"), tmp.path().join("store"));
    std::fs::create_dir_all(&home).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let mut mcp = Serve::start(&home, &store, &path);
    for id in [json!({"a": 1}), json!([1]), json!(true), json!(null)] {
        mcp.raw(json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string().as_bytes());
        let r = mcp.reply();
        assert_eq!((r["id"].clone(), r["error"]["code"].clone()), (Value::Null, json!(-32600)), "{id}: {r}");
    }
    assert_eq!(mcp.request("ping", json!({}))["result"], json!({}), "still serving");
}
