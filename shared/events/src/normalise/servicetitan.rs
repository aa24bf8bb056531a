//! ServiceTitan webhooks. Their payloads are not publicly documented; Switchboard assumes
//! (docs/events.md) an envelope `{"eventType", "tenantId", "timestamp", "eventId", "data"}`
//! whose `data` is the changed record in ServiceTitan's API shape, and routes by the event
//! name's prefix: `Call…` → `st.call.changed`, `Job…` → `st.job.changed`,
//! `Appointment…` → `st.appointment.changed`. The record is passed on as sent.

use super::{Delivery, Draft, Problem, json, str_at, utc};
use crate::types::{EventType, StChangeData};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let Some(event) = str_at(&v, "/eventType") else {
        return Err(Problem::Unrecognized(
            "no eventType: not a ServiceTitan webhook envelope we know".into(),
        ));
    };
    let kind = if event.starts_with("Call") {
        EventType::StCallChanged
    } else if event.starts_with("Job") {
        EventType::StJobChanged
    } else if event.starts_with("Appointment") {
        EventType::StAppointmentChanged
    } else {
        return Err(Problem::Unrecognized(format!(
            "unhandled ServiceTitan eventType `{event}`"
        )));
    };
    let record = v.get("data").cloned().unwrap_or(serde_json::Value::Null);
    let id = record.get("id").and_then(serde_json::Value::as_i64);
    let data = StChangeData {
        st_event: event,
        st_tenant_id: v.get("tenantId").and_then(serde_json::Value::as_i64),
        id,
        record,
    };
    let time = str_at(&v, "/timestamp").and_then(|t| utc(&t));
    Ok(vec![Draft::new(
        kind,
        id.map(|i| i.to_string()),
        time,
        &data,
    )])
}
