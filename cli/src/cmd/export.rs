//! `sfs export`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use sessionfs_client::Redactor;

use crate::{context, render};

/// Output formats of `sfs export`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    /// The .sfs directory (manifest.json, messages.jsonl, …)
    Sfs,
    /// A readable Markdown transcript
    Markdown,
    /// The manifest with a `messages` array
    Json,
}

/// Write a session out as .sfs, Markdown or JSON
#[derive(Debug, clap::Args)]
pub struct Export {
    /// Session ID, unique ID prefix, or alias
    session: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// Where to write (a directory for sfs, default `<id>.sfs`; a file for markdown and json, default or `-`: stdout)
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace an existing output
    #[arg(long)]
    force: bool,
    /// Keep secrets (API keys, tokens, passwords) instead of redacting them
    #[arg(long)]
    no_redact: bool,
}

fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut n = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let target = to.join(entry.file_name());
        if ty.is_dir() {
            n += copy_dir(&entry.path(), &target)?;
        } else if ty.is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
            std::fs::copy(entry.path(), &target).with_context(|| format!("writing {}", target.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

fn redaction_note(r: &std::collections::BTreeMap<&'static str, usize>) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!("; redacted {} (use --no-redact to keep them)", sessionfs_client::sync::Redactions(r))
    }
}

/// Refuse to write at or under the store: an export there could replace a session's folder.
fn outside_the_store(out: &Path, store: &Path) -> Result<()> {
    let absolute = |p: &Path| -> Option<PathBuf> {
        // `out` may not exist yet: its nearest existing ancestor is resolved, and the rest joined back on.
        let mut existing = p.to_path_buf();
        let mut rest = Vec::new();
        while !existing.exists() {
            rest.push(existing.file_name()?.to_owned());
            existing = existing.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty())?;
        }
        let mut resolved = existing.canonicalize().ok()?;
        resolved.extend(rest.iter().rev());
        Some(resolved)
    };
    let out = if out.is_absolute() { out.to_path_buf() } else { std::env::current_dir()?.join(out) };
    if let (Some(out), Some(store)) = (absolute(&out), store.canonicalize().ok())
        && out.starts_with(&store)
    {
        bail!("{} is inside the store ({}): export somewhere else", out.display(), store.display());
    }
    Ok(())
}

/// Check that `out` can be written, and with `force` clear what is there: a file, or (for a directory export,
/// `dir`) an earlier export, whose files would otherwise mix with the new ones. A folder that is not an export
/// is never removed, forced or not.
fn make_room(out: &Path, force: bool, dir: bool) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty() && !p.is_dir()) {
        bail!("the folder {} does not exist: create it first, or give another path", parent.display());
    }
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if meta.is_dir() {
        if !dir {
            bail!("{} is a folder: give the path of a file (in it, or elsewhere)", out.display());
        }
        if !out.join(sessionfs_shared::sfs::files::MANIFEST).is_file() {
            bail!("{} is a folder that is not a session export: give a new path", out.display());
        }
    }
    if !force {
        bail!("{} already exists (use --force to replace it)", out.display());
    }
    if meta.is_dir() {
        std::fs::remove_dir_all(out).with_context(|| format!("removing the earlier export {}", out.display()))?;
    } else if dir {
        std::fs::remove_file(out).with_context(|| format!("removing {}", out.display()))?;
    }
    Ok(())
}

impl Export {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let id = store.index().resolve(&self.session)?;
        // `-o -` is stdout, as for most tools; never a file named `-`.
        let to_stdout = self.output.as_deref() == Some(Path::new("-"));
        match self.format {
            Format::Sfs if to_stdout => {
                bail!(
                    "an sfs export is a folder of files, so it cannot go to stdout (-o -): give a folder path, or use \
                     --format markdown or json"
                );
            }
            Format::Sfs => {
                let out = self.output.unwrap_or_else(|| PathBuf::from(format!("{id}.sfs")));
                let source = store.session_dir(&id);
                if !source.exists() {
                    bail!("the folder of {id} is gone from the store: `sfs import` captures it again");
                }
                outside_the_store(&out, store.paths().root())?;
                if self.no_redact {
                    make_room(&out, self.force, true)?;
                    let n = copy_dir(source.path(), &out)?;
                    eprintln!("Wrote {n} file(s) to {} (secrets kept: --no-redact)", out.display());
                } else {
                    // The same redaction as a push: the archive that would leave the machine, unpacked. Read
                    // before anything at `out` is replaced.
                    let packed = sessionfs_client::sync::pack_session(source.path(), &Redactor::new())?;
                    let limits = sessionfs_shared::archive::ArchiveLimits::default();
                    let members = sessionfs_shared::archive::unpack(&packed.bytes, &limits)?;
                    make_room(&out, self.force, true)?;
                    for (name, data) in &members {
                        let path = out.join(name);
                        if let Some(dir) = path.parent() {
                            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                        }
                        std::fs::write(&path, data).with_context(|| format!("writing {}", path.display()))?;
                    }
                    eprintln!(
                        "Wrote {} file(s) to {}{}",
                        members.len(),
                        out.display(),
                        redaction_note(&packed.redactions)
                    );
                }
            }
            Format::Markdown | Format::Json => {
                let (mut manifest, mut read) = store.load(&id)?;
                let mut redactions = std::collections::BTreeMap::new();
                if !self.no_redact {
                    let r = Redactor::new();
                    let mut findings = Vec::new();
                    for m in &mut read.messages {
                        findings.extend(r.redact_message(m));
                    }
                    if let Some(title) = manifest.title.take() {
                        let (t, f) = r.redact_str(&title);
                        manifest.title = Some(t.into_owned());
                        findings.extend(f);
                    }
                    redactions = sessionfs_client::redact::summarize(&findings);
                }
                let text = match self.format {
                    Format::Markdown => render::markdown(&manifest, &read.messages),
                    _ => serde_json::to_string_pretty(&super::show::session_json(&manifest, &read.messages)?)? + "\n",
                };
                match self.output.filter(|_| !to_stdout) {
                    Some(path) => {
                        outside_the_store(&path, store.paths().root())?;
                        make_room(&path, self.force, false)?;
                        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("Wrote {}{}", path.display(), redaction_note(&redactions));
                    }
                    None => {
                        use std::io::Write;
                        std::io::stdout().lock().write_all(text.as_bytes())?;
                        if !redactions.is_empty() {
                            eprintln!("{}", redaction_note(&redactions).trim_start_matches("; "));
                        }
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
