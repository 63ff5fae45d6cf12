//! `deleted.json`: sessions the user deleted, so that neither capture nor autosync brings them back (the
//! seed's v0.9.9 fix), plus sessions the server refused as too large, excluded from autosync until they
//! change. The format is the original's: `{"<id>": {"deleted_at", "scope", "reason"?}}`.
//!
//! Writers take an exclusive OS lock on `deleted.lock` and replace the file atomically, so the daemon and
//! a CLI command can both write without losing an entry.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::Path;

use serde_json::{Value, json};
use sessionfs_shared::SessionId;

use crate::error::{ClientError, Result};
use crate::session_dir::write_atomic;

/// The reason recorded for a session the server refused as too large.
pub const TOO_LARGE: &str = "too_large";

/// The exclusion list, as read once.
#[derive(Debug, Default, Clone)]
pub struct DeletedList {
    entries: BTreeMap<String, Value>,
}

fn read(path: &Path) -> BTreeMap<String, Value> {
    let Ok(bytes) = std::fs::read(path) else { return BTreeMap::new() };
    match serde_json::from_slice::<BTreeMap<String, Value>>(&bytes) {
        Ok(entries) => entries.into_iter().filter(|(_, v)| v.is_object()).collect(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "deleted.json is malformed; treating it as empty");
            BTreeMap::new()
        }
    }
}

/// Read-modify-write under the lock.
fn update(path: &Path, f: impl FnOnce(&mut BTreeMap<String, Value>)) -> Result<()> {
    let lock_path = path.with_extension("lock");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ClientError::io("creating", dir))?;
    }
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(ClientError::io("opening", &lock_path))?;
    lock.lock().map_err(ClientError::io("locking", &lock_path))?;
    let mut entries = read(path);
    f(&mut entries);
    let bytes =
        serde_json::to_vec_pretty(&entries).map_err(|source| ClientError::Json { path: path.to_owned(), source })?;
    write_atomic(path, &bytes)
}

impl DeletedList {
    /// Read `path`; a missing or malformed file is an empty list (malformed is logged).
    pub fn load(path: &Path) -> Self {
        Self { entries: read(path) }
    }

    fn reason(&self, id: &SessionId) -> Option<Option<&str>> {
        self.entries.get(id.as_str()).map(|e| e.get("reason").and_then(Value::as_str))
    }

    /// Whether the user deleted the session (a too-large exclusion is not a deletion).
    pub fn contains(&self, id: &SessionId) -> bool {
        matches!(self.reason(id), Some(r) if r != Some(TOO_LARGE))
    }

    /// Whether the server refused the session as too large and it has not changed since
    /// (`messages_bytes`: the session's current size of `messages.jsonl`).
    pub fn is_too_large(&self, id: &SessionId, messages_bytes: Option<u64>) -> bool {
        let Some(e) = self.entries.get(id.as_str()) else { return false };
        e.get("reason").and_then(Value::as_str) == Some(TOO_LARGE)
            && e.get("messages_bytes").and_then(Value::as_u64) == messages_bytes
    }

    /// IDs and entries, for `sfs trash`.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries.iter()
    }

    /// Record a deletion (scope `local`, `cloud` or `everywhere`) or an exclusion (`reason`).
    pub fn mark(
        path: &Path,
        id: &SessionId,
        scope: &str,
        reason: Option<&str>,
        messages_bytes: Option<u64>,
    ) -> Result<()> {
        let mut entry = json!({ "deleted_at": sessionfs_shared::Timestamp::now().to_rfc3339(), "scope": scope });
        if let Some(r) = reason {
            entry["reason"] = r.into();
        }
        if let Some(n) = messages_bytes {
            entry["messages_bytes"] = n.into();
        }
        update(path, |e| {
            e.insert(id.to_string(), entry);
        })
    }

    /// Forget a session (restored or explicitly pulled).
    pub fn remove(path: &Path, id: &SessionId) -> Result<()> {
        update(path, |e| {
            e.remove(id.as_str());
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_block_and_too_large_only_excludes_until_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deleted.json");
        let a = SessionId::parse("ses_00000000000000aa").unwrap();
        let b = SessionId::parse("ses_00000000000000bb").unwrap();
        DeletedList::mark(&path, &a, "everywhere", None, None).unwrap();
        DeletedList::mark(&path, &b, "cloud", Some(TOO_LARGE), Some(100)).unwrap();
        let list = DeletedList::load(&path);
        assert!(list.contains(&a));
        assert!(!list.contains(&b), "too large is not deleted");
        assert!(list.is_too_large(&b, Some(100)));
        assert!(!list.is_too_large(&b, Some(101)), "a changed session is tried again");
        DeletedList::remove(&path, &a).unwrap();
        assert!(!DeletedList::load(&path).contains(&a));
        // The original's format is read: entries without a reason are deletions.
        std::fs::write(
            &path,
            r#"{"ses_00000000000000cc": {"deleted_at": "2026-05-01T12:00:00Z", "scope": "cloud"}, "junk": 3}"#,
        )
        .unwrap();
        assert!(DeletedList::load(&path).contains(&SessionId::parse("ses_00000000000000cc").unwrap()));
    }

    #[test]
    fn concurrent_writers_lose_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deleted.json");
        std::thread::scope(|s| {
            for t in 0..4 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..25 {
                        let id = SessionId::parse(&format!("ses_{t:08x}{i:08x}")).unwrap();
                        DeletedList::mark(path, &id, "local", None, None).unwrap();
                    }
                });
            }
        });
        assert_eq!(DeletedList::load(&path).entries().count(), 100);
    }
}
