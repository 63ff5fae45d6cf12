//! Mail over SMTP (to a minimal SMTP sink written here), and the outbox fallback when SMTP fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{TestServer, archive, expect_error};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Accepts SMTP sessions and keeps each message's DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&got);
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut data));
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("DATA") {
                        in_data = true;
                        b"354 go\r\n"
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_mail_goes_over_smtp_and_verification_is_then_required() {
    let (port, mails) = smtp_sink().await;
    let s = TestServer::start_with(|c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.require_email_verification = None; // the default: required because mail can be delivered
    })
    .await;
    let alice = s.signup("alice@example.com").await;
    expect_error(
        alice.push("ses_0a1b2c3d4e5f6071", archive("ses_0a1b2c3d4e5f6071", "x", 1), None).await,
        403,
        "email_not_verified",
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mail = loop {
        if let Some(m) = mails.lock().unwrap().first().cloned() {
            break m;
        }
        assert!(std::time::Instant::now() < deadline, "no mail reached the SMTP server");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(mail.contains("To: alice@example.com"), "{mail}");
    // Long lines may be soft-wrapped by the MIME encoder; join them before looking for the token.
    let joined = mail.replace("=\n", "").replace("=3D", "=");
    let token = joined.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let r = alice.http.get(format!("{}/api/v1/auth/verify?token={token}", s.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    alice.push_ok("ses_0a1b2c3d4e5f6071", archive("ses_0a1b2c3d4e5f6071", "x", 1), None).await;
    assert!(!s.outbox().exists(), "nothing fell back to the outbox");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_mail_lands_in_the_outbox() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = TestServer::start_with(|c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.require_email_verification = None;
    })
    .await;
    s.signup("bob@example.com").await;
    let files: Vec<_> = std::fs::read_dir(s.outbox()).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    assert!(std::fs::read_to_string(files[0].path()).unwrap().contains("/api/v1/auth/verify?token="));
}
