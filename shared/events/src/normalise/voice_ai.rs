//! Voice-AI platforms. Both can carry the agent's own verdict on the call in their
//! post-call analysis, which becomes `call.outcome`.
//!
//! Retell: `{"event": "call_started" | "call_ended" | "call_analyzed", "call": {…}}`
//! (<https://docs.retellai.com/features/webhook>). Vapi server messages:
//! `{"message": {"type": "status-update" | "end-of-call-report", …}}`
//! (<https://docs.vapi.ai/server-url/events>).

use super::{Delivery, Draft, Problem, json, str_at, unrecognized, utc, utc_from_unix_ms};
use crate::e164;
use crate::types::{CallData, EventType, OutcomeData, StRefs};
use serde_json::Value;
use switchboard_config::CallClass;

/// An LLM-produced outcome, leniently: `Booked`, `not lead`, `not-lead` all count.
fn parse_outcome(value: &Value) -> Option<CallClass> {
    let text = value
        .as_str()?
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_");
    serde_json::from_value(Value::String(text)).ok()
}

/// The agent's verdict inside an analysis object: `outcome`, `reason`, `tags`,
/// `servicetitan_{call,job,appointment}_id` (see docs/events.md). `Err` when an outcome is
/// present but not one we know — the caller keeps it as `webhook.unrecognized` rather than
/// dropping the rest of the report.
pub(crate) fn outcome_from_analysis(
    analysis: &Value,
    base: &CallData,
    summary: Option<String>,
    provider: &str,
) -> Result<Option<OutcomeData>, String> {
    let Some(raw) = analysis.get("outcome").filter(|o| !o.is_null()) else {
        return Ok(None);
    };
    let outcome = parse_outcome(raw).ok_or_else(|| {
        format!(
            "{provider} analysis outcome {raw} is not booked|unbooked|excused|not_lead|abandoned"
        )
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
        agent: str_at(analysis, "/agent"),
        business_unit: str_at(analysis, "/business_unit"),
        campaign: str_at(analysis, "/campaign"),
    }))
}

/// Appends the `call.outcome` for `analysis`, or a `webhook.unrecognized` saying why not.
pub(crate) fn push_outcome(
    drafts: &mut Vec<Draft>,
    d: &Delivery<'_>,
    analysis: &Value,
    base: &CallData,
    summary: Option<String>,
    provider: &str,
) {
    match outcome_from_analysis(analysis, base, summary, provider) {
        Ok(Some(o)) => drafts.push(Draft::new(
            EventType::CallOutcome,
            Some(base.provider_call_id.clone()),
            base.ended_at.clone(),
            &o,
        )),
        Ok(None) => {} // analysed without a verdict: nothing canonical to say
        Err(reason) => drafts.push(unrecognized(d, reason)),
    }
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
    let inbound = str_at(call, "/direction").is_none_or(|d| d == "inbound");
    let base = CallData {
        started_at: ms("start_timestamp"),
        ..CallData::between(
            "retell",
            &call_id,
            str_at(call, "/from_number"),
            str_at(call, "/to_number"),
            str_at(call, "/direction").map(|d| d == "inbound"),
        )
    };
    let subject = Some(call_id);
    Ok(match event.as_str() {
        // An inbound call is answered by the agent as it starts; an outbound one is only
        // started (Retell sends no separate "answered").
        "call_started" => {
            let mut drafts = vec![Draft::new(
                EventType::CallStarted,
                subject.clone(),
                base.started_at.clone(),
                &base,
            )];
            if inbound {
                let answered = CallData {
                    answered_at: base.started_at.clone(),
                    ..base.clone()
                };
                drafts.push(Draft::new(
                    EventType::CallAnswered,
                    subject,
                    base.started_at.clone(),
                    &answered,
                ));
            }
            drafts
        }
        "call_ended" => {
            let reason = str_at(call, "/disconnection_reason");
            let unanswered = reason.as_deref().is_some_and(|r| r.starts_with("dial_"));
            let data = CallData {
                answered_at: if inbound || !unanswered {
                    base.started_at.clone()
                } else {
                    None
                },
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
                        u64::try_from(b.checked_sub(a)? / 1000).ok()
                    }),
                end_reason: reason,
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
            let mut drafts = Vec::new();
            push_outcome(
                &mut drafts,
                d,
                &analysis,
                &base,
                str_at(call, "/call_analysis/call_summary"),
                "retell",
            );
            drafts
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
    // inboundPhoneCall and webCall reach the agent; outboundPhoneCall is placed by it.
    let inbound = str_at(call, "/type").is_none_or(|t| !t.starts_with("outbound"));
    // The caller and the line: on the call for transient numbers, on the message otherwise.
    let number = |path: &str| {
        str_at(call, path)
            .or_else(|| str_at(m, path))
            .map(|n| e164::normalise(&n))
    };
    let customer = number("/customer/number");
    let line = number("/phoneNumber/number");
    let (from, to) = if inbound {
        (customer, line)
    } else {
        (line, customer)
    };
    let base = CallData {
        started_at: str_at(call, "/startedAt").and_then(|t| utc(&t)),
        ..CallData::between("vapi", &call_id, from, to, Some(inbound))
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
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| s.round() as u64),
                end_reason: str_at(m, "/endedReason"),
                recording_url: str_at(m, "/recordingUrl")
                    .or_else(|| str_at(m, "/artifact/recordingUrl")),
                ..base
            };
            let mut drafts = vec![Draft::new(
                EventType::CallCompleted,
                subject,
                data.ended_at.clone(),
                &data,
            )];
            let analysis = m
                .pointer("/analysis/structuredData")
                .cloned()
                .unwrap_or(Value::Null);
            push_outcome(
                &mut drafts,
                d,
                &analysis,
                &data,
                str_at(m, "/analysis/summary"),
                "vapi",
            );
            drafts
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled Vapi message type `{other}`"
            )));
        }
    })
}
