//! The one catalogue of user-visible errors: HTTP status, wire code, message and fix (the seed's
//! "Common Error Responses" table and the cases every surface shares). The server renders these into the
//! `{"error":{"code","message","details"}}` envelope; the CLI prints the message and `hint: <fix>`; MCP tools
//! return "<message>. <fix>"; the dashboard shows the fix under the message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A user-visible error kind. Its wire code ([`ErrorCode::code`]) is part of the protocol: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the ID is not `ses_` + 8-40 lowercase hex.
    InvalidSessionId,
    /// 400: the ID is not `hnd_` + 16 lowercase hex.
    InvalidHandoffId,
    /// 400: the sync payload exceeds the server's limit (seed: "Payload too large").
    PayloadTooLarge,
    /// 400: the request is malformed (bad JSON, bad field).
    BadRequest,
    /// 400: the uploaded archive is unsafe or malformed.
    InvalidArchive,
    /// 401: no key, or an unknown, revoked or expired one.
    Unauthorized,
    /// 403: the account's email is not verified and verification is required.
    EmailNotVerified,
    /// 403: the route needs the admin role.
    AdminRequired,
    /// 404: no such session (or not the caller's).
    SessionNotFound,
    /// 404: no such handoff (or the caller is not a party to it).
    HandoffNotFound,
    /// 404: no such API key among the caller's.
    ApiKeyNotFound,
    /// 404: no such API route.
    RouteNotFound,
    /// 409: the session changed since the caller's ETag.
    EtagMismatch,
    /// 409: the request conflicts with the current state (already claimed, not deleted, alias taken).
    Conflict,
    /// 410: the session is soft-deleted.
    SessionDeleted,
    /// 410: the handoff has expired.
    HandoffExpired,
    /// 413: the upload exceeds the size limit (seed: "Request entity too large").
    RequestEntityTooLarge,
    /// 413: the push would take the account over its storage quota.
    QuotaExceeded,
    /// 429: the API key exceeded its per-minute request budget.
    RateLimited,
    /// 500: a fault on our side.
    Internal,
    /// 503: a backing store is unreachable.
    Unavailable,
}

impl ErrorCode {
    /// Every code, for golden tests and documentation.
    pub const ALL: [ErrorCode; 21] = [
        Self::InvalidSessionId,
        Self::InvalidHandoffId,
        Self::PayloadTooLarge,
        Self::BadRequest,
        Self::InvalidArchive,
        Self::Unauthorized,
        Self::EmailNotVerified,
        Self::AdminRequired,
        Self::SessionNotFound,
        Self::HandoffNotFound,
        Self::ApiKeyNotFound,
        Self::RouteNotFound,
        Self::EtagMismatch,
        Self::Conflict,
        Self::SessionDeleted,
        Self::HandoffExpired,
        Self::RequestEntityTooLarge,
        Self::QuotaExceeded,
        Self::RateLimited,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The HTTP status the server answers with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidSessionId
            | Self::InvalidHandoffId
            | Self::PayloadTooLarge
            | Self::BadRequest
            | Self::InvalidArchive => 400,
            Self::Unauthorized => 401,
            Self::EmailNotVerified | Self::AdminRequired => 403,
            Self::SessionNotFound | Self::HandoffNotFound | Self::ApiKeyNotFound | Self::RouteNotFound => 404,
            Self::EtagMismatch | Self::Conflict => 409,
            Self::SessionDeleted | Self::HandoffExpired => 410,
            Self::RequestEntityTooLarge | Self::QuotaExceeded => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }

    /// The stable wire code in `error.code`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidSessionId => "invalid_session_id",
            Self::InvalidHandoffId => "invalid_handoff_id",
            Self::PayloadTooLarge => "payload_too_large",
            Self::BadRequest => "bad_request",
            Self::InvalidArchive => "invalid_archive",
            Self::Unauthorized => "unauthorized",
            Self::EmailNotVerified => "email_not_verified",
            Self::AdminRequired => "admin_required",
            Self::SessionNotFound => "session_not_found",
            Self::HandoffNotFound => "handoff_not_found",
            Self::ApiKeyNotFound => "api_key_not_found",
            Self::RouteNotFound => "route_not_found",
            Self::EtagMismatch => "etag_mismatch",
            Self::Conflict => "conflict",
            Self::SessionDeleted => "session_deleted",
            Self::HandoffExpired => "handoff_expired",
            Self::RequestEntityTooLarge => "request_entity_too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal_error",
            Self::Unavailable => "unavailable",
        }
    }

    /// The seed's "Error" column: what went wrong, in a few words.
    pub const fn message(self) -> &'static str {
        match self {
            Self::InvalidSessionId => "Invalid session ID format: must be ses_ + 8-40 lowercase hex chars",
            Self::InvalidHandoffId => "Invalid handoff ID format: must be hnd_ + 16 lowercase hex chars",
            Self::PayloadTooLarge => "Payload too large",
            Self::BadRequest => "Bad request",
            Self::InvalidArchive => "Invalid session archive",
            Self::Unauthorized => "Unauthorized",
            Self::EmailNotVerified => "Email not verified",
            Self::AdminRequired => "Admin access required",
            Self::SessionNotFound => "Session not found",
            Self::HandoffNotFound => "Handoff not found",
            Self::ApiKeyNotFound => "API key not found",
            Self::RouteNotFound => "No such API route",
            Self::EtagMismatch => "ETag mismatch: the session was modified concurrently",
            Self::Conflict => "Conflict with the current state",
            Self::SessionDeleted => "Session is deleted",
            Self::HandoffExpired => "Handoff has expired",
            Self::RequestEntityTooLarge => "Request entity too large",
            Self::QuotaExceeded => "Storage quota exceeded",
            Self::RateLimited => "Rate limited: too many requests per minute",
            Self::Internal => "Internal server error",
            Self::Unavailable => "Service unavailable",
        }
    }

    /// The seed's "Fix" column: what the user should do next.
    pub const fn fix(self) -> &'static str {
        match self {
            Self::InvalidSessionId => {
                "check the ID format: it must be ses_ followed by 8 to 40 lowercase hex characters (see `sfs list`)"
            }
            Self::InvalidHandoffId => {
                "check the handoff ID: it must be hnd_ followed by 16 lowercase hex characters (see `sfs handoff list`)"
            }
            Self::PayloadTooLarge => {
                "compact the session first (/compact in your agent), or raise SFS_MAX_UPLOAD_SIZE on the server"
            }
            Self::BadRequest => "check the request against the API reference at /api/v1/openapi.json",
            Self::InvalidArchive => {
                "archives must be tar.gz of a .sfs directory with relative paths, no links, within the size limits"
            }
            Self::Unauthorized => "run `sfs auth login` with a valid API key",
            Self::EmailNotVerified => {
                "check your email for the verification link, or set SFS_REQUIRE_EMAIL_VERIFICATION=false on the server"
            }
            Self::AdminRequired => "ask an administrator (SFS_ADMIN_EMAILS lists them) to do this",
            Self::SessionNotFound => "check the ID with `sfs list` (or `sfs list-remote` for the server)",
            Self::HandoffNotFound => "check the handoff ID in your inbox (`sfs handoff list`)",
            Self::ApiKeyNotFound => "list your keys (GET /api/v1/auth/me/api-keys, or the dashboard's API keys page)",
            Self::RouteNotFound => "see the API reference at /api/v1/openapi.json",
            Self::EtagMismatch => "pull the latest with `sfs pull <id>`, then push again",
            Self::Conflict => {
                "if the account exists already, sign in with `sfs auth login`; otherwise the message says what is in \
                 the way: refresh and retry"
            }
            Self::SessionDeleted => "restore it with `sfs restore <id>`, or push with --undelete",
            Self::HandoffExpired => "ask the sender for a new handoff",
            Self::RequestEntityTooLarge => "check the server's SFS_MAX_UPLOAD_SIZE setting",
            Self::QuotaExceeded => {
                "delete sessions you no longer need (`sfs delete <id>`), or ask the operator to raise SFS_STORAGE_QUOTA_BYTES"
            }
            Self::RateLimited => {
                "wait a minute, or raise SFS_RATE_LIMIT_PER_MINUTE on the server (0 disables the limit)"
            }
            Self::Internal => "retry; if it persists, check the server logs",
            Self::Unavailable => "retry shortly; check the server's /readyz",
        }
    }

    /// Look a code up by its wire name.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden: every code's status and wire name. Changing a line here changes the protocol.
    #[test]
    fn catalogue_is_stable() {
        let table: Vec<String> = ErrorCode::ALL.iter().map(|c| format!("{} {}", c.status(), c.code())).collect();
        assert_eq!(
            table,
            [
                "400 invalid_session_id",
                "400 invalid_handoff_id",
                "400 payload_too_large",
                "400 bad_request",
                "400 invalid_archive",
                "401 unauthorized",
                "403 email_not_verified",
                "403 admin_required",
                "404 session_not_found",
                "404 handoff_not_found",
                "404 api_key_not_found",
                "404 route_not_found",
                "409 etag_mismatch",
                "409 conflict",
                "410 session_deleted",
                "410 handoff_expired",
                "413 request_entity_too_large",
                "413 quota_exceeded",
                "429 rate_limited",
                "500 internal_error",
                "503 unavailable",
            ]
        );
    }

    #[test]
    fn seed_fixes_are_present() {
        assert!(ErrorCode::Unauthorized.fix().contains("sfs auth login"));
        assert!(ErrorCode::EtagMismatch.fix().contains("sfs pull"));
        assert!(ErrorCode::RateLimited.fix().contains("SFS_RATE_LIMIT_PER_MINUTE"));
        assert!(ErrorCode::RequestEntityTooLarge.fix().contains("MAX_UPLOAD_SIZE"));
        assert!(ErrorCode::EmailNotVerified.fix().contains("SFS_REQUIRE_EMAIL_VERIFICATION=false"));
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
            assert!(!c.fix().is_empty() && !c.message().is_empty());
        }
    }
}
