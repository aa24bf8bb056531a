//! One normaliser per payload format. Each is a pure function from a stored delivery to
//! zero or more event drafts; this module turns drafts into CloudEvents with deterministic
//! ids and times.
//!
//! Three outcomes, deliberately distinct:
//! - **events** (possibly none: a Twilio `ringing` callback carries nothing new);
//! - **unrecognized**: well-formed but not something we understand (a new event type) —
//!   published as `webhook.unrecognized`, never dropped, so a later parser can replay it;
//! - **malformed**: the bytes cannot be what the format says (invalid JSON, a form without
//!   a call id) — the router dead-letters it with the reason.

mod agent;
mod aircall;
mod bandwidth;
mod bland;
mod callrail;
mod dialpad;
mod draft;
mod elevenlabs;
mod fields;
mod plivo;
mod ringcentral;
mod servicetitan;
mod synthflow;
mod telnyx;
mod twilio;
mod voice_ai;
mod vonage;

use crate::cloudevent::{CloudEvent, event_id};
use crate::types::{EventType, UnrecognizedData};
pub(crate) use draft::{Draft, completed_with_recording};
use jiff::civil::DateTime;
use jiff::fmt::rfc2822;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use std::borrow::Cow;

/// The payload format of a source: its scheme's, or the source's `format` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    ServiceTitan,
    Twilio,
    Telnyx,
    Retell,
    Vapi,
    Plivo,
    Vonage,
    Dialpad,
    RingCentral,
    Bandwidth,
    Aircall,
    CallRail,
    Bland,
    ElevenLabs,
    Synthflow,
    /// Switchboard's own format for AI agents (docs/events.md).
    Agent,
    /// No normaliser: every delivery is `webhook.unrecognized`.
    Unknown,
}

impl Format {
    pub const NAMES: [&'static str; 16] = [
        "servicetitan",
        "twilio",
        "telnyx",
        "retell",
        "vapi",
        "plivo",
        "vonage",
        "dialpad",
        "ringcentral",
        "bandwidth",
        "aircall",
        "callrail",
        "bland",
        "elevenlabs",
        "synthflow",
        "agent",
    ];

    /// `format = "…"` value.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "servicetitan" => Self::ServiceTitan,
            "twilio" => Self::Twilio,
            "telnyx" => Self::Telnyx,
            "retell" => Self::Retell,
            "vapi" => Self::Vapi,
            "agent" => Self::Agent,
            other => return Self::provider(other),
        })
    }

    /// The telephony and voice-AI formats named as their signature schemes are.
    fn provider(name: &str) -> Option<Self> {
        Some(match name {
            "plivo" => Self::Plivo,
            "vonage" => Self::Vonage,
            "dialpad" => Self::Dialpad,
            "ringcentral" => Self::RingCentral,
            "bandwidth" => Self::Bandwidth,
            "aircall" => Self::Aircall,
            "callrail" => Self::CallRail,
            "bland" => Self::Bland,
            "elevenlabs" => Self::ElevenLabs,
            "synthflow" => Self::Synthflow,
            _ => return None,
        })
    }

    /// The default format of a signature scheme (`standard-webhooks` carries the agent
    /// format; the generic `basic`, `token`, `jwt` and `hmac` schemes have none).
    pub fn for_scheme(scheme: &str) -> Self {
        match scheme {
            "servicetitan" => Self::ServiceTitan,
            "twilio" => Self::Twilio,
            "telnyx" => Self::Telnyx,
            "retell" => Self::Retell,
            "vapi" => Self::Vapi,
            "standard-webhooks" => Self::Agent,
            other => Self::provider(other).unwrap_or(Self::Unknown),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceTitan => "servicetitan",
            Self::Twilio => "twilio",
            Self::Telnyx => "telnyx",
            Self::Retell => "retell",
            Self::Vapi => "vapi",
            Self::Plivo => "plivo",
            Self::Vonage => "vonage",
            Self::Dialpad => "dialpad",
            Self::RingCentral => "ringcentral",
            Self::Bandwidth => "bandwidth",
            Self::Aircall => "aircall",
            Self::CallRail => "callrail",
            Self::Bland => "bland",
            Self::ElevenLabs => "elevenlabs",
            Self::Synthflow => "synthflow",
            Self::Agent => "agent",
            Self::Unknown => "unknown",
        }
    }
}

/// A source's `format` key: every config format has its normaliser (the match is
/// exhaustive, so a format added to the config cannot silently read as `Unknown`).
impl From<switchboard_config::PayloadFormat> for Format {
    fn from(f: switchboard_config::PayloadFormat) -> Self {
        use switchboard_config::PayloadFormat as P;
        match f {
            P::Servicetitan => Self::ServiceTitan,
            P::Twilio => Self::Twilio,
            P::Telnyx => Self::Telnyx,
            P::Retell => Self::Retell,
            P::Vapi => Self::Vapi,
            P::Plivo => Self::Plivo,
            P::Vonage => Self::Vonage,
            P::Dialpad => Self::Dialpad,
            P::Ringcentral => Self::RingCentral,
            P::Bandwidth => Self::Bandwidth,
            P::Aircall => Self::Aircall,
            P::Callrail => Self::CallRail,
            P::Bland => Self::Bland,
            P::Elevenlabs => Self::ElevenLabs,
            P::Synthflow => Self::Synthflow,
            P::Agent => Self::Agent,
        }
    }
}

/// A delivery as stored in INBOUND: the body and what ingest recorded about it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub tenant: &'a str,
    pub source: &'a str,
    pub scheme: &'a str,
    pub format: Format,
    /// The INBOUND `Nats-Msg-Id`.
    pub inbound_id: &'a str,
    pub stream_seq: u64,
    /// `Switchboard-Received-At` (RFC 3339): the event time when the payload has none.
    pub received_at: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("malformed {format} payload: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
}

/// Why a format module could not produce events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    Malformed(String),
    Unrecognized(String),
}

/// A `webhook.unrecognized` draft for `d`.
pub(crate) fn unrecognized(d: &Delivery<'_>, reason: String) -> Draft {
    Draft::new(
        EventType::WebhookUnrecognized,
        None,
        None,
        &UnrecognizedData {
            source: d.source.to_owned(),
            scheme: d.scheme.to_owned(),
            format: d.format.as_str().to_owned(),
            inbound_stream_seq: d.stream_seq,
            reason,
            content_type: d.content_type.map(str::to_owned),
        },
    )
}

/// Turns one delivery into its CloudEvents (or a dead-letter reason).
pub fn normalise(d: &Delivery<'_>) -> Result<Vec<CloudEvent>, NormaliseError> {
    let drafts = match d.format {
        Format::Twilio => twilio::drafts(d),
        Format::Telnyx => telnyx::drafts(d),
        Format::Retell => voice_ai::retell(d),
        Format::Vapi => voice_ai::vapi(d),
        Format::Agent => agent::drafts(d),
        Format::ServiceTitan => servicetitan::drafts(d),
        Format::Plivo => plivo::drafts(d),
        Format::Vonage => vonage::drafts(d),
        Format::Dialpad => dialpad::drafts(d),
        Format::RingCentral => ringcentral::drafts(d),
        Format::Bandwidth => bandwidth::drafts(d),
        Format::Aircall => aircall::drafts(d),
        Format::CallRail => callrail::drafts(d),
        Format::Bland => bland::drafts(d),
        Format::ElevenLabs => elevenlabs::drafts(d),
        Format::Synthflow => synthflow::drafts(d),
        Format::Unknown => Err(Problem::Unrecognized(
            "the source has no payload format (set `format`)".into(),
        )),
    };
    let drafts = match drafts {
        Ok(drafts) => drafts,
        Err(Problem::Unrecognized(reason)) => vec![unrecognized(d, reason)],
        Err(Problem::Malformed(reason)) => {
            return Err(NormaliseError::Malformed {
                format: d.format.as_str(),
                reason,
            });
        }
    };
    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(i, draft)| CloudEvent {
            specversion: "1.0".into(),
            id: event_id(d.inbound_id, i),
            source: format!("/switchboard/{}/{}", d.tenant, d.source),
            kind: draft.kind.as_str().to_owned(),
            subject: draft.subject,
            time: draft
                .time
                .unwrap_or_else(|| utc(d.received_at).unwrap_or_else(|| d.received_at.to_owned())),
            datacontenttype: "application/json".into(),
            tenant: d.tenant.to_owned(),
            inboundid: d.inbound_id.to_owned(),
            data: draft.data,
        })
        .collect())
}

/// Parses an RFC 3339 date-time exactly as Switchboard always has (the grammar of the
/// `time` crate's `Rfc3339`, which every stored event and header was checked against):
/// `YYYY-MM-DD`, any one-byte separator, `hh:mm:ss`, an optional fraction of any length
/// (digits past the ninth are dropped), then `Z`, `z` or `±hh:mm` (hours at most 23). A
/// leap second (`:60`) is read as 23:59:59.999999999 and only on a month's last day in
/// UTC. Nothing else is accepted: jiff's own parser would also take `T15Z`, `+0600` and
/// `[zone]` annotations, and refuse a tenth fractional digit or a `_` separator.
///
/// Returns the instant and the offset it was written with.
pub fn parse_rfc3339(s: &str) -> Option<(Timestamp, Offset)> {
    let b = s.as_bytes();
    let digits = |at: usize, n: usize| -> Option<i32> {
        let mut value = 0;
        for &c in b.get(at..at + n)? {
            if !c.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i32::from(c - b'0');
        }
        Some(value)
    };
    let is = |at: usize, want: u8| b.get(at) == Some(&want);
    if !(is(4, b'-') && is(7, b'-') && is(13, b':') && is(16, b':')) {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, mut second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    let mut at = 19;
    let mut nanos: i32 = 0;
    if is(at, b'.') {
        at += 1;
        let first = at;
        let mut scale: i32 = 100_000_000;
        while let Some(&c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            nanos += i32::from(c - b'0') * scale;
            scale /= 10;
            at += 1;
        }
        if at == first {
            return None;
        }
    }
    let sign = *b.get(at)?;
    let offset_secs: i32 = if sign == b'Z' || sign == b'z' {
        at += 1;
        0
    } else if sign == b'+' || sign == b'-' {
        let (h, m) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
        if !is(at + 3, b':') || h > 23 || m > 59 {
            return None;
        }
        at += 6;
        if sign == b'-' {
            -(h * 3600 + m * 60)
        } else {
            h * 3600 + m * 60
        }
    } else {
        return None;
    };
    if at != b.len() {
        return None;
    }
    let leap = second == 60;
    if leap {
        (second, nanos) = (59, 999_999_999);
    }
    let dt = DateTime::new(
        year as i16,
        month as i8,
        day as i8,
        hour as i8,
        minute as i8,
        second as i8,
        nanos,
    )
    .ok()?;
    let offset = Offset::from_seconds(offset_secs).ok()?;
    let t = offset.to_timestamp(dt).ok()?;
    (!leap || leap_second_stand_in(t)).then_some((t, offset))
}

/// Formats `t` in `offset` as RFC 3339 the way Switchboard always has (the `time` crate's
/// `Rfc3339`): `Z` for a zero offset (however it was written), else `±hh:mm`; fractional
/// seconds only when non-zero, without trailing zeros. `None` when the year in `offset`
/// is outside 0000–9999 (jiff would write `-000001`).
pub fn format_rfc3339(t: Timestamp, offset: Offset) -> Option<String> {
    if !(0..=9999).contains(&offset.to_datetime(t).year()) {
        return None;
    }
    Some(if offset.is_zero() {
        t.to_string()
    } else {
        t.display_with_offset(offset).to_string()
    })
}

/// Whether `t` is 23:59:59.999999999 UTC on a month's last day: where a leap second
/// (read as that instant) has always been accepted.
fn leap_second_stand_in(t: Timestamp) -> bool {
    let utc = Offset::UTC.to_datetime(t);
    utc.hour() == 23
        && utc.minute() == 59
        && utc.second() == 59
        && utc.subsec_nanosecond() == 999_999_999
        && utc.day() == utc.days_in_month()
}

/// An RFC 3339 time (any offset) as RFC 3339 UTC.
pub(crate) fn utc(s: &str) -> Option<String> {
    parse_rfc3339(s.trim()).and_then(|(t, _)| format_rfc3339(t, Offset::UTC))
}

/// An RFC 2822 time (Twilio's `Timestamp`) as RFC 3339 UTC. Read as it always has been:
/// the weekday is not checked against the date, a comment may stand wherever whitespace
/// may (jiff alone takes one only at the end), and a leap second is 23:59:59.999999999
/// UTC on a month's last day (jiff alone reads any `:60` as `:59`).
pub(crate) fn utc_from_rfc2822(s: &str) -> Option<String> {
    static P: rfc2822::DateTimeParser = rfc2822::DateTimeParser::new().relaxed_weekday(true);
    let s = without_comments(s.trim())?;
    let mut t = P.parse_timestamp(s.as_bytes()).ok()?;
    let leap = s
        .split(':')
        .nth(2)
        .is_some_and(|second| second.trim_start().starts_with("60"));
    if leap {
        let last_nanosecond = SignedDuration::from_nanos(999_999_999);
        t = t.checked_add(last_nanosecond).ok()?;
        if !leap_second_stand_in(t) {
            return None;
        }
    }
    format_rfc3339(t, Offset::UTC)
}

/// `s` with each RFC 2822 comment (`(…)`, nestable, `\` escaping the next character)
/// replaced by a space; `None` if a comment is never closed.
fn without_comments(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('(') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let (mut depth, mut escaped) = (0u32, false);
    for c in s.chars() {
        if depth == 0 {
            if c == '(' {
                depth = 1;
                out.push(' ');
            } else {
                out.push(c);
            }
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '(' {
            depth += 1;
        } else if c == ')' {
            depth -= 1;
        }
    }
    (depth == 0).then_some(Cow::Owned(out))
}

/// Unix milliseconds as RFC 3339 UTC.
pub(crate) fn utc_from_unix_ms(ms: i64) -> Option<String> {
    Timestamp::from_millisecond(ms)
        .ok()
        .and_then(|t| format_rfc3339(t, Offset::UTC))
}

/// Parses a JSON body or reports it malformed.
pub(crate) fn json(d: &Delivery<'_>) -> Result<serde_json::Value, Problem> {
    serde_json::from_slice(d.body).map_err(|e| Problem::Malformed(format!("not JSON: {e}")))
}

/// A string field (`None` when absent, null or empty).
pub(crate) fn str_at(v: &serde_json::Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(|x| x.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod provider_tests;

/// The RFC 3339 / RFC 2822 readers and the writer above keep the exact forms Switchboard
/// read and wrote before it moved to jiff.
#[cfg(test)]
mod time_formats {
    use super::*;

    #[test]
    fn rfc3339_is_read_and_written_as_before() {
        let cases = [
            ("2026-11-23T09:04:05-06:00", "2026-11-23T15:04:05Z"),
            ("2026-11-23t15:04:05.120z", "2026-11-23T15:04:05.12Z"),
            ("2026-11-23 15:04:05-00:00", "2026-11-23T15:04:05Z"),
            ("2026-11-23_15:04:05+00:00", "2026-11-23T15:04:05Z"),
            ("2026-11-23T15:04:05.000Z", "2026-11-23T15:04:05Z"),
            ("2026-11-23T15:04:05.5Z", "2026-11-23T15:04:05.5Z"),
            (
                "2026-11-23T15:04:05.000000001Z",
                "2026-11-23T15:04:05.000000001Z",
            ),
            (
                "2026-11-23T15:04:05.1234567891Z",
                "2026-11-23T15:04:05.123456789Z",
            ),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999999999Z"),
            (
                "2016-12-31T17:59:60-06:00",
                "2016-12-31T23:59:59.999999999Z",
            ),
            (" 2026-11-23T15:04:05Z\n", "2026-11-23T15:04:05Z"),
        ];
        for (input, want) in cases {
            assert_eq!(utc(input).as_deref(), Some(want), "{input:?}");
        }
        for bad in [
            "2016-12-30T23:59:60Z",
            "2026-11-23T15:04Z",
            "2026-11-23T15Z",
            "2026-11-23T15:04:05",
            "2026-11-23T15:04:05+0600",
            "2026-11-23T15:04:05+06",
            "2026-11-23T15:04:05.Z",
            "2026-11-23T15:04:05,5Z",
            "2026-11-23T15:04:05+24:00",
            "2026-11-23T15:04:05+05:60",
            "2026-11-23T24:00:00Z",
            "2026-02-29T15:04:05Z",
            "+002026-11-23T15:04:05Z",
            "2026-11-23T15:04:05Z[UTC]",
            "20261123T150405Z",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
        // Year 0 with a positive offset is a valid time, but not writable in UTC.
        assert!(parse_rfc3339("0000-01-01T00:00:00+01:00").is_some());
        assert_eq!(utc("0000-01-01T00:00:00+01:00"), None);
    }

    #[test]
    fn rfc3339_keeps_the_offset_it_was_written_with() {
        let written = |s: &str| {
            let (t, offset) = parse_rfc3339(s).unwrap();
            format_rfc3339(t, offset).unwrap()
        };
        for s in [
            "2026-11-23T09:04:05.5-06:00",
            "2026-11-23T20:34:05+05:30",
            "2026-11-23T15:04:05Z",
        ] {
            assert_eq!(written(s), s);
        }
        // A zero offset is written `Z`, however it was read.
        for s in ["2026-11-23T15:04:05+00:00", "2026-11-23T15:04:05-00:00"] {
            assert_eq!(written(s), "2026-11-23T15:04:05Z");
        }
        let (t, _) = parse_rfc3339("2026-11-23T20:34:05+05:30").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T15:04:05Z");
    }

    #[test]
    fn rfc2822_is_read_as_before() {
        let cases = [
            ("Mon, 23 Nov 2026 15:09:21 +0000", "2026-11-23T15:09:21Z"),
            // The weekday is not checked against the date.
            ("Sun, 23 Nov 2026 15:09:21 +0000", "2026-11-23T15:09:21Z"),
            ("23 Nov 2026 09:09:21 CST", "2026-11-23T15:09:21Z"),
            ("23 nov 26 15:09 -0130", "2026-11-23T16:39:00Z"),
            ("Mon, 23 Nov 2026 15:09:21 GMT", "2026-11-23T15:09:21Z"),
            (
                "Mon, 23 (a \\) comment) Nov 2026 15:09:21 (UTC) +0000 (x (y))",
                "2026-11-23T15:09:21Z",
            ),
            (
                "Sat, 31 Dec 2016 23:59:60 +0000",
                "2016-12-31T23:59:59.999999999Z",
            ),
        ];
        for (input, want) in cases {
            let got = utc_from_rfc2822(input);
            assert_eq!(got.as_deref(), Some(want), "{input:?}");
        }
        for bad in [
            "Sat, 31 Dec 2016 23:58:60 +0000",
            "Mon, 23 Nov 2026 15:09:21 (open +0000",
            "Mon, 23 Nov 2026 15:09:21",
            "2026-11-23T15:09:21Z",
        ] {
            assert_eq!(utc_from_rfc2822(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unix_milliseconds_are_written_as_before() {
        let utc = |ms: i64| utc_from_unix_ms(ms).unwrap_or_default();
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc(1_700_000_000_100), "2023-11-14T22:13:20.1Z");
        assert_eq!(utc(-62_167_219_200_000), "0000-01-01T00:00:00Z");
        // Year -1: not writable.
        assert_eq!(utc_from_unix_ms(-62_167_219_200_001), None);
    }
}
