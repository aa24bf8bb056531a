//! Errors that say what failed, for which tenant, and whether retrying can help — and
//! never carry a secret (tokens, client secrets and app keys are not in any message).

use crate::models::ApiError;
use std::fmt;

/// Whether the same request may succeed later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rate limits, 5xx, timeouts, connection failures: retried; if still failing, the
    /// caller should retry later (e.g. nack the message).
    Transient,
    /// Validation errors, missing permissions, bad credentials, unknown records: retrying
    /// the same request cannot help (dead-letter it).
    Permanent,
}

#[derive(Debug, Clone)]
pub struct StError {
    pub operation: &'static str,
    pub tenant: String,
    pub kind: ErrorKind,
    pub status: Option<u16>,
    /// ServiceTitan's problem-details body, when it sent one.
    pub api_error: Option<Box<ApiError>>,
    /// The raw error body (truncated), when it was not problem details.
    pub body: Option<String>,
    pub detail: String,
}

impl StError {
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    pub(crate) fn new(
        operation: &'static str,
        tenant: &str,
        kind: ErrorKind,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            tenant: tenant.to_owned(),
            kind,
            status: None,
            api_error: None,
            body: None,
            detail: detail.into(),
        }
    }

    pub(crate) fn from_response(
        operation: &'static str,
        tenant: &str,
        status: u16,
        body: &str,
    ) -> Self {
        let kind = if status == 429 || status >= 500 || status == 408 {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        };
        let api_error = serde_json::from_str::<ApiError>(body)
            .ok()
            .filter(|e| !e.title.is_empty() || !e.errors.is_empty())
            .map(Box::new);
        let detail = match &api_error {
            Some(e) if !e.errors.is_empty() => format!("HTTP {status}: {} {:?}", e.title, e.errors),
            Some(e) => format!("HTTP {status}: {}", e.title),
            None => format!("HTTP {status}"),
        };
        let body = api_error
            .is_none()
            .then(|| body.chars().take(2048).collect());
        Self {
            operation,
            tenant: tenant.to_owned(),
            kind,
            status: Some(status),
            api_error,
            body,
            detail,
        }
    }
}

impl fmt::Display for StError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::Transient => "transient",
            ErrorKind::Permanent => "permanent",
        };
        write!(
            f,
            "ServiceTitan {} for tenant {} failed ({kind}): {}",
            self.operation, self.tenant, self.detail
        )
    }
}

impl std::error::Error for StError {}
