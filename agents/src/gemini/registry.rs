//! Gemini CLI's project registry, as gemini-cli 0.61.0 keeps it: `~/.gemini/projects.json` maps an
//! absolute project path to a short name (a slug of its folder name, `-2`, `-3`… on collisions), and
//! `~/.gemini/tmp/<name>/.project_root` and `~/.gemini/history/<name>/.project_root` hold the path that
//! owns the name. Sessions live under `~/.gemini/tmp/<name>/chats`. Updates take the same lock Gemini CLI
//! takes (a `projects.json.lock` directory) and replace the file atomically.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use crate::ResumeError;
use crate::resume::atomic;

/// The marker file naming the folder's owner.
const PROJECT_ROOT_FILE: &str = ".project_root";
/// How long to wait for Gemini CLI's lock, and when a lock is stale (its library's default).
const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_STALE: Duration = Duration::from_secs(10);

/// The project folder name Gemini CLI uses for `project` (an absolute path), registered as Gemini CLI
/// registers it on its first run there.
pub(crate) fn project_slug(gemini_dir: &Path, project: &str) -> Result<String, ResumeError> {
    let registry_path = gemini_dir.join("projects.json");
    fs::create_dir_all(gemini_dir).map_err(|e| ResumeError::io("creating", gemini_dir, e))?;
    let _lock = Lock::take(&registry_path)?;
    let bases = [gemini_dir.join("tmp"), gemini_dir.join("history")];
    let mut doc = read_registry(&registry_path)?;
    let mut data = match doc.remove("projects") {
        None => Map::new(),
        Some(Value::Object(projects)) => projects,
        Some(_) => return Err(invalid(&registry_path, "\"projects\" is not an object")),
    };
    // A name that is not a slug is never used as a folder name (it could climb out of `tmp/`), only replaced.
    let registered = data.get(project).and_then(Value::as_str).filter(|s| valid_slug(s)).map(str::to_owned);
    if let Some(slug) = registered
        && owned_by(&bases, &slug, project)
    {
        ensure_markers(&bases, &slug, project)?;
        return Ok(slug);
    }
    let slug = match existing_slug(&bases, project) {
        Some(slug) => slug,
        None => claim_slug(&bases, project, &data)?,
    };
    // Everything else in the file (other projects, keys a newer Gemini CLI may add) is written back as it was.
    data.insert(project.to_owned(), Value::String(slug.clone()));
    doc.insert("projects".into(), Value::Object(data));
    let text =
        serde_json::to_string_pretty(&Value::Object(doc)).map_err(|e| invalid(&registry_path, &e.to_string()))?;
    atomic::replace(&registry_path, text.as_bytes())?;
    Ok(slug)
}

/// The registry's top-level object: empty when there is no file yet. A file that is not a JSON object is an
/// error, not an empty registry: writing over it would lose every project Gemini CLI registered in it.
fn read_registry(path: &Path) -> Result<Map<String, Value>, ResumeError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(ResumeError::io("reading", path, e)),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(doc)) => Ok(doc),
        Ok(_) => Err(invalid(path, "it is not a JSON object")),
        Err(e) => Err(invalid(path, &e.to_string())),
    }
}

fn invalid(path: &Path, detail: &str) -> ResumeError {
    ResumeError::InvalidRegistry { path: path.to_owned(), detail: detail.to_owned() }
}

/// Gemini CLI's slug of a folder name: lower case, runs of anything but `a-z0-9` as one `-`.
pub(crate) fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() { "project".to_owned() } else { out.to_owned() }
}

fn valid_slug(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn marker_owner(base: &Path, slug: &str) -> Option<String> {
    fs::read_to_string(base.join(slug).join(PROJECT_ROOT_FILE)).ok().map(|s| s.trim().to_owned())
}

fn owned_by(bases: &[PathBuf], slug: &str, project: &str) -> bool {
    bases.iter().all(|b| marker_owner(b, slug).is_none_or(|owner| owner == project))
}

fn existing_slug(bases: &[PathBuf], project: &str) -> Option<String> {
    bases.iter().find_map(|base| {
        let entries = fs::read_dir(base).ok()?;
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .find(|name| marker_owner(base, name).as_deref() == Some(project))
    })
}

fn claim_slug(bases: &[PathBuf], project: &str, taken: &Map<String, Value>) -> Result<String, ResumeError> {
    let base_name = Path::new(project).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let slug = slugify(if base_name.is_empty() { "project" } else { &base_name });
    let mut n = 0u64;
    loop {
        let candidate = if n == 0 { slug.clone() } else { format!("{slug}-{n}") };
        n += 1;
        if taken.values().any(|v| v.as_str() == Some(candidate.as_str())) || !owned_by(bases, &candidate, project) {
            continue;
        }
        ensure_markers(bases, &candidate, project)?;
        return Ok(candidate);
    }
}

fn ensure_markers(bases: &[PathBuf], slug: &str, project: &str) -> Result<(), ResumeError> {
    for base in bases {
        let marker = base.join(slug).join(PROJECT_ROOT_FILE);
        if marker_owner(base, slug).is_none() {
            atomic::replace(&marker, project.as_bytes())?;
        }
    }
    Ok(())
}

/// Gemini CLI's lock on the registry (proper-lockfile: a `<file>.lock` directory).
struct Lock(PathBuf);

impl Lock {
    fn take(file: &Path) -> Result<Self, ResumeError> {
        Self::take_within(file, LOCK_WAIT)
    }

    fn take_within(file: &Path, wait: Duration) -> Result<Self, ResumeError> {
        let dir = PathBuf::from(format!("{}.lock", file.display()));
        let deadline = Instant::now() + wait;
        loop {
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Self(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = fs::metadata(&dir)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    // A stale lock is broken as Gemini CLI breaks it. One that cannot be removed (a file, or a
                    // folder with something in it: not a lock Gemini CLI made) is waited on like a live one, so
                    // the deadline still ends the wait.
                    if age.is_some_and(|a| a > LOCK_STALE) && fs::remove_dir(&dir).is_ok() {
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(ResumeError::Locked { path: file.to_owned(), lock: dir });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(ResumeError::io("locking", &dir, e)),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_match_gemini_cli() {
        assert_eq!(slugify("project-tool_call"), "project-tool-call");
        assert_eq!(slugify("My  Project!"), "my-project");
        assert_eq!(slugify("__"), "project");
    }

    #[test]
    fn registers_like_gemini_cli_and_reuses_or_avoids_names() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        assert_eq!(project_slug(&g, "/w/app").unwrap(), "app");
        assert_eq!(fs::read_to_string(g.join("tmp/app/.project_root")).unwrap(), "/w/app");
        assert_eq!(fs::read_to_string(g.join("history/app/.project_root")).unwrap(), "/w/app");
        assert_eq!(project_slug(&g, "/w/app").unwrap(), "app", "registered once");
        assert_eq!(project_slug(&g, "/other/app").unwrap(), "app-1", "another folder with the same name");
        let registry: Value = serde_json::from_slice(&fs::read(g.join("projects.json")).unwrap()).unwrap();
        assert_eq!(registry["projects"]["/w/app"], "app");
        assert_eq!(registry["projects"]["/other/app"], "app-1");
        assert!(!g.join("projects.json.lock").exists(), "the lock is released");
    }

    #[test]
    fn an_unreadable_registry_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        fs::create_dir_all(&g).unwrap();
        for bad in ["{\"projects\": {\"/w/a\": \"a\"", "[1, 2]", "{\"projects\": 3}"] {
            fs::write(g.join("projects.json"), bad).unwrap();
            let err = project_slug(&g, "/w/app").unwrap_err();
            assert!(matches!(err, ResumeError::InvalidRegistry { .. }), "{bad}: {err}");
            assert!(err.hint().is_some_and(|h| h.contains("move it aside")), "{bad}: {err:?}");
            assert_eq!(fs::read_to_string(g.join("projects.json")).unwrap(), bad, "not written over");
            assert!(!g.join("projects.json.lock").exists(), "the lock is released");
        }
    }

    #[test]
    fn other_keys_and_entries_of_the_registry_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        fs::create_dir_all(&g).unwrap();
        let before = r#"{"version": 2, "projects": {"/w/odd": "Not A Slug", "/w/app": "../../escape"}}"#;
        fs::write(g.join("projects.json"), before).unwrap();
        assert_eq!(project_slug(&g, "/w/app").unwrap(), "app", "a name that is not a slug is replaced");
        let registry: Value = serde_json::from_slice(&fs::read(g.join("projects.json")).unwrap()).unwrap();
        assert_eq!(registry["version"], 2);
        assert_eq!(registry["projects"]["/w/odd"], "Not A Slug");
        assert_eq!(registry["projects"]["/w/app"], "app");
        assert!(!dir.path().join("escape").exists());
    }

    fn make_stale(path: &Path) {
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        fs::File::open(path).unwrap().set_modified(an_hour_ago).unwrap();
    }

    #[test]
    fn a_stale_lock_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("projects.json");
        fs::create_dir(dir.path().join("projects.json.lock")).unwrap();
        make_stale(&dir.path().join("projects.json.lock"));
        let lock = Lock::take_within(&file, Duration::from_millis(300)).unwrap();
        drop(lock);
        assert!(!dir.path().join("projects.json.lock").exists());
    }

    #[test]
    fn a_stale_lock_that_cannot_be_removed_ends_the_wait_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("projects.json");
        let lock = dir.path().join("projects.json.lock");
        // A folder with something in it (rmdir fails), then a plain file (not a directory at all).
        fs::create_dir(&lock).unwrap();
        fs::write(lock.join("leftover"), "").unwrap();
        make_stale(&lock);
        let (tx, rx) = std::sync::mpsc::channel();
        let f = file.clone();
        std::thread::spawn(move || tx.send(Lock::take_within(&f, Duration::from_millis(300)).map(|_| ())));
        let err = rx.recv_timeout(Duration::from_secs(10)).expect("the wait ends at its deadline").unwrap_err();
        assert!(matches!(err, ResumeError::Locked { .. }), "{err}");
        assert!(err.hint().is_some_and(|h| h.contains(&lock.display().to_string())), "{:?}", err.hint());
        assert!(lock.join("leftover").exists(), "what is in it is not removed");

        fs::remove_dir_all(&lock).unwrap();
        fs::write(&lock, "").unwrap();
        make_stale(&lock);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(Lock::take_within(&file, Duration::from_millis(300)).map(|_| ())));
        let err = rx.recv_timeout(Duration::from_secs(10)).expect("the wait ends at its deadline").unwrap_err();
        assert!(matches!(err, ResumeError::Locked { .. }), "{err}");
    }

    #[test]
    fn a_folder_gemini_already_owns_is_found_by_its_marker() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join(".gemini");
        fs::create_dir_all(g.join("tmp/custom")).unwrap();
        fs::write(g.join("tmp/custom/.project_root"), "/w/app").unwrap();
        assert_eq!(project_slug(&g, "/w/app").unwrap(), "custom");
    }
}
