//! The daemon engine behind `sfsd`: hold the store's lock, catch up on what changed while stopped, then
//! watch every agent's folders (notify) and capture changed files after a short debounce.
//!
//! One instance per store: the lock is an OS file lock on `sfsd.lock`, released by the OS when the process
//! dies, so a stale pid file can never block or fool a start. Idle, the daemon sleeps in the OS's file
//! watch; it wakes once a second only to notice a stop request or an agent folder that did not exist yet.

mod lock;
mod status;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

pub use lock::{DaemonLock, LockState, probe};
use notify::{RecursiveMode, Watcher};
use sessionfs_agents::AgentDirs;
pub use status::{DaemonStatus, WatchedRoot};
use tracing::{error, info, warn};

use crate::capture::Capturer;
use crate::error::{ClientError, Result};
use crate::paths::StorePaths;
use crate::store::Store;

/// Quiet time after the last file event before capturing: long enough to batch an agent's burst of
/// writes, short enough that a new message is searchable well under a second later.
pub const DEBOUNCE: Duration = Duration::from_millis(150);
/// The longest a burst of events may delay capture.
pub const MAX_BATCH_DELAY: Duration = Duration::from_millis(750);
const TICK: Duration = Duration::from_secs(1);

/// Daemon settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The store.
    pub paths: StorePaths,
    /// Whose agent folders to watch: `$HOME`, where the agents' own variables (`CODEX_HOME`…) may move them.
    pub home: PathBuf,
}

/// Run until `stop` is set (SIGTERM/SIGINT set it when `install_signal_handlers` was called).
pub fn run(config: DaemonConfig, stop: Arc<AtomicBool>) -> Result<()> {
    let lock = DaemonLock::acquire(&config.paths.daemon_lock())?;
    info!(pid = std::process::id(), store = %config.paths.root().display(), home = %config.home.display(), "sfsd starting");
    let store = Store::open(config.paths.clone())?;
    // The daemon watches where the agents write, as they are run in its environment.
    let dirs = AgentDirs::from_env(&config.home);
    let mut capturer = Capturer::new(store, dirs.clone());
    let mut opened = DatabaseFiles::of(&config.paths);
    let mut status = DaemonStatus::new(&config);

    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(move |ev| {
        // The receiver only goes away when the daemon stops.
        let _ = tx.send(ev);
    })
    .map_err(|source| ClientError::Watch { path: config.home.clone(), source })?;

    let roots: Vec<(String, PathBuf)> = capturer
        .agents()
        .iter()
        .flat_map(|a| a.watch_roots(&dirs).into_iter().map(move |r| (a.kind().to_string(), r)))
        .collect();
    status.roots = roots
        .iter()
        .map(|(agent, root)| WatchedRoot { agent: agent.clone(), path: root.clone(), watching: false })
        .collect();
    watch_new_roots(&mut watcher, &mut status);

    let autosync = start_autosync(&config.paths, &stop);
    status.autosync = autosync.is_some();
    let to_autosync = |id: &sessionfs_shared::SessionId| {
        if let Some((tx, _)) = &autosync {
            let _ = tx.send(id.clone());
        }
    };

    let started = Instant::now();
    let reports = capturer.import_all(&mut ())?;
    status.captures += reports.len() as u64;
    reports.iter().for_each(|r| to_autosync(&r.session_id));
    info!(captured = reports.len(), ms = started.elapsed().as_millis() as u64, "initial scan done");
    status.write(&config.paths)?;

    let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
    let mut batch_started: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let timeout = if pending.is_empty() { TICK } else { DEBOUNCE };
        match rx.recv_timeout(timeout) {
            Ok(Ok(event)) => {
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    continue;
                }
                status.events += 1;
                pending.extend(event.paths);
                batch_started.get_or_insert_with(Instant::now);
                if batch_started.is_some_and(|t| t.elapsed() < MAX_BATCH_DELAY) {
                    continue;
                }
            }
            Ok(Err(e)) => {
                warn!(error = %e, "file watch error");
                status.errors += 1;
                continue;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if upgraded_by_a_newer_build(&capturer) {
            break;
        }
        if DatabaseFiles::of(&config.paths) != opened {
            // Deleted, or replaced (`sfs doctor --rebuild-index` moves a damaged file aside): this daemon's
            // connections still write the old files, which nothing reads any more.
            warn!("index.db or fulltext.db was replaced under the daemon; opening the store again");
            match Store::open(config.paths.clone()) {
                Ok(store) => capturer = Capturer::new(store, dirs.clone()),
                Err(e) => {
                    // Busy (a rebuild holds the index) or damaged: tried again on the next tick; what changed
                    // meanwhile stays pending.
                    warn!(error = %e, "could not open the store again; retrying");
                    status.errors += 1;
                    continue;
                }
            }
            opened = DatabaseFiles::of(&config.paths);
            let reports = capturer.import_all(&mut ())?;
            status.captures += reports.len() as u64;
            reports.iter().for_each(|r| to_autosync(&r.session_id));
        }
        if watch_new_roots(&mut watcher, &mut status) {
            // A folder appeared: capture what is already in it.
            let reports = capturer.import_all(&mut ())?;
            status.captures += reports.len() as u64;
            reports.iter().for_each(|r| to_autosync(&r.session_id));
            if let Err(e) = status.write(&config.paths) {
                warn!(error = %e, "could not write daemon status");
            }
        }
        if pending.is_empty() {
            continue;
        }
        for id in capture_batch(&mut capturer, std::mem::take(&mut pending), &mut status) {
            to_autosync(&id);
        }
        // Messages a failed or crashed write left out of the full-text index (normally none).
        if let Err(e) = capturer.store_mut().index_mut().catch_up_fulltext(false) {
            warn!(error = %e, "could not catch up the search index");
        }
        batch_started = None;
        if let Err(e) = status.write(&config.paths) {
            warn!(error = %e, "could not write daemon status");
        }
    }
    info!("sfsd stopping");
    stop.store(true, Ordering::Relaxed);
    if let Some((tx, handle)) = autosync {
        drop(tx);
        let _ = handle.join();
    }
    status::remove(&config.paths);
    drop(lock);
    Ok(())
}

/// Which files `index.db` and `fulltext.db` are (device and inode), to notice one deleted or replaced.
#[derive(Debug, PartialEq, Eq)]
struct DatabaseFiles([Option<(u64, u64)>; 2]);

impl DatabaseFiles {
    fn of(paths: &StorePaths) -> Self {
        Self([file_identity(&paths.index_db()), file_identity(&paths.fulltext_db())])
    }
}

#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    // No inode to compare: only a deleted file is noticed.
    path.exists().then_some((0, 0))
}

/// Whether a newer `sfs` upgraded the index since this daemon started: then this daemon would write rows the
/// new schema does not expect, so it stops, and says how to start the new one.
fn upgraded_by_a_newer_build(capturer: &Capturer) -> bool {
    match capturer.store().index().schema_version() {
        Ok(found) if found > crate::index::SCHEMA_VERSION => {
            error!(
                found,
                known = crate::index::SCHEMA_VERSION,
                "a newer sfs upgraded the index; this daemon stops. Start the new one with `sfs daemon start`"
            );
            true
        }
        Ok(_) => false,
        Err(e) => {
            warn!(error = %e, "could not read the index schema version");
            false
        }
    }
}

/// Start background sync when a server is configured (`sfs auth login`).
fn start_autosync(
    paths: &StorePaths,
    stop: &Arc<AtomicBool>,
) -> Option<(std::sync::mpsc::Sender<sessionfs_shared::SessionId>, std::thread::JoinHandle<()>)> {
    let remote = match crate::config::ClientConfig::load(paths.root()) {
        Ok(c) => c.remote()?,
        Err(e) => {
            warn!(error = %e, "cannot read the config; autosync is off");
            return None;
        }
    };
    let client = match crate::sync::RemoteClient::new(&remote) {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "autosync is off");
            return None;
        }
    };
    match crate::sync::AutoSync::spawn(paths.clone(), client, crate::sync::AutoSyncConfig::default(), Arc::clone(stop))
    {
        Ok(handle) => Some(handle),
        Err(e) => {
            warn!(error = %e, "autosync could not start");
            None
        }
    }
}

/// Capture the changed files; returns the sessions that changed.
fn capture_batch(
    capturer: &mut Capturer,
    paths: BTreeSet<PathBuf>,
    status: &mut DaemonStatus,
) -> Vec<sessionfs_shared::SessionId> {
    let mut changed = Vec::new();
    // A sub-agent file after its session's main file, whatever order the events came in.
    let mut ordered: Vec<PathBuf> = paths.into_iter().collect();
    ordered.sort_by_key(|p| p.components().any(|c| c.as_os_str() == "subagents"));
    for path in ordered {
        match capturer.capture_path(&path) {
            Ok(Some(report)) => {
                status.captures += 1;
                status.last_capture_at = Some(sessionfs_shared::Timestamp::now().to_rfc3339());
                info!(session.id = %report.session_id, agent = %report.agent, new = report.new_messages, skipped = report.skipped, path = %path.display(), "captured");
                changed.push(report.session_id);
            }
            Ok(None) => {}
            Err(e) => {
                status.errors += 1;
                error!(path = %path.display(), error = %e, "capture failed");
            }
        }
    }
    changed
}

/// Start watching roots that exist now and were not watched; true if any was added.
fn watch_new_roots(watcher: &mut impl Watcher, status: &mut DaemonStatus) -> bool {
    let mut added = false;
    for root in status.roots.iter_mut().filter(|r| !r.watching) {
        if !root.path.is_dir() {
            continue;
        }
        match watcher.watch(&root.path, RecursiveMode::Recursive) {
            Ok(()) => {
                info!(agent = %root.agent, path = %root.path.display(), "watching");
                root.watching = true;
                added = true;
            }
            Err(e) => {
                warn!(agent = %root.agent, path = %root.path.display(), error = %e, "cannot watch")
            }
        }
    }
    added
}

/// Set `stop` on SIGTERM and SIGINT.
pub fn install_signal_handlers(stop: &Arc<AtomicBool>) -> std::io::Result<()> {
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(stop))?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(stop))?;
    Ok(())
}

/// Whether `path` is under one of the roots (for tests and status).
pub fn is_watched(path: &Path, roots: &[WatchedRoot]) -> bool {
    roots.iter().any(|r| r.watching && path.starts_with(&r.path))
}
