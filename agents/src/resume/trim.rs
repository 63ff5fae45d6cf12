//! Trimming a conversation to a token budget: whole turns are dropped from the oldest, cutting only where
//! a user turn starts (so no tool call is separated from its result), and a short summary of what was
//! dropped, generated here without any model call, takes their place at the head.

use std::collections::BTreeMap;

use serde::Serialize;
use sessionfs_shared::sfs::Block;

use super::conversation::{Conversation, Item, Turn, is_sessionfs_note, text_of};

/// What trimming did. `items` is 0 when the conversation is over the budget but nothing could be left out
/// that would make it smaller (a summary of what is dropped must cost less than what it stands for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trimmed {
    /// User turns dropped whole.
    pub turns: usize,
    /// Steps (each with its tool results) dropped from the start of the newest turn, which is too big alone.
    pub steps: usize,
    /// Items (prompts, steps, results) dropped.
    pub items: usize,
    /// Estimated tokens before.
    pub tokens_before: u64,
    /// Estimated tokens after, the summary included.
    pub tokens_after: u64,
    /// The budget.
    pub budget: u64,
}

impl Trimmed {
    /// What was left out, for people: "the oldest 2 turns and the first 3 steps of the newest turn".
    pub fn describe(&self) -> String {
        if self.items == 0 {
            return format!(
                "the conversation is about {} tokens, over the budget of {}, but nothing was left out: its newest \
                 turn is kept whole, and a summary of less would cost more than it saves",
                self.tokens_before, self.budget
            );
        }
        let mut parts = Vec::new();
        if self.turns > 0 {
            parts.push(format!("the oldest {} turn{}", self.turns, plural(self.turns)));
        }
        if self.steps > 0 {
            parts.push(format!("the first {} step{} of the newest turn", self.steps, plural(self.steps)));
        }
        let over = if self.tokens_after > self.budget { ", still over it" } else { "" };
        format!(
            "left out {} to fit {} tokens (about {} -> {}{over}); a summary of them opens the session",
            parts.join(" and "),
            self.budget,
            self.tokens_before,
            self.tokens_after
        )
    }
}

/// Most prompts and files a summary names.
const LISTED: usize = 5;

/// Trim `conversation` to `budget` estimated tokens. `None` when it already fits.
///
/// Turns are dropped from the oldest. When even the newest turn alone is over the budget, its oldest
/// steps are dropped too (each step with its tool results), keeping its prompt and its newest step. The
/// result is never bigger than the conversation was: when the summary would cost more than what it stands
/// for, nothing is cut (and the report says so, with `items` 0).
pub fn trim(conversation: &mut Conversation, budget: u64) -> Option<Trimmed> {
    let tokens_before = conversation.estimated_tokens();
    if tokens_before <= budget {
        return None;
    }
    let items = &conversation.items;
    let sizes: Vec<u64> = items.iter().map(Item::estimated_tokens).collect();
    let starts: Vec<usize> =
        items.iter().enumerate().filter(|(_, i)| matches!(i, Item::User(_))).map(|(n, _)| n).collect();
    let suffix = |from: usize| sizes[from..].iter().sum::<u64>();

    // Cut before a user turn: keep items[cut..].
    let mut plan: Option<(Vec<usize>, usize)> = None; // (dropped indices, turns dropped)
    for (n, &cut) in starts.iter().enumerate().skip(1) {
        let dropped: Vec<usize> = (0..cut).collect();
        let summary = summary(items, &dropped, n, 0);
        if suffix(cut) + summary.estimated_tokens() <= budget {
            plan = Some((dropped, n));
            break;
        }
    }
    // The newest turn alone is too big: drop its oldest steps, keeping its prompt.
    if plan.is_none() {
        let last = starts.last().copied().unwrap_or(0);
        let steps: Vec<usize> = (last + 1..items.len()).filter(|&n| matches!(items[n], Item::Assistant(_))).collect();
        let turns = starts.len().saturating_sub(1);
        let mut chosen = None;
        for (k, &cut) in steps.iter().enumerate().skip(1) {
            let dropped: Vec<usize> = (0..last).chain(last + 1..cut).collect();
            let summary = summary(items, &dropped, turns, k);
            if sizes[last] + suffix(cut) + summary.estimated_tokens() <= budget {
                chosen = Some(dropped);
                break;
            }
        }
        // Nothing fits: keep the prompt and the newest step, over budget rather than cut mid-call.
        let dropped =
            chosen.unwrap_or_else(|| (0..last).chain(last + 1..steps.last().copied().unwrap_or(last + 1)).collect());
        plan = Some((dropped, turns));
    }
    let (dropped, turns) = plan?;
    let nothing_cut = Trimmed { turns: 0, steps: 0, items: 0, tokens_before, tokens_after: tokens_before, budget };
    if dropped.is_empty() {
        return Some(nothing_cut);
    }
    let steps_in_turn = dropped
        .iter()
        .filter(|&&n| matches!(items[n], Item::Assistant(_)) && starts.last().is_some_and(|&l| n > l))
        .count();
    let head = summary(items, &dropped, turns, steps_in_turn);
    let mut kept: Vec<Item> = Vec::with_capacity(items.len() - dropped.len() + 1);
    kept.push(head);
    kept.extend(items.iter().enumerate().filter(|(n, _)| dropped.binary_search(n).is_err()).map(|(_, i)| i.clone()));
    let tokens_after = kept.iter().map(Item::estimated_tokens).sum();
    if tokens_after >= tokens_before {
        return Some(nothing_cut);
    }
    let trimmed = Trimmed { turns, steps: steps_in_turn, items: dropped.len(), tokens_before, tokens_after, budget };
    conversation.items = kept;
    Some(trimmed)
}

/// The summary standing for the dropped items: a user message beginning with `[SessionFS]`.
fn summary(items: &[Item], dropped: &[usize], turns: usize, steps: usize) -> Item {
    let dropped: Vec<&Item> = dropped.iter().map(|&n| &items[n]).collect();
    let prompts: Vec<String> = dropped
        .iter()
        .filter_map(|i| match i {
            Item::User(t) if !is_sessionfs_note(t) => {
                let text = text_of(&t.blocks);
                let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_owned();
                (!line.is_empty()).then(|| ellipsize(&line, 80))
            }
            _ => None,
        })
        .collect();
    let mut tools: BTreeMap<String, usize> = BTreeMap::new();
    let mut files: Vec<String> = Vec::new();
    for b in dropped.iter().flat_map(|i| i.blocks()) {
        if let Block::ToolUse { name, input, .. } = b {
            *tools.entry(name.clone()).or_default() += 1;
            for key in ["file_path", "path", "filePath", "absolute_path", "notebook_path", "dir_path"] {
                if let Some(p) = input.get(key).and_then(|v| v.as_str())
                    && !files.iter().any(|f| f == p)
                {
                    files.push(p.to_owned());
                }
            }
        }
    }
    let times: Vec<_> = dropped.iter().filter_map(|i| i.turn().timestamp).collect();
    let mut text = String::from("[SessionFS] The start of this session was left out to fit the context window: ");
    let mut parts = Vec::new();
    if turns > 0 {
        parts.push(format!("{turns} earlier turn{}", plural(turns)));
    }
    if steps > 0 {
        parts.push(format!("the first {steps} step{} of the current turn", plural(steps)));
    }
    text.push_str(&parts.join(" and "));
    text.push_str(&format!(" ({} message{}", dropped.len(), plural(dropped.len())));
    if let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) {
        text.push_str(&format!(", {first} to {last}"));
    }
    text.push_str(").");
    if !prompts.is_empty() {
        let listed: Vec<String> = prompts.iter().take(LISTED).map(|p| format!("\"{p}\"")).collect();
        text.push_str(&format!(" Dropped prompts: {}", listed.join("; ")));
        if prompts.len() > LISTED {
            text.push_str(&format!("; and {} more", prompts.len() - LISTED));
        }
        text.push('.');
    }
    if !tools.is_empty() {
        let mut counted: Vec<(String, usize)> = tools.into_iter().collect();
        counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let listed: Vec<String> = counted.iter().take(8).map(|(n, c)| format!("{n} ×{c}")).collect();
        text.push_str(&format!(" Tools called: {}.", listed.join(", ")));
    }
    if !files.is_empty() {
        let listed: Vec<&str> = files.iter().take(8).map(String::as_str).collect();
        text.push_str(&format!(" Files named in tool calls: {}", listed.join(", ")));
        if files.len() > 8 {
            text.push_str(&format!(" and {} more", files.len() - 8));
        }
        text.push('.');
    }
    Item::User(Turn { blocks: vec![Block::text(text)], timestamp: times.iter().min().copied(), model: None })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sessionfs_shared::sfs::{Message, Role};

    /// `turns` turns, each a prompt of `size` chars, a shell call on `file<n>` and its result, and an answer.
    fn session(turns: usize, size: usize) -> Conversation {
        let mut messages = Vec::new();
        for n in 0..turns {
            messages.push(Message::new("u", Role::User, vec![Block::text(format!("prompt {n} {}", "x".repeat(size)))]));
            messages.push(Message::new(
                "a",
                Role::Assistant,
                vec![Block::ToolUse {
                    tool_use_id: format!("c{n}"),
                    name: "Read".into(),
                    input: json!({ "file_path": format!("file{n}.rs") }),
                }],
            ));
            messages.push(Message::new(
                "r",
                Role::Tool,
                vec![Block::ToolResult {
                    tool_use_id: format!("c{n}"),
                    content: "y".repeat(size),
                    is_error: false,
                    exit_code: None,
                    duration_ms: None,
                }],
            ));
            messages.push(Message::new("a", Role::Assistant, vec![Block::text(format!("answer {n}"))]));
        }
        Conversation::from_messages("claude-code", &messages)
    }

    fn calls_are_answered(c: &Conversation) {
        for (n, item) in c.items.iter().enumerate() {
            if let Item::Assistant(t) = item {
                let calls: Vec<&str> = t
                    .blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::ToolUse { tool_use_id, .. } => Some(tool_use_id.as_str()),
                        _ => None,
                    })
                    .collect();
                if calls.is_empty() {
                    continue;
                }
                let Some(Item::Results(r)) = c.items.get(n + 1) else { panic!("call without results at {n}") };
                let answered: Vec<&str> = r
                    .blocks
                    .iter()
                    .filter_map(|b| match b {
                        Block::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(calls, answered);
            }
            if let Item::Results(_) = item {
                assert!(
                    matches!(c.items.get(n.wrapping_sub(1)), Some(Item::Assistant(_))),
                    "results at {n} follow no step"
                );
            }
        }
    }

    #[test]
    fn a_session_that_fits_is_left_alone() {
        let mut c = session(3, 40);
        let before = c.clone();
        assert_eq!(trim(&mut c, 100_000), None);
        assert_eq!(c, before);
    }

    #[test]
    fn oldest_turns_go_first_and_a_summary_takes_their_place() {
        let mut c = session(10, 400); // ~250 tokens a turn
        let report = trim(&mut c, 1_000).unwrap();
        assert!(report.tokens_after <= 1_000, "{report:?}");
        assert!(report.turns >= 6, "{report:?}");
        let Item::User(head) = &c.items[0] else { panic!() };
        let summary = text_of(&head.blocks);
        assert!(summary.starts_with("[SessionFS]"), "{summary}");
        assert!(summary.contains(&format!("{} earlier turns", report.turns)), "{summary}");
        assert!(summary.contains("\"prompt 0 xxx"), "{summary}");
        assert!(summary.contains(&format!("Read ×{}", report.turns)), "{summary}");
        assert!(summary.contains("file0.rs"), "{summary}");
        // What is kept is the newest turns, whole, starting at a prompt.
        assert!(text_of(c.items[1].blocks()).starts_with(&format!("prompt {}", report.turns)));
        assert!(text_of(c.items.last().unwrap().blocks()).contains("answer 9"));
        calls_are_answered(&c);
    }

    #[test]
    fn a_single_huge_turn_is_cut_between_steps_never_inside_one() {
        let mut messages = vec![Message::new("u", Role::User, vec![Block::text("one long task")])];
        for n in 0..8 {
            messages.push(Message::new(
                "a",
                Role::Assistant,
                vec![Block::ToolUse {
                    tool_use_id: format!("c{n}"),
                    name: "Bash".into(),
                    input: json!({"command": "ls"}),
                }],
            ));
            messages.push(Message::new(
                "r",
                Role::Tool,
                vec![Block::ToolResult {
                    tool_use_id: format!("c{n}"),
                    content: "z".repeat(2_000),
                    is_error: false,
                    exit_code: None,
                    duration_ms: None,
                }],
            ));
        }
        let mut c = Conversation::from_messages("codex", &messages);
        let report = trim(&mut c, 2_000).unwrap();
        assert_eq!(report.turns, 0);
        assert!(report.tokens_after <= 2_000, "{report:?}");
        assert!(text_of(c.items[0].blocks()).contains("step"), "the summary says steps were dropped");
        assert_eq!(text_of(c.items[1].blocks()), "one long task", "the turn's prompt is kept");
        calls_are_answered(&c);
    }

    #[test]
    fn nothing_is_cut_when_the_summary_would_cost_more_than_it_saves() {
        // One turn: a prompt, a small call and its result, an answer. Over a tiny budget, but dropping the call
        // would put a longer summary in its place.
        let mut c = session(1, 10);
        let before = c.clone();
        let size = c.estimated_tokens();
        let report = trim(&mut c, size / 2).unwrap();
        assert_eq!(c, before, "left as it was");
        assert_eq!((report.turns, report.steps, report.items), (0, 0, 0), "{report:?}");
        assert_eq!(report.tokens_after, report.tokens_before);
        let said = report.describe();
        assert!(said.contains("over the budget") && said.contains("nothing was left out"), "{said}");
        assert!(!said.contains("0 turn"), "{said}");
    }

    #[test]
    fn the_report_names_turns_and_steps_as_they_were_dropped() {
        let mut c = session(10, 400);
        let said = trim(&mut c, 1_000).unwrap().describe();
        assert!(said.starts_with("left out the oldest ") && said.contains(" turns to fit 1000 tokens"), "{said}");
        assert!(!said.contains("step"), "{said}");
        let mut messages = vec![Message::new("u", Role::User, vec![Block::text("one long task")])];
        for n in 0..8 {
            let input = json!({"command": "ls"});
            let call = Block::ToolUse { tool_use_id: format!("c{n}"), name: "Bash".into(), input };
            messages.push(Message::new("a", Role::Assistant, vec![call]));
            let content = "z".repeat(2_000);
            let result = Block::ToolResult {
                tool_use_id: format!("c{n}"),
                content,
                is_error: false,
                exit_code: None,
                duration_ms: None,
            };
            messages.push(Message::new("r", Role::Tool, vec![result]));
        }
        let mut c = Conversation::from_messages("codex", &messages);
        let report = trim(&mut c, 2_000).unwrap();
        let said = report.describe();
        assert!(said.starts_with(&format!("left out the first {} steps of the newest turn", report.steps)), "{said}");
        assert!(!said.contains("turns"), "{said}");
    }

    #[test]
    fn the_summary_is_deterministic() {
        let (mut a, mut b) = (session(6, 300), session(6, 300));
        trim(&mut a, 600);
        trim(&mut b, 600);
        assert_eq!(a, b);
    }
}
