//! Uploaded session archives: a gzip-compressed tar of a `.sfs` directory (`manifest.json`, `messages.jsonl`,
//! optionally `workspace.json`, `tools.json` and others such as `checkpoints/<name>/messages.jsonl`).
//!
//! An archive comes from the network, so it is hostile until proven otherwise. [`check`] reads it in one
//! streaming pass over the decompressed bytes, in memory, and refuses:
//! - input that is not gzip, a corrupt or truncated gzip stream, and a stream that is not a tar archive;
//! - member names that could escape a directory or mean different things to different tools: absolute (`/…`,
//!   `C:…`), with a `..` component, empty, with a NUL byte or a backslash, or not UTF-8;
//! - anything but regular files and directories: symlinks and hardlinks (a later extraction could write
//!   through them), devices, FIFOs, sparse files;
//! - decompression bombs: more than [`ArchiveLimits::max_members`] entries, a member over
//!   [`ArchiveLimits::max_member_bytes`], or a decompressed stream over [`ArchiveLimits::max_unpacked_bytes`].
//!   The bytes actually read are counted (headers, padding and data, up to the end of the gzip stream), so a
//!   lying header or a bomb of zero padding is caught as soon as it passes the limit, not after;
//! - duplicate names (which copy wins depends on the tool), data hidden after the tar end-of-archive marker,
//!   and ambiguous or oversized GNU/PAX extended headers;
//! - a missing or invalid `manifest.json`, a manifest for another session than the one uploaded to, and a
//!   `workspace.json`/`tools.json` that is not a JSON object.
//!
//! Nothing is ever written to disk, so no check here depends on the file system. Lines of `messages.jsonl`
//! that do not parse are skipped: they are the client's business, and a session stays usable without them.

mod walk;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::io;

use crate::sfs::{Block, Manifest, Message, Role, files};
use crate::{ErrorCode, SessionId};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use walk::{Flow, member_name, walk};

/// At most this many bytes of search text are kept per session.
const SEARCH_TEXT_MAX_BYTES: usize = 100 * 1024;
/// Each tool result contributes at most this many characters of search text.
const TOOL_RESULT_MAX_CHARS: usize = 500;

/// How much an archive may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Entries (files and directories; GNU/PAX extended headers are not counted).
    pub max_members: usize,
    /// Bytes of one member.
    pub max_member_bytes: u64,
    /// Bytes of the whole decompressed stream, tar headers and padding included.
    pub max_unpacked_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self { max_members: 1_000, max_member_bytes: 100 * 1024 * 1024, max_unpacked_bytes: 512 * 1024 * 1024 }
    }
}

/// What [`check`] learned about an archive that passed.
#[derive(Debug, Clone)]
pub struct CheckedArchive {
    /// Lowercase hex SHA-256 of the compressed bytes as uploaded.
    pub etag: String,
    /// Compressed size in bytes.
    pub size: u64,
    /// The parsed `manifest.json`.
    pub manifest: Manifest,
    /// Lines of `messages.jsonl` that parsed as messages.
    pub message_count: u64,
    /// Text for full-text search: user and assistant text, tool results cut to 500 characters each, and a
    /// line per tool call (`[name] command file …`, see [`Block::tool_call_text`]), one piece per line; at
    /// most 100 KiB, cut on a char boundary.
    pub search_text: String,
    /// `workspace.json`, when present (always a JSON object).
    pub workspace: Option<Value>,
    /// `tools.json`, when present (always a JSON object).
    pub tools: Option<Value>,
}

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The upload does not start with the gzip magic bytes.
    #[error("the upload is not gzip-compressed (it does not start with the gzip magic bytes 1f 8b)")]
    NotGzip,
    /// The gzip stream is damaged or cut short.
    #[error("the gzip stream is corrupt or truncated: {reason}")]
    CorruptGzip {
        /// What the decompressor said.
        reason: String,
    },
    /// The decompressed bytes are not a tar archive.
    #[error("the decompressed data is not a valid tar archive: {reason}")]
    NotTar {
        /// What the tar reader said.
        reason: String,
    },
    /// A GNU long-name or PAX extended header is malformed, oversized or ambiguous.
    #[error("malformed tar extended header: {reason}")]
    ExtendedHeader {
        /// What is wrong with it.
        reason: String,
    },
    /// Non-zero bytes follow the tar end-of-archive marker.
    #[error("data follows the end-of-archive marker of the tar stream (only zero padding may)")]
    TrailingData,
    /// A member name is empty (or only `.` components).
    #[error("member name {name:?} is empty")]
    EmptyName {
        /// The name as stored.
        name: String,
    },
    /// A member name is absolute: a leading `/` or a Windows drive.
    #[error("member name {name:?} is absolute; member names must be relative")]
    AbsolutePath {
        /// The name as stored.
        name: String,
    },
    /// A member name has a `..` component.
    #[error("member name {name:?} contains a `..` component")]
    ParentDirComponent {
        /// The name as stored.
        name: String,
    },
    /// A member name contains a NUL byte.
    #[error("member name {name:?} contains a NUL byte")]
    NulInName {
        /// The name as stored (lossily decoded).
        name: String,
    },
    /// A member name contains a backslash.
    #[error("member name {name:?} contains a backslash")]
    BackslashInName {
        /// The name as stored.
        name: String,
    },
    /// A member name is not UTF-8.
    #[error("member name {name:?} is not valid UTF-8")]
    NonUtf8Name {
        /// The name, lossily decoded.
        name: String,
    },
    /// A symlink or hardlink member.
    #[error("member {name:?} is a {kind} to {target:?}; only regular files and directories are allowed")]
    Link {
        /// The member's name.
        name: String,
        /// `symbolic link` or `hard link`.
        kind: &'static str,
        /// Where it points.
        target: String,
    },
    /// A device, FIFO, sparse file or other special entry.
    #[error("member {name:?} is a {kind}; only regular files and directories are allowed")]
    SpecialFile {
        /// The member's name.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// More entries than [`ArchiveLimits::max_members`].
    #[error("the archive has more than {limit} members")]
    TooManyMembers {
        /// The limit.
        limit: usize,
    },
    /// A member larger than [`ArchiveLimits::max_member_bytes`].
    #[error("member {name:?} is larger than the limit of {limit} bytes")]
    MemberTooLarge {
        /// The member's name.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// A decompressed stream larger than [`ArchiveLimits::max_unpacked_bytes`].
    #[error("the archive decompresses to more than the limit of {limit} bytes")]
    UnpackedTooLarge {
        /// The limit.
        limit: u64,
    },
    /// Two members with the same name (after dropping `./` and `.` components).
    #[error("member {name:?} appears more than once")]
    DuplicateMember {
        /// The name.
        name: String,
    },
    /// No `manifest.json`.
    #[error("the archive has no \"manifest.json\" at its root")]
    MissingManifest,
    /// `manifest.json` is not JSON.
    #[error("\"manifest.json\" is not valid JSON: {reason}")]
    ManifestNotJson {
        /// The parser's message.
        reason: String,
    },
    /// `manifest.json` is JSON but not a valid manifest.
    #[error("\"manifest.json\" is not a valid manifest: {reason}")]
    InvalidManifest {
        /// What is wrong (a missing field, a bad session ID, …).
        reason: String,
    },
    /// The manifest names another session than the one the archive was uploaded as.
    #[error("the manifest is for session {found}, but the archive was uploaded as session {expected}")]
    SessionIdMismatch {
        /// The session the upload was addressed to.
        expected: SessionId,
        /// The session the manifest names.
        found: SessionId,
    },
    /// `workspace.json` or `tools.json` is not JSON.
    #[error("{member:?} is not valid JSON: {reason}")]
    InvalidJson {
        /// The member.
        member: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// `workspace.json` or `tools.json` is JSON but not an object.
    #[error("{member:?} must be a JSON object, not {found}")]
    NotAnObject {
        /// The member.
        member: &'static str,
        /// What it is instead (`an array`, `a string`, …).
        found: &'static str,
    },
}

impl ArchiveError {
    /// The catalogue code the server answers with: [`ErrorCode::PayloadTooLarge`] for the size and count
    /// limits, [`ErrorCode::InvalidArchive`] for everything else.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooManyMembers { .. } | Self::MemberTooLarge { .. } | Self::UnpackedTooLarge { .. } => {
                ErrorCode::PayloadTooLarge
            }
            _ => ErrorCode::InvalidArchive,
        }
    }
}

/// The members [`check`] reads into memory.
#[derive(Default)]
struct Wanted {
    manifest: Option<Vec<u8>>,
    messages: Option<Vec<u8>>,
    workspace: Option<Vec<u8>>,
    tools: Option<Vec<u8>>,
}

/// Validate and read an uploaded archive in ONE streaming pass over the decompressed bytes (never unpack to
/// disk, never trust header sizes alone: count actual bytes read and stop as soon as a limit is passed).
///
/// # Errors
/// The first reason the archive is refused; see the [module docs](self) and [`ArchiveError`].
pub fn check(
    compressed: &[u8],
    expected_id: Option<&SessionId>,
    limits: &ArchiveLimits,
) -> Result<CheckedArchive, ArchiveError> {
    let mut found = Wanted::default();
    let wanted = |name: &str| matches!(name, files::MANIFEST | files::MESSAGES | files::WORKSPACE | files::TOOLS);
    walk(compressed, limits, &wanted, &mut |name, bytes| {
        let slot = match name.as_str() {
            files::MANIFEST => &mut found.manifest,
            files::MESSAGES => &mut found.messages,
            files::WORKSPACE => &mut found.workspace,
            _ => &mut found.tools,
        };
        *slot = Some(bytes);
        Flow::Continue
    })?;

    let manifest = parse_manifest(found.manifest.as_deref().ok_or(ArchiveError::MissingManifest)?)?;
    if let Some(expected) = expected_id
        && *expected != manifest.session_id
    {
        return Err(ArchiveError::SessionIdMismatch { expected: expected.clone(), found: manifest.session_id });
    }
    let workspace = found.workspace.as_deref().map(|b| json_object(files::WORKSPACE, b)).transpose()?;
    let tools = found.tools.as_deref().map(|b| json_object(files::TOOLS, b)).transpose()?;
    let (message_count, search_text) = read_messages(found.messages.as_deref().unwrap_or_default());

    Ok(CheckedArchive {
        etag: sha256_hex(compressed),
        size: compressed.len() as u64,
        manifest,
        message_count,
        search_text,
        workspace,
        tools,
    })
}

/// Read one member's bytes (by exact relative name, also accepting a `./` prefix) from an archive already
/// checked on upload, under the same limits. None when absent.
///
/// # Errors
/// The archive's first fault met before the member (the walk stops at the member): bad gzip, unsafe entries,
/// limits. Manifest and JSON checks are [`check`]'s alone.
pub fn read_member(compressed: &[u8], name: &str, limits: &ArchiveLimits) -> Result<Option<Vec<u8>>, ArchiveError> {
    // A name no member could have (absolute, `..`, empty) is simply absent.
    let Ok(target) = member_name(name.as_bytes()) else {
        return Ok(None);
    };
    if target.is_empty() {
        return Ok(None);
    }
    let mut out = None;
    walk(compressed, limits, &|member: &str| member == target, &mut |_, bytes| {
        out = Some(bytes);
        Flow::Stop
    })?;
    Ok(out)
}

/// Every regular member of an archive, as (normalised relative name, bytes), under the same limits and
/// refusals as [`check`]. What a client unpacks into a session directory: names are safe to join to it.
///
/// # Errors
/// The archive's first fault (bad gzip, unsafe entries, limits).
pub fn unpack(compressed: &[u8], limits: &ArchiveLimits) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let mut out = Vec::new();
    walk(compressed, limits, &|_: &str| true, &mut |name, bytes| {
        out.push((name, bytes));
        Flow::Continue
    })?;
    Ok(out)
}

/// Re-pack an archive with its manifest changed by `edit` (e.g. a handoff copy gets its own session ID).
/// The other members are kept byte for byte.
///
/// # Errors
/// The archive's faults, a missing or invalid manifest, or a manifest that no longer serialises.
pub fn rewrite_manifest(
    compressed: &[u8],
    limits: &ArchiveLimits,
    edit: impl FnOnce(&mut Manifest),
) -> Result<Vec<u8>, ArchiveError> {
    let mut members = unpack(compressed, limits)?;
    let slot = members.iter_mut().find(|(n, _)| n == files::MANIFEST).ok_or(ArchiveError::MissingManifest)?;
    let mut manifest = parse_manifest(&slot.1)?;
    edit(&mut manifest);
    slot.1 = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ArchiveError::InvalidManifest { reason: format!("cannot serialise the edited manifest: {e}") })?;
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    pack(&refs).map_err(|e| ArchiveError::InvalidManifest { reason: format!("cannot re-pack: {e}") })
}

/// Build a tar.gz from (relative name, bytes) pairs, members sorted by name, mode 0644, mtime 0: deterministic
/// output. Used by tests and by the sync client.
///
/// Names are normalised as [`check`] does (a leading `./` is dropped); a name `check` would refuse, and two
/// pairs with the same name, are an [`io::ErrorKind::InvalidInput`] error.
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] for a bad or repeated name; otherwise only what writing to memory can fail
/// with.
pub fn pack(members: &[(&str, &[u8])]) -> Result<Vec<u8>, io::Error> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let mut sorted = Vec::with_capacity(members.len());
    for (name, data) in members {
        let normalised = member_name(name.as_bytes()).map_err(|e| invalid(e.to_string()))?;
        if normalised.is_empty() {
            return Err(invalid(format!("member name {name:?} is empty")));
        }
        sorted.push((normalised, *data));
    }
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(invalid(format!("member {:?} is given more than once", pair[0].0)));
    }

    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (name, data) in &sorted {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, name, *data)?;
    }
    builder.into_inner()?.finish()
}

fn parse_manifest(bytes: &[u8]) -> Result<Manifest, ArchiveError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ArchiveError::ManifestNotJson { reason: e.to_string() })?;
    if !value.is_object() {
        return Err(ArchiveError::InvalidManifest {
            reason: format!("expected a JSON object, found {}", json_kind(&value)),
        });
    }
    serde_json::from_value(value).map_err(|e| ArchiveError::InvalidManifest { reason: e.to_string() })
}

fn json_object(member: &'static str, bytes: &[u8]) -> Result<Value, ArchiveError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ArchiveError::InvalidJson { member, reason: e.to_string() })?;
    if value.is_object() { Ok(value) } else { Err(ArchiveError::NotAnObject { member, found: json_kind(&value) }) }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Count the messages of `messages.jsonl` and gather their search text. Blank lines and lines that are not
/// messages are skipped.
fn read_messages(bytes: &[u8]) -> (u64, String) {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut count = 0u64;
    let mut text = SearchText::default();
    for line in bytes.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(message) = Message::from_json_line(line) else {
            continue;
        };
        count += 1;
        text.add(&message);
    }
    (count, text.buf)
}

/// Search text under construction, capped at [`SEARCH_TEXT_MAX_BYTES`].
#[derive(Default)]
struct SearchText {
    buf: String,
    full: bool,
}

impl SearchText {
    fn add(&mut self, message: &Message) {
        let conversational = matches!(message.role, Role::User | Role::Assistant);
        for block in &message.content {
            if self.full {
                return;
            }
            match block {
                Block::Text { text } if conversational => self.push(text),
                Block::ToolUse { .. } => {
                    if let Some(line) = block.tool_call_text() {
                        self.push(&line);
                    }
                }
                Block::ToolResult { content, .. } => {
                    let cut = content.char_indices().nth(TOOL_RESULT_MAX_CHARS).map_or(content.len(), |(i, _)| i);
                    self.push(&content[..cut]);
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, piece: &str) {
        if self.full || piece.trim().is_empty() {
            return;
        }
        let separator = usize::from(!self.buf.is_empty());
        let room = SEARCH_TEXT_MAX_BYTES.saturating_sub(self.buf.len() + separator);
        if room == 0 {
            self.full = true;
            return;
        }
        if separator == 1 {
            self.buf.push('\n');
        }
        if piece.len() <= room {
            self.buf.push_str(piece);
        } else {
            self.buf.push_str(&piece[..piece.floor_char_boundary(room)]);
            self.full = true;
        }
    }
}
