//! Outgoing mail (verification links, handoff notices). With `SFS_SMTP_URL` (`smtp://user:pass@host:587`,
//! `smtps://…`) mail goes over SMTP; without it, or when SMTP fails, each message is written to
//! `<data-dir>/outbox/<time>-<to>.eml` and logged, so a self-hosted server works with no mail setup and no
//! message is ever lost.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tracing::{info, warn};

/// Where mail goes.
#[derive(Clone)]
pub struct Mailer {
    outbox: PathBuf,
    from: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The SMTP URL may hold a password: never print it.
        f.debug_struct("Mailer").field("outbox", &self.outbox).field("smtp", &self.smtp.is_some()).finish()
    }
}

/// A bad `SFS_SMTP_URL`.
#[derive(Debug, thiserror::Error)]
#[error("SFS_SMTP_URL is not a usable SMTP URL (expected smtp://user:pass@host:port or smtps://…): {0}")]
pub struct BadSmtpUrl(String);

impl Mailer {
    /// A mailer sending through `smtp_url` when given, else to `outbox`.
    pub fn new(outbox: PathBuf, from: String, smtp_url: Option<&str>) -> Result<Self, BadSmtpUrl> {
        let smtp = match smtp_url {
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| BadSmtpUrl(e.to_string()))?.build(),
            ),
            None => None,
        };
        Ok(Self { outbox, from, smtp })
    }

    /// The outbox folder.
    pub fn outbox(&self) -> &PathBuf {
        &self.outbox
    }

    /// Send a message. Failures are logged, not returned: mail is a courtesy, never part of a request's
    /// success, and an undeliverable message still lands in the outbox.
    pub async fn send(&self, to: &str, subject: &str, body: &str) {
        if let Some(smtp) = &self.smtp {
            match self.smtp_send(smtp, to, subject, body).await {
                Ok(()) => {
                    info!(to, subject, "mail sent");
                    return;
                }
                Err(e) => warn!(to, subject, error = %e, "SMTP delivery failed; writing the message to the outbox"),
            }
        }
        self.write_outbox(to, subject, body).await;
    }

    async fn smtp_send(
        &self,
        smtp: &AsyncSmtpTransport<Tokio1Executor>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), String> {
        let msg = Message::builder()
            .from(self.from.parse().map_err(|e| format!("SFS_MAIL_FROM: {e}"))?)
            .to(to.parse().map_err(|e| format!("recipient {to:?}: {e}"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        smtp.send(msg).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn write_outbox(&self, to: &str, subject: &str, body: &str) {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        let safe_to: String =
            to.chars().map(|c| if c.is_ascii_alphanumeric() || c == '@' || c == '.' { c } else { '_' }).collect();
        let path = self.outbox.join(format!("{stamp}-{safe_to}.eml"));
        let text = format!(
            "To: {}\r\nSubject: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            header_safe(to),
            header_safe(subject)
        );
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

/// A header value that stays on its line: control characters (CR and LF above all, which would start a header
/// of the caller's choosing, such as `Bcc:`) and Unicode line and paragraph separators become spaces. Callers
/// validate addresses already; this holds whatever they pass.
fn header_safe(value: &str) -> String {
    value.chars().map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_never_writes_a_header_line_it_was_not_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(dir.path().to_path_buf(), "SessionFS <noreply@localhost>".into(), None).unwrap();
        mailer.send("x@y.com\r\nBcc: spy@evil.com", "Hi\nX-Evil: 1\u{2028}", "line one\nline two").await;
        let file = std::fs::read_dir(dir.path()).unwrap().flatten().next().unwrap().path();
        let text = std::fs::read_to_string(file).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!(
            lines,
            ["To: x@y.com  Bcc: spy@evil.com", "Subject: Hi X-Evil: 1 ", "Content-Type: text/plain; charset=utf-8"]
        );
        assert_eq!(body, "line one\nline two\r\n");
    }
}
