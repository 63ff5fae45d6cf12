//! Capture, index, search and daemon benchmarks: a plain program (no harness) that generates a
//! deterministic corpus of native agent files under a temporary folder, measures, prints a table and
//! deletes the corpus. Figures and how to reproduce them: `docs/BENCHMARKS.md`.
//!
//! ```text
//! cargo bench -p sessionfs-client --bench capture -- --quick          # a smoke run, seconds (CI only compiles benches)
//! cargo build --release -p sessionfs-cli                              # for the daemon section
//! cargo bench -p sessionfs-client --bench capture                     # the documented full run
//! cargo bench -p sessionfs-client --bench capture -- --only append,search --sessions 2000
//! ```
//!
//! Sections (`--only`, comma-separated): `append` (one line appended to a big Claude Code session, and to a
//! long Gemini CLI log), `capture` (Claude
//! Code corpus: plain JSON parse vs agent parser vs `Capturer::import_all`), `fulltext` (the full-text
//! index alone: the searchable text of the captured messages indexed on one thread, as an import's
//! full-text thread does, beside a plain parse; of each corpus the other sections capture, or of the
//! Claude Code one when it is alone), `search` (`Index::search` latency), `rebuild`
//! (`Store::rebuild_index`), `daemon` (`sfsd` idle RSS and CPU; needs `sfs` and `sfsd` built in release, or
//! `--bin-dir`), `codex` (the capture comparison on a Codex corpus). `--reuse DIR`
//! keeps the Claude Code corpus and its store in DIR and reuses them on the next run, so the later
//! sections can be re-run without generating and capturing 1.7 GiB again; delete `DIR/store` to measure
//! capture again on the same corpus without generating it. `--repeat N` times the plain parse and the
//! capture N times in turn and reports the median run by their ratio, with the spread.
//!
//! The plain parse reads each line into serde_json's default `Value` (see [`plain_value`]).

mod plain_value;

use std::collections::BTreeSet;
use std::error::Error;
use std::fs::{self, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sessionfs_agents::LineSplitter;
use sessionfs_client::index::searchable_text;
use sessionfs_client::{Capturer, Store, StorePaths};
use sessionfs_shared::sfs::Message;

use crate::plain_value::PlainValue;

/// The allocator `sfs` and `sfsd` use, so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type R<T> = Result<T, Box<dyn Error>>;

const MIB: f64 = 1024.0 * 1024.0;
const SECTIONS: [&str; 7] = ["capture", "fulltext", "codex", "append", "search", "rebuild", "daemon"];
/// 2026-01-05T00:00:00Z in milliseconds.
const T0: i64 = 20_458 * 86_400_000;

// ---------------------------------------------------------------------------------------------------------
// Options

struct Opts {
    only: BTreeSet<String>,
    /// Claude Code sessions in the main corpus.
    sessions: usize,
    /// Mean size of one of them.
    session_kib: usize,
    /// Project folders they are spread over.
    projects: usize,
    /// Total size of the Codex corpus.
    codex_mib: usize,
    /// Mean size of one rollout.
    codex_kib: usize,
    /// Size of the session that lines are appended to.
    big_mib: usize,
    appends: usize,
    queries: usize,
    idle_secs: u64,
    dir: PathBuf,
    keep: bool,
    /// Print the search queries (kind TAB query) and exit.
    print_queries: bool,
    /// Keep the corpus in this folder, and reuse the Claude Code corpus and store found there.
    reuse: Option<PathBuf>,
    seed: u64,
    bin_dir: PathBuf,
    /// Captures (each after its own plain parse) per corpus: this machine runs two-core work in a fast or a
    /// slow mode for minutes at a time (BENCHMARKS.md, sixth round), so one pair of timings says little.
    repeat: usize,
}

const USAGE: &str = "usage: capture [--quick] [--only capture,fulltext,codex,append,search,rebuild,daemon] [--sessions N] \
[--session-kib N] [--projects N] [--codex-mib N] [--codex-kib N] [--big-mib N] [--appends N] [--queries N] \
[--idle-secs N] [--dir DIR] [--keep] [--reuse DIR] [--print-queries] [--seed N] [--bin-dir DIR] [--repeat N]   (env SFS_BENCH_QUICK=1 = --quick)";

impl Opts {
    fn full() -> Self {
        Self {
            only: SECTIONS.iter().map(|s| (*s).to_owned()).collect(),
            sessions: 10_000,
            session_kib: 168,
            projects: 200,
            codex_mib: 272,
            codex_kib: 128,
            big_mib: 100,
            appends: 50,
            queries: 200,
            idle_secs: 30,
            dir: std::env::temp_dir(),
            keep: false,
            print_queries: false,
            reuse: None,
            seed: 0x5e55_10f5,
            bin_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release"),
            repeat: 1,
        }
    }

    fn quick(&mut self) {
        self.sessions = 120;
        self.session_kib = 24;
        self.projects = 8;
        self.codex_mib = 4;
        self.codex_kib = 32;
        self.big_mib = 4;
        self.appends = 10;
        self.queries = 40;
        self.idle_secs = 3;
        self.repeat = 2;
    }

    fn parse() -> R<Self> {
        let mut o = Self::full();
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.iter().any(|a| a == "--quick") || std::env::var_os("SFS_BENCH_QUICK").is_some_and(|v| v == "1") {
            o.quick();
        }
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"));
            match a.as_str() {
                "--quick" | "--bench" => {} // cargo bench passes --bench
                "--keep" => o.keep = true,
                "--print-queries" => o.print_queries = true,
                "--only" => {
                    let v = val()?;
                    o.only = v.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                    if let Some(bad) = o.only.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                        return Err(format!("unknown section {bad}\n{USAGE}").into());
                    }
                }
                "--sessions" => o.sessions = val()?.parse()?,
                "--repeat" => o.repeat = val()?.parse::<usize>()?.max(1),
                "--session-kib" => o.session_kib = val()?.parse()?,
                "--projects" => o.projects = val()?.parse::<usize>()?.max(1),
                "--codex-mib" => o.codex_mib = val()?.parse()?,
                "--codex-kib" => o.codex_kib = val()?.parse()?,
                "--big-mib" => o.big_mib = val()?.parse()?,
                "--appends" => o.appends = val()?.parse()?,
                "--queries" => o.queries = val()?.parse()?,
                "--idle-secs" => o.idle_secs = val()?.parse()?,
                "--dir" => o.dir = PathBuf::from(val()?),
                "--reuse" => o.reuse = Some(PathBuf::from(val()?)),
                "--seed" => o.seed = val()?.parse()?,
                "--bin-dir" => o.bin_dir = PathBuf::from(val()?),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
            }
        }
        Ok(o)
    }

    fn wants(&self, section: &str) -> bool {
        self.only.contains(section)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic generation: a xorshift64* generator, a Zipf-distributed vocabulary of pseudo-words.

struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng((seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1);
        for _ in 0..4 {
            r.next();
        }
        r
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi` (`hi > lo`).
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo).max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }

    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    }

    fn base64(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n).map(|_| A[(self.next() % 64) as usize] as char).collect()
    }
}

struct Vocab {
    words: Vec<String>,
    cdf: Vec<f64>,
}

impl Vocab {
    /// `n` distinct pseudo-words, shorter ones more frequent, drawn with probability ∝ 1/rank.
    fn new(n: usize, seed: u64) -> Self {
        const ON: [&str; 28] = [
            "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "cl",
            "dr", "gr", "pl", "st", "tr", "sh", "th",
        ];
        const NU: [&str; 9] = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"];
        const CO: [&str; 10] = ["", "", "", "n", "r", "s", "t", "l", "x", "nd"];
        let mut rng = Rng::new(seed, 0xC0FFEE);
        let mut seen = BTreeSet::new();
        let mut words = Vec::with_capacity(n);
        while words.len() < n {
            let syllables = 1 + (rng.next() % 3) as usize + usize::from(rng.chance(0.2));
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(ON[(rng.next() % ON.len() as u64) as usize]);
                w.push_str(NU[(rng.next() % NU.len() as u64) as usize]);
                w.push_str(CO[(rng.next() % CO.len() as u64) as usize]);
            }
            if w.len() >= 3 && seen.insert(w.clone()) {
                words.push(w);
            }
        }
        words.sort_by_key(String::len); // stable: short words get the frequent ranks
        let mut acc = 0.0;
        let cdf = (0..n)
            .map(|r| {
                acc += 1.0 / (r as f64 + 1.0);
                acc
            })
            .collect();
        Self { words, cdf }
    }

    fn rank(&self, rng: &mut Rng) -> usize {
        let total = self.cdf.last().copied().unwrap_or(1.0);
        let u = rng.unit() * total;
        self.cdf.partition_point(|c| *c < u).min(self.words.len() - 1)
    }

    fn word(&self, rng: &mut Rng) -> &str {
        &self.words[self.rank(rng)]
    }

    /// Sentences of 4–18 words until `words` words.
    fn prose(&self, rng: &mut Rng, words: usize) -> String {
        let mut s = String::with_capacity(words * 8);
        let mut left = words.max(1);
        while left > 0 {
            let n = rng.range(4, 19).min(left);
            left -= n;
            for i in 0..n {
                let w = self.word(rng);
                if i == 0 {
                    let mut c = w.chars();
                    if let Some(f) = c.next() {
                        s.extend(f.to_uppercase());
                        s.push_str(c.as_str());
                    }
                } else {
                    s.push(' ');
                    s.push_str(w);
                }
                if i + 1 < n && rng.chance(0.06) {
                    s.push(',');
                }
            }
            s.push_str(if rng.chance(0.1) { "?" } else { "." });
            if left > 0 {
                s.push_str(if rng.chance(0.15) { "\n\n" } else { " " });
            }
        }
        s
    }

    /// Markdown-ish answer: prose, a bullet list and inline code.
    fn answer(&self, rng: &mut Rng, words: usize) -> String {
        let mut s = self.prose(rng, words);
        if rng.chance(0.4) {
            s.push_str("\n\n");
            for _ in 0..rng.range(2, 6) {
                s.push_str(&format!("- `{}_{}`: {}\n", self.word(rng), self.word(rng), self.prose(rng, 8)));
            }
        }
        s
    }

    /// Source-like lines.
    fn code(&self, rng: &mut Rng, lines: usize) -> String {
        let mut s = String::with_capacity(lines * 48);
        for i in 0..lines {
            let indent = "    ".repeat(rng.range(0, 4));
            let (a, b, c) = (self.word(rng), self.word(rng), self.word(rng));
            let line = match rng.next() % 8 {
                0 => format!("{indent}fn {a}_{b}({c}: &{}) -> Result<{}> {{", cap(b), cap(c)),
                1 => format!("{indent}let {a} = {b}.{c}(&{})?;", self.word(rng)),
                2 => {
                    let n = rng.range(4, 12);
                    format!("{indent}// {}", self.prose(rng, n))
                }
                3 => format!("{indent}if {a}.is_{b}() {{ return Err(\"{c} {}\".into()); }}", self.word(rng)),
                4 => format!("{indent}}}"),
                5 => format!("{indent}use crate::{a}::{{{}, {}}};", cap(b), cap(c)),
                6 => format!("{indent}println!(\"{a} {b}: {{}}\\n\", {c});"),
                _ => format!("{indent}self.{a}.insert({b}, \"{c}\\t{}\");", self.word(rng)),
            };
            s.push_str(&format!("{:>5}\t{line}\n", i + 1));
        }
        s
    }

    /// Shell-like output lines.
    fn shell(&self, rng: &mut Rng, lines: usize) -> String {
        let mut s = String::with_capacity(lines * 40);
        for _ in 0..lines {
            let (a, b) = (self.word(rng), self.word(rng));
            match rng.next() % 4 {
                0 => s.push_str(&format!("src/{a}/{b}.rs:{}: {}\n", rng.range(1, 900), self.prose(rng, 6))),
                1 => s.push_str(&format!("   Compiling {a}-{b} v0.{}.{}\n", rng.range(0, 20), rng.range(0, 9))),
                2 => s.push_str(&format!("test {a}::{b} ... ok\n")),
                _ => {
                    let n = rng.range(3, 12);
                    s.push_str(&format!("{}\n", self.prose(rng, n)));
                }
            }
        }
        s
    }
}

fn cap(w: &str) -> String {
    let mut c = w.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (y, m, d, H, M, S, ms)
fn parts(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60, ms.rem_euclid(1000))
}

fn rfc3339(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

fn put(buf: &mut Vec<u8>, v: &Value) -> R<()> {
    serde_json::to_writer(&mut *buf, v)?;
    buf.push(b'\n');
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Claude Code sessions

struct CcSession<'v> {
    rng: Rng,
    vocab: &'v Vocab,
    sid: String,
    cwd: String,
    branch: String,
    model: &'static str,
    t: i64,
    parent: Option<String>,
    buf: Vec<u8>,
}

impl<'v> CcSession<'v> {
    fn new(vocab: &'v Vocab, rng: Rng, sid: String, cwd: String, t: i64) -> Self {
        let mut s = Self {
            rng,
            vocab,
            sid,
            cwd,
            branch: String::new(),
            model: "claude-sonnet-4-6",
            t,
            parent: None,
            buf: Vec::new(),
        };
        s.branch = if s.rng.chance(0.5) { "main".into() } else { format!("feat/{}", s.vocab.word(&mut s.rng)) };
        if s.rng.chance(0.3) {
            s.model = "claude-opus-4-6";
        }
        s
    }

    fn envelope(&mut self, kind: &str, message: Value, request: Option<&str>, extra: Option<Value>) -> R<()> {
        self.t += self.rng.range(300, 25_000) as i64;
        let uuid = self.rng.uuid();
        let mut rec = json!({
            "parentUuid": self.parent,
            "isSidechain": false,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": "2.1.59",
            "gitBranch": self.branch,
            "type": kind,
            "message": message,
        });
        if let Value::Object(m) = &mut rec {
            if let Some(req) = request {
                m.insert("requestId".into(), req.into());
            }
            if let Some(x) = extra {
                m.insert("toolUseResult".into(), x);
            }
            m.insert("uuid".into(), uuid.clone().into());
            m.insert("timestamp".into(), rfc3339(self.t).into());
        }
        put(&mut self.buf, &rec)?;
        self.parent = Some(uuid);
        Ok(())
    }

    fn usage(&mut self) -> Value {
        json!({
            "input_tokens": self.rng.range(1, 12),
            "cache_creation_input_tokens": self.rng.range(0, 4000),
            "cache_read_input_tokens": self.rng.range(10_000, 90_000),
            "output_tokens": self.rng.range(20, 900),
            "service_tier": "standard"
        })
    }

    fn assistant(&mut self, msg_id: &str, req: &str, block: Value, stop: Option<&str>) -> R<()> {
        let usage = self.usage();
        let message = json!({
            "id": msg_id, "type": "message", "role": "assistant", "model": self.model,
            "content": [block], "stop_reason": stop, "stop_sequence": null, "usage": usage
        });
        self.envelope("assistant", message, Some(req), None)
    }

    /// One user prompt and everything up to the final answer.
    fn turn(&mut self) -> R<()> {
        let v = self.vocab;
        let snapshot = json!({"type": "file-history-snapshot", "messageId": self.rng.uuid(),
            "snapshot": {"messageId": self.rng.uuid(), "trackedFileBackups": {}, "timestamp": rfc3339(self.t)},
            "isSnapshotUpdate": false});
        put(&mut self.buf, &snapshot)?;
        let words = self.rng.range(6, 70);
        let mut prompt = v.prose(&mut self.rng, words);
        if self.rng.chance(0.1) {
            let lines = self.rng.range(3, 15);
            prompt.push_str(&format!("\n\n```\n{}```", v.code(&mut self.rng, lines)));
        }
        self.envelope("user", json!({"role": "user", "content": prompt}), None, None)?;
        let rounds = [0, 1, 1, 2, 2, 3, 3, 4, 5][self.rng.range(0, 9)];
        for _ in 0..rounds {
            let msg_id = format!("msg_01{}", self.rng.base64(22).replace(['+', '/'], "x"));
            let req = format!("req_011C{}", self.rng.base64(20).replace(['+', '/'], "y"));
            if self.rng.chance(0.5) {
                let n = self.rng.range(15, 160);
                let sig_len = self.rng.range(200, 700);
                let block = json!({"type": "thinking", "thinking": v.prose(&mut self.rng, n), "signature": self.rng.base64(sig_len)});
                self.assistant(&msg_id, &req, block, None)?;
            }
            if self.rng.chance(0.7) {
                let n = self.rng.range(4, 40);
                let block = json!({"type": "text", "text": v.prose(&mut self.rng, n)});
                self.assistant(&msg_id, &req, block, None)?;
            }
            let tool_id = format!("toolu_01{}", self.rng.base64(22).replace(['+', '/'], "z"));
            let path = format!("{}/src/{}/{}.rs", self.cwd, v.word(&mut self.rng), v.word(&mut self.rng));
            let (name, input, output, extra) = match self.rng.next() % 5 {
                0 | 1 => {
                    let lines = if self.rng.chance(0.04) { self.rng.range(150, 400) } else { self.rng.range(4, 45) };
                    let code = v.code(&mut self.rng, lines);
                    let extra = json!({"type": "text", "file": {"filePath": path, "content": code,
                        "numLines": lines, "startLine": 1, "totalLines": lines}});
                    ("Read", json!({"file_path": path}), code, Some(extra))
                }
                2 => {
                    let lines = self.rng.range(1, 30);
                    let out = v.shell(&mut self.rng, lines);
                    let cmd = format!("cargo test -p {} {}", v.word(&mut self.rng), v.word(&mut self.rng));
                    let extra = json!({"stdout": out, "stderr": "", "interrupted": false, "isImage": false});
                    ("Bash", json!({"command": cmd, "description": v.prose(&mut self.rng, 5)}), out, Some(extra))
                }
                3 => {
                    let lines = self.rng.range(1, 20);
                    let out = v.shell(&mut self.rng, lines);
                    (
                        "Grep",
                        json!({"pattern": v.word(&mut self.rng), "path": self.cwd, "output_mode": "content"}),
                        out,
                        None,
                    )
                }
                _ => {
                    let old = v.code(&mut self.rng, 2);
                    let new = v.code(&mut self.rng, 3);
                    let out = format!(
                        "The file {path} has been updated. Here's the result of running `cat -n` on a snippet of the edited file:\n{new}"
                    );
                    ("Edit", json!({"file_path": path, "old_string": old, "new_string": new}), out, None)
                }
            };
            let block = json!({"type": "tool_use", "id": tool_id, "name": name, "input": input});
            self.assistant(&msg_id, &req, block, Some("tool_use"))?;
            let error = self.rng.chance(0.05);
            let result = json!({"role": "user", "content": [
                {"tool_use_id": tool_id, "type": "tool_result", "content": output, "is_error": error}]});
            self.envelope("user", result, None, extra)?;
        }
        let msg_id = format!("msg_01{}", self.rng.base64(22).replace(['+', '/'], "x"));
        let req = format!("req_011C{}", self.rng.base64(20).replace(['+', '/'], "y"));
        let n = self.rng.range(10, 160);
        let block = json!({"type": "text", "text": v.answer(&mut self.rng, n)});
        self.assistant(&msg_id, &req, block, Some("end_turn"))?;
        if self.rng.chance(0.05) {
            let sys = json!({"parentUuid": self.parent, "isSidechain": false, "userType": "external", "cwd": self.cwd,
                "sessionId": self.sid, "version": "2.1.59", "type": "system", "subtype": "informational",
                "content": v.prose(&mut self.rng, 8), "isMeta": false, "timestamp": rfc3339(self.t),
                "uuid": self.rng.uuid(), "level": "info"});
            put(&mut self.buf, &sys)?;
        }
        Ok(())
    }

    /// Turns until the buffer holds at least `bytes`.
    fn fill(&mut self, bytes: usize) -> R<()> {
        if self.rng.chance(0.3) {
            let summary =
                json!({"type": "summary", "summary": self.vocab.prose(&mut self.rng, 6), "leafUuid": self.rng.uuid()});
            put(&mut self.buf, &summary)?;
        }
        while self.buf.len() < bytes {
            self.turn()?;
        }
        Ok(())
    }

    /// One more assistant text record (what the append benchmark adds).
    fn one_line(&mut self) -> R<()> {
        let msg_id = format!("msg_01{}", self.rng.base64(22).replace(['+', '/'], "x"));
        let req = format!("req_011C{}", self.rng.base64(20).replace(['+', '/'], "y"));
        let n = self.rng.range(10, 80);
        let block = json!({"type": "text", "text": self.vocab.prose(&mut self.rng, n)});
        self.assistant(&msg_id, &req, block, Some("end_turn"))
    }
}

fn project_cwd(vocab: &Vocab, seed: u64, p: usize) -> String {
    let mut rng = Rng::new(seed, 0xBEEF_0000 + p as u64);
    format!("/home/dev/work/{}-{}-{p}", vocab.word(&mut rng), vocab.word(&mut rng))
}

/// Size of session `i`: uniform in [0.25, 1.75] × the mean.
fn session_size(rng: &mut Rng, mean_kib: usize) -> usize {
    ((0.25 + 1.5 * rng.unit()) * (mean_kib * 1024) as f64) as usize
}

/// Write `n` Claude Code sessions under `home`; returns total bytes.
fn gen_claude(home: &Path, vocab: &Vocab, o: &Opts) -> R<u64> {
    let projects = home.join(".claude/projects");
    let mut total = 0u64;
    for i in 0..o.sessions {
        let p = i % o.projects;
        let cwd = project_cwd(vocab, o.seed, p);
        let dir = projects.join(cwd.replace('/', "-"));
        if i < o.projects {
            fs::create_dir_all(&dir)?;
        }
        let mut rng = Rng::new(o.seed, i as u64 + 1);
        let size = session_size(&mut rng, o.session_kib);
        let sid = rng.uuid();
        let t = T0 + i as i64 * 600_000;
        let mut s = CcSession::new(vocab, rng, sid.clone(), cwd, t);
        s.fill(size)?;
        fs::write(dir.join(format!("{sid}.jsonl")), &s.buf)?;
        total += s.buf.len() as u64;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------------------
// Codex rollouts

fn gen_codex_rollout(vocab: &Vocab, rng: &mut Rng, id: &str, cwd: &str, t0: i64, bytes: usize) -> R<Vec<u8>> {
    let v = vocab;
    let mut buf = Vec::with_capacity(bytes + 64 * 1024);
    let mut t = t0;
    let mut tick = |rng: &mut Rng| {
        t += rng.range(50, 8000) as i64;
        rfc3339(t)
    };
    let git = json!({"commit_hash": rng.hex(40), "branch": "main", "repository_url": format!("git@github.com:dev/{}.git", v.word(rng))});
    put(
        &mut buf,
        &json!({"timestamp": tick(rng), "type": "session_meta", "payload": {
        "id": id, "timestamp": rfc3339(t0), "cwd": cwd, "originator": "codex_cli_rs", "cli_version": "0.116.0",
        "instructions": null, "source": "cli", "model_provider": "openai", "git": git}}),
    )?;
    let dev = format!("<permissions instructions>\n{}\n</permissions instructions>", v.prose(rng, 120));
    put(
        &mut buf,
        &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "message", "role": "developer",
        "content": [{"type": "input_text", "text": dev}]}}),
    )?;
    let env = format!(
        "<environment_context>\n  <cwd>{cwd}</cwd>\n  <approval_policy>on-request</approval_policy>\n  <sandbox_mode>workspace-write</sandbox_mode>\n  <network_access>restricted</network_access>\n  <shell>bash</shell>\n</environment_context>"
    );
    put(
        &mut buf,
        &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": env}]}}),
    )?;
    let (mut input, mut output) = (0u64, 0u64);
    while buf.len() < bytes {
        let turn = rng.uuid();
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "turn_context", "payload": {"turn_id": turn, "cwd": cwd,
            "approval_policy": "on-request", "sandbox_policy": {"type": "workspace-write", "network_access": false,
            "exclude_tmpdir_env_var": false, "exclude_slash_tmp": false}, "model": "gpt-5.1-codex", "effort": "medium",
            "summary": "auto"}}),
        )?;
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "task_started",
            "turn_id": turn, "model_context_window": 272_000}}),
        )?;
        let words = rng.range(6, 70);
        let prompt = v.prose(rng, words);
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "message",
            "role": "user", "content": [{"type": "input_text", "text": prompt}]}}),
        )?;
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "user_message",
            "message": prompt, "images": []}}),
        )?;
        let rounds = [0, 1, 1, 2, 2, 3, 3, 4, 5][rng.range(0, 9)];
        for _ in 0..rounds {
            let words = rng.range(8, 60);
            let summary = format!("**{} {}**\n\n{}", cap(v.word(rng)), v.word(rng), v.prose(rng, words));
            let enc_len = rng.range(400, 1600);
            put(
                &mut buf,
                &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary}], "content": null,
                "encrypted_content": format!("gAAAAB{}", rng.base64(enc_len))}}),
            )?;
            put(
                &mut buf,
                &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "agent_reasoning",
                "text": summary}}),
            )?;
            let call = format!("call_{}", rng.base64(24).replace(['+', '/'], "q"));
            let (cmd, out) = if rng.chance(0.5) {
                let lines = if rng.chance(0.04) { rng.range(150, 400) } else { rng.range(4, 45) };
                (format!("sed -n '1,200p' src/{}/{}.rs", v.word(rng), v.word(rng)), v.code(rng, lines))
            } else {
                let lines = rng.range(1, 30);
                (format!("rg -n {} src", v.word(rng)), v.shell(rng, lines))
            };
            let args = serde_json::to_string(
                &json!({"command": ["bash", "-lc", cmd], "workdir": cwd, "timeout_ms": 120_000}),
            )?;
            put(
                &mut buf,
                &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "function_call",
                "name": "shell", "arguments": args, "call_id": call}}),
            )?;
            let code = i64::from(rng.chance(0.05));
            let output_json = serde_json::to_string(&json!({"output": out, "metadata": {"exit_code": code,
                "duration_seconds": rng.range(1, 3000) as f64 / 1000.0}}))?;
            put(
                &mut buf,
                &json!({"timestamp": tick(rng), "type": "response_item", "payload": {
                "type": "function_call_output", "call_id": call, "output": output_json}}),
            )?;
            let (li, lo) = (rng.range(3000, 40_000) as u64, rng.range(50, 2000) as u64);
            input += li;
            output += lo;
            put(
                &mut buf,
                &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "token_count",
                "info": {"total_token_usage": {"input_tokens": input, "cached_input_tokens": input / 2,
                "output_tokens": output, "reasoning_output_tokens": output / 3, "total_tokens": input + output},
                "last_token_usage": {"input_tokens": li, "cached_input_tokens": li / 2, "output_tokens": lo,
                "reasoning_output_tokens": lo / 3, "total_tokens": li + lo}, "model_context_window": 272_000},
                "rate_limits": {"primary": {"used_percent": rng.range(0, 100), "window_minutes": 300,
                "resets_in_seconds": rng.range(0, 18_000)}, "secondary": {"used_percent": rng.range(0, 100),
                "window_minutes": 10_080, "resets_in_seconds": rng.range(0, 600_000)}}}}),
            )?;
        }
        let words = rng.range(10, 160);
        let answer = v.answer(rng, words);
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "agent_message",
            "message": answer}}),
        )?;
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "response_item", "payload": {"type": "message",
            "role": "assistant", "content": [{"type": "output_text", "text": answer}]}}),
        )?;
        put(
            &mut buf,
            &json!({"timestamp": tick(rng), "type": "event_msg", "payload": {"type": "task_complete",
            "turn_id": turn, "last_agent_message": answer}}),
        )?;
    }
    Ok(buf)
}

/// Write Codex rollouts under `home` until `codex_mib` MiB; returns (files, bytes).
fn gen_codex(home: &Path, vocab: &Vocab, o: &Opts) -> R<(usize, u64)> {
    let root = home.join(".codex/sessions");
    let target = (o.codex_mib * 1024 * 1024) as u64;
    let (mut files, mut total) = (0usize, 0u64);
    while total < target {
        let mut rng = Rng::new(o.seed, 0xC0DE_0000_0000 + files as u64);
        let size = session_size(&mut rng, o.codex_kib);
        let id = rng.uuid();
        let t0 = T0 + files as i64 * 1_200_000;
        let (y, mo, d, h, mi, s, _) = parts(t0);
        let dir = root.join(format!("{y:04}/{mo:02}/{d:02}"));
        fs::create_dir_all(&dir)?;
        let cwd = project_cwd(vocab, o.seed, files % o.projects);
        let buf = gen_codex_rollout(vocab, &mut rng, &id, &cwd, t0, size)?;
        fs::write(dir.join(format!("rollout-{y:04}-{mo:02}-{d:02}T{h:02}-{mi:02}-{s:02}-{id}.jsonl")), &buf)?;
        files += 1;
        total += buf.len() as u64;
    }
    Ok((files, total))
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50, p95 and max of sorted latencies, in milliseconds.
fn p50_p95_max(sorted: &[Duration]) -> [f64; 3] {
    [ms(pct(sorted, 0.5)), ms(pct(sorted, 0.95)), ms(sorted.last().copied().unwrap_or_default())]
}

fn mibs(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MIB / d.as_secs_f64()
}

struct Table(Vec<(String, String, String)>);

impl Table {
    fn row(&mut self, what: impl Into<String>, value: impl Into<String>, target: impl Into<String>) {
        let (w, v, t) = (what.into(), value.into(), target.into());
        eprintln!("  {w}: {v} {t}");
        self.0.push((w, v, t));
    }
}

/// Plain `serde_json` parse (into its default `Value`) and the agent's own parser over the files capture will read.
fn parse_baselines(cap: &Capturer) -> R<(u64, u64, Duration, Duration)> {
    let files = cap.discover();
    let (mut bytes, mut lines) = (0u64, 0u64);
    let started = Instant::now();
    for f in &files {
        let data = fs::read(&f.path)?;
        bytes += data.len() as u64;
        for (_, line) in LineSplitter::new(&data, true, 1) {
            if !line.trim_ascii().is_empty() {
                lines += 1;
                black_box(serde_json::from_slice::<PlainValue>(line)?);
            }
        }
    }
    let plain = started.elapsed();
    let started = Instant::now();
    for f in &files {
        let data = fs::read(&f.path)?;
        let agent = sessionfs_agents::for_kind(f.agent).ok_or("no agent")?;
        let mut parser = agent.parser(f);
        black_box(parser.feed(&data, true));
    }
    Ok((bytes, lines, plain, started.elapsed()))
}

/// The full-text index on its own: the searchable text of every message in `cap`'s store, indexed into a
/// scratch store at `scratch` on one thread, the way an import's full-text thread does, beside a plain
/// parse of the corpus. The thread that sets an import's pace, measured alone.
fn measure_fulltext_alone(label: &str, cap: &Capturer, scratch: &Path, table: &mut Table) -> R<()> {
    let (_, _, plain, _) = parse_baselines(cap)?;
    let mut sessions: Vec<PathBuf> =
        fs::read_dir(cap.store().paths().sessions())?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    sessions.sort();
    let (mut messages, mut bytes) = (0usize, 0usize);
    let mut writes = Vec::with_capacity(sessions.len());
    for dir in sessions {
        let Ok(data) = fs::read(dir.join("messages.jsonl")) else {
            continue; // not a session's folder
        };
        let mut texts = Vec::new();
        for (_, line) in LineSplitter::new(&data, true, 1) {
            let text = searchable_text(&Message::from_json_line(line)?);
            if !text.is_empty() {
                bytes += text.len();
                texts.push(text);
            }
        }
        messages += texts.len();
        writes.push(texts);
    }
    let _ = fs::remove_dir_all(scratch);
    let mut store = Store::open(StorePaths::new(scratch))?;
    let started = Instant::now();
    store.index_mut().bench_fulltext_alone(writes)?;
    let took = started.elapsed();
    drop(store);
    let _ = fs::remove_dir_all(scratch);
    table.row(
        format!(
            "{label}: full-text index alone, one thread ({messages} messages, {:.0} MiB of searchable text)",
            bytes as f64 / MIB
        ),
        format!(
            "{:.1} s: {:.2}x the plain parse ({:.1} s)",
            took.as_secs_f64(),
            took.as_secs_f64() / plain.as_secs_f64(),
            plain.as_secs_f64()
        ),
        "",
    );
    Ok(())
}

/// Whether `path` (or the folder it will be made in) is on tmpfs: the mount point in `/proc/self/mounts` that
/// is its longest prefix has type `tmpfs`. False when that cannot be told.
fn is_tmpfs(path: &Path) -> bool {
    let Some(existing) = path.ancestors().find_map(|p| fs::canonicalize(p).ok()) else {
        return false;
    };
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (_, at, kind) = (fields.next()?, fields.next()?, fields.next()?);
            existing.starts_with(at).then_some((at.len(), kind == "tmpfs"))
        })
        .max_by_key(|(len, _)| *len)
        .is_some_and(|(_, tmpfs)| tmpfs)
}

/// Baselines, then a timed `import_all` into a fresh store, `repeat` times in turn. Returns the capturer
/// holding the last store; the others are deleted at once on tmpfs, else added to `leftovers`, for the end
/// of the benchmark.
fn measure_capture(
    label: &str,
    home: &Path,
    store: &Path,
    repeat: usize,
    table: &mut Table,
    leftovers: &mut Vec<PathBuf>,
) -> R<Capturer> {
    let mut runs = Vec::with_capacity(repeat);
    let mut last = None;
    let in_memory = is_tmpfs(store);
    for i in 0..repeat {
        // Every run but the last captures into a store of its own. On a disk it is deleted only at the end of
        // the benchmark: on ext4, creating files soon after deleting many is slower. On tmpfs it is deleted
        // at once: stores kept there are memory, and six 10k stores doubled the next runs' system time.
        let dir = if i + 1 == repeat { store.to_owned() } else { store.with_extension(format!("run{i}")) };
        let _ = fs::remove_dir_all(&dir);
        let mut cap = Capturer::new(Store::open(StorePaths::new(&dir))?, home);
        let (bytes, lines, plain, parser) = parse_baselines(&cap)?;
        let started = Instant::now();
        let ticks = proc_cpu_ticks("self")?;
        let reports = cap.import_all(&mut ())?;
        let capture = started.elapsed();
        // CPU time over wall time: how much of the two cores the import's threads kept busy.
        let (user, system) = proc_cpu_ticks("self")?;
        let hz = clk_tck() as f64;
        let cpu = ((user - ticks.0) as f64 / hz, (system - ticks.1) as f64 / hz);
        let messages = cap.store().index().message_rows()?;
        let run = CaptureRun { bytes, lines, sessions: reports.len(), messages, plain, parser, capture, cpu };
        if repeat > 1 {
            eprintln!("  {label}: run {}/{repeat}: {}", i + 1, run.summary());
        }
        runs.push(run);
        if i + 1 == repeat {
            last = Some(cap);
        } else if in_memory {
            drop(cap);
            let _ = fs::remove_dir_all(&dir);
        } else {
            leftovers.push(dir);
        }
    }
    report_capture(label, &runs, table);
    last.ok_or_else(|| "no capture ran".into())
}

/// One plain parse and one capture of a corpus, timed one after the other.
struct CaptureRun {
    bytes: u64,
    lines: u64,
    sessions: usize,
    messages: u64,
    plain: Duration,
    parser: Duration,
    capture: Duration,
    /// User and system CPU seconds of the capture.
    cpu: (f64, f64),
}

impl CaptureRun {
    /// Capture time over plain parse time.
    fn ratio(&self) -> f64 {
        self.capture.as_secs_f64() / self.plain.as_secs_f64()
    }

    /// The capture's speed, time and CPU time.
    fn capture_figures(&self) -> String {
        format!(
            "{:.1} MiB/s ({:.1} s; {:.1} s CPU, {:.1} s of it system)",
            mibs(self.bytes, self.capture),
            self.capture.as_secs_f64(),
            self.cpu.0 + self.cpu.1,
            self.cpu.1
        )
    }

    fn summary(&self) -> String {
        format!(
            "capture {}, plain parse {:.1} MiB/s: {:.2}x",
            self.capture_figures(),
            mibs(self.bytes, self.plain),
            self.ratio()
        )
    }
}

/// The table rows of one corpus's capture runs: the median run by ratio, and the spread when there are more.
fn report_capture(label: &str, runs: &[CaptureRun], table: &mut Table) {
    let mut by_ratio: Vec<&CaptureRun> = runs.iter().collect();
    by_ratio.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let Some(median) = by_ratio.get(by_ratio.len() / 2) else {
        return;
    };
    let spread = |f: &dyn Fn(&CaptureRun) -> f64, unit: &str, prec: usize| {
        if runs.len() < 2 {
            return String::new();
        }
        let (lo, hi) = runs.iter().map(f).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        format!("; {} runs: {lo:.prec$}–{hi:.prec$}{unit}", runs.len())
    };
    let m = median;
    table.row(
        format!(
            "{label}: capture `import_all` ({} sessions, {:.0} MiB, {} records, {} indexed msgs)",
            m.sessions,
            m.bytes as f64 / MIB,
            m.lines,
            m.messages
        ),
        format!("{}{}", m.capture_figures(), spread(&|r| mibs(r.bytes, r.capture), " MiB/s", 1)),
        "",
    );
    table.row(
        format!("{label}: plain `serde_json::from_slice` per line (default `Value`)"),
        format!(
            "{:.1} MiB/s ({:.1} s){}",
            mibs(m.bytes, m.plain),
            m.plain.as_secs_f64(),
            spread(&|r| mibs(r.bytes, r.plain), " MiB/s", 1)
        ),
        "",
    );
    table.row(format!("{label}: agent parser `feed` only"), format!("{:.1} MiB/s", mibs(m.bytes, m.parser)), "");
    // With an even number of runs, the higher of the two middle ones.
    let which = if runs.len() > 1 { " (median run)" } else { "" };
    table.row(
        format!("{label}: capture time / plain parse time{which}"),
        format!("{:.2}x{}", m.ratio(), spread(&CaptureRun::ratio, "x", 2)),
        "target ≤ 2x",
    );
}

fn measure_append(root: &Path, vocab: &Vocab, o: &Opts, table: &mut Table) -> R<()> {
    let home = root.join("home-big");
    let cwd = project_cwd(vocab, o.seed, 0);
    let dir = home.join(".claude/projects").join(cwd.replace('/', "-"));
    fs::create_dir_all(&dir)?;
    let mut rng = Rng::new(o.seed, 0xB16);
    let sid = rng.uuid();
    let path = dir.join(format!("{sid}.jsonl"));
    let mut s = CcSession::new(vocab, rng, sid, cwd, T0);
    s.fill(o.big_mib * 1024 * 1024)?;
    fs::write(&path, &s.buf)?;
    let size = s.buf.len() as u64;
    s.buf.clear();
    let mut cap = Capturer::new(Store::open(StorePaths::new(root.join("store-big")))?, &home);
    let started = Instant::now();
    let first = cap.capture_path(&path)?.ok_or("big session not captured")?;
    let took = started.elapsed();
    table.row(
        format!("first capture of one {:.0} MiB session ({} msgs)", size as f64 / MIB, first.new_messages),
        format!("{:.2} s ({:.1} MiB/s)", took.as_secs_f64(), mibs(size, took)),
        "",
    );
    let times = time_appends(&mut cap, &path, o.appends, || {
        s.one_line()?;
        Ok(std::mem::take(&mut s.buf))
    })?;
    report_appends(table, format!("re-capture after appending 1 line ({} runs)", times.len()), &times);
    measure_append_gemini(root, vocab, o, table)
}

/// Append `n` lines to `path`, each from `line`, capturing after each one: the capture times, sorted. Each
/// capture must have appended exactly one message, without reading the file again.
fn time_appends(cap: &mut Capturer, path: &Path, n: usize, mut line: impl FnMut() -> R<Vec<u8>>) -> R<Vec<Duration>> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        OpenOptions::new().append(true).open(path)?.write_all(&line()?)?;
        let started = Instant::now();
        let r = cap.capture_path(path)?;
        times.push(started.elapsed());
        if r.as_ref().map(|r| (r.new_messages, r.recaptured)) != Some((1, false)) {
            return Err(format!("append to {} was not captured incrementally: {r:?}", path.display()).into());
        }
    }
    times.sort();
    Ok(times)
}

/// A table row of sorted append capture times.
fn report_appends(table: &mut Table, what: String, times: &[Duration]) {
    let [p50, p95, max] = p50_p95_max(times);
    table.row(what, format!("p50 {p50:.2} ms, p95 {p95:.2} ms, max {max:.2} ms"), "target < 5 ms");
}

/// The same for a Gemini CLI log (`.jsonl`: a header, then one record per message), whose appends were once
/// read by parsing the whole log again.
fn measure_append_gemini(root: &Path, vocab: &Vocab, o: &Opts, table: &mut Table) -> R<()> {
    // Messages in the log: Gemini logs are small next to Claude Code's, long ones run to thousands.
    let messages = (o.big_mib * 160).max(1_000);
    let home = root.join("home-gemini");
    let chats = home.join(".gemini/tmp/bench/chats");
    fs::create_dir_all(&chats)?;
    let path = chats.join("session-2026-03-20T10-00-49719f42.jsonl");
    let mut rng = Rng::new(o.seed, 0x6E1);
    let mut log = json!({"sessionId": "49719f42-8f92-46fc-ae27-f861b575b932", "projectHash": "bench",
        "startTime": "2026-03-20T10:00:00.000Z", "lastUpdated": "2026-03-20T10:00:00.000Z", "kind": "main"})
    .to_string();
    log.push('\n');
    let record = |rng: &mut Rng, i: usize| -> String {
        let text = vocab.prose(rng, 12);
        let (id, kind, content) = if i.is_multiple_of(2) {
            (format!("u{i}"), "user", json!([{ "text": text }]))
        } else {
            (format!("g{i}"), "gemini", json!(text))
        };
        json!({"id": id, "timestamp": "2026-03-20T10:00:01.000Z", "type": kind, "content": content}).to_string() + "\n"
    };
    for i in 0..messages {
        log.push_str(&record(&mut rng, i));
    }
    fs::write(&path, &log)?;
    let mut cap = Capturer::new(Store::open(StorePaths::new(root.join("store-gemini")))?, &home);
    let first = cap.capture_path(&path)?.ok_or("Gemini session not captured")?;
    let mut next = messages;
    let times = time_appends(&mut cap, &path, o.appends, || {
        next += 1;
        Ok(record(&mut rng, next - 1).into_bytes())
    })?;
    report_appends(
        table,
        format!(
            "Gemini CLI: re-capture after appending 1 line to a {}-message log ({} runs)",
            first.new_messages,
            times.len()
        ),
        &times,
    );
    Ok(())
}

fn queries(vocab: &Vocab, seed: u64, n: usize) -> Vec<(&'static str, String)> {
    let mut rng = Rng::new(seed, 0x5EA_4C4);
    let w = vocab.words.len();
    let share = |k: usize| (n * k).div_ceil(200).max(1);
    let mut q = Vec::new();
    for _ in 0..share(60) {
        q.push(("rare word", vocab.words[rng.range(w / 2, w)].clone()));
    }
    for _ in 0..share(40) {
        q.push(("mid word", vocab.words[rng.range(50, 500.min(w))].clone()));
    }
    for _ in 0..share(30) {
        q.push(("common word", vocab.words[rng.range(0, 20)].clone()));
    }
    for i in 0..share(40) {
        let (a, b) = match i % 3 {
            0 => (rng.range(0, 20), rng.range(w / 2, w)),
            1 => (rng.range(50, 500.min(w)), rng.range(50, 500.min(w))),
            _ => (rng.range(0, 50), rng.range(0, 50)),
        };
        q.push(("two words", format!("{} {}", vocab.words[a], vocab.words[b])));
    }
    for i in 0..share(30) {
        let word = &vocab.words[rng.range(100, 2000.min(w))];
        let len = if i % 3 == 0 { 2 } else { 3 };
        q.push(("prefix", format!("{}*", &word[..len.min(word.len())])));
    }
    q
}

fn measure_search(label: &str, store: &Store, vocab: &Vocab, o: &Opts, table: &mut Table) -> R<()> {
    let index = store.index();
    let total = index.message_rows()?;
    let qs = queries(vocab, o.seed, o.queries);
    for (_, q) in &qs {
        black_box(index.search(q, None, 20)?); // warm the page cache
    }
    let mut all = Vec::new();
    let mut rows = Vec::new();
    for cat in ["rare word", "mid word", "common word", "two words", "prefix"] {
        let mut times = Vec::new();
        let mut matches = Vec::new();
        for (_, q) in qs.iter().filter(|(c, _)| *c == cat) {
            let started = Instant::now();
            let hits = index.search(q, None, 20)?;
            times.push(started.elapsed());
            black_box(hits);
            let fts = sessionfs_client::index::fts_query(q).unwrap_or_default();
            let n: i64 = index.conn().query_row(
                "SELECT count(*) FROM fulltext.messages_fts WHERE messages_fts MATCH ?1",
                [fts],
                |r| r.get(0),
            )?;
            matches.push(n);
        }
        matches.sort_unstable();
        times.sort();
        let [p50, p95, max] = p50_p95_max(&times);
        rows.push(format!(
            "{cat} ×{}: median {} matches, p50 {p50:.1} / p95 {p95:.1} / max {max:.1} ms",
            times.len(),
            matches.get(matches.len() / 2).copied().unwrap_or(0),
        ));
        all.extend(times);
    }
    all.sort();
    let [p50, p95, max] = p50_p95_max(&all);
    table.row(
        format!("{label}: `Index::search(q, None, 20)`, {} queries over {total} msgs", all.len()),
        format!("p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms"),
        "target p95 < 20 ms",
    );
    for r in rows {
        table.row(format!("{label}:   by kind"), r, "");
    }
    Ok(())
}

fn proc_stat_ticks(pid: &str) -> R<u64> {
    let (user, system) = proc_cpu_ticks(pid)?;
    Ok(user + system)
}

/// User and system CPU time of a process, in clock ticks.
fn proc_cpu_ticks(pid: &str) -> R<(u64, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad /proc stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    // After "pid (comm)": state is field 3, utime 14, stime 15 → indices 11 and 12 here.
    Ok((f.get(11).ok_or("no utime")?.parse()?, f.get(12).ok_or("no stime")?.parse()?))
}

fn proc_status_kib(pid: &str, key: &str) -> R<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(key)).ok_or("no such status line")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad status line")?.parse()?)
}

fn clk_tck() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

fn measure_daemon(home: &Path, store: &Path, o: &Opts, sessions: usize, table: &mut Table) -> R<()> {
    let sfs = o.bin_dir.join("sfs");
    if !sfs.is_file() || !o.bin_dir.join("sfsd").is_file() {
        table.row(
            "daemon idle",
            "skipped",
            format!("no sfs/sfsd in {}; cargo build --release -p sessionfs-cli", o.bin_dir.display()),
        );
        return Ok(());
    }
    let paths = StorePaths::new(store);
    let sfs_cmd = |arg: &str| {
        Command::new(&sfs)
            .args(["daemon", arg])
            .env("SFS_HOME", store)
            .env("HOME", home)
            .env("SFS_LOG", "info")
            .stdout(Stdio::null())
            .status()
    };
    let started = Instant::now();
    if !sfs_cmd("start")?.success() {
        return Err("sfs daemon start failed".into());
    }
    let pid = match sessionfs_client::daemon::probe(&paths.daemon_lock())? {
        sessionfs_client::daemon::LockState::Held { pid } => pid,
        other => return Err(format!("sfsd did not take its lock: {other:?}").into()),
    };
    let result = (|| -> R<()> {
        while !paths.daemon_status().is_file() {
            if started.elapsed() > Duration::from_secs(1800) {
                return Err("sfsd did not finish its startup scan in 30 min".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let scan = started.elapsed();
        std::thread::sleep(Duration::from_secs(if o.idle_secs >= 30 { 5 } else { 1 }));
        let hz = clk_tck();
        let t0 = proc_stat_ticks(&pid)?;
        let w0 = Instant::now();
        let mut rss = Vec::new();
        for _ in 0..o.idle_secs {
            std::thread::sleep(Duration::from_secs(1));
            rss.push(proc_status_kib(&pid, "VmRSS:")?);
        }
        let cpu_s = (proc_stat_ticks(&pid)? - t0) as f64 / hz as f64;
        let wall = w0.elapsed().as_secs_f64();
        let hwm = proc_status_kib(&pid, "VmHWM:")?;
        let last = rss.last().copied().unwrap_or(0);
        let max = rss.iter().copied().max().unwrap_or(0);
        table.row(
            format!("sfsd start → startup scan done ({sessions} unchanged sessions)"),
            format!("{:.2} s", scan.as_secs_f64()),
            "",
        );
        table.row(
            format!("sfsd idle RSS over {:.0} s (VmRSS)", wall),
            format!(
                "{:.1} MiB (max {:.1}; peak during start VmHWM {:.1})",
                last as f64 / 1024.0,
                max as f64 / 1024.0,
                hwm as f64 / 1024.0
            ),
            "target < 30 MB",
        );
        table.row(
            format!("sfsd idle CPU over {:.0} s (utime+stime)", wall),
            format!("{:.3} % ({:.2} s CPU)", cpu_s / wall * 100.0, cpu_s),
            "target ~0 %",
        );
        Ok(())
    })();
    let stopped = sfs_cmd("stop");
    result?;
    if !stopped?.success() {
        return Err("sfs daemon stop failed".into());
    }
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs, {model}")
}

fn main() -> R<()> {
    let o = Opts::parse()?;
    if o.print_queries {
        for (kind, q) in queries(&Vocab::new(5000, o.seed), o.seed, o.queries) {
            println!("{kind}\t{q}");
        }
        return Ok(());
    }
    let (tmp, root) = match &o.reuse {
        Some(dir) => {
            fs::create_dir_all(dir)?;
            (None, dir.clone())
        }
        None => {
            fs::create_dir_all(&o.dir)?;
            let t = tempfile::Builder::new().prefix("sfs-bench-").tempdir_in(&o.dir)?;
            let root = t.path().to_owned();
            (Some(t), root)
        }
    };
    let keep = o.keep || o.reuse.is_some();
    eprintln!("sessionfs capture bench on {}; corpus under {}", machine(), root.display());
    let vocab = Vocab::new(5000, o.seed);
    let mut table = Table(Vec::new());
    // The stores of repeated captures but the last, deleted at the end.
    let mut leftovers: Vec<PathBuf> = Vec::new();

    // Nothing is deleted until the end: on ext4, creating files soon after deleting many is slower.
    if o.wants("append") {
        measure_append(&root, &vocab, &o, &mut table)?;
    }
    // `fulltext` measures the corpora the other sections capture; on its own, the Claude Code one.
    let cc_needed = ["capture", "search", "rebuild", "daemon"].iter().any(|s| o.wants(s))
        || (o.wants("fulltext") && !o.wants("codex"));
    if cc_needed {
        let home = root.join("home");
        let store_dir = root.join("store");
        let reusable = o.reuse.is_some() && home.is_dir() && store_dir.join("index.db").is_file();
        let mut cap = if reusable {
            eprintln!("reusing the corpus and store in {}", root.display());
            Capturer::new(Store::open(StorePaths::new(&store_dir))?, &home)
        } else {
            if o.reuse.is_some() && home.is_dir() && !store_dir.exists() {
                // The store was deleted to measure capture again: the corpus is the one generated before.
                eprintln!("capturing the kept corpus in {} again", home.display());
            } else {
                let started = Instant::now();
                let bytes = gen_claude(&home, &vocab, &o)?;
                eprintln!(
                    "generated {} Claude Code sessions, {:.0} MiB in {:.1} s",
                    o.sessions,
                    bytes as f64 / MIB,
                    started.elapsed().as_secs_f64()
                );
            }
            measure_capture("Claude Code", &home, &store_dir, o.repeat, &mut table, &mut leftovers)?
        };
        if o.wants("fulltext") {
            measure_fulltext_alone("Claude Code", &cap, &root.join("store-fulltext"), &mut table)?;
        }
        if o.wants("search") {
            let label = if reusable { "search (reused index)" } else { "search (index built by capture)" };
            measure_search(label, cap.store(), &vocab, &o, &mut table)?;
        }
        if o.wants("rebuild") {
            let started = Instant::now();
            let report = cap.store_mut().rebuild_index()?;
            let took = started.elapsed();
            table.row(
                format!("`Store::rebuild_index` ({} sessions, {} messages read)", report.sessions, report.messages),
                format!("{:.1} s", took.as_secs_f64()),
                "",
            );
            if o.wants("search") {
                measure_search("search (after rebuild)", cap.store(), &vocab, &o, &mut table)?;
            }
        }
        let sessions: i64 = cap.store().index().conn().query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))?;
        drop(cap);
        if o.wants("daemon") {
            measure_daemon(&home, &store_dir, &o, sessions as usize, &mut table)?;
        }
    }
    if o.wants("codex") {
        let home = root.join("home-codex");
        let store_dir = root.join("store-codex");
        let _ = fs::remove_dir_all(&home);
        let _ = fs::remove_dir_all(&store_dir);
        let started = Instant::now();
        let (files, bytes) = gen_codex(&home, &vocab, &o)?;
        eprintln!(
            "generated {files} Codex rollouts, {:.0} MiB in {:.1} s",
            bytes as f64 / MIB,
            started.elapsed().as_secs_f64()
        );
        let cap = measure_capture("Codex", &home, &store_dir, o.repeat, &mut table, &mut leftovers)?;
        if o.wants("fulltext") {
            measure_fulltext_alone("Codex", &cap, &root.join("store-fulltext"), &mut table)?;
        }
    }
    for scratch in
        ["home-big", "store-big", "home-gemini", "store-gemini", "home-codex", "store-codex", "store-fulltext"]
    {
        let _ = fs::remove_dir_all(root.join(scratch)); // the Claude Code corpus is what --keep/--reuse keep
    }
    for dir in leftovers {
        let _ = fs::remove_dir_all(dir);
    }

    println!("\nSessionFS benchmarks — {}\n", machine());
    println!("| measurement | result | target |");
    println!("|---|---|---|");
    for (w, v, t) in &table.0 {
        println!("| {w} | {v} | {t} |");
    }
    if keep {
        let kept = tmp.map(tempfile::TempDir::keep).unwrap_or(root);
        println!("\ncorpus kept in {}", kept.display());
    } else if let Some(t) = tmp {
        eprintln!("removing the corpus…");
        t.close()?;
    }
    Ok(())
}
