//! `sfs doctor`: the health of the store, the index and each agent's capture.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use sessionfs_client::ListFilter;
use sessionfs_client::daemon::{DaemonStatus, LockState};
use sessionfs_shared::sfs::files;

use crate::context;

/// How many indexed messages `doctor` reads back from their sessions' files.
const SPAN_SAMPLE: usize = 20;

/// Check the store, the index and each agent's capture
#[derive(Debug, clap::Args)]
pub struct Doctor {
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Rebuild the index from the .sfs directories first
    #[arg(long)]
    rebuild_index: bool,
}

#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
enum Level {
    Ok,
    Warn,
    Error,
}

#[derive(Debug, Serialize)]
struct Check {
    check: String,
    level: Level,
    detail: String,
}

fn check(checks: &mut Vec<Check>, name: impl Into<String>, level: Level, detail: impl Into<String>) {
    checks.push(Check { check: name.into(), level, detail: detail.into() });
}

impl Doctor {
    pub fn run(self) -> Result<ExitCode> {
        let mut checks = Vec::new();
        let paths = context::store_paths()?;
        let opened = if self.rebuild_index {
            sessionfs_client::Store::rebuild(paths.clone()).map(|(store, report, aside)| (store, Some(report), aside))
        } else {
            sessionfs_client::Store::open(paths.clone()).map(|store| (store, None, None))
        };
        let (store, rebuilt) = match opened {
            Ok((store, rebuilt, aside)) => {
                if let Some(aside) = aside {
                    let detail = format!("index.db was damaged: moved to {}, and a new one built", aside.display());
                    check(&mut checks, "index repair", Level::Warn, detail);
                }
                (store, rebuilt)
            }
            Err(e) => {
                let hint = e.hint().map(|h| format!("; {h}")).unwrap_or_default();
                check(&mut checks, "index", Level::Error, format!("cannot open the store: {e}{hint}"));
                return finish(checks, self.json);
            }
        };
        if let Some(r) = rebuilt {
            let level = if r.failed.is_empty() { Level::Ok } else { Level::Warn };
            let failed: Vec<String> = r.failed.iter().map(|(p, e)| format!("{p}: {e}")).collect();
            check(
                &mut checks,
                "index rebuild",
                level,
                format!(
                    "{} sessions, {} messages re-indexed; {}",
                    r.sessions,
                    r.messages,
                    if failed.is_empty() { "no failures".into() } else { failed.join("; ") }
                ),
            );
        }
        // Capture, the daemon and every change write here; a store that opens for reading may still not be
        // writable (a copied or remounted folder, another owner).
        let probe = paths.root().join(format!(".doctor-{}", std::process::id()));
        match std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe)) {
            Ok(()) => check(&mut checks, "store", Level::Ok, paths.root().display().to_string()),
            Err(e) => check(
                &mut checks,
                "store",
                Level::Error,
                format!(
                    "{} is not writable ({e}): nothing can be captured or changed. Check its owner and permissions \
                     with `ls -ld`, or point SFS_HOME at a folder you can write",
                    paths.root().display()
                ),
            ),
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(m) = std::fs::metadata(paths.root()) {
                let mode = m.permissions().mode() & 0o777;
                let level = if mode & 0o077 == 0 { Level::Ok } else { Level::Warn };
                check(
                    &mut checks,
                    "store permissions",
                    level,
                    format!("{mode:o} (sessions are private: 700 expected)"),
                );
            }
        }
        // A store folder that can be written may still hold database files that cannot (copied from
        // elsewhere, or left by another user's process): every capture would fail on them.
        let read_only: Vec<String> = [paths.index_db(), paths.fulltext_db()]
            .iter()
            .flat_map(|db| sessionfs_client::paths::sqlite_files(db))
            .filter(|file| std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().readonly()))
            .map(|file| file.display().to_string())
            .collect();
        if !read_only.is_empty() {
            let detail = format!(
                "read-only, so nothing can be captured: {}. Give them back write permission (`chmod u+w`)",
                read_only.join(", ")
            );
            check(&mut checks, "index files", Level::Error, detail);
        }
        match sessionfs_client::ClientConfig::load(paths.root()) {
            Ok(config) => {
                let detail = match config.remote() {
                    Some(remote) => format!("syncs with {}", remote.url),
                    None => "no sync server set (`sfs auth login` sets one)".to_owned(),
                };
                check(&mut checks, "config", Level::Ok, detail);
            }
            Err(e) => {
                let hint = e.hint().map(|h| format!("; {h}")).unwrap_or_default();
                check(&mut checks, "config", Level::Error, format!("{e}{hint}"));
            }
        }
        let integrity: String = store.index().conn().query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if integrity == "ok" {
            check(&mut checks, "index integrity", Level::Ok, integrity);
        } else {
            // SQLite lists every damaged page; the first few say enough.
            let lines: Vec<&str> = integrity.lines().collect();
            let more = if lines.len() > 3 { format!(" (and {} more)", lines.len() - 3) } else { String::new() };
            let detail = format!(
                "{}{more}: `sfs doctor --rebuild-index` builds the index again from the session folders",
                lines.iter().take(3).copied().collect::<Vec<_>>().join("; ")
            );
            check(&mut checks, "index integrity", Level::Error, detail);
        }

        let rows = store.index().list(&ListFilter::default())?;
        let indexed: BTreeSet<String> = rows.iter().map(|r| r.id.to_string()).collect();
        // Session folders with a manifest, and those with messages but no manifest (it was lost): neither gone
        // nor whole.
        let (mut on_disk, mut bare) = (BTreeSet::new(), BTreeSet::new());
        for entry in std::fs::read_dir(paths.sessions()).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().join(files::MANIFEST).is_file() {
                on_disk.insert(name);
            } else if entry.path().join(files::MESSAGES).is_file() {
                bare.insert(name);
            }
        }
        let missing: Vec<&String> = indexed.difference(&on_disk).filter(|id| !bare.contains(*id)).collect();
        let unindexed: Vec<&String> = on_disk.difference(&indexed).collect();
        let level = if missing.is_empty() && unindexed.is_empty() && bare.is_empty() { Level::Ok } else { Level::Warn };
        let mut detail = format!(
            "{} indexed, {} on disk; {} indexed without a directory, {} directories not indexed",
            indexed.len(),
            on_disk.len(),
            missing.len(),
            unindexed.len()
        );
        if !bare.is_empty() {
            detail.push_str(&format!(
                "; {} folder(s) with messages but no manifest.json ({}): `sfs import` writes it again and keeps \
                 the messages",
                bare.len(),
                bare.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        if !missing.is_empty() || !unindexed.is_empty() {
            let named: Vec<&str> = missing.iter().chain(&unindexed).take(5).map(|s| s.as_str()).collect();
            detail.push_str(&format!(
                " ({}{}): `sfs doctor --rebuild-index` lists the folders again, then `sfs import` captures again \
                 what has no folder",
                named.join(", "),
                if missing.len() + unindexed.len() > named.len() { ", …" } else { "" }
            ));
        }
        check(&mut checks, "sessions", level, detail);
        let fts = store.index().fulltext_rows()?;
        let msg_rows = store.index().message_rows()?;
        let behind = store.index().fulltext_lag()?;
        let (level, detail) = if behind > 0 {
            (
                Level::Warn,
                format!(
                    "{behind} of {msg_rows} messages are not searchable yet: an import still running adds them, \
                     and so does the next capture or `sfs doctor --rebuild-index`"
                ),
            )
        } else if fts != msg_rows {
            (
                Level::Warn,
                format!(
                    "{msg_rows} messages indexed, {fts} full-text rows (an interrupted write left some; search skips \
                     them, `sfs doctor --rebuild-index` removes them)"
                ),
            )
        } else {
            (Level::Ok, format!("{msg_rows} messages indexed, {fts} full-text rows"))
        };
        check(&mut checks, "search index", level, detail);
        let (read, wrong) = store.verify_message_spans(SPAN_SAMPLE)?;
        check(
            &mut checks,
            "search text",
            if wrong.is_empty() { Level::Ok } else { Level::Warn },
            match wrong.first() {
                None => format!("{read} samples of the {msg_rows} indexed messages read back from their sessions"),
                Some(first) => format!(
                    "{} of {read} samples of the {msg_rows} indexed messages are not where the index says (search \
                     shows them without context; `sfs doctor --rebuild-index` fixes it), e.g. {first}",
                    wrong.len()
                ),
            },
        );

        let dirs = context::agent_dirs()?;
        let health = store.index().agent_health()?;
        for agent in sessionfs_agents::all() {
            let kind = agent.kind().to_string();
            let roots: Vec<String> = agent.watch_roots(&dirs).iter().map(|r| r.display().to_string()).collect();
            let exists = agent.watch_roots(&dirs).iter().any(|r| r.is_dir());
            let h = health.iter().find(|h| h.agent == kind);
            let (level, detail) = match h {
                Some(h) if h.records_skipped > 0 => (
                    Level::Warn,
                    format!(
                        "{} session(s); {} record(s) skipped as unparseable (last: {})",
                        h.sessions,
                        h.records_skipped,
                        h.last_error.as_deref().unwrap_or("-")
                    ),
                ),
                Some(h) => (
                    Level::Ok,
                    format!(
                        "{} session(s) from {} file(s), last capture {}",
                        h.sessions,
                        h.files,
                        h.last_captured_at.as_deref().unwrap_or("never")
                    ),
                ),
                None if exists => {
                    (Level::Warn, format!("{} exists but nothing was captured yet: run `sfs import`", roots.join(", ")))
                }
                None => (Level::Ok, format!("not installed here ({} absent)", roots.join(", "))),
            };
            // An import warns about these once in its log; here they stay visible until fixed.
            let unreadable = agent.scan(&dirs).unreadable;
            let (level, detail) = match unreadable.first() {
                None => (level, detail),
                Some((path, error)) => (
                    Level::Warn,
                    format!(
                        "{detail}; {} folder(s) cannot be read, so the sessions in them are not captured \
                         (e.g. {}: {error}): make them readable by you (`chmod u+rx`), then run `sfs import`",
                        unreadable.len(),
                        path.display()
                    ),
                ),
            };
            check(&mut checks, format!("agent {kind}"), level, detail);
        }
        match sessionfs_client::daemon::probe(&paths.daemon_lock())? {
            LockState::Held { pid } => {
                let schema = DaemonStatus::read(&paths).map_or(0, |s| s.index_schema);
                if schema < sessionfs_client::index::SCHEMA_VERSION {
                    check(
                        &mut checks,
                        "daemon",
                        Level::Warn,
                        format!(
                            "running (pid {pid}), but it is older than this sfs and cannot write the upgraded index: \
                             restart it with `sfs daemon restart`"
                        ),
                    )
                } else {
                    check(&mut checks, "daemon", Level::Ok, format!("running (pid {pid})"))
                }
            }
            LockState::Free => check(
                &mut checks,
                "daemon",
                Level::Warn,
                "not running: start it with `sfs daemon start` to capture as you work",
            ),
        }
        finish(checks, self.json)
    }
}

fn finish(checks: Vec<Check>, json: bool) -> Result<ExitCode> {
    let worst = checks.iter().map(|c| c.level).max().unwrap_or(Level::Ok);
    if json {
        super::print_json(&serde_json::json!({ "ok": worst != Level::Error, "checks": checks }))?;
    } else {
        for c in &checks {
            let mark = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Error => "FAIL",
            };
            outln!("[{mark}] {:<22} {}", c.check, c.detail);
        }
    }
    Ok(if worst == Level::Error { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
