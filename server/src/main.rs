//! `sessionfs-server`: parse the configuration, set up logging, serve until SIGTERM or Ctrl-C.

use anyhow::Context;
use clap::Parser;
use sessionfs_server::config::LogFormat;
use sessionfs_server::{Config, Server};
use tokio_util::sync::CancellationToken;

/// The SessionFS sync server (REST API under /api/v1; SQLite + local files by default)
#[derive(Debug, Parser)]
#[command(name = "sessionfs-server", version, max_term_width = 110)]
struct Args {
    #[command(flatten)]
    config: Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args { config } = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    let bind = config.bind;
    tracing::info!(
        bind = %bind,
        data_dir = %config.data_dir.display(),
        verification = config.verification_required(),
        rate_limit_per_minute = config.rate_limit_per_minute,
        quota = ?config.storage_quota_bytes,
        "sessionfs-server starting"
    );
    let server = Server::open(config).context("opening the data directory")?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind} (set SFS_BIND to another address)"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    let stop = CancellationToken::new();
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    server.serve(listener, stop).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
