//! Webhook signature verification, one module per scheme behind one trait.
//!
//! Why this shape:
//! - **Pure.** A verifier is a function of the request's raw bytes, its headers, the URL the
//!   provider called and the current time, which the caller passes in. No I/O, no global
//!   clock: the published test vectors are checked with the clock pinned to their time.
//! - **Proof-carrying.** The only way to get a [`Verified`] is to pass verification, and the
//!   ingest publisher takes a `Verified`, so an unverified body cannot reach JetStream.
//! - **Fail closed.** Unknown algorithms, missing or malformed headers, timestamps outside
//!   the tolerance (both directions) and secrets that do not decode are all rejections;
//!   building a verifier from config with zero usable secrets is an error.
//! - **Constant time.** MACs are compared with `Mac::verify_slice`, static secrets by
//!   comparing their SHA-256 digests with `subtle`, so neither content nor length leaks.
//! - **Rotation.** Every scheme takes a list of secrets; any one may match.

mod from_config;
mod mac;
pub mod sign;

mod basic;
mod generic;
mod jwt;
mod plivo;
mod retell;
mod servicetitan;
mod standard_webhooks;
mod synthflow;
mod telnyx;
mod token;
mod twilio;

pub use basic::Basic;
pub use from_config::{BuildError, build_verifier};
pub use generic::{Combined, GenericHmac, HmacParams};
pub use jwt::{Jwt, JwtLocation};
pub use mac::{MacAlgorithm, SigEncoding};
pub use plivo::Plivo;
pub use retell::Retell;
pub use servicetitan::ServiceTitan;
pub use standard_webhooks::StandardWebhooks;
pub use synthflow::Synthflow;
pub use telnyx::Telnyx;
pub use token::{StaticToken, TokenLocation};
pub use twilio::Twilio;
/// `application/x-www-form-urlencoded` decoding (used by the router's Twilio normaliser too).
pub use twilio::parse_form;

use http::HeaderMap;
use std::fmt;

/// Default tolerance for timestamped schemes, both directions.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// What a verifier sees of one delivery.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub headers: &'a HeaderMap,
    /// The exact bytes received.
    pub body: &'a [u8],
    /// The URL the provider called: configured public base + path + `?query` if any.
    pub url: &'a str,
    /// The received query string (without `?`), if any.
    pub query: Option<&'a str>,
}

/// Proof that a delivery passed its source's verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    provider_id: Option<String>,
}

impl Verified {
    fn with_id(id: Option<String>) -> Self {
        Self {
            provider_id: id.filter(|s| !s.is_empty()),
        }
    }

    /// The provider's own delivery/event id, if the scheme has one (`webhook-id`, Telnyx
    /// `data.id`, Twilio `CallSid:CallStatus:SequenceNumber`, a configured id header).
    pub fn provider_id(&self) -> Option<&str> {
        self.provider_id.as_deref()
    }
}

/// Why an authentication check failed. `reason()` is a stable label for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    MissingHeader(String),
    MalformedHeader(String),
    /// A token field the scheme reads from the body is absent (`aircall`, `token`).
    MissingField(String),
    MalformedField(String),
    BadSignature,
    StaleTimestamp,
    FutureTimestamp,
    BodyHashMismatch,
    UnsupportedAlgorithm(String),
}

impl AuthFailure {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::MalformedHeader(_) => "malformed_header",
            Self::MissingField(_) => "missing_field",
            Self::MalformedField(_) => "malformed_field",
            Self::BadSignature => "bad_signature",
            Self::StaleTimestamp => "stale_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::BodyHashMismatch => "body_hash_mismatch",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader(h) => write!(f, "missing signature header {h}"),
            Self::MalformedHeader(h) => write!(f, "header {h} is malformed"),
            Self::MissingField(n) => write!(f, "the body has no {n} field"),
            Self::MalformedField(n) => write!(f, "the body's {n} field is not a string"),
            Self::BadSignature => f.write_str("signature does not match any configured secret"),
            Self::StaleTimestamp => f.write_str("timestamp is older than the allowed tolerance"),
            Self::FutureTimestamp => {
                f.write_str("timestamp is further in the future than the allowed tolerance")
            }
            Self::BodyHashMismatch => f.write_str("body does not match the signed body hash"),
            Self::UnsupportedAlgorithm(a) => write!(f, "unsupported signature algorithm {a}"),
        }
    }
}

/// A delivery that does not pass. Only `Unauthorized` is an authentication failure; the
/// others are requests the scheme cannot even read (HTTP 415 / 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Unauthorized(AuthFailure),
    UnsupportedMediaType(String),
    BadRequest(String),
}

impl From<AuthFailure> for Rejection {
    fn from(f: AuthFailure) -> Self {
        Self::Unauthorized(f)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized(a) => a.fmt(f),
            Self::UnsupportedMediaType(m) | Self::BadRequest(m) => f.write_str(m),
        }
    }
}

/// One signature scheme, configured with its secrets.
pub trait Verifier: Send + Sync + fmt::Debug {
    /// The config name of the scheme (`twilio`, `standard-webhooks`, …).
    fn scheme(&self) -> &'static str;

    /// Verifies `delivery` as of `now_ms` (Unix time in milliseconds).
    fn verify(&self, delivery: &Delivery<'_>, now_ms: i64) -> Result<Verified, Rejection>;

    /// A provider's set-up request that is answered, not stored (RingCentral's
    /// `Validation-Token`). Ingest asks only when [`Verifier::verify`] refused the request,
    /// so a verified delivery is never taken for one; it authenticates nothing and stores
    /// nothing, so it needs no secret.
    fn handshake(&self, _delivery: &Delivery<'_>) -> Option<Handshake> {
        None
    }

    /// The `WWW-Authenticate` value for this scheme's 401s (HTTP Basic: a sender such as
    /// Bandwidth only sends credentials after a challenge).
    fn challenge(&self) -> Option<&'static str> {
        None
    }
}

/// A handshake answer: `200` with this header echoed, nothing stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub header: &'static str,
    pub value: String,
}

/// The current Unix time in milliseconds. Ingest passes this (or a test's pinned clock) to
/// [`Verifier::verify`].
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Checks a timestamp (milliseconds) against `now_ms` with a symmetric tolerance.
fn check_time(ts_ms: i64, now_ms: i64, tolerance_secs: u64) -> Result<(), AuthFailure> {
    let tolerance_ms = i64::try_from(tolerance_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    if ts_ms < now_ms.saturating_sub(tolerance_ms) {
        Err(AuthFailure::StaleTimestamp)
    } else if ts_ms > now_ms.saturating_add(tolerance_ms) {
        Err(AuthFailure::FutureTimestamp)
    } else {
        Ok(())
    }
}

/// Parses a Unix-seconds header value (digits only).
fn parse_secs(value: &str, header: &str) -> Result<i64, AuthFailure> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthFailure::MalformedHeader(header.to_owned()));
    }
    value
        .parse()
        .map_err(|_| AuthFailure::MalformedHeader(header.to_owned()))
}

/// The first of `names` present in `headers`, as visible ASCII.
fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Result<&'a str, AuthFailure> {
    for name in names {
        if let Some(v) = headers.get(*name) {
            return v
                .to_str()
                .map_err(|_| AuthFailure::MalformedHeader((*name).to_owned()));
        }
    }
    Err(AuthFailure::MissingHeader(
        names.first().copied().unwrap_or_default().to_owned(),
    ))
}

/// Whether `body` hashes to the signed hex SHA-256 `expected` (Twilio's `bodySHA256`,
/// Vonage's `payload_hash`), compared in constant time.
fn check_body_hash(body: &[u8], expected: &str) -> Result<(), AuthFailure> {
    use subtle::ConstantTimeEq as _;
    let actual = sha256_hex(body);
    if bool::from(
        actual
            .as_bytes()
            .ct_eq(expected.to_ascii_lowercase().as_bytes()),
    ) {
        Ok(())
    } else {
        Err(AuthFailure::BodyHashMismatch)
    }
}

/// Hex SHA-256 of `bytes`: the dedup key of deliveries without a provider id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests;
