//! `ApiError`: every failure a handler returns, rendered as the `{"error":{"code","message","details"}}`
//! envelope from the error catalogue. Internal causes are logged once and never sent.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sessionfs_shared::ErrorCode;
use sessionfs_shared::api::ErrorEnvelope;

use crate::store::StoreError;

/// An error answer. Boxed: it travels in every handler's `Result`, which should stay small.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    code: ErrorCode,
    detail: Option<String>,
    details: Map<String, Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
    cause: Option<String>,
    /// In place of the catalogue's message and fix, where the wire code is the protocol's but its usual meaning
    /// is not what happened.
    instead: Option<(&'static str, &'static str)>,
    /// In place of the code's status, where HTTP has a status the catalogue has no code for (405).
    status: Option<StatusCode>,
}

impl ApiError {
    /// A catalogue error.
    pub fn new(code: ErrorCode) -> Self {
        Self(Box::new(Inner {
            code,
            detail: None,
            details: Map::new(),
            headers: Vec::new(),
            cause: None,
            instead: None,
            status: None,
        }))
    }

    /// With this message and fix in place of the catalogue's (the code and status stay, for the wire).
    pub fn saying(mut self, message: &'static str, fix: &'static str) -> Self {
        self.0.instead = Some((message, fix));
        self
    }

    /// With this HTTP status in place of the code's.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.0.status = Some(status);
        self
    }

    /// With a sentence saying what exactly was wrong.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// With a machine-readable field under `details`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.details.insert(key.to_owned(), value.into());
        self
    }

    /// With a response header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// A 500 whose cause is logged, not sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(ErrorCode::Internal);
        e.0.cause = Some(cause.to_string());
        e
    }

    /// The catalogue code.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(ErrorCode::SessionNotFound),
            StoreError::Conflict { current_etag: Some(etag) } => Self::new(ErrorCode::EtagMismatch)
                .with("current_etag", etag.clone())
                .detail(format!("the server has {etag}")),
            StoreError::Conflict { current_etag: None } => Self::new(ErrorCode::Conflict),
            StoreError::Deleted => Self::new(ErrorCode::SessionDeleted),
            StoreError::Duplicate(what) => Self::new(ErrorCode::Conflict).detail(format!("{what} already exists")),
            StoreError::Quota { used, quota, needed } => Self::new(ErrorCode::QuotaExceeded)
                .detail(format!("{used} of {quota} bytes used; this push needs {needed} more"))
                .with("storage_used_bytes", used)
                .with("storage_quota_bytes", quota),
            StoreError::Unavailable(cause) => {
                let mut e = Self::new(ErrorCode::Unavailable);
                e.0.cause = Some(cause);
                e
            }
            StoreError::Other(cause) => Self::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Inner { code, detail, details, headers, cause, instead, status } = *self.0;
        let status =
            status.unwrap_or_else(|| StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        if let Some(cause) = &cause {
            tracing::error!(code = code.code(), cause = %cause, "request failed");
        }
        let mut envelope = ErrorEnvelope::new(code, detail.as_deref());
        if let Some((message, fix)) = instead {
            envelope.error.message = match detail.as_deref().filter(|d| !d.is_empty()) {
                Some(d) => format!("{message}: {d}. Fix: {fix}"),
                None => format!("{message}. Fix: {fix}"),
            };
            envelope.error.details.insert("fix".into(), fix.into());
        }
        envelope.error.details.extend(details);
        let mut resp = (status, axum::Json(envelope)).into_response();
        for (k, v) in headers {
            resp.headers_mut().insert(k, v);
        }
        resp
    }
}

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
