//! The dashboard in a real browser (Chromium via chromedriver), through the project's real nginx config in
//! front of a real `sessionfs-server` with seeded data. Each test drives the pages as a person would and
//! checks the outcome through the API. Screenshots of every page land in `target/dashboard-screenshots/`.
//!
//! Needs `cargo xtask dashboard` first (scripts/test.sh runs it) and chromium, chromium-driver and nginx
//! (.ci/run installs them; `SFS_BROWSER_TESTS=1` makes their absence a failure).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "browser/stack.rs"]
mod stack;

use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;
use stack::{ApiUser, Browser, Seed, Stack, TestServer, archive};

// One browser at a time: two cores do not run several Chromiums and a WASM app within the test's patience.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn run(test: impl Future<Output = ()>) {
    if !stack::enabled() {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(test);
}

const DEPLOY: &str = "ses_d0000000000000000000000000000001";
const PARSER: &str = "ses_d0000000000000000000000000000002";
const DOCS: &str = "ses_d0000000000000000000000000000003";
const OLD: &str = "ses_d0000000000000000000000000000004";

/// Alice's sessions: three agents, tags, different sizes.
async fn seed_alice(alice: &ApiUser) {
    for s in [
        Seed {
            id: DEPLOY,
            tool: "claude-code",
            title: "Deploy pipeline",
            tags: &["ops"],
            word: "kubernetes",
            messages: 40,
        },
        Seed { id: PARSER, tool: "codex", title: "Refactor the parser", tags: &[], word: "lexer", messages: 12 },
        Seed { id: DOCS, tool: "gemini-cli", title: "Write the docs", tags: &["docs"], word: "markdown", messages: 8 },
        Seed { id: OLD, tool: "claude-code", title: "Old experiment", tags: &[], word: "scratch", messages: 4 },
    ] {
        alice.push(archive(&s), s.id).await;
    }
}

/// The `data-id`s of the rows `css` matches, read in one script call: reading them element by element
/// races with a re-render and fails on a detached element.
async fn row_ids(b: &Browser, css: &str) -> Vec<String> {
    let v = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getAttribute('data-id'));",
            vec![Value::from(css)],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

#[test]
fn nginx_serves_the_app_and_proxies_the_api_and_mcp() {
    run(async {
        let Stack { nginx, .. } = &Stack::start().await;
        let http = reqwest::Client::new();

        let index = http.get(format!("{}/", nginx.url)).send().await.unwrap();
        assert_eq!(index.headers()["content-type"], "text/html");
        let html = index.text().await.unwrap();
        // Deep links get the app too (client-side routes).
        let deep = http.get(format!("{}/sessions/{DEPLOY}", nginx.url)).send().await.unwrap();
        assert_eq!(deep.status(), 200);
        assert_eq!(deep.text().await.unwrap(), html);

        let wasm = html.split('"').find(|s| s.ends_with("_bg.wasm")).expect("index.html names the wasm");
        let r = http.get(format!("{}{wasm}", nginx.url)).header("Accept-Encoding", "gzip").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/wasm");
        assert_eq!(r.headers()["content-encoding"], "gzip");
        assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));

        // /api/ reaches the server: its JSON, its error envelope.
        let health: Value =
            http.get(format!("{}/api/v1/health", nginx.url)).send().await.unwrap().json().await.unwrap();
        assert_eq!(health["service"], "sessionfs-api", "{health}");
        let refused = http.get(format!("{}/api/v1/auth/me", nginx.url)).send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{body}");
        // /mcp too: the server (not nginx) answers a keyless request with its 401 envelope.
        let mcp = http.post(format!("{}/mcp", nginx.url)).body("{}").send().await.unwrap();
        assert_eq!(mcp.status(), 401);
        assert!(mcp.text().await.unwrap().contains("\"error\""));
    });
}

#[test]
fn sign_in_list_search_open_edit_delete_and_restore() {
    run(async {
        let Stack { nginx, server, .. } = &Stack::start().await;
        let alice = ApiUser::signup(&server.url, "alice@example.com").await;
        seed_alice(&alice).await;
        let b = Browser::start().await;

        // A deep link while signed out shows the sign-in page; a wrong key is refused on the spot.
        b.goto(&format!("{}/sessions?tool=codex", nginx.url)).await;
        b.wait("#api-key").await;
        b.shot("01-sign-in").await;
        b.fill("#api-key", "hello").await;
        b.click("#sign-in").await;
        b.wait_text(".error", "not a SessionFS API key").await;
        b.fill("#api-key", "sk_sfs_0000000000000000000000000000000000000000").await;
        b.click("#sign-in").await;
        b.wait_text(".error", "Fix").await;
        assert_eq!(b.count("#whoami").await, 0, "a wrong key must not sign in");
        b.shot("02-wrong-key").await;

        // The right key signs in and keeps the deep link: only the codex session.
        b.sign_in(&alice.key, "alice@example.com").await;
        assert_eq!(b.path().await, "/sessions?tool=codex");
        b.wait(&format!(".session-row[data-id='{PARSER}']")).await;
        assert_eq!(row_ids(&b, ".session-row").await, vec![PARSER]);

        // All sessions, as many as the API lists.
        b.goto(&format!("{}/sessions", nginx.url)).await;
        b.wait(".session-row").await;
        let api_total = alice.json("/sessions").await["total"].as_u64().unwrap();
        assert_eq!(b.attr("#total", "data-total").await, api_total.to_string());
        assert_eq!(b.count(".session-row").await as u64, api_total);
        b.shot("03-sessions").await;

        // Sort by size: the same order as the API's.
        b.select("#sort", "size").await;
        b.until("the URL has sort=size", async |c| c.current_url().await.is_ok_and(|u| u.query() == Some("sort=size")))
            .await;
        let by_size: Vec<String> = alice.json("/sessions?sort=size").await["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        b.until("rows are in size order", async |_| row_ids(&b, ".session-row").await == by_size).await;

        // Filter by tag.
        b.fill("#filter-tag", "ops").await;
        b.click("#apply").await;
        b.until("only the ops session is listed", async |_| row_ids(&b, ".session-row").await == vec![DEPLOY]).await;
        b.fill("#filter-tag", "").await;

        // Full-text search with a highlighted snippet.
        b.fill("#search", "kubernetes").await;
        b.click("#apply").await;
        b.until("only the kubernetes session is found", async |_| row_ids(&b, ".session-row").await == vec![DEPLOY])
            .await;
        assert_eq!(b.text(".session-row .snippet mark").await.to_lowercase(), "kubernetes");
        b.shot("04-search").await;

        // Open it: title, message count, the conversation with tool calls folded and thinking marked.
        b.click(&format!(".session-row[data-id='{DEPLOY}'] a")).await;
        b.wait_text("#session-title", "Deploy pipeline").await;
        assert_eq!(b.attr("#messages", "data-total").await, "40");
        b.click(".message-row[data-index='3']").await;
        b.wait("#message-detail details.tool-use").await;
        assert!(b.text("#message-detail details.tool-use summary").await.contains("Bash"));
        assert!(b.text("#message-detail details.thinking summary").await.contains("Thinking"));
        b.click(".message-row[data-index='1']").await;
        b.wait_text("#message-detail pre.code", "cargo test").await;
        b.shot("05-session").await;

        // Rename, alias, tags: saved on the server.
        b.fill("#edit-title", "Deploy pipeline v2").await;
        b.fill("#edit-alias", "deploy").await;
        b.fill("#edit-tags", "ops, urgent").await;
        b.click("#save-session").await;
        b.wait_text(".flash", "Saved").await;
        let d = alice.json(&format!("/sessions/{DEPLOY}")).await;
        assert_eq!(d["title"], "Deploy pipeline v2");
        assert_eq!(d["alias"], "deploy");
        assert_eq!(d["tags"], serde_json::json!(["ops", "urgent"]));

        // Delete: into the trash, with the date it will be purged.
        b.click("#delete-session").await;
        b.until("the trash page is open", async |_| b.path().await == "/trash").await;
        let row = format!(".trash-row[data-id='{DEPLOY}']");
        b.wait(&row).await;
        let trash = alice.json("/sessions?deleted=true").await;
        let purge_after = trash["sessions"][0]["purge_after"].as_str().unwrap().to_owned();
        assert_eq!(b.attr(&format!("{row} .purge-after"), "data-purge-after").await, purge_after);
        assert!(b.text(&format!("{row} .purge-after")).await.starts_with(&purge_after[..10]));
        assert_eq!(alice.status(&format!("/sessions/{DEPLOY}")).await, 404);
        b.shot("06-trash").await;

        // Restore it.
        b.click(&format!("{row} .restore")).await;
        b.wait_text(".flash", "Restored").await;
        b.until("the row leaves the trash", async |_| b.count(&row).await == 0).await;
        assert_eq!(alice.json(&format!("/sessions/{DEPLOY}")).await["is_deleted"], false);

        // Admins purge: Alice is one (SFS_ADMIN_EMAILS).
        alice.delete(OLD).await;
        b.goto(&format!("{}/trash", nginx.url)).await;
        let old_row = format!(".trash-row[data-id='{OLD}']");
        b.click(&format!("{old_row} .purge")).await;
        b.wait_text(".flash", "Purged").await;
        b.until("the purged row is gone", async |_| b.count(&old_row).await == 0).await;
        assert_eq!(alice.json("/sessions?deleted=true").await["total"], 0);

        // Sign out forgets the key: a reload shows the sign-in page.
        b.sign_out().await;
        b.goto(&format!("{}/sessions", nginx.url)).await;
        b.wait("#api-key").await;
        b.close().await;
    });
}

#[test]
fn sign_up_in_the_browser_shows_the_key_once_and_signs_in() {
    run(async {
        let Stack { nginx, server, .. } = &Stack::start().await;
        let taken = ApiUser::signup(&server.url, "erin@example.com").await;
        let b = Browser::start().await;
        b.goto(&nginx.url).await;

        // An email that already has an account: refused with the reason.
        b.click("details.signup summary").await;
        b.fill("#signup-email", "erin@example.com").await;
        b.click("#sign-up").await;
        b.wait_text("details.signup .error", "already exists").await;
        assert_eq!(taken.status("/auth/me").await, 200);

        // A new one: signed in, and the key is shown once; it works with the API.
        b.fill("#signup-email", "dave@example.com").await;
        b.click("#sign-up").await;
        b.wait_text("#whoami", "dave@example.com").await;
        let key = b.text("#signup-key").await;
        assert!(key.starts_with("sk_sfs_"), "{key}");
        let dave = taken.with_key(&key);
        assert_eq!(dave.json("/auth/me").await["email"], "dave@example.com");
        b.shot("13-signed-up").await;
        b.click("#dismiss-key").await;
        b.until("the key is gone from the page", async |_| b.count("#signup-key").await == 0).await;
        // Kept for the next visit: a reload stays signed in.
        b.goto(&format!("{}/keys", nginx.url)).await;
        b.wait_text("#whoami", "dave@example.com").await;
        assert_eq!(b.count("#signup-key").await, 0);
        b.close().await;
    });
}

#[test]
fn sync_settings_storage_and_api_keys() {
    run(async {
        let Stack { nginx, server, .. } = &Stack::start().await;
        let alice = ApiUser::signup(&server.url, "alice@example.com").await;
        seed_alice(&alice).await;
        alice.delete(OLD).await; // in the trash: not counted in storage
        // Someone else's sessions are not counted either.
        let carol = ApiUser::signup(&server.url, "carol@example.com").await;
        let s = Seed {
            id: "ses_c0000000000000000000000000000001",
            tool: "codex",
            title: "Carol's",
            tags: &[],
            word: "x",
            messages: 30,
        };
        carol.push(archive(&s), s.id).await;
        let b = Browser::start().await;
        b.goto(&format!("{}/sync", nginx.url)).await;
        b.sign_in(&alice.key, "alice@example.com").await;

        // Sync mode and debounce, seen through the API.
        b.wait("#sync-mode").await;
        b.select("#sync-mode", "selective").await;
        b.fill("#debounce", "42").await;
        b.click("#save-sync").await;
        b.wait_text(".flash", "mode selective").await;
        let settings = alice.json("/sync/settings").await;
        assert_eq!((settings["mode"].as_str(), settings["debounce_seconds"].as_u64()), (Some("selective"), Some(42)));
        b.wait("#sync-status[data-mode='selective']").await;

        // The watch list: a bad ID gets the catalogue's message; a good one is added, then removed.
        b.fill("#watch-id", "ses_NOPE").await;
        b.click("#watch-add").await;
        b.wait_text(".error", "Invalid session ID format").await;
        b.fill("#watch-id", PARSER).await;
        b.click("#watch-add").await;
        let watched = format!(".watch-row[data-id='{PARSER}']");
        b.wait(&watched).await;
        assert_eq!(alice.json("/sync/watchlist").await["sessions"][0]["session_id"], PARSER);
        b.shot("07-sync").await;
        b.click(&format!("{watched} .unwatch")).await;
        b.until("the row is removed", async |_| b.count(&watched).await == 0).await;
        assert_eq!(alice.json("/sync/watchlist").await["sessions"].as_array().unwrap().len(), 0);

        // Storage: the page's figures are the API's, deleted and other people's sessions left out.
        b.goto(&format!("{}/storage", nginx.url)).await;
        let storage = alice.json("/storage").await;
        let me = alice.json("/auth/me").await;
        let used = storage["used_bytes"].as_u64().unwrap();
        assert_eq!(me["storage_used_bytes"].as_u64(), Some(used));
        let live: u64 = alice.json("/sessions").await["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["blob_size_bytes"].as_u64().unwrap())
            .sum();
        assert_eq!(used, live, "storage counts exactly the live sessions");
        assert_eq!(b.attr("#storage-used", "data-bytes").await, used.to_string());
        assert_eq!(b.attr("#storage-quota", "data-bytes").await, (50u64 << 20).to_string());
        assert_eq!(b.attr("#storage-deleted", "data-bytes").await, storage["deleted_bytes"].to_string());
        for t in storage["by_tool"].as_array().unwrap() {
            let row = format!(".tool-row[data-tool='{}']", t["source_tool"].as_str().unwrap());
            assert_eq!(b.attr(&format!("{row} .bytes"), "data-bytes").await, t["bytes"].to_string());
            assert_eq!(b.attr(&format!("{row} .sessions"), "data-sessions").await, t["sessions"].to_string());
        }
        assert_eq!(b.count(".tool-row").await, storage["by_tool"].as_array().unwrap().len());
        assert_eq!(row_ids(&b, ".largest-row").await[0], storage["largest"][0]["id"].as_str().unwrap());
        assert_eq!(b.count("svg.chart rect").await, storage["by_tool"].as_array().unwrap().len());
        b.shot("08-storage").await;

        // API keys: create one (shown once, and it works), then revoke it (and it stops working).
        b.goto(&format!("{}/keys", nginx.url)).await;
        b.wait(".key-row").await;
        b.fill("#key-name", "laptop").await;
        b.click("#key-create").await;
        let new_key = b.text("#new-key").await;
        assert!(new_key.starts_with("sk_sfs_"), "{new_key}");
        let laptop = alice.with_key(&new_key);
        assert_eq!(laptop.status("/auth/me").await, 200);
        b.until("both keys are listed", async |_| b.count(".key-row[data-active='true']").await == 2).await;
        b.shot("09-keys").await;
        let keys = alice.json("/auth/me/api-keys").await;
        let laptop_id = keys
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "laptop")
            .map(|k| k["id"].as_str().unwrap().to_owned())
            .unwrap();
        b.click(&format!(".key-row[data-id='{laptop_id}'] .revoke")).await;
        b.wait_text(".flash", "Revoked").await;
        assert_eq!(laptop.status("/auth/me").await, 401);
        assert_eq!(alice.status("/auth/me").await, 200, "the browser's own key still works");
        b.close().await;
    });
}

#[test]
fn handoff_created_in_the_browser_is_claimed_by_another_user() {
    run(async {
        let Stack { nginx, server, .. } = &Stack::start().await;
        let alice = ApiUser::signup(&server.url, "alice@example.com").await;
        let bob = ApiUser::signup(&server.url, "bob@example.com").await;
        seed_alice(&alice).await;
        let b = Browser::start().await;

        // Alice hands three sessions to Bob from the session page, then revokes one from Sent.
        b.goto(&format!("{}/sessions/{PARSER}", nginx.url)).await;
        b.sign_in(&alice.key, "alice@example.com").await;
        for id in [PARSER, DOCS] {
            b.goto(&format!("{}/sessions/{id}", nginx.url)).await;
            b.fill("#handoff-email", "bob@example.com").await;
            b.fill("#handoff-message", "over to you").await;
            b.click("#handoff-create").await;
            b.wait_text(".flash", "Handed off as hnd_").await;
        }
        // The third from the handoffs page, naming the session by ID; the Sent list shows it at once.
        b.goto(&format!("{}/handoffs", nginx.url)).await;
        b.fill("#handoff-session", DEPLOY).await;
        b.fill("#handoff-email", "bob@example.com").await;
        b.click("#handoff-create").await;
        b.wait_text(".flash", "Handed off as hnd_").await;
        b.until("three handoffs are listed as sent", async |_| b.count(".sent-row").await == 3).await;
        let sent = alice.json("/handoffs/sent").await;
        assert_eq!(sent["total"], 3);
        let handoff_of = |session: &str| {
            sent["handoffs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["session_id"] == session)
                .map(|h| h["id"].as_str().unwrap().to_owned())
                .unwrap()
        };
        let (parser_handoff, docs_handoff, deploy_handoff) = (handoff_of(PARSER), handoff_of(DOCS), handoff_of(DEPLOY));
        b.goto(&format!("{}/handoffs", nginx.url)).await;
        b.click(&format!(".sent-row[data-id='{docs_handoff}'] .revoke")).await;
        b.wait(&format!(".sent-row[data-id='{docs_handoff}'] .status[data-status='revoked']")).await;
        b.shot("10-handoffs-sent").await;
        b.sign_out().await;

        // Bob declines one and claims the other: he gets his own copy.
        b.sign_in(&bob.key, "bob@example.com").await;
        b.goto(&format!("{}/handoffs", nginx.url)).await;
        b.wait(".inbox-row").await;
        assert_eq!(
            b.count(&format!(".inbox-row[data-id='{docs_handoff}'] .claim")).await,
            0,
            "a revoked handoff cannot be claimed"
        );
        b.shot("11-handoffs-inbox").await;
        b.click(&format!(".inbox-row[data-id='{deploy_handoff}'] .decline")).await;
        b.wait(&format!(".inbox-row[data-id='{deploy_handoff}'] .status[data-status='declined']")).await;
        assert_eq!(bob.json(&format!("/handoffs/{deploy_handoff}")).await["status"], "declined");
        let pending = parser_handoff;
        b.click(&format!(".inbox-row[data-id='{pending}'] .claim")).await;
        b.wait_text(".flash", "Claimed: your copy is ses_").await;
        let claimed = bob.json(&format!("/handoffs/{pending}")).await;
        assert_eq!(claimed["status"], "claimed");
        let copy = claimed["recipient_session_id"].as_str().unwrap().to_owned();
        let bobs = bob.json("/sessions").await;
        assert_eq!(bobs["sessions"][0]["id"], copy.as_str());
        assert_eq!(bobs["sessions"][0]["title"], "Refactor the parser");
        // The copy is Bob's: it opens in his dashboard.
        b.goto(&format!("{}/sessions/{copy}", nginx.url)).await;
        b.wait_text("#session-title", "Refactor the parser").await;
        let r = bob.req(Method::GET, &format!("/sessions/{PARSER}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "Bob got a copy, not access to Alice's session");
        b.close().await;
    });
}

#[test]
fn the_server_serves_the_dashboard_and_a_10000_message_session_renders_only_what_is_on_screen() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start(dir.path()).await;
        let alice = ApiUser::signup(&server.url, "alice@example.com").await;
        let big = "ses_b1000000000000000000000000000001";
        let s = Seed {
            id: big,
            tool: "claude-code",
            title: "A very long session",
            tags: &[],
            word: "history",
            messages: 10_000,
        };
        alice.push(archive(&s), big).await;
        let b = Browser::start().await;

        // No nginx: sessionfs-server --dashboard-dir serves the app and its deep links itself.
        b.goto(&format!("{}/sessions/{big}", server.url)).await;
        b.sign_in(&alice.key, "alice@example.com").await;
        b.wait("#messages[data-total='10000']").await;
        assert_eq!(b.count("#messages-progress").await, 0, "the progress line goes once every page is in");
        b.wait(".message-row[data-index='0']").await;
        let rendered = b.count(".message-row").await;
        assert!((5..60).contains(&rendered), "{rendered} rows in the DOM for 10,000 messages");
        b.shot("12-long-session").await;

        // Scroll to the end: the last message is rendered, the first is not, the DOM stays small.
        b.client
            .execute("const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight;", vec![])
            .await
            .unwrap();
        b.wait(".message-row[data-index='9999']").await;
        assert_eq!(b.count(".message-row[data-index='0']").await, 0);
        let rendered = b.count(".message-row").await;
        assert!((5..60).contains(&rendered), "{rendered} rows in the DOM after scrolling");
        b.click(".message-row[data-index='9999']").await;
        b.wait("#message-detail details.tool-use").await;
        b.close().await;
    });
}
