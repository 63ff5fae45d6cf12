//! A real server on 127.0.0.1:0 with SQLite and archives in a temporary directory, and a small client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sessionfs_server::archive::pack;
use sessionfs_server::{Config, Server};
use tokio_util::sync::CancellationToken;

pub struct TestServer {
    pub url: String,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
    pub state: sessionfs_server::AppState,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path().join("data"));
        config.admin_emails = vec!["admin@example.com".into()];
        f(&mut config);
        let server = Server::open(config).unwrap();
        let state = server.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move { server.serve(listener, s).await.unwrap() });
        Self { url, dir, stop, state }
    }

    pub fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("data/blobs")
    }

    pub fn outbox(&self) -> PathBuf {
        self.dir.path().join("data/outbox")
    }

    pub async fn signup(&self, email: &str) -> Client {
        let http = reqwest::Client::new();
        let resp = http
            .post(format!("{}/api/v1/auth/signup", self.url))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{}", resp.text().await.unwrap());
        let body: Value = resp.json().await.unwrap();
        Client {
            url: self.url.clone(),
            key: body["raw_key"].as_str().unwrap().to_owned(),
            http,
            email: email.to_owned(),
        }
    }

    /// Follow the verification link mailed to `client`'s address at signup.
    pub async fn verify(&self, client: &Client) {
        let to = format!("To: {}\r\n", client.email);
        let link = std::fs::read_dir(self.outbox())
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .filter(|mail| mail.starts_with(&to))
            .find_map(|mail| mail.lines().find(|l| l.contains("/api/v1/auth/verify?token=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no verification mail to {}", client.email));
        // The link's host is the configured bind address (port 0 here), so only its token is used.
        let token = link.trim().split("token=").nth(1).unwrap();
        let r = client.http.get(format!("{}/api/v1/auth/verify?token={token}", self.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }

    /// Files under the archive directory.
    pub fn blob_count(&self) -> usize {
        fn walk(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
                .unwrap_or(0)
        }
        walk(&self.blob_dir())
    }
}

#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub key: String,
    pub http: reqwest::Client,
    pub email: String,
}

impl Client {
    pub fn with_key(&self, key: &str) -> Self {
        Self { key: key.to_owned(), ..self.clone() }
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}/api/v1{path}", self.url)).bearer_auth(&self.key)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(reqwest::Method::GET, path).send().await.unwrap()
    }

    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn push(&self, id: &str, archive: Vec<u8>, if_match: Option<&str>) -> Response {
        self.push_with(id, archive, if_match, false).await
    }

    /// `PUT /sessions/{id}/sync` with the archive, for a test to add headers to.
    pub fn push_request(&self, id: &str, archive: Vec<u8>) -> reqwest::RequestBuilder {
        let form = Form::new()
            .part("file", Part::bytes(archive).file_name("session.tar.gz").mime_str("application/gzip").unwrap());
        self.req(reqwest::Method::PUT, &format!("/sessions/{id}/sync")).multipart(form)
    }

    pub async fn push_with(&self, id: &str, archive: Vec<u8>, if_match: Option<&str>, undelete: bool) -> Response {
        let mut r = self.push_request(id, archive);
        if let Some(e) = if_match {
            r = r.header("If-Match", format!("\"{e}\""));
        }
        if undelete {
            r = r.header("X-SessionFS-Undelete", "true");
        }
        r.send().await.unwrap()
    }

    /// Push as the sync client pushes: reqwest's blocking client, which streams the multipart body from
    /// another thread. Returns the status, `Retry-After` and the JSON body; panics when the client gets no
    /// answer (a broken connection).
    pub async fn blocking_push(&self, id: &str, archive: Vec<u8>) -> (u16, Option<String>, Value) {
        let (url, key) = (format!("{}/api/v1/sessions/{id}/sync", self.url), self.key.clone());
        tokio::task::spawn_blocking(move || {
            let part = reqwest::blocking::multipart::Part::bytes(archive)
                .file_name("session.tar.gz")
                .mime_str("application/gzip")
                .unwrap();
            let form = reqwest::blocking::multipart::Form::new().part("file", part);
            let r = reqwest::blocking::Client::new().put(url).bearer_auth(key).multipart(form).send();
            let r = r.unwrap_or_else(|e| panic!("the client gets the answer, not a broken connection: {e:?}"));
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (status, retry_after, r.json::<Value>().unwrap_or(Value::Null))
        })
        .await
        .unwrap()
    }

    /// Push and return the new ETag, asserting success.
    pub async fn push_ok(&self, id: &str, archive: Vec<u8>, if_match: Option<&str>) -> String {
        let r = self.push(id, archive, if_match).await;
        assert!(r.status().is_success(), "push {id}: {} {}", r.status(), r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        v["etag"].as_str().unwrap().to_owned()
    }
}

/// A session archive with `n` messages mentioning `word`.
pub fn archive(id: &str, word: &str, n: usize) -> Vec<u8> {
    let manifest = json!({
        "sfs_version": "0.1.0", "session_id": id, "title": format!("Session about {word}"), "tags": [],
        "created_at": "2026-03-20T10:00:00.000Z", "updated_at": "2026-03-20T10:05:00.000Z",
        "source": {"tool": "claude-code", "tool_version": "2.1.197", "original_session_id": "abc"},
        "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-6"},
        "stats": {"message_count": n, "turn_count": 1, "tool_use_count": 1, "total_input_tokens": 10, "total_output_tokens": 5}
    });
    let mut messages = String::new();
    for i in 0..n {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push_str(
            &json!({"msg_id": format!("m{i}"), "role": role, "content": [{"type": "text", "text": format!("{word} message {i}")}], "timestamp": "2026-03-20T10:00:00.000Z"})
                .to_string(),
        );
        messages.push('\n');
    }
    let workspace = json!({"root_path": "/tmp/p", "git": {"branch": "main"}}).to_string();
    let tools = json!({"tools_used": ["Bash"]}).to_string();
    pack(&[
        ("manifest.json", manifest.to_string().as_bytes()),
        ("messages.jsonl", messages.as_bytes()),
        ("workspace.json", workspace.as_bytes()),
        ("tools.json", tools.as_bytes()),
    ])
    .unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Assert an error envelope with this status and code; returns the body.
pub async fn expect_error(resp: Response, status: u16, code: &str) -> Value {
    let got = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "body: {body}");
    assert_eq!(body["error"]["code"], code, "body: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}
