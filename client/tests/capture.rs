//! Capture behaviour end to end, on a temporary home and store: incremental appends, half-written lines,
//! unparseable records, shrinking native files, user fields, sub-agents, deletes, and concurrent writers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use sessionfs_client::{Capturer, DeletedList, ListFilter, Store, StorePaths};
use sessionfs_shared::sfs::Manifest;
use sessionfs_shared::{AgentKind, SessionId};

const NATIVE_ID: &str = "0a1b2c3d-1111-2222-3333-444455556666";

struct Env {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    store: PathBuf,
}

impl Env {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let store = tmp.path().join("store");
        fs::create_dir_all(home.join(".claude/projects/-tmp-p")).unwrap();
        Self { _tmp: tmp, home, store }
    }

    fn capturer(&self) -> Capturer {
        Capturer::new(Store::open(StorePaths::new(&self.store)).unwrap(), &self.home)
    }

    fn session_file(&self) -> PathBuf {
        self.home.join(format!(".claude/projects/-tmp-p/{NATIVE_ID}.jsonl"))
    }

    fn append(&self, text: &str) {
        let mut f = OpenOptions::new().create(true).append(true).open(self.session_file()).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }
}

fn user(uuid: &str, parent: Option<&str>, text: &str) -> String {
    let parent = parent.map_or("null".to_string(), |p| format!("\"{p}\""));
    format!(
        r#"{{"parentUuid":{parent},"isSidechain":false,"cwd":"/tmp/p","sessionId":"{NATIVE_ID}","version":"2.1.197","gitBranch":"main","type":"user","message":{{"role":"user","content":{}}},"uuid":"{uuid}","timestamp":"2026-03-20T10:00:00.000Z"}}"#,
        serde_json::to_string(text).unwrap()
    ) + "\n"
}

fn assistant(uuid: &str, parent: &str, text: &str) -> String {
    format!(
        r#"{{"parentUuid":"{parent}","isSidechain":false,"type":"assistant","message":{{"id":"m-{uuid}","role":"assistant","model":"claude-sonnet-4-6","content":[{{"type":"text","text":{}}}],"usage":{{"input_tokens":10,"output_tokens":5}}}},"uuid":"{uuid}","timestamp":"2026-03-20T10:00:01.000Z"}}"#,
        serde_json::to_string(text).unwrap()
    ) + "\n"
}

fn id() -> SessionId {
    SessionId::derive(NATIVE_ID)
}

fn messages(c: &Capturer) -> Vec<String> {
    c.store().load(&id()).unwrap().1.messages.iter().map(|m| m.msg_id.clone()).collect()
}

#[test]
fn appended_lines_are_appended_and_searchable() {
    let env = Env::new();
    env.append(&user("u1", None, "first prompt about otters"));
    let mut c = env.capturer();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.recaptured), (1, true));

    env.append(&assistant("a1", "u1", "otters hold hands while sleeping"));
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.recaptured), (1, false), "an append takes the incremental path");
    assert_eq!(messages(&c), ["u1", "a1"]);
    let hits = c.store().index().search("sleeping otters", None, 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].msg_id.as_deref(), Some("a1"));
    // Nothing new: no work, no report.
    assert!(c.capture_path(&env.session_file()).unwrap().is_none());
    let row = c.store().index().session(&id()).unwrap().unwrap();
    assert_eq!((row.message_count, row.total_input_tokens), (2, 10));
}

#[test]
fn a_half_written_last_line_waits_for_the_next_pass() {
    let env = Env::new();
    env.append(&user("u1", None, "hello"));
    let line = assistant("a1", "u1", "complete later");
    let (head, tail) = line.split_at(40);
    env.append(head);
    let mut c = env.capturer();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.skipped), (1, 0), "half a line is neither a message nor an error");
    env.append(tail);
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.skipped), (1, 0));
    assert_eq!(messages(&c), ["u1", "a1"]);
}

#[test]
fn unparseable_records_are_counted_and_reported() {
    let env = Env::new();
    env.append(&user("u1", None, "hello"));
    env.append("{this is not json\n");
    env.append(&assistant("a1", "u1", "fine"));
    let mut c = env.capturer();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.skipped), (2, 1));
    let health = c.store().index().agent_health().unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].records_skipped, 1);
    assert!(
        health[0].last_error.as_deref().unwrap().contains(&format!("{} line 2", env.session_file().display())),
        "{:?}",
        health[0].last_error
    );
    // A later bad line adds to the count.
    env.append("[1,2,3]\n");
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(c.store().index().agent_health().unwrap()[0].records_skipped, 2);
}

#[test]
fn a_shrunk_native_file_never_overwrites_a_longer_stored_copy() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    env.append(&user("u2", Some("a1"), "three"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    // The agent rewrites its file down to its first line.
    fs::write(env.session_file(), user("u1", None, "one")).unwrap();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert!(r.kept_longer_copy);
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    let stats = |c: &Capturer| c.store().session_dir(&id()).read_manifest().unwrap().unwrap().stats.unwrap();
    let kept = stats(&c);
    assert_eq!((kept.message_count, kept.turn_count, kept.total_input_tokens), (3, 2, 10));
    // The conversation goes on in the compacted file: appends are kept too.
    env.append(&assistant("a9", "u1", "continuing"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "a9"]);
    // And counted on top of what the stored copy counted, not from the shorter file alone.
    let after = stats(&c);
    assert_eq!(
        (after.message_count, after.turn_count, after.total_input_tokens, after.total_output_tokens),
        (4, 2, 20, 10)
    );
    let row = c.store().index().session(&id()).unwrap().unwrap();
    assert_eq!((row.turn_count, row.total_input_tokens), (2, 20));
}

/// A session captured with three messages whose native file then shrank to one, with an alias set: the store
/// keeps the longer copy.
fn capture_then_shrink(env: &Env) {
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    env.append(&user("u2", Some("a1"), "three kingfishers"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let dir = c.store().session_dir(&id());
    let mut m: Manifest = dir.read_manifest().unwrap().unwrap();
    m.alias = Some("birds".into());
    dir.write_manifest(&m).unwrap();
    fs::write(env.session_file(), user("u1", None, "one")).unwrap();
    assert!(c.import_all(&mut ()).unwrap()[0].kept_longer_copy);
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
}

#[test]
fn a_lost_index_db_is_rebuilt_on_open_and_the_import_after_it_keeps_the_longer_copy() {
    let env = Env::new();
    capture_then_shrink(&env);
    remove_database(&StorePaths::new(&env.store).index_db());

    let mut c = env.capturer();
    let listed = c.store().index().list(&ListFilter::default()).unwrap();
    assert_eq!(listed.len(), 1, "listed again without an import");
    assert_eq!((listed[0].message_count, listed[0].alias.as_deref()), (3, Some("birds")));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"], "the shorter native file did not replace the stored copy");
    assert_eq!(c.store().index().search("kingfishers", None, 5).unwrap().len(), 1);
}

#[test]
fn a_lost_manifest_is_written_again_and_the_messages_beside_it_are_kept() {
    let env = Env::new();
    capture_then_shrink(&env);
    let dir = StorePaths::new(&env.store).session(&id());
    // The index still lists the session: a plain import writes the manifest again from it.
    fs::remove_file(dir.join("manifest.json")).unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let manifest = c.store().session_dir(&id()).read_manifest().unwrap().unwrap();
    assert_eq!(manifest.stats.unwrap().message_count, 3);
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    drop(c);
    // The index lost it too (a rebuild skips a folder without a manifest): the import keeps the messages.
    fs::remove_file(dir.join("manifest.json")).unwrap();
    let report = sfs_rebuild(&env);
    assert!(report.failed.iter().any(|(_, why)| why.contains("no manifest.json")), "{:?}", report.failed);
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"], "the shorter native file did not replace them");
}

/// `sfs doctor --rebuild-index`.
fn sfs_rebuild(env: &Env) -> sessionfs_client::RebuildReport {
    Store::rebuild(StorePaths::new(&env.store)).unwrap().1
}

#[test]
fn an_index_db_older_than_the_store_loses_no_stored_message() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    env.capturer().import_all(&mut ()).unwrap();
    let index_db = StorePaths::new(&env.store).index_db();
    let backup = env.store.join("index.db.backup");
    fs::copy(&index_db, &backup).unwrap();
    env.append(&user("u2", Some("a1"), "three capybaras"));
    env.append(&assistant("a2", "u2", "four"));
    env.capturer().import_all(&mut ()).unwrap();
    fs::write(env.session_file(), user("u1", None, "one")).unwrap();
    env.capturer().import_all(&mut ()).unwrap();
    // The backup comes back: it knows two messages of the four stored.
    remove_database(&index_db);
    fs::copy(&backup, &index_db).unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "a2"]);
    env.append(&user("u3", Some("u1"), "five"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "a2", "u3"]);
    assert_eq!(c.store().index().search("capybaras", None, 5).unwrap().len(), 1);
}

#[test]
fn a_stored_copy_the_index_does_not_list_is_compared_not_overwritten() {
    let env = Env::new();
    capture_then_shrink(&env);
    // Another session keeps the index from being empty (an empty one is rebuilt whole on open); this one's
    // rows go, as from an index.db restored from before it was captured.
    let other = env.home.join(".claude/projects/-tmp-p/99999999-1111-2222-3333-444455556666.jsonl");
    fs::write(&other, user("o1", None, "another session").replace(NATIVE_ID, "99999999-1111-2222-3333-444455556666"))
        .unwrap();
    env.capturer().import_all(&mut ()).unwrap();
    let db = sessionfs_client::index::open_connection(&StorePaths::new(&env.store).index_db()).unwrap();
    db.execute(
        "DELETE FROM message_rows WHERE session_key = (SELECT session_key FROM sessions WHERE session_id = ?1)",
        [id().as_str()],
    )
    .unwrap();
    db.execute("DELETE FROM sessions WHERE session_id = ?1", [id().as_str()]).unwrap();
    db.execute("DELETE FROM native_files WHERE session_id = ?1", [id().as_str()]).unwrap();
    drop(db);

    let mut c = env.capturer();
    assert!(c.store().index().session(&id()).unwrap().is_none());
    let reports = c.import_all(&mut ()).unwrap();
    assert!(reports.iter().any(|r| r.session_id == id() && r.kept_longer_copy), "{reports:?}");
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    let row = c.store().index().session(&id()).unwrap().unwrap();
    assert_eq!((row.message_count, row.alias.as_deref()), (3, Some("birds")));
}

#[test]
fn a_turn_added_in_the_same_pass_as_the_file_shrank_goes_after_the_longer_copy() {
    let env = Env::new();
    for line in [user("u1", None, "one"), assistant("a1", "u1", "two"), user("u2", Some("a1"), "three")] {
        env.append(&line);
    }
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    fs::write(env.session_file(), user("u1", None, "one") + &user("u3", Some("u1"), "a fourth about lemurs")).unwrap();
    let r = c.import_all(&mut ()).unwrap();
    assert!(r[0].kept_longer_copy && r[0].new_messages == 1, "{r:?}");
    assert_eq!(messages(&c), ["u1", "a1", "u2", "u3"]);
    assert_eq!(c.store().index().search("lemurs", None, 5).unwrap().len(), 1);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 4);
    env.append(&assistant("a4", "u3", "and more"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "u3", "a4"]);
}

#[test]
fn the_same_session_file_in_two_project_folders_is_one_conversation() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    let copy = env.home.join(".claude/projects/-tmp-p-renamed");
    fs::create_dir_all(&copy).unwrap();
    fs::copy(env.session_file(), copy.join(format!("{NATIVE_ID}.jsonl"))).unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1"], "each message once");
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 2);
}

#[test]
fn a_rewritten_file_of_equal_or_greater_length_replaces_the_copy() {
    let env = Env::new();
    env.append(&user("u1", None, "alpha"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    fs::write(env.session_file(), user("x1", None, "beta") + &assistant("x2", "x1", "gamma")).unwrap();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert!(r.recaptured && !r.kept_longer_copy);
    assert_eq!(messages(&c), ["x1", "x2"]);
    assert!(c.store().index().search("alpha", None, 5).unwrap().is_empty(), "old text left the index");
    assert_eq!(c.store().index().search("gamma", None, 5).unwrap().len(), 1);
}

#[test]
fn user_fields_survive_recapture() {
    let env = Env::new();
    env.append(&user("u1", None, "hello"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    let dir = c.store().session_dir(&id());
    let mut m: Manifest = dir.read_manifest().unwrap().unwrap();
    m.alias = Some("my-alias".into());
    m.tags = vec!["keep".into()];
    m.sync = Some(serde_json::from_value(serde_json::json!({"etag": "abc", "dirty": false})).unwrap());
    dir.write_manifest(&m).unwrap();
    env.append(&assistant("a1", "u1", "more"));
    c.capture_path(&env.session_file()).unwrap();
    let m = dir.read_manifest().unwrap().unwrap();
    assert_eq!(m.alias.as_deref(), Some("my-alias"));
    assert_eq!(m.tags, ["keep"]);
    let sync = m.sync.unwrap();
    assert_eq!((sync.etag.as_deref(), sync.dirty), (Some("abc"), true));
    assert_eq!(m.stats.unwrap().message_count, 2);
}

#[test]
fn sub_agent_threads_join_their_session() {
    let env = Env::new();
    env.append(&user("u1", None, "main thread"));
    let sub_dir = env.home.join(format!(".claude/projects/-tmp-p/{NATIVE_ID}/subagents"));
    fs::create_dir_all(&sub_dir).unwrap();
    let sub_line = r#"{"parentUuid":null,"isSidechain":true,"agentId":"a1","sessionId":"SID","type":"user","message":{"role":"user","content":"explore the repo"},"uuid":"s1","timestamp":"2026-03-20T10:00:05.000Z"}"#
        .replace("SID", NATIVE_ID);
    fs::write(sub_dir.join("agent-a1.jsonl"), sub_line + "\n").unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let (m, read) = c.store().load(&id()).unwrap();
    assert_eq!(read.messages.len(), 2);
    let side = read.messages.iter().find(|m| m.msg_id == "s1").unwrap();
    assert!(side.is_sidechain);
    assert_eq!(side.agent_id.as_deref(), Some("agent-a1"));
    assert_eq!(m.sub_agents.len(), 1);
    assert_eq!(c.store().index().list(&ListFilter::default()).unwrap().len(), 1, "one session, not two");
}

#[test]
fn deleted_sessions_are_not_captured_again() {
    let env = Env::new();
    fs::create_dir_all(&env.store).unwrap();
    fs::write(
        env.store.join("deleted.json"),
        serde_json::json!({ id().as_str(): {"deleted_at": "2026-05-01T12:00:00Z", "scope": "everywhere"} }).to_string(),
    )
    .unwrap();
    env.append(&user("u1", None, "secret"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert!(c.store().index().session(&id()).unwrap().is_none());
    assert!(!c.store().session_dir(&id()).exists());
}

fn mark_deleted(c: &Capturer, scope: &str) {
    DeletedList::mark(&c.store().paths().deleted_json(), &id(), scope, None, None).unwrap();
}

fn unmark_deleted(c: &Capturer) {
    DeletedList::remove(&c.store().paths().deleted_json(), &id()).unwrap();
}

#[test]
fn turns_written_while_a_session_is_deleted_are_captured_once_it_is_restored() {
    // Deleted here too (`sfs delete`, scope local or everywhere): the stored copy goes, the positions stay.
    let env = Env::new();
    env.append(&user("u1", None, "before the delete"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    mark_deleted(&c, "everywhere");
    c.store_mut().remove(&id()).unwrap();
    env.append(&assistant("a1", "u1", "written while deleted"));
    assert_eq!(c.capture_path(&env.session_file()).unwrap(), None);
    c.import_all(&mut ()).unwrap();
    assert!(c.store().index().session(&id()).unwrap().is_none(), "a deleted session is not captured");
    unmark_deleted(&c);
    let r = c.recapture_restored(&id()).unwrap().unwrap();
    assert_eq!(r.new_messages, 2);
    assert_eq!(messages(&c), ["u1", "a1"]);
    env.append(&user("u2", Some("a1"), "after the restore"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);

    // Deleted on the server only (the stored copy stays): its file is not read while deleted, and the next
    // capture after the delete is undone reads on from where capture stopped.
    mark_deleted(&c, "cloud");
    env.append(&assistant("a2", "u2", "written while deleted on the server"));
    assert_eq!(c.capture_path(&env.session_file()).unwrap(), None);
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    unmark_deleted(&c);
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "a2"]);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 4);
    assert_fulltext_complete(&c);
}

/// Add a message to the stored copy that the native file does not have (as a copy pulled from the server
/// holds one another machine wrote), and index it.
fn add_stored_message(c: &mut Capturer, msg_id: &str, text: &str) {
    let dir = c.store().session_dir(&id());
    let path = dir.path().join("messages.jsonl");
    let line = serde_json::json!({"msg_id": msg_id, "role": "user", "content": [{"type": "text", "text": text}],
        "timestamp": "2026-03-20T10:00:02.000Z"});
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
    c.store_mut().reindex_session(&id()).unwrap();
}

#[test]
fn a_restore_keeps_the_restored_copy_and_adds_what_only_the_native_files_hold() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    mark_deleted(&c, "everywhere");
    c.store_mut().remove(&id()).unwrap();
    // The agent goes on: the native file ends up longer than the copy restored, and each has a turn the other
    // lacks. Read as a rewritten file, the longer native file would replace the copy and lose its turn.
    env.append(&user("u2", Some("a1"), "three from here"));
    env.append(&assistant("a2", "u2", "four"));
    env.append(&user("u3", Some("a2"), "five"));
    c.import_all(&mut ()).unwrap();
    unmark_deleted(&c);
    // What `sfs restore` pulls back from the server: the copy as it was, plus a turn another machine added.
    let file = env.session_file();
    let native = fs::read_to_string(&file).unwrap();
    let first_two: String = native.lines().take(2).map(|l| format!("{l}\n")).collect();
    fs::write(&file, &first_two).unwrap();
    let mut other = env.capturer();
    other.capture_path(&file).unwrap();
    add_stored_message(&mut other, "b3", "from another machine");
    drop(other);
    fs::write(&file, native).unwrap();

    let r = c.recapture_restored(&id()).unwrap().unwrap();
    assert_eq!((r.new_messages, r.kept_longer_copy), (3, true));
    assert_eq!(messages(&c), ["u1", "a1", "b3", "u2", "a2", "u3"]);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 6);
    assert_eq!(c.store().index().search("another machine", None, 5).unwrap().len(), 1);
    assert_eq!(c.store().index().search("three", None, 5).unwrap().len(), 1);
    // Nothing is read twice afterwards, and capture goes on from the file's end.
    assert_eq!(c.recapture_restored(&id()).unwrap().unwrap().new_messages, 0);
    env.append(&assistant("a3", "u3", "six"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "b3", "u2", "a2", "u3", "a3"]);
    assert_fulltext_complete(&c);
}

#[test]
fn a_restore_without_a_native_file_or_a_stored_copy_finds_nothing() {
    let env = Env::new();
    let mut c = env.capturer();
    assert_eq!(c.recapture_restored(&id()).unwrap(), None);
}

#[test]
fn a_session_removed_from_the_store_is_captured_again_whole() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    c.store_mut().remove(&id()).unwrap();
    env.append(&assistant("a1", "u1", "two"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1"]);
}

#[test]
fn a_session_folder_deleted_by_hand_is_captured_again_by_the_next_import() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two herons"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    fs::remove_dir_all(c.store().session_dir(&id()).path()).unwrap();
    // Unchanged native file: captured again all the same.
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1"]);
    // And appends go on from there, into a whole file.
    env.append(&user("u2", Some("a1"), "three"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 3);
    assert_eq!(c.store().index().search("herons", None, 5).unwrap().len(), 1, "indexed once");
    assert_fulltext_complete(&c);
    // Its messages alone deleted: the same, and the manifest's user fields stay.
    let dir = c.store().session_dir(&id());
    let mut m: Manifest = dir.read_manifest().unwrap().unwrap();
    m.alias = Some("herons".into());
    dir.write_manifest(&m).unwrap();
    fs::remove_file(dir.path().join("messages.jsonl")).unwrap();
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2"]);
    assert_eq!(dir.read_manifest().unwrap().unwrap().alias.as_deref(), Some("herons"));
    // Its manifest alone deleted: the messages are not thrown away with it; the next capture writes one.
    fs::remove_file(dir.path().join("manifest.json")).unwrap();
    env.append(&assistant("a2", "u2", "four"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "u2", "a2"]);
    assert!(dir.read_manifest().unwrap().is_some());
}

#[test]
fn a_native_file_without_messages_is_no_session_until_its_first_message() {
    let env = Env::new();
    fs::write(env.session_file(), "").unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    c.capture_path(&env.session_file()).unwrap();
    assert!(c.store().index().list(&ListFilter::default()).unwrap().is_empty(), "no empty (untitled) session");
    env.append(&user("u1", None, "the first words"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(messages(&c), ["u1"]);
    // A file with only unparseable lines is a session: its skipped records must show somewhere.
    let other = env.home.join(".claude/projects/-tmp-p/99999999-1111-2222-3333-444455556666.jsonl");
    fs::write(&other, "{not json\n").unwrap();
    c.import_all(&mut ()).unwrap();
    assert_eq!(c.store().index().agent_health().unwrap()[0].records_skipped, 1);
}

#[test]
fn an_uncommitted_tail_is_taken_in_once_and_a_half_written_line_cut() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    // A pass killed after writing messages.jsonl and before the index committed leaves lines the index does not
    // know of: here the message the native file brings next, and half of another line.
    let log = c.store().session_dir(&id()).path().join("messages.jsonl");
    let crashed = r#"{"msg_id":"a1","role":"assistant","content":[{"type":"text","text":"two"}]}"#;
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(format!("{crashed}\n{{\"msg_id\":\"a").as_bytes())
        .unwrap();
    env.append(&assistant("a1", "u1", "two"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1"], "once, and no half line");
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 2);
    assert_fulltext_complete(&c);

    // Lines the native file does not bring (an index.db older than the store, restored from a backup) are
    // kept, not cut: they may be the only copy left.
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(
            b"{\"msg_id\":\"only-here\",\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a pangolin\"}]}\n",
        )
        .unwrap();
    env.append(&user("u2", Some("a1"), "three"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "only-here", "u2"]);
    assert_eq!(c.store().index().search("pangolin", None, 5).unwrap().len(), 1);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 4);
}

#[test]
fn a_pass_killed_before_its_commit_is_not_counted_twice() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    // What a pass killed between writing the session's files and committing the index leaves: the new line,
    // and a manifest that already counts its tokens.
    let dir = c.store().session_dir(&id());
    let line = r#"{"msg_id":"a1","role":"assistant","content":[{"type":"text","text":"two"}]}"#;
    OpenOptions::new()
        .append(true)
        .open(dir.path().join("messages.jsonl"))
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    let mut m: Manifest = dir.read_manifest().unwrap().unwrap();
    m.stats.as_mut().unwrap().total_input_tokens += 10;
    dir.write_manifest(&m).unwrap();

    env.append(&assistant("a1", "u1", "two"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1"]);
    let stats = dir.read_manifest().unwrap().unwrap().stats.unwrap();
    assert_eq!((stats.message_count, stats.total_input_tokens), (2, 10), "counted once");
}

#[test]
fn lines_the_index_does_not_match_are_read_again_not_cut() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.append(&assistant("a1", "u1", "two"));
    let mut c = env.capturer();
    c.capture_path(&env.session_file()).unwrap();
    let log = c.store().session_dir(&id()).path().join("messages.jsonl");
    // An unreadable whole line, then a good one, past the committed end: the good one is kept.
    let good = r#"{"msg_id":"kept","role":"user","content":[{"type":"text","text":"an axolotl"}]}"#;
    OpenOptions::new().append(true).open(&log).unwrap().write_all(format!("not json\n{good}\n").as_bytes()).unwrap();
    env.append(&user("u2", Some("a1"), "three"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "kept", "u2"]);
    assert_eq!(c.store().index().search("axolotl", None, 5).unwrap().len(), 1);

    // The index says the committed lines end in the middle of one (an index.db restored over a copy that was
    // rewritten since): the file is read again whole, nothing cut but a half-written last line.
    drop(c);
    let db = sessionfs_client::index::open_connection(&StorePaths::new(&env.store).index_db()).unwrap();
    db.execute("UPDATE sessions SET messages_bytes = 10 WHERE session_id = ?1", [id().as_str()]).unwrap();
    drop(db);
    OpenOptions::new().append(true).open(&log).unwrap().write_all(b"{\"msg_id\":\"half").unwrap();
    let mut c = env.capturer();
    env.append(&assistant("a2", "u2", "four"));
    c.capture_path(&env.session_file()).unwrap();
    assert_eq!(messages(&c), ["u1", "a1", "kept", "u2", "a2"]);
    assert_eq!(c.store().index().session(&id()).unwrap().unwrap().message_count, 5);
    assert_fulltext_complete(&c);
}

#[test]
fn restarting_the_capturer_resumes_from_the_saved_position() {
    let env = Env::new();
    env.append(&user("u1", None, "one"));
    env.capturer().capture_path(&env.session_file()).unwrap();
    env.append(&assistant("a1", "u1", "two"));
    // A new process: parser state comes back from the index.
    let mut c = env.capturer();
    let r = c.capture_path(&env.session_file()).unwrap().unwrap();
    assert!(!r.recaptured);
    assert_eq!(r.new_messages, 1);
}

#[test]
fn concurrent_writers_share_the_index_without_errors() {
    let env = Env::new();
    env.append(&user("u1", None, "start"));
    let store_dir = env.store.clone();
    let home = env.home.clone();
    Capturer::new(Store::open(StorePaths::new(&store_dir)).unwrap(), &home).import_all(&mut ()).unwrap();
    // Other sessions written by a second capturer while this one appends.
    let other_home = env._tmp.path().join("home2");
    for i in 0..20 {
        let dir = other_home.join(".claude/projects/-x");
        fs::create_dir_all(&dir).unwrap();
        let native = format!("{i:08x}-0000-0000-0000-000000000000");
        fs::write(
            dir.join(format!("{native}.jsonl")),
            user(&format!("o{i}"), None, "other").replace(NATIVE_ID, &native),
        )
        .unwrap();
    }
    let writer = {
        let store_dir = store_dir.clone();
        std::thread::spawn(move || {
            let mut c = Capturer::new(Store::open(StorePaths::new(&store_dir)).unwrap(), &other_home);
            c.import_all(&mut ()).unwrap()
        })
    };
    let mut c = env.capturer();
    for i in 0..20 {
        env.append(&assistant(&format!("a{i}"), "u1", "more"));
        c.capture_path(&env.session_file()).unwrap();
    }
    let reports = writer.join().unwrap();
    assert_eq!(reports.len(), 20);
    assert_eq!(c.store().index().list(&ListFilter::default()).unwrap().len(), 21);
    assert_eq!(messages(&c).len(), 21);
    // Each message is in the full-text index once: the import's writer thread and this capturer's own
    // writes to fulltext.db neither lost nor doubled any.
    assert_fulltext_complete(&c);
    assert_eq!(c.store().index().search("other", None, 50).unwrap().len(), 20);
    assert_eq!(c.store().index().search("more", None, 50).unwrap().len(), 1);
}

/// Every indexed message is in the full-text index, once.
fn assert_fulltext_complete(c: &Capturer) {
    let index = c.store().index();
    assert_eq!(index.fulltext_lag().unwrap(), 0, "no message left out of the full-text index");
    assert_eq!(index.fulltext_rows().unwrap(), index.message_rows().unwrap(), "one full-text row per message");
}

/// Delete an SQLite database with its WAL files.
fn remove_database(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

/// A connection to the store's fulltext.db, to damage it the way a crash would.
fn fulltext_db(env: &Env) -> rusqlite::Connection {
    sessionfs_client::index::open_connection(&StorePaths::new(&env.store).fulltext_db()).unwrap()
}

#[test]
fn the_fulltext_index_catches_up_after_a_crash_between_the_two_commits() {
    let env = Env::new();
    env.append(&user("u1", None, "where do kingfishers nest"));
    env.append(&assistant("a1", "u1", "kingfishers dig tunnels in riverbanks"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert_fulltext_complete(&c);
    drop(c);
    // index.db committed, fulltext.db did not: its rows and its mark are gone. And a full-text row whose
    // message row was deleted (rowid 999) survived.
    fulltext_db(&env)
        .execute_batch(
            "DELETE FROM messages_fts; UPDATE fulltext_state SET indexed_through = 0;
             INSERT INTO messages_fts (rowid, text) VALUES (999, 'kingfishers stale');",
        )
        .unwrap();

    let mut c = env.capturer();
    // Opening the store indexed the two messages again, from messages.jsonl.
    assert_eq!(c.store().index().fulltext_lag().unwrap(), 0);
    let hits = c.store().index().search("tunnels", None, 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("«tunnels»"), "{}", hits[0].snippet);
    // The stale row matches nothing: every hit is a message the index has.
    let hits = c.store().index().search("stale", None, 5).unwrap();
    assert!(hits.is_empty(), "{hits:?}");
    assert_eq!(c.store().index().search("kingfishers", None, 5).unwrap().len(), 1);
    // A rebuild clears it.
    c.store_mut().rebuild_index().unwrap();
    assert_fulltext_complete(&c);

    // Later writes carry on from where the catch-up left off.
    env.append(&assistant("a2", "a1", "and herons wade"));
    c.capture_path(&env.session_file()).unwrap();
    assert_fulltext_complete(&c);
    assert_eq!(c.store().index().search("herons", None, 5).unwrap().len(), 1);
}

#[test]
fn a_deleted_fulltext_db_is_built_again_from_the_sessions_files() {
    let env = Env::new();
    env.append(&user("u1", None, "tell me about lichens"));
    env.append(&assistant("a1", "u1", "lichens are fungi living with algae"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    drop(c);
    remove_database(&StorePaths::new(&env.store).fulltext_db());
    let c = env.capturer();
    assert_fulltext_complete(&c);
    assert_eq!(c.store().index().search("algae", None, 5).unwrap().len(), 1);
}

#[test]
fn a_new_index_db_starts_the_fulltext_index_afresh() {
    let env = Env::new();
    env.append(&user("u1", None, "first words about quokkas"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    drop(c);
    // index.db deleted and made again numbers messages from 1: the old full-text rows must not match them.
    remove_database(&StorePaths::new(&env.store).index_db());
    fs::remove_dir_all(StorePaths::new(&env.store).sessions()).unwrap();
    fs::write(env.session_file(), user("u9", None, "entirely about wombats")).unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    assert_fulltext_complete(&c);
    assert!(c.store().index().search("quokkas", None, 5).unwrap().is_empty());
    assert_eq!(c.store().index().search("wombats", None, 5).unwrap().len(), 1);
}

#[test]
fn symlinked_session_files_are_not_followed() {
    let env = Env::new();
    let outside = env._tmp.path().join("outside.jsonl");
    fs::write(&outside, user("u1", None, "private")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, env.session_file()).unwrap();
    let mut c = env.capturer();
    assert!(c.capture_path(&env.session_file()).unwrap().is_none());
    assert!(c.store().index().list(&ListFilter::default()).unwrap().is_empty());
    // Nor by an import, whose parse-ahead thread reads files before `capture_path` sees them.
    assert!(c.import_all(&mut ()).unwrap().is_empty());
    assert!(c.store().index().list(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn the_index_can_be_rebuilt_from_the_directories() {
    let env = Env::new();
    env.append(&user("u1", None, "rebuild me please"));
    env.append(&assistant("a1", "u1", "sure"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let before = c.store().index().session(&id()).unwrap().unwrap();
    let report = c.store_mut().rebuild_index().unwrap();
    assert_eq!((report.sessions, report.messages), (1, 2));
    let after = c.store().index().session(&id()).unwrap().unwrap();
    assert_eq!(after.message_count, before.message_count);
    assert_eq!(after.project_path.as_deref(), Some("/tmp/p"));
    assert_eq!(c.store().index().search("rebuild", None, 5).unwrap().len(), 1);
}

#[test]
fn prefix_searches_find_the_newest_message_with_a_word_of_that_prefix() {
    let env = Env::new();
    env.append(&user("u1", None, "please deploy the service"));
    env.append(&assistant("a1", "u1", "the dependency graph is fine"));
    env.append(&user("u2", Some("a1"), "Déjà vu with kubernetes"));
    env.append(&assistant("a2", "u2", "nothing relevant here"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let index = c.store().index();

    // Expanded from the vocabulary (deploy, dependency): the newest of those messages, marked.
    let hits = index.search("DEP*", None, 20).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].msg_id.as_deref(), Some("a1"));
    assert!(hits[0].snippet.contains("«dependency»"), "{}", hits[0].snippet);
    // With another word, each prefix expands on its own.
    let hits = index.search("depl* servi*", None, 20).unwrap();
    assert_eq!(hits.iter().map(|h| h.msg_id.as_deref()).collect::<Vec<_>>(), vec![Some("u1")]);
    // No word starts with it: nothing, and no error.
    assert!(index.search("zzq*", None, 20).unwrap().is_empty());
    // Accented stems are left to FTS5, which folds them: "dé" finds "Déjà" (and the others).
    let hits = index.search("dé*", None, 20).unwrap();
    assert_eq!(hits[0].msg_id.as_deref(), Some("u2"));
    // The expansion answers exactly what FTS5's own prefix query answers.
    let native: Vec<i64> = {
        let mut stmt = index
            .conn()
            .prepare("SELECT rowid FROM fulltext.messages_fts WHERE messages_fts MATCH '\"de\"*' ORDER BY rowid DESC")
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(native.len(), 3, "deploy, dependency, déjà");
}

#[test]
fn several_words_find_the_message_that_has_them_as_a_phrase_before_newer_ones() {
    let env = Env::new();
    env.append(&user("u1", None, "the connection refused to open, said the server"));
    env.append(&assistant("a1", "u1", "I refused to open a second connection"));
    env.append(&user("u2", Some("a1"), "nothing to see"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let index = c.store().index();
    let best = |query: &str, tool: Option<AgentKind>| {
        let hits = index.search(query, tool, 20).unwrap();
        assert_eq!(hits.len(), 1, "{query}");
        (hits[0].msg_id.clone().unwrap(), hits[0].score)
    };
    // Both messages have both words; only the older has them side by side, in this order.
    assert_eq!(best("connection refused", None), ("u1".to_owned(), None));
    assert_eq!(best("Connection REFUSED", Some(AgentKind::ClaudeCode)), ("u1".to_owned(), None));
    // In the other order neither is a phrase: the newest match.
    assert_eq!(best("refused connection", None), ("a1".to_owned(), None));
    // A prefix is never a phrase; one word is ranked by bm25.
    assert_eq!(best("connection refus*", None).0, "a1");
    let (_, score) = best("server", None);
    assert!(score.is_some_and(|s| s < 0.0), "{score:?}");
    assert!(index.search("connection refused", Some(AgentKind::Codex), 20).unwrap().is_empty());
}

#[test]
fn search_reads_the_text_of_its_hits_from_the_session_and_survives_a_changed_file() {
    let env = Env::new();
    env.append(&user("u1", None, "a prompt about nothing"));
    env.append(&assistant("a1", "u1", "the quick brown otters swim upstream at dawn"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    // The index keeps no copy of the text (a contentless FTS table): the snippet comes from messages.jsonl.
    let stored: Option<String> =
        c.store().index().conn().query_row("SELECT text FROM fulltext.messages_fts LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, None);
    let hits = c.store().index().search("otters", None, 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("«otters»"), "{}", hits[0].snippet);
    // bm25-ranked (a rare word with a tool filter) takes the other query path; same snippet.
    let ranked = c.store().index().search("otters", Some(sessionfs_shared::AgentKind::ClaudeCode), 5).unwrap();
    assert_eq!(ranked[0].snippet, hits[0].snippet);

    // The file changed under the index (a hand edit): the hit is still found, without context, not an error.
    let file = StorePaths::new(&env.store).session(&id()).join("messages.jsonl");
    fs::write(&file, "garbage\n").unwrap();
    let hits = c.store().index().search("otters", None, 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].session_id, id());
    assert_eq!((hits[0].msg_id.as_deref(), hits[0].role.as_deref()), (None, None), "the message is not there to read");
    assert!(!hits[0].snippet.contains("otters"), "{}", hits[0].snippet);
    // `sfs doctor` notices.
    let (read, wrong) = c.store().verify_message_spans(5).unwrap();
    assert_eq!((read, wrong.len()), (5, 5), "{wrong:?}");
    assert!(wrong[0].contains("no indexed message at byte"), "{}", wrong[0]);
}

/// Capture `lines` as a session and open the index that made, for a test to put it back as an older
/// version of the schema left it.
fn capture_and_open_index(env: &Env, lines: &[String]) -> rusqlite::Connection {
    for line in lines {
        env.append(line);
    }
    env.capturer().import_all(&mut ()).unwrap();
    sessionfs_client::index::open_connection(&StorePaths::new(&env.store).index_db()).unwrap()
}

/// Put `sessions` and `message_rows` back as version 5 left them: sessions keyed by their text ID only,
/// message rows naming their session, message and role. Message IDs become `m<rowid>`; roles `user`.
fn put_back_to_v5(db: &rusqlite::Connection) {
    db.execute_batch(
        "CREATE TABLE v5_sessions (
             session_id TEXT PRIMARY KEY, source_tool TEXT NOT NULL, native_id TEXT, title TEXT, alias TEXT,
             tags TEXT NOT NULL DEFAULT '[]', project_path TEXT, model_id TEXT, message_count INTEGER NOT NULL DEFAULT 0,
             turn_count INTEGER NOT NULL DEFAULT 0, tool_use_count INTEGER NOT NULL DEFAULT 0,
             total_input_tokens INTEGER NOT NULL DEFAULT 0, total_output_tokens INTEGER NOT NULL DEFAULT 0,
             created_at TEXT NOT NULL, updated_at TEXT NOT NULL, size_bytes INTEGER NOT NULL DEFAULT 0,
             messages_bytes INTEGER NOT NULL DEFAULT 0, indexed_at TEXT NOT NULL, parent_session_id TEXT);
         INSERT INTO v5_sessions SELECT session_id, source_tool, native_id, title, alias, tags, project_path, model_id,
             message_count, turn_count, tool_use_count, total_input_tokens, total_output_tokens, created_at, updated_at,
             size_bytes, messages_bytes, indexed_at, parent_session_id FROM sessions ORDER BY session_key;
         CREATE TABLE v5_rows (rowid INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, msg_id TEXT NOT NULL,
             role TEXT NOT NULL, line_offset INTEGER NOT NULL DEFAULT 0, line_len INTEGER NOT NULL DEFAULT 0);
         INSERT INTO v5_rows SELECT r.rowid, s.session_id, 'm' || r.rowid, 'user', r.line_offset, r.line_len
             FROM message_rows r JOIN sessions s ON s.session_key = r.session_key;
         UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'message_rows')
             WHERE name = 'v5_rows';
         DROP TABLE message_rows;
         DROP TABLE sessions;
         ALTER TABLE v5_sessions RENAME TO sessions;
         ALTER TABLE v5_rows RENAME TO message_rows;
         CREATE INDEX sessions_updated_at ON sessions(updated_at);
         CREATE INDEX sessions_source_tool ON sessions(source_tool, updated_at);
         CREATE INDEX sessions_alias ON sessions(alias) WHERE alias IS NOT NULL;
         CREATE INDEX message_rows_session ON message_rows(session_id);
         DELETE FROM schema_version WHERE version >= 6;",
    )
    .unwrap();
}

#[test]
fn an_index_from_before_contentless_search_is_upgraded_and_reindexed_on_open() {
    let env = Env::new();
    env.append(&user("u1", None, "how do herons fish"));
    env.append(&assistant("a1", "u1", "herons stand still and strike fast"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    drop(c);
    // Put the index back as version 2 left it: the FTS table with its own copy of the text, no line spans.
    let db = sessionfs_client::index::open_connection(&StorePaths::new(&env.store).index_db()).unwrap();
    put_back_to_v5(&db);
    db.execute_batch(
        "DROP TABLE index_identity; DROP TABLE reindex_pending; DELETE FROM message_rows;
         ALTER TABLE message_rows DROP COLUMN line_offset; ALTER TABLE message_rows DROP COLUMN line_len;
         ALTER TABLE message_rows ADD COLUMN timestamp TEXT;
         CREATE VIRTUAL TABLE messages_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
         INSERT INTO message_rows (session_id, msg_id, role) SELECT session_id, 'u1', 'user' FROM sessions;
         INSERT INTO messages_fts (rowid, text) SELECT rowid, 'how do herons fish' FROM message_rows;
         DELETE FROM schema_version WHERE version >= 3;",
    )
    .unwrap();
    drop(db);
    fs::remove_file(StorePaths::new(&env.store).fulltext_db()).unwrap();

    let c = env.capturer();
    assert!(c.store().index().reindex_pending().unwrap().is_empty(), "re-indexed on open");
    assert_eq!(c.store().index().message_rows().unwrap(), 2, "every message, from the session's directory");
    let hits = c.store().index().search("strike", None, 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("«strike»"), "{}", hits[0].snippet);
    // Opening again does nothing more.
    drop(c);
    let c = env.capturer();
    assert_eq!(c.store().index().message_rows().unwrap(), 2);
}

#[test]
fn an_index_with_its_fulltext_inside_is_moved_to_fulltext_db_on_open() {
    let env = Env::new();
    let db = capture_and_open_index(
        &env,
        &[user("u1", None, "how do beavers build"), assistant("a1", "u1", "beavers gnaw trees and pile branches")],
    );
    // Put the index back as version 3 left it: the full-text table inside index.db, plain rowids.
    let paths = StorePaths::new(&env.store);
    put_back_to_v5(&db);
    db.execute_batch(
        "DROP TABLE index_identity;
         CREATE TABLE old_rows (rowid INTEGER PRIMARY KEY, session_id TEXT NOT NULL, msg_id TEXT NOT NULL,
             role TEXT NOT NULL, timestamp TEXT, line_offset INTEGER NOT NULL DEFAULT 0, line_len INTEGER NOT NULL DEFAULT 0);
         INSERT INTO old_rows (rowid, session_id, msg_id, role, line_offset, line_len)
             SELECT rowid, session_id, msg_id, role, line_offset, line_len FROM message_rows;
         DROP TABLE message_rows;
         ALTER TABLE old_rows RENAME TO message_rows;
         CREATE VIRTUAL TABLE messages_fts USING fts5(text, content = '', contentless_delete = 1);
         INSERT INTO messages_fts (rowid, text) SELECT rowid, 'old' FROM message_rows;
         DELETE FROM schema_version WHERE version >= 4;",
    )
    .unwrap();
    let rowids = |db: &rusqlite::Connection| -> Vec<i64> {
        let mut stmt = db.prepare("SELECT rowid FROM message_rows ORDER BY rowid").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let before = rowids(&db);
    drop(db);
    fs::remove_file(paths.fulltext_db()).unwrap();

    let c = env.capturer();
    assert_eq!(rowids(c.store().index().conn()), before, "message rows are kept as they were");
    assert_fulltext_complete(&c);
    assert_eq!(c.store().index().search("branches", None, 5).unwrap().len(), 1);
    let left: i64 = c
        .store()
        .index()
        .conn()
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_fts'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "index.db no longer holds a full-text table");
}

#[test]
fn message_rows_lose_their_foreign_key_and_timestamp_on_open_and_keep_their_rowids_and_sequence() {
    let env = Env::new();
    let db = capture_and_open_index(
        &env,
        &[
            user("u1", None, "how do otters swim"),
            assistant("a1", "u1", "otters paddle with their webbed feet"),
            user("u2", Some("a1"), "and seals"),
        ],
    );
    // Put message_rows back as version 4 left it, the last row deleted (so AUTOINCREMENT's sequence is above
    // the highest rowid left).
    put_back_to_v5(&db);
    db.execute_batch(
        "CREATE TABLE v4_rows (rowid INTEGER PRIMARY KEY AUTOINCREMENT,
             session_id TEXT NOT NULL REFERENCES sessions(session_id) ON DELETE CASCADE, msg_id TEXT NOT NULL,
             role TEXT NOT NULL, timestamp TEXT, line_offset INTEGER NOT NULL DEFAULT 0, line_len INTEGER NOT NULL DEFAULT 0);
         INSERT INTO v4_rows (rowid, session_id, msg_id, role, timestamp, line_offset, line_len)
             SELECT rowid, session_id, msg_id, role, '2026-01-01T00:00:00Z', line_offset, line_len FROM message_rows;
         DROP TABLE message_rows;
         ALTER TABLE v4_rows RENAME TO message_rows;
         CREATE INDEX message_rows_session ON message_rows(session_id);
         DELETE FROM message_rows WHERE rowid = (SELECT MAX(rowid) FROM message_rows);
         DELETE FROM schema_version WHERE version = 5;",
    )
    .unwrap();
    // Versions 5 and 6 follow; what every version keeps of a row is its rowid and span.
    let rows = |db: &rusqlite::Connection| -> Vec<(i64, i64, i64)> {
        let mut stmt = db.prepare("SELECT rowid, line_offset, line_len FROM message_rows ORDER BY rowid").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let sequence = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'message_rows'", [], |r| r.get(0)).unwrap()
    };
    let before = rows(&db);
    let highest_given = sequence(&db);
    assert_eq!(before.len(), 2);
    assert!(highest_given > before.last().unwrap().0, "the sequence is above the rows left");
    drop(db);

    let c = env.capturer();
    let db = c.store().index().conn();
    assert_eq!(rows(db), before, "message rows are kept as they were");
    assert_eq!(sequence(db), highest_given, "no rowid will be given twice");
    let foreign_keys: i64 =
        db.query_row("SELECT COUNT(*) FROM pragma_foreign_key_list('message_rows')", [], |r| r.get(0)).unwrap();
    assert_eq!(foreign_keys, 0);
    let timestamp: i64 = db
        .query_row("SELECT COUNT(*) FROM pragma_table_info('message_rows') WHERE name = 'timestamp'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(timestamp, 0);
    assert_eq!(c.store().index().search("webbed", None, 5).unwrap().len(), 1);
    drop(c);

    // New messages get rowids above every one given before.
    env.append(&assistant("a2", "u2", "seals undulate"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let newest = rows(c.store().index().conn()).last().unwrap().0;
    assert!(newest > highest_given, "{newest} > {highest_given}");
    assert_eq!(c.store().index().search("undulate", None, 5).unwrap().len(), 1);
}

#[test]
fn sessions_get_integer_keys_on_open_and_their_messages_stay_where_they_were() {
    const OTHER: &str = "9f8e7d6c-1111-2222-3333-444455556666";
    let env = Env::new();
    let other_file = env.home.join(format!(".claude/projects/-tmp-p/{OTHER}.jsonl"));
    fs::write(&other_file, user("o1", None, "walruses haul out on the ice").replace(NATIVE_ID, OTHER)).unwrap();
    let db = capture_and_open_index(
        &env,
        &[user("u1", None, "how do puffins dive"), assistant("a1", "u1", "puffins flap their wings underwater")],
    );
    put_back_to_v5(&db);
    // What version 5 held: each session's rowid, and each message row's session and span.
    let sessions = |db: &rusqlite::Connection, key: &str| -> Vec<(i64, String)> {
        let mut stmt = db.prepare(&format!("SELECT {key}, session_id FROM sessions ORDER BY session_id")).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    let before_sessions = sessions(&db, "rowid");
    // Each message row's rowid, session and span.
    let message_rows = |db: &rusqlite::Connection, sql: &str| -> Vec<(i64, String, i64, i64)> {
        let mut stmt = db.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before_rows =
        message_rows(&db, "SELECT rowid, session_id, line_offset, line_len FROM message_rows ORDER BY rowid");
    assert_eq!(before_sessions.len(), 2);
    assert_eq!(before_rows.len(), 3);
    drop(db);

    let mut c = env.capturer();
    let db = c.store().index().conn();
    assert_eq!(sessions(db, "session_key"), before_sessions, "each session's key is the rowid it had");
    let key_is_rowid: i64 = db
        .query_row("SELECT pk FROM pragma_table_info('sessions') WHERE name = 'session_key'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(key_is_rowid, 1, "an INTEGER PRIMARY KEY, which VACUUM keeps");
    let after_rows = message_rows(
        db,
        "SELECT r.rowid, s.session_id, r.line_offset, r.line_len \
         FROM message_rows r JOIN sessions s ON s.session_key = r.session_key ORDER BY r.rowid",
    );
    assert_eq!(after_rows, before_rows, "every message row keeps its rowid, session and span");
    let columns: Vec<String> = db
        .prepare("SELECT name FROM pragma_table_info('message_rows') ORDER BY cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns, ["rowid", "session_key", "line_offset", "line_len"]);

    // Search finds each session's messages, and reads their IDs and roles from the session.
    let hits = c.store().index().search("walruses", None, 5).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].session_id, SessionId::derive(OTHER));
    assert_eq!((hits[0].msg_id.as_deref(), hits[0].role.as_deref()), (Some("o1"), Some("user")));
    let hits = c.store().index().search("underwater", None, 5).unwrap();
    assert_eq!(hits[0].session_id, id());
    assert_eq!((hits[0].msg_id.as_deref(), hits[0].role.as_deref()), (Some("a1"), Some("assistant")));
    let (read, wrong) = c.store().verify_message_spans(20).unwrap();
    assert_eq!((read, wrong), (20, Vec::<String>::new()));

    // Capture goes on: an appended message is indexed under the session's key, a removed session's rows go.
    env.append(&assistant("a2", "a1", "puffins also steer with their feet"));
    c.import_all(&mut ()).unwrap();
    assert_eq!(c.store().index().search("steer", None, 5).unwrap()[0].session_id, id());
    c.store_mut().remove(&SessionId::derive(OTHER)).unwrap();
    assert!(c.store().index().search("walruses", None, 5).unwrap().is_empty());
    assert_eq!(c.store().index().message_rows().unwrap(), 3);
    assert_fulltext_complete(&c);
}

#[test]
fn an_import_moves_new_sessions_in_whole_and_leaves_no_staging_behind() {
    let env = Env::new();
    env.append(&user("u1", None, "staged sessions arrive whole"));
    env.append(&assistant("a1", "u1", "with their side files"));
    // A second file of the same session in another project folder: staged too, but by the time it is
    // committed its session exists, so it goes the ordinary way and joins the session.
    let other = env.home.join(format!(".claude/projects/-tmp-q/{NATIVE_ID}.jsonl"));
    fs::create_dir_all(other.parent().unwrap()).unwrap();
    fs::write(&other, user("u9", None, "the same session seen from elsewhere")).unwrap();
    let mut c = env.capturer();
    let reports = c.import_all(&mut ()).unwrap();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|r| r.session_id == id()));

    let paths = StorePaths::new(&env.store);
    let dir = paths.session(&id());
    for file in ["manifest.json", "messages.jsonl", "workspace.json"] {
        assert!(dir.join(file).is_file(), "{file} is in the session");
    }
    let staging: Vec<_> = fs::read_dir(paths.root().join("staging")).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(staging.is_empty(), "nothing left in staging: {staging:?}");
    assert_eq!(c.store().index().native_files_of(&id()).unwrap().len(), 2, "both files feed the one session");
    let row = c.store().index().session(&id()).unwrap().unwrap();
    assert_eq!(row.project_path.as_deref(), Some("/tmp/p"));
    assert_eq!(row.message_count as usize, messages(&c).len());
    assert!(messages(&c).contains(&"a1".to_owned()));
    // The staged session's files are what the index says: its size, and search reads its lines.
    let on_disk: u64 = fs::read_dir(&dir).unwrap().flatten().map(|e| e.metadata().unwrap().len()).sum();
    assert_eq!(row.size_bytes, on_disk);
    let hits = c.store().index().search("side files", None, 5).unwrap();
    assert!(hits[0].snippet.contains("«side files»"), "{}", hits[0].snippet);
}

#[test]
fn an_import_removes_staging_folders_abandoned_by_killed_imports_but_not_fresh_ones() {
    let env = Env::new();
    env.append(&user("u1", None, "hello"));
    let staging = StorePaths::new(&env.store).staging();
    let abandoned = staging.join("4000001");
    let fresh = staging.join("4000002");
    for dir in [&abandoned, &fresh] {
        fs::create_dir_all(dir.join("0")).unwrap();
        fs::write(dir.join("0/messages.jsonl"), "{}\n").unwrap();
    }
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    fs::File::open(&abandoned).unwrap().set_modified(two_days_ago).unwrap();

    let mut c = env.capturer();
    assert_eq!(c.import_all(&mut ()).unwrap().len(), 1);
    assert!(!abandoned.exists(), "a folder untouched for two days is a killed import's leftover");
    assert!(fresh.join("0/messages.jsonl").is_file(), "a fresh folder may be another import's, in progress");
}

#[test]
fn a_tool_call_is_found_by_its_command_and_shown_in_the_snippet() {
    let env = Env::new();
    env.append(&user("u1", None, "run the tests please"));
    env.append(&(format!(
        r#"{{"parentUuid":"u1","isSidechain":false,"type":"assistant","message":{{"id":"m-a1","role":"assistant","model":"claude-sonnet-4-6","content":[{{"type":"tool_use","id":"toolu_1","name":"Bash","input":{{"command":"cargo nextest run --workspace","description":"Run the suite"}}}}],"usage":{{"input_tokens":10,"output_tokens":5}}}},"uuid":"a1","timestamp":"2026-03-20T10:00:01.000Z","sessionId":"{NATIVE_ID}"}}"#
    ) + "\n"));
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let hits = c.store().index().search("nextest", None, 5).unwrap();
    assert_eq!(hits.len(), 1, "the command of a tool call is searchable");
    assert_eq!(hits[0].msg_id.as_deref(), Some("a1"));
    assert_eq!(hits[0].snippet, "[Bash] cargo «nextest» run --workspace Run the suite");
}

/// A Codex rollout line: a prompt or an answer.
fn codex_message(role: &str, text: &str, second: u32) -> String {
    let kind = if role == "user" { "input_text" } else { "output_text" };
    format!(
        r#"{{"timestamp":"2026-03-20T10:00:{second:02}.000Z","type":"response_item","payload":{{"type":"message","role":"{role}","content":[{{"type":"{kind}","text":{}}}]}}}}"#,
        serde_json::to_string(text).unwrap()
    ) + "\n"
}

#[test]
fn a_codex_turn_added_as_its_rollout_shrank_is_kept_though_its_position_names_a_stored_message() {
    let env = Env::new();
    let native = "0a1b2c3d-9999-2222-3333-444455556666";
    let dir = env.home.join(".codex/sessions/2026/03/20");
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("rollout-2026-03-20T10-00-00-{native}.jsonl"));
    let meta = format!(
        r#"{{"timestamp":"2026-03-20T10:00:00.000Z","type":"session_meta","payload":{{"id":"{native}","timestamp":"2026-03-20T10:00:00.000Z","cwd":"/tmp/p","originator":"codex_cli_rs","cli_version":"0.169.0"}}}}"#
    ) + "\n";
    let first = codex_message("user", "one", 1);
    fs::write(
        &file,
        meta.clone() + &first + &codex_message("assistant", "two", 2) + &codex_message("user", "three", 3),
    )
    .unwrap();
    let mut c = env.capturer();
    c.import_all(&mut ()).unwrap();
    let id = SessionId::derive(native);
    // Rewritten shorter, with a new prompt in the second place: Codex numbers it like the stored answer.
    fs::write(&file, meta + &first + &codex_message("user", "a fourth about lemurs", 4)).unwrap();
    let r = c.import_all(&mut ()).unwrap();
    assert!(r[0].kept_longer_copy && r[0].new_messages == 1, "{r:?}");
    let texts: Vec<String> = c.store().load(&id).unwrap().1.messages.iter().map(|m| m.search_text()).collect();
    assert_eq!(texts, ["one", "two", "three", "a fourth about lemurs"]);
    assert_eq!(c.store().index().search("lemurs", None, 5).unwrap().len(), 1);
    // Captured again unchanged: nothing is added twice.
    fs::write(&file, fs::read_to_string(&file).unwrap() + "\n").unwrap();
    c.import_all(&mut ()).unwrap();
    assert_eq!(c.store().load(&id).unwrap().1.messages.len(), 4);
}
