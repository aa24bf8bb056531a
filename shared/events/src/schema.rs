//! Machine-readable contracts generated from the Rust types: a JSON Schema per event
//! type's `data` and for the CloudEvents envelope (checked in under `docs/schemas/`), and
//! an AsyncAPI 3.0 document (`docs/asyncapi.yaml`) describing the subjects and payloads.
//! A test (`tests/contracts.rs`) fails when the checked-in files drift from the code;
//! `UPDATE_CONTRACTS=1 cargo test -p switchboard-events --test contracts` rewrites them.

use crate::types::*;
use crate::{CloudEvent, EventType};
use schemars::schema_for;

/// The JSON Schema of `data` for `kind`.
pub fn data_schema(kind: EventType) -> serde_json::Value {
    let schema = match kind {
        EventType::CallStarted | EventType::CallAnswered | EventType::CallCompleted => {
            schema_for!(CallData)
        }
        EventType::CallRecordingReady => schema_for!(RecordingData),
        EventType::CallOutcome => schema_for!(OutcomeData),
        EventType::AppointmentConfirmation => schema_for!(ConfirmationData),
        EventType::StCallChanged | EventType::StJobChanged | EventType::StAppointmentChanged => {
            schema_for!(StChangeData)
        }
        EventType::WebhookUnrecognized => schema_for!(UnrecognizedData),
        EventType::CallConfirmed | EventType::CallReclassified => schema_for!(CallSyncData),
        EventType::CallReclassifyRequested => schema_for!(ReclassifyRequestData),
        EventType::JobBooked
        | EventType::AppointmentRescheduled
        | EventType::JobCanceled
        | EventType::BookingOverbooked => schema_for!(BookingData),
    };
    let mut value = serde_json::to_value(schema).expect("schema serializes");
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            format!("https://switchboard.dev/schemas/{}.json", kind.as_str()).into(),
        );
        obj.insert("title".into(), format!("{} data", kind.as_str()).into());
    }
    value
}

/// The JSON Schema of the CloudEvents envelope.
pub fn envelope_schema() -> serde_json::Value {
    let mut value = serde_json::to_value(schema_for!(CloudEvent)).expect("schema serializes");
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://switchboard.dev/schemas/cloudevent.json".into(),
        );
    }
    value
}

/// Every checked-in schema file: (file name under `docs/schemas/`, pretty JSON + newline).
pub fn schema_files() -> Vec<(String, String)> {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("json") + "\n";
    let mut files = vec![("cloudevent.json".to_owned(), pretty(&envelope_schema()))];
    for kind in EventType::ALL {
        files.push((
            format!("{}.json", kind.as_str()),
            pretty(&data_schema(kind)),
        ));
    }
    files
}

/// The AsyncAPI 3.0 document for `EVENTS`, `INBOUND` and `DLQ`.
pub fn asyncapi_yaml() -> String {
    let mut y = String::from(
        "# Generated from the Rust types by switchboard-events (schema.rs); do not edit by hand:\n\
         # UPDATE_CONTRACTS=1 cargo test -p switchboard-events --test contracts\n\
         asyncapi: 3.0.0\n\
         info:\n  title: Switchboard events\n  version: 1.0.0\n  description: >-\n    Canonical call, job and appointment events (CloudEvents 1.0, structured JSON) on\n    NATS JetStream stream EVENTS, one subject per tenant and type. See docs/events.md.\n\
         defaultContentType: application/json\n\
         servers:\n  nats:\n    host: localhost:4222\n    protocol: nats\n    description: The deployment's NATS server (JetStream).\n\
         channels:\n",
    );
    // Each event type's name and its id in the document (dots are not allowed in ids).
    let kinds: Vec<(&str, String)> = EventType::ALL
        .iter()
        .map(|k| (k.as_str(), k.as_str().replace('.', "_")))
        .collect();
    for (t, id) in &kinds {
        y.push_str(&format!(
            "  {id}:\n    address: 'events.{{tenant}}.{t}'\n    description: '{t} events of one tenant (stream EVENTS).'\n    parameters:\n      tenant:\n        description: Tenant name from the config ([a-z0-9_-]+).\n    messages:\n      {id}:\n        $ref: '#/components/messages/{id}'\n"
        ));
    }
    y.push_str(
        "  analytics_booking_rate:\n    address: 'analytics.{tenant}.booking_rate.{date}'\n    description: One tenant-local day's booking rate in both views (stream ANALYTICS, latest per subject kept; also in KV bucket ANALYTICS_SNAPSHOTS as {tenant}.{date}). See docs/analytics.md.\n    parameters:\n      tenant:\n        description: Tenant name.\n      date:\n        description: Local day, YYYY-MM-DD.\n    messages:\n      analytics_booking_rate:\n        $ref: '#/components/messages/analytics_booking_rate'\n\
         \x20 analytics_discrepancy:\n    address: 'analytics.{tenant}.discrepancy'\n    description: Each new, changed or resolved discrepancy (stream ANALYTICS; the current list is at GET /v1/tenants/{tenant}/discrepancies).\n    parameters:\n      tenant:\n        description: Tenant name.\n    messages:\n      analytics_discrepancy:\n        $ref: '#/components/messages/analytics_discrepancy'\n\
         \x20 analytics_reclassify_dry_run:\n    address: 'analytics.{tenant}.reclassify.dry_run'\n    description: What analytics would ask the calls worker with auto_reclassify = dry-run (a call.reclassify.requested CloudEvent, never acted on).\n    parameters:\n      tenant:\n        description: Tenant name.\n    messages:\n      call_reclassify_requested:\n        $ref: '#/components/messages/call_reclassify_requested'\n",
    );
    y.push_str(
        "  inbound:\n    address: 'inbound.{tenant}.{source}'\n    description: Every verified webhook delivery, body verbatim (stream INBOUND). Headers Nats-Msg-Id, Switchboard-Tenant, Switchboard-Source, Switchboard-Scheme, Switchboard-Received-At, Content-Type.\n    parameters:\n      tenant:\n        description: Tenant name.\n      source:\n        description: Source name.\n    messages:\n      delivery:\n        $ref: '#/components/messages/delivery'\n\
         \x20 dlq:\n    address: 'dlq.{stream}.{consumer}'\n    description: Messages a consumer could not process (stream DLQ).\n    parameters:\n      stream:\n        description: The original's stream.\n      consumer:\n        description: The consumer that gave up.\n    messages:\n      dead_letter:\n        $ref: '#/components/messages/dead_letter'\n",
    );
    y.push_str("operations:\n");
    let analytics = [
        "analytics_booking_rate",
        "analytics_discrepancy",
        "analytics_reclassify_dry_run",
    ];
    let ids = kinds.iter().map(|(_, id)| id.as_str());
    for id in ids.chain(analytics) {
        y.push_str(&format!(
            "  receive_{id}:\n    action: receive\n    channel:\n      $ref: '#/channels/{id}'\n"
        ));
    }
    y.push_str("components:\n  messages:\n");
    for (t, id) in &kinds {
        y.push_str(&format!(
            "    {id}:\n      name: {t}\n      title: {t}\n      contentType: application/json\n      payload:\n        allOf:\n          - $ref: './schemas/cloudevent.json'\n          - type: object\n            properties:\n              type:\n                const: {t}\n              data:\n                $ref: './schemas/{t}.json'\n"
        ));
    }
    y.push_str(
        "    delivery:\n      name: delivery\n      title: Verified webhook delivery\n      contentType: application/octet-stream\n      payload:\n        type: string\n        description: The provider's request body, byte for byte.\n\
         \x20   analytics_booking_rate:\n      name: analytics_booking_rate\n      title: Booking-rate snapshot\n      contentType: application/json\n      payload:\n        $ref: './schemas/analytics/booking_rate.json'\n\
         \x20   analytics_discrepancy:\n      name: analytics_discrepancy\n      title: Discrepancy opened or resolved\n      contentType: application/json\n      payload:\n        $ref: './schemas/analytics/discrepancy.json'\n\
         \x20   dead_letter:\n      name: dead_letter\n      title: Dead letter\n      contentType: application/json\n      payload:\n        type: object\n        required: [reason, error, stream, stream_seq, subject, consumer, deliveries, failed_at]\n        properties:\n          reason: {type: string, description: 'malformed | max_deliveries'}\n          error: {type: string}\n          stream: {type: string}\n          stream_seq: {type: integer}\n          subject: {type: string}\n          consumer: {type: string}\n          deliveries: {type: integer}\n          failed_at: {type: string, format: date-time}\n          original_msg_id: {type: string}\n",
    );
    y
}
