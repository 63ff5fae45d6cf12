//! `sfs export`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

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
    /// Where to write (a directory for sfs; default `<id>.sfs`; stdout for markdown and json)
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Replace an existing output
    #[arg(long)]
    force: bool,
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

impl Export {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let id = store.index().resolve(&self.session)?;
        match self.format {
            Format::Sfs => {
                let out = self.output.unwrap_or_else(|| PathBuf::from(format!("{id}.sfs")));
                if out.exists() && !self.force {
                    bail!("{} already exists (use --force to replace it)", out.display());
                }
                let n = copy_dir(store.session_dir(&id).path(), &out)?;
                eprintln!("Wrote {n} file(s) to {}", out.display());
            }
            Format::Markdown | Format::Json => {
                let (manifest, read) = store.load(&id)?;
                let text = match self.format {
                    Format::Markdown => render::markdown(&manifest, &read.messages),
                    _ => serde_json::to_string_pretty(&super::show::session_json(&manifest, &read.messages)?)? + "\n",
                };
                match self.output {
                    Some(path) => {
                        if path.exists() && !self.force {
                            bail!("{} already exists (use --force to replace it)", path.display());
                        }
                        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("Wrote {}", path.display());
                    }
                    None => {
                        use std::io::Write;
                        std::io::stdout().lock().write_all(text.as_bytes())?;
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
