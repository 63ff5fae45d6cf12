//! The `/mcp` endpoint (streamable HTTP) over real HTTP: every call is authenticated by its own bearer key,
//! two users at once never see each other's sessions, and a wrong or missing key is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, TestServer, archive};
use serde_json::{Value, json};

/// A minimal MCP client over streamable HTTP: initialize, then JSON-RPC requests with the session header.
struct Mcp {
    url: String,
    key: Option<String>,
    session: Option<String>,
    http: reqwest::Client,
    next_id: u64,
    /// The `Authorization` scheme's spelling: its case must not matter.
    scheme: &'static str,
}

impl Mcp {
    async fn connect(base: &str, key: Option<&str>) -> Result<Self, reqwest::StatusCode> {
        Self::connect_as(base, key, "Bearer").await
    }

    async fn connect_as(base: &str, key: Option<&str>, scheme: &'static str) -> Result<Self, reqwest::StatusCode> {
        let mut m = Self {
            url: format!("{base}/mcp"),
            key: key.map(str::to_owned),
            session: None,
            http: reqwest::Client::new(),
            next_id: 0,
            scheme,
        };
        let init =
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}});
        let (status, session, _) =
            m.post(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})).await;
        if !status.is_success() {
            return Err(status);
        }
        m.session = session;
        let (status, _, _) = m.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        assert_eq!(status.as_u16(), 202);
        Ok(m)
    }

    async fn post(&self, body: Value) -> (reqwest::StatusCode, Option<String>, Option<Value>) {
        let mut req = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&body);
        if let Some(k) = &self.key {
            req = req.header("authorization", format!("{} {k}", self.scheme));
        }
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let session = resp.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_owned());
        let text = resp.text().await.unwrap();
        let value = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("id").is_some())
            .or_else(|| serde_json::from_str(&text).ok());
        (status, session, value)
    }

    async fn call(&mut self, tool: &str, args: Value) -> Value {
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
        let (status, _, value) = self.post(body).await;
        assert!(status.is_success(), "{tool}: HTTP {status}");
        value.unwrap()["result"].clone()
    }
}

async fn user_with_sessions(s: &TestServer, email: &str, ids: &[&str], word: &str) -> Client {
    let c = s.signup(email).await;
    for id in ids {
        c.push_ok(id, archive(id, word, 3), None).await;
    }
    c
}

const ALICE: [&str; 2] = ["ses_a11ce00000000001", "ses_a11ce00000000002"];
const BOB: [&str; 1] = ["ses_b0b0000000000001"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_may_be_spelled_in_any_case() {
    let s = TestServer::start().await;
    let alice = user_with_sessions(&s, "alice@example.com", &ALICE, "aardvark").await;
    let mut m = Mcp::connect_as(&s.url, Some(&alice.key), "bearer").await.unwrap();
    let listed = m.call("list_sessions", json!({})).await;
    assert_eq!(listed["structuredContent"]["sessions"].as_array().map(Vec::len), Some(2), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_at_once_see_only_their_own_sessions() {
    let s = TestServer::start().await;
    let alice = user_with_sessions(&s, "alice@example.com", &ALICE, "aardvark").await;
    let bob = user_with_sessions(&s, "bob@example.com", &BOB, "bumblebee").await;
    let mut a = Mcp::connect(&s.url, Some(&alice.key)).await.unwrap();
    let mut b = Mcp::connect(&s.url, Some(&bob.key)).await.unwrap();
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a.call("list_sessions", json!({})), b.call("list_sessions", json!({})));
        let ids = |r: &Value| -> Vec<String> {
            r["structuredContent"]["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned())
                .collect()
        };
        let mut got_a = ids(&ra);
        got_a.sort();
        assert_eq!(got_a, ALICE.to_vec());
        assert_eq!(ids(&rb), BOB.to_vec());
    }
    // Search: each finds only their own words.
    let r = a.call("search_sessions", json!({"query": "bumblebee"})).await;
    assert_eq!(r["structuredContent"]["hits"], json!([]), "{r}");
    let r = b.call("search_sessions", json!({"query": "bumblebee"})).await;
    assert_eq!(r["structuredContent"]["hits"][0]["session_id"], BOB[0], "{r}");
    // Reading another user's session is "not found", as if it did not exist.
    let r = a.call("get_session", json!({"session_id": BOB[0]})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(r["content"][0]["text"].as_str().unwrap().contains("not found"), "{r}");
    let r = b.call("get_messages", json!({"session_id": BOB[0]})).await;
    assert_eq!(r["isError"], false, "{r}");
    assert!(r["structuredContent"]["total"].as_u64().unwrap() > 0, "{r}");
    let r = b.call("resume_session", json!({"session_id": BOB[0], "max_tokens": 1000})).await;
    assert!(r["structuredContent"]["brief"].as_str().unwrap().contains(BOB[0]), "{r}");
    // Handoffs go through the same rules as the REST API.
    let r = a
        .call("handoff_session", json!({"session_id": ALICE[0], "email": "bob@example.com", "message": "over to you"}))
        .await;
    assert_eq!(r["isError"], false, "{r}");
    let hnd = r["structuredContent"]["id"].as_str().unwrap().to_owned();
    assert!(hnd.starts_with("hnd_"));
    let r = b.call("list_handoffs", json!({"mailbox": "inbox"})).await;
    assert_eq!(r["structuredContent"]["handoffs"][0]["id"], hnd.as_str(), "{r}");
    let r = a.call("claim_handoff", json!({"handoff_id": hnd})).await;
    assert_eq!(r["isError"], true, "alice cannot claim her own handoff to bob: {r}");
    let r = b.call("claim_handoff", json!({"handoff_id": hnd})).await;
    assert_eq!(r["structuredContent"]["status"], "claimed", "{r}");
    let copy = r["structuredContent"]["claimed_session_id"].as_str().unwrap().to_owned();
    let r = b.call("get_session", json!({"session_id": copy})).await;
    assert_eq!(r["isError"], false, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_key_is_refused() {
    let s = TestServer::start().await;
    let alice = user_with_sessions(&s, "alice@example.com", &ALICE, "aardvark").await;
    assert_eq!(Mcp::connect(&s.url, None).await.err().map(|s| s.as_u16()), Some(401));
    assert_eq!(
        Mcp::connect(&s.url, Some("sk_sfs_00000000000000000000000000000000")).await.err().map(|s| s.as_u16()),
        Some(401)
    );
    assert_eq!(Mcp::connect(&s.url, Some("nonsense")).await.err().map(|s| s.as_u16()), Some(401));
    // A session opened with Alice's key cannot be used with another key, nor without one.
    let mut a = Mcp::connect(&s.url, Some(&alice.key)).await.unwrap();
    a.key = Some("sk_sfs_00000000000000000000000000000000".into());
    let (status, _, _) = a
        .post(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list_sessions", "arguments": {}}}))
        .await;
    assert_eq!(status.as_u16(), 401);
    a.key = None;
    let (status, _, _) = a.post(json!({"jsonrpc": "2.0", "id": 10, "method": "tools/list"})).await;
    assert_eq!(status.as_u16(), 401);
}
