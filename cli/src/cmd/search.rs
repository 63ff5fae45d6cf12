//! `sfs search`.

use std::process::ExitCode;

use anyhow::Result;
use sessionfs_shared::AgentKind;

use crate::context;

/// Search message text of every session
#[derive(Debug, clap::Args)]
pub struct Search {
    /// Words to find (all must match; `word*` matches a prefix); at most 500 characters and 64 words
    #[arg(value_parser = words)]
    query: String,
    /// Only this agent
    #[arg(long, value_name = "AGENT")]
    tool: Option<AgentKind>,
    /// At most this many sessions
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    /// Print a JSON array of hits
    #[arg(long)]
    json: bool,
}

/// A query with at least one word (an empty one would match nothing, and is more likely a mistake), within
/// the size every surface accepts.
fn words(query: &str) -> Result<String, String> {
    if query.trim().is_empty() {
        return Err("give at least one word to search for".into());
    }
    sessionfs_shared::search::check_query_size(query)?;
    Ok(query.to_owned())
}

impl Search {
    pub fn run(self) -> Result<ExitCode> {
        let store = context::open_store()?;
        let hits = store.index().search(&self.query, self.tool, self.limit as usize)?;
        if self.json {
            super::print_json(&hits)?;
            return Ok(ExitCode::SUCCESS);
        }
        if hits.is_empty() {
            eprintln!("No matches for {:?}.", self.query);
            return Ok(ExitCode::SUCCESS);
        }
        for h in hits {
            outln!("{}  {}  {}", h.session_id, h.source_tool, h.title.as_deref().unwrap_or("(untitled)"));
            match &h.role {
                Some(role) => outln!("    {role}: {}", h.snippet.replace('\n', " ")),
                None => {
                    outln!("    (the message could not be read back from the session; `sfs doctor` checks the index)")
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
