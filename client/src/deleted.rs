//! `deleted.json`: IDs of sessions the user deleted, so that neither capture nor autosync brings them
//! back (the seed's v0.9.9 fix). Written by `sfs delete`; read here by capture.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sessionfs_shared::SessionId;

/// The exclusion list, as read once.
#[derive(Debug, Default, Clone)]
pub struct DeletedList {
    entries: BTreeMap<String, Value>,
}

impl DeletedList {
    /// Read `path`; a missing or malformed file is an empty list (malformed is logged).
    pub fn load(path: &Path) -> Self {
        let Ok(bytes) = std::fs::read(path) else {
            return Self::default();
        };
        match serde_json::from_slice::<BTreeMap<String, Value>>(&bytes) {
            Ok(entries) => Self { entries: entries.into_iter().filter(|(_, v)| v.is_object()).collect() },
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "deleted.json is malformed; treating it as empty");
                Self::default()
            }
        }
    }

    /// Whether the session was deleted.
    pub fn contains(&self, id: &SessionId) -> bool {
        self.entries.contains_key(id.as_str())
    }
}
