//! Voice-AI platforms. Both can carry the agent's own verdict on the call in their
//! post-call analysis, which becomes `call.outcome`.
//!
//! Retell: `{"event": "call_started" | "call_ended" | "call_analyzed", "call": {…}}`
//! (<https://docs.retellai.com/features/webhook>). Vapi server messages:
//! `{"message": {"type": "status-update" | "end-of-call-report", …}}`
//! (<https://docs.vapi.ai/server-url/events>).

use super::{Delivery, Draft, Problem, json, str_at, utc, utc_from_unix_ms};
use crate::e164;
use crate::types::{CallData, Direction, EventType, Outcome, OutcomeData, StRefs};
use serde_json::Value;

/// The agent's verdict inside an analysis object: `outcome`, `reason`, `tags`,
/// `servicetitan_{call,job,appointment}_id` (see docs/events.md).
fn outcome_from_analysis(
    analysis: &Value,
    base: &CallData,
    summary: Option<String>,
    provider: &str,
) -> Result<Option<OutcomeData>, Problem> {
    let Some(outcome) = analysis.get("outcome").filter(|o| !o.is_null()) else {
        return Ok(None);
    };
    let outcome: Outcome = serde_json::from_value(outcome.clone()).map_err(|_| {
        Problem::Malformed(format!(
            "outcome {outcome} is not booked|unbooked|excused|not_lead|abandoned"
        ))
    })?;
    let id = |k: &str| analysis.get(k).and_then(Value::as_i64);
    Ok(Some(OutcomeData {
        provider: provider.to_owned(),
        provider_call_id: base.provider_call_id.clone(),
        outcome,
        reason: str_at(analysis, "/reason"),
        tags: analysis
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        servicetitan: StRefs {
            call_id: id("servicetitan_call_id"),
            job_id: id("servicetitan_job_id"),
            appointment_id: id("servicetitan_appointment_id"),
        },
        from: base.from.clone(),
        to: base.to.clone(),
        started_at: base.started_at.clone(),
        ended_at: base.ended_at.clone(),
        summary,
    }))
}

pub(crate) fn retell(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let event = str_at(&v, "/event").ok_or_else(|| Problem::Malformed("no event".into()))?;
    let call = v
        .get("call")
        .ok_or_else(|| Problem::Malformed("no call".into()))?;
    let call_id =
        str_at(call, "/call_id").ok_or_else(|| Problem::Malformed("no call.call_id".into()))?;
    let ms = |k: &str| {
        call.get(k)
            .and_then(Value::as_i64)
            .and_then(utc_from_unix_ms)
    };
    let base = CallData {
        provider: "retell".into(),
        provider_call_id: call_id.clone(),
        from: str_at(call, "/from_number").map(|n| e164::normalise(&n)),
        to: str_at(call, "/to_number").map(|n| e164::normalise(&n)),
        direction: str_at(call, "/direction").map(|d| {
            if d == "inbound" {
                Direction::Inbound
            } else {
                Direction::Outbound
            }
        }),
        started_at: ms("start_timestamp"),
        ..CallData::default()
    };
    let subject = Some(call_id);
    Ok(match event.as_str() {
        // The agent picks up as the call starts: started and answered at once.
        "call_started" => {
            let answered = CallData {
                answered_at: base.started_at.clone(),
                ..base.clone()
            };
            vec![
                Draft::new(
                    EventType::CallStarted,
                    subject.clone(),
                    base.started_at.clone(),
                    &base,
                ),
                Draft::new(
                    EventType::CallAnswered,
                    subject,
                    base.started_at.clone(),
                    &answered,
                ),
            ]
        }
        "call_ended" => {
            let data = CallData {
                answered_at: base.started_at.clone(),
                ended_at: ms("end_timestamp"),
                duration_secs: call
                    .get("duration_ms")
                    .and_then(Value::as_u64)
                    .map(|d| d / 1000)
                    .or_else(|| {
                        let (a, b) = (
                            call.get("start_timestamp")?.as_i64()?,
                            call.get("end_timestamp")?.as_i64()?,
                        );
                        u64::try_from((b - a) / 1000).ok()
                    }),
                end_reason: str_at(call, "/disconnection_reason"),
                recording_url: str_at(call, "/recording_url"),
                ..base
            };
            vec![Draft::new(
                EventType::CallCompleted,
                subject,
                data.ended_at.clone(),
                &data,
            )]
        }
        "call_analyzed" => {
            let base = CallData {
                ended_at: ms("end_timestamp"),
                ..base
            };
            let analysis = call
                .pointer("/call_analysis/custom_analysis_data")
                .cloned()
                .unwrap_or(Value::Null);
            let summary = str_at(call, "/call_analysis/call_summary");
            match outcome_from_analysis(&analysis, &base, summary, "retell")? {
                Some(o) => vec![Draft::new(
                    EventType::CallOutcome,
                    subject,
                    base.ended_at.clone(),
                    &o,
                )],
                None => Vec::new(), // analysed without a verdict: nothing canonical to say
            }
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Retell event `{other}`"
            )));
        }
    })
}

pub(crate) fn vapi(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let m = v
        .get("message")
        .ok_or_else(|| Problem::Malformed("no message".into()))?;
    let kind = str_at(m, "/type").ok_or_else(|| Problem::Malformed("no message.type".into()))?;
    let call = m
        .get("call")
        .ok_or_else(|| Problem::Malformed("no message.call".into()))?;
    let call_id =
        str_at(call, "/id").ok_or_else(|| Problem::Malformed("no message.call.id".into()))?;
    let time = m
        .get("timestamp")
        .and_then(Value::as_i64)
        .and_then(utc_from_unix_ms);
    let inbound = str_at(call, "/type").is_none_or(|t| t.starts_with("inbound"));
    let customer = str_at(call, "/customer/number").map(|n| e164::normalise(&n));
    let line = str_at(call, "/phoneNumber/number").map(|n| e164::normalise(&n));
    let (from, to) = if inbound {
        (customer, line)
    } else {
        (line, customer)
    };
    let base = CallData {
        provider: "vapi".into(),
        provider_call_id: call_id.clone(),
        from,
        to,
        direction: Some(if inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        }),
        started_at: str_at(call, "/startedAt").and_then(|t| utc(&t)),
        ..CallData::default()
    };
    let subject = Some(call_id);
    Ok(match kind.as_str() {
        "status-update" => match str_at(m, "/status").as_deref() {
            Some("ringing") => {
                let data = CallData {
                    started_at: base.started_at.clone().or(time.clone()),
                    ..base
                };
                vec![Draft::new(EventType::CallStarted, subject, time, &data)]
            }
            Some("in-progress") => {
                let data = CallData {
                    answered_at: time.clone(),
                    ..base
                };
                vec![Draft::new(EventType::CallAnswered, subject, time, &data)]
            }
            // queued, forwarding, ended: the end-of-call report carries the ending.
            Some(_) => Vec::new(),
            None => return Err(Problem::Malformed("status-update without status".into())),
        },
        "end-of-call-report" => {
            let data = CallData {
                started_at: str_at(m, "/startedAt")
                    .and_then(|t| utc(&t))
                    .or(base.started_at.clone()),
                ended_at: str_at(m, "/endedAt").and_then(|t| utc(&t)).or(time.clone()),
                duration_secs: m
                    .get("durationSeconds")
                    .and_then(Value::as_f64)
                    .map(|s| s.round() as u64),
                end_reason: str_at(m, "/endedReason"),
                recording_url: str_at(m, "/recordingUrl")
                    .or_else(|| str_at(m, "/artifact/recordingUrl")),
                ..base
            };
            let mut drafts = vec![Draft::new(
                EventType::CallCompleted,
                subject.clone(),
                data.ended_at.clone(),
                &data,
            )];
            let analysis = m
                .pointer("/analysis/structuredData")
                .cloned()
                .unwrap_or(Value::Null);
            if let Some(o) =
                outcome_from_analysis(&analysis, &data, str_at(m, "/analysis/summary"), "vapi")?
            {
                drafts.push(Draft::new(
                    EventType::CallOutcome,
                    subject,
                    data.ended_at.clone(),
                    &o,
                ));
            }
            drafts
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Vapi message type `{other}`"
            )));
        }
    })
}
