//! Write-back against the recorded fixtures, without the real CLIs: every fixture session of every agent is
//! written into every agent, and each written session must read back, through the target's own capture
//! parser, exactly as the writer meant (`write_checked` fails otherwise). A synthetic session covers what
//! the fixtures do not: signed thinking, images, errors, JSON outputs, orphans and unanswered calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sessionfs_agents::resume::{
    Conversation, Item, MISSING_RESULT, WriteRequest, cli_info, new_native_id, write_checked,
};
use sessionfs_agents::{Agent, AgentDirs, for_kind};
use sessionfs_shared::sfs::{Block, ImageSource, Message, Role};
use sessionfs_shared::{AgentKind, Timestamp};

const AGENTS: [AgentKind; 3] = [AgentKind::ClaudeCode, AgentKind::Codex, AgentKind::GeminiCli];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// Every (agent, scenario, messages) recorded.
fn recorded() -> Vec<(AgentKind, String, Vec<Message>)> {
    let mut out = Vec::new();
    for kind in AGENTS {
        let agent = for_kind(kind).unwrap();
        for version in std::fs::read_dir(fixtures().join(kind.as_str())).unwrap().flatten() {
            for scenario in std::fs::read_dir(version.path()).unwrap().flatten().filter(|e| e.path().is_dir()) {
                let home = scenario.path().join("home");
                for file in agent.discover(&AgentDirs::under(&home)) {
                    let mut parser = agent.parser(&file);
                    let out_ = parser.feed(&std::fs::read(&file.path).unwrap(), true);
                    out.push((kind, scenario.file_name().to_string_lossy().into_owned(), out_.messages));
                }
            }
        }
    }
    assert!(out.len() >= 15, "fixtures found: {}", out.len());
    out
}

fn write(target: &dyn Agent, conversation: &Conversation, home: &Path, cwd: &Path) -> sessionfs_agents::WrittenSession {
    let version = cli_info(target.kind()).unwrap().newest_known();
    let now = Timestamp::now();
    let native_id = new_native_id(target.kind(), now);
    let request = WriteRequest {
        native_id: &native_id,
        conversation,
        title: Some("A title"),
        cwd,
        dirs: &AgentDirs::under(home),
        cli_version: version,
        git: None,
        now,
    };
    write_checked(target, &request).unwrap_or_else(|e| panic!("writing into {}: {e}", target.kind()))
}

#[test]
fn every_fixture_session_writes_into_every_agent_and_reads_back() {
    for (source, scenario, messages) in recorded() {
        let conversation = Conversation::from_messages(source.as_str(), &messages);
        for target in AGENTS {
            let tmp = tempfile::tempdir().unwrap();
            let (home, cwd) = (tmp.path().join("home"), tmp.path().join("work_dir"));
            std::fs::create_dir_all(&cwd).unwrap();
            let agent = for_kind(target).unwrap();
            let written = write(agent.as_ref(), &conversation, &home, &cwd);
            let text = std::fs::read_to_string(&written.main_file).unwrap();
            assert!(text.contains("MARKER"), "{source} {scenario} -> {target}: the marker was not written");
            if scenario == "tool_call" {
                let calls =
                    written.expected.iter().flat_map(|m| &m.content).filter(|b| matches!(b, Block::ToolUse { .. }));
                assert_eq!(calls.count(), 1, "{source} -> {target}: one tool call");
            }
            // Each agent's session file is where its capture finds it.
            let found = agent.discover(&AgentDirs::under(&home));
            assert!(found.iter().any(|f| f.path == written.main_file), "{source} -> {target}: not discovered");
        }
    }
}

fn rich_session() -> Vec<Message> {
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    let t = |s: i64| Some(Timestamp::from_millis(1_767_225_600_000 + s * 1000).unwrap());
    let mut m = vec![
        Message::new(
            "1",
            Role::User,
            vec![
                Block::text("Look at this screenshot RICH-MARKER"),
                Block::Image {
                    source: ImageSource {
                        kind: "base64".into(),
                        data: Some(png.into()),
                        media_type: Some("image/png".into()),
                        extra: Map::new(),
                    },
                },
            ],
        ),
        Message::new(
            "2",
            Role::Assistant,
            vec![
                Block::Thinking {
                    text: "Let me plan.".into(),
                    signature: Some("sig-abc".into()),
                    redacted: false,
                    summary: None,
                },
                Block::text("Running two things."),
                Block::ToolUse {
                    tool_use_id: "toolu_1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "cat pkg.json"}),
                },
                Block::ToolUse {
                    tool_use_id: "toolu_2".into(),
                    name: "Read".into(),
                    input: json!({"file_path": "src/a.rs"}),
                },
            ],
        ),
        Message::new(
            "3",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: r#"{"name": "pkg"}"#.into(),
                is_error: false,
                exit_code: Some(0),
                duration_ms: None,
            }],
        ),
        Message::new(
            "4",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "toolu_2".into(),
                content: "no such file".into(),
                is_error: true,
                exit_code: None,
                duration_ms: None,
            }],
        ),
        Message::new("5", Role::Assistant, vec![Block::text("Same words."), Block::text("Same words.")]),
        Message::new(
            "6",
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "ghost".into(),
                content: "orphan output".into(),
                is_error: false,
                exit_code: None,
                duration_ms: None,
            }],
        ),
        Message::new(
            "7",
            Role::User,
            vec![
                Block::text("Now https://x.invalid/a.png"),
                Block::Image {
                    source: ImageSource {
                        kind: "url".into(),
                        data: Some("https://x.invalid/a.png".into()),
                        media_type: None,
                        extra: Map::new(),
                    },
                },
            ],
        ),
        Message::new(
            "8",
            Role::Assistant,
            vec![
                Block::Thinking {
                    text: String::new(),
                    signature: None,
                    redacted: true,
                    summary: Some("codex summary".into()),
                },
                Block::Unknown(serde_json::from_value(json!({"type": "hologram", "depth": 3})).unwrap()),
                Block::ToolUse {
                    tool_use_id: "call.9".into(),
                    name: "exec_command".into(),
                    input: json!({"cmd": "ls"}),
                },
            ],
        ),
    ];
    for (n, msg) in m.iter_mut().enumerate() {
        msg.timestamp = t(n as i64);
    }
    m
}

#[test]
fn a_rich_session_writes_into_every_agent_and_reads_back() {
    let conversation = Conversation::from_messages("claude-code", &rich_session());
    // The unanswered call at the end was answered.
    let Some(Item::Results(last)) = conversation.items.last() else { panic!("{:?}", conversation.items.last()) };
    assert!(matches!(&last.blocks[0], Block::ToolResult { content, .. } if content == MISSING_RESULT));
    for target in AGENTS {
        let tmp = tempfile::tempdir().unwrap();
        let (home, cwd) = (tmp.path().join("home"), tmp.path().join("w"));
        std::fs::create_dir_all(&cwd).unwrap();
        let agent = for_kind(target).unwrap();
        let written = write(agent.as_ref(), &conversation, &home, &cwd);
        let blocks: Vec<&Block> = written.expected.iter().flat_map(|m| &m.content).collect();
        let has = |f: &dyn Fn(&Block) -> bool| blocks.iter().any(|b| f(b));
        // Thinking: kept signed in Claude Code, as thoughts in Gemini, as text in Codex.
        match target {
            AgentKind::ClaudeCode => assert!(has(&|b| matches!(b, Block::Thinking { signature: Some(_), .. }))),
            AgentKind::GeminiCli => {
                assert!(has(&|b| matches!(b, Block::Thinking { text, .. } if text == "Let me plan.")))
            }
            _ => assert!(has(&|b| matches!(b, Block::Text { text } if text == "(thinking) Let me plan."))),
        }
        assert!(has(&|b| matches!(b, Block::Image { .. })), "{target}: the screenshot");
        assert!(
            has(&|b| matches!(b, Block::Text { text } if text.contains("orphan output"))),
            "{target}: orphan kept as text"
        );
        assert!(
            has(&|b| matches!(b, Block::Text { text } if text.contains("hologram"))),
            "{target}: unknown block named"
        );
        assert!(
            has(&|b| matches!(b, Block::ToolResult { content, .. } if content == r#"{"name": "pkg"}"#)),
            "{target}"
        );
        // Every call is answered by a result with its ID.
        let calls: Vec<&str> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::ToolUse { tool_use_id, .. } => Some(tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        let answers: Vec<&str> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(calls, answers, "{target}");
        assert_eq!(calls.len(), 3, "{target}");
    }
}

#[test]
fn a_session_that_does_not_read_back_is_removed() {
    // A Codex rollout whose thread ID does not match what it says is caught: write, then corrupt the
    // expectation and check again.
    let conversation = Conversation::from_messages("codex", &rich_session());
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("w");
    std::fs::create_dir_all(&cwd).unwrap();
    let agent = for_kind(AgentKind::Codex).unwrap();
    let mut written = write(agent.as_ref(), &conversation, &tmp.path().join("home"), &cwd);
    written.expected.pop();
    let err = sessionfs_agents::resume::read_back(agent.as_ref(), &written).unwrap_err();
    assert!(err.to_string().contains("read back"), "{err}");
    written.discard();
    assert!(!written.main_file.exists());
}

#[test]
fn known_versions_are_the_fixture_versions() {
    for kind in AGENTS {
        let mut recorded: Vec<String> = std::fs::read_dir(fixtures().join(kind.as_str()))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        recorded.sort();
        let known: Vec<String> = cli_info(kind).unwrap().known_versions.iter().map(|v| v.to_string()).collect();
        assert_eq!(known, recorded, "{kind}");
    }
}

#[test]
fn a_codex_prompt_with_images_has_its_user_message_event() {
    let conversation = Conversation::from_messages("claude-code", &rich_session());
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("w");
    std::fs::create_dir_all(&cwd).unwrap();
    let agent = for_kind(AgentKind::Codex).unwrap();
    let written = write(agent.as_ref(), &conversation, &tmp.path().join("home"), &cwd);
    let text = std::fs::read_to_string(&written.main_file).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["payload"]["type"] == "user_message")
        .map(|r| r["payload"].clone())
        .collect();
    // Codex shows the prompts it replays from these events, images with them.
    assert_eq!(events.len(), 3, "two prompts and the orphan output as user text: {events:?}");
    assert_eq!(events[0]["message"], "Look at this screenshot RICH-MARKER");
    assert!(events[0]["images"][0].as_str().unwrap().starts_with("data:image/png;base64,"), "{}", events[0]);
    assert_eq!(events[2]["message"], "Now https://x.invalid/a.png");
    assert_eq!(events[2]["images"][0], "https://x.invalid/a.png");
    // Captured back, each prompt is read once (write_checked compared them) and titles the session.
    let file = agent.classify(&written.main_file).unwrap();
    let mut parser = agent.parser(&file);
    let read = parser.feed(text.as_bytes(), true);
    assert_eq!(read.messages.iter().filter(|m| m.role == Role::User).count(), 3, "each once");
    assert_eq!(parser.meta().first_prompt.as_deref(), Some("Look at this screenshot RICH-MARKER"));
}
