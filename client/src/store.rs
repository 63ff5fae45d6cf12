//! The store: the `.sfs` directories and the index, opened together.

use std::fs;

use sessionfs_shared::SessionId;
use sessionfs_shared::sfs::Manifest;

use crate::error::{ClientError, Result};
use crate::index::{Index, write};
use crate::paths::StorePaths;
use crate::session_dir::{MessagesRead, SessionDir, restrict_permissions};

/// A local store.
pub struct Store {
    paths: StorePaths,
    index: Index,
}

impl Store {
    /// Open the store at `paths`, creating its folders and index on first use.
    pub fn open(paths: StorePaths) -> Result<Self> {
        let sessions = paths.sessions();
        fs::create_dir_all(&sessions).map_err(ClientError::io("creating", &sessions))?;
        restrict_permissions(paths.root());
        let index = Index::open(&paths.index_db())?;
        Ok(Self { paths, index })
    }

    /// Where things are.
    pub fn paths(&self) -> &StorePaths {
        &self.paths
    }

    /// The index, for reading.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The index, for writing.
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// A session's directory.
    pub fn session_dir(&self, id: &SessionId) -> SessionDir {
        SessionDir::new(self.paths.session(id))
    }

    /// A session's manifest and messages.
    pub fn load(&self, id: &SessionId) -> Result<(Manifest, MessagesRead)> {
        let dir = self.session_dir(id);
        let manifest = dir.read_manifest()?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
        let messages = dir.read_messages()?;
        Ok((manifest, messages))
    }

    /// Remove a session from disk and index.
    pub fn remove(&mut self, id: &SessionId) -> Result<()> {
        let dir = self.paths.session(id);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(ClientError::io("removing", &dir))?;
        }
        let tx = self.index.write()?;
        write::delete_session(&tx, id)?;
        tx.commit()?;
        Ok(())
    }
}
