//! The booking service's metrics, label sets resolved once at start.

use switchboard_events::tools::{ErrorCode, TOOLS};
use switchboard_telemetry::{Counter, CounterVec, Registry};

pub(crate) struct Metrics {
    /// (tool, result) → its counter, resolved at start.
    requests: Vec<((&'static str, &'static str), Counter)>,
    /// Windows found over capacity after Switchboard booked into them.
    pub overbooked: Counter,
    /// Capacity asked of ServiceTitan (cache misses and re-checks).
    pub capacity_requests: Counter,
    /// Jobs created in ServiceTitan.
    pub jobs_created: Counter,
    /// Creates whose answer was lost, found again by their external data.
    pub recovered: Counter,
}

/// Every result a tool request can end with, as the `result` label spells it.
pub(crate) const RESULTS: [&str; 7] = [
    "ok",
    "replayed",
    "invalid_arguments",
    "not_found",
    "unknown_tool",
    "window_full",
    "servicetitan_unavailable",
];

pub(crate) fn result_label(code: Option<ErrorCode>) -> &'static str {
    match code {
        None => "ok",
        Some(ErrorCode::InvalidArguments) => "invalid_arguments",
        Some(ErrorCode::NotFound) => "not_found",
        Some(ErrorCode::UnknownTool) => "unknown_tool",
        Some(ErrorCode::WindowFull) => "window_full",
        Some(ErrorCode::ServicetitanUnavailable) => "servicetitan_unavailable",
    }
}

impl Metrics {
    pub(crate) fn new(registry: &Registry) -> Self {
        let requests = registry.counter_vec(
            "switchboard_booking_requests_total",
            "Tool requests by tool and result (ok, replayed: answered again from the first answer, or the error code).",
            &["tool", "result"],
        );
        let requests = resolve(&requests);
        Metrics {
            requests,
            overbooked: registry.counter(
                "switchboard_booking_overbooked_total",
                "Windows found over capacity right after a booking (a CSR booked at the same moment); each also published as booking.overbooked.",
            ),
            capacity_requests: registry.counter(
                "switchboard_booking_capacity_requests_total",
                "Capacity queries sent to ServiceTitan.",
            ),
            jobs_created: registry.counter(
                "switchboard_booking_jobs_created_total",
                "Jobs created in ServiceTitan.",
            ),
            recovered: registry.counter(
                "switchboard_booking_lost_answers_recovered_total",
                "Job creates whose answer was lost, found again by the request id in their external data.",
            ),
        }
    }

    /// Counts one request of `tool` (a known one) that ended as `result`.
    pub(crate) fn request(&self, tool: &str, result: &str) {
        if let Some((_, counter)) = self.requests.iter().find(|(k, _)| *k == (tool, result)) {
            counter.inc();
        }
    }
}

fn resolve(requests: &CounterVec) -> Vec<((&'static str, &'static str), Counter)> {
    TOOLS
        .iter()
        .flat_map(|tool| RESULTS.iter().map(move |result| (*tool, *result)))
        .map(|(tool, result)| ((tool, result), requests.with(&[tool, result])))
        .collect()
}
