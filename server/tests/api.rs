//! The `/api/v1` surface over real HTTP: statuses, the error envelope, ETag sync, concurrency, isolation,
//! deletion, quota, limits, verification, handoffs and admin routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};

use common::{TestServer, archive, expect_error, sha256_hex};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ID: &str = "ses_0a1b2c3d4e5f6071";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_errors_use_the_envelope_and_say_how_to_fix_them() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let me = alice.json("/auth/me").await;
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["tier"], "user");
    let r = alice.http.get(format!("{}/api/v1/auth/me", s.url)).send().await.unwrap();
    let body = expect_error(r, 401, "unauthorized").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("sfs auth login"), "{body}");
    expect_error(alice.with_key("sk_sfs_00000000000000000000000000000000").get("/auth/me").await, 401, "unauthorized")
        .await;
    expect_error(alice.with_key("nonsense").get("/auth/me").await, 401, "unauthorized").await;
    // A second signup with the same email is refused.
    let r = alice
        .http
        .post(format!("{}/api/v1/auth/signup", s.url))
        .json(&json!({"email": "ALICE@example.com"}))
        .send()
        .await
        .unwrap();
    let body = expect_error(r, 409, "conflict").await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("alice@example.com already exists") && message.contains("sfs auth login"), "{message}");
    assert!(body["error"]["details"]["fix"].as_str().unwrap().contains("sfs auth login"), "{body}");
    let r = alice
        .http
        .post(format!("{}/api/v1/auth/signup", s.url))
        .json(&json!({"email": "not an email"}))
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "bad_request").await;
    // Unknown routes and malformed JSON are envelopes too.
    expect_error(alice.get("/no/such/route").await, 404, "route_not_found").await;
    let r = alice
        .req(Method::POST, "/auth/me/api-keys")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    expect_error(r, 400, "bad_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_created_listed_and_revoked() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let r = alice
        .req(Method::POST, "/auth/me/api-keys")
        .json(&json!({"name": "laptop", "expires_in_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_sfs_") && key.len() == 39);
    let laptop = alice.with_key(&key);
    assert_eq!(laptop.json("/auth/me").await["email"], "alice@example.com");
    let keys = alice.json("/auth/me/api-keys").await;
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys.to_string().find(&key).is_none(), "keys are never listed in full");
    let id = created["id"].as_str().unwrap();
    let r = alice.req(Method::DELETE, &format!("/auth/me/api-keys/{id}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let body = expect_error(laptop.get("/auth/me").await, 401, "unauthorized").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"));
    // Another user cannot revoke my key.
    let bob = s.signup("bob@example.com").await;
    let mine = alice.json("/auth/me/api-keys").await[0]["id"].as_str().unwrap().to_owned();
    expect_error(
        bob.req(Method::DELETE, &format!("/auth/me/api-keys/{mine}")).send().await.unwrap(),
        404,
        "api_key_not_found",
    )
    .await;
    assert_eq!(alice.json("/auth/me").await["email"], "alice@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_etag_semantics() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let v1 = archive(ID, "alpha", 2);
    let r = alice.push(ID, v1.clone(), None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag1 = r.json::<Value>().await.unwrap()["etag"].as_str().unwrap().to_owned();
    assert_eq!(etag1, sha256_hex(&v1), "the ETag is the SHA-256 of the archive");
    let v2 = archive(ID, "beta", 4);
    let r = alice.push(ID, v2.clone(), Some(&etag1)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag2 = sha256_hex(&v2);
    // A push from a stale copy is refused with the server's ETag.
    let body = expect_error(alice.push(ID, archive(ID, "gamma", 3), Some(&etag1)).await, 409, "etag_mismatch").await;
    assert_eq!(body["error"]["details"]["current_etag"], etag2.as_str());
    assert!(body["error"]["message"].as_str().unwrap().contains("sfs pull"));
    // If-Match takes the strong comparison (RFC 9110 13.1.1): the current ETag marked weak matches nothing.
    let weak = alice.push_request(ID, archive(ID, "delta", 5)).header("If-Match", format!("W/\"{etag2}\""));
    let body = expect_error(weak.send().await.unwrap(), 409, "etag_mismatch").await;
    assert_eq!(body["error"]["details"]["current_etag"], etag2.as_str(), "{body}");
    // Pull: the bytes, the quoted ETag, and 304 when unchanged.
    let r = alice.get(&format!("/sessions/{ID}/sync")).await;
    assert_eq!(r.headers()["etag"], format!("\"{etag2}\"").as_str());
    assert_eq!(r.headers()["content-type"], "application/gzip");
    assert_eq!(r.bytes().await.unwrap().to_vec(), v2);
    let r = alice
        .req(Method::GET, &format!("/sessions/{ID}/sync"))
        .header("If-None-Match", format!("\"{etag2}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = alice
        .req(Method::GET, &format!("/sessions/{ID}/sync"))
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The replaced archive is gone; only the live one is kept.
    assert_eq!(s.blob_count(), 1);
    // Metadata came from the manifest.
    let d = alice.json(&format!("/sessions/{ID}")).await;
    assert_eq!(
        (d["title"].as_str(), d["message_count"].as_u64(), d["etag"].as_str()),
        (Some("Session about beta"), Some(4), Some(etag2.as_str()))
    );
}

/// `If-None-Match: *` asks for a create: a live session under the ID is never replaced (409 with its ETag, as
/// a stale `If-Match`), so a machine that never synced cannot overwrite another's newer copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_star_creates_but_never_replaces() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let create = |bytes: Vec<u8>| alice.push_request(ID, bytes).header("If-None-Match", "*");
    let v1 = archive(ID, "newer", 6);
    let r = create(v1.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag1 = sha256_hex(&v1);
    assert_eq!(r.headers()["etag"], format!("\"{etag1}\"").as_str());

    let body = expect_error(create(archive(ID, "older", 4)).send().await.unwrap(), 409, "etag_mismatch").await;
    assert_eq!(body["error"]["details"]["current_etag"], etag1.as_str(), "{body}");
    let stored = alice.get(&format!("/sessions/{ID}/sync")).await.bytes().await.unwrap().to_vec();
    assert_eq!(stored, v1, "the live session is untouched");
    assert_eq!(s.blob_count(), 1, "the refused archive is not kept");
    // The condition is the caller's choice: without it a push still overwrites, as the original client expects.
    alice.push_ok(ID, archive(ID, "unconditional", 2), None).await;
    // Only `*` has a meaning on a push.
    let r = alice.push_request(ID, archive(ID, "x", 1)).header("If-None-Match", "\"abc\"").send().await.unwrap();
    expect_error(r, 400, "bad_request").await;

    // In the trash the usual rules hold: 410 without the undelete header, restored with it.
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    expect_error(create(archive(ID, "again", 2)).send().await.unwrap(), 410, "session_deleted").await;
    let r = create(archive(ID, "again", 2)).header("X-SessionFS-Undelete", "true").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(alice.json(&format!("/sessions/{ID}")).await["message_count"], 2);
    // Another user's session with the same ID is no obstacle (nor revealed).
    let bob = s.signup("bob@example.com").await;
    let r = bob.push_request(ID, archive(ID, "bobs", 1)).header("If-None-Match", "*").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// `POST /sessions` (the original client's upload) picks the ID, so the stored archive's manifest must name
/// that ID: clients refuse to pull an archive naming another session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_uploaded_with_post_names_its_new_id_and_can_be_pulled() {
    use sessionfs_server::archive::{self, ArchiveLimits};
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let original = archive(ID, "posted", 3);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(original.clone()).file_name("s.tar.gz"));
    let r = alice.req(Method::POST, "/sessions").multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let new_id = body["session_id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, ID);

    let r = alice.get(&format!("/sessions/{new_id}/sync")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag = body["etag"].as_str().unwrap();
    assert_eq!(r.headers()["etag"], format!("\"{etag}\"").as_str());
    let pulled = r.bytes().await.unwrap().to_vec();
    assert_eq!(sha256_hex(&pulled), etag, "the ETag is the stored archive's hash");
    let id = sessionfs_shared::SessionId::parse(&new_id).unwrap();
    let checked = archive::check(&pulled, Some(&id), &ArchiveLimits::default())
        .unwrap_or_else(|e| panic!("the pulled archive must name {new_id}: {e}"));
    assert_eq!(checked.message_count, 3);
    let messages = |a: &[u8]| archive::read_member(a, "messages.jsonl", &ArchiveLimits::default()).unwrap();
    assert_eq!(messages(&pulled), messages(&original), "the other members are kept as uploaded");
    // And the session syncs on from there like any other.
    alice.push_ok(&new_id, archive(&new_id, "posted", 5), Some(etag)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_pushes_with_one_etag_have_exactly_one_winner() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let base = alice.push_ok(ID, archive(ID, "base", 2), None).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let c = alice.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let bytes = archive(ID, &format!("writer{i}"), 3 + i);
            let r = c.push(ID, bytes.clone(), Some(&base)).await;
            (r.status(), bytes)
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (status, bytes) = t.await.unwrap();
        match status {
            StatusCode::OK => winners.push(bytes),
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((winners.len(), conflicts), (1, 49));
    let stored = alice.get(&format!("/sessions/{ID}/sync")).await.bytes().await.unwrap().to_vec();
    assert_eq!(stored, winners[0], "the stored archive is the winner's, whole");
    assert_eq!(s.blob_count(), 1, "losers' archives were cleaned up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_key_sees_nothing_and_changes_nothing() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let etag = alice.push_ok(ID, archive(ID, "secret", 2), None).await;
    for path in [
        format!("/sessions/{ID}"),
        format!("/sessions/{ID}/sync"),
        format!("/sessions/{ID}/download"),
        format!("/sessions/{ID}/messages"),
        format!("/sessions/{ID}/workspace"),
        format!("/sessions/{ID}/tools"),
    ] {
        expect_error(bob.get(&path).await, 404, "session_not_found").await;
    }
    expect_error(
        bob.req(Method::PATCH, &format!("/sessions/{ID}")).json(&json!({"title": "pwned"})).send().await.unwrap(),
        404,
        "session_not_found",
    )
    .await;
    expect_error(
        bob.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap(),
        404,
        "session_not_found",
    )
    .await;
    expect_error(
        bob.req(Method::POST, &format!("/sessions/{ID}/restore")).send().await.unwrap(),
        410,
        "session_deleted",
    )
    .await;
    let r = bob
        .req(Method::POST, "/handoffs")
        .json(&json!({"session_id": ID, "recipient_email": "bob@example.com"}))
        .send()
        .await
        .unwrap();
    expect_error(r, 404, "session_not_found").await;
    assert_eq!(bob.json("/sessions").await["total"], 0);
    assert_eq!(bob.json("/sessions/search?q=secret").await["total"], 0);
    // Bob pushing the same ID makes his own session; Alice's is untouched and nothing leaks (no 409).
    let r = bob.push(ID, archive(ID, "bobs", 1), None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d = alice.json(&format!("/sessions/{ID}")).await;
    assert_eq!((d["etag"].as_str(), d["title"].as_str()), (Some(etag.as_str()), Some("Session about secret")));
    expect_error(bob.get("/admin/stats").await, 403, "admin_required").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_session_ids_get_the_seed_message() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    for bad in ["ses_XYZ", "ses_1234567", "ses_abc_def", "ses_0a1b2c3d4e5f60711234567890abcdef0123456789"] {
        let body = expect_error(alice.get(&format!("/sessions/{bad}/messages")).await, 400, "invalid_session_id").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("ses_ + 8-40 lowercase hex"), "{body}");
        expect_error(alice.push(bad, archive(ID, "x", 1), None).await, 400, "invalid_session_id").await;
    }
    // An archive whose manifest names another session is refused.
    expect_error(alice.push(ID, archive("ses_ffffffffffffffff", "x", 1), None).await, 400, "invalid_archive").await;
}

/// Send headers that declare a huge body and no body at all: the answer must come back at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_uploads_are_refused_before_the_body_is_read() {
    let s = TestServer::start_with(|c| c.max_upload_size = 64 * 1024).await;
    let alice = s.signup("alice@example.com").await;
    let addr = s.url.trim_start_matches("http://").to_owned();
    let key = alice.key.clone();
    let reply = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        write!(tcp, "PUT /api/v1/sessions/{ID}/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 104857600\r\n\r\n").unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tcp.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("request_entity_too_large") && reply.contains("MAX_UPLOAD_SIZE"), "{reply}");
    // A chunked upload without a length is cut off at the limit too.
    let big = vec![7u8; 200 * 1024];
    let r = alice.push(ID, big, None).await;
    assert_eq!(r.status().as_u16(), 413);
    // A body up to twice the limit is read and dropped, so that a client still sending it sees the 413.
    let (status, _, body) = alice.blocking_push(ID, vec![7u8; 100 * 1024]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("request_entity_too_large")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_per_api_key_with_retry_after() {
    let s = TestServer::start_with(|c| c.rate_limit_per_minute = 5).await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    for _ in 0..5 {
        assert_eq!(alice.get("/auth/me").await.status(), StatusCode::OK);
    }
    let r = alice.get("/auth/me").await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = expect_error(r, 429, "rate_limited").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("SFS_RATE_LIMIT_PER_MINUTE"));
    assert_eq!(bob.get("/auth/me").await.status(), StatusCode::OK, "another key has its own budget");
}

/// A push refused before its body is read (rate limit, bad key, bad ID) must still reach the client as that
/// answer. The server used to answer and close while the client was still sending, and the sync client (the
/// blocking reqwest client, which streams a multipart body from another thread) saw a broken request body
/// instead of the 429, so it never waited `Retry-After` and called the server unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_refused_before_its_body_is_read_is_seen_by_the_client() {
    let s = TestServer::start_with(|c| c.rate_limit_per_minute = 2).await;
    let alice = s.signup("alice@example.com").await;
    for _ in 0..2 {
        assert_eq!(alice.get("/auth/me").await.status(), StatusCode::OK);
    }
    // Incompressible and larger than the socket buffers, so the client is still sending when refused.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let big: Vec<u8> = (0..8 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for bytes in [archive(ID, "small", 20), big.clone(), archive(ID, "small", 20)] {
        let (status, retry_after, body) = alice.blocking_push(ID, bytes).await;
        assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
        let retry: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    let stranger = alice.with_key("sk_sfs_00000000000000000000000000000000");
    let (status, _, body) = stranger.blocking_push(ID, big.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let bob = s.signup("bob@example.com").await;
    let (status, _, body) = bob.blocking_push("ses_XYZ", big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_session_id")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverified_accounts_cannot_push_until_they_follow_the_link() {
    let s = TestServer::start_with(|c| c.require_email_verification = Some(true)).await;
    let alice = s.signup("alice@example.com").await;
    let body = expect_error(alice.push(ID, archive(ID, "x", 1), None).await, 403, "email_not_verified").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("SFS_REQUIRE_EMAIL_VERIFICATION=false"));
    // Reads work; the link is in the outbox.
    assert_eq!(alice.json("/sessions").await["total"], 0);
    let mail = std::fs::read_dir(s.outbox()).unwrap().flatten().next().unwrap().path();
    let text = std::fs::read_to_string(mail).unwrap();
    let link = text.lines().find(|l| l.contains("/api/v1/auth/verify?token=")).unwrap().trim();
    let token = link.split("token=").nth(1).unwrap();
    let r = alice.http.get(format!("{}/api/v1/auth/verify?token={token}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = alice.http.get(format!("{}/api/v1/auth/verify?token={token}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a link works once");
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
}

/// A handoff names its recipient by email, and anyone can sign up with any address: where verification is
/// required, the recipient must verify the address before seeing or claiming what was handed to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverified_recipients_cannot_see_or_claim_handoffs() {
    let s = TestServer::start_with(|c| c.require_email_verification = Some(true)).await;
    let alice = s.signup("alice@example.com").await;
    s.verify(&alice).await;
    alice.push_ok(ID, archive(ID, "confidential", 2), None).await;
    let mallory = s.signup("bob@example.com").await; // not Bob: cannot open Bob's mail
    let r = alice
        .req(Method::POST, "/handoffs")
        .json(&json!({"session_id": ID, "recipient_email": "bob@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let hid = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    for (method, path) in [
        (Method::GET, "/handoffs/inbox".to_owned()),
        (Method::GET, format!("/handoffs/{hid}")),
        (Method::POST, format!("/handoffs/{hid}/claim")),
        (Method::POST, format!("/handoffs/{hid}/decline")),
        (Method::GET, format!("/handoffs/{hid}/comments")),
        (Method::GET, format!("/handoffs/{hid}/events")),
    ] {
        let r = mallory.req(method.clone(), &path).send().await.unwrap();
        let body = expect_error(r, 403, "email_not_verified").await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("bob@example.com has not been verified") && message.contains("link"), "{message}");
    }
    assert_eq!(mallory.json("/sessions").await["total"], 0, "nothing was copied");
    // The sender's side is not affected, and once the address is verified the handoff can be claimed.
    assert_eq!(alice.json(&format!("/handoffs/{hid}")).await["status"], "pending");
    s.verify(&mallory).await;
    let r = mallory.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(mallory.json("/sessions").await["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_restore_undelete_and_purge() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let admin = s.signup("admin@example.com").await;
    let etag = alice.push_ok(ID, archive(ID, "doomed", 2), None).await;
    let used = alice.json("/sync/status").await["storage_used_bytes"].as_u64().unwrap();
    assert!(used > 0);
    let r = alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=everywhere")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let d: Value = r.json().await.unwrap();
    assert_eq!((d["is_deleted"].as_bool(), d["delete_scope"].as_str()), (Some(true), Some("everywhere")));
    assert!(d["purge_after"].is_string());
    // Hidden at once, and out of the storage figures at once.
    expect_error(alice.get(&format!("/sessions/{ID}")).await, 404, "session_not_found").await;
    assert_eq!(alice.json("/sessions").await["total"], 0);
    assert_eq!(alice.json("/sync/status").await["storage_used_bytes"], 0);
    assert_eq!(alice.json("/sessions?deleted=true").await["total"], 1);
    expect_error(
        alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap(),
        410,
        "session_deleted",
    )
    .await;
    // An autosynced push does not bring it back; an explicit undelete does.
    expect_error(alice.push(ID, archive(ID, "doomed", 3), Some(&etag)).await, 410, "session_deleted").await;
    let r = alice.push_with(ID, archive(ID, "doomed", 3), Some(&etag), true).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(alice.json("/sessions").await["total"], 1);
    // Delete again, restore.
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    let r: Value =
        alice.req(Method::POST, &format!("/sessions/{ID}/restore")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (r["restored_from_scope"].as_str(), r["local_copy_may_be_missing"].as_bool()),
        (Some("cloud"), Some(false))
    );
    expect_error(alice.req(Method::POST, &format!("/sessions/{ID}/restore")).send().await.unwrap(), 409, "conflict")
        .await;
    // Purge: admin only; removes row and archive.
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    expect_error(alice.req(Method::POST, "/admin/purge-deleted").send().await.unwrap(), 403, "admin_required").await;
    let r: Value = admin.req(Method::POST, "/admin/purge-deleted").send().await.unwrap().json().await.unwrap();
    assert_eq!(r["purged"], 0, "nothing is past retention yet");
    let owner = alice.json("/auth/me").await["user_id"].as_str().unwrap().to_owned();
    let r: Value = admin
        .req(Method::POST, "/admin/purge-deleted")
        .json(&json!({"session_id": ID, "user_id": owner}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["purged"], 1);
    assert!(r["bytes_reclaimed"].as_u64().unwrap() > 0);
    assert_eq!(alice.json("/sessions?deleted=true").await["total"], 0);
    assert_eq!(s.blob_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_purge_removes_sessions_past_retention() {
    let s = TestServer::start_with(|c| {
        c.delete_retention_days = 0;
        c.purge_interval_secs = 1;
    })
    .await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.blob_count() > 0 {
        assert!(std::time::Instant::now() < deadline, "the scheduled purge did not run");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(alice.json("/sessions?deleted=true").await["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refuses_a_push_and_writes_nothing() {
    let one = archive(ID, "x", 1).len() as u64;
    let s = TestServer::start_with(|c| c.storage_quota_bytes = Some(one * 3 / 2)).await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
    let other = "ses_1111222233334444";
    let body = expect_error(alice.push(other, archive(other, "y", 1), None).await, 413, "quota_exceeded").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("SFS_STORAGE_QUOTA_BYTES"));
    assert_eq!(alice.json("/sessions").await["total"], 1);
    assert_eq!(s.blob_count(), 1);
    // Replacing a session counts only the difference; deleting frees space.
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    alice.push_ok(other, archive(other, "y", 1), None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_paging_search_messages_and_edits() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    for i in 0..3 {
        let id = format!("ses_{i:016x}");
        alice.push_ok(&id, archive(&id, if i == 1 { "zebra" } else { "horse" }, 5), None).await;
    }
    let page = alice.json("/sessions?page=1&page_size=2").await;
    assert_eq!(
        (page["total"].as_u64(), page["has_more"].as_bool(), page["sessions"].as_array().unwrap().len()),
        (Some(3), Some(true), 2)
    );
    assert_eq!(alice.json("/sessions?source_tool=claude").await["total"], 3);
    assert_eq!(alice.json("/sessions?source_tool=codex").await["total"], 0);
    expect_error(alice.get("/sessions?page_size=1000").await, 400, "bad_request").await;
    let hits = alice.json("/sessions/search?q=zebra").await;
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["results"][0]["session_id"], "ses_0000000000000001");
    assert!(hits["results"][0]["matches"][0]["snippet"].as_str().unwrap().contains("<mark>zebra</mark>"));
    // The limits of `sfs search` and the MCP tool: 500 characters (not bytes), 64 words.
    assert_eq!(alice.json(&format!("/sessions/search?q={}", "é".repeat(300))).await["total"], 0);
    let many = vec!["zebra"; 65].join("%20");
    expect_error(alice.get(&format!("/sessions/search?q={many}")).await, 400, "bad_request").await;
    expect_error(alice.get(&format!("/sessions/search?q={}", "z".repeat(501))).await, 400, "bad_request").await;
    let id = "ses_0000000000000001";
    let m = alice.json(&format!("/sessions/{id}/messages?page=2&page_size=2")).await;
    assert_eq!((m["total"].as_u64(), m["has_more"].as_bool()), (Some(5), Some(true)));
    assert_eq!(m["messages"][0]["msg_id"], "m2");
    let newest = alice.json(&format!("/sessions/{id}/messages?order=newest&page_size=1")).await;
    assert_eq!(newest["messages"][0]["msg_id"], "m4");
    assert_eq!(alice.json(&format!("/sessions/{id}/workspace")).await["workspace"]["root_path"], "/tmp/p");
    assert_eq!(alice.json(&format!("/sessions/{id}/tools")).await["tools"]["tools_used"][0], "Bash");
    let r = alice
        .req(Method::PATCH, &format!("/sessions/{id}"))
        .json(&json!({"title": "Renamed", "alias": "zeb", "tags": ["a", "b"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let by_alias = alice.json("/sessions/zeb").await;
    assert_eq!((by_alias["id"].as_str(), by_alias["title"].as_str()), (Some(id), Some("Renamed")));
    assert_eq!(alice.json("/sessions?tag=a").await["total"], 1);
    let r =
        alice.req(Method::PATCH, "/sessions/ses_0000000000000002").json(&json!({"alias": "zeb"})).send().await.unwrap();
    expect_error(r, 409, "conflict").await;
    let r = alice.req(Method::PATCH, &format!("/sessions/{id}")).json(&json!({"alias": "x y"})).send().await.unwrap();
    expect_error(r, 400, "bad_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_settings_watchlist_and_status() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let st = alice.json("/sync/settings").await;
    assert_eq!((st["mode"].as_str(), st["debounce_seconds"].as_u64()), (Some("off"), Some(30)));
    let r: Value = alice
        .req(Method::PUT, "/sync/settings")
        .json(&json!({"mode": "selective", "debounce_seconds": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (r["mode"].as_str(), r["debounce_seconds"].as_u64()),
        (Some("selective"), Some(5)),
        "debounce is clamped to 5..300"
    );
    let r = alice.req(Method::PUT, "/sync/settings").json(&json!({"mode": "sometimes"})).send().await.unwrap();
    expect_error(r, 400, "bad_request").await;
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
    alice.req(Method::POST, &format!("/sync/watch/{ID}")).send().await.unwrap();
    alice.req(Method::POST, &format!("/sync/watch/{ID}")).send().await.unwrap();
    let w = alice.json("/sync/watchlist").await;
    assert_eq!(w["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(w["sessions"][0]["title"], "Session about x");
    let r: Value =
        alice.req(Method::PUT, &format!("/sync/watch/{ID}/failed")).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["status"], "failed");
    let status = alice.json("/sync/status").await;
    assert_eq!(
        (
            status["mode"].as_str(),
            status["watched_sessions"].as_u64(),
            status["failed"].as_u64(),
            status["total_sessions"].as_u64()
        ),
        (Some("selective"), Some(1), Some(1), Some(1))
    );
    alice.req(Method::DELETE, &format!("/sync/watch/{ID}")).send().await.unwrap();
    assert!(alice.json("/sync/watchlist").await["sessions"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoffs_copy_the_session_into_the_recipients_account() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let carol = s.signup("carol@example.com").await;
    let archive_bytes = archive(ID, "handoff", 3);
    alice.push_ok(ID, archive_bytes.clone(), None).await;
    let r = alice
        .req(Method::POST, "/handoffs")
        .json(&json!({"session_id": ID, "recipient_email": "Bob@Example.com", "message": "over to you"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let h: Value = r.json().await.unwrap();
    let hid = h["id"].as_str().unwrap().to_owned();
    assert!(hid.starts_with("hnd_") && hid.len() == 20, "{hid}");
    assert_eq!(h["status"], "pending");
    assert!(std::fs::read_dir(s.outbox()).unwrap().count() >= 1, "the recipient was mailed");
    assert_eq!(bob.json("/handoffs/inbox").await["total"], 1);
    assert_eq!(bob.json("/handoffs/inbox/").await["total"], 1, "trailing slash, as the original CLI sends");
    assert_eq!(alice.json("/handoffs/sent").await["total"], 1);
    // Outsiders see nothing; the sender cannot claim.
    expect_error(carol.get(&format!("/handoffs/{hid}")).await, 404, "handoff_not_found").await;
    expect_error(
        carol.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap(),
        404,
        "handoff_not_found",
    )
    .await;
    expect_error(
        alice.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap(),
        404,
        "handoff_not_found",
    )
    .await;
    expect_error(bob.get("/handoffs/hnd_xyz").await, 400, "invalid_handoff_id").await;
    let r = bob.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let claimed: Value = r.json().await.unwrap();
    assert_eq!(claimed["status"], "claimed");
    let copy_id = claimed["recipient_session_id"].as_str().unwrap().to_owned();
    // Bob has his own copy, with the same content, and it is listed for him.
    let list = bob.json("/sessions").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["sessions"][0]["id"], copy_id.as_str());
    assert_eq!(list["sessions"][0]["parent_session_id"], ID);
    // The copy is a session of its own: same conversation, its own ID in the manifest, linked to the original.
    let pulled = bob.get(&format!("/sessions/{copy_id}/sync")).await.bytes().await.unwrap().to_vec();
    let limits = sessionfs_server::archive::ArchiveLimits::default();
    let copy_id_parsed = sessionfs_shared::SessionId::parse(&copy_id).unwrap();
    let checked = sessionfs_server::archive::check(&pulled, Some(&copy_id_parsed), &limits).unwrap();
    assert_eq!(checked.manifest.parent_session_id.as_deref(), Some(ID));
    let read = |b: &[u8]| sessionfs_server::archive::read_member(b, "messages.jsonl", &limits).unwrap();
    assert_eq!(read(&pulled), read(&archive_bytes));
    // Bob can push his copy onward (the original's copies named the sender's ID and could not be pushed).
    let r = bob.push(&copy_id, pulled.clone(), Some(&checked.etag)).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Comments and events.
    let r = bob
        .req(Method::POST, &format!("/handoffs/{hid}/comments"))
        .json(&json!({"content": "thanks!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let comments = alice.json(&format!("/handoffs/{hid}/comments")).await;
    assert_eq!(comments[0]["content"], "thanks!");
    let events: Vec<String> = alice
        .json(&format!("/handoffs/{hid}/events"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["created", "claimed", "commented"]);
    expect_error(carol.get(&format!("/handoffs/{hid}/comments")).await, 404, "handoff_not_found").await;
    expect_error(bob.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap(), 409, "conflict").await;
    expect_error(
        alice
            .req(Method::POST, &format!("/handoffs/{hid}/revoke"))
            .json(&json!({"reason": "oops"}))
            .send()
            .await
            .unwrap(),
        409,
        "conflict",
    )
    .await;
    // The sender deleting their session does not touch the copy.
    alice.req(Method::DELETE, &format!("/sessions/{ID}?scope=cloud")).send().await.unwrap();
    assert_eq!(bob.json(&format!("/sessions/{copy_id}")).await["id"], copy_id.as_str());
    // Revoke and decline.
    let other = "ses_9999888877776666";
    alice.push_ok(other, archive(other, "two", 1), None).await;
    let h2: Value = alice
        .req(Method::POST, "/handoffs")
        .json(&json!({"session_id": other, "recipient_email": "bob@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h2 = h2["id"].as_str().unwrap().to_owned();
    expect_error(
        bob.req(Method::POST, &format!("/handoffs/{h2}/revoke")).send().await.unwrap(),
        404,
        "handoff_not_found",
    )
    .await;
    let r: Value =
        bob.req(Method::POST, &format!("/handoffs/{h2}/decline")).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["status"], "declined");
    expect_error(bob.req(Method::POST, &format!("/handoffs/{h2}/claim")).send().await.unwrap(), 409, "conflict").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_handoffs_answer_410() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
    let h: Value = alice
        .req(Method::POST, "/handoffs")
        .json(&json!({"session_id": ID, "recipient_email": "bob@example.com"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hid = h["id"].as_str().unwrap();
    // Age it by hand: the store has no clock of its own.
    let past = "2020-01-01T00:00:00.000Z";
    let db = rusqlite_connection(&s);
    db.execute("UPDATE handoffs SET expires_at = ?1", [past]).unwrap();
    expect_error(
        bob.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap(),
        410,
        "handoff_expired",
    )
    .await;
    expect_error(alice.get(&format!("/handoffs/{hid}")).await, 410, "handoff_expired").await;
    assert_eq!(bob.json("/handoffs/inbox").await["handoffs"][0]["status"], "expired");
}

fn rusqlite_connection(s: &TestServer) -> rusqlite::Connection {
    #[allow(clippy::disallowed_methods)]
    let c = rusqlite::Connection::open(s.dir.path().join("data/sessionfs.db")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_list_users_and_stats() {
    let s = TestServer::start().await;
    let admin = s.signup("admin@example.com").await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 1), None).await;
    assert_eq!(admin.json("/auth/me").await["tier"], "admin");
    let users = admin.json("/admin/users?search=alice").await;
    assert_eq!(users["total"], 1);
    assert_eq!(users["users"][0]["session_count"], 1);
    let stats = admin.json("/admin/stats").await;
    assert_eq!((stats["users"]["total"].as_u64(), stats["sessions"]["total"].as_u64()), (Some(2), Some(1)));
    for path in ["/admin/users", "/admin/stats"] {
        expect_error(alice.get(path).await, 403, "admin_required").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_and_openapi() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    for (path, needle) in
        [("/healthz", "ok"), ("/readyz", "ready"), ("/health", "healthy"), ("/api/v1/health", "healthy")]
    {
        let r = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
    let metrics = http.get(format!("{}/metrics", s.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("sfs_http_requests_total"), "{metrics}");
    let spec: Value = http.get(format!("{}/api/v1/openapi.json", s.url)).send().await.unwrap().json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["paths"].get("/api/v1/sessions/{id}/sync").is_some(), "the spec documents the sync route");
}

/// An archive with the listing fields chosen: agent, title, times, message count, and `padding` bytes of
/// incompressible text so that archive sizes follow it.
fn shaped_archive(
    id: &str,
    tool: &str,
    title: Option<&str>,
    created: &str,
    updated: &str,
    n: usize,
    padding: usize,
) -> Vec<u8> {
    let manifest = json!({
        "sfs_version": "0.1.0", "session_id": id, "title": title, "tags": [],
        "created_at": created, "updated_at": updated,
        "source": {"tool": tool, "tool_version": "1.0.0", "original_session_id": id},
        "stats": {"message_count": n, "turn_count": 1, "tool_use_count": 0, "total_input_tokens": 1, "total_output_tokens": 1}
    });
    // xorshift: text gzip cannot shrink much, unlike repeated bytes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ padding as u64;
    let noise: String = (0..padding)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(x % 36) as usize])
        })
        .collect();
    let mut messages = String::new();
    for i in 0..n {
        let text = if i == 0 { format!("start {noise}") } else { format!("message {i}") };
        let line = json!({"msg_id": format!("m{i}"), "role": "user", "content": [{"type": "text", "text": text}], "timestamp": created});
        messages.push_str(&line.to_string());
        messages.push('\n');
    }
    sessionfs_server::archive::pack(&[
        ("manifest.json", manifest.to_string().as_bytes()),
        ("messages.jsonl", messages.as_bytes()),
    ])
    .unwrap()
}

/// The session IDs of a listing, in order.
async fn listed(c: &common::Client, query: &str) -> Vec<String> {
    let page = c.json(&format!("/sessions?{query}")).await;
    page["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

fn ids(suffixes: &[u8]) -> Vec<String> {
    suffixes.iter().map(|n| format!("ses_00000000000000{n:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_sorts_by_each_order_and_breaks_ties_by_id() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    // (suffix, title, created, updated, messages, padding): every order below differs from the others.
    let rows = [
        (1, Some("banana"), "2026-03-20T10:01:00.000Z", "2026-03-20T11:05:00.000Z", 3, 8000),
        (2, None, "2026-03-20T10:05:00.000Z", "2026-03-20T11:01:00.000Z", 9, 4000),
        (3, Some("Apple"), "2026-03-20T10:02:00.000Z", "2026-03-20T11:05:00.000Z", 1, 2000),
        (4, Some("cherry"), "2026-03-20T10:04:00.000Z", "2026-03-20T11:02:00.000Z", 9, 0),
        (5, Some("apple"), "2026-03-20T10:03:00.000Z", "2026-03-20T11:03:00.000Z", 5, 6000),
    ];
    let mut sizes = Vec::new();
    for (n, title, created, updated, messages, padding) in rows {
        let id = &ids(&[n])[0];
        let r =
            alice.push(id, shaped_archive(id, "claude-code", title, created, updated, messages, padding), None).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        sizes.push(r.json::<Value>().await.unwrap()["blob_size_bytes"].as_u64().unwrap());
    }
    assert!(sizes[0] > sizes[4] && sizes[4] > sizes[1] && sizes[1] > sizes[2] && sizes[2] > sizes[3], "{sizes:?}");

    let newest = ids(&[1, 3, 5, 4, 2]); // 1 and 3 were updated at the same time
    assert_eq!(listed(&alice, "").await, newest);
    assert_eq!(listed(&alice, "sort=updated").await, newest);
    assert_eq!(listed(&alice, "sort=created").await, ids(&[2, 4, 5, 3, 1]));
    assert_eq!(listed(&alice, "sort=title").await, ids(&[3, 5, 1, 4, 2]), "A to Z ignoring case, untitled last");
    assert_eq!(listed(&alice, "sort=size").await, ids(&[1, 5, 2, 3, 4]));
    assert_eq!(listed(&alice, "sort=messages").await, ids(&[2, 4, 5, 1, 3]));
    // Pages of a sort with ties fit together: nothing repeated, nothing skipped.
    let mut paged = Vec::new();
    for page in 1..=3 {
        paged.extend(listed(&alice, &format!("sort=messages&page_size=2&page={page}")).await);
    }
    assert_eq!(paged, ids(&[2, 4, 5, 1, 3]));
    assert_eq!(listed(&alice, "sort=title&source_tool=codex").await, Vec::<String>::new(), "filters still apply");

    for bad in ["bogus", "Size", "updated_at%20DESC;%20DROP%20TABLE%20sessions", ""] {
        let body = expect_error(alice.get(&format!("/sessions?sort={bad}")).await, 400, "bad_request").await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("updated, created, title, size, messages"), "{message}");
    }
    assert_eq!(alice.json("/sessions").await["total"], 5, "the table is still there");

    // The trash lists the most recently deleted first unless told otherwise.
    for n in [1, 3] {
        let r = alice.req(Method::DELETE, &format!("/sessions/{}?scope=cloud", ids(&[n])[0])).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await; // distinct deleted_at (milliseconds)
    }
    assert_eq!(listed(&alice, "deleted=true").await, ids(&[3, 1]));
    assert_eq!(listed(&alice, "deleted=true&sort=size").await, ids(&[1, 3]));
    assert_eq!(listed(&alice, "sort=size").await, ids(&[5, 2, 4]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_reports_usage_per_agent_with_the_trash_apart() {
    let s = TestServer::start_with(|cfg| cfg.storage_quota_bytes = Some(50 << 20)).await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let t = "2026-03-20T10:00:00.000Z";
    // Two small Claude Code sessions, one large Codex session, and a Codex session that goes to the trash.
    let pushes = [(1, "claude-code", 0), (2, "claude-code", 500), (3, "codex", 20_000), (4, "codex", 3000)];
    let mut size = std::collections::HashMap::new();
    for (n, tool, padding) in pushes {
        let id = ids(&[n]).remove(0);
        let r = alice.push(&id, shaped_archive(&id, tool, Some("t"), t, t, 2, padding), None).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        size.insert(n, r.json::<Value>().await.unwrap()["blob_size_bytes"].as_u64().unwrap());
    }
    let r = alice.req(Method::DELETE, &format!("/sessions/{}?scope=cloud", ids(&[4])[0])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Bob's sessions are his alone: none of them may show up in Alice's figures.
    for n in 10..22 {
        let id = ids(&[n]).remove(0);
        bob.push_ok(&id, shaped_archive(&id, "gemini-cli", None, t, t, 1, 100 * usize::from(n)), None).await;
    }

    let st = alice.json("/storage").await;
    let claude = size[&1] + size[&2];
    assert!(size[&3] > claude, "the codex session must outweigh both claude ones: {size:?}");
    let used = claude + size[&3];
    assert_eq!(st["used_bytes"], used, "{st}");
    assert_eq!(st["quota_bytes"], 50 << 20);
    assert_eq!((st["session_count"].as_u64(), st["deleted_count"].as_u64()), (Some(3), Some(1)), "{st}");
    assert_eq!(st["deleted_bytes"], size[&4]);
    assert_eq!(
        st["by_tool"],
        json!([
            {"source_tool": "codex", "sessions": 1, "bytes": size[&3]},
            {"source_tool": "claude-code", "sessions": 2, "bytes": claude},
        ]),
        "most bytes first; the deleted codex session is not counted"
    );
    let largest: Vec<&str> = st["largest"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let (i1, i2, i3) = (ids(&[1]), ids(&[2]), ids(&[3]));
    assert_eq!(largest, [i3[0].as_str(), i2[0].as_str(), i1[0].as_str()]);
    assert_eq!(alice.json("/auth/me").await["storage_used_bytes"], used, "the same figure as /auth/me");
    assert_eq!(alice.json("/sync/status").await["storage_used_bytes"], used);

    // Bob: twelve sessions, the ten largest listed.
    let st = bob.json("/storage").await;
    assert_eq!((st["session_count"].as_u64(), st["deleted_count"].as_u64()), (Some(12), Some(0)), "{st}");
    let bob_used = bob.json("/auth/me").await["storage_used_bytes"].as_u64().unwrap();
    assert_eq!(st["used_bytes"], bob_used);
    assert_eq!(st["by_tool"], json!([{"source_tool": "gemini-cli", "sessions": 12, "bytes": bob_used}]));
    let largest: Vec<&str> = st["largest"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let expected: Vec<String> = (12..22).rev().flat_map(|n| ids(&[n])).collect();
    assert_eq!(largest, expected.iter().map(String::as_str).collect::<Vec<_>>());

    // Restoring moves the bytes back from the trash; without a key, nothing.
    let r = alice.req(Method::POST, &format!("/sessions/{}/restore", ids(&[4])[0])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let st = alice.json("/storage").await;
    assert_eq!((st["used_bytes"].as_u64(), st["deleted_bytes"].as_u64()), (Some(used + size[&4]), Some(0)));
    let r = reqwest::Client::new().get(format!("{}/api/v1/storage", s.url)).send().await.unwrap();
    expect_error(r, 401, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_session_reads_in_pages_of_a_thousand_messages() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "long", 2500), None).await;
    let mut seen = Vec::new();
    for (page, len, more) in [(1, 1000, true), (2, 1000, true), (3, 500, false)] {
        let m = alice.json(&format!("/sessions/{ID}/messages?page={page}&page_size=1000")).await;
        assert_eq!(
            (m["total"].as_u64(), m["page_size"].as_u64(), m["has_more"].as_bool()),
            (Some(2500), Some(1000), Some(more))
        );
        let msgs = m["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), len, "page {page}");
        seen.extend(msgs.iter().map(|m| m["msg_id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen, (0..2500).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let body =
        expect_error(alice.get(&format!("/sessions/{ID}/messages?page_size=1001")).await, 400, "bad_request").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("1 to 1000"), "{body}");
    expect_error(alice.get(&format!("/sessions/{ID}/messages?page=0")).await, 400, "bad_request").await;
    // The session list keeps its own, smaller limit.
    expect_error(alice.get("/sessions?page_size=101").await, 400, "bad_request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_at_the_root_with_deep_links() {
    let dist = tempfile::tempdir().unwrap();
    let index = "<!doctype html><title>SessionFS</title><script type=module src=/app.js></script>";
    let js = "export const answer = 42;\n";
    std::fs::write(dist.path().join("index.html"), index).unwrap();
    std::fs::write(dist.path().join("app.js"), js).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(js.as_bytes()).unwrap();
    let js_gz = gz.finish().unwrap();
    std::fs::write(dist.path().join("app.js.gz"), &js_gz).unwrap();
    let dir = dist.path().to_owned();
    let s = TestServer::start_with(move |cfg| cfg.dashboard_dir = dir).await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", s.url)).send();

    for path in ["/", "/index.html", "/sessions/ses_abc12345", "/storage", "/sessions/ses_abc12345/messages?page=2"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        assert!(header("content-type").starts_with("text/html"), "{path}: {}", header("content-type"));
        assert_eq!(header("cache-control"), "no-cache", "{path}: index.html must be revalidated");
        assert_eq!(r.text().await.unwrap(), index, "{path}");
    }
    let r = get("/app.js").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.contains("javascript"), "{ct}");
    assert!(r.headers().get("cache-control").is_none(), "only index.html is marked no-cache");
    assert_eq!(r.text().await.unwrap(), js);
    // A browser that accepts gzip gets the precompressed file.
    let r = http.get(format!("{}/app.js", s.url)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(r.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), js_gz.as_slice());

    // A build's content-hashed files never change: cached for good. A miss is not cached.
    std::fs::write(dist.path().join("style-a47cf79f5909.css"), "body{}").unwrap();
    let r = get("/style-a47cf79f5909.css").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
    let r = get("/style-000000000000.css").await.unwrap();
    assert_ne!(
        r.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );

    // The server's own paths are never the dashboard.
    let r = get("/api/v1/nope").await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    expect_error(r, 404, "route_not_found").await;
    for path in ["/api", "/api/v2/sessions", "/healthz/x", "/metrics/x", "/health/x"] {
        expect_error(get(path).await.unwrap(), 404, "route_not_found").await;
    }
    let r = http.post(format!("{}/sessions/ses_abc12345", s.url)).send().await.unwrap();
    expect_error(r, 404, "route_not_found").await;
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    let alice = s.signup("alice@example.com").await;
    assert_eq!(alice.json("/auth/me").await["email"], "alice@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_built_dashboard_the_root_says_how_to_build_it() {
    let s = TestServer::start().await; // Config::for_data_dir names a dashboard directory that does not exist
    let http = reqwest::Client::new();
    for path in ["/", "/sessions/ses_abc12345"] {
        let r = http.get(format!("{}{path}", s.url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = r.text().await.unwrap();
        assert!(text.contains("not built") && text.contains("cargo xtask dashboard"), "{text}");
    }
    expect_error(http.get(format!("{}/api/v1/nope", s.url)).send().await.unwrap(), 404, "route_not_found").await;
}
