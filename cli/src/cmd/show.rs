//! `sfs show`.

use std::process::ExitCode;

use anyhow::Result;

use crate::{context, render};

/// Show a session: its manifest and conversation
#[derive(Debug, clap::Args)]
pub struct Show {
    /// Session ID, unique ID prefix, or alias
    session: String,
    /// Print the manifest with a `messages` array as JSON
    #[arg(long)]
    json: bool,
    /// Show only the last N messages
    #[arg(long, value_name = "N")]
    tail: Option<usize>,
}

/// The manifest as a JSON object with the messages added under `messages`. `manifest.json` leaves out what
/// is empty (format 0.1.0 is written strictly); here the top-level keys docs/CLI.md names are always present,
/// `null` or `[]` when empty, so that a script may read `d["alias"]`.
pub fn session_json(
    manifest: &sessionfs_shared::sfs::Manifest,
    messages: &[sessionfs_shared::sfs::Message],
) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(manifest)?;
    if let Some(obj) = value.as_object_mut() {
        for key in ["title", "alias", "model", "stats", "sync"] {
            obj.entry(key).or_insert(serde_json::Value::Null);
        }
        for key in ["tags", "sub_agents"] {
            obj.entry(key).or_insert_with(|| serde_json::json!([]));
        }
        obj.insert("messages".into(), serde_json::to_value(messages)?);
    }
    Ok(value)
}

impl Show {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let id = store.index().resolve(&self.session)?;
        let (manifest, read) = store.load(&id)?;
        let start = self.tail.map_or(0, |n| read.messages.len().saturating_sub(n));
        let messages = &read.messages[start..];
        if self.json {
            super::print_json(&session_json(&manifest, messages)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        out!("{}", render::header(&manifest));
        outln!();
        for m in messages {
            outln!("{}", render::terminal(m));
        }
        if !read.skipped.is_empty() {
            eprintln!(
                "warning: {} line(s) of messages.jsonl could not be read (first: line {}: {})",
                read.skipped.len(),
                read.skipped[0].0,
                read.skipped[0].1
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
