//! The one streaming pass shared by [`super::check`] and [`super::read_member`]: gzip → byte counter → raw tar
//! headers. Every entry's name, type and size is judged before its bytes are looked at; GNU long names and PAX
//! extended headers are parsed here (bounded), not by the `tar` crate, which would read them into memory
//! whole.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::io::{self, Read};
use std::rc::Rc;

use flate2::bufread::MultiGzDecoder;
use tar::{Archive, Entry, EntryType, PaxExtensions};

use super::{ArchiveError, ArchiveLimits};

/// The largest GNU long-name/long-link or PAX extended header accepted: they are held in memory.
const MAX_EXTENSION_BYTES: u64 = 64 * 1024;

/// Whether the walk goes on after a wanted member was handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on to the next entry.
    Continue,
    /// Stop here (the caller has what it came for); the rest of the stream is not read.
    Stop,
}

/// Why a read of the decompressed stream failed, recorded by [`Counted`] because the `tar` crate flattens
/// every failure into an opaque `io::Error`.
#[derive(Debug)]
enum Fault {
    Gzip(String),
    Limit,
}

type FaultCell = Rc<RefCell<Option<Fault>>>;

/// Counts every decompressed byte (tar headers, padding and data alike) and fails the read that passes the
/// limit, so a bomb is stopped after at most `limit + 1` bytes whatever the headers claim.
struct Counted<R> {
    inner: R,
    total: u64,
    limit: u64,
    fault: FaultCell,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.total > self.limit {
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        // Never ask for more than one byte past the limit.
        let room = self.limit - self.total;
        let want = usize::try_from(room.saturating_add(1)).map_or(buf.len(), |r| r.min(buf.len()));
        match self.inner.read(&mut buf[..want]) {
            Ok(n) => {
                self.total = self.total.saturating_add(n as u64);
                if self.total > self.limit {
                    self.fault.borrow_mut().get_or_insert(Fault::Limit);
                    return Err(io::Error::other("decompressed size limit exceeded"));
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                self.fault.borrow_mut().get_or_insert_with(|| Fault::Gzip(e.to_string()));
                Err(e)
            }
        }
    }
}

/// Turn an I/O error out of the pipeline into the reason it happened.
fn classify(fault: &FaultCell, err: &io::Error, limits: &ArchiveLimits) -> ArchiveError {
    match &*fault.borrow() {
        Some(Fault::Limit) => ArchiveError::UnpackedTooLarge { limit: limits.max_unpacked_bytes },
        Some(Fault::Gzip(reason)) => ArchiveError::CorruptGzip { reason: reason.clone() },
        None => ArchiveError::NotTar { reason: err.to_string() },
    }
}

/// Check a raw member name and return it normalised (no `.` or empty components, no leading `./`). The result
/// is empty for the archive root (`./`).
pub(super) fn member_name(raw: &[u8]) -> Result<String, ArchiveError> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    if raw.is_empty() {
        return Err(ArchiveError::EmptyName { name: String::new() });
    }
    if raw.contains(&0) {
        return Err(ArchiveError::NulInName { name: shown() });
    }
    if raw.contains(&b'\\') {
        return Err(ArchiveError::BackslashInName { name: shown() });
    }
    let text = std::str::from_utf8(raw).map_err(|_| ArchiveError::NonUtf8Name { name: shown() })?;
    let drive = matches!(raw, [letter, b':', ..] if letter.is_ascii_alphabetic());
    if text.starts_with('/') || drive {
        return Err(ArchiveError::AbsolutePath { name: shown() });
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(ArchiveError::ParentDirComponent { name: shown() }),
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// What GNU long-name/long-link and PAX headers said about the entry that follows them.
#[derive(Debug, Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax_seen: bool,
    pax_path: Option<Vec<u8>>,
    pax_link: Option<Vec<u8>>,
    pax_size: Option<u64>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && self.long_link.is_none() && !self.pax_seen
    }

    /// The checked, normalised name of `entry` (which these headers describe) and its name as stored.
    fn name_of<R: Read>(&self, entry: &Entry<'_, R>, declared: u64) -> Result<(String, String), ArchiveError> {
        if self.long_name.is_some() && self.pax_path.is_some() {
            return Err(ArchiveError::ExtendedHeader {
                reason: "a member has both a GNU long name and a PAX path".to_owned(),
            });
        }
        let raw = match self.long_name.as_deref().or(self.pax_path.as_deref()) {
            Some(name) => Cow::Borrowed(name),
            None => entry.path_bytes(),
        };
        let name = member_name(&raw)?;
        let shown = String::from_utf8_lossy(&raw).into_owned();
        if let Some(size) = self.pax_size
            && size != declared
        {
            return Err(ArchiveError::ExtendedHeader {
                reason: format!("member {shown:?}: PAX size {size} disagrees with the header's {declared}"),
            });
        }
        Ok((name, shown))
    }

    fn absorb(&mut self, kind: EntryType, data: Vec<u8>) -> Result<(), ArchiveError> {
        let bad = |reason: &str| ArchiveError::ExtendedHeader { reason: reason.to_owned() };
        match kind {
            EntryType::GNULongName | EntryType::GNULongLink => {
                let mut data = data;
                if data.last() == Some(&0) {
                    data.pop();
                }
                let slot = if kind == EntryType::GNULongName { &mut self.long_name } else { &mut self.long_link };
                if slot.is_some() {
                    return Err(bad("two GNU long-name headers describe the same member"));
                }
                *slot = Some(data);
            }
            EntryType::XHeader => {
                if self.pax_seen {
                    return Err(bad("two PAX headers describe the same member"));
                }
                self.pax_seen = true;
                for record in PaxExtensions::new(&data) {
                    let record = record.map_err(|e| bad(&format!("unreadable PAX record: {e}")))?;
                    match record.key_bytes() {
                        b"path" => self.pax_path = Some(record.value_bytes().to_vec()),
                        b"linkpath" => self.pax_link = Some(record.value_bytes().to_vec()),
                        b"size" => {
                            let size = record
                                .value()
                                .ok()
                                .and_then(|v| v.parse::<u64>().ok())
                                .ok_or_else(|| bad("PAX size is not a number"))?;
                            self.pax_size = Some(size);
                        }
                        key if key.starts_with(b"GNU.sparse.") => {
                            return Err(bad("GNU sparse files are not supported"));
                        }
                        _ => {}
                    }
                }
            }
            // A global header: harmless metadata (`git archive` writes a comment), unless it would rename or
            // resize members, which tools disagree about.
            _ => {
                for record in PaxExtensions::new(&data) {
                    let record = record.map_err(|e| bad(&format!("unreadable PAX record: {e}")))?;
                    let key = record.key_bytes();
                    if matches!(key, b"path" | b"linkpath" | b"size") || key.starts_with(b"GNU.sparse.") {
                        return Err(bad("a PAX global header sets a member's path, link or size"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Read an entry's data into memory, refusing more than `limit` bytes and fewer than the header promised.
fn read_bounded(
    entry: &mut impl Read,
    declared: u64,
    limit: u64,
    name: &str,
    on_io: &dyn Fn(&io::Error) -> ArchiveError,
) -> Result<Vec<u8>, ArchiveError> {
    let mut buf = Vec::with_capacity(usize::try_from(declared.min(1 << 20)).unwrap_or(0));
    entry.take(limit.saturating_add(1)).read_to_end(&mut buf).map_err(|e| on_io(&e))?;
    let got = buf.len() as u64;
    if got > limit {
        return Err(ArchiveError::MemberTooLarge { name: name.to_owned(), limit });
    }
    if got != declared {
        return Err(ArchiveError::NotTar { reason: format!("member {name:?} is truncated") });
    }
    Ok(buf)
}

/// Read and discard an entry's data, counting it against the per-member limit.
fn skip_bounded(
    entry: &mut impl Read,
    limit: u64,
    name: &str,
    on_io: &dyn Fn(&io::Error) -> ArchiveError,
) -> Result<(), ArchiveError> {
    let got = io::copy(&mut entry.take(limit.saturating_add(1)), &mut io::sink()).map_err(|e| on_io(&e))?;
    if got > limit {
        return Err(ArchiveError::MemberTooLarge { name: name.to_owned(), limit });
    }
    Ok(())
}

fn special_kind(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Char => "character device",
        EntryType::Block => "block device",
        EntryType::Fifo => "FIFO",
        EntryType::Continuous => "contiguous file",
        EntryType::GNUSparse => "GNU sparse file",
        _ => "special entry of an unsupported type",
    }
}

/// Walk the archive. `wanted` says which (normalised) member names to read into memory; each is handed to
/// `on_member`, which may stop the walk. Without a stop the walk reads the stream to its end, checking that
/// nothing but zero padding follows the tar end-of-archive marker and that the gzip trailer is intact.
pub(super) fn walk(
    compressed: &[u8],
    limits: &ArchiveLimits,
    wanted: &dyn Fn(&str) -> bool,
    on_member: &mut dyn FnMut(String, Vec<u8>) -> Flow,
) -> Result<(), ArchiveError> {
    if !compressed.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::NotGzip);
    }
    let fault: FaultCell = Rc::new(RefCell::new(None));
    let counted = Counted {
        inner: MultiGzDecoder::new(compressed),
        total: 0,
        limit: limits.max_unpacked_bytes,
        fault: Rc::clone(&fault),
    };
    let on_io = |e: &io::Error| classify(&fault, e, limits);
    let mut archive = Archive::new(counted);
    if walk_entries(&mut archive, limits, wanted, on_member, &on_io)? == Flow::Stop {
        return Ok(());
    }

    // The tar reader stops at the first zero block. Read the rest too: a bomb of zero padding is counted, data
    // hidden past the end marker is refused, and the gzip trailer (CRC, length) gets checked.
    let mut rest = archive.into_inner();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rest.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if buf[..n].iter().any(|b| *b != 0) {
                    return Err(ArchiveError::TrailingData);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(on_io(&e)),
        }
    }
}

/// The entries of the tar stream, up to its end-of-archive marker (or a stop).
fn walk_entries<R: Read>(
    archive: &mut Archive<R>,
    limits: &ArchiveLimits,
    wanted: &dyn Fn(&str) -> bool,
    on_member: &mut dyn FnMut(String, Vec<u8>) -> Flow,
    on_io: &dyn Fn(&io::Error) -> ArchiveError,
) -> Result<Flow, ArchiveError> {
    let mut pending = Pending::default();
    let mut members = 0usize;
    let mut seen: HashSet<String> = HashSet::new();
    for entry in archive.entries().map_err(|e| on_io(&e))?.raw(true) {
        let mut entry = entry.map_err(|e| on_io(&e))?;
        let kind = entry.header().entry_type();
        let declared = entry.size();

        if matches!(
            kind,
            EntryType::GNULongName | EntryType::GNULongLink | EntryType::XHeader | EntryType::XGlobalHeader
        ) {
            if declared > MAX_EXTENSION_BYTES {
                return Err(ArchiveError::ExtendedHeader {
                    reason: format!("an extended header of {declared} bytes (at most {MAX_EXTENSION_BYTES})"),
                });
            }
            let data = read_bounded(&mut entry, declared, MAX_EXTENSION_BYTES, "extended header", on_io)?;
            pending.absorb(kind, data)?;
            continue;
        }

        members += 1;
        if members > limits.max_members {
            return Err(ArchiveError::TooManyMembers { limit: limits.max_members });
        }
        let ext = std::mem::take(&mut pending);
        let (name, shown) = ext.name_of(&entry, declared)?;

        match kind {
            EntryType::Regular => {}
            EntryType::Directory => {
                // Directories are implied by their members' names; their entries are only checked.
                if declared > limits.max_member_bytes {
                    return Err(ArchiveError::MemberTooLarge { name: shown, limit: limits.max_member_bytes });
                }
                skip_bounded(&mut entry, limits.max_member_bytes, &shown, on_io)?;
                continue;
            }
            EntryType::Symlink | EntryType::Link => {
                let target = match ext.long_link.or(ext.pax_link) {
                    Some(t) => t,
                    None => entry.link_name_bytes().map(Cow::into_owned).unwrap_or_default(),
                };
                let kind = if kind == EntryType::Symlink { "symbolic link" } else { "hard link" };
                let target = String::from_utf8_lossy(&target).into_owned();
                return Err(ArchiveError::Link { name: shown, kind, target });
            }
            other => return Err(ArchiveError::SpecialFile { name: shown, kind: special_kind(other) }),
        }

        if name.is_empty() {
            return Err(ArchiveError::EmptyName { name: shown });
        }
        if declared > limits.max_member_bytes {
            return Err(ArchiveError::MemberTooLarge { name, limit: limits.max_member_bytes });
        }
        if !seen.insert(name.clone()) {
            return Err(ArchiveError::DuplicateMember { name });
        }
        if wanted(&name) {
            let bytes = read_bounded(&mut entry, declared, limits.max_member_bytes, &name, on_io)?;
            if on_member(name, bytes) == Flow::Stop {
                return Ok(Flow::Stop);
            }
        } else {
            skip_bounded(&mut entry, limits.max_member_bytes, &name, on_io)?;
        }
    }
    if !pending.is_empty() {
        return Err(ArchiveError::ExtendedHeader {
            reason: "an extended header is not followed by a member".to_owned(),
        });
    }
    Ok(Flow::Continue)
}
