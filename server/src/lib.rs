//! The SessionFS sync server: the `/api/v1` REST API that `sfs`, the daemon, the dashboard and the
//! original Python client sync sessions with. Metadata lives behind the [`store::MetadataStore`] trait
//! (SQLite embedded by default), archives in [`blobs::Blobs`] (`object_store`; a local directory by default).
//!
//! Entry points: [`Server::open`] builds the state from a [`Config`]; [`Server::serve`] runs it on a bound
//! listener (tests bind port 0 first); [`api::router`] is the whole HTTP application.
//!
//! It must never show one user's data to another: every store method takes the owner, and the caller is
//! read from each request's bearer key, never from shared state.

pub mod api;
pub use sessionfs_shared::archive;
pub mod auth;
pub mod blobs;
pub mod config;
mod dashboard;
pub mod error;
pub mod extract;
pub mod limits;
pub mod mail;
pub mod mcp;
pub mod purge;
pub mod sessions;
pub mod state;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
pub use config::Config;
pub use state::AppState;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::blobs::Blobs;
use crate::limits::KeyLimiter;
use crate::mail::Mailer;
use crate::store::sqlite::SqliteStore;

/// A configured server, ready to serve.
pub struct Server {
    state: AppState,
}

impl Server {
    /// Open the database and archive store named by `config` (creating them on first use).
    pub fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let store = SqliteStore::open(&config.database_path())?;
        let blobs = Blobs::local(&config.blob_dir())?;
        let state = AppState {
            store: Arc::new(store),
            blobs,
            limiter: KeyLimiter::new(config.rate_limit_per_minute).map(Arc::new),
            mailer: Mailer::new(config.outbox_dir(), config.mail_from.clone(), config.smtp_url.as_deref())?,
            push_slots: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get) * 2,
            )),
            config: Arc::new(config),
        };
        Ok(Self { state })
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve on `listener` until `stop` is cancelled; runs the scheduled purge alongside.
    pub async fn serve(self, listener: TcpListener, stop: CancellationToken) -> anyhow::Result<()> {
        let purge = tokio::spawn(purge::run_schedule(
            self.state.clone(),
            Duration::from_secs(self.state.config.purge_interval_secs.max(1)),
            stop.clone(),
        ));
        let app = api::router(self.state);
        let shutdown = stop.clone();
        // Nagle off: an MCP reply goes out as several small SSE writes, and with Nagle on each one after the
        // first waits for the client's delayed ACK (~40 ms per tools/call, measured by scripts/bench-mcp.sh).
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::warn!(%err, "could not set TCP_NODELAY on an accepted connection");
            }
        });
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
        stop.cancel();
        let _ = purge.await;
        Ok(())
    }
}
