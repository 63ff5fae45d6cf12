//! Damaged database files: told apart from other SQLite errors, and moved aside so that a new file can take
//! their place. `fulltext.db` is only ever derived from the session folders, so a damaged one is replaced on
//! open; `index.db` also holds what capture needs to resume, so it is replaced only when asked
//! (`sfs doctor --rebuild-index`, see `Store::rebuild`), and then filled again from the folders.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::error::{ClientError, Result};
use crate::paths::sqlite_files;

/// Whether `e` says the file is not an SQLite database, or a damaged one.
pub(crate) fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
}

/// Whether `e`, met opening the database at `path`, says it is not a usable database file: damaged, or not a
/// file at all (a folder in its place).
pub(crate) fn is_damaged_file(path: &Path, e: &rusqlite::Error) -> bool {
    is_damage(e) || (e.sqlite_error_code() == Some(ErrorCode::CannotOpen) && path.is_dir())
}

/// `e` as [`ClientError::Damaged`] when it says the database at `path` is damaged.
pub(crate) fn naming(path: &Path) -> impl Fn(ClientError) -> ClientError + '_ {
    move |e| match e {
        ClientError::Sqlite(source) if is_damaged_file(path, &source) => {
            ClientError::Damaged { path: path.to_owned(), source }
        }
        e => e,
    }
}

/// Rename the database at `path` to `<path>.damaged` (replacing an older one), with its WAL files, so that a
/// new database can be made in its place and the old one is still there to look at. Returns the new name.
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf> {
    let [_, wal, shm] = sqlite_files(path);
    let mut damaged = path.as_os_str().to_owned();
    damaged.push(".damaged");
    let [aside, aside_wal, aside_shm] = sqlite_files(Path::new(&damaged));
    // An older damaged copy makes way (a rename cannot replace a folder with a file, or the other way).
    match std::fs::symlink_metadata(&aside) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&aside).map_err(ClientError::io("removing", &aside))?,
        Ok(_) => std::fs::remove_file(&aside).map_err(ClientError::io("removing", &aside))?,
        Err(_) => {}
    }
    std::fs::rename(path, &aside).map_err(ClientError::io("moving aside", path))?;
    for (file, to) in [(wal, aside_wal), (shm, aside_shm)] {
        if file.exists() {
            let _ = std::fs::rename(&file, to);
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_damage_and_is_moved_aside_with_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, vec![0x5a; 8192]).unwrap();
        let err = crate::index::open_connection(&db)
            .and_then(|c| Ok(c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?))
            .unwrap_err();
        let err = naming(&db)(err);
        assert!(matches!(&err, ClientError::Damaged { path, .. } if path == &db), "{err}");
        assert!(err.hint().unwrap().contains("--rebuild-index"));

        std::fs::write(dir.path().join("x.db-wal"), b"wal").unwrap();
        let aside = move_aside(&db).unwrap();
        assert_eq!(aside, dir.path().join("x.db.damaged"));
        assert!(!db.exists() && aside.exists() && dir.path().join("x.db.damaged-wal").exists());
        assert!(!dir.path().join("x.db-wal").exists());
    }

    #[test]
    fn other_errors_are_left_as_they_are() {
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
        assert!(!is_damage(&busy));
        assert!(matches!(naming(Path::new("x"))(ClientError::Sqlite(busy)), ClientError::Sqlite(_)));
    }
}
