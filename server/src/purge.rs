//! Purging soft-deleted sessions: by an admin on demand, and on a schedule for sessions past
//! `SFS_DELETE_RETENTION_DAYS` (the original had no scheduler). A purge removes the row, then the archive
//! unless another row still points at it.

use std::time::Duration;

use sessionfs_shared::SessionId;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::state::{AppState, now};
use crate::store::StoreResult;

/// What a purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Sessions.
    pub sessions: u64,
    /// Archive bytes.
    pub bytes: u64,
}

/// Purge every deleted session past its retention, or the one given (whatever its retention).
pub async fn purge(app: &AppState, one: Option<(&str, &SessionId)>) -> StoreResult<Purged> {
    let mut done = Purged::default();
    for s in app.store.purgeable(&now(), one).await? {
        app.store.purge_session(&s.owner, &s.id).await?;
        if !app.store.blob_in_use(&s.blob_key).await?
            && let Err(e) = app.blobs.delete(&s.blob_key).await
        {
            warn!(key = %s.blob_key, error = %e, "purged a session but could not delete its archive");
        }
        done.sessions += 1;
        done.bytes += s.blob_size;
    }
    Ok(done)
}

/// Run [`purge`] every `interval` until cancelled.
pub async fn run_schedule(app: AppState, interval: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => match purge(&app, None).await {
                Ok(p) if p.sessions > 0 => info!(sessions = p.sessions, bytes = p.bytes, "purged sessions past retention"),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "scheduled purge failed"),
            },
        }
    }
}
