//! Push, pull and full sync of one store against one server. Conflicts never lose messages: when the
//! server's copy changed, the one that extends the other wins (a fast-forward either way); when both
//! diverged, the server's copy becomes the session and the local turns are kept as a fork under a new ID.
//!
//! Every push is conditional: `If-Match` with the ETag the local copy was synced at, or `If-None-Match: *`
//! when it never was (with this server and account), so a copy the server already has is never written
//! over blindly; the 409 that answers a stale condition is resolved as above. A pull that finds the local
//! copy ahead of the server's, or diverged from it, resolves the same way instead of replacing it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use sessionfs_shared::archive::{self, ArchiveLimits};
use sessionfs_shared::sfs::{Manifest, Message, SyncState, files};
use sessionfs_shared::{ErrorCode, SessionId};
use sha2::{Digest, Sha256};

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
    /// The local copy has turns the server's lacks: kept, and based on the server's version now, so the
    /// next push sends them on top of it.
    LocalAhead {
        /// The server's ETag.
        etag: String,
        /// Messages only the local copy has.
        local_only: usize,
    },
    /// The local copy had diverged from the server's; resolved as a push would ([`PushOutcome`]).
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

/// The key of [`SyncState::extra`] that names the account the state was recorded for.
const ACCOUNT: &str = "account_id";

/// How the local messages stand to the server's, by message ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The same messages.
    Same,
    /// The local copy extends the server's by this many messages.
    LocalAhead(usize),
    /// The server's copy extends the local one.
    RemoteAhead,
    /// Each has messages the other lacks.
    Diverged,
}

/// How many leading messages `a` and `b` share.
fn common_prefix(a: &[Message], b: &[Message]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x.is_copy_of(y)).count()
}

fn relation(local: &[Message], remote: &[Message]) -> Relation {
    let common = common_prefix(local, remote);
    match (common == local.len(), common == remote.len()) {
        (true, true) => Relation::Same,
        (false, true) => Relation::LocalAhead(local.len() - common),
        (true, false) => Relation::RemoteAhead,
        (false, false) => Relation::Diverged,
    }
}

/// The ID of the fork that keeps `local`'s turns where they diverge from `remote` (at the server's `etag`).
/// It names the diverged content, so two machines that diverged differently from the same version make two
/// forks, and the same diverged turns always make the same one.
fn fork_id(id: &SessionId, etag: &str, local: &[Message], remote: &[Message]) -> SessionId {
    let mut digest = Sha256::new();
    for m in &local[common_prefix(local, remote)..] {
        digest.update(m.to_json_line().as_bytes());
        digest.update(b"\n");
    }
    let hex: String = digest.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    SessionId::hashed(&format!("{id}:fork:{etag}:{hex}"))
}

/// Whether `sync` was recorded with the server and account `remote` is logged in to. State recorded for
/// another server or account says nothing about this one: the session counts as never synced with it.
fn belongs(sync: &SyncState, remote: &RemoteClient) -> Result<bool, SyncError> {
    if sync.remote_url.as_deref().map(|u| u.trim_end_matches('/')) != Some(remote.base()) {
        return Ok(false);
    }
    match sync.extra.get(ACCOUNT).and_then(Value::as_str) {
        // Recorded by an earlier build, which kept only the URL.
        None => Ok(true),
        Some(account) => Ok(remote.account()?.is_none_or(|me| me == account)),
    }
}

/// Whether the `ETag` conflict of a conditional push: the server has another version (or has the session,
/// for `If-None-Match: *`).
fn is_etag_conflict(e: &SyncError) -> bool {
    e.code() == Some(ErrorCode::EtagMismatch)
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

    /// The session's sync state when it was recorded with this server and account; `None`: never synced
    /// with them.
    fn state(&self, manifest: Option<&Manifest>) -> Result<Option<SyncState>, SyncError> {
        match manifest.and_then(|m| m.sync.as_ref()) {
            Some(sync) if belongs(sync, &self.remote)? => Ok(Some(sync.clone())),
            _ => Ok(None),
        }
    }

    /// Whether the session has something to push: never synced with this server and account, or changed
    /// since.
    pub fn needs_push(&self, id: &SessionId) -> Result<bool, SyncError> {
        let manifest = self.store.session_dir(id).read_manifest()?;
        Ok(self.state(manifest.as_ref())?.is_none_or(|s| s.dirty || s.etag.is_none()))
    }

    /// Record the server's ETag as the version the local copy is based on; `dirty`: the local copy has more.
    fn mark_synced(&mut self, id: &SessionId, etag: &str, dirty: bool) -> Result<(), SyncError> {
        let dir = self.store.session_dir(id);
        if let Some(mut m) = dir.read_manifest()? {
            let mut extra = sessionfs_shared::sfs::Extra::new();
            // Without it the state still counts for this server (as an earlier build's does).
            match self.remote.account() {
                Ok(Some(account)) => {
                    extra.insert(ACCOUNT.into(), account.into());
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot tell which account the key belongs to"),
            }
            m.sync = Some(SyncState {
                last_sync_at: Some(sessionfs_shared::Timestamp::now()),
                etag: Some(etag.to_owned()),
                dirty,
                remote_url: Some(self.remote.base().to_owned()),
                extra,
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
        let sync = self.state(Some(&manifest))?;
        let based_on = sync.as_ref().and_then(|s| s.etag.clone());
        let dirty = sync.as_ref().is_none_or(|s| s.dirty);
        if !force && !undelete && based_on.is_some() && !dirty {
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
        match self.remote.push(id.as_str(), &packed.bytes, based_on.as_deref(), undelete) {
            Ok(resp) => {
                self.mark_synced(id, &resp.etag, false)?;
                if undelete {
                    DeletedList::remove(&self.store.paths().deleted_json(), id)?;
                }
                Ok(PushOutcome::Pushed {
                    created: based_on.is_none(),
                    etag: resp.etag,
                    bytes: resp.blob_size_bytes,
                    redactions: packed.redactions,
                })
            }
            Err(e) if is_etag_conflict(&e) => self.resolve(id, sync.is_some_and(|s| s.dirty)),
            Err(e) if e.status() == Some(410) => {
                DeletedList::mark(&self.store.paths().deleted_json(), id, "cloud", Some("deleted_on_server"), None)?;
                Ok(PushOutcome::DeletedOnServer)
            }
            // A full quota is not this session's size (SyncError::QuotaExceeded): it goes up once there is room.
            Err(e @ SyncError::Api { status: 413, .. })
            | Err(e @ SyncError::Api { status: 400, code: Some(ErrorCode::PayloadTooLarge), .. }) => {
                let size = self.store.index().session(id)?.map(|r| r.messages_bytes);
                DeletedList::mark(&self.store.paths().deleted_json(), id, "cloud", Some("too_large"), size)?;
                Ok(PushOutcome::TooLarge { message: e.to_string() })
            }
            Err(e) => Err(e),
        }
    }

    /// The server's copy, unconditionally.
    fn fetch(&self, id: &SessionId) -> Result<(Vec<u8>, String), SyncError> {
        match self.remote.pull(id.as_str(), None)? {
            Pulled::Archive { bytes, etag } => Ok((bytes, etag)),
            Pulled::NotModified => Err(SyncError::Archive {
                id: id.to_string(),
                reason: "the server answered 304 to an unconditional pull".into(),
            }),
        }
    }

    /// The messages of an archive from the server.
    fn archive_messages(&self, id: &SessionId, bytes: &[u8]) -> Result<Vec<Message>, SyncError> {
        let raw = archive::read_member(bytes, files::MESSAGES, &self.limits)
            .map_err(|e| SyncError::Archive { id: id.to_string(), reason: e.to_string() })?;
        Ok(parse_messages(&raw.unwrap_or_default()))
    }

    /// A push met another version on the server (or a copy there, for a session never synced with it):
    /// take the server's copy and merge or fork, never overwrite. `local_dirty`: the local copy changed since
    /// the version it was synced at, so it is pushed even when its messages are the server's.
    fn resolve(&mut self, id: &SessionId, local_dirty: bool) -> Result<PushOutcome, SyncError> {
        // A push on top can meet yet another version that landed meanwhile: look again, a few times.
        let mut last = None;
        for _ in 0..3 {
            let (bytes, etag) = self.fetch(id)?;
            let remote_msgs = self.archive_messages(id, &bytes)?;
            let local_msgs = self.store.session_dir(id).read_messages()?.messages;
            match relation(&local_msgs, &remote_msgs) {
                Relation::Same if !local_dirty => {
                    self.mark_synced(id, &etag, false)?;
                    return Ok(PushOutcome::Unchanged);
                }
                Relation::Same | Relation::LocalAhead(_) => {
                    let packed = pack_session(self.store.session_dir(id).path(), &self.redactor)?;
                    match self.remote.push(id.as_str(), &packed.bytes, Some(&etag), false) {
                        Ok(resp) => {
                            self.mark_synced(id, &resp.etag, false)?;
                            return Ok(PushOutcome::Merged { etag: resp.etag });
                        }
                        Err(e) if is_etag_conflict(&e) => last = Some(e),
                        Err(e) => return Err(e),
                    }
                }
                Relation::RemoteAhead => {
                    self.install(id, &bytes, &etag)?;
                    return Ok(PushOutcome::FastForwarded { etag });
                }
                Relation::Diverged => return self.diverged(id, &bytes, &etag, &local_msgs, &remote_msgs),
            }
        }
        Err(last.unwrap_or_else(|| SyncError::Archive {
            id: id.to_string(),
            reason: "the server's copy kept changing while it was merged".into(),
        }))
    }

    /// Both sides have turns the other lacks: keep the local line as a fork, take the server's copy as the
    /// session, and push the fork.
    fn diverged(
        &mut self,
        id: &SessionId,
        bytes: &[u8],
        etag: &str,
        local_msgs: &[Message],
        remote_msgs: &[Message],
    ) -> Result<PushOutcome, SyncError> {
        let fork = fork_id(id, etag, local_msgs, remote_msgs);
        self.fork(id, &fork)?;
        self.install(id, bytes, etag)?;
        tracing::warn!(session.id = %id, fork = %fork, "the session diverged on two machines; the local turns were kept as a fork");
        // The fork has no sync state, so it goes up with `If-None-Match: *`: a fork of the same ID already
        // there (these turns, forked before by an interrupted run) is never overwritten, only found in step,
        // merged or forked in turn.
        match self.push(&fork, false, false)? {
            PushOutcome::TooLarge { message } => {
                tracing::warn!(fork = %fork, %message, "the fork is too large for the server; it stays on this machine");
            }
            o => tracing::debug!(fork = %fork, outcome = ?o, "fork pushed"),
        }
        Ok(PushOutcome::Forked { fork_id: fork.to_string(), etag: etag.to_owned() })
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
        self.mark_synced(id, etag, false)?;
        self.store.reindex_session(id)?;
        Ok(())
    }

    /// Pull one session. `explicit`: asked for by name (clears a local delete once it is pulled), not by
    /// autosync. A local copy is replaced only by a server copy that extends it: local turns the server
    /// lacks are kept (ahead: pushed next; diverged: forked).
    pub fn pull(&mut self, id: &SessionId, explicit: bool) -> Result<PullOutcome, SyncError> {
        let was_deleted = self.deleted().contains(id);
        if was_deleted && !explicit {
            return Ok(PullOutcome::SkippedDeleted);
        }
        let local = self.store.session_dir(id).read_manifest()?;
        let sync = self.state(local.as_ref())?;
        let local_dirty = sync.as_ref().is_some_and(|s| s.dirty);
        // Only a clean copy of this server's version can be answered "not modified".
        let if_none_match = sync.as_ref().filter(|s| !s.dirty).and_then(|s| s.etag.clone());
        let outcome = match self.remote.pull(id.as_str(), if_none_match.as_deref())? {
            Pulled::NotModified => PullOutcome::UpToDate,
            Pulled::Archive { bytes, etag } if local.is_none() => {
                self.install(id, &bytes, &etag)?;
                PullOutcome::Pulled { created: true, etag }
            }
            Pulled::Archive { bytes, etag } => {
                let remote_msgs = self.archive_messages(id, &bytes)?;
                let local_msgs = self.store.session_dir(id).read_messages()?.messages;
                match relation(&local_msgs, &remote_msgs) {
                    Relation::Same => {
                        self.mark_synced(id, &etag, local_dirty)?;
                        PullOutcome::UpToDate
                    }
                    Relation::LocalAhead(local_only) => {
                        self.mark_synced(id, &etag, true)?;
                        PullOutcome::LocalAhead { etag, local_only }
                    }
                    Relation::RemoteAhead => {
                        self.install(id, &bytes, &etag)?;
                        PullOutcome::Pulled { created: false, etag }
                    }
                    Relation::Diverged => {
                        PullOutcome::Resolved(self.diverged(id, &bytes, &etag, &local_msgs, &remote_msgs)?)
                    }
                }
            }
        };
        // Only now: a pull that failed leaves the local delete in force.
        if was_deleted {
            DeletedList::remove(&self.store.paths().deleted_json(), id)?;
        }
        Ok(outcome)
    }

    /// Sync everything both ways with `workers` parallel connections.
    pub fn sync_all(
        paths: &StorePaths,
        remote: &RemoteClient,
        workers: usize,
        progress: &dyn SyncProgress,
    ) -> Result<SyncReport, SyncError> {
        let store = Store::open(paths.clone())?;
        let checker = Syncer::new(store, remote.clone());
        let remote_sessions: HashMap<String, String> = remote.list_all()?.into_iter().map(|s| (s.id, s.etag)).collect();
        let deleted = DeletedList::load(&paths.deleted_json());
        let mut report = SyncReport::default();
        let mut jobs: VecDeque<(bool, SessionId)> = VecDeque::new(); // (push?, id)
        let local = checker.store.index().list(&ListFilter::default())?;
        let mut local_ids = std::collections::HashSet::new();
        for row in &local {
            local_ids.insert(row.id.to_string());
            if deleted.contains(&row.id) {
                report.skipped_deleted += 1;
                continue;
            }
            let m = checker.store.session_dir(&row.id).read_manifest()?;
            let sync = checker.state(m.as_ref())?.unwrap_or_default();
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
        drop(checker);
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
                            match syncer.pull(&id, false) {
                                // A sync goes both ways: what the pull kept is pushed now.
                                Ok(PullOutcome::LocalAhead { .. }) => {
                                    syncer.push(&id, false, false).map(PullOutcome::Resolved)
                                }
                                other => other,
                            }
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
        PullOutcome::UpToDate | PullOutcome::LocalAhead { .. } | PullOutcome::Resolved(PushOutcome::Unchanged) => {
            r.unchanged += 1;
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sessionfs_shared::sfs::{Block, Role};

    use super::*;

    fn msgs(spec: &[(&str, &str)]) -> Vec<Message> {
        spec.iter().map(|(id, text)| Message::new(*id, Role::User, vec![Block::text(*text)])).collect()
    }

    #[test]
    fn relations_by_message_id() {
        let base = msgs(&[("u1", "a"), ("u2", "b")]);
        assert_eq!(relation(&base, &base), Relation::Same);
        assert_eq!(relation(&msgs(&[("u1", "a"), ("u2", "b"), ("u3", "c")]), &base), Relation::LocalAhead(1));
        assert_eq!(relation(&base[..1], &base), Relation::RemoteAhead);
        assert_eq!(relation(&msgs(&[("u1", "a"), ("x", "c")]), &base), Relation::Diverged);
        assert_eq!(relation(&[], &[]), Relation::Same);
    }

    #[test]
    fn positional_ids_written_at_other_times_are_other_messages() {
        let at = |m: &mut Message, t: &str| m.timestamp = Some(serde_json::from_value(json!(t)).unwrap());
        let mut server = msgs(&[("msg_000001", "a"), ("msg_000002", "from a")]);
        let mut here = msgs(&[("msg_000001", "a"), ("msg_000002", "from b")]);
        for (m, t) in server.iter_mut().zip(["2026-03-20T10:00:00Z", "2026-03-20T10:00:05Z"]) {
            at(m, t);
        }
        for (m, t) in here.iter_mut().zip(["2026-03-20T10:00:00Z", "2026-03-20T10:00:07Z"]) {
            at(m, t);
        }
        assert_eq!(relation(&here, &server), Relation::Diverged);
        // The server's copy is redacted: the same message with other text is still the same message.
        let mut redacted = here.clone();
        redacted[1] = Message { content: vec![Block::text("[REDACTED]")], ..here[1].clone() };
        assert_eq!(relation(&here, &redacted), Relation::Same);
    }

    #[test]
    fn a_fork_is_named_by_the_turns_it_keeps() {
        let id = SessionId::parse("ses_0a1b2c3d11112222").unwrap();
        let server = msgs(&[("u1", "a"), ("ua", "from a")]);
        let b = msgs(&[("u1", "a"), ("ub", "from b")]);
        let c = msgs(&[("u1", "a"), ("uc", "from c")]);
        assert_ne!(fork_id(&id, "e1", &b, &server), fork_id(&id, "e1", &c, &server));
        assert_eq!(fork_id(&id, "e1", &b, &server), fork_id(&id, "e1", &b.clone(), &server));
        // Same ID, other text: other turns.
        let b_edited = msgs(&[("u1", "a"), ("ub", "from b, edited")]);
        assert_ne!(fork_id(&id, "e1", &b, &server), fork_id(&id, "e1", &b_edited, &server));
        assert_ne!(fork_id(&id, "e1", &b, &server), id);
    }
}
