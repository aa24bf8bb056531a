//! Bland AI post-call webhooks: the call object, as `GET /v1/calls/{id}` returns it —
//! `call_id`, `from`, `to`, `inbound`, `started_at`, `end_at`, `call_length` (minutes),
//! `corrected_duration` (seconds, a string), `status`, `recording_url`, `summary`, and the
//! tenant-defined `analysis` and `variables` objects, which carry the agent's verdict
//! (`outcome`, `reason`, …, as for Retell and Vapi). Bland sends no start or answer hooks.
//! <https://docs.bland.ai/api-v1/get/calls-id>,
//! <https://docs.bland.ai/api-v1/get/postcall-webhooks-get>

use super::fields::{number_at, secs_at};
use super::voice_ai::push_outcome;
use super::{Delivery, Draft, Problem, completed_with_recording, json, str_at, utc};
use crate::types::CallData;
use serde_json::Value;

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let call_id = str_at(&v, "/call_id")
        .or_else(|| str_at(&v, "/c_id"))
        .ok_or_else(|| Problem::Malformed("no call_id".into()))?;
    // Live `webhook_events` (queue, latency, tool calls, …) reach the same URL; only the
    // post-call report says how the call ended.
    if ["status", "completed", "call_length", "end_at"]
        .iter()
        .all(|k| v.get(*k).is_none_or(Value::is_null))
    {
        return Err(Problem::Unrecognized(
            "Bland webhook that is not a post-call report".into(),
        ));
    }
    let at = |k: &str| str_at(&v, k).and_then(|t| utc(&t));
    let data = CallData {
        started_at: at("/started_at").or_else(|| at("/created_at")),
        ended_at: at("/end_at"),
        duration_secs: secs_at(&v, "/corrected_duration").or_else(|| {
            number_at(&v, "/call_length").map(|minutes| (minutes * 60.0).round() as u64)
        }),
        end_reason: str_at(&v, "/status"),
        recording_url: str_at(&v, "/recording_url"),
        ..CallData::between(
            "bland",
            &call_id,
            str_at(&v, "/from"),
            str_at(&v, "/to"),
            v.get("inbound").and_then(Value::as_bool),
        )
    };
    let mut drafts = completed_with_recording(&data, data.duration_secs);
    // The verdict: the requested analysis, else the variables the pathway collected.
    let analysis = ["analysis", "variables"]
        .iter()
        .filter_map(|k| v.get(*k))
        .find(|a| a.get("outcome").is_some_and(|o| !o.is_null()))
        .cloned()
        .unwrap_or(Value::Null);
    push_outcome(
        &mut drafts,
        d,
        &analysis,
        &data,
        str_at(&v, "/summary"),
        "bland",
    );
    Ok(drafts)
}
