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
mod servicetitan;
mod telnyx;
mod twilio;
mod voice_ai;

use crate::cloudevent::{CloudEvent, event_id};
use crate::types::{EventType, UnrecognizedData};
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

/// The payload format of a source: its scheme's, or the source's `format` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    ServiceTitan,
    Twilio,
    Telnyx,
    Retell,
    Vapi,
    /// Switchboard's own format for AI agents (docs/events.md).
    Agent,
    /// No normaliser: every delivery is `webhook.unrecognized`.
    Unknown,
}

impl Format {
    pub const NAMES: [&'static str; 6] = [
        "servicetitan",
        "twilio",
        "telnyx",
        "retell",
        "vapi",
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
            _ => return None,
        })
    }

    /// The default format of a signature scheme (`standard-webhooks` carries the agent
    /// format; the generic `hmac` scheme has none).
    pub fn for_scheme(scheme: &str) -> Self {
        match scheme {
            "servicetitan" => Self::ServiceTitan,
            "twilio" => Self::Twilio,
            "telnyx" => Self::Telnyx,
            "retell" => Self::Retell,
            "vapi" => Self::Vapi,
            "standard-webhooks" => Self::Agent,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceTitan => "servicetitan",
            Self::Twilio => "twilio",
            Self::Telnyx => "telnyx",
            Self::Retell => "retell",
            Self::Vapi => "vapi",
            Self::Agent => "agent",
            Self::Unknown => "unknown",
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

/// An event before its envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub kind: EventType,
    pub subject: Option<String>,
    pub time: Option<String>,
    pub data: serde_json::Value,
}

impl Draft {
    pub(crate) fn new<T: serde::Serialize>(
        kind: EventType,
        subject: Option<String>,
        time: Option<String>,
        data: &T,
    ) -> Self {
        Self {
            kind,
            subject,
            time,
            data: serde_json::to_value(data).expect("event data serializes"),
        }
    }
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

fn format_utc(t: OffsetDateTime) -> Option<String> {
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()
}

/// An RFC 3339 time (any offset) as RFC 3339 UTC.
pub(crate) fn utc(s: &str) -> Option<String> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .and_then(format_utc)
}

/// An RFC 2822 time (Twilio's `Timestamp`) as RFC 3339 UTC.
pub(crate) fn utc_from_rfc2822(s: &str) -> Option<String> {
    OffsetDateTime::parse(s.trim(), &Rfc2822)
        .ok()
        .and_then(format_utc)
}

/// Unix milliseconds as RFC 3339 UTC.
pub(crate) fn utc_from_unix_ms(ms: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(format_utc)
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
