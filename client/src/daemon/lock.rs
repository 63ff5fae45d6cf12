//! The single-instance lock: an exclusive OS lock on `sfsd.lock`, which also records the holder's pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{ClientError, Result};

/// Held for as long as the daemon runs; the OS releases it if the process dies.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    path: PathBuf,
}

/// What a probe of the lock found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// A daemon holds it; its pid as recorded.
    Held {
        /// The pid text in the lock file.
        pid: String,
    },
    /// Nobody holds it.
    Free,
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ClientError::io("creating", dir))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(ClientError::io("opening", path))
}

fn read_pid(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut s));
    let pid = s.trim().to_owned();
    if pid.is_empty() { "unknown".into() } else { pid }
}

impl DaemonLock {
    /// Take the lock or say who holds it.
    pub fn acquire(path: &Path) -> Result<Self> {
        let mut file = open(path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).map_err(ClientError::io("writing", path))?;
                write!(file, "{}", std::process::id()).map_err(ClientError::io("writing", path))?;
                Ok(Self { _file: file, path: path.to_owned() })
            }
            Err(TryLockError::WouldBlock) => {
                Err(ClientError::AlreadyRunning { pid: read_pid(&mut file), lock: path.to_owned() })
            }
            Err(TryLockError::Error(e)) => Err(ClientError::io("locking", path)(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a daemon holds the lock, without disturbing it.
pub fn probe(path: &Path) -> Result<LockState> {
    if !path.exists() {
        return Ok(LockState::Free);
    }
    // Read-only: a probe must work in a store it may not write (`sfs doctor` on a read-only `$SFS_HOME`).
    let mut file = File::open(path).map_err(ClientError::io("opening", path))?;
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(LockState::Free)
        }
        Err(TryLockError::WouldBlock) => Ok(LockState::Held { pid: read_pid(&mut file) }),
        Err(TryLockError::Error(e)) => Err(ClientError::io("locking", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_the_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sfsd.lock");
        let first = DaemonLock::acquire(&path).unwrap();
        let err = DaemonLock::acquire(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("already running") && text.contains(&std::process::id().to_string()), "{text}");
        assert_eq!(probe(&path).unwrap(), LockState::Held { pid: std::process::id().to_string() });
        drop(first);
        assert_eq!(probe(&path).unwrap(), LockState::Free);
        DaemonLock::acquire(&path).unwrap();
    }
}
