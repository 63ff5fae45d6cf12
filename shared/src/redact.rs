//! Secret redaction for everything that leaves the machine (push, sync, handoff, export).
//!
//! Agent sessions are full of credentials: a `cat .env`, a `curl -H "Authorization: Bearer …"`, a
//! database URL in a stack trace, a private key the agent was asked to rotate. Before a session is
//! uploaded or handed to someone else, [`Redactor`] replaces each secret with `[REDACTED:<kind>]` and
//! reports a [`Finding`] per replacement, so callers can count and report what was removed
//! ([`summarize`]).
//!
//! What it redacts: provider keys and tokens recognisable by shape (AWS access key ids, GitHub,
//! GitLab, Slack, Stripe, OpenAI, Anthropic, Google, npm and SessionFS keys), Slack webhooks, PEM
//! private-key blocks, JWTs, bearer and basic `Authorization` credentials, the password part of
//! `scheme://user:password@host` URLs, and values assigned to secret-named keys (`password = "…"`,
//! `AWS_SECRET_ACCESS_KEY=…`, `"api_key": "…"`) when the value looks random rather than like code
//! or a placeholder. The patterns (see `redact/rules.rs`) are written here from the providers'
//! documented formats and gitleaks' default rule set, narrowed to keep ordinary coding transcripts
//! (variables named `token`, `password_hash`, git SHAs, UUIDs) untouched; every rule has a positive
//! and a negative test.
//!
//! What it leaves alone: image blocks (their base64 data is not text), thinking signatures (they
//! must stay verbatim), ids, names, roles and timestamps.
//!
//! Cost: the expressions are compiled once per [`Redactor`] (share it; it is `Send + Sync`). Each
//! string is first scanned once for the rules' literal keywords (Aho-Corasick); only the rules whose
//! keywords occur are run, and a string without secrets is returned borrowed, without allocation.

mod rules;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::sfs::{Block, Message};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;
use serde_json::{Map, Value};

use rules::{Kind, RULES};

/// One secret that was replaced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What it was: `aws-access-key`, `aws-secret-key`, `github-token`, `gitlab-token`,
    /// `slack-token`, `slack-webhook`, `stripe-key`, `sessionfs-key`, `anthropic-key`, `openai-key`,
    /// `google-api-key`, `npm-token`, `private-key`, `jwt`, `url-password`, `bearer-token`,
    /// `basic-auth`, `password` or `generic-api-key`.
    pub kind: &'static str,
}

/// Counts per kind, for reports: `{"aws-access-key": 2, ...}`.
pub fn summarize(findings: &[Finding]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.kind).or_insert(0) += 1;
    }
    out
}

/// The shortest string any rule can match (`a://:x@h`); shorter strings are skipped outright.
const MIN_LEN: usize = 8;

struct Rule {
    kind: Kind,
    re: Regex,
    check: fn(&regex::Captures<'_>, &str) -> bool,
}

/// Replaces secrets with `[REDACTED:<kind>]`. Build once and share.
pub struct Redactor {
    rules: Vec<Rule>,
    /// Keywords of all rules, ASCII case-insensitive.
    prefilter: AhoCorasick,
    /// For each keyword, the rules (bit i = `rules[i]`) it announces.
    keyword_rules: Vec<u32>,
    /// A whole JSON object key that names a secret.
    key_name: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("rules", &self.rules.len()).finish_non_exhaustive()
    }
}

impl Redactor {
    /// The default pattern set.
    #[allow(clippy::expect_used)] // The patterns and keywords are constants, covered by the tests.
    pub fn new() -> Self {
        const _: () = assert!(RULES.len() <= 32, "keyword_rules is a u32 bit set");
        let rules: Vec<Rule> = RULES
            .iter()
            .map(|spec| Rule {
                kind: spec.kind,
                re: Regex::new(spec.pattern).expect("constant secret pattern compiles"),
                check: spec.check,
            })
            .collect();
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<u32> = Vec::new();
        for (i, spec) in RULES.iter().enumerate() {
            for kw in spec.keywords {
                let kw = kw.to_ascii_lowercase();
                match keywords.iter().position(|k| *k == kw) {
                    Some(at) => keyword_rules[at] |= 1 << i,
                    None => {
                        keywords.push(kw);
                        keyword_rules.push(1 << i);
                    }
                }
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A full DFA: about 1.5 times faster than the NFA on keyword-dense text, and small here.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .expect("constant keyword set builds");
        let key_name = Regex::new(&rules::key_name_pattern()).expect("constant key-name pattern compiles");
        Self { rules, prefilter, keyword_rules, key_name }
    }

    /// Redact one string. Borrowed (and no findings) when nothing was found.
    pub fn redact_str<'a>(&self, s: &'a str) -> (Cow<'a, str>, Vec<Finding>) {
        let mut findings = Vec::new();
        match self.redact_into(s, &mut findings) {
            Some(out) => (Cow::Owned(out), findings),
            None => (Cow::Borrowed(s), findings),
        }
    }

    /// Redact every string in a message: text, thinking (and its summary), tool inputs, tool
    /// results, summaries, unknown blocks, metadata and unknown keys. Image blocks, ids and the
    /// thinking signature are left as they are.
    pub fn redact_message(&self, m: &mut Message) -> Vec<Finding> {
        let mut findings = Vec::new();
        for block in &mut m.content {
            match block {
                Block::Text { text } | Block::Summary { text, .. } => self.redact_string(text, &mut findings),
                Block::Thinking { text, summary, .. } => {
                    self.redact_string(text, &mut findings);
                    if let Some(summary) = summary {
                        self.redact_string(summary, &mut findings);
                    }
                }
                Block::ToolUse { input, .. } => self.redact_value(input, &mut findings),
                Block::ToolResult { content, .. } => self.redact_string(content, &mut findings),
                Block::Image { .. } => {}
                Block::Unknown(map) => self.redact_map(map, &mut findings),
            }
        }
        self.redact_map(&mut m.metadata, &mut findings);
        self.redact_map(&mut m.extra, &mut findings);
        findings
    }

    /// Redact every string in a JSON value, recursively (object keys included). A string under a
    /// secret-named key (`"password": "…"`, `"Authorization": "Basic …"`) is redacted when it looks
    /// like a secret, even though the key and value are separate strings.
    pub fn redact_json(&self, v: &mut Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.redact_value(v, &mut findings);
        findings
    }

    fn redact_value(&self, v: &mut Value, findings: &mut Vec<Finding>) {
        match v {
            Value::String(s) => self.redact_string(s, findings),
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_value(item, findings)),
            Value::Object(map) => self.redact_map(map, findings),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn redact_map(&self, map: &mut Map<String, Value>, findings: &mut Vec<Finding>) {
        for (key, value) in map.iter_mut() {
            self.redact_value(value, findings);
            if let Value::String(s) = value
                && let Some((kind, from)) = self.secret_field(key, s)
            {
                s.truncate(from);
                s.push_str("[REDACTED:");
                s.push_str(kind);
                s.push(']');
                findings.push(Finding { kind });
            }
        }
        // Keys: a secret as a key is rare, so the map is only rebuilt when a key changes.
        let renames: Vec<(String, String)> =
            map.keys().filter_map(|key| self.redact_into(key, findings).map(|new| (key.clone(), new))).collect();
        if renames.is_empty() {
            return;
        }
        let old = std::mem::take(map);
        for (key, value) in old {
            let mut key = match renames.iter().find(|(from, _)| *from == key) {
                Some((_, to)) => to.clone(),
                None => key,
            };
            if map.contains_key(&key) {
                // Two keys redacted to the same text: keep both values.
                let base = key.clone();
                let mut n = 2;
                while map.contains_key(&key) {
                    key = format!("{base}#{n}");
                    n += 1;
                }
            }
            map.insert(key, value);
        }
    }

    /// A string value under a secret-named object key: the kind and the byte offset from which to
    /// redact it.
    fn secret_field(&self, key: &str, value: &str) -> Option<(&'static str, usize)> {
        if value.len() < MIN_LEN || value.contains("[REDACTED:") {
            return None;
        }
        if key.eq_ignore_ascii_case("authorization") || key.eq_ignore_ascii_case("proxy-authorization") {
            let (scheme, credentials) = value.split_once(' ')?;
            let credentials = credentials.trim_start();
            let from = value.len() - credentials.len();
            if scheme.eq_ignore_ascii_case("basic") {
                return (credentials.len() >= 12).then_some(("basic-auth", from));
            }
            return rules::plausible_secret(credentials).then_some(("bearer-token", from));
        }
        if self.key_name.is_match(key) && !rules::key_is_denied(key) && rules::plausible_secret(value) {
            return Some((rules::assignment_kind(key), 0));
        }
        None
    }

    fn redact_string(&self, s: &mut String, findings: &mut Vec<Finding>) {
        if let Some(out) = self.redact_into(s, findings) {
            *s = out;
        }
    }

    /// The rules (bit set) whose keywords occur in `s`.
    fn candidates(&self, s: &str) -> u32 {
        let mut mask = 0u32;
        for m in self.prefilter.find_overlapping_iter(s) {
            mask |= self.keyword_rules[m.pattern().as_usize()];
        }
        mask
    }

    /// The redacted text, or `None` when nothing was found.
    fn redact_into(&self, s: &str, findings: &mut Vec<Finding>) -> Option<String> {
        if s.len() < MIN_LEN {
            return None;
        }
        let mask = self.candidates(s);
        if mask == 0 {
            return None;
        }
        let mut current: Option<String> = None;
        for (i, rule) in self.rules.iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            let hay = current.as_deref().unwrap_or(s);
            if let Some(out) = apply(rule, hay, findings) {
                current = Some(out);
            }
        }
        current
    }
}

/// Apply one rule to `hay`; the new text if anything was replaced.
fn apply(rule: &Rule, hay: &str, findings: &mut Vec<Finding>) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    for caps in rule.re.captures_iter(hay) {
        let Some(m) = ["s", "s2", "s3", "s4"].iter().find_map(|g| caps.name(g)).or_else(|| caps.get(0)) else {
            continue;
        };
        let secret = m.as_str();
        if secret.starts_with("[REDACTED:") || !(rule.check)(&caps, secret) {
            continue;
        }
        let kind = match rule.kind {
            Kind::Fixed(kind) => kind,
            Kind::Assignment => rules::assignment_kind(caps.name("k").map_or("", |k| k.as_str())),
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(hay.len()));
        buf.push_str(&hay[last..m.start()]);
        buf.push_str("[REDACTED:");
        buf.push_str(kind);
        buf.push(']');
        last = m.end();
        findings.push(Finding { kind });
    }
    let mut out = out?;
    out.push_str(&hay[last..]);
    Some(out)
}
