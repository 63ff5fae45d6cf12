//! Outgoing mail (verification links, handoff notices). Without `SFS_SMTP_URL` every message is written
//! to `<data-dir>/outbox/<time>-<to>.eml` and logged, so a self-hosted server works with no mail setup.

use std::path::PathBuf;

use tracing::{info, warn};

/// Where mail goes.
#[derive(Debug, Clone)]
pub struct Mailer {
    outbox: PathBuf,
    smtp_url: Option<String>,
}

impl Mailer {
    /// A mailer writing to `outbox` unless `smtp_url` is set.
    pub fn new(outbox: PathBuf, smtp_url: Option<String>) -> Self {
        Self { outbox, smtp_url }
    }

    /// The outbox folder.
    pub fn outbox(&self) -> &PathBuf {
        &self.outbox
    }

    /// Send a message. Failures are logged, not returned: mail is a courtesy, never part of a request's
    /// success.
    pub async fn send(&self, to: &str, subject: &str, body: &str) {
        if self.smtp_url.is_some() {
            // SMTP delivery is not built yet; keep the message where an operator can find it.
            warn!(to, subject, "SFS_SMTP_URL is set but SMTP delivery is not implemented yet; writing to the outbox");
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        let safe_to: String =
            to.chars().map(|c| if c.is_ascii_alphanumeric() || c == '@' || c == '.' { c } else { '_' }).collect();
        let path = self.outbox.join(format!("{stamp}-{safe_to}.eml"));
        let text =
            format!("To: {to}\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n");
        let result = async {
            tokio::fs::create_dir_all(&self.outbox).await?;
            tokio::fs::write(&path, text).await
        }
        .await;
        match result {
            Ok(()) => info!(to, subject, path = %path.display(), "mail written to the outbox"),
            Err(e) => warn!(to, subject, error = %e, "could not write mail to the outbox"),
        }
    }
}
