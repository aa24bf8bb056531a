//! Dialpad call events: the call object at the moment it entered `state` (`calling`,
//! `ringing`, `connected`, `hangup`, `recording`, …), with `call_id` (an integer that can
//! exceed 2^53), `direction`, `external_number` / `internal_number`, epoch-millisecond
//! `date_started`, `date_connected`, `date_ended`, `event_timestamp`, `duration` in
//! milliseconds and `recording_details[].url`. With a webhook secret the body is an HS256
//! JWT whose claims are the event (ingest verified it); without one it is the JSON itself.
//! <https://developers.dialpad.com/docs/call-events>,
//! <https://developers.dialpad.com/reference/webhook_call_event_subscriptioncreate>

use super::fields::{id_at, int_at, number_at};
use super::{Delivery, Draft, Problem, str_at, utc_from_unix_ms};
use crate::types::{CallData, EventType};
use base64::Engine as _;
use serde_json::Value;

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = event(d.body)?;
    let state = str_at(&v, "/state").ok_or_else(|| Problem::Malformed("no state".into()))?;
    let call_id = id_at(&v, "/call_id").ok_or_else(|| Problem::Malformed("no call_id".into()))?;
    let ms = |k: &str| int_at(&v, k).and_then(utc_from_unix_ms);
    let time = ms("/event_timestamp");
    let inbound = str_at(&v, "/direction").map(|d| d == "inbound");
    let external = str_at(&v, "/external_number");
    let internal = str_at(&v, "/internal_number");
    let (from, to) = if inbound == Some(false) {
        (internal, external)
    } else {
        (external, internal)
    };
    let mut data = CallData {
        started_at: ms("/date_started"),
        ..CallData::between("dialpad", &call_id, from, to, inbound)
    };
    let kind = match state.as_str() {
        "calling" | "ringing" => {
            data.started_at = data.started_at.take().or_else(|| time.clone());
            EventType::CallStarted
        }
        "connected" => {
            data.answered_at = ms("/date_connected").or_else(|| time.clone());
            EventType::CallAnswered
        }
        "hangup" => {
            data.answered_at = ms("/date_connected");
            data.ended_at = ms("/date_ended").or_else(|| time.clone());
            data.duration_secs = number_at(&v, "/duration").map(|m| (m / 1000.0).round() as u64);
            // Dialpad sends no hangup cause; a call never connected was not answered.
            let reason = if data.answered_at.is_some() {
                "completed"
            } else {
                "no-answer"
            };
            data.end_reason = Some(reason.to_owned());
            data.recording_url = recording_url(&v);
            EventType::CallCompleted
        }
        "recording" | "admin_recording" => {
            // The URL is only there with the `recordings_export` scope.
            let Some(url) = recording_url(&v) else {
                return Ok(Vec::new());
            };
            return Ok(vec![Draft::recording("dialpad", &call_id, url, None, time)]);
        }
        // Routing, in-call and after-call states that add nothing to the call's lifecycle:
        // an inbound call rings (`ringing`) after `preanswer`/`queued`, and ends in
        // `hangup` even when it was `missed` or went to `voicemail`.
        "preanswer" | "queued" | "missed" | "voicemail" | "voicemail_uploaded" | "hold"
        | "parked" | "merged" | "barge" | "eavesdrop" | "monitor" | "takeover" | "admin"
        | "postcall" | "transcription" | "call_transcription" | "csat" | "pcsat"
        | "dispositions" | "ai_playbook" => return Ok(Vec::new()),
        // Anything else — `recap_outcome` among them, Dialpad AI's verdict, whose shape is
        // not documented yet — is kept for a later parser.
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Dialpad call state `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_id), time, &data)])
}

/// The event: the body itself when it is JSON, else the claims of the JWT it is.
fn event(body: &[u8]) -> Result<Value, Problem> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Problem::Malformed("body is not UTF-8".into()))?
        .trim();
    let v: Value = if text.starts_with('{') {
        serde_json::from_str(text).map_err(|e| Problem::Malformed(format!("not JSON: {e}")))?
    } else {
        let mut parts = text.split('.');
        let (Some(_), Some(claims), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Problem::Malformed("neither JSON nor a JWT".into()));
        };
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims.trim_end_matches('='))
            .map_err(|e| Problem::Malformed(format!("JWT claims are not base64url: {e}")))?;
        serde_json::from_slice(&claims)
            .map_err(|e| Problem::Malformed(format!("JWT claims are not JSON: {e}")))?
    };
    if v.is_object() {
        Ok(v)
    } else {
        Err(Problem::Malformed("the event is not a JSON object".into()))
    }
}

/// The call recording's URL: `recording_details[].url` (not a voicemail), else the first
/// share link.
fn recording_url(v: &Value) -> Option<String> {
    v.get("recording_details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| str_at(r, "/recording_type").as_deref() != Some("voicemail"))
        .find_map(|r| str_at(r, "/url"))
        .or_else(|| str_at(v, "/call_recording_share_links/0"))
}
