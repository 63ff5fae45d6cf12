//! `sfs export --format markdown|json|sfs` to stdout: `-o -`, and Markdown that is safe to print and to render.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const NATIVE_ID: &str = "5e5e5e5e-1111-2222-3333-444455556666";
const SESSION: &str = "ses_5e5e5e5e11112222";

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    /// A captured Claude Code session whose prompt holds terminal escapes and whose thinking closes a
    /// `<details>` block.
    fn new() -> Self {
        let env = Self { tmp: tempfile::tempdir().unwrap() };
        let dir = env.home().join(".claude/projects/-tmp-p");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(env.work()).unwrap();
        let common = |uuid: &str, parent: Value, kind: &str, message: Value| {
            json!({"parentUuid": parent, "isSidechain": false, "cwd": "/tmp/p", "sessionId": NATIVE_ID,
                "version": "2.1.197", "type": kind, "message": message, "uuid": uuid,
                "timestamp": "2026-03-20T10:00:00.000Z"})
            .to_string()
        };
        let lines = [
            common(
                "u1",
                Value::Null,
                "user",
                json!({"role": "user", "content": "retitle \u{1b}]0;pwned\u{7} clear \u{1b}[2J the walrus"}),
            ),
            common(
                "a1",
                json!("u1"),
                "assistant",
                json!({"id": "m1", "role": "assistant", "model": "claude-sonnet-4-6", "content": [
                    {"type": "thinking", "thinking": "plan\n\n</details>\n\n# ESCAPED-HEADING", "signature": "sig"},
                    {"type": "text", "text": "Done."}]}),
            ),
        ];
        std::fs::write(dir.join(format!("{NATIVE_ID}.jsonl")), lines.join("\n") + "\n").unwrap();
        let out = env.sfs(&["import"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        env
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    fn sfs(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_sfs"))
            .args(args)
            .current_dir(self.work())
            .env("HOME", self.home())
            .env("SFS_HOME", self.tmp.path().join("store"))
            .env_remove("SFS_LOG")
            .output()
            .unwrap()
    }
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn markdown_shows_escapes_and_keeps_thinking_inside_its_block() {
    let env = Env::new();
    for args in [&["export", SESSION, "--format", "markdown"][..], &["export", SESSION, "-o", "-"][..]] {
        let md = ok(&env.sfs(args));
        assert!(!md.contains('\u{1b}') && !md.contains('\u{7}'), "{args:?} wrote an escape: {md:?}");
        assert!(md.contains("retitle ␛]0;pwned␇ clear ␛[2J the walrus"), "{md}");
        assert_eq!(md.matches("</details>").count(), 1, "the thinking closed its block early: {md}");
        let close = md.find("</details>").unwrap();
        assert!(md.find("ESCAPED-HEADING").unwrap() < close, "the thinking stays inside: {md}");
    }
    let file = env.work().join("out.md");
    ok(&env.sfs(&["export", SESSION, "-o", file.to_str().unwrap()]));
    assert!(!std::fs::read_to_string(&file).unwrap().contains('\u{1b}'), "the file too");
}

#[test]
fn dash_is_stdout_for_markdown_and_json_and_an_error_for_sfs() {
    let env = Env::new();
    let md = ok(&env.sfs(&["export", SESSION, "--format", "markdown", "-o", "-"]));
    assert!(md.starts_with("# "), "{md}");
    let json: Value = serde_json::from_str(&ok(&env.sfs(&["export", SESSION, "--format", "json", "-o", "-"]))).unwrap();
    assert_eq!(json["session_id"], SESSION);
    // JSON keeps the text as it is, escaped the JSON way.
    assert!(json["messages"][0]["content"][0]["text"].as_str().unwrap().contains('\u{1b}'), "{json}");
    let out = env.sfs(&["export", SESSION, "--format", "sfs", "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot go to stdout") && err.contains("--format markdown"), "{err}");
    assert!(!Path::new(&env.work().join("-")).exists(), "no file or folder named -");
}
