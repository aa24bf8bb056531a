//! Router metrics; label values are fixed sets (event types), never payload data.

use switchboard_telemetry::{Counter, Gauge, Registry};

#[derive(Debug, Clone)]
pub(crate) struct RouterMetrics {
    pub processed: Counter,
    pub retried: Counter,
    pub dead_lettered: Counter,
    pub duplicate_events: Counter,
    /// INBOUND messages not yet acked by the router (lag).
    pub pending: Gauge,
    events: Vec<(&'static str, Counter)>,
}

impl RouterMetrics {
    pub(crate) fn new(registry: &Registry) -> Self {
        let [processed, retried, dead_lettered] = registry.counters(
            "switchboard_router_messages_total",
            "INBOUND messages by outcome: processed (acked after its events), retried (NAKed), dead_lettered.",
            "outcome",
            ["processed", "retried", "dead_lettered"],
        );
        let events = registry.counter_vec(
            "switchboard_router_events_total",
            "Events published by type (webhook.unrecognized counts deliveries no normaliser understood).",
            &["type"],
        );
        Self {
            processed,
            retried,
            dead_lettered,
            duplicate_events: registry.counter(
                "switchboard_router_duplicate_events_total",
                "Events JetStream already had (redeliveries and replays).",
            ),
            pending: registry.gauge(
                "switchboard_router_consumer_pending",
                "INBOUND messages waiting for the router or not yet acked (lag).",
            ),
            events: switchboard_events::EventType::ALL
                .iter()
                .map(|t| (t.as_str(), events.with(&[t.as_str()])))
                .collect(),
        }
    }

    pub(crate) fn event(&self, kind: &str) {
        if let Some((_, c)) = self.events.iter().find(|(k, _)| *k == kind) {
            c.inc();
        }
    }
}
