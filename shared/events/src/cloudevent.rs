//! The CloudEvents 1.0 envelope (structured mode, JSON).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One event as published on `events.{tenant}.{type}`. Field order is fixed, so the same
/// inputs always serialize to the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CloudEvent {
    pub specversion: String,
    /// Deterministic: see [`event_id`]. Also the `Nats-Msg-Id`.
    pub id: String,
    /// `/switchboard/{tenant}/{source}`.
    pub source: String,
    /// A canonical type, e.g. `call.completed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The provider's call id, or the ServiceTitan record id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it happened (from the payload), else when ingest received it. RFC 3339 UTC.
    pub time: String,
    pub datacontenttype: String,
    /// Extension: the Switchboard tenant.
    pub tenant: String,
    /// Extension: the `Nats-Msg-Id` of the INBOUND delivery this came from.
    pub inboundid: String,
    pub data: serde_json::Value,
}

/// `evt_` + the first 32 hex digits of SHA-256(`{inbound dedup id}#{index}`): the same
/// delivery always yields the same ids, so redeliveries and replays deduplicate in EVENTS.
pub fn event_id(inbound_id: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{inbound_id}#{index}").as_bytes());
    format!("evt_{}", &hex::encode(digest)[..32])
}

#[cfg(test)]
mod tests {
    use super::event_id;

    #[test]
    fn ids_are_deterministic_and_distinct_per_index() {
        assert_eq!(
            event_id("acme:twilio:CA1:completed:3", 0),
            event_id("acme:twilio:CA1:completed:3", 0)
        );
        assert_ne!(
            event_id("acme:twilio:CA1:completed:3", 0),
            event_id("acme:twilio:CA1:completed:3", 1)
        );
        assert_eq!(event_id("x", 0).len(), 36);
    }
}
