//! Resume and capture together, without the real agents: a session written into each agent is captured
//! again as a session linked to the one it continues (`parent_session_id`, `metadata.resumed_from`), and
//! no unrelated copy appears.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use sessionfs_client::resume::{ResumeRequest, resume};
use sessionfs_client::{Capturer, ListFilter, Store, StorePaths};
use sessionfs_shared::{AgentKind, SessionId};

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn sessions_written_by_resume_are_captured_linked_to_their_origin() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, work) = (tmp.path().join("home"), tmp.path().join("work"));
    std::fs::create_dir_all(&work).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agents/tests/fixtures/codex/0.169.0/tool_call/home");
    copy(&fixture, &home);
    let mut capturer = Capturer::new(Store::open(StorePaths::new(tmp.path().join("store"))).unwrap(), &home);
    capturer.import_all(&mut ()).unwrap();
    let origin = SessionId::derive("01a20b80-3d9b-77e2-90eb-c267dae232e9");
    assert!(capturer.store().index().session(&origin).unwrap().is_some());

    let mut written = Vec::new();
    for (target, version) in
        [(AgentKind::ClaudeCode, "2.1.197"), (AgentKind::Codex, "0.169.0"), (AgentKind::GeminiCli, "0.61.0")]
    {
        let request = ResumeRequest {
            target,
            cli_version: version,
            project: None,
            current_dir: &work,
            home: &home,
            max_tokens: None,
        };
        let resumed = resume(capturer.store_mut(), &origin, &request).unwrap();
        assert!(
            resumed.cwd_note.as_deref().unwrap_or_default().contains("does not exist"),
            "the fixture's folder is gone"
        );
        written.push(resumed);
    }
    capturer.import_all(&mut ()).unwrap();

    let rows = capturer.store().index().list(&ListFilter::default()).unwrap();
    assert_eq!(rows.len(), 4, "the origin and one session per resume: {rows:#?}");
    for resumed in &written {
        let id = SessionId::derive(&resumed.native_id);
        let row = rows.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("{} not captured", resumed.agent));
        assert_eq!(row.parent_session_id.as_deref(), Some(origin.as_str()), "{}", resumed.agent);
        assert_eq!(row.message_count as usize, resumed.messages, "{}: captured as written", resumed.agent);
        let (manifest, _) = capturer.store().load(&id).unwrap();
        assert_eq!(manifest.metadata["resumed_from"]["session_id"], origin.as_str());
        assert_eq!(manifest.metadata["resumed_from"]["agent"], resumed.agent.as_str());
    }
    let origin_row = rows.iter().find(|r| r.id == origin).unwrap();
    assert_eq!(origin_row.parent_session_id, None);
}

#[test]
fn an_unknown_session_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(StorePaths::new(tmp.path().join("store"))).unwrap();
    let request = ResumeRequest {
        target: AgentKind::ClaudeCode,
        cli_version: "2.1.197",
        project: None,
        current_dir: tmp.path(),
        home: tmp.path(),
        max_tokens: None,
    };
    let err = resume(&mut store, &SessionId::parse("ses_0123456789abcdef").unwrap(), &request).unwrap_err();
    assert!(err.to_string().contains("no session matches"), "{err}");
    assert!(err.hint().is_some());
}
