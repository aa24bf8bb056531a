//! Ingest's metrics. Label values come only from config (tenant and source names) and
//! fixed sets (outcomes, failure reasons) — never from the request path — so an attacker
//! probing random URLs cannot blow up the number of series.

use switchboard_telemetry::{Counter, CounterVec, Gauge, Histogram, LATENCY_BUCKETS, Registry};

/// Outcomes of a webhook request, the `outcome` label.
mod outcome {
    pub const ACCEPTED: &str = "accepted";
    pub const DUPLICATE: &str = "duplicate";
    pub const INVALID_SIGNATURE: &str = "invalid_signature";
    pub const UNKNOWN_TENANT: &str = "unknown_tenant";
    pub const UNKNOWN_SOURCE: &str = "unknown_source";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const BAD_REQUEST: &str = "bad_request";
    pub const UNAVAILABLE: &str = "unavailable";
}

/// Verification failure reasons, the `reason` label (see `AuthFailure::reason`).
const REASONS: [&str; 7] = [
    "missing_header",
    "malformed_header",
    "bad_signature",
    "stale_timestamp",
    "future_timestamp",
    "body_hash_mismatch",
    "unsupported_algorithm",
];

/// Stand-in label value for names that are not in the config.
const UNKNOWN: &str = "_unknown";

#[derive(Debug, Clone)]
pub(crate) struct IngestMetrics {
    requests: CounterVec,
    failures: CounterVec,
    pub publish_ack_seconds: Histogram,
    pub in_flight: Gauge,
    pub unknown_tenant: Counter,
    /// Rejections by tenant, source and what became of their REJECTED record.
    pub rejections: CounterVec,
}

/// Counters for one configured source.
#[derive(Debug, Clone)]
pub(crate) struct SourceMetrics {
    pub accepted: Counter,
    pub duplicate: Counter,
    pub invalid_signature: Counter,
    pub method_not_allowed: Counter,
    pub payload_too_large: Counter,
    pub unsupported_media_type: Counter,
    pub bad_request: Counter,
    pub unavailable: Counter,
    failures: Vec<(&'static str, Counter)>,
}

impl SourceMetrics {
    pub(crate) fn verification_failed(&self, reason: &str) {
        self.invalid_signature.inc();
        if let Some((_, c)) = self.failures.iter().find(|(r, _)| *r == reason) {
            c.inc();
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TenantMetrics {
    pub unknown_source: Counter,
}

impl IngestMetrics {
    pub(crate) fn new(registry: Registry) -> Self {
        let requests = registry.counter_vec(
            "switchboard_ingest_requests_total",
            "Webhook requests by tenant, source and outcome.",
            &["tenant", "source", "outcome"],
        );
        let failures = registry.counter_vec(
            "switchboard_ingest_verification_failures_total",
            "Signature verification failures by tenant, source and reason.",
            &["tenant", "source", "reason"],
        );
        let publish_ack_seconds = registry.histogram(
            "switchboard_ingest_publish_ack_seconds",
            "Time from publishing a delivery to JetStream's acknowledgement.",
            LATENCY_BUCKETS,
        );
        let in_flight = registry.gauge(
            "switchboard_ingest_in_flight_requests",
            "Webhook requests being handled now.",
        );
        let unknown_tenant = requests.with(&[UNKNOWN, UNKNOWN, outcome::UNKNOWN_TENANT]);
        let rejections = registry.counter_vec(
            "switchboard_ingest_rejections_recorded_total",
            "Rejected deliveries (400/401/413/415) by tenant, source and what became of their record on REJECTED: recorded, rate_capped, queue_full, failed.",
            &["tenant", "source", "outcome"],
        );
        Self {
            rejections,
            requests,
            failures,
            publish_ack_seconds,
            in_flight,
            unknown_tenant,
        }
    }

    pub(crate) fn tenant(&self, tenant: &str) -> TenantMetrics {
        TenantMetrics {
            unknown_source: self
                .requests
                .with(&[tenant, UNKNOWN, outcome::UNKNOWN_SOURCE]),
        }
    }

    pub(crate) fn source(&self, tenant: &str, source: &str) -> SourceMetrics {
        let c = |outcome: &str| self.requests.with(&[tenant, source, outcome]);
        SourceMetrics {
            accepted: c(outcome::ACCEPTED),
            duplicate: c(outcome::DUPLICATE),
            invalid_signature: c(outcome::INVALID_SIGNATURE),
            method_not_allowed: c(outcome::METHOD_NOT_ALLOWED),
            payload_too_large: c(outcome::PAYLOAD_TOO_LARGE),
            unsupported_media_type: c(outcome::UNSUPPORTED_MEDIA_TYPE),
            bad_request: c(outcome::BAD_REQUEST),
            unavailable: c(outcome::UNAVAILABLE),
            failures: REASONS
                .iter()
                .map(|r| (*r, self.failures.with(&[tenant, source, r])))
                .collect(),
        }
    }
}
