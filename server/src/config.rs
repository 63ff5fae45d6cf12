//! Server configuration: every setting is a flag and an `SFS_*` environment variable (`--help` lists them).

use std::net::SocketAddr;
use std::path::PathBuf;

/// Parse `100`, `100KB`, `50MB`, `2GiB` (1024-based) into bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("invalid size {s:?}: use bytes or a number with KB, MB, GB"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return Err(format!("invalid size unit in {s:?}: use KB, MB, GB or TB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} is too large"))
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything the server can be told.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on (use 0.0.0.0:8080 in a container)
    #[arg(long, env = "SFS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Where the SQLite database and the archive directory live
    #[arg(long, env = "SFS_DATA_DIR", default_value = "./sessionfs-data")]
    pub data_dir: PathBuf,
    /// Largest request body accepted (an upload larger than this is refused with 413 before it is read)
    #[arg(long, env = "SFS_MAX_UPLOAD_SIZE", default_value = "100MB", value_parser = parse_size)]
    pub max_upload_size: u64,
    /// Largest single file inside an uploaded session archive
    #[arg(long, env = "SFS_MAX_MEMBER_SIZE", default_value = "100MB", value_parser = parse_size)]
    pub max_member_size: u64,
    /// Largest total unpacked size of an uploaded archive (decompression bombs stop here)
    #[arg(long, env = "SFS_MAX_UNPACKED_SIZE", default_value = "512MB", value_parser = parse_size)]
    pub max_unpacked_size: u64,
    /// Requests per minute per API key; 0 disables the limit
    #[arg(long, env = "SFS_RATE_LIMIT_PER_MINUTE", default_value_t = 120)]
    pub rate_limit_per_minute: u32,
    /// Refuse uploads from accounts whose email is not verified (default: true when SFS_SMTP_URL is set)
    #[arg(long, env = "SFS_REQUIRE_EMAIL_VERIFICATION")]
    pub require_email_verification: Option<bool>,
    /// Storage quota per account in bytes (with KB/MB/GB); unset means no quota
    #[arg(long, env = "SFS_STORAGE_QUOTA_BYTES", value_parser = parse_size)]
    pub storage_quota_bytes: Option<u64>,
    /// Days a soft-deleted session is kept before the daily purge removes it
    #[arg(long, env = "SFS_DELETE_RETENTION_DAYS", default_value_t = 30)]
    pub delete_retention_days: u32,
    /// Comma-separated emails that get the admin role
    #[arg(long, env = "SFS_ADMIN_EMAILS", value_delimiter = ',')]
    pub admin_emails: Vec<String>,
    /// SMTP server for mail (smtp://user:pass@host:587); unset: mail goes to <data-dir>/outbox and the log
    #[arg(long, env = "SFS_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The From address of mail the server sends
    #[arg(long, env = "SFS_MAIL_FROM", default_value = "SessionFS <noreply@localhost>")]
    pub mail_from: String,
    /// The server's public URL, used in links sent by mail (default http://<bind>)
    #[arg(long, env = "SFS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Allow anyone who can reach the server to sign up
    #[arg(long, env = "SFS_ALLOW_SIGNUP", default_value_t = true, action = clap::ArgAction::Set)]
    pub allow_signup: bool,
    /// Seconds between runs of the purge of sessions past retention
    #[arg(long, env = "SFS_PURGE_INTERVAL_SECS", default_value_t = 86_400)]
    pub purge_interval_secs: u64,
    /// Comma-separated Host names the /mcp endpoint accepts besides localhost (e.g. sfs.example.com)
    #[arg(long, env = "SFS_MCP_ALLOWED_HOSTS", value_delimiter = ',')]
    pub mcp_allowed_hosts: Vec<String>,
    /// Log format
    #[arg(long, env = "SFS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The built dashboard (`cargo xtask dashboard`), served at / when it holds an index.html
    #[arg(long, env = "SFS_DASHBOARD_DIR", default_value = "dashboard/dist")]
    pub dashboard_dir: PathBuf,
}

impl Config {
    /// Defaults with data under `data_dir`, for tests.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            // A directory that never exists, so tests see the API alone unless they build a dashboard.
            dashboard_dir: data_dir.join("no-dashboard"),
            data_dir,
            max_upload_size: 100 << 20,
            max_member_size: 100 << 20,
            max_unpacked_size: 512 << 20,
            rate_limit_per_minute: 0,
            require_email_verification: Some(false),
            storage_quota_bytes: None,
            delete_retention_days: 30,
            admin_emails: Vec::new(),
            smtp_url: None,
            mail_from: "SessionFS <noreply@localhost>".into(),
            public_url: None,
            allow_signup: true,
            purge_interval_secs: 86_400,
            mcp_allowed_hosts: Vec::new(),
            log_format: LogFormat::Text,
        }
    }

    /// Whether unverified accounts are refused uploads.
    pub fn verification_required(&self) -> bool {
        self.require_email_verification.unwrap_or(self.smtp_url.is_some())
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("sessionfs.db")
    }

    /// The archive directory.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }

    /// Where mail goes without SMTP.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Whether `email` is listed in `SFS_ADMIN_EMAILS`.
    pub fn is_admin_email(&self, email: &str) -> bool {
        self.admin_emails.iter().any(|a| a.trim().eq_ignore_ascii_case(email.trim()))
    }

    /// The public base URL, without a trailing slash.
    pub fn public_base(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("100MB").unwrap(), 100 << 20);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert!(parse_size("12 parsecs").unwrap_err().contains("unit"));
        assert!(parse_size("").is_err());
    }

    #[test]
    fn verification_follows_smtp_unless_set() {
        let mut c = Config::for_data_dir("/tmp/x");
        c.require_email_verification = None;
        assert!(!c.verification_required());
        c.smtp_url = Some("smtp://localhost".into());
        assert!(c.verification_required());
        c.require_email_verification = Some(false);
        assert!(!c.verification_required());
    }
}
