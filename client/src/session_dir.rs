//! One `.sfs` directory on disk. Whole files are replaced atomically (temp file + rename); the message log
//! is appended to, after cutting it back to the length the index last committed. Capture first takes into
//! the index the whole message lines past that length (`Capturer::adopt_uncommitted`), so what is cut here is
//! only what a crash left half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sessionfs_shared::sfs::{Manifest, Message, files};

use crate::error::{ClientError, Result};

/// A session directory.
#[derive(Debug, Clone)]
pub struct SessionDir {
    path: PathBuf,
}

/// The messages of a session as read from disk, with the lines that could not be read.
#[derive(Debug, Default)]
pub struct MessagesRead {
    /// Messages in file order.
    pub messages: Vec<Message>,
    /// Where each message's line is in `messages.jsonl` (parallel to `messages`).
    pub spans: Vec<LineSpan>,
    /// (1-based line, error) for each unreadable line.
    pub skipped: Vec<(u64, String)>,
}

/// Where one message's line sits in `messages.jsonl` (without its newline). The index keeps it so search can
/// read a message's text from the session instead of holding a second copy of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    /// Byte offset of the line.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// Messages encoded as lines of `messages.jsonl`, with where each line starts. Encoding is done apart from
/// writing so an import can encode one session on its parse-ahead thread while another is being written.
#[derive(Debug, Default)]
pub struct EncodedLines {
    bytes: Vec<u8>,
    /// (start, length) of each line, from the start of `bytes`.
    lines: Vec<(u64, u64)>,
}

impl EncodedLines {
    /// Encode `messages`, one JSON line each.
    pub fn new(messages: &[Message]) -> Self {
        Self::with_capacity(messages, 0)
    }

    /// [`EncodedLines::new`] into a buffer of at least `capacity` bytes.
    pub fn with_capacity(messages: &[Message], capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity.max(messages.len() * 256));
        let mut lines = Vec::with_capacity(messages.len());
        for m in messages {
            let start = bytes.len() as u64;
            m.write_json_line(&mut bytes);
            lines.push((start, bytes.len() as u64 - start));
            bytes.push(b'\n');
        }
        Self { bytes, lines }
    }

    /// Bytes, newlines included.
    pub fn byte_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Where each line is once the lines are written at `base`.
    pub fn spans_at(&self, base: u64) -> Vec<LineSpan> {
        self.lines.iter().map(|&(start, len)| LineSpan { offset: base + start, len }).collect()
    }
}

impl SessionDir {
    /// The directory at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it holds a manifest.
    pub fn exists(&self) -> bool {
        self.path.join(files::MANIFEST).is_file()
    }

    /// Create the directory (owner-only on Unix).
    pub fn create(&self) -> Result<()> {
        fs::create_dir_all(&self.path).map_err(ClientError::io("creating", &self.path))?;
        restrict_permissions(&self.path);
        Ok(())
    }

    /// The manifest, or `None` when there is none yet.
    pub fn read_manifest(&self) -> Result<Option<Manifest>> {
        self.read_json(files::MANIFEST)
    }

    /// Replace the manifest atomically.
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<u64> {
        self.write_json(files::MANIFEST, manifest)
    }

    /// Read a JSON file of the session; `None` when absent.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let path = self.path.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| ClientError::Json { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClientError::io("reading", path)(e)),
        }
    }

    /// Replace a JSON file atomically (pretty-printed); returns its size.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<u64> {
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|source| ClientError::Json { path: self.path.join(name), source })?;
        bytes.push(b'\n');
        write_atomic(&self.path.join(name), &bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Write a JSON file (pretty-printed); returns its size. Atomically, or for a session the index does not
    /// list yet (`unlisted`) in place, without the temporary file and rename: nothing reads an unlisted
    /// session's files before the index commits it, and a write torn by a crash is redone by the next capture.
    pub fn put_json<T: Serialize>(&self, name: &str, value: &T, unlisted: bool) -> Result<u64> {
        if !unlisted {
            return self.write_json(name, value);
        }
        let path = self.path.join(name);
        let mut bytes =
            serde_json::to_vec_pretty(value).map_err(|source| ClientError::Json { path: path.clone(), source })?;
        bytes.push(b'\n');
        fs::write(&path, &bytes).map_err(ClientError::io("writing", &path))?;
        Ok(bytes.len() as u64)
    }

    /// Append lines to `messages.jsonl`, first cutting it back to `committed_len` bytes. Returns the offset
    /// the lines were written at (their end is that plus the lines' length in bytes).
    pub fn append_lines(&self, committed_len: u64, lines: &EncodedLines) -> Result<u64> {
        let path = self.path.join(files::MESSAGES);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(ClientError::io("opening", &path))?;
        let len = file.metadata().map_err(ClientError::io("reading", &path))?.len();
        if len != committed_len {
            // Bytes past the committed length come from a pass that did not finish (capture has taken in the
            // whole messages among them already).
            file.set_len(committed_len.min(len)).map_err(ClientError::io("truncating", &path))?;
        }
        file.write_all(&lines.bytes).map_err(ClientError::io("appending to", &path))?;
        Ok(committed_len.min(len))
    }

    /// Cut `messages.jsonl` after its last whole line (every line capture writes ends in a newline: what follows
    /// the last one was being written when a pass stopped). Returns its length after.
    pub fn cut_after_last_line(&self) -> Result<u64> {
        let path = self.path.join(files::MESSAGES);
        let mut file =
            OpenOptions::new().read(true).write(true).open(&path).map_err(ClientError::io("opening", &path))?;
        let mut end = file.metadata().map_err(ClientError::io("reading", &path))?.len();
        // Back from the end, a block at a time: the half-written part is short.
        let mut block = vec![0u8; 64 * 1024];
        while end > 0 {
            let start = end.saturating_sub(block.len() as u64);
            let block = &mut block[..(end - start) as usize];
            file.seek(SeekFrom::Start(start)).map_err(ClientError::io("seeking", &path))?;
            file.read_exact(block).map_err(ClientError::io("reading", &path))?;
            if let Some(i) = block.iter().rposition(|b| *b == b'\n') {
                end = start + i as u64 + 1;
                break;
            }
            end = start;
        }
        file.set_len(end).map_err(ClientError::io("truncating", &path))?;
        Ok(end)
    }

    /// Replace `messages.jsonl` atomically by `lines`.
    pub fn rewrite_lines(&self, lines: &EncodedLines) -> Result<()> {
        write_atomic(&self.path.join(files::MESSAGES), &lines.bytes)
    }

    /// The message on the line at `span` (search reads the text of the messages it found this way).
    pub fn read_message_at(&self, span: LineSpan) -> Result<Message> {
        self.open_messages()?.read_at(span)
    }

    /// Open `messages.jsonl` to read messages at indexed spans, several from one open file.
    pub fn open_messages(&self) -> Result<MessageFile> {
        let path = self.path.join(files::MESSAGES);
        let file = File::open(&path).map_err(ClientError::io("opening", &path))?;
        Ok(MessageFile { file, path })
    }

    /// Read every message, leniently: unreadable lines are reported, not fatal.
    pub fn read_messages(&self) -> Result<MessagesRead> {
        let path = self.path.join(files::MESSAGES);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(MessagesRead::default());
            }
            Err(e) => return Err(ClientError::io("opening", path)(e)),
        };
        let mut out = MessagesRead::default();
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut line_no = 0u64;
        let mut offset = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(ClientError::io("reading", &path))?;
            if n == 0 {
                break;
            }
            let start = offset;
            offset += n as u64;
            line_no += 1;
            if line.trim_ascii().is_empty() {
                continue;
            }
            let text = line.trim_ascii_end();
            match Message::from_json_line(text) {
                Ok(m) => {
                    out.messages.push(m);
                    out.spans.push(LineSpan { offset: start, len: text.len() as u64 });
                }
                Err(e) => out.skipped.push((line_no, e.to_string())),
            }
        }
        Ok(out)
    }

    /// Total size of the files in the directory.
    pub fn size_bytes(&self) -> u64 {
        dir_size(&self.path)
    }
}

/// Write `bytes` to a temporary file beside `path`, then rename it over `path`: readers see the old file
/// or the new one, never a torn one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(ClientError::io("creating", &tmp))?;
    f.write_all(bytes).map_err(ClientError::io("writing", &tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(ClientError::io("replacing", path))
}

pub(crate) fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

#[cfg(unix)]
pub(crate) fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    // Sessions hold private conversations: owner-only. Failing to chmod is not worth failing a capture. Only
    // group and other bits go: the owner's stay as they are (a store made read-only stays read-only).
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700));
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn restrict_permissions(_path: &Path) {}

/// A session's `messages.jsonl`, open for reading messages at the spans the index keeps.
pub struct MessageFile {
    file: File,
    path: PathBuf,
}

impl MessageFile {
    /// The message whose line is at `span`.
    pub fn read_at(&mut self, span: LineSpan) -> Result<Message> {
        let path = &self.path;
        self.file.seek(SeekFrom::Start(span.offset)).map_err(ClientError::io("seeking", path))?;
        // The span comes from the index, which may be damaged: never trust it for an allocation size.
        let mut line = Vec::with_capacity(span.len.min(1 << 20) as usize);
        (&mut self.file).take(span.len).read_to_end(&mut line).map_err(ClientError::io("reading", path))?;
        Message::from_json_line(&line).map_err(|source| ClientError::Json { path: path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn restricting_permissions_takes_group_and_other_bits_and_leaves_the_owners() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for (before, after) in [(0o755, 0o700), (0o555, 0o500), (0o700, 0o700), (0o500, 0o500)] {
            let dir = tmp.path().join(format!("{before:o}"));
            fs::create_dir(&dir).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(before)).unwrap();
            restrict_permissions(&dir);
            assert_eq!(mode(&dir), after, "{before:o}");
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
    }
    use sessionfs_shared::sfs::{Block, Role};

    fn msg(i: u32) -> Message {
        Message::new(format!("m{i}"), Role::User, vec![Block::text(format!("hello {i}"))])
    }

    #[test]
    fn append_cuts_back_an_uncommitted_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SessionDir::new(tmp.path().join("s"));
        dir.create().unwrap();
        let first = EncodedLines::new(&[msg(1), msg(2)]);
        assert_eq!(dir.append_lines(0, &first).unwrap(), 0);
        let len = first.byte_len();
        // A pass that crashed after writing half a line:
        let path = dir.path().join(files::MESSAGES);
        OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"msg_id\":\"m3\",\"ro").unwrap();
        let second = EncodedLines::new(&[msg(3)]);
        let base = dir.append_lines(len, &second).unwrap();
        assert_eq!(base, len, "written where the committed bytes end");
        let read = dir.read_messages().unwrap();
        assert!(read.skipped.is_empty(), "{:?}", read.skipped);
        assert_eq!(read.messages.iter().map(|m| m.msg_id.as_str()).collect::<Vec<_>>(), ["m1", "m2", "m3"]);
        assert_eq!(base + second.byte_len(), fs::metadata(&path).unwrap().len());
        // The spans found by reading are the ones the encoder gave, and each leads back to its message.
        let mut spans = first.spans_at(0);
        spans.extend(second.spans_at(base));
        assert_eq!(read.spans, spans);
        for (span, m) in spans.iter().zip(&read.messages) {
            assert_eq!(&dir.read_message_at(*span).unwrap(), m);
        }
    }

    #[test]
    fn a_span_that_does_not_hold_a_message_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SessionDir::new(tmp.path());
        let lines = EncodedLines::new(&[msg(1), msg(2)]);
        dir.append_lines(0, &lines).unwrap();
        let span = lines.spans_at(0)[0];
        let err = dir.read_message_at(LineSpan { offset: 3, len: span.len }).unwrap_err();
        assert!(matches!(err, ClientError::Json { .. }), "{err}");
        let past_end = dir.read_message_at(LineSpan { offset: 1 << 20, len: 10 }).unwrap_err();
        assert!(matches!(past_end, ClientError::Json { .. }), "{past_end}");
        // A damaged index (a negative length read back as u64) is an error too (it reads to the end of the
        // file: two lines), not a huge allocation.
        let huge = dir.read_message_at(LineSpan { offset: 0, len: u64::MAX }).unwrap_err();
        assert!(matches!(huge, ClientError::Json { .. }), "{huge}");
    }

    #[test]
    fn unreadable_lines_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = SessionDir::new(tmp.path());
        fs::write(
            tmp.path().join(files::MESSAGES),
            "{\"msg_id\":\"a\",\"role\":\"user\",\"content\":[]}\nnot json\n\n",
        )
        .unwrap();
        let read = dir.read_messages().unwrap();
        assert_eq!(read.messages.len(), 1);
        assert_eq!(read.skipped.len(), 1);
        assert_eq!(read.skipped[0].0, 2);
    }
}
