//! The typed shape of the config file. Every struct rejects unknown keys: a typo in a
//! deployment must stop start-up, not silently fall back to a default.

use crate::{
    AdminConfig, CallClass, DoctorConfig, Name, RejectedConfig, SourceConfig, TelemetryConfig,
};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub nats: NatsConfig,
    #[serde(default)]
    pub ingest: IngestConfig,
    #[serde(default)]
    pub router: RouterConfig,
    #[serde(default)]
    pub calls: CallsWorkerConfig,
    #[serde(default)]
    pub analytics: AnalyticsConfig,
    #[serde(default)]
    pub booking: crate::BookingConfig,
    #[serde(default)]
    pub doctor: DoctorConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub tenants: BTreeMap<Name, TenantConfig>,
    /// Every key with a hash of its value, for live reloads (never deserialized).
    #[serde(skip)]
    pub fingerprint: crate::Fingerprint,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsConfig {
    #[serde(default = "default_nats_url")]
    pub url: String,
    /// Optional credentials; prefer `password_file` / `token_file` or `${VAR}`.
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub token: Option<SecretString>,
    /// Stream replicas: 1 for a single server, 3 for a 3-node cluster.
    #[serde(default = "default_replicas")]
    pub replicas: usize,
    /// INBOUND's duplicate window. At least 1200 s: ServiceTitan retries for ~7 minutes,
    /// other providers for longer.
    #[serde(default = "default_duplicate_window_secs")]
    pub duplicate_window_secs: u64,
    /// Timeout for one connection attempt and for JetStream API requests.
    #[serde(default = "default_nats_timeout_secs")]
    pub request_timeout_secs: u64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            url: default_nats_url(),
            user: None,
            password: None,
            token: None,
            replicas: default_replicas(),
            duplicate_window_secs: default_duplicate_window_secs(),
            request_timeout_secs: default_nats_timeout_secs(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The base URL providers call (scheme, host, optional port and path prefix). Twilio
    /// signs the URL it called, so ingest rebuilds it from here, never from its own address.
    pub public_url: Option<String>,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive; then 503 (the provider retries).
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
    /// How long to wait for JetStream's acknowledgement before answering 503.
    #[serde(default = "default_publish_timeout_ms")]
    pub publish_timeout_ms: u64,
    /// Requests handled at once; beyond it ingest answers 503 with `Retry-After`.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// On SIGTERM: how long in-flight requests get to finish.
    #[serde(default = "default_shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
    /// How long `POST /v1/tools/…` waits for the booking service's answer.
    #[serde(default = "default_tools_timeout_ms")]
    pub tools_timeout_ms: u64,
    /// `[ingest.rejected]`: the REJECTED stream of refused deliveries.
    #[serde(default)]
    pub rejected: RejectedConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            max_body_bytes: default_max_body_bytes(),
            body_timeout_secs: default_body_timeout_secs(),
            publish_timeout_ms: default_publish_timeout_ms(),
            max_in_flight: default_max_in_flight(),
            shutdown_timeout_secs: default_shutdown_timeout_secs(),
            tools_timeout_ms: default_tools_timeout_ms(),
            rejected: RejectedConfig::default(),
        }
    }
}

/// `switchboard-calls`: agent outcomes and confirmations → ServiceTitan.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallsWorkerConfig {
    /// Where `/healthz`, `/readyz` and `/metrics` listen.
    pub listen: SocketAddr,
    /// Durable consumer (on EVENTS) shared by every replica.
    pub consumer: String,
    /// A call found by numbers must have started within this many seconds of the agent's.
    pub match_window_secs: u64,
    /// How long to keep looking for a call ServiceTitan has not recorded yet.
    pub not_found_horizon_secs: u64,
    /// Delay before looking again.
    pub retry_delay_ms: u64,
    /// How often each tenant's ServiceTitan call export is followed.
    pub export_poll_ms: u64,
    /// A claim or per-call lock older than this is presumed dead and taken over.
    pub lock_stale_secs: u64,
    pub ack_wait_secs: u64,
    pub max_deliver: i64,
    pub batch: usize,
}

impl Default for CallsWorkerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8082)),
            consumer: "calls".into(),
            match_window_secs: 600,
            not_found_horizon_secs: 1800,
            retry_delay_ms: 15_000,
            export_poll_ms: 10_000,
            lock_stale_secs: 300,
            ack_wait_secs: 60,
            max_deliver: 1000,
            batch: 16,
        }
    }
}

/// `switchboard-analytics`: booking-rate reconciliation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// The read API, the page at `/`, and `/healthz`, `/readyz`, `/metrics`.
    pub listen: SocketAddr,
    /// Durable consumer (on EVENTS) shared by every replica.
    pub consumer: String,
    /// Changes are published at most this often per tenant-day (they coalesce meanwhile).
    pub debounce_ms: u64,
    /// How often each tenant's ServiceTitan call export is swept.
    pub sweep_secs: u64,
    /// A discrepancy must stay open this long before `auto_reclassify` acts on it: the
    /// calls worker is usually still applying the agent's outcome when one first appears.
    pub reclassify_grace_secs: u64,
    pub ack_wait_secs: u64,
    pub max_deliver: i64,
    pub batch: usize,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8083)),
            consumer: "analytics".into(),
            debounce_ms: 2000,
            sweep_secs: 60,
            reclassify_grace_secs: 300,
            ack_wait_secs: 30,
            max_deliver: 1000,
            batch: 256,
        }
    }
}

/// What analytics does about a discrepancy where the agent's view is authoritative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoReclassify {
    /// Only report it.
    #[default]
    Off,
    /// Publish the request it would send on `analytics.{tenant}.reclassify.dry_run`.
    DryRun,
    /// Send `call.reclassify.requested` on EVENTS for the calls worker.
    On,
}

impl AutoReclassify {
    /// The config's spelling (`off`, `dry-run`, `on`), also shown on analytics' page and
    /// used as its metrics' `mode` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            AutoReclassify::Off => "off",
            AutoReclassify::DryRun => "dry-run",
            AutoReclassify::On => "on",
        }
    }
}

/// Per-tenant analytics settings (`[tenants.x.analytics]`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantAnalytics {
    pub auto_reclassify: AutoReclassify,
}

/// `switchboard-router`: INBOUND → EVENTS.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    /// Where `/healthz`, `/readyz` and `/metrics` listen.
    pub listen: SocketAddr,
    /// The durable consumer on INBOUND that every router replica shares.
    pub consumer: String,
    /// Deliveries before a message is given up on (and dead-lettered).
    pub max_deliver: i64,
    /// How long JetStream waits for an ack before redelivering.
    pub ack_wait_secs: u64,
    /// Messages fetched and processed per batch.
    pub batch: usize,
    /// Delay before a message that failed transiently is redelivered.
    pub nak_delay_ms: u64,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8081)),
            consumer: "router".into(),
            max_deliver: 5,
            ack_wait_secs: 30,
            batch: 128,
            nak_delay_ms: 1000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// IANA zone the business reports in (booking-rate days are local days).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Absent: the tenant only receives webhooks (valid for ingest and router).
    pub servicetitan: Option<ServiceTitanConfig>,
    /// How the calls worker classifies this tenant's calls in ServiceTitan.
    #[serde(default)]
    pub calls: CallsPolicy,
    /// Booking-rate reconciliation settings.
    #[serde(default)]
    pub analytics: TenantAnalytics,
    /// How the booking service books this business's jobs.
    #[serde(default)]
    pub booking: crate::TenantBooking,
    #[serde(default)]
    pub sources: BTreeMap<Name, SourceConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StEnvironment {
    Integration,
    Production,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTitanConfig {
    pub environment: StEnvironment,
    pub tenant_id: u64,
    pub client_id: String,
    pub client_secret: SecretString,
    pub app_key: SecretString,
    /// Overrides for st-sim or a proxy; default from `environment`.
    pub api_base: Option<String>,
    pub auth_base: Option<String>,
    /// Requests per second to this ServiceTitan tenant (ServiceTitan allows 60).
    pub rate_limit_per_sec: Option<u32>,
    pub timeout_secs: Option<u64>,
}

/// `[tenants.x.calls]`: per outcome, what the ServiceTitan call should look like.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsPolicy {
    #[serde(default)]
    pub outcomes: BTreeMap<CallClass, OutcomePolicy>,
}

/// `[tenants.x.calls.outcomes.booked]` etc.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomePolicy {
    /// A ServiceTitan call reason name (checked against the tenant's call reasons at start).
    pub reason: String,
    /// Default: the outcome's own type (booked → Booked, not_lead → NotLead, …). Written
    /// in ServiceTitan's spelling (`call_type = "NotLead"`), as its users know it.
    #[serde(
        default,
        deserialize_with = "crate::class::deserialize_servicetitan_spelling"
    )]
    pub call_type: Option<CallClass>,
    /// Tag-type names (checked against the tenant's tag types at start).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Written as the call's excuse memo (typically for `excused`).
    pub excuse_memo: Option<String>,
}

fn default_nats_url() -> String {
    "nats://127.0.0.1:4222".into()
}
fn default_replicas() -> usize {
    1
}
fn default_duplicate_window_secs() -> u64 {
    1200
}
fn default_nats_timeout_secs() -> u64 {
    5
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}
fn default_max_body_bytes() -> usize {
    256 * 1024
}
fn default_body_timeout_secs() -> u64 {
    10
}
fn default_publish_timeout_ms() -> u64 {
    5000
}
fn default_max_in_flight() -> usize {
    4096
}
fn default_tools_timeout_ms() -> u64 {
    8000
}

fn default_shutdown_timeout_secs() -> u64 {
    10
}
fn default_timezone() -> String {
    "UTC".into()
}
