//! Switchboard's agent format: how an AI agent (any vendor, or in-house) reports what
//! happened on a call. Documented in docs/events.md; normally signed with
//! `standard-webhooks`. One JSON object per delivery, tagged by `type`:
//!
//! ```json
//! {"type": "call.outcome", "occurred_at": "2026-11-23T15:04:05Z",
//!  "call": {"id": "ag_123", "from": "+15125550101", "to": "+15125550000",
//!           "started_at": "…", "ended_at": "…"},
//!  "outcome": "booked", "reason": "Service Call", "tags": ["Booked by AI Agent"],
//!  "servicetitan": {"call_id": 9001, "job_id": 1001, "appointment_id": 5001},
//!  "summary": "AC not cooling; booked Tue 9-11",
//!  "agent": "ava-hvac", "business_unit": "HVAC Service", "campaign": "Google Ads"}
//! {"type": "appointment.confirmation", "occurred_at": "…", "call": {"id": "ag_124"},
//!  "status": "confirmed" | "declined" | "rescheduled",
//!  "servicetitan": {"job_id": 1001, "appointment_id": 5001}, "new_start": "…", "new_end": "…"}
//! {"type": "call.started" | "call.answered" | "call.completed", "occurred_at": "…",
//!  "call": {"id", "from", "to", "direction", "started_at", "answered_at", "ended_at",
//!           "duration_secs", "end_reason", "recording_url"}}
//! ```

use super::{Delivery, Draft, Problem, utc};
use crate::e164;
use crate::types::{
    CallData, ConfirmationData, ConfirmationStatus, Direction, EventType, OutcomeData, StRefs,
};
use serde::Deserialize;
use switchboard_config::CallClass;

#[derive(Deserialize)]
struct Report {
    #[serde(rename = "type")]
    kind: String,
    occurred_at: Option<String>,
    call: Option<AgentCall>,
    outcome: Option<CallClass>,
    reason: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    servicetitan: StRefs,
    summary: Option<String>,
    agent: Option<String>,
    business_unit: Option<String>,
    campaign: Option<String>,
    status: Option<ConfirmationStatus>,
    new_start: Option<String>,
    new_end: Option<String>,
}

#[derive(Deserialize)]
struct AgentCall {
    id: String,
    from: Option<String>,
    to: Option<String>,
    direction: Option<Direction>,
    started_at: Option<String>,
    answered_at: Option<String>,
    ended_at: Option<String>,
    duration_secs: Option<u64>,
    end_reason: Option<String>,
    recording_url: Option<String>,
}

fn t(s: &Option<String>) -> Option<String> {
    s.as_deref().and_then(utc)
}

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let value: serde_json::Value = super::json(d)?;
    let Some(kind) = value.get("type").and_then(|k| k.as_str()) else {
        return Err(Problem::Malformed("no `type`".into()));
    };
    let known = [
        "call.outcome",
        "appointment.confirmation",
        "call.started",
        "call.answered",
        "call.completed",
    ];
    if !known.contains(&kind) {
        return Err(Problem::Unrecognized(format!(
            "unknown agent report type `{kind}`"
        )));
    }
    let r: Report = serde_json::from_value(value.clone())
        .map_err(|e| Problem::Malformed(format!("agent report: {e}")))?;
    let time = t(&r.occurred_at);
    let call = r.call.as_ref();
    let subject = call.map(|c| c.id.clone());
    let call_data = |c: &AgentCall| CallData {
        provider: "agent".into(),
        provider_call_id: c.id.clone(),
        from: c.from.as_deref().map(e164::normalise),
        to: c.to.as_deref().map(e164::normalise),
        direction: c.direction,
        started_at: t(&c.started_at),
        answered_at: t(&c.answered_at),
        ended_at: t(&c.ended_at),
        duration_secs: c.duration_secs,
        end_reason: c.end_reason.clone(),
        recording_url: c.recording_url.clone(),
    };
    let draft = match r.kind.as_str() {
        "call.outcome" => {
            let c = call.ok_or_else(|| Problem::Malformed("call.outcome without call".into()))?;
            let outcome = r
                .outcome
                .ok_or_else(|| Problem::Malformed("call.outcome without outcome".into()))?;
            let base = call_data(c);
            let data = OutcomeData {
                provider: "agent".into(),
                provider_call_id: c.id.clone(),
                outcome,
                reason: r.reason,
                tags: r.tags,
                servicetitan: r.servicetitan,
                from: base.from,
                to: base.to,
                started_at: base.started_at,
                ended_at: base.ended_at,
                summary: r.summary,
                agent: r.agent,
                business_unit: r.business_unit,
                campaign: r.campaign,
            };
            Draft::new(EventType::CallOutcome, subject, time, &data)
        }
        "appointment.confirmation" => {
            let status = r.status.ok_or_else(|| {
                Problem::Malformed("appointment.confirmation without status".into())
            })?;
            if r.servicetitan.appointment_id.is_none() {
                return Err(Problem::Malformed(
                    "appointment.confirmation without servicetitan.appointment_id".into(),
                ));
            }
            let data = ConfirmationData {
                provider: "agent".into(),
                status,
                servicetitan: r.servicetitan,
                provider_call_id: subject.clone(),
                new_start: t(&r.new_start),
                new_end: t(&r.new_end),
            };
            Draft::new(EventType::AppointmentConfirmation, subject, time, &data)
        }
        kind => {
            let c = call.ok_or_else(|| Problem::Malformed(format!("{kind} without call")))?;
            let kind = match kind {
                "call.started" => EventType::CallStarted,
                "call.answered" => EventType::CallAnswered,
                _ => EventType::CallCompleted,
            };
            Draft::new(kind, subject, time, &call_data(c))
        }
    };
    Ok(vec![draft])
}
