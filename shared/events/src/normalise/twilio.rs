//! Twilio Programmable Voice status callbacks (form posts): `CallStatus` is one of
//! `queued`, `initiated`, `ringing`, `in-progress` (or `answered` from some SDKs),
//! `completed`, `busy`, `no-answer`, `failed`, `canceled`; recording status callbacks carry
//! `RecordingSid`, `RecordingUrl`, `RecordingStatus`, `RecordingDuration`.
//! <https://www.twilio.com/docs/voice/api/call-resource#statuscallback>

use super::{Delivery, Draft, Problem, utc_from_rfc2822};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let params = switchboard_signatures::parse_form(d.body).map_err(Problem::Malformed)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let call_sid = get("CallSid").ok_or_else(|| Problem::Malformed("no CallSid".into()))?;
    let time = get("Timestamp").and_then(|t| utc_from_rfc2822(&t));

    if let Some(status) = get("RecordingStatus") {
        if status != "completed" {
            return Ok(Vec::new()); // in-progress / absent: nothing to listen to yet
        }
        let url = get("RecordingUrl")
            .ok_or_else(|| Problem::Malformed("recording callback without RecordingUrl".into()))?;
        return Ok(vec![Draft::recording(
            "twilio",
            &call_sid,
            url,
            get("RecordingDuration").and_then(|v| v.parse().ok()),
            time,
        )]);
    }

    let status = get("CallStatus").ok_or_else(|| Problem::Malformed("no CallStatus".into()))?;
    let mut data = CallData::between(
        "twilio",
        &call_sid,
        get("From"),
        get("To"),
        get("Direction").map(|v| v == "inbound"),
    );
    let kind = match status.as_str() {
        "queued" | "ringing" => return Ok(Vec::new()),
        "initiated" => {
            data.started_at.clone_from(&time);
            EventType::CallStarted
        }
        "in-progress" | "answered" => {
            data.answered_at.clone_from(&time);
            EventType::CallAnswered
        }
        "completed" | "busy" | "no-answer" | "failed" | "canceled" => {
            data.ended_at.clone_from(&time);
            data.duration_secs = get("CallDuration").and_then(|v| v.parse().ok());
            data.end_reason = Some(status.clone());
            data.recording_url = get("RecordingUrl");
            EventType::CallCompleted
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unknown Twilio CallStatus `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_sid), time, &data)])
}
