use std::io::{self, Read, Write};

use crate::ErrorCode;
use crate::SessionId;
use flate2::write::GzEncoder;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use serde_json::json;
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use super::*;

const ID: &str = "ses_0123456789abcdef";
const MIB: u64 = 1024 * 1024;
const MIB_USIZE: usize = 1024 * 1024;

fn manifest(id: &str) -> String {
    json!({
        "sfs_version": "0.1.0",
        "session_id": id,
        "title": "Fix the login bug",
        "tags": ["auth"],
        "created_at": "2026-03-20T14:00:00.000Z",
        "source": {"tool": "claude-code"},
        "stats": {"message_count": 3}
    })
    .to_string()
}

fn messages() -> String {
    let long_result = "r".repeat(1000);
    [
        json!({"msg_id": "m1", "role": "user", "content": [{"type": "text", "text": "please fix the login bug"}]})
            .to_string(),
        String::new(),
        "   ".to_owned(),
        "this line is not json".to_owned(),
        json!({"msg_id": "m2", "role": "assistant", "content": [
            {"type": "thinking", "text": "secret reasoning"},
            {"type": "text", "text": "looking at auth.py"},
            {"type": "tool_use", "tool_use_id": "t1", "name": "Bash", "input": {"command": "ls"}}
        ]})
        .to_string(),
        json!({"msg_id": "m3", "role": "tool", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": long_result}
        ]})
        .to_string(),
        json!({"msg_id": "m4", "role": "robot", "content": []}).to_string(),
        json!({"msg_id": "m5", "role": "system", "content": [{"type": "text", "text": "system prompt text"}]})
            .to_string(),
    ]
    .join("\n")
}

fn id() -> SessionId {
    SessionId::parse(ID).unwrap()
}

/// A valid session archive.
fn valid_archive() -> Vec<u8> {
    let manifest = manifest(ID);
    let messages = messages();
    let workspace = json!({"root_path": "/home/me/app", "git": {"branch": "main"}}).to_string();
    let tools = json!({"tools_used": ["Bash"]}).to_string();
    pack(&[
        ("messages.jsonl", messages.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
        ("workspace.json", workspace.as_bytes()),
        ("tools.json", tools.as_bytes()),
        ("checkpoints/x/messages.jsonl", b"{}\n"),
    ])
    .unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A header with a raw (unchecked) name and link name.
fn raw_header(name: &[u8], kind: EntryType, size: u64, link: &[u8]) -> Header {
    let mut h = Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

/// One raw tar entry.
struct Raw<'a> {
    name: &'a [u8],
    kind: EntryType,
    data: &'a [u8],
    link: &'a [u8],
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw { name: name.as_bytes(), kind: EntryType::Regular, data, link: b"" }
}

/// A tar (not compressed) of raw entries, with the end-of-archive marker.
fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        builder.append(&raw_header(e.name, e.kind, e.data.len() as u64, e.link), e.data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn raw_tar_gz(entries: &[Raw<'_>]) -> Vec<u8> {
    gzip(&raw_tar(entries))
}

/// A PAX record: `<len> <key>=<value>\n`, where `len` counts the whole record.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len = len.to_string().len() + body;
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// A valid archive with `hostile` appended after the manifest.
fn with_manifest(hostile: Raw<'_>) -> Vec<u8> {
    let m = manifest(ID);
    raw_tar_gz(&[file("manifest.json", m.as_bytes()), hostile])
}

fn check_default(bytes: &[u8]) -> Result<CheckedArchive, ArchiveError> {
    check(bytes, Some(&id()), &ArchiveLimits::default())
}

fn err(bytes: &[u8]) -> ArchiveError {
    check_default(bytes).unwrap_err()
}

#[test]
fn default_limits_are_the_documented_ones() {
    let l = ArchiveLimits::default();
    assert_eq!((l.max_members, l.max_member_bytes, l.max_unpacked_bytes), (1_000, 100 * MIB, 512 * MIB));
}

#[test]
fn a_valid_archive_round_trips() {
    let bytes = valid_archive();
    let checked = check_default(&bytes).unwrap();
    let expected_etag = Sha256::digest(&bytes).iter().fold(String::new(), |hex, b| hex + &format!("{b:02x}"));
    assert_eq!(checked.etag, expected_etag);
    assert_eq!(checked.etag.len(), 64);
    assert_eq!(checked.size, bytes.len() as u64);
    assert_eq!(checked.manifest.session_id, id());
    assert_eq!(checked.manifest.title.as_deref(), Some("Fix the login bug"));
    assert_eq!(checked.manifest.tags, vec!["auth".to_owned()]);
    // m1, m2, m3, m5 parse; the garbage line, the blank lines and the unknown role do not count.
    assert_eq!(checked.message_count, 4);
    let text = &checked.search_text;
    assert!(text.contains("please fix the login bug"), "{text}");
    assert!(text.contains("looking at auth.py"), "{text}");
    assert!(text.lines().any(|l| l == "[Bash] ls"), "a tool call is its name and command: {text}");
    assert!(text.lines().any(|l| l == "r".repeat(500)), "tool result cut to 500 chars: {text}");
    assert!(!text.contains(&"r".repeat(501)), "tool result not cut");
    assert!(!text.contains("secret reasoning"), "thinking is not indexed");
    assert!(!text.contains("system prompt text"), "system text is not indexed");
    assert_eq!(checked.workspace.as_ref().unwrap()["git"]["branch"], "main");
    assert_eq!(checked.tools.as_ref().unwrap()["tools_used"][0], "Bash");
}

#[test]
fn the_expected_id_is_optional_and_other_members_are_optional() {
    let m = manifest(ID);
    let bytes = pack(&[("manifest.json", m.as_bytes())]).unwrap();
    let checked = check(&bytes, None, &ArchiveLimits::default()).unwrap();
    assert_eq!(checked.message_count, 0);
    assert_eq!(checked.search_text, "");
    assert!(checked.workspace.is_none() && checked.tools.is_none());
}

#[test]
fn dot_slash_names_and_directory_entries_are_accepted() {
    // What `tar -czf s.tgz -C session.sfs .` produces.
    let m = manifest(ID);
    let line = json!({"msg_id": "m1", "role": "user", "content": [{"type": "text", "text": "hi there"}]}).to_string();
    let bytes = raw_tar_gz(&[
        Raw { name: b"./", kind: EntryType::Directory, data: b"", link: b"" },
        file("./manifest.json", m.as_bytes()),
        file("./messages.jsonl", line.as_bytes()),
        Raw { name: b"./checkpoints/", kind: EntryType::Directory, data: b"", link: b"" },
    ]);
    let checked = check_default(&bytes).unwrap();
    assert_eq!(checked.message_count, 1);
    assert_eq!(checked.search_text, "hi there");
}

#[test]
fn path_traversal_is_refused() {
    let e = err(&with_manifest(file("../x", b"evil")));
    assert!(matches!(&e, ArchiveError::ParentDirComponent { name } if name == "../x"), "{e:?}");
    assert!(e.to_string().contains("\"../x\""), "{e}");
    let e = err(&with_manifest(file("a/../../x", b"evil")));
    assert!(matches!(&e, ArchiveError::ParentDirComponent { name } if name == "a/../../x"), "{e:?}");
    // Even a directory entry may not climb out.
    let e = err(&with_manifest(Raw { name: b"../d/", kind: EntryType::Directory, data: b"", link: b"" }));
    assert!(matches!(&e, ArchiveError::ParentDirComponent { .. }), "{e:?}");
}

#[test]
fn absolute_names_are_refused() {
    let e = err(&with_manifest(file("/etc/passwd", b"root")));
    assert!(matches!(&e, ArchiveError::AbsolutePath { name } if name == "/etc/passwd"), "{e:?}");
    assert!(e.to_string().contains("\"/etc/passwd\""), "{e}");
    let e = err(&with_manifest(file("C:/Windows/x", b"")));
    assert!(matches!(&e, ArchiveError::AbsolutePath { name } if name == "C:/Windows/x"), "{e:?}");
    let e = err(&with_manifest(file("c:x", b"")));
    assert!(matches!(&e, ArchiveError::AbsolutePath { .. }), "{e:?}");
}

#[test]
fn backslashes_empty_names_and_bad_bytes_are_refused() {
    let e = err(&with_manifest(file("..\\..\\x", b"")));
    assert!(matches!(&e, ArchiveError::BackslashInName { name } if name == "..\\..\\x"), "{e:?}");
    let e = err(&with_manifest(file("", b"x")));
    assert!(matches!(&e, ArchiveError::EmptyName { .. }), "{e:?}");
    let e = err(&with_manifest(file("./.", b"x")));
    assert!(matches!(&e, ArchiveError::EmptyName { name } if name == "./."), "{e:?}");
    let e = err(&with_manifest(Raw { name: b"bad\xff.json", kind: EntryType::Regular, data: b"", link: b"" }));
    assert!(matches!(&e, ArchiveError::NonUtf8Name { .. }), "{e:?}");
    // A NUL can only get into a name through an extended header.
    let pax = pax_record("path", b"notes.txt\0../../x");
    let m = manifest(ID);
    let bytes = raw_tar_gz(&[
        file("manifest.json", m.as_bytes()),
        Raw { name: b"PaxHeaders/notes", kind: EntryType::XHeader, data: &pax, link: b"" },
        file("notes.txt", b"x"),
    ]);
    let e = err(&bytes);
    assert!(matches!(&e, ArchiveError::NulInName { name } if name == "notes.txt\0../../x"), "{e:?}");
    assert!(e.to_string().contains("NUL"), "{e}");
}

#[test]
fn links_are_refused() {
    let e = err(&with_manifest(Raw { name: b"link", kind: EntryType::Symlink, data: b"", link: b"/etc/passwd" }));
    assert!(
        matches!(&e, ArchiveError::Link { name, kind: "symbolic link", target } if name == "link" && target == "/etc/passwd"),
        "{e:?}"
    );
    assert_eq!(e.code(), ErrorCode::InvalidArchive);
    let e = err(&with_manifest(Raw { name: b"hard", kind: EntryType::Link, data: b"", link: b"manifest.json" }));
    assert!(matches!(&e, ArchiveError::Link { name, kind: "hard link", .. } if name == "hard"), "{e:?}");
    assert!(e.to_string().contains("\"hard\" is a hard link to \"manifest.json\""), "{e}");
}

#[test]
fn devices_and_fifos_are_refused() {
    for (kind, what) in
        [(EntryType::Char, "character device"), (EntryType::Block, "block device"), (EntryType::Fifo, "FIFO")]
    {
        let e = err(&with_manifest(Raw { name: b"dev", kind, data: b"", link: b"" }));
        assert!(matches!(&e, ArchiveError::SpecialFile { name, kind } if name == "dev" && *kind == what), "{e:?}");
    }
}

/// Raw-deflate `input` and flush: `Sync` leaves the stream open and byte-aligned, `Finish` ends it.
fn deflate(c: &mut Compress, mut input: &[u8], flush: FlushCompress) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (in_before, out_before) = (c.total_in(), c.total_out());
        let status = c.compress(input, &mut buf, flush).unwrap();
        let consumed = usize::try_from(c.total_in() - in_before).unwrap();
        let produced = usize::try_from(c.total_out() - out_before).unwrap();
        input = &input[consumed..];
        out.extend_from_slice(&buf[..produced]);
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && produced < buf.len(),
        };
        if done {
            return out;
        }
    }
}

/// A tar.gz holding `manifest.json` then `bomb.bin` of `mib` MiB of zeros, built without ever producing the
/// zeros: one sync-flushed deflate segment encoding 1 MiB of zeros (back-references into zeros only) is
/// repeated, and the gzip trailer's CRC is combined from the parts. A 1 GiB bomb takes about 1 MiB and
/// milliseconds to build.
fn zero_bomb(mib: u64) -> Vec<u8> {
    assert!(mib >= 2);
    let size = mib * MIB;
    let m = manifest(ID);
    let mut prefix = Vec::new();
    prefix.extend_from_slice(raw_header(b"manifest.json", EntryType::Regular, m.len() as u64, b"").as_bytes());
    prefix.extend_from_slice(m.as_bytes());
    prefix.resize(prefix.len().next_multiple_of(512), 0);
    prefix.extend_from_slice(raw_header(b"bomb.bin", EntryType::Regular, size, b"").as_bytes());
    // After the bomb's header, the tar stream is `size` zeros of data and the 1024-zero end marker.
    let zeros = vec![0u8; MIB_USIZE];
    let first: Vec<u8> = prefix.iter().copied().chain(zeros.iter().copied()).collect();
    let last: Vec<u8> = zeros.iter().copied().chain([0u8; 1024]).collect();

    let mut c = Compress::new(Compression::best(), false);
    let head = deflate(&mut c, &first, FlushCompress::Sync);
    let middle = deflate(&mut c, &zeros, FlushCompress::Sync);
    let tail = deflate(&mut c, &last, FlushCompress::Finish);

    let (mut crc, mut crc_mib, mut crc_end) = (Crc::new(), Crc::new(), Crc::new());
    crc.update(&first);
    crc_mib.update(&zeros);
    crc_end.update(&last);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&head);
    for _ in 0..mib - 2 {
        out.extend_from_slice(&middle);
        crc.combine(&crc_mib);
    }
    out.extend_from_slice(&tail);
    crc.combine(&crc_end);
    let total = prefix.len() as u64 + size + 1024;
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&u32::try_from(total % (1 << 32)).unwrap().to_le_bytes());
    out
}

#[test]
fn the_bomb_builder_makes_valid_archives() {
    // Small enough to decompress in full: it checks, and the member holds exactly the zeros.
    let bomb = zero_bomb(5);
    let roomy = ArchiveLimits { max_member_bytes: 8 * MIB, max_unpacked_bytes: 8 * MIB, ..ArchiveLimits::default() };
    check(&bomb, Some(&id()), &roomy).unwrap();
    let data = read_member(&bomb, "bomb.bin", &roomy).unwrap().unwrap();
    assert_eq!(data.len() as u64, 5 * MIB);
    assert!(data.iter().all(|b| *b == 0));
    // An independent decoder agrees (this also verifies the CRC and length).
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&bomb[..]).read_to_end(&mut plain).unwrap();
    assert_eq!(plain.len() as u64, 512 * 2 + 5 * MIB + 1024 + 512 * (manifest(ID).len() as u64).div_ceil(512));
}

#[test]
fn a_one_gib_bomb_is_refused_fast() {
    let bomb = zero_bomb(1024);
    assert!(bomb.len() < 8 * MIB_USIZE, "the bomb compresses well: {}", bomb.len());

    // Default limits: the member is over 100 MiB. Stopping early is what keeps these checks in milliseconds;
    // inflating the whole GiB takes seconds even in an optimised build.
    let started = std::time::Instant::now();
    let e = err(&bomb);
    assert!(matches!(&e, ArchiveError::MemberTooLarge { name, limit } if name == "bomb.bin" && *limit == 100 * MIB));
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);

    // A member limit that lets it through: the unpacked-bytes count stops it at 4 MiB.
    let limits = ArchiveLimits { max_members: 10, max_member_bytes: 4 << 30, max_unpacked_bytes: 4 * MIB };
    let e = check(&bomb, None, &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::UnpackedTooLarge { limit } if limit == 4 * MIB), "{e:?}");
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);

    // read_member is held to the same limits.
    let e = read_member(&bomb, "bomb.bin", &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::UnpackedTooLarge { .. }), "{e:?}");
    let e = read_member(&bomb, "bomb.bin", &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(e, ArchiveError::MemberTooLarge { .. }), "{e:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "not fast: {:?}", started.elapsed());
}

#[test]
fn a_bomb_of_many_small_members_is_refused() {
    let m = manifest(ID);
    let chunk = vec![0u8; 256 * 1024];
    let names: Vec<String> = (0..64).map(|i| format!("blob{i:02}.bin")).collect();
    let mut entries = vec![file("manifest.json", m.as_bytes())];
    entries.extend(names.iter().map(|n| file(n, &chunk)));
    let bytes = raw_tar_gz(&entries);
    assert!(bytes.len() < 256 * 1024, "{}", bytes.len());
    // Every member is within its own limit, and there are not too many of them; their sum is too much.
    let limits = ArchiveLimits { max_members: 100, max_member_bytes: MIB, max_unpacked_bytes: 4 * MIB };
    let e = check(&bytes, None, &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::UnpackedTooLarge { limit } if limit == 4 * MIB), "{e:?}");
    // The same archive under a limit it fits passes, so the count is of real bytes.
    let roomy = ArchiveLimits { max_unpacked_bytes: 32 * MIB, ..limits };
    assert!(check(&bytes, None, &roomy).is_ok());
}

#[test]
fn zero_padding_after_the_end_marker_is_counted() {
    let m = manifest(ID);
    let mut tar = raw_tar(&[file("manifest.json", m.as_bytes())]);
    let limits = ArchiveLimits { max_unpacked_bytes: 4 * MIB, ..ArchiveLimits::default() };
    // Ordinary record padding is fine.
    tar.resize(10240, 0);
    assert!(check(&gzip(&tar), None, &limits).is_ok());
    // 8 MiB of padding is a bomb.
    tar.resize(8 * MIB_USIZE, 0);
    let e = check(&gzip(&tar), None, &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::UnpackedTooLarge { .. }), "{e:?}");
}

#[test]
fn data_hidden_after_the_end_marker_is_refused() {
    let m = manifest(ID);
    let mut tar = raw_tar(&[file("manifest.json", m.as_bytes())]);
    tar.extend(raw_tar(&[file("../../hidden", b"x")]));
    let e = err(&gzip(&tar));
    assert!(matches!(e, ArchiveError::TrailingData), "{e:?}");
}

#[test]
fn too_many_members_are_refused() {
    let m = manifest(ID);
    let names: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let mut entries = vec![file("manifest.json", m.as_bytes())];
    entries.extend(names.iter().map(|n| file(n, b"")));
    let bytes = raw_tar_gz(&entries); // six members
    let limits = |max_members| ArchiveLimits { max_members, ..ArchiveLimits::default() };
    assert!(check(&bytes, None, &limits(6)).is_ok());
    let e = check(&bytes, None, &limits(5)).unwrap_err();
    assert!(matches!(e, ArchiveError::TooManyMembers { limit: 5 }), "{e:?}");
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
    assert_eq!(e.to_string(), "the archive has more than 5 members");
}

#[test]
fn a_member_over_the_member_limit_is_refused() {
    let bytes = valid_archive();
    let limits = ArchiveLimits { max_member_bytes: 64, ..ArchiveLimits::default() };
    let e = check(&bytes, None, &limits).unwrap_err();
    // Members come sorted: checkpoints/x/messages.jsonl (3 bytes) fits, manifest.json does not.
    assert!(matches!(&e, ArchiveError::MemberTooLarge { name, limit: 64 } if name == "manifest.json"), "{e:?}");
}

#[test]
fn duplicate_names_are_refused() {
    let m = manifest(ID);
    let e = err(&raw_tar_gz(&[file("manifest.json", m.as_bytes()), file("manifest.json", b"{}")]));
    assert!(matches!(&e, ArchiveError::DuplicateMember { name } if name == "manifest.json"), "{e:?}");
    let e = err(&raw_tar_gz(&[file("manifest.json", m.as_bytes()), file("./manifest.json", b"{}")]));
    assert!(matches!(&e, ArchiveError::DuplicateMember { name } if name == "manifest.json"), "{e:?}");
    let e = err(&raw_tar_gz(&[file("manifest.json", m.as_bytes()), file("a/b", b""), file("a//./b", b"")]));
    assert!(matches!(&e, ArchiveError::DuplicateMember { name } if name == "a/b"), "{e:?}");
}

#[test]
fn a_missing_manifest_is_refused() {
    let e = err(&pack(&[("messages.jsonl", b"")]).unwrap());
    assert!(matches!(e, ArchiveError::MissingManifest), "{e:?}");
    // Not at the root does not count.
    let m = manifest(ID);
    let e = err(&pack(&[("sub/manifest.json", m.as_bytes())]).unwrap());
    assert!(matches!(e, ArchiveError::MissingManifest), "{e:?}");
    // Nor does an empty gzip.
    let e = err(&gzip(b""));
    assert!(matches!(e, ArchiveError::MissingManifest), "{e:?}");
}

#[test]
fn a_manifest_that_is_not_json_is_refused() {
    let e = err(&pack(&[("manifest.json", b"{\"sfs_version\": ")]).unwrap());
    assert!(matches!(&e, ArchiveError::ManifestNotJson { reason } if reason.contains("EOF")), "{e:?}");
    assert!(e.to_string().starts_with("\"manifest.json\" is not valid JSON"), "{e}");
}

#[test]
fn an_invalid_manifest_is_refused_with_the_reason() {
    let bad = manifest("ses_NOPE");
    let e = err(&pack(&[("manifest.json", bad.as_bytes())]).unwrap());
    assert!(matches!(&e, ArchiveError::InvalidManifest { reason } if reason.contains("\"ses_NOPE\"")), "{e:?}");
    assert!(e.to_string().contains("lowercase hex"), "{e}");
    let e = err(&pack(&[("manifest.json", br#"{"sfs_version":"0.1.0"}"#)]).unwrap());
    assert!(matches!(&e, ArchiveError::InvalidManifest { reason } if reason.contains("session_id")), "{e:?}");
    let e = err(&pack(&[("manifest.json", b"[1, 2]")]).unwrap());
    assert!(matches!(&e, ArchiveError::InvalidManifest { reason } if reason.contains("an array")), "{e:?}");
}

#[test]
fn a_manifest_for_another_session_is_refused() {
    let other = "ses_fedcba9876543210";
    let m = manifest(other);
    let bytes = pack(&[("manifest.json", m.as_bytes())]).unwrap();
    let e = err(&bytes);
    assert!(
        matches!(&e, ArchiveError::SessionIdMismatch { expected, found } if expected.as_str() == ID && found.as_str() == other),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains(ID) && text.contains(other), "{text}");
    assert_eq!(e.code(), ErrorCode::InvalidArchive);
    // Without an expected ID it passes.
    assert!(check(&bytes, None, &ArchiveLimits::default()).is_ok());
}

#[test]
fn garbage_is_not_gzip() {
    for bytes in [&b""[..], b"hello world", b"PK\x03\x04zipfile", b"\x1f"] {
        let e = err(bytes);
        assert!(matches!(e, ArchiveError::NotGzip), "{bytes:?}: {e:?}");
        assert_eq!(e.code(), ErrorCode::InvalidArchive);
    }
}

#[test]
fn a_truncated_or_damaged_gzip_is_refused() {
    let bytes = valid_archive();
    for cut in [bytes.len() - 1, bytes.len() - 8, bytes.len() / 2, 12] {
        let e = err(&bytes[..cut]);
        assert!(matches!(e, ArchiveError::CorruptGzip { .. }), "cut at {cut}: {e:?}");
    }
    // A wrong CRC in the trailer.
    let mut damaged = bytes.clone();
    let at = damaged.len() - 8;
    damaged[at] ^= 0xff;
    let e = err(&damaged);
    assert!(matches!(e, ArchiveError::CorruptGzip { .. }), "{e:?}");
    // Garbage after the gzip stream.
    let mut trailing = bytes;
    trailing.extend_from_slice(b"junk junk junk");
    let e = err(&trailing);
    assert!(matches!(e, ArchiveError::CorruptGzip { .. }), "{e:?}");
}

#[test]
fn gzip_of_something_else_is_not_a_tar() {
    let e = err(&gzip(&[b'x'; 2000]));
    assert!(matches!(&e, ArchiveError::NotTar { reason } if reason.contains("cksum")), "{e:?}");
    // A tar cut off inside a member.
    let m = manifest(ID);
    let tar = raw_tar(&[file("manifest.json", m.as_bytes()), file("big", &[7u8; 4096])]);
    let e = err(&gzip(&tar[..512 * 4]));
    assert!(matches!(e, ArchiveError::NotTar { .. }), "{e:?}");
}

#[test]
fn workspace_and_tools_must_be_json_objects() {
    let m = manifest(ID);
    let e = err(&pack(&[("manifest.json", m.as_bytes()), ("workspace.json", b"[1]")]).unwrap());
    assert!(matches!(e, ArchiveError::NotAnObject { member: "workspace.json", found: "an array" }), "{e:?}");
    assert_eq!(e.to_string(), "\"workspace.json\" must be a JSON object, not an array");
    let e = err(&pack(&[("manifest.json", m.as_bytes()), ("tools.json", b"{oops")]).unwrap());
    assert!(matches!(e, ArchiveError::InvalidJson { member: "tools.json", .. }), "{e:?}");
}

#[test]
fn extended_headers_are_bounded_and_unambiguous() {
    let m = manifest(ID);
    // A long name through PAX (as Python's tarfile writes) is read.
    let long = format!("checkpoints/{}/messages.jsonl", "c".repeat(150));
    let pax = pax_record("path", long.as_bytes());
    let bytes = raw_tar_gz(&[
        file("manifest.json", m.as_bytes()),
        Raw { name: b"PaxHeaders/x", kind: EntryType::XHeader, data: &pax, link: b"" },
        file("truncated-name", b"checkpoint"),
    ]);
    check_default(&bytes).unwrap();
    assert_eq!(read_member(&bytes, &long, &ArchiveLimits::default()).unwrap().as_deref(), Some(&b"checkpoint"[..]));
    // A PAX size that disagrees with the header would make tools see different members.
    let pax = pax_record("size", b"999");
    let e = err(&raw_tar_gz(&[
        file("manifest.json", m.as_bytes()),
        Raw { name: b"PaxHeaders/x", kind: EntryType::XHeader, data: &pax, link: b"" },
        file("x", b"abc"),
    ]));
    assert!(matches!(&e, ArchiveError::ExtendedHeader { reason } if reason.contains("999")), "{e:?}");
    // A huge long-name header is not read into memory.
    let huge = vec![b'a'; 100_000];
    let e = err(&raw_tar_gz(&[
        file("manifest.json", m.as_bytes()),
        Raw { name: b"././@LongLink", kind: EntryType::GNULongName, data: &huge, link: b"" },
        file("x", b""),
    ]));
    assert!(matches!(e, ArchiveError::ExtendedHeader { .. }), "{e:?}");
    // A GNU long name may not smuggle in `..`.
    let e = err(&raw_tar_gz(&[
        file("manifest.json", m.as_bytes()),
        Raw { name: b"././@LongLink", kind: EntryType::GNULongName, data: b"../../etc/cron.d/x\0", link: b"" },
        file("x", b""),
    ]));
    assert!(matches!(&e, ArchiveError::ParentDirComponent { name } if name == "../../etc/cron.d/x"), "{e:?}");
}

#[test]
fn read_member_finds_members_and_none_for_absent_ones() {
    let bytes = valid_archive();
    let limits = ArchiveLimits::default();
    assert_eq!(read_member(&bytes, "manifest.json", &limits).unwrap().unwrap(), manifest(ID).as_bytes());
    assert_eq!(read_member(&bytes, "./messages.jsonl", &limits).unwrap().unwrap(), messages().as_bytes());
    assert_eq!(read_member(&bytes, "checkpoints/x/messages.jsonl", &limits).unwrap().unwrap(), b"{}\n");
    assert_eq!(read_member(&bytes, "nope.json", &limits).unwrap(), None);
    assert_eq!(read_member(&bytes, "checkpoints", &limits).unwrap(), None);
    assert_eq!(read_member(&bytes, "../manifest.json", &limits).unwrap(), None);
    assert_eq!(read_member(&bytes, "/manifest.json", &limits).unwrap(), None);
    assert_eq!(read_member(&bytes, "", &limits).unwrap(), None);
    // Members of a `./`-style archive are found by their plain names.
    let m = manifest(ID);
    let dotted = raw_tar_gz(&[file("./manifest.json", m.as_bytes())]);
    assert_eq!(read_member(&dotted, "manifest.json", &limits).unwrap().unwrap(), m.as_bytes());
    // It refuses what check refuses on the way.
    let e = read_member(&with_manifest(file("../x", b"")), "nope", &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::ParentDirComponent { .. }), "{e:?}");
    let e = read_member(b"garbage", "manifest.json", &limits).unwrap_err();
    assert!(matches!(e, ArchiveError::NotGzip), "{e:?}");
}

#[test]
fn pack_is_deterministic_and_sorted() {
    let a = pack(&[("b.txt", b"two"), ("a.txt", b"one")]).unwrap();
    let b = pack(&[("a.txt", b"one"), ("b.txt", b"two")]).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, pack(&[("a.txt", b"one"), ("b.txt", b"TWO")]).unwrap());

    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&a[..]).read_to_end(&mut tar).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut seen = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!((h.mode().unwrap(), h.mtime().unwrap(), h.entry_type()), (0o644, 0, EntryType::Regular));
        seen.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(seen, ["a.txt", "b.txt"]);
}

#[test]
fn pack_refuses_what_check_would_refuse() {
    let e = pack(&[("a", b""), ("./a", b"")]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("\"a\""), "{e}");
    assert_eq!(pack(&[("../x", b"")]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(pack(&[("/x", b"")]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(pack(&[("./", b"")]).unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn pack_handles_long_names() {
    let m = manifest(ID);
    let long = format!("checkpoints/{}/messages.jsonl", "d".repeat(300));
    let bytes = pack(&[("manifest.json", m.as_bytes()), (&long, b"deep")]).unwrap();
    check_default(&bytes).unwrap();
    assert_eq!(read_member(&bytes, &long, &ArchiveLimits::default()).unwrap().unwrap(), b"deep");
}

#[test]
fn search_text_is_capped_on_a_char_boundary() {
    let m = manifest(ID);
    // 'é' is two bytes; one odd byte in front makes the cap fall inside a character.
    let text = format!("x{}", "é".repeat(40_000));
    let line = json!({"msg_id": "m", "role": "user", "content": [{"type": "text", "text": text}]}).to_string();
    let lines = vec![line; 3].join("\n");
    let bytes = pack(&[("manifest.json", m.as_bytes()), ("messages.jsonl", lines.as_bytes())]).unwrap();
    let checked = check_default(&bytes).unwrap();
    assert_eq!(checked.message_count, 3);
    let len = checked.search_text.len();
    assert!((100 * 1024 - 1..=100 * 1024).contains(&len), "{len}");
    assert!(checked.search_text.ends_with('é'));
}

#[test]
fn error_codes_follow_the_catalogue() {
    let too_big = [
        ArchiveError::TooManyMembers { limit: 1 },
        ArchiveError::MemberTooLarge { name: "m".into(), limit: 1 },
        ArchiveError::UnpackedTooLarge { limit: 1 },
    ];
    for e in too_big {
        assert_eq!(e.code(), ErrorCode::PayloadTooLarge, "{e}");
    }
    for e in [ArchiveError::NotGzip, ArchiveError::MissingManifest, ArchiveError::TrailingData] {
        assert_eq!(e.code(), ErrorCode::InvalidArchive, "{e}");
    }
}

#[test]
fn unpack_lists_every_member_and_rewrite_changes_only_the_manifest() {
    let manifest = serde_json::json!({"sfs_version": "0.1.0", "session_id": "ses_0123456789abcdef", "created_at": "2026-03-20T10:00:00Z", "source": {"tool": "codex"}}).to_string();
    let packed =
        pack(&[("manifest.json", manifest.as_bytes()), ("messages.jsonl", b"{}\n"), ("extra/notes.txt", b"keep me")])
            .unwrap();
    let limits = ArchiveLimits::default();
    let members = unpack(&packed, &limits).unwrap();
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["extra/notes.txt", "manifest.json", "messages.jsonl"]);
    let new_id = SessionId::parse("ses_fedcba9876543210").unwrap();
    let rewritten = rewrite_manifest(&packed, &limits, |m| {
        m.parent_session_id = Some(m.session_id.to_string());
        m.session_id = new_id.clone();
    })
    .unwrap();
    let checked = check(&rewritten, Some(&new_id), &limits).unwrap();
    assert_eq!(checked.manifest.parent_session_id.as_deref(), Some("ses_0123456789abcdef"));
    assert_eq!(read_member(&rewritten, "extra/notes.txt", &limits).unwrap().as_deref(), Some(&b"keep me"[..]));
    assert!(rewrite_manifest(b"not gzip", &limits, |_| {}).is_err());
}
