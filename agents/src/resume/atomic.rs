//! Writing native files atomically: a temporary file in the same folder, renamed into place, so an
//! agent (or the capture daemon) never sees half a session.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use super::ResumeError;

/// Create `path` with `bytes`, creating its folder. Fails when `path` exists: a resume never replaces a
/// native file.
pub(crate) fn create_new(path: &Path, bytes: &[u8]) -> Result<(), ResumeError> {
    if path.exists() {
        return Err(ResumeError::io("creating", path, std::io::ErrorKind::AlreadyExists.into()));
    }
    replace(path, bytes)
}

/// Write `path` with `bytes` (replacing it if it exists), through a temporary file and a rename.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> Result<(), ResumeError> {
    let dir = path.parent().ok_or_else(|| ResumeError::io("writing", path, std::io::ErrorKind::InvalidInput.into()))?;
    fs::create_dir_all(dir).map_err(|e| ResumeError::io("creating", dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.sfs-{}.tmp", super::ids::hex(8)));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(ResumeError::io("writing", path, e));
    }
    Ok(())
}
