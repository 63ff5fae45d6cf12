//! Hostile archives over HTTP: each is refused with 400 or 413 and leaves nothing behind (no session row,
//! no archive on disk).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use common::{TestServer, archive, expect_error};
use flate2::Compression;
use flate2::write::GzEncoder;

const ID: &str = "ses_0a1b2c3d4e5f6071";

fn manifest() -> Vec<u8> {
    serde_json::json!({"sfs_version": "0.1.0", "session_id": ID, "created_at": "2026-03-20T10:00:00Z", "source": {"tool": "codex"}})
        .to_string()
        .into_bytes()
}

/// A tar.gz whose entries are written with raw header names and types (no sanitising by the tar crate).
fn raw_archive(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_gnu();
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if let Some(l) = link {
            let lb = l.as_bytes();
            h.as_old_mut().linkname[..lb.len()].copy_from_slice(lb);
        }
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

fn zeros_archive(size: usize) -> Vec<u8> {
    let zeros = vec![0u8; size];
    sessionfs_server::archive::pack(&[("manifest.json", &manifest()), ("messages.jsonl", &zeros)]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_archives_are_refused_and_leave_nothing() {
    let s = TestServer::start_with(|c| {
        c.max_unpacked_size = 8 << 20;
        c.max_member_size = 4 << 20;
    })
    .await;
    let alice = s.signup("alice@example.com").await;
    let m = manifest();
    let many: Vec<(String, Vec<u8>)> = (0..1_001).map(|i| (format!("f{i}.txt"), b"x".to_vec())).collect();
    let mut many_refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    many_refs.push(("manifest.json", &m));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "path traversal",
            raw_archive(&[
                ("manifest.json", tar::EntryType::Regular, &m, None),
                ("../../etc/evil", tar::EntryType::Regular, b"x", None),
            ]),
            400,
        ),
        (
            "absolute path",
            raw_archive(&[
                ("manifest.json", tar::EntryType::Regular, &m, None),
                ("/etc/passwd", tar::EntryType::Regular, b"x", None),
            ]),
            400,
        ),
        (
            "symlink",
            raw_archive(&[
                ("manifest.json", tar::EntryType::Regular, &m, None),
                ("link", tar::EntryType::Symlink, b"", Some("/etc/passwd")),
            ]),
            400,
        ),
        (
            "hardlink",
            raw_archive(&[
                ("manifest.json", tar::EntryType::Regular, &m, None),
                ("hard", tar::EntryType::Link, b"", Some("manifest.json")),
            ]),
            400,
        ),
        ("decompression bomb", zeros_archive(64 << 20), 400),
        ("too many members", sessionfs_server::archive::pack(&many_refs).unwrap(), 400),
        ("malformed manifest", sessionfs_server::archive::pack(&[("manifest.json", b"{not json")]).unwrap(), 400),
        (
            "manifest with a bad id",
            sessionfs_server::archive::pack(&[(
                "manifest.json",
                &String::from_utf8(m.clone()).unwrap().replace(ID, "ses_BAD").into_bytes(),
            )])
            .unwrap(),
            400,
        ),
        ("no manifest", sessionfs_server::archive::pack(&[("messages.jsonl", b"")]).unwrap(), 400),
        ("not gzip", b"this is not an archive".to_vec(), 400),
    ];
    for (name, bytes, status) in cases {
        let r = alice.push(ID, bytes, None).await;
        let got = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(got, status, "{name}: {body}");
        let code = body["error"]["code"].as_str().unwrap();
        assert!(["invalid_archive", "payload_too_large"].contains(&code), "{name}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 20, "{name}: the message says what is wrong");
        assert_eq!(s.blob_count(), 0, "{name}: an archive was left behind");
        assert_eq!(alice.json("/sessions").await["total"], 0, "{name}: a session row was left behind");
    }
    // The same uploads on an existing session change nothing either.
    let etag = alice.push_ok(ID, archive(ID, "fine", 2), None).await;
    expect_error(alice.push(ID, zeros_archive(64 << 20), Some(&etag)).await, 400, "payload_too_large").await;
    assert_eq!(alice.json(&format!("/sessions/{ID}")).await["etag"], etag.as_str());
    assert_eq!(s.blob_count(), 1);
}
