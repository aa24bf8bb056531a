//! The service's Prometheus metrics: one [`Metrics`] built at start-up on the registry
//! that `/metrics` serves, cloned into whatever counts. Names and help texts are part of
//! the dashboards' contract, so they live together here.

use super::streams::DiscrepancyStatus;
use std::collections::HashMap;
use switchboard_config::AutoReclassify;
use switchboard_events::EventType;
use switchboard_telemetry::{Counter, CounterVec, Registry};

/// What analytics did with an EVENTS message: the `result` label of
/// `switchboard_analytics_events_total`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Handled {
    Used,
    Ignored,
    Skipped,
    Retried,
    DeadLettered,
}

impl Handled {
    const ALL: [Handled; 5] = [
        Handled::Used,
        Handled::Ignored,
        Handled::Skipped,
        Handled::Retried,
        Handled::DeadLettered,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Handled::Used => "used",
            Handled::Ignored => "ignored",
            Handled::Skipped => "skipped",
            Handled::Retried => "retried",
            Handled::DeadLettered => "dead_lettered",
        }
    }
}

#[derive(Clone)]
pub(super) struct Metrics {
    events: CounterVec,
    /// `events` resolved at start for every canonical event type: counting a message
    /// is a map lookup and one atomic, no lock and no allocation. A type outside the
    /// canonical set (a newer producer) falls back to `events`.
    known_events: HashMap<&'static str, [Counter; Handled::ALL.len()]>,
    /// EVENTS messages waiting for analytics or not yet acked (lag).
    pub(super) pending: switchboard_telemetry::Gauge,
    pub(super) facts_written: Counter,
    pub(super) snapshots: Counter,
    /// `switchboard_analytics_discrepancies_published_total{status}`: open, resolved.
    discrepancies: [Counter; 2],
    /// `switchboard_analytics_reclassify_requests_total{mode}`: dry-run, on.
    requests: [Counter; 2],
    pub(super) sweep_records: Counter,
    pub(super) publish_latency: switchboard_telemetry::Histogram,
}

impl Metrics {
    pub(super) fn new(r: &Registry) -> Self {
        let events = r.counter_vec(
            "switchboard_analytics_events_total",
            "EVENTS messages by type and result (used, ignored, skipped, retried, dead_lettered).",
            &["type", "result"],
        );
        Self {
            discrepancies: r.counters(
                "switchboard_analytics_discrepancies_published_total",
                "Discrepancy messages published, by status.",
                "status",
                [DiscrepancyStatus::Open, DiscrepancyStatus::Resolved].map(|s| s.as_str()),
            ),
            requests: r.counters(
                "switchboard_analytics_reclassify_requests_total",
                "Reclassification requests, by mode (on: sent to the calls worker; dry-run: published only).",
                "mode",
                [AutoReclassify::DryRun, AutoReclassify::On].map(|m| m.as_str()),
            ),
            known_events: EventType::ALL
                .iter()
                .map(|t| {
                    let kind = t.as_str();
                    (kind, Handled::ALL.map(|h| events.with(&[kind, h.as_str()])))
                })
                .collect(),
            events,
            pending: r.gauge(
                "switchboard_analytics_consumer_pending",
                "EVENTS messages waiting for analytics or not yet acked (lag).",
            ),
            facts_written: r.counter(
                "switchboard_analytics_facts_written_total",
                "Per-call fact records changed in ANALYTICS_FACTS.",
            ),
            snapshots: r.counter(
                "switchboard_analytics_snapshots_published_total",
                "Booking-rate snapshots published.",
            ),
            sweep_records: r.counter(
                "switchboard_analytics_sweep_records_total",
                "ServiceTitan export records read by the sweep.",
            ),
            publish_latency: r.histogram(
                "switchboard_analytics_publish_seconds",
                "Recomputing and publishing one tenant's changed days.",
                &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
            ),
        }
    }
}

impl Metrics {
    /// Counts one EVENTS message of type `kind` that ended as `handled`.
    pub(super) fn handled(&self, kind: &str, handled: Handled) {
        match self.known_events.get(kind) {
            Some(counters) => counters[handled as usize].inc(),
            None => self.events.with(&[kind, handled.as_str()]).inc(),
        }
    }

    /// Counts one discrepancy message published with `status`.
    pub(super) fn discrepancy(&self, status: DiscrepancyStatus) {
        self.discrepancies[match status {
            DiscrepancyStatus::Open => 0,
            DiscrepancyStatus::Resolved => 1,
        }]
        .inc();
    }

    /// Counts one reclassification request made in `mode` (`off` makes none).
    pub(super) fn reclassify_request(&self, mode: AutoReclassify) {
        match mode {
            AutoReclassify::Off => {}
            AutoReclassify::DryRun => self.requests[0].inc(),
            AutoReclassify::On => self.requests[1].inc(),
        }
    }
}
