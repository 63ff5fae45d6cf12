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
