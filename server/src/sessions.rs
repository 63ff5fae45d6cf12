//! Session domain logic shared by the upload, sync and handoff routes: accepting an archive (validate,
//! store the blob under its content address, compare-and-swap the row, drop the replaced blob), reading
//! members back, and turning rows into wire types.

use bytes::Bytes;
use sessionfs_shared::api::{SessionDetail, SessionSummary, SyncPushResponse};
use sessionfs_shared::{ErrorCode, SessionId};

use crate::archive::{self, CheckedArchive};
use crate::blobs::{BlobError, Blobs};
use crate::error::ApiError;
use crate::state::{AppState, now};
use crate::store::{NewVersion, Push, PutOutcome, SessionMeta, SessionRecord, StoreError};

/// What a caller asks of a push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// `If-Match`, unquoted.
    pub expected_etag: Option<String>,
    /// `X-SessionFS-Undelete: true`.
    pub undelete: bool,
    /// `If-None-Match: *`: refuse when a live session has this ID.
    pub create_only: bool,
    /// How the archive's manifest must relate to the session's ID.
    pub manifest_id: ManifestId,
}

/// What a push does with the `session_id` in the archive's manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ManifestId {
    /// Take the archive as it is.
    #[default]
    AsUploaded,
    /// Refuse an archive whose manifest names another session (`PUT /sessions/{id}/sync`).
    MustMatch,
    /// Rewrite the manifest to name the session (`POST /sessions`, where the server picks the ID): clients
    /// refuse to pull an archive whose manifest names another session than the one they asked for.
    Rewrite,
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(key) => ApiError::internal(format!("archive missing for a live session: {key}")),
            BlobError::Backend(e) => ApiError::new(ErrorCode::Unavailable).detail(format!("archive store: {e}")),
        }
    }
}

/// Validate an archive off the async threads.
pub async fn check_archive(
    app: &AppState,
    bytes: Bytes,
    expected: Option<SessionId>,
) -> Result<CheckedArchive, ApiError> {
    let limits = app.archive_limits();
    tokio::task::spawn_blocking(move || archive::check(&bytes, expected.as_ref(), &limits))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new(e.code()).detail(e.to_string()))
}

fn meta_of(checked: &CheckedArchive) -> SessionMeta {
    let m = &checked.manifest;
    let stats = m.stats.clone().unwrap_or_default();
    let model = m.model.clone().unwrap_or_default();
    SessionMeta {
        title: m.title.clone(),
        tags: m.tags.clone(),
        source_tool: m.source.tool.canonical().to_owned(),
        source_tool_version: m.source.tool_version.clone(),
        original_session_id: m.source.original_session_id.clone(),
        model_provider: model.provider,
        model_id: model.model_id.filter(|id| !id.is_empty() && id != "<synthetic>"),
        message_count: checked.message_count.max(stats.message_count),
        turn_count: stats.turn_count,
        tool_use_count: stats.tool_use_count,
        total_input_tokens: stats.total_input_tokens,
        total_output_tokens: stats.total_output_tokens,
        duration_ms: stats.duration_ms,
        parent_session_id: m.parent_session_id.clone(),
        created_at: m.created_at.to_rfc3339(),
        updated_at: m.updated_at.unwrap_or(m.created_at).to_rfc3339(),
        search_text: checked.search_text.clone(),
    }
}

/// The archive with its manifest naming `id` (and without the sync bookkeeping of the ID it had), off the
/// async threads. The ETag is then the hash of these bytes, which is what a pull returns.
async fn rename(app: &AppState, bytes: Bytes, id: &SessionId) -> Result<Bytes, ApiError> {
    let limits = app.archive_limits();
    let id = id.clone();
    tokio::task::spawn_blocking(move || {
        archive::rewrite_manifest(&bytes, &limits, |m| {
            m.session_id = id;
            m.sync = None;
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map(Bytes::from)
    .map_err(|e| ApiError::new(e.code()).detail(e.to_string()))
}

/// Accept an archive for `(owner, id)`. Returns whether it created the session, and the push response.
pub async fn accept_push(
    app: &AppState,
    owner: &str,
    id: &SessionId,
    bytes: Bytes,
    opts: PushOptions,
) -> Result<(bool, SyncPushResponse), ApiError> {
    let _slot = app.push_slots.acquire().await.map_err(ApiError::internal)?;
    let (bytes, expected) = match opts.manifest_id {
        ManifestId::AsUploaded => (bytes, None),
        ManifestId::MustMatch => (bytes, Some(id.clone())),
        ManifestId::Rewrite => (rename(app, bytes, id).await?, Some(id.clone())),
    };
    let checked = check_archive(app, bytes.clone(), expected).await?;
    let key = Blobs::key(owner, id.as_str(), &checked.etag);
    app.blobs.put(&key, bytes).await?;
    let version = NewVersion {
        meta: meta_of(&checked),
        blob_key: key.clone(),
        blob_size: checked.size,
        etag: checked.etag.clone(),
    };
    let now = now();
    let push = Push {
        version: &version,
        expected_etag: opts.expected_etag.as_deref(),
        undelete: opts.undelete,
        create_only: opts.create_only,
        quota: app.config.storage_quota_bytes,
        now: &now,
    };
    let outcome = match app.store.put_session(owner, id, push).await {
        Ok(o) => o,
        Err(e) => {
            // The new archive is unreferenced unless an identical one is the current version.
            if !app.store.blob_in_use(&key).await.unwrap_or(true) {
                let _ = app.blobs.delete(&key).await;
            }
            return Err(match e {
                StoreError::Deleted => ApiError::new(ErrorCode::SessionDeleted).detail(
                    "the session is in the trash; restore it, or push with the header X-SessionFS-Undelete: true",
                ),
                other => other.into(),
            });
        }
    };
    let created = match outcome {
        PutOutcome::Created => true,
        PutOutcome::Updated { previous_blob_key } => {
            if previous_blob_key != key
                && !app.store.blob_in_use(&previous_blob_key).await.unwrap_or(true)
                && let Err(e) = app.blobs.delete(&previous_blob_key).await
            {
                tracing::warn!(key = %previous_blob_key, error = %e, "could not delete a replaced archive");
            }
            false
        }
    };
    metrics::counter!("sfs_pushes_total", "created" => created.to_string()).increment(1);
    Ok((
        created,
        SyncPushResponse {
            session_id: id.to_string(),
            etag: checked.etag,
            blob_size_bytes: checked.size,
            synced_at: now,
        },
    ))
}

/// Read one member of a session's archive.
pub async fn read_member(app: &AppState, s: &SessionRecord, name: &'static str) -> Result<Option<Vec<u8>>, ApiError> {
    let bytes = app.blobs.get(&s.blob_key).await?;
    let limits = app.archive_limits();
    tokio::task::spawn_blocking(move || archive::read_member(&bytes, name, &limits))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("stored archive unreadable: {e}")))
}

/// Find a session by ID or alias; a string that is neither is the seed's 400.
pub async fn resolve(app: &AppState, owner: &str, raw: &str, include_deleted: bool) -> Result<SessionRecord, ApiError> {
    if let Ok(id) = SessionId::parse(raw) {
        return Ok(app.store.session(owner, &id, include_deleted).await?);
    }
    if !raw.starts_with("ses_") && is_alias(raw) {
        return Ok(app.store.session_by_alias(owner, raw).await?);
    }
    Err(ApiError::new(ErrorCode::InvalidSessionId).detail(format!("{raw:?} is neither a session ID nor an alias")))
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,99}$`, as the original.
pub fn is_alias(s: &str) -> bool {
    let mut chars = s.chars();
    (3..=100).contains(&s.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The list form of a row.
pub fn summary(s: &SessionRecord) -> SessionSummary {
    let m = &s.meta;
    SessionSummary {
        id: s.id.to_string(),
        title: m.title.clone(),
        alias: s.alias.clone(),
        tags: m.tags.clone(),
        source_tool: m.source_tool.clone(),
        model_id: m.model_id.clone(),
        message_count: m.message_count,
        turn_count: m.turn_count,
        tool_use_count: m.tool_use_count,
        total_input_tokens: m.total_input_tokens,
        total_output_tokens: m.total_output_tokens,
        blob_size_bytes: s.blob_size,
        etag: s.etag.clone(),
        parent_session_id: m.parent_session_id.clone(),
        created_at: m.created_at.clone(),
        updated_at: m.updated_at.clone(),
        is_deleted: s.is_deleted,
        deleted_at: s.deleted_at.clone(),
        deleted_by: s.deleted_by.clone(),
        delete_scope: s.delete_scope.clone(),
        purge_after: s.purge_after.clone(),
    }
}

/// The detail form of a row.
pub fn detail(s: &SessionRecord) -> SessionDetail {
    SessionDetail {
        summary: summary(s),
        original_session_id: s.meta.original_session_id.clone(),
        source_tool_version: s.meta.source_tool_version.clone(),
        model_provider: s.meta.model_provider.clone(),
        duration_ms: s.meta.duration_ms,
        uploaded_at: s.uploaded_at.clone(),
    }
}

/// `If-Match`/`If-None-Match` values arrive quoted or not. A weak tag (`W/"…"`) is kept whole, so that it
/// never equals an ETag: `If-Match` takes the strong comparison, in which a weak tag matches nothing (RFC 9110
/// §13.1.1), so a push with one is refused with 409 `etag_mismatch` and the current ETag, not applied. (A pull's
/// `If-None-Match` could use the weak comparison; the original server matches a weak tag there neither.)
pub fn unquote_etag(v: &str) -> String {
    let v = v.trim();
    if v.starts_with("W/") { v.to_owned() } else { v.trim_matches('"').to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_etags() {
        assert!(is_alias("my-fix_2"));
        assert!(!is_alias("ab"));
        assert!(!is_alias("-bad"));
        assert!(!is_alias("has space"));
        assert_eq!(unquote_etag("\"abc\""), "abc");
        assert_eq!(unquote_etag(" W/\"abc\""), "W/\"abc\"", "a weak tag never matches");
        assert_eq!(unquote_etag("abc"), "abc");
    }
}
