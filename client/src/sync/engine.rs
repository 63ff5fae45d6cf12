//! Push, pull and full sync of one store against one server. Conflicts never lose messages: when the
//! server's copy changed, the one that extends the other wins (a fast-forward either way); when both
//! diverged, the server's copy becomes the session and the local turns are kept as a fork under a new ID.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use sessionfs_shared::SessionId;
use sessionfs_shared::archive::{self, ArchiveLimits};
use sessionfs_shared::sfs::{Message, SyncState, files};

use super::SyncError;
use super::pack::{install, pack_session};
use super::remote::{Pulled, RemoteClient};
use crate::deleted::DeletedList;
use crate::index::ListFilter;
use crate::paths::StorePaths;
use crate::redact::Redactor;
use crate::store::Store;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PushOutcome {
    /// Uploaded.
    Pushed {
        /// A new session on the server.
        created: bool,
        /// The server's ETag now.
        etag: String,
        /// Archive size.
        bytes: u64,
        /// Secrets replaced, by kind.
        redactions: BTreeMap<&'static str, usize>,
    },
    /// Nothing changed since the last sync.
    Unchanged,
    /// The server had newer turns that extend the local copy; the local copy was updated.
    FastForwarded {
        /// The server's ETag.
        etag: String,
    },
    /// The local copy extended the server's changed copy and was pushed on top of it.
    Merged {
        /// The server's ETag now.
        etag: String,
    },
    /// Both sides diverged: the server's copy is now the session, the local turns a fork.
    Forked {
        /// The fork's ID.
        fork_id: String,
        /// The session's ETag (the server's copy).
        etag: String,
    },
    /// In `deleted.json`: not pushed.
    SkippedDeleted,
    /// Deleted on the server (410): recorded in `deleted.json`, not pushed again.
    DeletedOnServer,
    /// Too large for the server: excluded until it changes.
    TooLarge {
        /// The server's explanation (limit and what to do).
        message: String,
    },
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PullOutcome {
    /// Written to the store.
    Pulled {
        /// New locally.
        created: bool,
        /// The ETag.
        etag: String,
    },
    /// The local copy is current.
    UpToDate,
    /// In `deleted.json`: not pulled.
    SkippedDeleted,
    /// The local copy had unpushed turns; resolved as a push would ([`PushOutcome`]).
    Resolved(PushOutcome),
}

/// Totals of a full sync.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Sessions pushed (created or updated, merged included).
    pub pushed: u64,
    /// Sessions pulled or fast-forwarded.
    pub pulled: u64,
    /// Sessions already in step.
    pub unchanged: u64,
    /// Forks made to keep diverged turns.
    pub forks: Vec<String>,
    /// Skipped because deleted.
    pub skipped_deleted: u64,
    /// Refused as too large.
    pub too_large: Vec<String>,
    /// Failures: (session, error).
    pub failed: Vec<(String, String)>,
    /// Secrets redacted, by kind.
    pub redactions: BTreeMap<&'static str, usize>,
}

/// Progress of a full sync.
pub trait SyncProgress: Send + Sync {
    /// `total` transfers are planned.
    fn start(&self, total: u64);
    /// One finished.
    fn done(&self, id: &str);
}

impl SyncProgress for () {
    fn start(&self, _: u64) {}
    fn done(&self, _: &str) {}
}

fn ids_prefix(a: &[Message], b: &[Message]) -> bool {
    a.len() <= b.len() && a.iter().zip(b).all(|(x, y)| x.msg_id == y.msg_id)
}

/// Syncs one store with one server.
pub struct Syncer {
    store: Store,
    remote: RemoteClient,
    redactor: Arc<Redactor>,
    limits: ArchiveLimits,
    /// The server's upload limit, read once (`None`: not known, e.g. the original server).
    max_upload: Option<Option<u64>>,
}

impl Syncer {
    /// A syncer over `store` and `remote`.
    pub fn new(store: Store, remote: RemoteClient) -> Self {
        Self::with_redactor(store, remote, Arc::new(Redactor::new()))
    }

    /// Sharing a redactor (it compiles its patterns once).
    pub fn with_redactor(store: Store, remote: RemoteClient, redactor: Arc<Redactor>) -> Self {
        Self { store, remote, redactor, limits: ArchiveLimits::default(), max_upload: None }
    }

    /// The store.
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The server connection.
    pub fn remote(&self) -> &RemoteClient {
        &self.remote
    }

    fn deleted(&self) -> DeletedList {
        DeletedList::load(&self.store.paths().deleted_json())
    }

    /// Record the server's ETag as the local copy's, clean.
    fn mark_synced(&mut self, id: &SessionId, etag: &str) -> Result<(), SyncError> {
        let dir = self.store.session_dir(id);
        if let Some(mut m) = dir.read_manifest()? {
            m.sync = Some(SyncState {
                last_sync_at: Some(sessionfs_shared::Timestamp::now()),
                etag: Some(etag.to_owned()),
                dirty: false,
                remote_url: Some(self.remote.base().to_owned()),
                extra: Default::default(),
            });
            dir.write_manifest(&m)?;
        }
        Ok(())
    }

    /// Push one session. `undelete` brings back a session deleted on the server (an explicit choice).
    pub fn push(&mut self, id: &SessionId, force: bool, undelete: bool) -> Result<PushOutcome, SyncError> {
        let deleted = self.deleted();
        if deleted.contains(id) && !undelete {
            return Ok(PushOutcome::SkippedDeleted);
        }
        let dir = self.store.session_dir(id);
        let manifest = dir.read_manifest()?.ok_or_else(|| crate::ClientError::NotFound(id.to_string()))?;
        let sync = manifest.sync.clone().unwrap_or_default();
        if !force && !undelete && sync.etag.is_some() && !sync.dirty {
            return Ok(PushOutcome::Unchanged);
        }
        if deleted.is_too_large(id, self.store.index().session(id)?.map(|r| r.messages_bytes)) && !force {
            return Ok(PushOutcome::TooLarge {
                message: "excluded after the server refused it as too large; it is retried when it changes".into(),
            });
        }
        let packed = pack_session(dir.path(), &self.redactor)?;
        // A server refuses an oversized body before reading it, which a client sees as a broken
        // connection, not a 413: check the limit first.
        let limit =
            *self.max_upload.get_or_insert_with(|| self.remote.settings().ok().and_then(|s| s.max_upload_bytes));
        if let Some(max) = limit.filter(|max| packed.bytes.len() as u64 + 1024 > *max) {
            let size = self.store.index().session(id)?.map(|r| r.messages_bytes);
            DeletedList::mark(&self.store.paths().deleted_json(), id, "cloud", Some(crate::deleted::TOO_LARGE), size)?;
            return Ok(PushOutcome::TooLarge {
                message: format!(
                    "its archive is {} bytes and the server accepts at most {max} (SFS_MAX_UPLOAD_SIZE); {}",
                    packed.bytes.len(),
                    sessionfs_shared::ErrorCode::PayloadTooLarge.fix()
                ),
            });
        }
        match self.remote.push(id.as_str(), &packed.bytes, sync.etag.as_deref(), undelete) {
            Ok(resp) => {
                self.mark_synced(id, &resp.etag)?;
                if undelete {
                    DeletedList::remove(&self.store.paths().deleted_json(), id)?;
                }
                Ok(PushOutcome::Pushed {
                    created: sync.etag.is_none(),
                    etag: resp.etag,
                    bytes: resp.blob_size_bytes,
                    redactions: packed.redactions,
                })
            }
            Err(e) if e.status() == Some(409) && e.current_etag().is_some() => self.resolve(id, true),
            Err(e) if e.status() == Some(410) => {
                DeletedList::mark(&self.store.paths().deleted_json(), id, "cloud", Some("deleted_on_server"), None)?;
                Ok(PushOutcome::DeletedOnServer)
            }
            Err(e)
                if e.status() == Some(413)
                    || (e.status() == Some(400) && e.code() == Some(sessionfs_shared::ErrorCode::PayloadTooLarge)) =>
            {
                let size = self.store.index().session(id)?.map(|r| r.messages_bytes);
                DeletedList::mark(&self.store.paths().deleted_json(), id, "cloud", Some("too_large"), size)?;
                Ok(PushOutcome::TooLarge { message: e.to_string() })
            }
            Err(e) => Err(e),
        }
    }

    /// The server's copy changed under us: merge or fork, never overwrite.
    fn resolve(&mut self, id: &SessionId, push_local_extension: bool) -> Result<PushOutcome, SyncError> {
        let (bytes, etag) = match self.remote.pull(id.as_str(), None)? {
            Pulled::Archive { bytes, etag } => (bytes, etag),
            Pulled::NotModified => {
                return Err(SyncError::Archive {
                    id: id.to_string(),
                    reason: "the server answered 304 to an unconditional pull".into(),
                });
            }
        };
        let remote_msgs = parse_messages(
            &archive::read_member(&bytes, files::MESSAGES, &self.limits)
                .map_err(|e| SyncError::Archive { id: id.to_string(), reason: e.to_string() })?
                .unwrap_or_default(),
        );
        let local_msgs = self.store.session_dir(id).read_messages()?.messages;
        if ids_prefix(&remote_msgs, &local_msgs) {
            if !push_local_extension {
                return Ok(PushOutcome::Unchanged);
            }
            // Local extends remote: push on top of the server's version.
            let packed = pack_session(self.store.session_dir(id).path(), &self.redactor)?;
            let resp = self.remote.push(id.as_str(), &packed.bytes, Some(&etag), false)?;
            self.mark_synced(id, &resp.etag)?;
            return Ok(PushOutcome::Merged { etag: resp.etag });
        }
        if ids_prefix(&local_msgs, &remote_msgs) {
            self.install(id, &bytes, &etag)?;
            return Ok(PushOutcome::FastForwarded { etag });
        }
        // Diverged: keep the local line as a fork, take the server's copy as the session.
        let fork = SessionId::hashed(&format!("{id}:fork:{etag}"));
        self.fork(id, &fork)?;
        self.install(id, &bytes, &etag)?;
        let packed = pack_session(self.store.session_dir(&fork).path(), &self.redactor)?;
        let resp = self.remote.push(fork.as_str(), &packed.bytes, None, false)?;
        self.mark_synced(&fork, &resp.etag)?;
        tracing::warn!(session.id = %id, fork = %fork, "the session diverged on two machines; the local turns were kept as a fork");
        Ok(PushOutcome::Forked { fork_id: fork.to_string(), etag })
    }

    /// Copy the local session to `fork` (its own ID, pointing back), and move capture to the fork, since
    /// the local agent's file continues the local line.
    fn fork(&mut self, id: &SessionId, fork: &SessionId) -> Result<(), SyncError> {
        let from = self.store.session_dir(id);
        let to = self.store.session_dir(fork);
        to.create()?;
        for name in [files::MESSAGES, files::WORKSPACE, files::TOOLS] {
            let src = from.path().join(name);
            if src.exists() {
                std::fs::copy(&src, to.path().join(name)).map_err(crate::ClientError::io("copying", &src))?;
            }
        }
        if let Some(mut m) = from.read_manifest()? {
            m.session_id = fork.clone();
            m.parent_session_id = Some(id.to_string());
            m.title = Some(format!("Fork of {}", m.title.as_deref().unwrap_or("untitled session")));
            m.sync = None;
            m.alias = None;
            to.write_manifest(&m)?;
        }
        self.store.reindex_session(fork)?;
        self.store.move_capture(id, fork)?;
        Ok(())
    }

    /// Write the server's archive as the local session, keeping the user's fields.
    fn install(&mut self, id: &SessionId, bytes: &[u8], etag: &str) -> Result<(), SyncError> {
        let dir = self.store.session_dir(id);
        let previous = dir.read_manifest().ok().flatten();
        install(bytes, id, dir.path(), &self.limits)?;
        if let (Some(prev), Some(mut m)) = (previous, dir.read_manifest()?) {
            m.keep_user_fields(&prev);
            dir.write_manifest(&m)?;
        }
        self.mark_synced(id, etag)?;
        self.store.reindex_session(id)?;
        Ok(())
    }

    /// Pull one session. `explicit`: asked for by name (clears a local delete), not by autosync.
    pub fn pull(&mut self, id: &SessionId, explicit: bool) -> Result<PullOutcome, SyncError> {
        if self.deleted().contains(id) {
            if !explicit {
                return Ok(PullOutcome::SkippedDeleted);
            }
            DeletedList::remove(&self.store.paths().deleted_json(), id)?;
        }
        let dir = self.store.session_dir(id);
        let local = dir.read_manifest()?;
        let sync = local.as_ref().and_then(|m| m.sync.clone());
        if local.is_some() && sync.as_ref().is_none_or(|s| s.dirty) {
            return self.resolve(id, false).map(PullOutcome::Resolved);
        }
        match self.remote.pull(id.as_str(), sync.as_ref().and_then(|s| s.etag.as_deref()))? {
            Pulled::NotModified => Ok(PullOutcome::UpToDate),
            Pulled::Archive { bytes, etag } => {
                self.install(id, &bytes, &etag)?;
                Ok(PullOutcome::Pulled { created: local.is_none(), etag })
            }
        }
    }

    /// Sync everything both ways with `workers` parallel connections.
    pub fn sync_all(
        paths: &StorePaths,
        remote: &RemoteClient,
        workers: usize,
        progress: &dyn SyncProgress,
    ) -> Result<SyncReport, SyncError> {
        let store = Store::open(paths.clone())?;
        let remote_sessions: HashMap<String, String> = remote.list_all()?.into_iter().map(|s| (s.id, s.etag)).collect();
        let deleted = DeletedList::load(&paths.deleted_json());
        let mut report = SyncReport::default();
        let mut jobs: VecDeque<(bool, SessionId)> = VecDeque::new(); // (push?, id)
        let local = store.index().list(&ListFilter::default())?;
        let mut local_ids = std::collections::HashSet::new();
        for row in &local {
            local_ids.insert(row.id.to_string());
            if deleted.contains(&row.id) {
                report.skipped_deleted += 1;
                continue;
            }
            let m = store.session_dir(&row.id).read_manifest()?;
            let sync = m.and_then(|m| m.sync).unwrap_or_default();
            let dirty = sync.etag.is_none() || sync.dirty;
            match remote_sessions.get(row.id.as_str()) {
                Some(etag) if !dirty && sync.etag.as_deref() == Some(etag) => report.unchanged += 1,
                Some(_) if !dirty => jobs.push_back((false, row.id.clone())),
                _ => jobs.push_back((true, row.id.clone())),
            }
        }
        for id in remote_sessions.keys() {
            if local_ids.contains(id) {
                continue;
            }
            let Ok(id) = SessionId::parse(id) else { continue };
            if deleted.contains(&id) {
                report.skipped_deleted += 1;
            } else {
                jobs.push_back((false, id));
            }
        }
        drop(store);
        progress.start(jobs.len() as u64);
        let queue = Arc::new(Mutex::new(jobs));
        let shared = Arc::new(Mutex::new(report));
        let redactor = Arc::new(Redactor::new());
        std::thread::scope(|scope| {
            for _ in 0..workers.max(1) {
                let (queue, shared, redactor) = (Arc::clone(&queue), Arc::clone(&shared), Arc::clone(&redactor));
                scope.spawn(move || {
                    let mut syncer = match Store::open(paths.clone()) {
                        Ok(s) => Syncer::with_redactor(s, remote.clone(), redactor),
                        Err(e) => {
                            lock(&shared).failed.push(("*".into(), e.to_string()));
                            return;
                        }
                    };
                    loop {
                        let Some((push, id)) = lock(&queue).pop_front() else { return };
                        let outcome = if push {
                            syncer.push(&id, false, false).map(PullOutcome::Resolved)
                        } else {
                            syncer.pull(&id, false)
                        };
                        let mut r = lock(&shared);
                        match outcome {
                            Ok(o) => tally(&mut r, &id, o),
                            Err(e) => r.failed.push((id.to_string(), e.to_string())),
                        }
                        drop(r);
                        progress.done(id.as_str());
                    }
                });
            }
        });
        let report = lock(&shared).clone();
        Ok(report)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked mid-update leaves counters that are still meaningful.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn tally(r: &mut SyncReport, id: &SessionId, o: PullOutcome) {
    match o {
        PullOutcome::Pulled { .. } => r.pulled += 1,
        PullOutcome::UpToDate | PullOutcome::Resolved(PushOutcome::Unchanged) => r.unchanged += 1,
        PullOutcome::SkippedDeleted
        | PullOutcome::Resolved(PushOutcome::SkippedDeleted | PushOutcome::DeletedOnServer) => r.skipped_deleted += 1,
        PullOutcome::Resolved(PushOutcome::Pushed { redactions, .. }) => {
            r.pushed += 1;
            for (k, n) in redactions {
                *r.redactions.entry(k).or_default() += n;
            }
        }
        PullOutcome::Resolved(PushOutcome::Merged { .. }) => r.pushed += 1,
        PullOutcome::Resolved(PushOutcome::FastForwarded { .. }) => r.pulled += 1,
        PullOutcome::Resolved(PushOutcome::Forked { fork_id, .. }) => {
            r.pulled += 1;
            r.forks.push(fork_id);
        }
        PullOutcome::Resolved(PushOutcome::TooLarge { .. }) => r.too_large.push(id.to_string()),
    }
}

fn parse_messages(bytes: &[u8]) -> Vec<Message> {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .filter_map(|l| Message::from_json_line(l).ok())
        .collect()
}
