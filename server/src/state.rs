//! `AppState`: what every handler shares. Cheap to clone (all `Arc`s); it never holds the caller.

use std::sync::Arc;

use crate::blobs::Blobs;
use crate::config::Config;
use crate::limits::KeyLimiter;
use crate::mail::Mailer;
use crate::store::MetadataStore;

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    /// The metadata store.
    pub store: Arc<dyn MetadataStore>,
    /// The archive store.
    pub blobs: Blobs,
    /// Settings.
    pub config: Arc<Config>,
    /// Per-key limits (none when disabled).
    pub limiter: Option<Arc<KeyLimiter>>,
    /// Mail.
    pub mailer: Mailer,
    /// Archives being unpacked at once: pushes being checked, and reads of a stored archive's members
    /// (messages pages, workspace, tools). Each costs CPU in proportion to what it decompresses, and a push
    /// or a member read holds it in memory, so this bounds both under load (the rest wait; none is refused).
    pub push_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// The archive limits from the settings.
    pub fn archive_limits(&self) -> crate::archive::ArchiveLimits {
        crate::archive::ArchiveLimits {
            max_members: 1_000,
            max_member_bytes: self.config.max_member_size,
            max_unpacked_bytes: self.config.max_unpacked_size,
        }
    }
}

/// Now, as the RFC 3339 text every row stores.
pub fn now() -> String {
    sessionfs_shared::Timestamp::now().to_rfc3339()
}

/// `days` from now, as RFC 3339.
pub fn in_days(days: u32) -> String {
    sessionfs_shared::Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
        .to_rfc3339()
}

/// `hours` from now, as RFC 3339.
pub fn in_hours(hours: u32) -> String {
    sessionfs_shared::Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::hours(i64::from(hours)))
        .to_rfc3339()
}
