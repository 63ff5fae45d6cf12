//! `sfs auth signup`, `sfs restore` and `sfs handoff list` against a real `sessionfs-server` on loopback.
//! (The wider sync scenarios are in `sync.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::process::Command;

use serde_json::{Value, json};

mod common;
use common::{ID, Machine, NATIVE, Server, signup};

#[test]
fn signup_refuses_an_insecure_url_before_sending_anything_and_shows_the_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    // A loopback address that is not one of the names plain http is allowed to (localhost, 127.0.0.1, ::1):
    // the server is reachable, so a request sent would create the account.
    let server = Server::start(&tmp.path().join("srv"), &[("SFS_BIND", "127.0.0.2:0")]);
    assert!(server.url.starts_with("http://127.0.0.2:"), "{}", server.url);
    let a = Machine::new(tmp.path(), "a");
    let out = a.sfs(&["auth", "signup", "--email", "victim@example.com", "--url", &server.url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("https://"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    // No account was made: the email is still free.
    let key = signup(&server, "victim@example.com");
    assert!(key.starts_with("sk_sfs_"));

    // Where the URL is allowed, the new key is shown once, in full, and saved.
    let local = Server::start(&tmp.path().join("srv2"), &[]);
    let out = a.ok(&["auth", "signup", "--email", "a@example.com", "--url", &local.url]);
    let shown: Vec<&str> = out.split_whitespace().filter(|w| w.starts_with("sk_sfs_")).collect();
    assert_eq!(shown.len(), 1, "{out}");
    let cfg = fs::read_to_string(a.store.join("config.toml")).unwrap();
    assert!(cfg.contains(shown[0]), "{out}");
    assert!(out.contains("not shown again") && out.contains("Logged in"), "{out}");
    assert!(!a.ok(&["auth", "status"]).contains(shown[0]));
}

#[test]
fn restore_of_a_local_delete_that_was_never_pushed_recaptures_it_while_logged_in() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let a = Machine::new(tmp.path(), "a");
    a.say(NATIVE, "u1", "only on this machine");
    a.ok(&["import"]);
    a.login(&server, &signup(&server, "me@example.com"));
    a.ok(&["delete", ID, "--scope", "local"]);
    assert!(a.json(&["list", "--json"]).as_array().unwrap().is_empty());
    let out = a.ok(&["restore", ID]);
    assert!(out.contains("again from the agent's files"), "{out}");
    let list = a.json(&["list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], ID);
}

#[test]
fn restore_brings_back_what_the_agent_wrote_while_deleted_and_what_was_never_pushed_whatever_the_scope() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    for scope in ["everywhere", "local", "cloud"] {
        let a = Machine::new(tmp.path(), scope);
        a.say(NATIVE, "u1", "pushed before the delete");
        a.ok(&["import"]);
        a.login(&server, &signup(&server, &format!("{scope}@example.com")));
        a.ok(&["sync"]);
        a.say(NATIVE, "u2", "captured here, never pushed");
        a.ok(&["import"]);
        a.ok(&["delete", ID, "--scope", scope]);
        a.say(NATIVE, "u3", "written while the session was deleted");
        a.ok(&["import"]);
        let out = a.ok(&["restore", ID]);
        assert!(out.contains("the restored copy lacked"), "{scope}: {out}");
        assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3"], "{scope}: {out}");
        // Capture goes on from there, and sync takes it all to the server.
        a.say(NATIVE, "u4", "after the restore");
        a.ok(&["import"]);
        assert_eq!(a.msg_ids(ID), ["u1", "u2", "u3", "u4"], "{scope}");
        a.ok(&["sync"]);
        let remote = a.json(&["list-remote", "--json"]);
        assert_eq!(remote[0]["message_count"], 4, "{scope}: {remote}");
    }
}

#[test]
fn restore_keeps_the_servers_turns_and_adds_the_agent_files_turns_when_each_lacks_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    a.say(NATIVE, "u1", "the start");
    a.ok(&["import"]);
    a.login(&server, &key);
    a.ok(&["sync"]);
    // Another machine with the same agent session adds a turn, which only the server's copy has.
    b.say(NATIVE, "u1", "the start");
    b.say(NATIVE, "b2", "from the other machine");
    b.ok(&["import"]);
    b.login(&server, &key);
    b.ok(&["sync"]);
    a.ok(&["delete", ID]);
    // Meanwhile the agent here writes more turns than the server's copy holds.
    for (uuid, text) in [("u2", "two"), ("u3", "three"), ("u4", "four")] {
        a.say(NATIVE, uuid, text);
    }
    a.ok(&["import"]);
    let out = a.ok(&["restore", ID]);
    assert!(out.contains("Pulled") && out.contains("Captured 3 messages"), "{out}");
    assert_eq!(a.msg_ids(ID), ["u1", "b2", "u2", "u3", "u4"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(b.msg_ids(ID), ["u1", "b2", "u2", "u3", "u4"]);
}

#[test]
fn restoring_what_is_not_in_the_servers_trash_says_so_and_does_not_point_back_at_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let key = signup(&server, "me@example.com");
    let out = Command::new("curl")
        .args(["-s", "-X", "POST", "-H", &format!("Authorization: Bearer {key}")])
        .arg(format!("{}/api/v1/sessions/{ID}/restore", server.url))
        .output()
        .unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "session_deleted", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("not in the trash") && message.contains("never pushed"), "{message}");
    assert!(message.contains("purged") && !message.contains("sfs restore"), "{message}");
    assert!(!body["error"]["details"]["fix"].as_str().unwrap().contains("sfs restore"), "{body}");
    // `sfs restore` of such an ID, with nothing of it on this machine either, says both and fails.
    let a = Machine::new(tmp.path(), "a");
    a.login(&server, &key);
    let out = a.sfs(&["restore", ID]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("not on the server, nor in its trash") && stdout.contains("nothing to restore"),
        "{stdout}"
    );
}

#[test]
fn handoff_list_shows_the_inbox_and_what_was_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("srv"), &[]);
    let (a, b) = (Machine::new(tmp.path(), "a"), Machine::new(tmp.path(), "b"));
    a.login(&server, &signup(&server, "alice@example.com"));
    b.login(&server, &signup(&server, "bob@example.com"));
    let empty = b.sfs(&["handoff", "list"]);
    assert!(empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("No handoffs"));
    assert_eq!(b.json(&["handoff", "list", "--json"]), json!([]));

    a.say(NATIVE, "u1", "please finish the migration");
    a.ok(&["import"]);
    let sent = a.json(&["handoff", ID, "--to", "bob@example.com", "-m", "over to you", "--json"]);
    let hid = sent["id"].as_str().unwrap();

    let inbox = b.json(&["handoff", "list", "--json"]);
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!((inbox[0]["id"].as_str(), inbox[0]["sender_email"].as_str()), (Some(hid), Some("alice@example.com")));
    assert_eq!(inbox[0]["status"], "pending");
    let text = b.ok(&["handoff", "list"]);
    assert!(text.contains(hid) && text.contains("alice@example.com") && text.contains("sfs pull-handoff"), "{text}");
    // The hint of a wrong handoff ID names this command, and it exists.
    let wrong = b.sfs(&["pull-handoff", "hnd_0123456789abcdef"]);
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("sfs handoff list"));

    b.ok(&["pull-handoff", hid]);
    assert_eq!(b.json(&["handoff", "list", "--json"])[0]["status"], "claimed");
    let out = a.ok(&["handoff", "list", "--sent"]);
    assert!(out.contains(hid) && out.contains("bob@example.com") && out.contains("claimed"), "{out}");
    // Not logged in: the fix is named.
    let c = Machine::new(tmp.path(), "c");
    let out = c.sfs(&["handoff", "list"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("sfs auth login"));
}
