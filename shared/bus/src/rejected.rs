//! Rejected deliveries: every 400/401/413/415 ingest answers for a configured source, kept
//! on the `REJECTED` stream (`rejected.{tenant}.{source}`) so an operator can see why a
//! provider's webhooks stopped working without asking the provider for its logs
//! (`switchboard rejected list/show`, docs/runbook.md).
//!
//! A rejected request is untrusted by definition, so a record keeps what explains the
//! failure and nothing that could leak or be abused:
//! - header **names** always, header **values** only for a short list of headers that
//!   carry no secret (content type, user agent, forwarding hops, …). A redacted value
//!   keeps its shape (`hex, 64 chars`), which is what pins an undocumented signature
//!   header (docs/signatures.md) without storing the signature;
//! - the body's size and SHA-256, and its first bytes only where the operator enabled it
//!   for that source (`record_rejected_body_bytes`);
//! - query parameter names, never their values.
//!
//! The stream is bounded (`ingest.rejected.max_age_hours`, `max_bytes`, oldest first) and
//! ingest writes at most `per_source_per_sec` records per source: a flood of bad requests
//! costs a counter, not a flood of writes.

use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Stream of rejected deliveries.
pub const REJECTED_STREAM: &str = "REJECTED";

/// `rejected.{tenant}.{source}`.
pub fn rejected_subject(tenant: &str, source: &str) -> String {
    format!("rejected.{tenant}.{source}")
}

/// Headers whose values are kept: they describe the request and carry no secret.
/// Everything else (signatures, authorization, cookies, provider tokens) is redacted.
pub const KEPT_HEADER_VALUES: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "user-agent",
    "accept",
    "accept-encoding",
    "host",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
    "forwarded",
    "via",
    "x-request-id",
    "traceparent",
];

/// One rejected delivery (the JSON payload of a REJECTED message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedDelivery {
    /// When ingest answered, RFC 3339 UTC.
    pub at: String,
    pub tenant: String,
    pub source: String,
    /// The source's configured scheme.
    pub scheme: String,
    /// The HTTP status ingest answered: 400, 401, 413 or 415.
    pub status: u16,
    /// The answer's error code (`invalid_signature`, `payload_too_large`, …).
    pub error: String,
    /// For a 401, the verifier's reason (`bad_signature`, `missing_header`,
    /// `stale_timestamp`, …); otherwise the error code again.
    pub reason: String,
    /// The message the provider was answered with.
    pub message: String,
    /// The request path (`/v1/hooks/{tenant}/{source}` or `/v1/tools/…`).
    pub path: String,
    /// The query's parameter names, in order (values are never kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_keys: Vec<String>,
    /// Every header, in order, with its value only when it is in [`KEPT_HEADER_VALUES`].
    pub headers: Vec<HeaderRecord>,
    pub body: BodyRecord,
}

/// One request header as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRecord {
    /// Lower-case, as HTTP/2 and ingest see it.
    pub name: String,
    /// The value, for a header that carries no secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For a redacted value: its shape, e.g. `hex, 64 chars` or `t=…,v1=… (2 parts)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
}

/// The body, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRecord {
    /// Bytes read, or the declared `Content-Length` of a body refused before reading.
    pub size: u64,
    /// SHA-256 (hex) of the bytes read; absent when the body was refused unread (413).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The first `record_rejected_body_bytes` bytes, as text (invalid UTF-8 replaced),
    /// only for a source where the operator enabled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// `headers` as a record keeps them: names in order, values only where they carry no
/// secret, and a shape for the rest.
pub fn redact_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Vec<HeaderRecord> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            if KEPT_HEADER_VALUES.contains(&name.as_str()) {
                HeaderRecord {
                    name,
                    value: Some(String::from_utf8_lossy(value).chars().take(512).collect()),
                    shape: None,
                }
            } else {
                HeaderRecord {
                    name,
                    value: None,
                    shape: Some(shape(value)),
                }
            }
        })
        .collect()
}

/// What a secret-bearing value looks like without saying what it is: `hex, 64 chars`,
/// `base64, 44 chars`, `sha256=hex, 71 chars`, `t=…,v1=… (2 parts), 90 chars`.
pub fn shape(value: &[u8]) -> String {
    let len = value.len();
    let text = String::from_utf8_lossy(value);
    let text = text.trim();
    let kind = |s: &str| -> &'static str {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            "hex"
        } else if !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
        {
            "base64"
        } else {
            "text"
        }
    };
    // `key=value,key=value` (Stripe-like, Telnyx, ElevenLabs): the keys and the count.
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() > 1 && parts.iter().all(|p| is_marked_part(p)) {
        let keys: Vec<String> = parts
            .iter()
            .map(|p| format!("{}=…", p.split_once('=').map_or("", |(k, _)| k)))
            .collect();
        return format!("{} ({} parts), {len} chars", keys.join(","), parts.len());
    }
    // `sha256=<hex>`, `v1,<base64>`, `Bearer <token>`: the marker is part of the format.
    for sep in ['=', ',', ' '] {
        if let Some((marker, rest)) = text.split_once(sep)
            && is_marker(marker)
            && kind(rest) != "text"
        {
            return format!("{marker}{sep}{}, {len} chars", kind(rest));
        }
    }
    format!("{}, {len} chars", kind(text))
}

/// The words a signature format puts before its value (`sha256=`, `v1,`, `Bearer `,
/// `t=`): only these are shown, so no piece of a secret value can be.
const MARKERS: &[&str] = &[
    "sha1",
    "sha256",
    "sha512",
    "v0",
    "v1",
    "v2",
    "v3",
    "t",
    "ts",
    "timestamp",
    "s",
    "sig",
    "signature",
    "nonce",
    "keyid",
    "alg",
    "bearer",
    "basic",
    "hmac",
];

fn is_marker(word: &str) -> bool {
    MARKERS.iter().any(|m| m.eq_ignore_ascii_case(word))
}

fn is_marked_part(part: &str) -> bool {
    part.split_once('=')
        .is_some_and(|(k, v)| is_marker(k) && !v.is_empty())
}

/// The query's parameter names (never their values).
pub fn query_keys(query: Option<&str>) -> Vec<String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.split_once('=')
                .map_or(p, |(k, _)| k)
                .chars()
                .take(64)
                .collect()
        })
        .take(32)
        .collect()
}

/// Stream config for REJECTED: bounded by age and size, oldest records dropped first.
pub fn rejected_stream_config(
    nats: &switchboard_config::NatsConfig,
    rejected: &switchboard_config::RejectedConfig,
) -> jetstream::stream::Config {
    jetstream::stream::Config {
        max_age: Duration::from_secs(rejected.max_age_hours * 3600),
        max_bytes: rejected.max_bytes,
        discard: jetstream::stream::DiscardPolicy::Old,
        ..crate::file_stream(
            nats,
            REJECTED_STREAM,
            "Switchboard: deliveries ingest refused (400/401/413/415), redacted, for inspection",
            "rejected.>",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_say_the_format_not_the_value() {
        let hex = "a".repeat(64);
        assert_eq!(shape(hex.as_bytes()), "hex, 64 chars");
        assert_eq!(
            shape(b"3q2+7w==3q2+7w==3q2+7w==3q2+7w==3q2+7w==3q2+"),
            "base64, 44 chars"
        );
        assert_eq!(
            shape(format!("sha256={hex}").as_bytes()),
            "sha256=hex, 71 chars"
        );
        assert_eq!(shape(b"v1,3q2+7w=="), "v1,base64, 11 chars");
        assert_eq!(shape(b"Bearer abcdefgh12"), "Bearer base64, 17 chars");
        assert_eq!(shape(b"abc=="), "base64, 5 chars");
        assert_eq!(shape(b"tok3n=abcdefgh"), "base64, 14 chars");
        assert_eq!(
            shape(b"t=1700000000,v1=abcdef"),
            "t=…,v1=… (2 parts), 22 chars"
        );
    }

    #[test]
    fn only_non_secret_header_values_are_kept() {
        let records = redact_headers([
            ("Content-Type", b"application/json".as_slice()),
            ("X-ServiceTitan-Signature", b"deadbeef".as_slice()),
            ("Authorization", b"Basic dXNlcjpwYXNz".as_slice()),
        ]);
        assert_eq!(records[0].value.as_deref(), Some("application/json"));
        assert_eq!(records[1].name, "x-servicetitan-signature");
        assert_eq!(records[1].value, None);
        assert_eq!(records[1].shape.as_deref(), Some("hex, 8 chars"));
        assert_eq!(records[2].value, None);
        let json = serde_json::to_string(&records).unwrap();
        assert!(
            !json.contains("deadbeef") && !json.contains("dXNlcjpwYXNz"),
            "{json}"
        );
    }

    #[test]
    fn query_values_are_dropped() {
        assert_eq!(
            query_keys(Some("token=s3cret&a=1&flag")),
            ["token", "a", "flag"]
        );
        assert!(query_keys(None).is_empty());
    }

    proptest::proptest! {
        /// No redacted value, nor any 8-byte piece of it, survives into the record.
        #[test]
        fn a_redacted_value_never_appears(name in "x-[a-z]{1,12}", value in "[A-Z0-9+/=, ]{12,80}") {
            let json = serde_json::to_string(&redact_headers([(name.as_str(), value.as_bytes())])).unwrap();
            for start in 0..value.len() - 8 {
                proptest::prop_assert!(!json.contains(&value[start..start + 8]), "{json}");
            }
        }
    }
}
