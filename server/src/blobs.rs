//! The archive store over `object_store`: a local directory by default (S3 next). Archives are written
//! under content-addressed keys (`sessions/<owner>/<id>/<etag>.tar.gz`), so a new version never overwrites
//! the one the database points to: a crash at any moment leaves the old archive or the new one, whole.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Blob store errors.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The archive is not there.
    #[error("archive {0} not found")]
    NotFound(String),
    /// The backend failed.
    #[error("archive store: {0}")]
    Backend(#[from] object_store::Error),
}

/// Where archives live.
#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// A directory of files.
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| BlobError::Backend(object_store::Error::Generic { store: "local", source: Box::new(e) }))?;
        Ok(Self { inner: Arc::new(LocalFileSystem::new_with_prefix(dir)?) })
    }

    /// The key of a session's archive version.
    pub fn key(owner: &str, id: &str, etag: &str) -> String {
        format!("sessions/{owner}/{id}/{etag}.tar.gz")
    }

    /// Store bytes (atomically: the local backend writes a staging file and renames it).
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.inner.put(&ObjectPath::from(key), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// Read an archive.
    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        match self.inner.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(key.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Copy an archive to a new key.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        self.inner.copy(&ObjectPath::from(from), &ObjectPath::from(to)).await?;
        Ok(())
    }

    /// Remove an archive; a missing one is fine.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.inner.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Reachable? (Lists one object.)
    pub async fn ping(&self) -> Result<(), BlobError> {
        use futures_util::StreamExt;
        let mut list = self.inner.list(Some(&ObjectPath::from("sessions")));
        match list.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e.into()),
        }
    }
}
