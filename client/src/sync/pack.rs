//! Turning a session directory into the archive that goes over the wire (with secrets redacted), and an
//! archive from the server into a session directory (checked like an upload: no `..`, no links, limits).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;
use sessionfs_shared::SessionId;
use sessionfs_shared::archive::{self, ArchiveLimits};
use sessionfs_shared::sfs::{Message, files};

use super::SyncError;
use crate::error::ClientError;
use crate::redact::{Redactor, summarize};

/// A packed, redacted session.
pub struct PackedSession {
    /// tar.gz bytes.
    pub bytes: Vec<u8>,
    /// Secrets replaced, by kind.
    pub redactions: BTreeMap<&'static str, usize>,
}

/// Every regular file of a session directory (recursively; temporary files skipped), relative names.
fn files_of(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), ClientError> {
    let mut entries: Vec<_> = fs::read_dir(dir).map_err(ClientError::io("reading", dir))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // temp files of an interrupted write
        }
        let ty = e.file_type().map_err(ClientError::io("reading", e.path()))?;
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        if ty.is_dir() {
            files_of(&e.path(), &rel, out)?;
        } else if ty.is_file() {
            out.push((rel, fs::read(e.path()).map_err(ClientError::io("reading", e.path()))?));
        }
    }
    Ok(())
}

/// Pack a session directory, redacting secrets in its messages and manifest. The manifest's local sync
/// bookkeeping is left out (it means nothing to other machines).
pub fn pack_session(dir: &Path, redactor: &Redactor) -> Result<PackedSession, SyncError> {
    let mut members = Vec::new();
    files_of(dir, "", &mut members)?;
    let mut findings = Vec::new();
    for (name, bytes) in &mut members {
        match name.as_str() {
            files::MESSAGES => {
                let mut out = Vec::with_capacity(bytes.len());
                for line in bytes.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
                    match Message::from_json_line(line) {
                        Ok(mut m) => {
                            findings.extend(redactor.redact_message(&mut m));
                            out.extend_from_slice(m.to_json_line().as_bytes());
                        }
                        // A line this build cannot read still leaves the machine redacted, as text.
                        Err(_) => {
                            let raw = String::from_utf8_lossy(line);
                            let (text, found) = redactor.redact_str(&raw);
                            findings.extend(found);
                            out.extend_from_slice(text.as_bytes());
                        }
                    }
                    out.push(b'\n');
                }
                *bytes = out;
            }
            files::MANIFEST | files::WORKSPACE | files::TOOLS => {
                if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
                    if name == files::MANIFEST
                        && let Some(o) = v.as_object_mut()
                    {
                        o.remove("sync");
                    }
                    findings.extend(redactor.redact_json(&mut v));
                    *bytes = serde_json::to_vec_pretty(&v).unwrap_or_else(|_| bytes.clone());
                }
            }
            _ => {}
        }
    }
    let refs: Vec<(&str, &[u8])> = members.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let bytes = archive::pack(&refs).map_err(|e| ClientError::io("packing", dir)(e))?;
    Ok(PackedSession { bytes, redactions: summarize(&findings).into_iter().collect() })
}

/// Check an archive from the server and write it as the session directory `target`, replacing what is
/// there in one rename (an interrupted install leaves the old directory).
pub fn install(bytes: &[u8], id: &SessionId, target: &Path, limits: &ArchiveLimits) -> Result<(), SyncError> {
    let refuse = |reason: String| SyncError::Archive { id: id.to_string(), reason };
    archive::check(bytes, Some(id), limits).map_err(|e| refuse(e.to_string()))?;
    let members = archive::unpack(bytes, limits).map_err(|e| refuse(e.to_string()))?;
    let parent = target.parent().ok_or_else(|| refuse("no parent directory".into()))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let incoming = parent.join(format!(".{name}.incoming-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&incoming);
    fs::create_dir_all(&incoming).map_err(ClientError::io("creating", &incoming))?;
    for (rel, data) in &members {
        // `unpack` already refused absolute names, `..` and links, so `rel` stays inside `incoming`.
        let path = incoming.join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).map_err(ClientError::io("creating", p))?;
        }
        fs::write(&path, data).map_err(ClientError::io("writing", &path))?;
    }
    crate::session_dir::restrict_permissions(&incoming);
    if target.exists() {
        fs::rename(target, &old).map_err(ClientError::io("replacing", target))?;
    }
    fs::rename(&incoming, target).map_err(ClientError::io("replacing", target))?;
    let _ = fs::remove_dir_all(&old);
    Ok(())
}
