//! Crash safety: `kill -9` of the real server binary while an upload is in flight leaves the old archive
//! or the new one, whole and matching its ETag, never a torn one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{archive, sha256_hex};
use serde_json::Value;

const ID: &str = "ses_0a1b2c3d4e5f6071";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the binary on a free port; returns the process and its address (read from its log).
fn start(data: &Path) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessionfs-server"))
        .env("SFS_DATA_DIR", data)
        .env("SFS_BIND", "127.0.0.1:0")
        .env("SFS_RATE_LIMIT_PER_MINUTE", "0")
        .env("SFS_REQUIRE_EMAIL_VERIFICATION", "false")
        .env("SFS_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let addr = loop {
        let line = lines.next().expect("the server exited before listening").unwrap();
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["fields"]["message"] == "listening"
        {
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {}); // keep draining the log
    (Proc(child), addr)
}

fn multipart(archive: &[u8]) -> (String, Vec<u8>) {
    let boundary = "sfs-crash-test-boundary";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.tar.gz\"\r\nContent-Type: application/gzip\r\n\r\n").into_bytes();
    body.extend_from_slice(archive);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary.to_owned(), body)
}

/// What the server has for the session: (ETag header, SHA-256 of the bytes).
fn stored(addr: &str, key: &str) -> (String, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-H",
            &format!("Authorization: Bearer {key}"),
            &format!("http://{addr}/api/v1/sessions/{ID}/sync"),
            "-o",
            "/dev/stdout",
        ])
        .output()
        .unwrap();
    let text = out.stdout;
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8_lossy(&text[..split]).to_lowercase();
    let etag = headers.lines().find_map(|l| l.strip_prefix("etag: ")).unwrap().trim().trim_matches('"').to_owned();
    (etag, sha256_hex(&text[split + 4..]))
}

fn signup(addr: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            "{\"email\":\"crash@example.com\"}",
            &format!("http://{addr}/api/v1/auth/signup"),
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["raw_key"].as_str().unwrap().to_owned()
}

fn send_push(addr: &str, key: &str, archive: &[u8], cut_at: Option<usize>) -> std::net::TcpStream {
    let (boundary, body) = multipart(archive);
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "PUT /api/v1/sessions/{ID}/sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let end = cut_at.unwrap_or(body.len()).min(body.len());
    tcp.write_all(&body[..end]).unwrap();
    tcp.flush().unwrap();
    tcp
}

#[test]
fn kill_9_during_uploads_never_leaves_a_torn_archive() {
    if Command::new("curl").arg("--version").output().is_err() {
        panic!("curl is needed by this test (apt-get install curl)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (proc, addr) = start(&data);
    let key = signup(&addr);
    let v1 = archive(ID, "version-one", 40);
    let etag1 = sha256_hex(&v1);
    let mut tcp = send_push(&addr, &key, &v1, None);
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut first = [0u8; 12];
    std::io::Read::read_exact(&mut tcp, &mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 201"), "{}", String::from_utf8_lossy(&first));
    drop(proc);

    // Kill the server at different moments of a large upload: mid-body, just after the body, a little later.
    let mut last = etag1.clone();
    for (round, (cut, delay_ms)) in
        [(Some(200_000), 50), (None, 0), (None, 2), (None, 10), (None, 40), (None, 150)].into_iter().enumerate()
    {
        let (mut proc, addr) = start(&data);
        let big = archive(ID, &format!("version-{round}-{}", "x".repeat(round * 7)), 60_000);
        let new_etag = sha256_hex(&big);
        let tcp = send_push(&addr, &key, &big, cut);
        std::thread::sleep(Duration::from_millis(delay_ms));
        proc.0.kill().unwrap(); // SIGKILL
        proc.0.wait().unwrap();
        drop(tcp);
        let (proc2, addr2) = start(&data);
        let (etag, sha) = stored(&addr2, &key);
        assert_eq!(etag, sha, "round {round}: the stored archive does not match its ETag (torn)");
        assert!(etag == last || etag == new_etag, "round {round}: the archive is neither the old nor the new one");
        if cut.is_some() {
            assert_eq!(etag, last, "round {round}: a half-sent upload must not replace the archive");
        }
        last = etag;
        drop(proc2);
    }
}
