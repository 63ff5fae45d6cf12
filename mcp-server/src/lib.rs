//! The SessionFS MCP server: tools that let coding agents list, search, read, resume and hand off captured
//! sessions. Every tool is defined once, on [`SessionTools`], over a [`SessionSource`]: the client implements
//! it for the local store (served over stdio by `sfs mcp serve`) and the server for its database (served over
//! streamable HTTP at `/mcp`, each call authenticated by the caller's bearer key). Results are bounded in size
//! and pass through the same secret redaction as exports.
//!
//! Entry points: [`SessionTools`], [`SessionSource`], [`serve_stdio`] (over [`LineTransport`]), [`http_service`].

pub mod digest;
mod source;
pub mod stdio;
pub mod tools;

use std::sync::Arc;

use rmcp::ServiceExt as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
pub use sessionfs_shared::redact::Redactor;

pub use source::{
    Caller, HandoffInfo, ListQuery, LoadedSession, Mailbox, ResumeTrimmed, ResumeWritten, SearchHit, SessionInfo,
    SessionPage, SessionSource, SourceError, SourceResult,
};
pub use stdio::LineTransport;
pub use tools::SessionTools;

/// Serve the tools over stdin/stdout until the client closes them. Nothing else may write to stdout.
pub async fn serve_stdio(source: Arc<dyn SessionSource>) -> anyhow::Result<()> {
    use rmcp::service::ServerInitializeError;
    let transport = LineTransport::new(tokio::io::stdin(), tokio::io::stdout());
    match SessionTools::new(source).serve(transport).await {
        Ok(running) => {
            running.waiting().await?;
            Ok(())
        }
        // The client closed stdin before `initialize`: it left, which is not the server's failure (any
        // malformed handshake it sent was answered by the transport).
        Err(ServerInitializeError::ConnectionClosed(_)) => Ok(()),
        // rmcp's message for this one is a Debug dump of the message; the transport lets only requests
        // through before initialize, so it is not expected, but is said in one line if it comes.
        Err(ServerInitializeError::ExpectedInitializeRequest(_)) => {
            anyhow::bail!("the MCP client sent something other than a request before initialize")
        }
        Err(e) => Err(anyhow::anyhow!("the MCP handshake failed: {e}")),
    }
}

/// The streamable HTTP service (a tower service; mount it with `nest_service("/mcp", …)`). `allowed_hosts`
/// are the `Host` names accepted besides loopback.
pub fn http_service(source: Arc<dyn SessionSource>, allowed_hosts: &[String]) -> tools::HttpService {
    let redactor = Arc::new(Redactor::new());
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].iter().map(|s| (*s).to_owned()).collect();
    hosts.extend(allowed_hosts.iter().filter(|h| !h.is_empty()).cloned());
    let config = StreamableHttpServerConfig::default().with_allowed_hosts(hosts);
    StreamableHttpService::new(
        move || Ok(SessionTools::with_redactor(source.clone(), redactor.clone())),
        LocalSessionManager::default().into(),
        config,
    )
}
