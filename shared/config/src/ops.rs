//! The sections about operating Switchboard rather than what it does: `[telemetry]`
//! (traces), `[admin]` (live reload, the console's actions), `[doctor]` (the ServiceTitan
//! preflight at start) and `[ingest.rejected]` (refused deliveries kept for inspection).
//! Split from `model` so each file stays readable; `lib.rs` re-exports them.

use serde::Deserialize;

/// `[telemetry]`: where traces go.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// An OTLP/HTTP collector (`http://otel-collector:4318`): every service exports its
    /// spans there (JSON, `/v1/traces`). Unset: no export, and no cost.
    pub otlp_endpoint: Option<String>,
}

/// `[admin]`: operations that change a running service.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Serve `POST /admin/reload` on every service's ops port: re-read and apply the
    /// config file, as SIGHUP does. Off by default: whoever reaches the ops port could
    /// otherwise make a service re-read its file.
    pub reload_endpoint: bool,
    /// Let the operator console (analytics' `/console`) replay dead letters. Off by
    /// default: whoever reaches analytics' port could otherwise replay them.
    pub console_actions: bool,
}

/// `[doctor]`: the ServiceTitan preflight (`switchboard doctor`) that the calls, analytics
/// and booking services also run once at start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoctorConfig {
    /// Check every tenant's ServiceTitan access at start: one log line per tenant and the
    /// `switchboard_tenant_feature_ok{tenant,feature}` gauge. Reads only.
    pub at_start: bool,
}

impl Default for DoctorConfig {
    fn default() -> Self {
        Self { at_start: true }
    }
}

/// `[ingest.rejected]`: every 400/401/413/415 ingest answers for a configured source is
/// recorded on the REJECTED stream for inspection (`switchboard rejected`), with secrets
/// redacted, within a rate cap per source so a flood cannot amplify into a flood of writes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RejectedConfig {
    /// Record rejections at all.
    pub enabled: bool,
    /// At most this many records per source per second; the rest are only counted.
    pub per_source_per_sec: u32,
    /// Records waiting to be written; beyond, they are only counted (the answer to the
    /// provider never waits for a record).
    pub queue: usize,
    /// REJECTED's retention: records older than this are removed.
    pub max_age_hours: u64,
    /// REJECTED's size cap; the oldest records go first.
    pub max_bytes: i64,
}

impl Default for RejectedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_source_per_sec: 5,
            queue: 1024,
            max_age_hours: 72,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}
