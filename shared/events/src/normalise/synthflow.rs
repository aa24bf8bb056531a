//! Synthflow post-call webhooks: `{"status", "lead": {"phone_number"}, "call": {"call_id",
//! "status", "end_call_reason", "duration" (seconds), "start_time" (RFC 3339 with the
//! agent's offset), …}, "executed_actions": {name: {"return_value": {…}}},
//! "collected_variables": {agent id: {name: {"value", "collected"}}}, "analysis": {…}}`.
//! The agent's verdict (`outcome`, `reason`, …, as for Retell and Vapi) is read from the
//! collected variables, the analysis, or an information extractor's return value.
//! <https://docs.synthflow.ai/post-call-webhook>, <https://docs.synthflow.ai/reference/webhook>

use super::fields::{secs_at, utc_after};
use super::voice_ai::push_outcome;
use super::{
    Delivery, Draft, Problem, completed_with_recording, json, str_at, utc, utc_from_unix_ms,
};
use crate::types::CallData;
use serde_json::{Map, Value};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let Some(call) = v.get("call").filter(|c| c.is_object()) else {
        // The inbound-call webhook (a routing request) and anything else without the call.
        return Err(Problem::Unrecognized(
            "Synthflow webhook without a `call` object: not a post-call report".into(),
        ));
    };
    let call_id =
        str_at(call, "/call_id").ok_or_else(|| Problem::Malformed("no call.call_id".into()))?;
    let status = str_at(call, "/status").or_else(|| str_at(&v, "/status"));
    if let Some(s @ ("pending" | "queued" | "ringing" | "in-progress" | "paused" | "registered")) =
        status.as_deref()
    {
        return Err(Problem::Unrecognized(format!(
            "Synthflow call status `{s}` is not an ending"
        )));
    }
    // The post-call webhook is set on the calls an agent places (`external_webhook_url`);
    // an inbound call says so.
    let inbound = str_at(call, "/direction").map(|d| d == "inbound");
    let customer = str_at(&v, "/lead/phone_number");
    let (from, to) = if inbound == Some(true) {
        (customer, None)
    } else {
        (None, customer)
    };
    let started_at = str_at(call, "/start_time")
        .and_then(|t| utc(&t).or_else(|| t.trim().parse::<i64>().ok().and_then(utc_from_unix_ms)));
    let duration = secs_at(call, "/duration");
    let data = CallData {
        ended_at: started_at
            .as_deref()
            .zip(duration)
            .and_then(|(s, secs)| utc_after(s, secs)),
        started_at,
        duration_secs: duration,
        end_reason: str_at(call, "/end_call_reason").or(status),
        recording_url: str_at(call, "/recording_url").or_else(|| str_at(&v, "/recording_url")),
        ..CallData::between("synthflow", &call_id, from, to, inbound)
    };
    let mut drafts = completed_with_recording(&data, None);
    let analysis = [
        collected_variables(v.get("collected_variables")),
        v.get("analysis").cloned().unwrap_or(Value::Null),
        extracted(v.get("executed_actions")),
    ]
    .into_iter()
    .find(|a| a.get("outcome").is_some_and(|o| !o.is_null()))
    .unwrap_or(Value::Null);
    push_outcome(&mut drafts, d, &analysis, &data, None, "synthflow");
    Ok(drafts)
}

/// The collected variables of every agent on the call, by name, as one object.
fn collected_variables(by_agent: Option<&Value>) -> Value {
    let mut out = Map::new();
    for agent in by_agent
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        for (name, slot) in agent.as_object().into_iter().flatten() {
            if let Some(value) = slot.get("value").filter(|x| !x.is_null())
                && slot.get("collected").and_then(Value::as_bool) != Some(false)
            {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// What the information-extractor actions returned, merged into one object.
fn extracted(actions: Option<&Value>) -> Value {
    let mut out = Map::new();
    for action in actions
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        if let Some(returned) = action.get("return_value").and_then(Value::as_object) {
            out.extend(returned.iter().map(|(k, x)| (k.clone(), x.clone())));
        }
    }
    Value::Object(out)
}
