//! CallRail call webhooks (pre-call, call routing complete, post-call, call modified): the
//! body is the call object itself, with no event-type field (each event is configured with
//! its own URL). Read here: `resource_id` (`CAL…`; older bodies a numeric `id`),
//! `direction`, `customer_phone_number`, `tracking_phone_number`, `start_time` (RFC 3339
//! with the company's offset), `duration` (seconds, a string or a number; 0 before the call
//! ends), `answered`, `voicemail`, `recording`, `recording_duration`, and `changes` on
//! call-modified bodies.
//! <https://support.callrail.com/hc/en-us/articles/5711246459149-Webhooks>,
//! <https://apidocs.callrail.com/#webhooks>

use super::fields::{id_at, secs_at, utc_after};
use super::{Delivery, Draft, Problem, completed_with_recording, json, str_at, utc};
use crate::types::{CallData, EventType};
use serde_json::Value;

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    // Text-message and form-submission webhooks share the shape with another resource.
    if let Some(id) = str_at(&v, "/resource_id")
        && !id.starts_with("CAL")
    {
        return Err(Problem::Unrecognized(format!(
            "CallRail resource `{id}` is not a call"
        )));
    }
    let call_id = id_at(&v, "/resource_id")
        .or_else(|| id_at(&v, "/id"))
        .ok_or_else(|| Problem::Malformed("no resource_id or id".into()))?;
    let recording = str_at(&v, "/recording");
    let recording_secs = secs_at(&v, "/recording_duration");

    // Call modified: a finished call changed (tags, notes, a late recording, …).
    if let Some(changes) = v.get("changes").filter(|c| !c.is_null()) {
        return Ok(match recording {
            Some(url) if mentions(changes, "recording") => {
                vec![Draft::recording(
                    "callrail",
                    &call_id,
                    url,
                    recording_secs,
                    None,
                )]
            }
            _ => Vec::new(),
        });
    }

    let outbound = str_at(&v, "/direction").is_some_and(|d| d == "outbound");
    let customer = str_at(&v, "/customer_phone_number");
    let tracking = str_at(&v, "/tracking_phone_number");
    let (from, to) = if outbound {
        (tracking, customer)
    } else {
        (customer, tracking)
    };
    let start = str_at(&v, "/start_time").and_then(|t| utc(&t));
    let mut data = CallData {
        started_at: start.clone(),
        ..CallData::between(
            "callrail",
            &call_id,
            from,
            to,
            str_at(&v, "/direction").map(|d| d == "inbound"),
        )
    };
    let duration = secs_at(&v, "/duration");
    let answered = v.get("answered").and_then(Value::as_bool);
    // Pre-call and routing-complete bodies have `duration` 0 and `answered` false: the call
    // is under way. A post-call body has the duration (ringing included) or was answered.
    if !(duration.is_some_and(|s| s > 0) || answered == Some(true)) {
        return Ok(vec![Draft::new(
            EventType::CallStarted,
            Some(call_id.clone()),
            start,
            &data,
        )]);
    }
    data.duration_secs = duration;
    data.ended_at = start
        .as_deref()
        .zip(duration)
        .and_then(|(s, secs)| utc_after(s, secs));
    data.end_reason = if v.get("voicemail").and_then(Value::as_bool) == Some(true) {
        Some("voicemail".to_owned())
    } else {
        answered.map(|a| String::from(if a { "completed" } else { "no-answer" }))
    };
    data.recording_url = recording;
    Ok(completed_with_recording(&data, recording_secs))
}

/// Whether a call-modified `changes` value names `field` (as a key or a listed name).
fn mentions(changes: &Value, field: &str) -> bool {
    match changes {
        Value::String(s) => s.contains(field),
        Value::Array(items) => items.iter().any(|x| mentions(x, field)),
        Value::Object(map) => map
            .iter()
            .any(|(k, x)| k.contains(field) || mentions(x, field)),
        _ => false,
    }
}
