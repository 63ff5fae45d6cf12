//! `sfs`: capture, list, search, show and export coding-agent sessions; run the capture daemon.
//!
//! This binary only parses arguments and prints; the work is in `sessionfs-client`.

#[macro_use]
mod stdout;

mod cmd;
mod context;
mod render;
mod report;

use std::process::ExitCode;

use clap::Parser;

/// Capture allocates and frees many small strings on several threads at once: glibc's malloc and free were
/// 15 % of an import's CPU profile (`client/benches/capture` uses the same allocator, so its figures are ours).
/// `sfsd`, which mostly idles, keeps the system allocator (see `sfsd.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SessionFS: every coding-agent session, captured, searchable, portable
#[derive(Debug, Parser)]
#[command(name = "sfs", version, propagate_version = true, max_term_width = 110)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => report::usage_error(e),
    };
    context::init_logging();
    match cli.command.run() {
        Ok(code) => code,
        Err(err) => report::report(&err),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
