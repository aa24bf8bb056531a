//! Vonage Voice API event webhooks (JSON): call events carry `status` (`started`,
//! `ringing`, `answered`, `completed`, and the endings `busy`, `cancelled`, `unanswered`,
//! `rejected`, `failed`, `timeout`), `uuid` (`call_uuid` on the AMD events),
//! `conversation_uuid`, `from`, `to` (international digits without `+`), `direction`,
//! `timestamp`, and on `completed` `start_time`, `end_time`, `duration` (seconds). The
//! `record` event has no `status`: `recording_url`, `recording_uuid`, `start_time`,
//! `end_time`, `conversation_uuid`.
//! <https://developer.vonage.com/voice/voice-api/webhook-reference>

use super::fields::{secs_at, secs_between, with_plus};
use super::{Delivery, Draft, Problem, json, str_at, utc};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let time = str_at(&v, "/timestamp").and_then(|t| utc(&t));
    let start = str_at(&v, "/start_time");
    let end = str_at(&v, "/end_time");

    if let Some(url) = str_at(&v, "/recording_url") {
        // The record event names the conversation, not the call leg.
        let call_id = str_at(&v, "/uuid")
            .or_else(|| str_at(&v, "/conversation_uuid"))
            .ok_or_else(|| Problem::Malformed("record event without conversation_uuid".into()))?;
        return Ok(vec![Draft::recording(
            "vonage",
            &call_id,
            url,
            start.zip(end).and_then(|(a, b)| secs_between(&a, &b)),
            time,
        )]);
    }

    let Some(status) = str_at(&v, "/status") else {
        // input (DTMF), transfer and error events: nothing about the call's lifecycle.
        return Err(Problem::Unrecognized(
            "Vonage event without status or recording_url".into(),
        ));
    };
    let call_id = str_at(&v, "/uuid")
        .or_else(|| str_at(&v, "/call_uuid"))
        .ok_or_else(|| Problem::Malformed("no uuid".into()))?;
    let mut data = CallData::between(
        "vonage",
        &call_id,
        str_at(&v, "/from").map(with_plus),
        str_at(&v, "/to").map(with_plus),
        str_at(&v, "/direction").map(|d| d == "inbound"),
    );
    let kind = match status.as_str() {
        "started" => {
            data.started_at.clone_from(&time);
            EventType::CallStarted
        }
        // Always after `started` for the same call: starting it twice would say nothing new.
        "ringing" | "human" | "machine" => return Ok(Vec::new()),
        "answered" => {
            data.answered_at.clone_from(&time);
            EventType::CallAnswered
        }
        "completed" | "busy" | "failed" | "timeout" | "unanswered" | "rejected" | "cancelled" => {
            data.started_at = start.as_deref().and_then(utc);
            data.ended_at = end.as_deref().and_then(utc).or_else(|| time.clone());
            data.duration_secs = secs_at(&v, "/duration");
            data.end_reason = Some(status.clone());
            EventType::CallCompleted
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unknown Vonage call status `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_id), time, &data)])
}
