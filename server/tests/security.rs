//! Security fixes over real HTTP: the admin role waits for a verified address, the rate limiter only keeps
//! keys that exist, search survives control characters, recipient and signup emails are real addresses and
//! never break a mail header, limits count characters, and the smaller checks around handoffs and autosync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestServer, archive, expect_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ID: &str = "ses_0a1b2c3d4e5f6071";

/// With verification required, signing up first as an `SFS_ADMIN_EMAILS` address gave the admin role at once:
/// whoever did so could list every user and purge anyone's trash without ever reading the address's mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_role_waits_for_a_verified_address() {
    let s = TestServer::start_with(|c| c.require_email_verification = Some(true)).await;
    let admin = s.signup("admin@example.com").await;
    let me = admin.json("/auth/me").await;
    assert_eq!((me["tier"].as_str(), me["email_verified"].as_bool()), (Some("user"), Some(false)), "{me}");
    for path in ["/admin/users", "/admin/stats"] {
        let body = expect_error(admin.get(path).await, 403, "email_not_verified").await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("admin@example.com has not been verified"), "{message}");
    }
    // An account made before the fix holds the role in its row: still refused until verified.
    let early = s.signup("early@example.com").await;
    let early_id = early.json("/auth/me").await["user_id"].as_str().unwrap().to_owned();
    s.state.store.set_admin(&early_id, true).await.unwrap();
    assert_eq!(early.json("/auth/me").await["tier"], "user");
    expect_error(early.get("/admin/users").await, 403, "email_not_verified").await;
    // Following the link grants the role that comes with the address.
    s.verify(&admin).await;
    assert_eq!(admin.json("/auth/me").await["tier"], "admin");
    assert_eq!(admin.get("/admin/users").await.status(), StatusCode::OK);
    let bob = s.signup("bob@example.com").await;
    s.verify(&bob).await;
    expect_error(bob.get("/admin/users").await, 403, "admin_required").await;
}

/// Every request with a made-up bearer string added a rate-limiter entry (charged before the key was even
/// format-checked), forgotten only by the daily purge: memory grew without bound from anonymous traffic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_keys_add_nothing_to_the_rate_limiter() {
    let s = TestServer::start_with(|c| c.rate_limit_per_minute = 120).await;
    let alice = s.signup("alice@example.com").await;
    let limiter = s.state.limiter.clone().unwrap();
    for i in 0..150 {
        let bogus = if i % 2 == 0 { format!("made-up-{i}") } else { format!("sk_sfs_{i:032x}") };
        expect_error(alice.with_key(&bogus).get("/auth/me").await, 401, "unauthorized").await;
    }
    assert_eq!(limiter.len(), 0, "neither malformed nor unknown keys are remembered");
    assert_eq!(alice.get("/auth/me").await.status(), StatusCode::OK);
    assert_eq!(limiter.len(), 1, "a real key is charged");
}

/// FTS5 reads a query as a C string: a NUL inside a quoted word cut the query short, the quote was left open,
/// and the search answered 500. Control characters now separate words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_a_search_are_word_breaks() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "zebra", 2), None).await;
    for q in ["zebra%00message", "zebra%01", "%00zebra%1B", "zeb%00ra"] {
        let r = alice.get(&format!("/sessions/search?q={q}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{q}");
    }
    assert_eq!(alice.json("/sessions/search?q=zebra%00message").await["total"], 1);
    assert_eq!(alice.json("/sessions/search?q=%00").await["total"], 0);
}

/// Signup took any string with an `@`, a dot after it and no whitespace: NUL, bidi overrides, `a@b..co` and
/// fullwidth lookalikes made accounts whose addresses then showed in admin lists and mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_takes_only_plain_addresses() {
    let s = TestServer::start().await;
    let http = reqwest::Client::new();
    let signup =
        |email: &str| http.post(format!("{}/api/v1/auth/signup", s.url)).json(&json!({ "email": email })).send();
    for bad in
        ["a\u{0}@b.co", "evil@b.co\u{202e}", "a@b..co", "ａｌｉｃｅ@example.com", "x@y.com\r\nBcc: spy@evil.com", "@"]
    {
        let body = expect_error(signup(bad).await.unwrap(), 400, "bad_request").await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("is not an email address") && message.contains("name@example.com"), "{message}");
    }
    for ok in ["alice+sessions@example.com", "bob@xn--bcher-kva.example", " Carol.Smith@Mail.Example.co.uk "] {
        assert_eq!(signup(ok).await.unwrap().status(), StatusCode::CREATED, "{ok}");
    }
}

/// A handoff's recipient only had to contain `@`: `@` was accepted, and an address with CR LF wrote a `Bcc:` line
/// into the outbox mail's headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_recipients_are_plain_addresses() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 2), None).await;
    let hand =
        |to: &str| alice.req(Method::POST, "/handoffs").json(&json!({"session_id": ID, "recipient_email": to})).send();
    for bad in ["x@y.com\r\nBcc: spy@evil.com", "@", "bob@example..com", "bob@exam ple.com", "bob\u{0}@example.com"] {
        let body = expect_error(hand(bad).await.unwrap(), 400, "bad_request").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("is not an email address"), "{body}");
    }
    let r = hand("Bob+Review@Example.com").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["recipient_email"], "bob+review@example.com");
    for mail in std::fs::read_dir(s.outbox()).unwrap().flatten() {
        let text = std::fs::read_to_string(mail.path()).unwrap();
        assert!(!text.to_lowercase().contains("bcc"), "{text}");
    }
}

/// The handoff message, reason and comment limits said characters but counted UTF-8 bytes: 1,500 `é` were
/// refused as over 2,000 characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoff_text_limits_count_characters() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 2), None).await;
    let hand = |message: String| {
        alice
            .req(Method::POST, "/handoffs")
            .json(&json!({"session_id": ID, "recipient_email": "bob@example.com", "message": message}))
            .send()
    };
    expect_error(hand("é".repeat(2001)).await.unwrap(), 400, "bad_request").await;
    let r = hand("é".repeat(2000)).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let hid = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let comment = |content: String| {
        bob.req(Method::POST, &format!("/handoffs/{hid}/comments")).json(&json!({ "content": content })).send()
    };
    expect_error(comment("é".repeat(10_001)).await.unwrap(), 400, "bad_request").await;
    assert_eq!(comment("é".repeat(10_000)).await.unwrap().status(), StatusCode::CREATED);
    let decline = |reason: String| {
        bob.req(Method::POST, &format!("/handoffs/{hid}/decline")).json(&json!({ "reason": reason })).send()
    };
    expect_error(decline("é".repeat(501)).await.unwrap(), 400, "bad_request").await;
    assert_eq!(decline("é".repeat(500)).await.unwrap().status(), StatusCode::OK);
}

/// A user could hand a session to their own address and claim it, though claim's comment said the sender
/// cannot: it is now a 400 saying why, at creation and (for handoffs made before) at claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cannot_be_handed_to_yourself() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 2), None).await;
    let me = alice.json("/auth/me").await;
    for to in [json!({"recipient_email": "Alice@Example.com"}), json!({"recipient_user_id": me["user_id"]})] {
        let mut body = to.clone();
        body["session_id"] = json!(ID);
        let r = alice.req(Method::POST, "/handoffs").json(&body).send().await.unwrap();
        let body = expect_error(r, 400, "bad_request").await;
        assert!(body["error"]["message"].as_str().unwrap().contains("your own address"), "{body}");
    }
    assert_eq!(alice.json("/handoffs/sent").await["total"], 0);
    // One made before the check cannot be claimed either.
    let h = sessionfs_server::store::HandoffRecord {
        id: "hnd_00112233aabbccdd".into(),
        sender_id: me["user_id"].as_str().unwrap().into(),
        sender_email: "alice@example.com".into(),
        session_id: ID.into(),
        recipient_email: "alice@example.com".into(),
        message: None,
        status: "pending".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        expires_at: "2999-01-01T00:00:00.000Z".into(),
        claimed_at: None,
        recipient_id: None,
        recipient_session_id: None,
        snapshot_title: None,
        snapshot_tool: None,
        snapshot_model_id: None,
        snapshot_message_count: 2,
        viewed_at: None,
        revoked_at: None,
        revoke_reason: None,
    };
    s.state.store.create_handoff(&h).await.unwrap();
    let r = alice.req(Method::POST, &format!("/handoffs/{}/claim", h.id)).send().await.unwrap();
    let body = expect_error(r, 400, "bad_request").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("your own address"), "{body}");
    assert_eq!(alice.json("/sessions").await["total"], 1, "nothing was copied");
}

/// Claiming a handoff claimed already answered 409 with the catalogue's fix for the conflict code, about
/// signing in to an account that exists. The fix now says what happened to the handoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handoff_no_longer_pending_says_so() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    let bob = s.signup("bob@example.com").await;
    alice.push_ok(ID, archive(ID, "x", 2), None).await;
    let hand =
        || alice.req(Method::POST, "/handoffs").json(&json!({"session_id": ID, "recipient_email": "bob@example.com"}));
    let hid = hand().send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let claim = || bob.req(Method::POST, &format!("/handoffs/{hid}/claim")).send();
    let first: Value = claim().await.unwrap().json().await.unwrap();
    let body = expect_error(claim().await.unwrap(), 409, "conflict").await;
    let fix = body["error"]["details"]["fix"].as_str().unwrap();
    assert!(fix.contains("claimed already") && !fix.contains("sfs auth login"), "{body}");
    assert_eq!(body["error"]["details"]["recipient_session_id"], first["recipient_session_id"], "{body}");
    assert_eq!(body["error"]["details"]["current_status"], "claimed");
    let r = alice.req(Method::POST, &format!("/handoffs/{hid}/revoke")).send().await.unwrap();
    let body = expect_error(r, 409, "conflict").await;
    let fix = body["error"]["details"]["fix"].as_str().unwrap();
    assert!(fix.contains("claimed, revoked, declined or expired already") && !fix.contains("sign in"), "{body}");
    // Revoked, then claimed: the fix says the sender revoked it.
    let hid = hand().send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    alice.req(Method::POST, &format!("/handoffs/{hid}/revoke")).send().await.unwrap();
    let r = bob.req(Method::POST, &format!("/handoffs/{hid}/claim")).send().await.unwrap();
    let body = expect_error(r, 409, "conflict").await;
    assert!(body["error"]["details"]["fix"].as_str().unwrap().contains("the sender revoked it"), "{body}");
}

/// The auth scheme's name is case-insensitive (RFC 7235); `bearer <key>` was refused as a missing header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = TestServer::start().await;
    let alice = s.signup("alice@example.com").await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = alice
            .http
            .get(format!("{}/api/v1/auth/me", s.url))
            .header("Authorization", format!("{scheme} {}", alice.key))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    for value in [format!("Basic {}", alice.key), format!("Bearer{}", alice.key), alice.key.clone()] {
        let r =
            alice.http.get(format!("{}/api/v1/auth/me", s.url)).header("Authorization", value).send().await.unwrap();
        expect_error(r, 401, "unauthorized").await;
    }
}
