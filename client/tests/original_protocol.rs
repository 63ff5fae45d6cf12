//! The sync client against responses shaped exactly as the original Python server sends them (fewer
//! fields, its envelope, quoted ETags), served by a canned HTTP responder: our `sfs` must work with a
//! server that speaks the original's protocol.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use sessionfs_client::Remote;
use sessionfs_client::sync::{Pulled, RemoteClient};

/// One canned answer: path prefix, status, headers, body.
type Route = (&'static str, u16, Vec<(&'static str, String)>, Vec<u8>);

/// Serve canned (status, headers, body) answers by path prefix; record the requests' first lines.
fn canned(routes: Vec<Route>) -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in l.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let mut len = 0usize;
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                headers.push(h.trim().to_owned());
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(format!("{} {}", first.trim(), headers.join(" | ")));
            let path = first.split_whitespace().nth(1).unwrap_or("").to_owned();
            let (status, extra, payload) = routes
                .iter()
                .find(|(p, ..)| path.starts_with(p))
                .map(|(_, s, h, b)| (*s, h.clone(), b.clone()))
                .unwrap_or((404, vec![], br#"{"error":{"code":"404","message":"Not Found","details":{}}}"#.to_vec()));
            let mut out = stream;
            write!(out, "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", payload.len()).unwrap();
            for (k, v) in extra {
                write!(out, "{k}: {v}\r\n").unwrap();
            }
            write!(out, "\r\n").unwrap();
            out.write_all(&payload).unwrap();
        }
    });
    (url, seen)
}

fn client(url: &str) -> RemoteClient {
    RemoteClient::new(&Remote { url: url.to_owned(), api_key: format!("sk_sfs_{}", "0".repeat(32)) })
        .unwrap()
        .with_backoff(std::time::Duration::from_millis(5))
}

#[test]
fn reads_the_originals_list_settings_push_and_error_shapes() {
    let list = br#"{"sessions":[{"id":"ses_0123456789abcdef","title":"t","source_tool":"claude-code","model_id":null,"message_count":3,"etag":"abc","created_at":"2026-03-20T10:00:00","updated_at":"2026-03-20T10:05:00","blob_size_bytes":100}],"total":1,"page":1,"has_more":false}"#;
    let conflict = br#"{"error":{"code":"etag_mismatch","message":"ETag mismatch \u2014 session has been updated","details":{"current_etag":"fff"}}}"#;
    let (url, seen) = canned(vec![
        ("/api/v1/sessions?", 200, vec![], list.to_vec()),
        ("/api/v1/sync/settings", 200, vec![], br#"{"mode":"all","debounce_seconds":30,"max_member_bytes":52428800}"#.to_vec()),
        ("/api/v1/sessions/ses_0123456789abcdef/sync", 409, vec![], conflict.to_vec()),
        ("/api/v1/sessions/ses_1111111111111111/sync", 200, vec![("ETag", "\"e1\"".into()), ("Content-Type", "application/gzip".into())], b"\x1f\x8bfake".to_vec()),
        ("/api/v1/sessions/ses_2222222222222222/sync", 201, vec![], br#"{"session_id":"ses_2222222222222222","etag":"e2","blob_size_bytes":10,"synced_at":"2026-03-20T10:00:00+00:00"}"#.to_vec()),
        ("/api/v1/auth/me", 401, vec![], br#"{"error":{"code":"401","message":"Invalid API key","details":{}}}"#.to_vec()),
    ]);
    let c = client(&url);
    let l = c.list(1, 20, false).unwrap();
    assert_eq!((l.total, l.sessions[0].etag.as_str(), l.sessions[0].message_count), (1, "abc", 3));
    let s = c.settings().unwrap();
    assert_eq!((s.mode.as_str(), s.max_upload_bytes), ("all", None));
    let err = c.push("ses_0123456789abcdef", b"x", Some("old"), false).err().unwrap();
    assert_eq!((err.status(), err.current_etag()), (Some(409), Some("fff")));
    assert!(err.to_string().contains("ETag mismatch"));
    match c.pull("ses_1111111111111111", None).unwrap() {
        Pulled::Archive { etag, bytes } => assert_eq!((etag.as_str(), bytes.len()), ("e1", 6)),
        Pulled::NotModified => panic!("expected an archive"),
    }
    assert_eq!(c.push("ses_2222222222222222", b"x", None, false).unwrap().etag, "e2");
    let err = c.me().err().unwrap();
    assert_eq!(err.status(), Some(401));
    assert!(err.hint().unwrap().contains("sfs auth login"), "{:?}", err.hint());
    // The wire details the original expects: quoted If-Match, bearer key.
    let log = seen.lock().unwrap().join("\n");
    assert!(log.contains("if-match: \"old\"") || log.contains("If-Match: \"old\""), "{log}");
    assert!(log.to_ascii_lowercase().contains("authorization: bearer sk_sfs_"), "{log}");
}

#[test]
fn retries_429_and_503_honouring_retry_after() {
    let (url, seen) = canned(vec![(
        "/api/v1/sync/settings",
        503,
        vec![("Retry-After", "0".into())],
        br#"{"error":{"code":"503","message":"busy","details":{}}}"#.to_vec(),
    )]);
    let err = client(&url).settings().err().unwrap();
    assert_eq!(err.status(), Some(503));
    assert_eq!(seen.lock().unwrap().len(), 4, "four attempts before giving up");
}
