//! The conversation a writer writes: a session's main thread reduced to what every provider's API
//! accepts. User prompts, assistant steps and the results of each step's tool calls alternate; every
//! call is answered right after the step that made it; call IDs are unique and use only
//! `[A-Za-z0-9_-]` (Anthropic's rule, the strictest of the three).

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;
use sessionfs_shared::Timestamp;
use sessionfs_shared::sfs::{Block, Message, Role};

/// What a result says when the session recorded a call but never its result.
pub const MISSING_RESULT: &str = "[no result was recorded for this tool call]";

/// One side of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Blocks, in order. Users: text and images. Assistants: text, thinking, tool calls. Results:
    /// one tool result per call of the step before, in call order.
    pub blocks: Vec<Block>,
    /// When it happened (the first source message's time).
    pub timestamp: Option<Timestamp>,
    /// The model that produced it (assistant steps).
    pub model: Option<String>,
}

impl Turn {
    fn new(blocks: Vec<Block>, timestamp: Option<Timestamp>, model: Option<String>) -> Self {
        Self { blocks, timestamp, model }
    }
}

/// One element of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A person's prompt (or text SessionFS adds, such as the summary of trimmed turns).
    User(Turn),
    /// One model step: everything the assistant said between two user messages or tool results.
    Assistant(Turn),
    /// The results of the preceding step's tool calls.
    Results(Turn),
}

impl Item {
    /// The item's blocks.
    pub fn blocks(&self) -> &[Block] {
        match self {
            Self::User(t) | Self::Assistant(t) | Self::Results(t) => &t.blocks,
        }
    }

    /// The item's turn.
    pub fn turn(&self) -> &Turn {
        match self {
            Self::User(t) | Self::Assistant(t) | Self::Results(t) => t,
        }
    }

    /// A rough token count: characters / 4, an image as 1 600 tokens.
    pub fn estimated_tokens(&self) -> u64 {
        self.blocks().iter().map(block_tokens).sum::<u64>() + 4
    }
}

fn block_tokens(b: &Block) -> u64 {
    let chars = match b {
        Block::Text { text } | Block::Summary { text, .. } => text.len(),
        Block::Thinking { text, summary, .. } => text.len() + summary.as_ref().map_or(0, String::len),
        Block::ToolUse { name, input, .. } => name.len() + input.to_string().len(),
        Block::ToolResult { content, .. } => content.len(),
        Block::Image { .. } => return 1_600,
        Block::Unknown(map) => Value::Object(map.clone()).to_string().len(),
    };
    (chars as u64).div_ceil(4)
}

/// A session's main thread, ready to be written in any agent's format.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The agent the session was captured from (`source.tool`).
    pub source: String,
    /// Prompts, steps and results.
    pub items: Vec<Item>,
}

/// One message reduced to what it contributes.
enum Event {
    Prompt(Vec<Block>, Option<Timestamp>),
    Say(Vec<Block>, Option<Timestamp>, Option<String>),
    Result(Block, Option<Timestamp>),
}

impl Conversation {
    /// Build the conversation from a session's messages.
    ///
    /// Context an agent injected itself (`is_meta`: environment descriptions, instructions, notices) is
    /// left out: the target agent injects its own. Sub-agent threads (`is_sidechain`) have no place in
    /// another agent's history, so each becomes a compact transcript appended to the first tool result
    /// that follows it (the parent's call of the sub-agent, as a rule), or a note at the end. Summaries become user text; blocks of
    /// unknown types become a short placeholder, never their raw JSON.
    pub fn from_messages(source: &str, messages: &[Message]) -> Self {
        let events = events(messages);
        let mut b = Builder::new(&events);
        for event in events {
            match event {
                Event::Prompt(blocks, at) => {
                    b.flush_step();
                    b.push_user(blocks, at);
                }
                Event::Say(blocks, at, model) => b.say(blocks, at, model),
                Event::Result(block, at) => b.result(block, at),
            }
        }
        b.flush_step();
        let mut items = b.items;
        if !matches!(items.first(), Some(Item::User(_)) | None) {
            let at = items.first().and_then(|i| i.turn().timestamp);
            let note = format!("[SessionFS] This conversation was continued from a {source} session.");
            items.insert(0, Item::User(Turn::new(vec![Block::text(note)], at, None)));
        }
        Self { source: source.to_owned(), items }
    }

    /// The estimated size of the whole conversation in tokens.
    pub fn estimated_tokens(&self) -> u64 {
        self.items.iter().map(Item::estimated_tokens).sum()
    }

    /// The first prompt's text, for titles.
    pub fn first_prompt(&self) -> Option<String> {
        self.items.iter().find_map(|i| match i {
            Item::User(t) if !is_sessionfs_note(t) => Some(text_of(&t.blocks)),
            _ => None,
        })
    }
}

/// Text SessionFS added itself (summaries of trimmed turns, notes).
pub(crate) fn is_sessionfs_note(t: &Turn) -> bool {
    matches!(t.blocks.first(), Some(Block::Text { text }) if text.starts_with(crate::meta::SESSIONFS_NOTE_PREFIX))
}

/// The text blocks of `blocks`, joined by newlines.
pub(crate) fn text_of(blocks: &[Block]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unsupported(b: &Block) -> Block {
    Block::text(format!("[{} block omitted by SessionFS]", b.type_name()))
}

/// Text standing for a tool call in a message that cannot carry one.
fn call_as_text(name: &str, input: &Value) -> Block {
    Block::text(format!("[tool call {name}: {input}]"))
}

/// The most text of one sub-agent carried into the target, and of one of its messages.
const SUBAGENT_TRANSCRIPT_CHARS: usize = 16_000;
const SUBAGENT_MESSAGE_CHARS: usize = 1_500;

/// Sub-agent threads as (last timestamp, transcript), in the order they started.
fn subagent_transcripts(messages: &[Message]) -> Vec<(Option<Timestamp>, String)> {
    let mut order: Vec<String> = Vec::new();
    let mut by_agent: HashMap<String, (Option<Timestamp>, String)> = HashMap::new();
    for m in messages.iter().filter(|m| m.is_sidechain && !m.is_meta) {
        let agent = m.agent_id.clone().unwrap_or_else(|| "sub-agent".into());
        let entry = by_agent.entry(agent.clone()).or_insert_with(|| {
            order.push(agent.clone());
            (None, String::new())
        });
        entry.0 = m.timestamp.or(entry.0);
        let mut line = String::new();
        for b in &m.content {
            let piece = match b {
                Block::Text { text } => text.clone(),
                Block::ToolUse { name, input, .. } => format!("[tool call {name}: {input}]"),
                Block::ToolResult { content, .. } => format!("[tool result: {content}]"),
                _ => continue,
            };
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&piece);
        }
        if line.trim().is_empty() || entry.1.len() >= SUBAGENT_TRANSCRIPT_CHARS {
            continue;
        }
        let clipped: String = line.chars().take(SUBAGENT_MESSAGE_CHARS).collect();
        entry.1.push_str(&format!("\n{}: {clipped}", m.role.as_str()));
    }
    order
        .into_iter()
        .filter_map(|agent| {
            let (at, body) = by_agent.remove(&agent)?;
            let body: String = body.chars().take(SUBAGENT_TRANSCRIPT_CHARS).collect();
            Some((at, format!("[SessionFS] Turns of sub-agent {agent}:{body}")))
        })
        .collect()
}

/// Append the transcripts of sub-agents that finished by `at` to a tool result's text.
fn fold_subagents(block: Block, at: Option<Timestamp>, pending: &mut VecDeque<(Option<Timestamp>, String)>) -> Block {
    let Block::ToolResult { tool_use_id, mut content, is_error, exit_code, duration_ms } = block else { return block };
    while let Some((done, _)) = pending.front() {
        let finished = match (done, at) {
            (Some(d), Some(a)) => *d <= a,
            _ => true,
        };
        if !finished {
            break;
        }
        if let Some((_, transcript)) = pending.pop_front() {
            content.push_str("\n\n");
            content.push_str(&transcript);
        }
    }
    Block::ToolResult { tool_use_id, content, is_error, exit_code, duration_ms }
}

fn events(messages: &[Message]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut pending: VecDeque<(Option<Timestamp>, String)> = subagent_transcripts(messages).into();
    for m in messages.iter().filter(|m| !m.is_sidechain && !m.is_meta) {
        let at = m.timestamp;
        match m.role {
            Role::Assistant => {
                let mut say = Vec::new();
                for b in &m.content {
                    match b {
                        Block::Text { .. } | Block::Thinking { .. } | Block::ToolUse { .. } => say.push(b.clone()),
                        Block::Summary { text, .. } => say.push(Block::text(text.clone())),
                        Block::ToolResult { .. } => {
                            if !say.is_empty() {
                                out.push(Event::Say(std::mem::take(&mut say), at, m.model.clone()));
                            }
                            out.push(Event::Result(fold_subagents(b.clone(), at, &mut pending), at));
                        }
                        Block::Image { .. } => say.push(Block::text("[image]")),
                        Block::Unknown(_) => say.push(unsupported(b)),
                    }
                }
                if !say.is_empty() {
                    out.push(Event::Say(say, at, m.model.clone()));
                }
            }
            Role::User | Role::Tool | Role::System | Role::Developer => {
                let mut prompt = Vec::new();
                for b in &m.content {
                    match b {
                        Block::ToolResult { .. } => {
                            out.push(Event::Result(fold_subagents(b.clone(), at, &mut pending), at))
                        }
                        Block::Text { .. } | Block::Image { .. } => prompt.push(b.clone()),
                        Block::Summary { text, .. } => {
                            prompt.push(Block::text(format!("[Summary of the earlier conversation] {text}")));
                        }
                        Block::Thinking { text, .. } => prompt.push(Block::text(text.clone())),
                        Block::ToolUse { name, input, .. } => prompt.push(call_as_text(name, input)),
                        Block::Unknown(_) => prompt.push(unsupported(b)),
                    }
                }
                prompt.retain(|b| !matches!(b, Block::Text { text } if text.trim().is_empty()));
                if !prompt.is_empty() {
                    out.push(Event::Prompt(prompt, at));
                }
            }
        }
    }
    // Sub-agents no later tool result could carry: a note at the end.
    for (at, transcript) in pending {
        out.push(Event::Prompt(vec![Block::text(transcript)], at));
    }
    out
}

/// Assembles items from events, pairing every call with its result.
struct Builder {
    items: Vec<Item>,
    /// The open assistant step.
    step: Option<Turn>,
    /// Results by call ID, in the order they came (an ID can repeat).
    results: HashMap<String, VecDeque<(Block, Option<Timestamp>)>>,
    /// Every call ID in the session, to tell a result that comes early from an orphan.
    call_ids: HashSet<String>,
    /// Call IDs already written, to keep them unique.
    used_ids: HashSet<String>,
}

impl Builder {
    fn new(events: &[Event]) -> Self {
        let mut results: HashMap<String, VecDeque<(Block, Option<Timestamp>)>> = HashMap::new();
        let mut call_ids = HashSet::new();
        for e in events {
            match e {
                Event::Result(b @ Block::ToolResult { tool_use_id, .. }, at) => {
                    results.entry(tool_use_id.clone()).or_default().push_back((b.clone(), *at));
                }
                Event::Say(blocks, ..) => {
                    for b in blocks {
                        if let Block::ToolUse { tool_use_id, .. } = b {
                            call_ids.insert(tool_use_id.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        Self { items: Vec::new(), step: None, results, call_ids, used_ids: HashSet::new() }
    }

    fn push_user(&mut self, blocks: Vec<Block>, at: Option<Timestamp>) {
        self.items.push(Item::User(Turn::new(blocks, at, None)));
    }

    fn say(&mut self, blocks: Vec<Block>, at: Option<Timestamp>, model: Option<String>) {
        let step = self.step.get_or_insert_with(|| Turn::new(Vec::new(), at, model.clone()));
        if step.model.is_none() {
            step.model = model;
        }
        step.blocks.extend(blocks);
    }

    fn result(&mut self, block: Block, at: Option<Timestamp>) {
        let Block::ToolResult { tool_use_id, content, .. } = &block else { return };
        let in_open_step = self.step.as_ref().is_some_and(|s| {
            s.blocks.iter().any(|b| matches!(b, Block::ToolUse { tool_use_id: id, .. } if id == tool_use_id))
        });
        if in_open_step {
            self.flush_step();
        } else if self.call_ids.contains(tool_use_id) {
            // Placed with its call (earlier or later), or a duplicate of one that was.
        } else {
            // No call asked for it: keep what it says as text where it happened.
            self.flush_step();
            let text = format!("[output of a tool call not in this session ({tool_use_id})]\n{content}");
            self.push_user(vec![Block::text(text)], at);
        }
    }

    /// Close the open step: write it, then the results of its calls (a missing one is made up).
    fn flush_step(&mut self) {
        let Some(mut step) = self.step.take() else { return };
        step.blocks.retain(|b| match b {
            Block::Text { text } => !text.trim().is_empty(),
            Block::Thinking { text, signature, summary, .. } => {
                !text.is_empty() || signature.is_some() || summary.as_ref().is_some_and(|s| !s.is_empty())
            }
            _ => true,
        });
        if step.blocks.is_empty() {
            return;
        }
        let at = step.timestamp;
        let mut results = Vec::new();
        for b in &mut step.blocks {
            let Block::ToolUse { tool_use_id, .. } = b else { continue };
            let original = tool_use_id.clone();
            let id = self.unique_id(&original);
            *tool_use_id = id.clone();
            let found = self.results.get_mut(&original).and_then(VecDeque::pop_front);
            let (result, result_at) = match found {
                Some((Block::ToolResult { content, is_error, exit_code, duration_ms, .. }, result_at)) => {
                    (Block::ToolResult { tool_use_id: id, content, is_error, exit_code, duration_ms }, result_at)
                }
                _ => (
                    Block::ToolResult {
                        tool_use_id: id,
                        content: MISSING_RESULT.to_owned(),
                        is_error: true,
                        exit_code: None,
                        duration_ms: None,
                    },
                    at,
                ),
            };
            results.push((result, result_at));
        }
        self.items.push(Item::Assistant(step));
        if !results.is_empty() {
            let result_at = results.iter().find_map(|(_, t)| *t).or(at);
            let blocks = results.into_iter().map(|(b, _)| b).collect();
            self.items.push(Item::Results(Turn::new(blocks, result_at, None)));
        }
    }

    /// A call ID that is valid for every provider and not used before in this conversation.
    fn unique_id(&mut self, original: &str) -> String {
        let mut base: String = original
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
            .take(56)
            .collect();
        if base.is_empty() {
            base = "call_sfs".to_owned();
        }
        let mut id = base.clone();
        let mut n = 1;
        while !self.used_ids.insert(id.clone()) {
            n += 1;
            id = format!("{base}_{n}");
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(role: Role, content: Vec<Block>) -> Message {
        Message::new("m", role, content)
    }

    fn call(id: &str, cmd: &str) -> Block {
        Block::ToolUse { tool_use_id: id.into(), name: "Bash".into(), input: json!({ "command": cmd }) }
    }

    fn result(id: &str, out: &str) -> Block {
        Block::ToolResult {
            tool_use_id: id.into(),
            content: out.into(),
            is_error: false,
            exit_code: None,
            duration_ms: None,
        }
    }

    fn kinds(c: &Conversation) -> Vec<&'static str> {
        c.items
            .iter()
            .map(|i| match i {
                Item::User(_) => "user",
                Item::Assistant(_) => "assistant",
                Item::Results(_) => "results",
            })
            .collect()
    }

    #[test]
    fn split_calls_merge_into_one_step_with_results_after_it() {
        // Codex writes each call as its own message and its output after all of them.
        let messages = vec![
            msg(Role::User, vec![Block::text("go")]),
            msg(Role::Assistant, vec![call("a", "ls")]),
            msg(Role::Assistant, vec![call("b", "pwd")]),
            msg(Role::Tool, vec![result("b", "/x")]),
            msg(Role::Tool, vec![result("a", "f")]),
            msg(Role::Assistant, vec![Block::text("done")]),
        ];
        let c = Conversation::from_messages("codex", &messages);
        assert_eq!(kinds(&c), ["user", "assistant", "results", "assistant"]);
        let Item::Results(r) = &c.items[2] else { panic!() };
        assert_eq!(r.blocks, vec![result("a", "f"), result("b", "/x")], "results follow call order");
    }

    #[test]
    fn every_call_is_answered_and_orphans_become_text() {
        let messages = vec![
            msg(Role::User, vec![Block::text("go")]),
            msg(Role::Tool, vec![result("ghost", "boo")]),
            msg(Role::Assistant, vec![call("a", "ls")]),
        ];
        let c = Conversation::from_messages("claude-code", &messages);
        assert_eq!(kinds(&c), ["user", "user", "assistant", "results"]);
        assert!(text_of(c.items[1].blocks()).contains("boo"));
        assert!(
            matches!(&c.items[3].blocks()[0], Block::ToolResult { content, is_error: true, .. } if content == MISSING_RESULT)
        );
    }

    #[test]
    fn ids_are_made_valid_and_unique() {
        let messages = vec![
            msg(Role::User, vec![Block::text("go")]),
            msg(Role::Assistant, vec![call("x.1", "a")]),
            msg(Role::Tool, vec![result("x.1", "1")]),
            msg(Role::Assistant, vec![call("x_1", "b")]),
            msg(Role::Tool, vec![result("x_1", "2")]),
        ];
        let c = Conversation::from_messages("gemini-cli", &messages);
        let ids: Vec<String> = c
            .items
            .iter()
            .flat_map(|i| i.blocks())
            .filter_map(|b| match b {
                Block::ToolUse { tool_use_id, .. } | Block::ToolResult { tool_use_id, .. } => Some(tool_use_id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["x_1", "x_1", "x_1_2", "x_1_2"]);
    }

    #[test]
    fn meta_is_left_out_sidechains_become_a_transcript_and_the_head_is_a_user_turn() {
        let mut meta = msg(Role::User, vec![Block::text("<environment_context>")]);
        meta.is_meta = true;
        let mut side = msg(Role::Assistant, vec![Block::text("sub-agent work")]);
        side.is_sidechain = true;
        side.agent_id = Some("agent-x".into());
        let messages = vec![meta, side, msg(Role::Assistant, vec![Block::text("hello")])];
        let c = Conversation::from_messages("claude-code", &messages);
        assert_eq!(kinds(&c), ["user", "assistant", "user"]);
        assert!(text_of(c.items[0].blocks()).starts_with("[SessionFS]"));
        assert_eq!(text_of(c.items[1].blocks()), "hello");
        let note = text_of(c.items[2].blocks());
        assert!(note.contains("sub-agent agent-x") && note.contains("sub-agent work"), "{note}");
    }

    #[test]
    fn a_subagent_transcript_rides_on_the_next_tool_result() {
        let call = msg(
            Role::Assistant,
            vec![Block::ToolUse { tool_use_id: "t1".into(), name: "Task".into(), input: serde_json::json!({}) }],
        );
        let mut side = msg(Role::Assistant, vec![Block::text("found three callers")]);
        side.is_sidechain = true;
        side.agent_id = Some("agent-explore".into());
        let result = msg(
            Role::Tool,
            vec![Block::ToolResult {
                tool_use_id: "t1".into(),
                content: "done".into(),
                is_error: false,
                exit_code: None,
                duration_ms: None,
            }],
        );
        let c =
            Conversation::from_messages("claude-code", &[msg(Role::User, vec![Block::text("go")]), call, side, result]);
        let carried = c.items.iter().flat_map(|i| i.blocks()).any(|b| {
            matches!(b, Block::ToolResult { content, .. } if content.starts_with("done") && content.contains("found three callers"))
        });
        assert!(carried, "{:?}", c.items);
    }
}
