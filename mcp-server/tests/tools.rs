//! The tools over an in-process duplex transport with an in-memory source: the `tools/list` golden file
//! (names, descriptions, argument and output schemas, annotations), redaction and bounds.
//!
//! Regenerate the golden file with `SFS_UPDATE_GOLDEN=1 cargo test -p sessionfs-mcp --test tools`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::ServiceExt as _;
use serde_json::{Value, json};
use sessionfs_mcp::{
    Caller, HandoffInfo, ListQuery, LoadedSession, Mailbox, SearchHit, SessionInfo, SessionPage, SessionSource,
    SessionTools, SourceError, SourceResult,
};
use sessionfs_shared::ErrorCode;
use sessionfs_shared::sfs::{Block, Message, Role};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const SECRET: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";

struct Memory;

fn session_info() -> SessionInfo {
    SessionInfo {
        id: "ses_0123456789abcdef".into(),
        agent: "claude-code".into(),
        title: Some("Fix the login bug".into()),
        alias: None,
        tags: vec![],
        project_path: Some("/home/u/app".into()),
        model: Some("claude-sonnet-4-6".into()),
        message_count: 300,
        turn_count: 150,
        tool_call_count: 150,
        created_at: Some("2026-01-01T00:00:00Z".into()),
        updated_at: Some("2026-01-01T01:00:00Z".into()),
    }
}

fn messages() -> Vec<Message> {
    let mut out = vec![Message::new("m0", Role::User, vec![Block::text(format!("fix login; token is {SECRET}"))])];
    for i in 1..300 {
        let content = if i % 2 == 1 {
            vec![
                Block::text("x".repeat(10_000)),
                Block::ToolUse {
                    tool_use_id: format!("t{i}"),
                    name: "Bash".into(),
                    input: json!({"command": format!("cargo test {i}"), "file_path": "src/login.rs"}),
                },
            ]
        } else {
            vec![Block::ToolResult {
                tool_use_id: format!("t{}", i - 1),
                content: "ok".into(),
                is_error: false,
                exit_code: Some(0),
                duration_ms: None,
            }]
        };
        out.push(Message::new(format!("m{i}"), if i % 2 == 1 { Role::Assistant } else { Role::User }, content));
    }
    out
}

#[async_trait]
impl SessionSource for Memory {
    async fn caller(&self, _bearer: Option<&str>) -> SourceResult<Caller> {
        Ok(Caller::local())
    }
    async fn list_sessions(&self, _c: &Caller, q: &ListQuery) -> SourceResult<SessionPage> {
        Ok(SessionPage {
            sessions: vec![session_info()],
            page: q.page,
            page_size: q.page_size,
            total: 1,
            has_more: false,
        })
    }
    async fn search_sessions(&self, _c: &Caller, _q: &str, _a: Option<&str>, _l: u32) -> SourceResult<Vec<SearchHit>> {
        Ok(vec![SearchHit {
            session_id: session_info().id,
            agent: "claude-code".into(),
            title: None,
            msg_id: Some("m0".into()),
            role: Some("user".into()),
            snippet: format!("token is «{SECRET}»"),
        }])
    }
    async fn load_session(&self, _c: &Caller, reference: &str) -> SourceResult<LoadedSession> {
        if reference != session_info().id {
            return Err(SourceError::new(ErrorCode::SessionNotFound, reference));
        }
        Ok(LoadedSession { info: session_info(), messages: messages() })
    }
    async fn handoff(&self, _c: &Caller, _s: &str, _e: &str, _m: Option<&str>) -> SourceResult<HandoffInfo> {
        Err(SourceError::new(ErrorCode::Unauthorized, "not logged in"))
    }
    async fn list_handoffs(&self, _c: &Caller, _m: Mailbox) -> SourceResult<Vec<HandoffInfo>> {
        Ok(vec![])
    }
    async fn claim_handoff(&self, _c: &Caller, _h: &str) -> SourceResult<HandoffInfo> {
        Err(SourceError::new(ErrorCode::HandoffNotFound, "no such handoff"))
    }
}

struct Conn {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    read: BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>,
    id: u64,
}

impl Conn {
    async fn start() -> Self {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            let running = SessionTools::new(Arc::new(Memory)).serve(server).await.unwrap();
            let _ = running.waiting().await;
        });
        let (read, write) = tokio::io::split(client);
        let mut c = Self { write, read: BufReader::new(read), id: 0 };
        let init =
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
        c.request("initialize", init).await;
        c.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        c
    }

    async fn send(&mut self, v: Value) {
        self.write.write_all(format!("{v}\n").as_bytes()).await.unwrap();
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})).await;
        loop {
            let mut line = String::new();
            self.read.read_line(&mut line).await.unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == self.id {
                return v["result"].clone();
            }
        }
    }

    async fn call(&mut self, name: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": args})).await
    }
}

#[tokio::test]
async fn tools_list_matches_the_golden_file() {
    let mut c = Conn::start().await;
    let tools = c.request("tools/list", json!({})).await;
    let text = serde_json::to_string_pretty(&tools).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tools_list.json");
    if std::env::var_os("SFS_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let golden = std::fs::read_to_string(&path).expect("golden file; run with SFS_UPDATE_GOLDEN=1 to write it");
    assert_eq!(text, golden, "tools/list changed; if intended, rerun with SFS_UPDATE_GOLDEN=1");
    // Every tool says whether it only reads, and documents every argument.
    for tool in tools["tools"].as_array().unwrap() {
        let ann = &tool["annotations"];
        assert!(ann["readOnlyHint"].is_boolean() && ann["destructiveHint"].is_boolean(), "{tool}");
        assert!(tool["outputSchema"].is_object(), "{tool}");
        for (name, prop) in tool["inputSchema"]["properties"].as_object().unwrap() {
            assert!(prop["description"].is_string(), "{} argument {name} has no description", tool["name"]);
        }
    }
}

#[tokio::test]
async fn results_are_redacted_and_bounded() {
    let mut c = Conn::start().await;
    let id = session_info().id;
    for (tool, args) in [
        ("search_sessions", json!({"query": "token"})),
        ("get_messages", json!({"session_id": id, "limit": 100})),
        ("get_session", json!({"session_id": id})),
        ("resume_session", json!({"session_id": id, "max_tokens": 2000})),
    ] {
        let r = c.call(tool, args).await;
        let text = r.to_string();
        assert_eq!(r["isError"], false, "{tool}: {text}");
        assert!(!text.contains(SECRET), "{tool} leaked a secret");
        assert!(text.len() < 300_000, "{tool} returned {} bytes", text.len());
    }
    let r = c.call("get_messages", json!({"session_id": id, "limit": 100})).await;
    let page = &r["structuredContent"];
    assert!(page["messages"][0]["text"].as_str().unwrap().contains("[REDACTED"), "{}", page["messages"][0]);
    assert!(page["messages"].as_array().unwrap().len() < 100, "the page stops at its character bound");
    assert_eq!(page["total"], 300);
    assert!(page["next_offset"].is_u64());
    let r = c.call("get_messages", json!({"session_id": id, "offset": -2})).await;
    assert_eq!(r["structuredContent"]["offset"], 298);
    let r = c.call("resume_session", json!({"session_id": id, "max_tokens": 2000})).await;
    let est = r["structuredContent"]["estimated_tokens"].as_u64().unwrap();
    assert!(est <= 2_200, "{est}");
    assert!(r["structuredContent"]["brief"].as_str().unwrap().contains("src/login.rs"));
    let r = c.call("get_session", json!({"session_id": id})).await;
    assert_eq!(r["structuredContent"]["files_touched"], json!(["src/login.rs"]));
    assert_eq!(r["structuredContent"]["commands_run"].as_array().unwrap().len(), 30);
    // Domain failures are tool errors carrying the fix.
    let r = c.call("get_session", json!({"session_id": "ses_ffffffffffffffff"})).await;
    assert_eq!(r["isError"], true);
    assert!(r["content"][0]["text"].as_str().unwrap().contains("Fix: "), "{r}");
    let r = c.call("resume_session", json!({"session_id": id, "target_tool": "codex"})).await;
    assert_eq!(r["isError"], true, "a source that cannot write for agents says so: {r}");
}
