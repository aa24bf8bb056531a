//! Aircall webhooks: `{"resource", "event", "timestamp", "token", "data"}` where, for
//! `resource: "call"`, `data` is the call object: `id`, `direction`, `raw_digits` (the
//! external number, formatted like `+1 800-123-4567`), `number.digits` (the Aircall line),
//! unix-second `started_at`, `answered_at`, `ended_at`, `duration` (seconds),
//! `hangup_cause`, `missed_call_reason`, `recording` (a URL once the call has ended).
//! <https://developer.aircall.io/docs/webhooks-overview>,
//! <https://developer.aircall.io/api-references/#call-overview>

use super::fields::{id_at, int_at, secs_at, utc_from_unix_secs};
use super::{Delivery, Draft, Problem, completed_with_recording, json, str_at};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let event = str_at(&v, "/event").ok_or_else(|| Problem::Malformed("no event".into()))?;
    let is_call = match str_at(&v, "/resource") {
        Some(resource) => resource == "call",
        None => event.starts_with("call."),
    };
    if !is_call {
        return Err(Problem::Unrecognized(format!(
            "unhandled Aircall event `{event}`"
        )));
    }
    let c = v
        .get("data")
        .ok_or_else(|| Problem::Malformed("no data".into()))?;
    let call_id = id_at(c, "/id").ok_or_else(|| Problem::Malformed("no data.id".into()))?;
    let secs = |k: &str| int_at(c, k).and_then(utc_from_unix_secs);
    let time = int_at(&v, "/timestamp").and_then(utc_from_unix_secs);
    let inbound = str_at(c, "/direction").map(|d| d == "inbound");
    let external = str_at(c, "/raw_digits");
    let line = str_at(c, "/number/digits");
    let (from, to) = if inbound == Some(false) {
        (line, external)
    } else {
        (external, line)
    };
    let mut data = CallData {
        started_at: secs("/started_at"),
        ..CallData::between("aircall", &call_id, from, to, inbound)
    };
    let subject = Some(call_id.clone());
    Ok(match event.as_str() {
        "call.created" => {
            data.started_at = data.started_at.take().or_else(|| time.clone());
            vec![Draft::new(EventType::CallStarted, subject, time, &data)]
        }
        "call.answered" => {
            data.answered_at = secs("/answered_at").or_else(|| time.clone());
            vec![Draft::new(EventType::CallAnswered, subject, time, &data)]
        }
        "call.ended" => {
            data.answered_at = secs("/answered_at");
            data.ended_at = secs("/ended_at").or_else(|| time.clone());
            data.duration_secs = secs_at(c, "/duration");
            data.end_reason =
                str_at(c, "/missed_call_reason").or_else(|| str_at(c, "/hangup_cause"));
            data.recording_url = str_at(c, "/recording");
            completed_with_recording(&data, None)
        }
        // Fires the moment the call ends, before its duration and recording are known;
        // `call.ended` follows about 30 s later with the complete call, and is the one
        // that completes it (reading both would complete every call twice).
        "call.hungup" => Vec::new(),
        // Routing and in-call activity, and after-call bookkeeping in Aircall.
        "call.ringing_on_agent"
        | "call.agent_declined"
        | "call.transferred"
        | "call.external_transferred"
        | "call.unsuccessful_transfer"
        | "call.hold"
        | "call.unhold"
        | "call.ivr_option_selected"
        | "call.assigned"
        | "call.archived"
        | "call.tagged"
        | "call.untagged"
        | "call.commented" => Vec::new(),
        // `call.voicemail_left`, `call.comm_assets_generated`, …: kept for a later parser.
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Aircall event `{other}`"
            )));
        }
    })
}
