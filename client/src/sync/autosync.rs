//! The daemon's background sync, by the server's mode: `all` pushes every captured session, `selective`
//! only watched ones, `off` nothing. The server's settings (mode, debounce, watch list) are polled every
//! minute; a captured session is pushed once it has been quiet for the debounce, whenever that happens
//! (the original only queued sessions found dirty at daemon start). Each poll also pulls sessions other
//! machines changed. Deleted sessions are skipped both ways.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sessionfs_shared::SessionId;
use sessionfs_shared::api::SyncMode;
use tracing::{info, warn};

use super::engine::{PullOutcome, PushOutcome, Syncer};
use super::remote::RemoteClient;
use crate::deleted::DeletedList;
use crate::index::ListFilter;
use crate::paths::StorePaths;
use crate::store::Store;

/// Timing of the autosync loop.
#[derive(Debug, Clone)]
pub struct AutoSyncConfig {
    /// How often the server's settings are read and remote changes pulled.
    pub poll: Duration,
}

impl Default for AutoSyncConfig {
    fn default() -> Self {
        // `SFS_SYNC_POLL_SECS` shortens the poll for tests and impatient people.
        let secs = std::env::var("SFS_SYNC_POLL_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
        Self { poll: Duration::from_secs(secs) }
    }
}

/// The background sync worker.
pub struct AutoSync {
    syncer: Syncer,
    rx: Receiver<SessionId>,
    config: AutoSyncConfig,
    mode: SyncMode,
    debounce: Duration,
    watched: HashSet<String>,
    pending: HashMap<SessionId, Instant>,
    last_poll: Option<Instant>,
}

impl AutoSync {
    /// Start the worker thread; captured session IDs go into the returned sender.
    pub fn spawn(
        paths: StorePaths,
        remote: RemoteClient,
        config: AutoSyncConfig,
        stop: Arc<AtomicBool>,
    ) -> crate::Result<(Sender<SessionId>, JoinHandle<()>)> {
        let store = Store::open(paths)?;
        let (tx, rx) = channel();
        let mut worker = Self {
            syncer: Syncer::new(store, remote),
            rx,
            config,
            mode: SyncMode::Off,
            debounce: Duration::from_secs(30),
            watched: HashSet::new(),
            pending: HashMap::new(),
            last_poll: None,
        };
        let handle = std::thread::Builder::new()
            .name("sfs-autosync".into())
            .spawn(move || worker.run(&stop))
            .map_err(|e| crate::ClientError::io("starting", "the autosync thread")(e))?;
        Ok((tx, handle))
    }

    fn wants(&self, id: &SessionId) -> bool {
        match self.mode {
            SyncMode::Off => false,
            SyncMode::All => true,
            SyncMode::Selective => self.watched.contains(id.as_str()),
        }
    }

    fn run(&mut self, stop: &AtomicBool) {
        info!("autosync started");
        while !stop.load(Ordering::Relaxed) {
            if self.last_poll.is_none_or(|t| t.elapsed() >= self.config.poll) {
                self.poll();
            }
            match self.rx.recv_timeout(Duration::from_millis(500)) {
                Ok(id) => {
                    self.pending.insert(id, Instant::now());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let due: Vec<SessionId> =
                self.pending.iter().filter(|(_, t)| t.elapsed() >= self.debounce).map(|(id, _)| id.clone()).collect();
            for id in due {
                self.pending.remove(&id);
                if self.wants(&id) {
                    self.push(&id);
                }
            }
        }
        info!("autosync stopped");
    }

    /// Read the server's settings; on the first poll queue every dirty session; pull remote changes.
    fn poll(&mut self) {
        let first = self.last_poll.is_none();
        self.last_poll = Some(Instant::now());
        let remote = self.syncer.remote().clone();
        match remote.settings() {
            Ok(s) => {
                if s.mode != self.mode {
                    info!(mode = s.mode.as_str(), "autosync mode");
                }
                self.mode = s.mode;
                self.debounce = Duration::from_secs(u64::from(s.debounce_seconds));
            }
            Err(e) => {
                warn!(error = %e, "cannot read the server's sync settings; keeping the last ones");
                return;
            }
        }
        if self.mode == SyncMode::Selective {
            match remote.watchlist() {
                Ok(w) => self.watched = w.sessions.into_iter().map(|s| s.session_id).collect(),
                Err(e) => warn!(error = %e, "cannot read the watch list"),
            }
        }
        if self.mode == SyncMode::Off {
            return;
        }
        if first {
            // Sessions captured while the daemon was stopped, or never pushed.
            // Sessions synced with another server or account count as never pushed to this one.
            if let Ok(rows) = self.syncer.store().index().list(&ListFilter::default()) {
                for row in rows {
                    let dirty = self.syncer.needs_push(&row.id).unwrap_or_else(|e| {
                        warn!(session.id = %row.id, error = %e, "cannot tell whether it needs pushing; pushing it");
                        true
                    });
                    if dirty && self.wants(&row.id) {
                        self.pending.insert(row.id, Instant::now() - self.debounce);
                    }
                }
            }
        }
        self.pull_changes(&remote);
    }

    /// Pull sessions that another machine created or changed (not deleted here, and wanted by the mode).
    fn pull_changes(&mut self, remote: &RemoteClient) {
        let list = match remote.list_all() {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot list the server's sessions");
                return;
            }
        };
        let deleted = DeletedList::load(&self.syncer.store().paths().deleted_json());
        for s in list {
            let Ok(id) = SessionId::parse(&s.id) else { continue };
            if deleted.contains(&id) || !self.wants(&id) || self.pending.contains_key(&id) {
                continue;
            }
            let local = self.syncer.store().session_dir(&id).read_manifest().ok().flatten();
            let local_etag = local.as_ref().and_then(|m| m.sync.as_ref()).and_then(|s| s.etag.clone());
            if local.is_some() && local_etag.as_deref() == Some(s.etag.as_str()) {
                continue;
            }
            match self.syncer.pull(&id, false) {
                Ok(PullOutcome::UpToDate | PullOutcome::SkippedDeleted) => {}
                Ok(PullOutcome::LocalAhead { local_only, .. }) => {
                    info!(session.id = %id, local_only, "the server's copy lacks local turns; pushing them");
                    self.pending.insert(id, Instant::now() - self.debounce);
                }
                Ok(o) => info!(session.id = %id, outcome = ?o, "pulled"),
                Err(e) => warn!(session.id = %id, error = %e, "pull failed"),
            }
        }
    }

    fn push(&mut self, id: &SessionId) {
        let remote = self.syncer.remote().clone();
        remote.set_watch_status(id.as_str(), "queued");
        match self.syncer.push(id, false, false) {
            Ok(PushOutcome::Pushed { redactions, .. }) => {
                let total: usize = redactions.values().sum();
                info!(session.id = %id, redacted = total, "pushed");
                remote.set_watch_status(id.as_str(), "synced");
            }
            Ok(o @ (PushOutcome::Merged { .. } | PushOutcome::FastForwarded { .. } | PushOutcome::Forked { .. })) => {
                info!(session.id = %id, outcome = ?o, "conflict resolved");
                remote.set_watch_status(id.as_str(), "synced");
            }
            Ok(PushOutcome::TooLarge { message }) => {
                warn!(session.id = %id, %message, "too large for the server; excluded until it changes");
                remote.set_watch_status(id.as_str(), "failed");
            }
            Ok(PushOutcome::Unchanged) => tracing::debug!(session.id = %id, "already in step with the server"),
            Ok(PushOutcome::SkippedDeleted) => {
                info!(session.id = %id, "not pushed: deleted on this machine (deleted.json); `sfs push --undelete` sends it");
            }
            Ok(PushOutcome::DeletedOnServer) => {
                warn!(session.id = %id, "not pushed: the server answered 410, it was deleted there; recorded in deleted.json, `sfs restore` or `sfs push --undelete` brings it back");
                remote.set_watch_status(id.as_str(), "failed");
            }
            Err(e) => {
                warn!(session.id = %id, error = %e, "push failed; retrying at the next change or poll");
                remote.set_watch_status(id.as_str(), "failed");
            }
        }
    }
}
