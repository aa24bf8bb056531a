//! Telnyx Call Control webhooks: `{"data": {"event_type", "id", "occurred_at", "payload":
//! {…}}}` for `call.initiated`, `call.answered`, `call.hangup`, `call.recording.saved`.
//! <https://developers.telnyx.com/docs/voice/programmable-voice/receiving-webhooks>

use super::fields::secs_between;
use super::{Delivery, Draft, Problem, json, str_at, utc};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let event = str_at(&v, "/data/event_type")
        .ok_or_else(|| Problem::Malformed("no data.event_type".into()))?;
    let p = v
        .pointer("/data/payload")
        .ok_or_else(|| Problem::Malformed("no data.payload".into()))?;
    let call_id = str_at(p, "/call_session_id")
        .or_else(|| str_at(p, "/call_control_id"))
        .ok_or_else(|| Problem::Malformed("no call_session_id or call_control_id".into()))?;
    let time = str_at(&v, "/data/occurred_at").and_then(|t| utc(&t));
    if event == "call.recording.saved" {
        let url = str_at(p, "/recording_urls/mp3")
            .or_else(|| str_at(p, "/recording_urls/wav"))
            .or_else(|| str_at(p, "/public_recording_urls/mp3"))
            .ok_or_else(|| {
                Problem::Malformed("call.recording.saved without recording_urls".into())
            })?;
        let duration = str_at(p, "/recording_started_at")
            .zip(str_at(p, "/recording_ended_at"))
            .and_then(|(a, b)| secs_between(&a, &b));
        return Ok(vec![Draft::recording(
            "telnyx", &call_id, url, duration, time,
        )]);
    }
    let mut data = CallData::between(
        "telnyx",
        &call_id,
        str_at(p, "/from"),
        str_at(p, "/to"),
        str_at(p, "/direction").map(|d| d == "incoming"),
    );
    let kind = match event.as_str() {
        "call.initiated" => {
            data.started_at = str_at(p, "/start_time")
                .and_then(|t| utc(&t))
                .or_else(|| time.clone());
            EventType::CallStarted
        }
        "call.answered" => {
            data.answered_at.clone_from(&time);
            EventType::CallAnswered
        }
        "call.hangup" => {
            data.started_at = str_at(p, "/start_time").and_then(|t| utc(&t));
            data.ended_at = str_at(p, "/end_time")
                .and_then(|t| utc(&t))
                .or_else(|| time.clone());
            data.duration_secs = str_at(p, "/start_time")
                .zip(str_at(p, "/end_time"))
                .and_then(|(a, b)| secs_between(&a, &b));
            data.end_reason = str_at(p, "/hangup_cause");
            EventType::CallCompleted
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Telnyx event_type `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_id), time, &data)])
}
