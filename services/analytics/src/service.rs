//! `switchboard-analytics`, the service: EVENTS and ServiceTitan's export → per-call facts
//! in a KV bucket → booking-rate snapshots and discrepancies on `ANALYTICS`.
//!
//! Three loops, each restartable on its own, around one source of truth — the facts bucket
//! (`ANALYTICS_FACTS`, key `{tenant}.{call}`):
//!
//! - **writers** merge what they learn into the bucket with compare-and-set: a durable
//!   consumer on EVENTS (shared by every replica) and a sweep of each tenant's ServiceTitan
//!   call export from a cursor kept in `ANALYTICS_STATE` (saved after each page, so a
//!   restart resumes where it stopped). Merges are commutative and idempotent, so
//!   redeliveries, replays and racing replicas cannot skew anything;
//! - the **projection** in every replica watches the whole bucket into an in-memory
//!   [`Engine`] per tenant (the current facts first, then every change), marks the local
//!   days a change touches, and copies ServiceTitan's view across a call's link when
//!   either side arrives second;
//! - the **publisher**, debounced, recomputes only the marked days from the facts and
//!   publishes each snapshot (stream `ANALYTICS`, one message kept per subject, and the
//!   `ANALYTICS_SNAPSHOTS` bucket), each new or resolved discrepancy, and — per tenant's
//!   `auto_reclassify` — the reclassification requests. Message ids are derived from the
//!   content, so two replicas publishing the same thing are deduplicated by JetStream,
//!   and what was last published is kept in `ANALYTICS_STATE`, so a restart announces
//!   nothing twice and never asks twice for the same call state.

use crate::page::{self, TenantSection};
use crate::rates::{Breakdown, Discrepancy, Figures, Snapshot};
use crate::translate::{self, FactChange, StoredFacts, st_key};
use crate::{CallKey, Class, Engine, TenantZone, Update, booking_rate};
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer, stream};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::TryStreamExt;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::bucket::{Bucket, key_token};
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec, Handler, Settle, Settled};
use switchboard_config::{AgentOutcome, AutoReclassify, Config, StCallType};
use switchboard_events::{CloudEvent, EventType, Outcome, ReclassifyRequestData};
use switchboard_servicetitan::{ServiceTitan, TenantClient};
use switchboard_telemetry::{Counter, CounterVec, Registry};
use tokio_util::sync::CancellationToken;

/// ServiceTitan calls older than this many days are not kept from the export sweep (the
/// API answers at most a year).
const HISTORY_DAYS: i64 = 400;

/// Per-call facts, `{tenant}.{call}`.
pub const FACTS_BUCKET: &str = "ANALYTICS_FACTS";
/// The latest snapshot per tenant-day, `{tenant}.{yyyy-mm-dd}`.
pub const SNAPSHOTS_BUCKET: &str = "ANALYTICS_SNAPSHOTS";
/// Export cursors (`cursor.{tenant}`), published discrepancies (`disc.{tenant}.{call}`),
/// requests made (`asked.{tenant}.{call}`).
pub const STATE_BUCKET: &str = "ANALYTICS_STATE";
/// Snapshots and discrepancies for consumers.
pub const ANALYTICS_STREAM: &str = "ANALYTICS";

/// `ANALYTICS`: `analytics.{tenant}.booking_rate.{yyyy-mm-dd}`,
/// `analytics.{tenant}.discrepancy`, `analytics.{tenant}.reclassify.dry_run`; one message
/// kept per subject, so a consumer can ask for the latest.
pub fn analytics_stream_config(nats: &switchboard_config::NatsConfig) -> stream::Config {
    stream::Config {
        name: ANALYTICS_STREAM.into(),
        description: Some(
            "Switchboard: booking-rate snapshots per tenant-day and discrepancies (latest per subject)"
                .into(),
        ),
        subjects: vec!["analytics.>".into()],
        storage: stream::StorageType::File,
        num_replicas: nats.replicas,
        max_messages_per_subject: 1,
        allow_direct: true,
        duplicate_window: Duration::from_secs(nats.duplicate_window_secs),
        ..Default::default()
    }
}

pub fn snapshot_subject(tenant: &str, date: Date) -> String {
    format!("analytics.{tenant}.booking_rate.{date}")
}

pub fn discrepancy_subject(tenant: &str) -> String {
    format!("analytics.{tenant}.discrepancy")
}

pub fn dry_run_subject(tenant: &str) -> String {
    format!("analytics.{tenant}.reclassify.dry_run")
}

/// A message on `analytics.{tenant}.discrepancy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscrepancyMessage {
    pub tenant: String,
    /// `open` (new, or its classes changed) or `resolved`.
    pub status: String,
    #[serde(flatten)]
    pub discrepancy: Discrepancy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st_call_id: Option<i64>,
    /// When it was seen resolved (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
}

struct TenantState {
    engine: Engine,
    /// Agent call key → ServiceTitan call id, and back (one shared string per call).
    st_ids: HashMap<Arc<str>, i64>,
    links: HashMap<i64, Arc<str>>,
    /// ServiceTitan's view of calls not (yet) linked to an agent call: ServiceTitan-only
    /// calls, or the link has not arrived. Linked views live in the engine, on the agent's
    /// call; these never count, so they stay out of it.
    unlinked: HashMap<i64, crate::StView>,
    /// Days to republish.
    dirty: BTreeSet<Date>,
    /// Agent calls whose facts changed since the last publish (their discrepancy may have
    /// opened, changed or closed) — unless `full`, when every dirty day is scanned instead
    /// (after loading the whole bucket).
    changed: HashSet<Arc<str>>,
    full: bool,
    /// Open discrepancies as last published, by call.
    published: HashMap<String, Opened>,
    /// The call state each reclassification request was made for, by call.
    asked: HashMap<String, String>,
}

/// An open discrepancy as published, and when this service first saw it open (the
/// reclassification grace period runs from then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Opened {
    discrepancy: Discrepancy,
    opened_at: jiff::Timestamp,
}

struct Tenant {
    name: String,
    zone: TenantZone,
    auto: AutoReclassify,
    /// Agent classes the tenant's calls policy maps, to the ServiceTitan class it writes.
    mapped: HashMap<Class, Class>,
    st: Option<Arc<TenantClient>>,
    state: Mutex<TenantState>,
}

impl Tenant {
    fn lock(&self) -> MutexGuard<'_, TenantState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Clone)]
struct Metrics {
    events: CounterVec,
    /// EVENTS messages waiting for analytics or not yet acked (lag).
    pending: switchboard_telemetry::Gauge,
    facts_written: Counter,
    snapshots: Counter,
    discrepancies: CounterVec,
    requests: CounterVec,
    sweep_records: Counter,
    publish_latency: switchboard_telemetry::Histogram,
}

impl Metrics {
    fn new(r: &Registry) -> Self {
        Self {
            events: r.counter_vec(
                "switchboard_analytics_events_total",
                "EVENTS messages by type and result (used, ignored, skipped, retried, dead_lettered).",
                &["type", "result"],
            ),
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
            discrepancies: r.counter_vec(
                "switchboard_analytics_discrepancies_published_total",
                "Discrepancy messages published, by status.",
                &["status"],
            ),
            requests: r.counter_vec(
                "switchboard_analytics_reclassify_requests_total",
                "Reclassification requests, by mode (on: sent to the calls worker; dry-run: published only).",
                &["mode"],
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

struct Service {
    js: jetstream::Context,
    client: async_nats::Client,
    tenants: BTreeMap<String, Arc<Tenant>>,
    facts: Bucket,
    snapshots: Bucket,
    state: Bucket,
    runtime: ConsumerRuntime,
    debounce: Duration,
    sweep_every: Duration,
    grace: Duration,
    metrics: Metrics,
    /// The projection has caught up with the facts bucket.
    caught_up: AtomicBool,
    consuming: Arc<AtomicBool>,
    changed: tokio::sync::Notify,
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    service: Arc<Service>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

fn outcome_of(class: Class) -> Outcome {
    match class {
        Class::Booked => Outcome::Booked,
        Class::Unbooked => Outcome::Unbooked,
        Class::Excused => Outcome::Excused,
        Class::NotLead => Outcome::NotLead,
        Class::Abandoned => Outcome::Abandoned,
    }
}

fn class_of_agent_outcome(o: AgentOutcome) -> Class {
    match o {
        AgentOutcome::Booked => Class::Booked,
        AgentOutcome::Unbooked => Class::Unbooked,
        AgentOutcome::Excused => Class::Excused,
        AgentOutcome::NotLead => Class::NotLead,
        AgentOutcome::Abandoned => Class::Abandoned,
    }
}

fn class_of_st_type(t: StCallType) -> Class {
    match t {
        StCallType::Booked => Class::Booked,
        StCallType::Unbooked => Class::Unbooked,
        StCallType::Excused => Class::Excused,
        StCallType::NotLead => Class::NotLead,
        StCallType::Abandoned => Class::Abandoned,
    }
}

fn st_name(class: Option<Class>) -> Option<String> {
    class.map(|c| {
        match c {
            Class::Booked => "Booked",
            Class::Unbooked => "Unbooked",
            Class::Excused => "Excused",
            Class::NotLead => "NotLead",
            Class::Abandoned => "Abandoned",
        }
        .to_owned()
    })
}

/// A short stable hash (FNV-1a) for content-derived message ids.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Application {
    /// Validates every tenant's time zone (an unknown one is a start-up error naming its
    /// key), connects, creates the stream and buckets, and binds the HTTP listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Boxed: opening three buckets and the streams makes a ~18 KB future, too big to
        // move around on the caller's stack.
        Box::pin(Self::set_up(config)).await
    }

    async fn set_up(config: Config) -> anyhow::Result<Self> {
        let registry = Registry::default();
        let metrics = Metrics::new(&registry);
        let st = ServiceTitan::from_config(&config)?;
        let mut tenants = BTreeMap::new();
        for (name, t) in &config.tenants {
            let zone = TenantZone::new(&t.timezone)
                .with_context(|| format!("config key `tenants.{name}.timezone`"))?;
            let tenant = Tenant {
                name: name.to_string(),
                zone: zone.clone(),
                auto: t.analytics.auto_reclassify,
                mapped: t
                    .calls
                    .outcomes
                    .iter()
                    .map(|(o, rule)| {
                        let class = class_of_agent_outcome(*o);
                        (class, rule.call_type.map_or(class, class_of_st_type))
                    })
                    .collect(),
                st: st.tenant(name.as_str()).cloned(),
                state: Mutex::new(TenantState {
                    engine: Engine::new(name.to_string(), zone),
                    st_ids: HashMap::new(),
                    links: HashMap::new(),
                    unlinked: HashMap::new(),
                    dirty: BTreeSet::new(),
                    changed: HashSet::new(),
                    full: true,
                    published: HashMap::new(),
                    asked: HashMap::new(),
                }),
            };
            tenants.insert(name.to_string(), Arc::new(tenant));
        }
        let client = switchboard_bus::connect(&config.nats, "switchboard-analytics").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        for stream in [
            switchboard_bus::events_stream_config(&config.nats),
            switchboard_bus::dlq::dlq_stream_config(&config.nats),
            analytics_stream_config(&config.nats),
        ] {
            switchboard_bus::with_setup_retries("set up a stream", || {
                switchboard_bus::ensure_stream(&js, stream.clone())
            })
            .await
            .map_err(anyhow::Error::msg)?;
        }
        let replicas = config.nats.replicas;
        let bucket = |name: &'static str, description: &'static str, ttl: Option<Duration>| {
            let js = js.clone();
            async move {
                switchboard_bus::with_setup_retries("set up a key-value bucket", || {
                    Bucket::open(&js, name, description, replicas, ttl)
                })
                .await
                .map_err(anyhow::Error::msg)
            }
        };
        // Facts and snapshots untouched for longer than the API can show expire.
        let history = Some(Duration::from_secs(24 * 3600 * HISTORY_DAYS as u64));
        let facts = bucket(
            FACTS_BUCKET,
            "Switchboard analytics: per-call facts (agent and ServiceTitan views)",
            history,
        )
        .await?;
        let snapshots = bucket(
            SNAPSHOTS_BUCKET,
            "Switchboard analytics: latest booking-rate snapshot per tenant-day",
            history,
        )
        .await?;
        let state = bucket(
            STATE_BUCKET,
            "Switchboard analytics: export cursors, published discrepancies, requests made",
            None,
        )
        .await?;
        let a = &config.analytics;
        let spec = ConsumerSpec {
            stream: switchboard_bus::EVENTS_STREAM.into(),
            ensure_streams: vec![
                switchboard_bus::events_stream_config(&config.nats),
                switchboard_bus::dlq::dlq_stream_config(&config.nats),
            ],
            config: consumer::pull::Config {
                durable_name: Some(a.consumer.clone()),
                filter_subject: "events.>".into(),
                ack_wait: Duration::from_secs(a.ack_wait_secs),
                max_deliver: a.max_deliver,
                max_ack_pending: (a.batch * 4) as i64,
                ..Default::default()
            },
            concurrency: 32,
            batch: a.batch,
            // Long pulls: a new event is delivered at once instead of waiting for a pull
            // request to be re-issued (heartbeats still detect a dead server).
            expires: Duration::from_secs(30),
            dead_letter_as: None,
        };
        let runtime = ConsumerRuntime::new(js.clone(), client.clone(), spec)
            .with_pending_gauge(metrics.pending.clone());
        let consuming = runtime.ready();
        let service = Arc::new(Service {
            js,
            client: client.clone(),
            tenants,
            facts,
            snapshots,
            state,
            runtime,
            debounce: Duration::from_millis(a.debounce_ms),
            sweep_every: Duration::from_secs(a.sweep_secs),
            grace: Duration::from_secs(a.reclassify_grace_secs),
            metrics,
            caught_up: AtomicBool::new(false),
            consuming,
            changed: tokio::sync::Notify::new(),
        });
        let probe = service.clone();
        let ready = switchboard_telemetry::ready_fn(move || {
            if !switchboard_bus::is_connected(&probe.client) {
                return Err("not connected to NATS".into());
            }
            if !probe.caught_up.load(Ordering::Acquire) {
                return Err("still loading the per-call facts".into());
            }
            if !probe.consuming.load(Ordering::Acquire) {
                return Err("the EVENTS consumer is not set up yet".into());
            }
            Ok(())
        });
        let router = axum::Router::new()
            .route("/", get(page_handler))
            .route(
                "/v1/tenants/{tenant}/booking-rate",
                get(booking_rate_handler),
            )
            .route(
                "/v1/tenants/{tenant}/discrepancies",
                get(discrepancies_handler),
            )
            .with_state(service.clone())
            .merge(switchboard_telemetry::ops_router(registry, ready));
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {} (analytics.listen)", a.listen))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            service,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs until `shutdown`. Dropping the future stops everything at once; unacked events
    /// come back after `ack_wait_secs` and the sweep resumes from its saved cursor.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let s = self.service.clone();
        let serve = axum::serve(self.listener, self.router).into_future();
        // Never ends (with no tenant to sweep it must not end the service either).
        let sweeps = async {
            futures_util::future::join_all(s.tenants.values().map(|t| s.sweep_loop(t))).await;
            std::future::pending::<()>().await
        };
        tracing::info!(addr = %self.local_addr, "analytics listening");
        let stop = CancellationToken::new();
        let consume = s.runtime.run(&*s, &stop);
        tokio::pin!(consume);
        tokio::select! {
            () = shutdown => {}
            r = serve => r.context("HTTP server failed")?,
            r = s.project() => r?,
            () = &mut consume => {}
            r = s.publish_loop() => r?,
            _ = sweeps => {}
        }
        // Let the events in hand settle.
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut consume).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), s.client.flush()).await;
        Ok(())
    }
}

/// The EVENTS consumer: merge what each event says into the facts bucket.
impl Handler for Service {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let event = match serde_json::from_slice::<CloudEvent>(&message.payload) {
            Ok(e) => e,
            Err(e) => return Settle::dead_letter("malformed", format!("not a CloudEvent: {e}")),
        };
        let kind = event.kind.as_str();
        if !self.tenants.contains_key(&event.tenant) {
            self.metrics.events.with(&[kind, "skipped"]).inc();
            return Settle::Ack;
        }
        let changes = match translate::changes(&event) {
            Ok(changes) => changes,
            Err(e) => return Settle::dead_letter("malformed", e.0),
        };
        if changes.is_empty() {
            self.metrics.events.with(&[kind, "ignored"]).inc();
            return Settle::Ack;
        }
        for change in &changes {
            if let Err(e) = self.merge(&event.tenant, change).await {
                let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
                // 1 s, 2 s, 4 s … up to a minute.
                let delay = Duration::from_secs(1u64 << delivered.clamp(1, 7).saturating_sub(1))
                    .min(Duration::from_secs(60));
                return Settle::retry(delay, format!("could not store its facts: {e:#}"));
            }
        }
        self.metrics.events.with(&[kind, "used"]).inc();
        Settle::Ack
    }

    fn settled(&self, message: &jetstream::Message, settled: Settled) {
        let result = match settled {
            Settled::Acked => return, // counted by `handle` (used, ignored, skipped)
            Settled::Retried => "retried",
            Settled::DeadLettered => "dead_lettered",
        };
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: String,
        }
        let kind = serde_json::from_slice::<Kind>(&message.payload)
            .map_or_else(|_| "-".to_owned(), |k| k.kind);
        self.metrics.events.with(&[&kind, result]).inc();
    }
}

impl Service {
    fn facts_key(tenant: &str, call: &str) -> String {
        format!("{tenant}.{}", key_token(call))
    }

    /// Read, merge, compare-and-set; retried when another writer got there first.
    async fn merge(&self, tenant: &str, change: &FactChange) -> anyhow::Result<()> {
        let key = Self::facts_key(tenant, &change.call);
        // A call this replica has never seen is most likely new: try to create its record
        // without reading first (one round trip less); compare-and-set makes it safe.
        if !self.known(tenant, change) {
            let mut stored = StoredFacts::default();
            change.merge_into(&mut stored);
            if self
                .facts
                .update(&key, serde_json::to_vec(&stored)?, 0)
                .await?
                .is_some()
            {
                self.metrics.facts_written.inc();
                return Ok(());
            }
        }
        for _ in 0..50 {
            let (value, revision) = self.facts.get(&key).await?;
            let mut stored: StoredFacts = match value {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .with_context(|| format!("facts record {key} is not readable"))?,
                None => StoredFacts::default(),
            };
            if !change.merge_into(&mut stored) {
                return Ok(());
            }
            if self
                .facts
                .update(&key, serde_json::to_vec(&stored)?, revision)
                .await?
                .is_some()
            {
                self.metrics.facts_written.inc();
                return Ok(());
            }
        }
        anyhow::bail!("facts record {key}: too many concurrent writers")
    }

    /// Whether the projection has seen `change`'s call (if not, it is probably new).
    fn known(&self, tenant: &str, change: &FactChange) -> bool {
        let Some(t) = self.tenants.get(tenant) else {
            return true;
        };
        let st = t.lock();
        match change.st_call_id {
            Some(id) if change.call == st_key(id) => {
                st.links.contains_key(&id) || st.unlinked.contains_key(&id)
            }
            _ => {
                st.st_ids.contains_key(change.call.as_str())
                    || st.engine.get(&CallKey::new(change.call.as_str())).is_some()
            }
        }
    }

    // ---- writers ----

    async fn sweep_loop(&self, tenant: &Tenant) {
        let Some(client) = &tenant.st else {
            return std::future::pending().await;
        };
        loop {
            if let Err(e) = self.sweep(&tenant.name, client).await {
                tracing::warn!(tenant = %tenant.name, error = %e, "export sweep failed; will retry");
            }
            tokio::time::sleep(self.sweep_every).await;
        }
    }

    /// One pass over the tenant's call export, page by page from the saved cursor; the
    /// cursor is saved after each page's records are stored.
    pub(crate) async fn sweep(&self, tenant: &str, client: &TenantClient) -> anyhow::Result<usize> {
        let cursor_key = format!("cursor.{tenant}");
        let mut cursor = self
            .state
            .get(&cursor_key)
            .await?
            .0
            .and_then(|b| String::from_utf8(b).ok());
        let mut records = 0;
        loop {
            let page = client.export_calls(cursor.as_deref(), true).await?;
            let advanced = cursor.as_deref() != Some(page.continue_from.as_str());
            // The first sweep walks the whole export history; calls older than the API can
            // show are not kept.
            let oldest =
                jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * HISTORY_DAYS);
            for call in &page.data {
                if let Some(change) = translate::from_export(call)
                    && change
                        .servicetitan
                        .as_ref()
                        .is_some_and(|v| v.started_at >= oldest)
                {
                    self.merge(tenant, &change).await?;
                }
            }
            records += page.data.len();
            self.metrics.sweep_records.inc_by(page.data.len() as u64);
            if advanced {
                self.state
                    .put(&cursor_key, page.continue_from.clone().into_bytes())
                    .await?;
            }
            let done = !page.has_more || (page.data.is_empty() && !advanced);
            cursor = Some(page.continue_from);
            if done {
                return Ok(records);
            }
        }
    }

    // ---- projection ----

    /// Follows the facts bucket for ever; a broken watch (NATS restarted, say) is
    /// re-opened, which re-reads the current facts — harmless, merges are idempotent.
    async fn project(&self) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.project_once().await {
                tracing::warn!(error = %e, "the facts watch broke; re-opening it");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn project_once(&self) -> anyhow::Result<()> {
        let mut watch = self.facts.watch("").await?;
        for tenant in self.tenants.values() {
            tenant.lock().full = true; // everything is read again: scan whole days
        }
        loop {
            let step = watch.next().await?;
            if let Some(entry) = step.entry
                && let Some(value) = entry.value
            {
                let tenant_name = entry.key.split('.').next().unwrap_or("");
                let Some(tenant) = self.tenants.get(tenant_name) else {
                    continue; // a tenant removed from the config
                };
                let Ok(stored) = serde_json::from_slice::<StoredFacts>(&value) else {
                    tracing::warn!(key = %entry.key, "unreadable facts record skipped");
                    continue;
                };
                let repairs = Self::apply(tenant, stored);
                for change in repairs {
                    if let Err(e) = self.merge(&tenant.name, &change).await {
                        tracing::warn!(error = %e, "could not copy ServiceTitan's view across a link; will retry");
                        // Keep the view so the next record of either side tries again.
                        if let (Some(id), Some(view)) = (change.st_call_id, change.servicetitan) {
                            let mut st = tenant.lock();
                            let keep = st.unlinked.get(&id).is_none_or(|c| view.supersedes(c));
                            if keep {
                                st.unlinked.insert(id, view);
                            }
                        }
                    }
                }
                self.changed.notify_one();
            }
            if step.caught_up && !self.caught_up.swap(true, Ordering::AcqRel) {
                tracing::info!("per-call facts loaded");
                self.changed.notify_one();
            }
        }
    }

    /// Applies one stored record to the tenant's engine; returns the merges that copy
    /// ServiceTitan's view onto the agent's key when the link and the view met here.
    fn apply(tenant: &Tenant, stored: StoredFacts) -> Vec<FactChange> {
        let mut st = tenant.lock();
        let st = &mut *st;
        let copy = |agent_key: &str, id: i64, view: crate::StView| FactChange {
            call: agent_key.to_owned(),
            st_call_id: Some(id),
            agent: None,
            servicetitan: Some(view),
        };
        let newer_than_agents = |engine: &Engine, agent_key: &str, view: &crate::StView| {
            engine
                .get(&CallKey::new(agent_key))
                .and_then(|f| f.servicetitan)
                .is_none_or(|current| view.supersedes(&current))
        };
        let mut repairs = Vec::new();
        if let Some(id) = stored.st_call_id
            && stored.call == st_key(id)
        {
            // ServiceTitan's side: onto the linked agent call if newer there, else kept
            // until a link arrives.
            let Some(view) = stored.facts.servicetitan else {
                return repairs;
            };
            match st.links.get(&id) {
                Some(agent_key) => {
                    if newer_than_agents(&st.engine, agent_key, &view) {
                        repairs.push(copy(agent_key, id, view));
                    }
                }
                None => {
                    let keep = st
                        .unlinked
                        .get(&id)
                        .is_none_or(|current| view.supersedes(current));
                    if keep {
                        st.unlinked.insert(id, view);
                    }
                }
            }
            return repairs;
        }
        let key = CallKey::new(stored.call.clone());
        let mut days = Vec::new();
        if let Some(view) = stored.facts.agent.clone() {
            days.extend(st.engine.apply(Update::Agent {
                call: key.clone(),
                view,
            }));
        }
        if let Some(view) = stored.facts.servicetitan.clone() {
            days.extend(st.engine.apply(Update::ServiceTitan { call: key, view }));
        }
        if !days.is_empty() && !st.full {
            st.changed.insert(Arc::from(stored.call.as_str()));
        }
        st.dirty.extend(days);
        if let Some(id) = stored.st_call_id {
            if st.st_ids.get(stored.call.as_str()) != Some(&id) {
                let shared: Arc<str> = Arc::from(stored.call.as_str());
                st.st_ids.insert(shared.clone(), id);
                st.links.insert(id, shared);
            }
            if let Some(view) = st.unlinked.remove(&id)
                && newer_than_agents(&st.engine, &stored.call, &view)
            {
                repairs.push(copy(&stored.call, id, view));
            }
        }
        repairs
    }

    // ---- publisher ----

    async fn load_published(&self) -> anyhow::Result<()> {
        for tenant in self.tenants.values() {
            for (prefix, is_disc) in [
                (format!("disc.{}", tenant.name), true),
                (format!("asked.{}", tenant.name), false),
            ] {
                let mut watch = self.state.watch(&prefix).await?;
                loop {
                    let step = watch.next().await?;
                    if let Some(entry) = step.entry
                        && let Some(value) = entry.value
                    {
                        let mut st = tenant.lock();
                        if is_disc {
                            if let Ok(o) = serde_json::from_slice::<Opened>(&value) {
                                st.published
                                    .insert(o.discrepancy.call.as_str().to_owned(), o);
                            }
                        } else if let Some((call, signature)) =
                            String::from_utf8_lossy(&value).split_once('\n')
                        {
                            st.asked.insert(call.to_owned(), signature.to_owned());
                        }
                    }
                    if step.caught_up {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    async fn publish_loop(&self) -> anyhow::Result<()> {
        while !self.caught_up.load(Ordering::Acquire) {
            self.changed.notified().await;
        }
        self.load_published().await?;
        // After a restart, republish every day: the previous run may have stopped between
        // storing a fact and publishing its day.
        for tenant in self.tenants.values() {
            let mut st = tenant.lock();
            let days: Vec<Date> = st.engine.days().collect();
            st.dirty.extend(days);
        }
        loop {
            for tenant in self.tenants.values() {
                let started = std::time::Instant::now();
                if let Err(e) = self.publish_tenant(tenant).await {
                    tracing::warn!(tenant = %tenant.name, error = %e, "publishing failed; will retry");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    self.changed.notify_one();
                }
                self.metrics
                    .publish_latency
                    .observe(started.elapsed().as_secs_f64());
                if let Err(e) = self.ask_due(tenant).await {
                    tracing::warn!(tenant = %tenant.name, error = %e, "reclassification request failed; will retry");
                }
            }
            // Woken by a change, or once a second so grace periods expire on time.
            if tokio::time::timeout(Duration::from_secs(1), self.changed.notified())
                .await
                .is_ok()
                && !self.debounce.is_zero()
            {
                tokio::time::sleep(self.debounce).await;
            }
        }
    }

    /// Requests for the open discrepancies whose grace period has passed.
    async fn ask_due(&self, tenant: &Tenant) -> anyhow::Result<()> {
        if tenant.auto == AutoReclassify::Off {
            return Ok(());
        }
        let now = jiff::Timestamp::now();
        let due: Vec<(Discrepancy, i64)> = {
            let st = tenant.lock();
            st.published
                .values()
                .filter(|o| {
                    now.duration_since(o.opened_at)
                        .try_into()
                        .is_ok_and(|age: Duration| age >= self.grace)
                })
                .filter_map(|o| {
                    let call = o.discrepancy.call.as_str();
                    st.st_ids.get(call).map(|id| (o.discrepancy.clone(), *id))
                })
                .collect()
        };
        for (d, id) in due {
            self.maybe_request(tenant, &d, id).await?;
        }
        Ok(())
    }

    /// Recomputes the tenant's changed days and publishes what changed.
    pub(crate) async fn publish_tenant(&self, tenant: &Tenant) -> anyhow::Result<()> {
        let (days, changed, full, snapshots, opened, resolved) = {
            let mut guard = tenant.lock();
            let st = &mut *guard;
            let days = std::mem::take(&mut st.dirty);
            let changed = std::mem::take(&mut st.changed);
            let full = std::mem::replace(&mut st.full, false);
            if days.is_empty() && changed.is_empty() {
                return Ok(());
            }
            let snapshots: Vec<Snapshot> = days.iter().map(|d| st.engine.snapshot(*d)).collect();
            let mut opened = Vec::new();
            let mut resolved = Vec::new();
            let st_id = |call: &str| st.st_ids.get(call).copied();
            if full {
                // Every call of every dirty day against what was published.
                for day in &days {
                    let now: HashMap<String, Discrepancy> = st
                        .engine
                        .discrepancies(*day)
                        .into_iter()
                        .map(|d| (d.call.as_str().to_owned(), d))
                        .collect();
                    for (call, d) in &now {
                        if st.published.get(call).map(|o| &o.discrepancy) != Some(d) {
                            opened.push((d.clone(), st_id(call)));
                        }
                    }
                    for (call, o) in &st.published {
                        if o.discrepancy.date == *day && !now.contains_key(call) {
                            resolved.push((o.discrepancy.clone(), st_id(call)));
                        }
                    }
                }
            } else {
                // Only the calls that changed.
                for call in &changed {
                    let key = CallKey::new(&**call);
                    let now = st
                        .engine
                        .get(&key)
                        .and_then(|f| crate::discrepancy_of(&tenant.zone, &key, &f));
                    match (now, st.published.get(&**call)) {
                        (Some(d), Some(o)) if o.discrepancy == d => {}
                        (Some(d), _) => opened.push((d, st_id(call))),
                        (None, Some(o)) => resolved.push((o.discrepancy.clone(), st_id(call))),
                        (None, None) => {}
                    }
                }
            }
            (days, changed, full, snapshots, opened, resolved)
        };
        let result = self
            .publish_changes(tenant, &snapshots, &opened, &resolved)
            .await;
        if result.is_err() {
            let mut st = tenant.lock();
            st.dirty.extend(days);
            st.changed.extend(changed);
            st.full |= full;
        }
        result
    }

    async fn publish_changes(
        &self,
        tenant: &Tenant,
        snapshots: &[Snapshot],
        opened: &[(Discrepancy, Option<i64>)],
        resolved: &[(Discrepancy, Option<i64>)],
    ) -> anyhow::Result<()> {
        let name = &tenant.name;
        for snapshot in snapshots {
            let body = serde_json::to_vec(snapshot)?;
            // No message id: a day can legitimately go A → B → A, and the stream keeps the
            // latest per subject, so a repeated publish must never be dropped as a duplicate.
            let key = format!("{name}.{}", snapshot.date);
            let (published, stored) = tokio::join!(
                self.publish(snapshot_subject(name, snapshot.date), None, body.clone()),
                self.snapshots.put(&key, body)
            );
            published?;
            stored?;
            self.metrics.snapshots.inc();
        }
        // Calls are independent (each is in at most one list per pass): announce up to 32
        // at a time — a first start can have tens of thousands.
        futures_util::stream::iter(resolved.iter().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(32, |(d, st_call_id)| {
                self.announce_resolved(tenant, d, *st_call_id)
            })
            .await?;
        futures_util::stream::iter(opened.iter().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(32, |(d, st_call_id)| {
                self.announce_open(tenant, d, *st_call_id)
            })
            .await?;
        Ok(())
    }

    async fn announce_resolved(
        &self,
        tenant: &Tenant,
        d: &Discrepancy,
        st_call_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let name = &tenant.name;
        let key = format!("disc.{name}.{}", key_token(d.call.as_str()));
        // Whoever deletes the open record announces the resolution: with several
        // replicas, exactly one does.
        if self.claim_state(&key, None).await? {
            let message = DiscrepancyMessage {
                tenant: name.clone(),
                status: "resolved".into(),
                discrepancy: d.clone(),
                st_call_id,
                resolved_at: Some(now_rfc3339()),
            };
            let id = format!("{name}.{}.resolved.{}", key_token(d.call.as_str()), d.since);
            self.publish(
                discrepancy_subject(name),
                Some(id),
                serde_json::to_vec(&message)?,
            )
            .await?;
            self.metrics.discrepancies.with(&["resolved"]).inc();
        }
        let asked = tenant.lock().asked.remove(d.call.as_str()).is_some();
        if asked {
            self.state
                .delete(&format!("asked.{name}.{}", key_token(d.call.as_str())))
                .await?;
        }
        tenant.lock().published.remove(d.call.as_str());
        Ok(())
    }

    async fn announce_open(
        &self,
        tenant: &Tenant,
        d: &Discrepancy,
        st_call_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let name = &tenant.name;
        let key = format!("disc.{name}.{}", key_token(d.call.as_str()));
        let first_seen = tenant
            .lock()
            .published
            .get(d.call.as_str())
            .map_or_else(jiff::Timestamp::now, |o| o.opened_at);
        let opened = Opened {
            discrepancy: d.clone(),
            opened_at: first_seen,
        };
        // Whoever records this state announces it: exactly one replica does.
        if self.claim_state(&key, Some(&opened)).await? {
            let message = DiscrepancyMessage {
                tenant: name.clone(),
                status: "open".into(),
                discrepancy: d.clone(),
                st_call_id,
                resolved_at: None,
            };
            let body = serde_json::to_vec(&message)?;
            let id = format!(
                "{name}.{}.open.{:016x}",
                key_token(d.call.as_str()),
                fnv(&body)
            );
            self.publish(discrepancy_subject(name), Some(id), body)
                .await?;
            self.metrics.discrepancies.with(&["open"]).inc();
        }
        tenant
            .lock()
            .published
            .insert(d.call.as_str().to_owned(), opened);
        Ok(())
    }

    /// Moves `disc.*` record `key` to `wanted` (`None`: resolved, deleted) with
    /// compare-and-set. True if this call made the change — the caller then announces it;
    /// false if the record already says so (another replica got there first).
    async fn claim_state(&self, key: &str, wanted: Option<&Opened>) -> anyhow::Result<bool> {
        for _ in 0..20 {
            let (current, revision) = self.state.get(key).await?;
            let current: Option<Opened> = current.and_then(|v| serde_json::from_slice(&v).ok());
            let same = match (&current, wanted) {
                (None, None) => true,
                (Some(c), Some(w)) => c.discrepancy == w.discrepancy,
                _ => false,
            };
            if same {
                return Ok(false);
            }
            let done = match wanted {
                Some(w) => self
                    .state
                    .update(key, serde_json::to_vec(w)?, revision)
                    .await?
                    .is_some(),
                None => self.state.delete_if(key, revision).await?,
            };
            if done {
                return Ok(true);
            }
        }
        anyhow::bail!("state record {key}: too many concurrent writers")
    }

    /// Asks the calls worker to make ServiceTitan match the agent — per the tenant's
    /// `auto_reclassify`, once the discrepancy has outlived the grace period, only where
    /// the agent's view is authoritative (its class is one the tenant's calls policy maps),
    /// and never twice for the same call state.
    async fn maybe_request(
        &self,
        tenant: &Tenant,
        d: &Discrepancy,
        st_call_id: i64,
    ) -> anyhow::Result<()> {
        if tenant.auto == AutoReclassify::Off {
            return Ok(());
        }
        // Authoritative only if the calls policy maps the agent's class — and pointless if
        // ServiceTitan already has what that mapping would write (a `call_type` override).
        match tenant.mapped.get(&d.agent) {
            None => return Ok(()),
            Some(target) if d.servicetitan == Some(*target) => return Ok(()),
            Some(_) => {}
        }
        let call = d.call.as_str();
        // The mode is part of the state: previewing a request (dry-run) must not stop the
        // real one once the tenant is switched on.
        let signature = format!(
            "{:?}|{:?}|{:?}|{}",
            tenant.auto, d.agent, d.servicetitan, d.since
        );
        if tenant.lock().asked.get(call) == Some(&signature) {
            return Ok(());
        }
        let name = &tenant.name;
        let data = ReclassifyRequestData {
            st_call_id,
            outcome: outcome_of(d.agent),
            reason: None,
            tags: Vec::new(),
            job_id: d.job_id,
            provider_call_id: Some(call.to_owned()),
            observed_call_type: st_name(d.servicetitan),
            requested_by: "analytics".into(),
        };
        let id = switchboard_events::event_id(&format!("analytics/{name}/{call}/{signature}"), 0);
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: id.clone(),
            source: format!("/switchboard/{name}/analytics"),
            kind: EventType::CallReclassifyRequested.as_str().into(),
            subject: Some(st_call_id.to_string()),
            time: now_rfc3339(),
            datacontenttype: "application/json".into(),
            tenant: name.clone(),
            inboundid: String::new(),
            data: serde_json::to_value(&data)?,
        };
        let body = serde_json::to_vec(&event)?;
        let mode = if tenant.auto == AutoReclassify::On {
            self.publish(
                switchboard_bus::events_subject(name, EventType::CallReclassifyRequested.as_str()),
                Some(id),
                body,
            )
            .await?;
            "on"
        } else {
            self.publish(dry_run_subject(name), Some(id), body).await?;
            "dry-run"
        };
        self.state
            .put(
                &format!("asked.{name}.{}", key_token(call)),
                format!("{call}\n{signature}").into_bytes(),
            )
            .await?;
        tenant.lock().asked.insert(call.to_owned(), signature);
        self.metrics.requests.with(&[mode]).inc();
        Ok(())
    }

    /// Publishes and waits for the ack; `msg_id` (if any) lets JetStream drop a duplicate
    /// published by another replica within the dedup window.
    async fn publish(
        &self,
        subject: String,
        msg_id: Option<String>,
        body: Vec<u8>,
    ) -> anyhow::Result<()> {
        let mut publish = jetstream::message::PublishMessage::build().payload(body.into());
        if let Some(id) = msg_id {
            publish = publish.message_id(id);
        }
        self.js
            .send_publish(subject, publish)
            .await
            .context("publish")?
            .await
            .context("publish ack")?;
        Ok(())
    }
}

// ---- HTTP ----

/// The longest range the booking-rate API answers in one request.
const MAX_DAYS: usize = 366;

#[derive(Debug, Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DayQuery {
    date: Option<String>,
}

/// A request the API cannot answer: the status and a message saying what to change.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn error(status: StatusCode, message: String) -> ApiError {
    ApiError { status, message }
}

fn tenant_of<'a>(s: &'a Service, tenant: &str) -> Result<&'a Arc<Tenant>, ApiError> {
    s.tenants.get(tenant).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("unknown tenant `{tenant}`: tenants are configured under [tenants.*]"),
        )
    })
}

fn parse_date(name: &str, value: &str) -> Result<Date, ApiError> {
    value.parse::<Date>().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("`{name}` must be a date like 2026-11-23, not `{value}`"),
        )
    })
}

fn add(a: &Figures, b: &Figures) -> Figures {
    let mut f = Figures {
        booked: a.booked + b.booked,
        unbooked: a.unbooked + b.unbooked,
        excused: a.excused + b.excused,
        not_lead: a.not_lead + b.not_lead,
        abandoned: a.abandoned + b.abandoned,
        unclassified: a.unclassified + b.unclassified,
        calls: a.calls + b.calls,
        booking_rate: None,
    };
    f.booking_rate = booking_rate(f.booked, f.unbooked);
    f
}

fn add_breakdowns(into: &mut BTreeMap<String, Breakdown>, from: &BTreeMap<String, Breakdown>) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        e.agent = add(&e.agent, &v.agent);
        e.servicetitan = add(&e.servicetitan, &v.servicetitan);
    }
}

fn today(tenant: &Tenant) -> Date {
    tenant.zone.local_date(jiff::Timestamp::now())
}

/// The days from `from` to `to`, at most `MAX_DAYS + 1` of them (the caller refuses more).
fn days_between(from: Date, to: Date) -> Vec<Date> {
    let mut days = Vec::new();
    let mut d = from;
    while d <= to && days.len() <= MAX_DAYS {
        days.push(d);
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    days
}

/// `GET /v1/tenants/{tenant}/booking-rate?from=YYYY-MM-DD&to=YYYY-MM-DD` (default: the
/// last 30 local days): both views per day, totals and breakdowns over the range.
async fn booking_rate_handler(
    State(s): State<Arc<Service>>,
    Path(tenant): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, ApiError> {
    let tenant = tenant_of(&s, &tenant)?;
    let to = match q.to.as_deref() {
        Some(v) => parse_date("to", v)?,
        None => today(tenant),
    };
    let from = match q.from.as_deref() {
        Some(v) => parse_date("from", v)?,
        None => to.saturating_sub(jiff::Span::new().days(29)),
    };
    if from > to {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("`from` ({from}) is after `to` ({to})"),
        ));
    }
    let days = days_between(from, to);
    if days.len() > MAX_DAYS {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("more than {MAX_DAYS} days asked for; ask for at most {MAX_DAYS} at a time"),
        ));
    }
    let snapshots: Vec<Snapshot> = {
        let st = tenant.lock();
        days.iter().map(|d| st.engine.snapshot(*d)).collect()
    };
    let mut agent = Figures::tally([]);
    let mut servicetitan = Figures::tally([]);
    let (mut by_agent, mut by_bu, mut by_campaign) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut discrepancies = 0;
    for s in &snapshots {
        agent = add(&agent, &s.agent);
        servicetitan = add(&servicetitan, &s.servicetitan);
        add_breakdowns(&mut by_agent, &s.by_agent);
        add_breakdowns(&mut by_bu, &s.by_business_unit);
        add_breakdowns(&mut by_campaign, &s.by_campaign);
        discrepancies += s.discrepancies;
    }
    Ok(axum::Json(serde_json::json!({
        "tenant": tenant.name,
        "timezone": tenant.zone.name(),
        "from": from.to_string(),
        "to": to.to_string(),
        "totals": {"agent": agent, "servicetitan": servicetitan, "discrepancies": discrepancies},
        "breakdowns": {"by_agent": by_agent, "by_business_unit": by_bu, "by_campaign": by_campaign},
        "days": snapshots,
    }))
    .into_response())
}

/// `GET /v1/tenants/{tenant}/discrepancies[?date=YYYY-MM-DD]`: the calls whose classes
/// differ now, oldest day first.
async fn discrepancies_handler(
    State(s): State<Arc<Service>>,
    Path(tenant): Path<String>,
    Query(q): Query<DayQuery>,
) -> Result<Response, ApiError> {
    let tenant = tenant_of(&s, &tenant)?;
    let date = q
        .date
        .as_deref()
        .map(|v| parse_date("date", v))
        .transpose()?;
    let list: Vec<serde_json::Value> = {
        let st = tenant.lock();
        let all = match date {
            Some(d) => st.engine.discrepancies(d),
            None => st.engine.all_discrepancies(),
        };
        all.into_iter()
            .map(|d| {
                let mut v = serde_json::to_value(&d).unwrap_or_default();
                if let (Some(obj), Some(id)) = (v.as_object_mut(), st.st_ids.get(d.call.as_str())) {
                    obj.insert("st_call_id".into(), (*id).into());
                }
                v
            })
            .collect()
    };
    Ok(axum::Json(serde_json::json!({
        "tenant": tenant.name,
        "timezone": tenant.zone.name(),
        "count": list.len(),
        "discrepancies": list,
    }))
    .into_response())
}

/// `GET /`: the operations page.
async fn page_handler(State(s): State<Arc<Service>>) -> Response {
    let sections: Vec<TenantSection> = s
        .tenants
        .values()
        .map(|t| {
            let to = today(t);
            let from = to.saturating_sub(jiff::Span::new().days(29));
            let st = t.lock();
            TenantSection {
                tenant: t.name.clone(),
                timezone: t.zone.name().to_owned(),
                days: days_between(from, to)
                    .into_iter()
                    .map(|d| st.engine.snapshot(d))
                    .collect(),
                discrepancies: st.engine.discrepancies(to),
                auto_reclassify: match t.auto {
                    AutoReclassify::Off => "off",
                    AutoReclassify::DryRun => "dry-run",
                    AutoReclassify::On => "on",
                }
                .into(),
            }
        })
        .collect();
    let generated = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    Html(page::render(&sections, &generated)).into_response()
}
