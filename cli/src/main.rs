//! `sfs`: capture, list, search, show and export coding-agent sessions; run the capture daemon.
//!
//! This binary only parses arguments and prints; the work is in `sessionfs-client`.

#[macro_use]
mod stdout;

mod cmd;
mod context;
mod render;
mod time_arg;

use std::io::Write;
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
    let cli = Cli::parse();
    context::init_logging();
    match cli.command.run() {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// Print `sfs: error: <chain>` and a hint; a closed stdout (`sfs list | head`) is not an error.
fn report(err: &anyhow::Error) -> ExitCode {
    let broken_pipe = |c: &(dyn std::error::Error + 'static)| {
        c.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            // `--json` output is written through serde_json, which wraps the I/O error in its own.
            .or_else(|| c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind))
            == Some(std::io::ErrorKind::BrokenPipe)
    };
    if err.chain().any(broken_pipe) {
        return ExitCode::SUCCESS;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "sfs: error: {err:#}");
    let hint = err.chain().find_map(|c| {
        c.downcast_ref::<sessionfs_client::ClientError>().and_then(sessionfs_client::ClientError::hint).or_else(|| {
            c.downcast_ref::<sessionfs_client::sync::SyncError>().and_then(sessionfs_client::sync::SyncError::hint)
        })
    });
    if let Some(hint) = hint {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
