//! Bandwidth Voice API v2 (BXML) webhooks, JSON with `eventType`: `initiate` (an inbound
//! call arrives), `answer` (an outbound call is answered), `disconnect` (`cause`,
//! `startTime`, `answerTime`, `endTime`), `recordingAvailable` (`mediaUrl`, ISO 8601
//! `duration` such as `PT20.056S`, `status`); all with `callId`, `from`, `to`, `direction`,
//! `eventTime`. The documentation's own examples have times without a zone, read as UTC.
//! <https://dev.bandwidth.com/docs/voice/webhooks>

use super::fields::secs_between;
use super::{Delivery, Draft, Problem, json, str_at, utc};
use crate::types::{CallData, EventType};
use serde_json::Value;

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let event =
        str_at(&v, "/eventType").ok_or_else(|| Problem::Malformed("no eventType".into()))?;
    let call_id = str_at(&v, "/callId").ok_or_else(|| Problem::Malformed("no callId".into()))?;
    let time = lenient_utc(&v, "/eventTime");

    match event.as_str() {
        "recordingAvailable" => {
            // `error`: nothing to listen to (`partial` is downloadable, with gaps).
            if str_at(&v, "/status").as_deref() == Some("error") {
                return Ok(Vec::new());
            }
            let url = str_at(&v, "/mediaUrl")
                .ok_or_else(|| Problem::Malformed("recordingAvailable without mediaUrl".into()))?;
            return Ok(vec![Draft::recording(
                "bandwidth",
                &call_id,
                url,
                str_at(&v, "/duration").and_then(|p| iso_duration_secs(&p)),
                time,
            )]);
        }
        // Sent when a `<Record>` ends, before the file can be downloaded: the
        // `recordingAvailable` that follows is the one that says it is ready.
        "recordingComplete" | "recordComplete" => return Ok(Vec::new()),
        _ => {}
    }

    let start = lenient_utc(&v, "/startTime");
    let mut data = CallData::between(
        "bandwidth",
        &call_id,
        str_at(&v, "/from"),
        str_at(&v, "/to"),
        str_at(&v, "/direction").map(|d| d == "inbound"),
    );
    data.started_at.clone_from(&start);
    let kind = match event.as_str() {
        "initiate" => {
            data.started_at = start.or_else(|| time.clone());
            EventType::CallStarted
        }
        "answer" => {
            data.answered_at = lenient_utc(&v, "/answerTime").or_else(|| time.clone());
            EventType::CallAnswered
        }
        "disconnect" => {
            let end = lenient_utc(&v, "/endTime");
            data.answered_at = lenient_utc(&v, "/answerTime");
            data.duration_secs = start
                .as_deref()
                .zip(end.as_deref())
                .and_then(|(a, b)| secs_between(a, b));
            data.ended_at = end.or_else(|| time.clone());
            data.end_reason = str_at(&v, "/cause");
            EventType::CallCompleted
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Bandwidth eventType `{other}`"
            )));
        }
    };
    Ok(vec![Draft::new(kind, Some(call_id), time, &data)])
}

/// An RFC 3339 time, or one written without its zone (read as UTC), as RFC 3339 UTC.
fn lenient_utc(v: &Value, pointer: &str) -> Option<String> {
    let s = str_at(v, pointer)?;
    utc(&s).or_else(|| utc(&format!("{}Z", s.trim())))
}

/// Whole seconds of an ISO 8601 time duration (`PT20.056S`, `PT1M5S`, `PT1H`).
fn iso_duration_secs(s: &str) -> Option<u64> {
    let rest = s.trim().strip_prefix("PT")?;
    let (mut total, mut number) = (0.0_f64, String::new());
    for c in rest.chars() {
        let unit = match c {
            '0'..='9' | '.' => {
                number.push(c);
                continue;
            }
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * unit;
        number.clear();
    }
    (number.is_empty() && total.is_finite()).then(|| total.round() as u64)
}
