//! Deliveries as ingest leaves them on INBOUND, for the tests and benches that start after
//! ingest (the router's, the DLQ's): the provider payloads in `shared/events/fixtures/` and
//! the headers of docs/subjects.md.

use switchboard_bus::{async_nats, headers as h};

/// A provider payload from `shared/events/fixtures/` (e.g. `telnyx/2-call.answered.json`).
pub fn event_fixture(path: &str) -> Vec<u8> {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events/fixtures")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {}: {e}", full.display()))
}

/// The headers ingest writes on a verified delivery of `tenant`'s `source` (verified with
/// `scheme`), whose dedup id is `{tenant}:{source}:{id}`, received 2026-11-23 15:00 UTC.
pub fn inbound_headers(
    tenant: &str,
    source: &str,
    scheme: &str,
    id: &str,
) -> async_nats::HeaderMap {
    let mut headers = msg_id(&format!("{tenant}:{source}:{id}"));
    headers.insert(h::TENANT, tenant);
    headers.insert(h::SOURCE, source);
    headers.insert(h::SCHEME, scheme);
    headers.insert(h::RECEIVED_AT, "2026-11-23T15:00:00.000Z");
    headers
}

/// Stores `body` on INBOUND with [`inbound_headers`] and waits for JetStream's ack.
pub async fn publish_inbound(
    js: &async_nats::jetstream::Context,
    (tenant, source, scheme, id): (&str, &str, &str, &str),
    body: Vec<u8>,
) {
    let subject = switchboard_bus::inbound_subject(tenant, source);
    let headers = inbound_headers(tenant, source, scheme, id);
    publish_acked(js, subject, headers, body).await;
}

/// Publishes `payload` on `subject` with `headers` (e.g. a `Nats-Msg-Id`) and waits for
/// the ack of the stream that takes it.
pub async fn publish_acked(
    js: &async_nats::jetstream::Context,
    subject: String,
    headers: async_nats::HeaderMap,
    payload: Vec<u8>,
) {
    js.publish_with_headers(subject.clone(), headers, payload.into())
        .await
        .unwrap_or_else(|e| panic!("publish to {subject}: {e}"))
        .await
        .unwrap_or_else(|e| panic!("no stream acknowledged {subject}: {e}"));
}

/// Headers with just `Nats-Msg-Id: id`.
pub fn msg_id(id: &str) -> async_nats::HeaderMap {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(h::MSG_ID, id);
    headers
}
