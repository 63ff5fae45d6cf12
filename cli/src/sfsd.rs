//! `sfsd`: the capture daemon. Runs in the foreground (`sfs daemon start` backgrounds it), logs to
//! stderr, and stops cleanly on SIGTERM or SIGINT.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use sessionfs_client::StorePaths;
use sessionfs_client::daemon::{self, DaemonConfig};

// The system allocator, not mimalloc as `sfs` has: the daemon mostly sits idle, where mimalloc's retained
// pages cost 6 MiB of RSS (27.2 against 21.0 MiB idle over 10,000 sessions) for no gain worth having.

/// The SessionFS capture daemon
#[derive(Debug, Parser)]
#[command(name = "sfsd", version)]
struct Args {
    /// Store directory (default $SFS_HOME, else ~/.sessionfs)
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Whose agent folders to watch (default $HOME)
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // The log (`sfs daemon logs` prints it) quotes paths and errors from session files: control characters
    // are shown, not sent.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| sessionfs_shared::terminal::PrintableWriter(std::io::stderr()))
        .with_ansi(false)
        .try_init();
    let Some(paths) = args.store.map(StorePaths::new).or_else(StorePaths::from_env) else {
        eprintln!("sfsd: error: cannot find the store: set SFS_HOME or HOME");
        return ExitCode::FAILURE;
    };
    let Some(home) = args.home.or_else(|| std::env::var_os("HOME").map(PathBuf::from)) else {
        eprintln!("sfsd: error: HOME is not set");
        return ExitCode::FAILURE;
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = daemon::install_signal_handlers(&stop) {
        eprintln!("sfsd: error: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    match daemon::run(DaemonConfig { paths, home }, stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "sfsd failed");
            eprintln!("sfsd: error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("  hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
