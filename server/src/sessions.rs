//! Session domain logic shared by the upload, sync and handoff routes: accepting an archive (validate,
//! store the blob under its content address, compare-and-swap the row, drop the replaced blob), reading
//! members back, and turning rows into wire types.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Component;

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use sessionfs_shared::api::{SessionDetail, SessionSummary, SyncPushResponse};
use sessionfs_shared::sfs::Message;
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
    /// A title to write into the manifest in place of its own (`POST /sessions?title=`, as the original);
    /// only where the manifest is rewritten anyway ([`ManifestId::Rewrite`]).
    pub title: Option<String>,
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

/// The archive with its manifest naming `id` (and without the sync bookkeeping of the ID it had), and with
/// `title` if given, off the async threads. The ETag is then the hash of these bytes, which is what a pull returns.
async fn rename(app: &AppState, bytes: Bytes, id: &SessionId, title: Option<String>) -> Result<Bytes, ApiError> {
    let limits = app.archive_limits();
    let id = id.clone();
    tokio::task::spawn_blocking(move || {
        archive::rewrite_manifest(&bytes, &limits, |m| {
            m.session_id = id;
            m.sync = None;
            if let Some(title) = title {
                m.title = Some(title);
            }
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
        ManifestId::Rewrite => (rename(app, bytes, id, opts.title).await?, Some(id.clone())),
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
    // Unpacking costs CPU and holds the member in memory, as a push does: reads share the pushes' slots so
    // that many at once queue instead of exhausting the machine.
    let _slot = app.push_slots.acquire().await.map_err(ApiError::internal)?;
    let bytes = app.blobs.get(&s.blob_key).await?;
    let limits = app.archive_limits();
    tokio::task::spawn_blocking(move || archive::read_member(&bytes, name, &limits))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("stored archive unreadable: {e}")))
}

/// One page of a session's messages (sidechain messages left out, unreadable lines skipped), and how many
/// messages there are in all.
pub struct MessagesPage {
    /// The page, in the order asked for.
    pub messages: Vec<Message>,
    /// Messages in the whole session.
    pub total: u64,
}

/// Page `page_size` messages from the `start`-th (0-based) of `messages.jsonl`, oldest or newest first.
/// `messages.jsonl` is read as a stream, so memory is bounded by the page (and the longest line), not by the
/// file: a small archive can hold a huge, very compressible member.
pub async fn messages_page(
    app: &AppState,
    s: &SessionRecord,
    newest_first: bool,
    start: u64,
    page_size: usize,
) -> Result<MessagesPage, ApiError> {
    // Every line is parsed to count the total: CPU grows with the file, so reads take a slot as pushes do.
    let _slot = app.push_slots.acquire().await.map_err(ApiError::internal)?;
    let bytes = app.blobs.get(&s.blob_key).await?;
    let limits = app.archive_limits();
    tokio::task::spawn_blocking(move || {
        let mut open = |read: &mut dyn FnMut(&mut dyn BufRead) -> io::Result<()>| {
            with_member(&bytes, MESSAGES, &limits, read).map(|found| found.is_some())
        };
        read_page(&mut open, newest_first, start, page_size)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("stored archive unreadable: {e}")))
}

const MESSAGES: &str = "messages.jsonl";

/// Run `read` over member `name` of a stored archive, streamed; false when there is no such member. The
/// archive passed [`archive::check`] when it was pushed; the limits only cap what a damaged one could cost.
fn with_member(
    compressed: &[u8],
    name: &str,
    limits: &archive::ArchiveLimits,
    read: &mut dyn FnMut(&mut dyn BufRead) -> io::Result<()>,
) -> io::Result<Option<()>> {
    let unpacked = MultiGzDecoder::new(compressed).take(limits.max_unpacked_bytes.saturating_add(1));
    let mut tar = tar::Archive::new(unpacked);
    for entry in tar.entries()? {
        let entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        // Names as `check` normalises them (`./messages.jsonl` is `messages.jsonl`).
        let matches = {
            let path = entry.path()?;
            let parts: Vec<&str> = path
                .components()
                .filter_map(|c| match c {
                    Component::Normal(p) => p.to_str(),
                    _ => None,
                })
                .collect();
            parts.join("/") == name
        };
        if matches {
            let mut lines = BufReader::with_capacity(64 * 1024, entry.take(limits.max_member_bytes));
            return read(&mut lines).map(Some);
        }
    }
    Ok(None)
}

/// Every this many messages, the first pass of a newest-first read notes the line the message is on, so the
/// second pass skips to near its page without parsing what comes before.
const CHECKPOINT_EVERY: u64 = 256;

/// The messages whose index (among messages, 0-based) is in `lo..hi`, with room for no more: the page is all
/// a read holds parsed, however long the file.
struct Window {
    lo: u64,
    hi: u64,
    messages: Vec<Message>,
}

impl Window {
    fn new(lo: u64, page_size: usize) -> Self {
        Self { lo, hi: lo.saturating_add(page_size as u64), messages: Vec::with_capacity(page_size) }
    }

    fn wants(&self, index: u64) -> bool {
        (self.lo..self.hi).contains(&index)
    }

    fn done(&self, index: u64) -> bool {
        index >= self.hi
    }

    fn offer(&mut self, index: u64, message: Message) {
        if self.wants(index) && self.messages.len() < self.messages.capacity() {
            self.messages.push(message);
        }
    }
}

/// One pass over the lines of `messages.jsonl`, from line `first_line` on, where the message index is
/// `first_index`. Fills `window`; counts messages to the end unless `stop_after_window`; notes checkpoints.
struct Pass<'a> {
    first_line: u64,
    first_index: u64,
    window: &'a mut Window,
    stop_after_window: bool,
    checkpoints: Option<&'a mut Vec<(u64, u64)>>,
}

impl Pass<'_> {
    /// The index after the last message read (the total when read to the end).
    fn run(mut self, lines: &mut dyn BufRead) -> io::Result<u64> {
        for _ in 0..self.first_line {
            if lines.skip_until(b'\n')? == 0 {
                return Ok(self.first_index);
            }
        }
        let mut line_no = self.first_line;
        let mut index = self.first_index;
        let mut line = Vec::new();
        loop {
            if self.stop_after_window && self.window.done(index) {
                return Ok(index);
            }
            line.clear();
            if lines.read_until(b'\n', &mut line)? == 0 {
                return Ok(index);
            }
            let this_line = line_no;
            line_no += 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            let Ok(message) = Message::from_json_line(&line) else { continue };
            if message.is_sidechain {
                continue;
            }
            if let Some(marks) = self.checkpoints.as_deref_mut()
                && index.is_multiple_of(CHECKPOINT_EVERY)
            {
                marks.push((index, this_line));
            }
            self.window.offer(index, message);
            index += 1;
        }
    }
}

/// What a pass does with the lines of `messages.jsonl`.
type OnePass<'a> = &'a mut dyn FnMut(&mut dyn BufRead) -> io::Result<()>;

/// A page read through `open`, which runs its argument over the lines of `messages.jsonl` (once per pass) and
/// says whether the file exists. Oldest first is one pass; newest first is two: one to count, one to read the
/// page, starting at the checkpoint nearest before it.
fn read_page(
    open: &mut dyn FnMut(OnePass<'_>) -> io::Result<bool>,
    newest_first: bool,
    start: u64,
    page_size: usize,
) -> io::Result<MessagesPage> {
    let mut total = 0;
    if !newest_first {
        let mut window = Window::new(start, page_size);
        open(&mut |lines| {
            let pass = Pass {
                first_line: 0,
                first_index: 0,
                window: &mut window,
                stop_after_window: false,
                checkpoints: None,
            };
            total = pass.run(lines)?;
            Ok(())
        })?;
        return Ok(MessagesPage { messages: window.messages, total });
    }
    let mut marks = Vec::new();
    let mut count_only = Window::new(0, 0);
    let found = open(&mut |lines| {
        let pass = Pass {
            first_line: 0,
            first_index: 0,
            window: &mut count_only,
            stop_after_window: false,
            checkpoints: Some(&mut marks),
        };
        total = pass.run(lines)?;
        Ok(())
    })?;
    // Newest first, the page is the messages `total - start - page_size .. total - start` read forwards.
    let hi = total.saturating_sub(start);
    let lo = hi.saturating_sub(page_size as u64);
    if !found || hi == 0 {
        return Ok(MessagesPage { messages: Vec::new(), total });
    }
    let mut window = Window::new(lo, usize::try_from(hi - lo).unwrap_or(page_size));
    let (first_index, first_line) = marks.iter().rev().find(|(index, _)| *index <= lo).copied().unwrap_or((0, 0));
    open(&mut |lines| {
        let pass = Pass { first_line, first_index, window: &mut window, stop_after_window: true, checkpoints: None };
        pass.run(lines)?;
        Ok(())
    })?;
    let mut messages = window.messages;
    messages.reverse();
    Ok(MessagesPage { messages, total })
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

    /// `messages.jsonl` of `n` messages `m0..`, every 7th a sidechain, with blank and unreadable lines.
    fn jsonl(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let side = i % 7 == 3;
            out.extend_from_slice(
                format!(
                    r#"{{"msg_id":"m{i}","role":"user","is_sidechain":{side},"content":[{{"type":"text","text":"t{i}"}}]}}"#
                )
                .as_bytes(),
            );
            out.extend_from_slice(if i % 5 == 0 { b"\n\nnot json\n" } else { b"\n" });
        }
        out
    }

    /// The IDs of the messages that are not sidechains, in file order.
    fn main_ids(n: usize) -> Vec<String> {
        (0..n).filter(|i| i % 7 != 3).map(|i| format!("m{i}")).collect()
    }

    /// Read a page from `file`, counting the passes and checking that no pass holds more than a page.
    fn page(file: &[u8], newest: bool, start: u64, size: usize) -> (Vec<String>, u64, usize) {
        let mut passes = 0;
        let mut open = |read: &mut dyn FnMut(&mut dyn BufRead) -> io::Result<()>| {
            passes += 1;
            read(&mut io::Cursor::new(file)).map(|()| true)
        };
        let page = read_page(&mut open, newest, start, size).unwrap();
        assert!(page.messages.len() <= size);
        let ids = page.messages.iter().map(|m| m.msg_id.clone()).collect();
        (ids, page.total, passes)
    }

    #[test]
    fn pages_at_both_ends_in_both_orders() {
        let n = 5_000;
        let (file, ids) = (jsonl(n), main_ids(n));
        let total = ids.len() as u64;
        let newest: Vec<String> = ids.iter().rev().cloned().collect();
        for (start, size) in
            [(0, 1), (0, 50), (1000, 37), (total - 3, 50), (total - 1, 1), (total, 10), (total + 9, 10)]
        {
            let s = usize::try_from(start).unwrap();
            let want = |all: &[String]| all.iter().skip(s).take(size).cloned().collect::<Vec<_>>();
            let (got, t, passes) = page(&file, false, start, size);
            assert_eq!((got, t, passes), (want(&ids), total, 1), "oldest first from {start}, {size}");
            // Past the end, the count is the answer: no second pass.
            let (got, t, passes) = page(&file, true, start, size);
            let two = if start < total { 2 } else { 1 };
            assert_eq!((got, t, passes), (want(&newest), total, two), "newest first from {start}, {size}");
        }
    }

    #[test]
    fn a_missing_or_empty_file_is_an_empty_page() {
        let mut open = |_: &mut dyn FnMut(&mut dyn BufRead) -> io::Result<()>| Ok(false);
        let p = read_page(&mut open, true, 0, 10).unwrap();
        assert_eq!((p.messages.len(), p.total), (0, 0));
        assert_eq!(page(b"", false, 0, 10), (vec![], 0, 1));
        assert_eq!(page(b"\n\n", true, 0, 10), (vec![], 0, 1));
    }

    #[test]
    fn a_window_never_holds_more_than_its_page() {
        let mut w = Window::new(10, 3);
        for i in 0..10_000 {
            w.offer(i, Message::from_json_line(br#"{"msg_id":"m","role":"user","content":[]}"#).unwrap());
        }
        assert_eq!(w.messages.len(), 3);
        assert_eq!(w.messages.capacity(), 3, "the page's room was allocated once and never grown");
        let mut none = Window::new(0, 0);
        none.offer(0, Message::from_json_line(br#"{"msg_id":"m","role":"user","content":[]}"#).unwrap());
        assert!(none.messages.is_empty());
    }
}
