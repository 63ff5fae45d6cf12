//! The metadata store's contract, written once against `dyn MetadataStore` so every backend runs the same
//! story: SQLite always; PostgreSQL too once its backend exists and `SFS_TEST_DATABASE_URL` names a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sessionfs_server::store::sqlite::SqliteStore;
use sessionfs_server::store::{
    HandoffRecord, MetadataStore, NewVersion, Push, PutOutcome, SessionFilter, SessionMeta, StoreError,
};
use sessionfs_shared::SessionId;
use sessionfs_shared::api::{SessionPatch, SessionSort};

const NOW: &str = "2026-11-24T10:00:00.000Z";

fn backends() -> Vec<(&'static str, Arc<dyn MetadataStore>, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
    vec![("sqlite", Arc::new(sqlite), dir)]
}

fn version(etag: &str, size: u64, text: &str) -> NewVersion {
    NewVersion {
        meta: SessionMeta {
            title: Some(format!("about {text}")),
            source_tool: "codex".into(),
            created_at: NOW.into(),
            updated_at: NOW.into(),
            search_text: text.into(),
            message_count: 2,
            ..SessionMeta::default()
        },
        blob_key: format!("k/{etag}"),
        blob_size: size,
        etag: etag.into(),
    }
}

fn push<'a>(v: &'a NewVersion, expected: Option<&'a str>) -> Push<'a> {
    Push { version: v, expected_etag: expected, undelete: false, create_only: false, quota: None, now: NOW }
}

fn create_only(v: &NewVersion) -> Push<'_> {
    Push { create_only: true, ..push(v, None) }
}

/// `If-None-Match: *`: of concurrent creators of one ID exactly one wins and the others learn its ETag; a
/// later create never replaces the live session; one in the trash needs the undelete flag, as any push.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn create_only_never_replaces_a_live_session() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let id = SessionId::parse("ses_00000000000000ab").unwrap();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (store, owner, id) = (Arc::clone(&store), a.id.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let v = version(&format!("c{i}"), 10, "first");
                store.put_session(&owner, &id, create_only(&v)).await.map(|o| (o, v.etag))
            }));
        }
        let mut winner = None;
        let mut losers = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok((PutOutcome::Created, etag)) => assert!(winner.replace(etag).is_none(), "{name}: two creators won"),
                Err(StoreError::Conflict { current_etag: Some(e) }) => losers.push(e),
                other => panic!("{name}: {other:?}"),
            }
        }
        let winner = winner.expect("one creator wins");
        assert_eq!(losers.len(), 19, "{name}");
        assert!(losers.iter().all(|e| *e == winner), "{name}: losers are told the winner's ETag");
        assert_eq!(store.session(&a.id, &id, false).await.unwrap().etag, winner, "{name}");

        store.soft_delete(&a.id, &id, "cloud", NOW, "2026-11-25T10:00:00.000Z").await.unwrap();
        let v = version("c-trash", 10, "again");
        assert!(matches!(store.put_session(&a.id, &id, create_only(&v)).await, Err(StoreError::Deleted)), "{name}");
        let undelete = Push { undelete: true, ..create_only(&v) };
        assert!(matches!(store.put_session(&a.id, &id, undelete).await, Ok(PutOutcome::Updated { .. })), "{name}");
        let live = store.session(&a.id, &id, false).await.unwrap();
        assert_eq!((live.etag.as_str(), live.is_deleted), ("c-trash", false), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_swap_has_one_winner() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let id = SessionId::parse("ses_00000000000000aa").unwrap();
        let v0 = version("e0", 10, "base");
        assert_eq!(store.put_session(&a.id, &id, push(&v0, None)).await.unwrap(), PutOutcome::Created);
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (store, owner, id) = (Arc::clone(&store), a.id.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let v = version(&format!("e{}", i + 1), 10, "next");
                store.put_session(&owner, &id, push(&v, Some("e0"))).await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(PutOutcome::Updated { previous_blob_key }) => {
                    wins += 1;
                    assert_eq!(previous_blob_key, "k/e0");
                }
                Err(StoreError::Conflict { current_etag: Some(e) }) => assert_ne!(e, "e0", "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(wins, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_are_isolated_and_quota_counts_live_sessions() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let b = store.create_user("b@x.io", false, true, NOW).await.unwrap();
        assert!(matches!(store.create_user("a@x.io", false, true, NOW).await, Err(StoreError::Duplicate(_))), "{name}");
        let id = SessionId::parse("ses_00000000000000bb").unwrap();
        store.put_session(&a.id, &id, push(&version("ea", 100, "apples"), None)).await.unwrap();
        assert!(matches!(store.session(&b.id, &id, true).await, Err(StoreError::NotFound)), "{name}");
        assert_eq!(store.search_sessions(&b.id, "apples", None, None, 1, 10).await.unwrap().1, 0, "{name}");
        assert_eq!(store.search_sessions(&a.id, "apples", None, None, 1, 10).await.unwrap().1, 1, "{name}");
        // The same ID for another owner is another session.
        store.put_session(&b.id, &id, push(&version("eb", 5, "pears"), None)).await.unwrap();
        assert_eq!(store.session(&a.id, &id, false).await.unwrap().etag, "ea", "{name}");
        // Quota.
        let id2 = SessionId::parse("ses_00000000000000cc").unwrap();
        let v = version("ec", 50, "x");
        let over = Push { quota: Some(120), ..push(&v, None) };
        assert!(
            matches!(
                store.put_session(&a.id, &id2, over).await,
                Err(StoreError::Quota { used: 100, quota: 120, needed: 50 })
            ),
            "{name}"
        );
        store.soft_delete(&a.id, &id, "cloud", NOW, "2026-12-24T10:00:00.000Z").await.unwrap();
        assert_eq!(store.storage_used(&a.id).await.unwrap(), 0, "{name}");
        let ok = Push { quota: Some(120), ..push(&v, None) };
        store.put_session(&a.id, &id2, ok).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_restore_and_purge_lifecycle() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let id = SessionId::parse("ses_00000000000000dd").unwrap();
        store.put_session(&a.id, &id, push(&version("e1", 10, "x"), None)).await.unwrap();
        store.soft_delete(&a.id, &id, "everywhere", NOW, "2026-11-25T10:00:00.000Z").await.unwrap();
        assert!(matches!(store.soft_delete(&a.id, &id, "cloud", NOW, NOW).await, Err(StoreError::Deleted)), "{name}");
        assert!(
            matches!(
                store.put_session(&a.id, &id, push(&version("e2", 10, "x"), Some("e1"))).await,
                Err(StoreError::Deleted)
            ),
            "{name}"
        );
        let trash = store
            .list_sessions(&a.id, &SessionFilter { page: 1, page_size: 10, deleted: true, ..SessionFilter::default() })
            .await
            .unwrap();
        assert_eq!(trash.1, 1, "{name}");
        let (_, scope) = store.restore(&a.id, &id).await.unwrap();
        assert_eq!(scope.as_deref(), Some("everywhere"), "{name}");
        assert!(matches!(store.restore(&a.id, &id).await, Err(StoreError::Conflict { .. })), "{name}");
        store.soft_delete(&a.id, &id, "cloud", NOW, "2026-11-25T10:00:00.000Z").await.unwrap();
        assert!(store.purgeable("2026-11-24T12:00:00.000Z", None).await.unwrap().is_empty(), "{name}: not yet");
        let due = store.purgeable("2026-11-26T00:00:00.000Z", None).await.unwrap();
        assert_eq!(due.len(), 1, "{name}");
        store.purge_session(&a.id, &id).await.unwrap();
        assert!(matches!(store.session(&a.id, &id, true).await, Err(StoreError::NotFound)), "{name}");
        assert!(!store.blob_in_use("k/e1").await.unwrap(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_handoff_is_claimed_once() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let b = store.create_user("b@x.io", false, true, NOW).await.unwrap();
        let id = SessionId::parse("ses_00000000000000ee").unwrap();
        store.put_session(&a.id, &id, push(&version("e1", 10, "x"), None)).await.unwrap();
        let src = store.session(&a.id, &id, false).await.unwrap();
        let h = HandoffRecord {
            id: "hnd_0123456789abcdef".into(),
            sender_id: a.id.clone(),
            sender_email: a.email.clone(),
            session_id: id.to_string(),
            recipient_email: "b@x.io".into(),
            message: None,
            status: "pending".into(),
            created_at: NOW.into(),
            expires_at: "2026-12-01T00:00:00.000Z".into(),
            claimed_at: None,
            recipient_id: None,
            recipient_session_id: None,
            snapshot_title: None,
            snapshot_tool: None,
            snapshot_model_id: None,
            snapshot_message_count: 0,
            viewed_at: None,
            revoked_at: None,
            revoke_reason: None,
        };
        store.create_handoff(&h).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = Arc::clone(&store);
            let mut copy = src.clone();
            copy.owner = b.id.clone();
            copy.id = SessionId::parse(&format!("ses_{i:016x}")).unwrap();
            let bid = b.id.clone();
            tasks
                .push(tokio::spawn(async move { store.claim_handoff("hnd_0123456789abcdef", &bid, &copy, NOW).await }));
        }
        let wins = futures_util::future::join_all(tasks).await.into_iter().filter(|r| matches!(r, Ok(Ok(())))).count();
        assert_eq!(wins, 1, "{name}");
        assert_eq!(
            store
                .list_sessions(&b.id, &SessionFilter { page: 1, page_size: 10, ..SessionFilter::default() })
                .await
                .unwrap()
                .1,
            1,
            "{name}"
        );
        assert_eq!(store.handoff("hnd_0123456789abcdef").await.unwrap().status, "claimed", "{name}");
        assert_eq!(store.inbox("B@x.io").await.unwrap().len(), 1, "{name}: inbox matches emails case-insensitively");
        let p = SessionPatch { alias: Some("mine".into()), ..SessionPatch::default() };
        store.patch_session(&a.id, &id, &p, NOW).await.unwrap();
        assert_eq!(store.session_by_alias(&a.id, "mine").await.unwrap().id, id, "{name}");
        assert!(store.session_by_alias(&b.id, "mine").await.is_err(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_usage_adds_up_and_leaves_the_trash_apart() {
    for (name, store, _dir) in backends() {
        let a = store.create_user("a@x.io", false, true, NOW).await.unwrap();
        let b = store.create_user("b@x.io", false, true, NOW).await.unwrap();
        let sessions = [("ses_00000000000000a1", "codex", 10), ("ses_00000000000000a2", "codex", 20)];
        let more = [("ses_00000000000000a3", "claude-code", 50), ("ses_00000000000000a4", "claude-code", 7)];
        for (i, (id, tool, size)) in sessions.into_iter().chain(more).enumerate() {
            let mut v = version(&format!("e{i}"), size, "x");
            v.meta.source_tool = tool.into();
            store.put_session(&a.id, &SessionId::parse(id).unwrap(), push(&v, None)).await.unwrap();
        }
        store
            .put_session(&b.id, &SessionId::parse("ses_00000000000000b1").unwrap(), push(&version("f", 999, "x"), None))
            .await
            .unwrap();
        store.soft_delete(&a.id, &SessionId::parse("ses_00000000000000a4").unwrap(), "cloud", NOW, NOW).await.unwrap();
        let u = store.storage_usage(&a.id).await.unwrap();
        let by_tool: Vec<(&str, u64, u64)> =
            u.by_tool.iter().map(|t| (t.source_tool.as_str(), t.sessions, t.bytes)).collect();
        assert_eq!(by_tool, [("claude-code", 1, 50), ("codex", 2, 30)], "{name}: most bytes first");
        assert_eq!((u.deleted_sessions, u.deleted_bytes), (1, 7), "{name}");
        assert_eq!((u.sessions(), u.used_bytes()), (3, 80), "{name}");
        assert_eq!(store.storage_used(&a.id).await.unwrap(), u.used_bytes(), "{name}");
        let largest =
            SessionFilter { page: 1, page_size: 2, sort: Some(SessionSort::Size), ..SessionFilter::default() };
        let (rows, total) = store.list_sessions(&a.id, &largest).await.unwrap();
        let ids: Vec<&str> = rows.iter().map(|s| s.id.as_str()).collect();
        assert_eq!((ids, total), (vec!["ses_00000000000000a3", "ses_00000000000000a2"], 3), "{name}");
    }
}
