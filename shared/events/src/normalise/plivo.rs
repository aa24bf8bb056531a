//! Plivo Voice callbacks (form posts to the ring, answer and hangup URLs): `CallUUID`,
//! `From`, `To` (with the country code, often without `+`), `Direction`, `CallStatus`
//! (`ringing`, `in-progress`, `completed`, and for outbound calls `busy`, `failed`,
//! `timeout`, `no-answer`), `Duration`, `HangupCause`. A `<Record>` callback carries
//! `RecordUrl` and `RecordingDuration` (the Record API's callback the same in snake case).
//! No callback carries a time: events take the time ingest received them.
//! <https://www.plivo.com/docs/voice/xml/request/>, <https://docs.plivo.com/docs/voice/xml/record>

use super::fields::with_plus;
use super::{Delivery, Draft, Problem};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let params = switchboard_signatures::parse_form(d.body).map_err(Problem::Malformed)?;
    let call_id = first(&params, &["CallUUID", "call_uuid"])
        .ok_or_else(|| Problem::Malformed("no CallUUID".into()))?;

    if let Some(url) = first(&params, &["RecordUrl", "record_url"]) {
        return Ok(vec![Draft::recording(
            "plivo",
            &call_id,
            url,
            first(&params, &["RecordingDuration", "recording_duration"])
                .and_then(|v| v.trim().parse().ok()),
            None,
        )]);
    }

    // Plivo posts the same form to other URLs too (a `<GetDigits>` action, …): without a
    // status it is nothing we read, but not broken.
    let status = first(&params, &["CallStatus"]).ok_or_else(|| {
        Problem::Unrecognized("Plivo callback with neither CallStatus nor RecordUrl".into())
    })?;
    let mut data = CallData::between(
        "plivo",
        &call_id,
        first(&params, &["From"]).map(with_plus),
        first(&params, &["To"]).map(with_plus),
        first(&params, &["Direction"]).map(|v| v == "inbound"),
    );
    let kind = match status.as_str() {
        "ringing" => EventType::CallStarted,
        "in-progress" => EventType::CallAnswered,
        "completed" | "busy" | "failed" | "timeout" | "no-answer" | "canceled" => {
            data.duration_secs = first(&params, &["Duration"]).and_then(|v| v.trim().parse().ok());
            data.end_reason = first(&params, &["HangupCause"]).or(Some(status.clone()));
            EventType::CallCompleted
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unknown Plivo CallStatus `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_id), None, &data)])
}

/// The first of `names` that the form holds with a non-empty value.
fn first(params: &[(String, String)], names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        params
            .iter()
            .find(|(k, _)| k.as_str() == *name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    })
}
