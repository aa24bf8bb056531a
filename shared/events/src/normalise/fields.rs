//! Lenient field readers shared by the telephony and voice-AI normalisers: providers send
//! ids as strings or integers, durations as numbers or numeric strings, and times as epoch
//! seconds, epoch milliseconds or RFC 3339.

use super::{format_rfc3339, parse_rfc3339, utc_from_unix_ms};
use jiff::SignedDuration;
use jiff::tz::Offset;
use serde_json::Value;

/// An id sent as a string or an integer (Dialpad's exceed 2^53), as a string (`None` when
/// absent, null, empty or a fraction).
pub(crate) fn id_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// A finite, non-negative quantity sent as a JSON number or a numeric string (`"13"`).
pub(crate) fn number_at(v: &Value, pointer: &str) -> Option<f64> {
    let n = match v.pointer(pointer)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// A whole number of seconds from [`number_at`], rounded.
pub(crate) fn secs_at(v: &Value, pointer: &str) -> Option<u64> {
    number_at(v, pointer).map(|s| s.round() as u64)
}

/// An integer sent as a JSON number or a numeric string (epoch times).
pub(crate) fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    match v.pointer(pointer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Unix seconds as RFC 3339 UTC.
pub(crate) fn utc_from_unix_secs(secs: i64) -> Option<String> {
    secs.checked_mul(1000).and_then(utc_from_unix_ms)
}

/// `secs` after the RFC 3339 time `start`, as RFC 3339 UTC (an end from a start and a
/// duration).
pub(crate) fn utc_after(start: &str, secs: u64) -> Option<String> {
    let (t, _) = parse_rfc3339(start.trim())?;
    let t = t
        .checked_add(SignedDuration::from_secs(i64::try_from(secs).ok()?))
        .ok()?;
    format_rfc3339(t, Offset::UTC)
}

/// Whole seconds from the RFC 3339 time `a` to `b` (`None` if either is unreadable or `b`
/// is before `a`).
pub(crate) fn secs_between(a: &str, b: &str) -> Option<u64> {
    let (a, _) = parse_rfc3339(a.trim())?;
    let (b, _) = parse_rfc3339(b.trim())?;
    (b >= a).then(|| b.duration_since(a).as_secs() as u64)
}

/// A number sent as international digits without the `+` (Vonage `447700900000`, Plivo
/// `14155550100`) in E.164; anything else as received, for [`crate::e164::normalise`].
pub(crate) fn with_plus(n: String) -> String {
    if (8..=15).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{n}")
    } else {
        n
    }
}
