//! ElevenLabs Agents post-call webhooks: `{"type", "event_timestamp", "data"}` with `type`
//! `post_call_transcription` (the conversation: `conversation_id`, `metadata`
//! (`start_time_unix_secs`, `accepted_time_unix_secs`, `call_duration_secs`,
//! `termination_reason`, `phone_call` {`direction`, `agent_number`, `external_number`}),
//! `analysis` (`data_collection_results` {id: {`value`, …}}, `transcript_summary`)),
//! `post_call_audio` (base64 MP3 inline, no URL) or `call_initiation_failure`
//! (`failure_reason`, `metadata.type` `twilio`|`sip` with the provider's `body`).
//! <https://elevenlabs.io/docs/eleven-agents/workflows/post-call-webhooks>

use super::fields::{id_at, int_at, secs_at, utc_from_unix_secs};
use super::voice_ai::push_outcome;
use super::{Delivery, Draft, Problem, json, str_at};
use crate::types::{CallData, EventType};
use serde_json::{Map, Value};

/// What an absent object reads as.
static NULL: Value = Value::Null;

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let kind = str_at(&v, "/type").ok_or_else(|| Problem::Malformed("no type".into()))?;
    let data = v
        .get("data")
        .ok_or_else(|| Problem::Malformed("no data".into()))?;
    let call_id = str_at(data, "/conversation_id")
        .ok_or_else(|| Problem::Malformed("no data.conversation_id".into()))?;
    let time = int_at(&v, "/event_timestamp").and_then(utc_from_unix_secs);
    let subject = Some(call_id.clone());
    Ok(match kind.as_str() {
        "post_call_transcription" => {
            let m = data.get("metadata").unwrap_or(&NULL);
            let inbound = str_at(m, "/phone_call/direction").map(|d| d == "inbound");
            let customer = str_at(m, "/phone_call/external_number");
            let agent = str_at(m, "/phone_call/agent_number");
            let (from, to) = if inbound == Some(false) {
                (agent, customer)
            } else {
                (customer, agent)
            };
            let start = int_at(m, "/start_time_unix_secs");
            let duration = secs_at(m, "/call_duration_secs");
            let call = CallData {
                started_at: start.and_then(utc_from_unix_secs),
                answered_at: int_at(m, "/accepted_time_unix_secs").and_then(utc_from_unix_secs),
                ended_at: start
                    .zip(duration.and_then(|s| i64::try_from(s).ok()))
                    .and_then(|(s, len)| s.checked_add(len))
                    .and_then(utc_from_unix_secs),
                duration_secs: duration,
                end_reason: str_at(m, "/termination_reason"),
                ..CallData::between("elevenlabs", &call_id, from, to, inbound)
            };
            let mut drafts = vec![Draft::new(
                EventType::CallCompleted,
                subject,
                call.ended_at.clone().or(time),
                &call,
            )];
            let analysis = collected(data.pointer("/analysis/data_collection_results"));
            push_outcome(
                &mut drafts,
                d,
                &analysis,
                &call,
                str_at(data, "/analysis/transcript_summary"),
                "elevenlabs",
            );
            drafts
        }
        // The recording itself, base64 in the body: there is no URL to announce.
        "post_call_audio" => Vec::new(),
        "call_initiation_failure" => {
            let body = data.pointer("/metadata/body").unwrap_or(&NULL);
            // Only calls the agent places fail to start (declined, busy, not picked up).
            let call = CallData {
                ended_at: time.clone(),
                duration_secs: Some(0),
                end_reason: str_at(data, "/failure_reason"),
                ..CallData::between(
                    "elevenlabs",
                    &call_id,
                    id_at(body, "/From").or_else(|| id_at(body, "/from_number")),
                    id_at(body, "/To").or_else(|| id_at(body, "/to_number")),
                    Some(false),
                )
            };
            vec![Draft::new(EventType::CallCompleted, subject, time, &call)]
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unhandled ElevenLabs webhook type `{other}`"
            )));
        }
    })
}

/// The agent's data-collection results as one analysis object: each result's `value`
/// under its id, so an `outcome` (and `reason`, `servicetitan_job_id`, …) collected by the
/// agent reads as Retell's and Vapi's do.
fn collected(results: Option<&Value>) -> Value {
    let Some(results) = results.and_then(Value::as_object) else {
        return Value::Null;
    };
    let values: Map<String, Value> = results
        .iter()
        .filter_map(|(id, r)| {
            let value = r.get("value").filter(|x| !x.is_null())?;
            Some((id.clone(), value.clone()))
        })
        .collect();
    Value::Object(values)
}
