//! The parts a browser test runs, all real: `sessionfs-server` in process on SQLite in a temp dir, the
//! project's `nginx/nginx.conf` in front of it, and Chromium driven by chromedriver. Every child runs in
//! its own process group, killed whole on drop, so a failing test leaves no browser behind.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sessionfs_server::{Config, Server};
use tokio_util::sync::CancellationToken;

/// How long any one thing may take to appear on the page.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the dashboard crate is in the workspace").to_path_buf()
}

pub fn dist() -> PathBuf {
    std::env::var_os("SFS_DASHBOARD_DIST").map(PathBuf::from).unwrap_or_else(|| workspace().join("dashboard/dist"))
}

fn chromium() -> PathBuf {
    std::env::var_os("SFS_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn chromedriver() -> PathBuf {
    std::env::var_os("SFS_CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

fn nginx() -> PathBuf {
    std::env::var_os("SFS_NGINX").map(PathBuf::from).unwrap_or_else(|| "/usr/sbin/nginx".into())
}

/// Whether to run: `SFS_BROWSER_TESTS=1` demands it (a missing part is then a failure); unset, the tests
/// run when every part is present and say what is missing otherwise.
pub fn enabled() -> bool {
    let missing: Vec<String> = [chromium(), chromedriver(), nginx(), dist().join("index.html")]
        .into_iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    let demanded = std::env::var("SFS_BROWSER_TESTS").is_ok_and(|v| v == "1");
    if missing.is_empty() {
        return true;
    }
    let hint = "install chromium, chromium-driver and nginx (.ci/run does) and run `cargo xtask dashboard`";
    assert!(!demanded, "SFS_BROWSER_TESTS=1 but these are missing: {missing:?}; {hint}");
    eprintln!("skipping the browser test: missing {missing:?}; {hint}");
    false
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process in its own group; dropping it kills the group.
pub struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Self {
        let child = cmd.process_group(0).spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        Self(child)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// The in-process server.
pub struct TestServer {
    pub url: String,
    stop: CancellationToken,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl TestServer {
    pub async fn start(dir: &Path) -> Self {
        let mut config = Config::for_data_dir(dir.join("data"));
        config.admin_emails = vec!["alice@example.com".into()];
        config.dashboard_dir = dist();
        config.storage_quota_bytes = Some(50 << 20);
        let server = Server::open(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let s = stop.clone();
        tokio::spawn(async move { server.serve(listener, s).await.unwrap() });
        Self { url, stop }
    }
}

/// nginx running `nginx/nginx.conf` with its listen address, root and upstream pointed at this test.
pub struct Nginx {
    pub url: String,
    _group: Group,
}

impl Nginx {
    pub async fn start(dir: &Path, upstream: &str) -> Self {
        let prefix = dir.join("nginx");
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let port = free_port();
        let conf = std::fs::read_to_string(workspace().join("nginx/nginx.conf")).unwrap();
        let upstream = upstream.trim_start_matches("http://");
        let mut patched = conf.clone();
        for (from, to) in [
            ("listen 80;".to_owned(), format!("listen 127.0.0.1:{port};")),
            ("root /usr/share/sessionfs/dashboard;".to_owned(), format!("root {};", dist().display())),
            ("server 127.0.0.1:8080;".to_owned(), format!("server {upstream};")),
            // Temp files under the test's prefix, not /var/lib/nginx.
            (
                "http {".to_owned(),
                format!(
                    "http {{\n    client_body_temp_path {p}/body; proxy_temp_path {p}/proxy; fastcgi_temp_path {p}/fcgi; \
                     uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi; access_log {p}/logs/access.log;",
                    p = prefix.display()
                ),
            ),
        ] {
            assert_eq!(patched.matches(&from).count(), 1, "nginx/nginx.conf must contain `{from}` exactly once");
            patched = patched.replace(&from, &to);
        }
        let conf_path = prefix.join("nginx.conf");
        std::fs::write(&conf_path, patched).unwrap();
        let mut globals = format!("daemon off; pid {}/nginx.pid; error_log stderr warn;", prefix.display());
        if running_as_root() {
            // Workers would otherwise drop to `nobody`, who cannot read a checkout under /root or a temp dir.
            globals.push_str(" user root;");
        }
        let group = Group::spawn(
            Command::new(nginx())
                .arg("-p")
                .arg(&prefix)
                .arg("-c")
                .arg(&conf_path)
                .arg("-g")
                .arg(globals)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        );
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while http.get(format!("{url}/index.html")).send().await.is_err() {
            assert!(started.elapsed() < PATIENCE, "nginx did not start listening on {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { url, _group: group }
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

/// A server with nginx in front of it, in a temporary directory. Fields drop in order: nginx, the server,
/// then the directory they used.
pub struct Stack {
    pub nginx: Nginx,
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path()).await;
        let nginx = Nginx::start(dir.path(), &server.url).await;
        Self { nginx, server, _dir: dir }
    }
}

/// Chromium under chromedriver, and the WebDriver session.
pub struct Browser {
    pub client: Client,
    _driver: Group,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Group::spawn(
            Command::new(chromedriver()).arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()),
        );
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())],
            }),
        );
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => break c,
                Err(e) => {
                    assert!(started.elapsed() < PATIENCE, "chromedriver did not accept a session: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Self { client, _driver: driver, _profile: profile }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Wait until `css` matches an element.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Wait until `check` holds, reading the page each time.
    pub async fn until(&self, what: &str, mut check: impl AsyncFnMut(&Client) -> bool) {
        let started = Instant::now();
        while !check(&self.client).await {
            if started.elapsed() >= PATIENCE {
                self.shot("failed").await;
                panic!("timed out waiting until {what} (target/dashboard-screenshots/failed.png shows the page)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
    }

    // Reads retry until the patience runs out: an element found a moment ago can be replaced by a re-render
    // (a stale element) before it is read.

    pub async fn text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            match self.wait(css).await.text().await {
                Ok(t) => return t,
                Err(e) => assert!(started.elapsed() < PATIENCE, "reading the text of {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn attr(&self, css: &str, name: &str) -> String {
        let started = Instant::now();
        loop {
            match self.wait(css).await.attr(name).await {
                Ok(v) => return v.unwrap_or_else(|| panic!("{css} has no {name}")),
                Err(e) => assert!(started.elapsed() < PATIENCE, "reading {name} of {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replace an input's value, as typing would.
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.wait(css).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            match self.wait(css).await.click().await {
                Ok(_) => return,
                Err(e) => assert!(started.elapsed() < PATIENCE, "clicking {css}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn select(&self, css: &str, value: &str) {
        self.wait(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    pub async fn wait_text(&self, css: &str, needle: &str) {
        let what = format!("{css} contains {needle:?}");
        self.until(&what, async |c| match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.is_ok_and(|t| t.contains(needle)),
            Err(_) => false,
        })
        .await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Save a screenshot under target/dashboard-screenshots for people to look at.
    pub async fn shot(&self, name: &str) {
        let dir = workspace().join("target/dashboard-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Sign in through the form and wait for the signed-in page.
    pub async fn sign_in(&self, key: &str, email: &str) {
        self.fill("#api-key", key).await;
        self.click("#sign-in").await;
        self.wait_text("#whoami", email).await;
    }

    pub async fn sign_out(&self) {
        self.click("#sign-out").await;
        self.wait("#api-key").await;
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A user of the server, calling the API directly to seed data and to check what the browser did.
#[derive(Clone)]
pub struct ApiUser {
    pub base: String,
    pub key: String,
    http: reqwest::Client,
}

impl ApiUser {
    pub async fn signup(base: &str, email: &str) -> Self {
        let http = reqwest::Client::new();
        let v: Value = http
            .post(format!("{base}/api/v1/auth/signup"))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = v["raw_key"].as_str().unwrap_or_else(|| panic!("signup of {email}: {v}")).to_owned();
        Self { base: base.to_owned(), key, http }
    }

    /// The same user with another of their keys.
    pub fn with_key(&self, key: &str) -> Self {
        Self { key: key.to_owned(), ..self.clone() }
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.key)
    }

    pub async fn status(&self, path: &str) -> u16 {
        self.req(reqwest::Method::GET, path).send().await.unwrap().status().as_u16()
    }

    pub async fn json(&self, path: &str) -> Value {
        let r = self.req(reqwest::Method::GET, path).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn push(&self, archive: Vec<u8>, id: &str) {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(archive).file_name("s.tar.gz").mime_str("application/gzip").unwrap(),
        );
        let r = self.req(reqwest::Method::PUT, &format!("/sessions/{id}/sync")).multipart(form).send().await.unwrap();
        assert!(r.status().is_success(), "push {id}: {}", r.status());
    }

    pub async fn delete(&self, id: &str) {
        let r = self.req(reqwest::Method::DELETE, &format!("/sessions/{id}?scope=cloud")).send().await.unwrap();
        assert!(r.status().is_success(), "delete {id}: {}", r.status());
    }
}

/// What a seeded session looks like.
pub struct Seed<'a> {
    pub id: &'a str,
    pub tool: &'a str,
    pub title: &'a str,
    pub tags: &'a [&'a str],
    pub word: &'a str,
    pub messages: usize,
}

/// A `.sfs` archive for a seed: alternating user/assistant text, and on every fourth message an
/// assistant turn with thinking, a tool call and its result, so the conversation view has all kinds.
pub fn archive(s: &Seed<'_>) -> Vec<u8> {
    let manifest = json!({
        "sfs_version": "0.1.0", "session_id": s.id, "title": s.title, "tags": s.tags,
        "created_at": "2026-11-20T10:00:00.000Z", "updated_at": "2026-11-20T10:05:00.000Z",
        "source": {"tool": s.tool, "tool_version": "1.0.0", "original_session_id": s.id},
        "model": {"provider": "anthropic", "model_id": "claude-sonnet-4-6"},
        "stats": {"message_count": s.messages, "turn_count": s.messages / 2, "tool_use_count": s.messages / 4,
                  "total_input_tokens": 10, "total_output_tokens": 5}
    });
    let mut lines = String::new();
    for i in 0..s.messages {
        let (role, content) = match i % 4 {
            0 => ("user", json!([{"type": "text", "text": format!("Please look at the {} setup, step {i}", s.word)}])),
            3 => (
                "assistant",
                json!([
                    {"type": "thinking", "thinking": format!("reasoning about step {i}")},
                    {"type": "tool_use", "id": format!("t{i}"), "name": "Bash", "input": {"command": "ls -la"}},
                    {"type": "tool_result", "tool_use_id": format!("t{i}"), "content": "total 0"},
                ]),
            ),
            _ => (
                "assistant",
                json!([{"type": "text", "text": format!("Step {i} of the {}:\n```sh\ncargo test\n```", s.word)}]),
            ),
        };
        let m = json!({"msg_id": format!("m{i}"), "role": role, "content": content,
                       "timestamp": "2026-11-20T10:00:00.000Z"});
        lines.push_str(&m.to_string());
        lines.push('\n');
    }
    sessionfs_server::archive::pack(&[
        ("manifest.json", manifest.to_string().as_bytes()),
        ("messages.jsonl", lines.as_bytes()),
    ])
    .unwrap()
}
