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
//!
//! What it owns, per tenant: the facts, the projection of them (each `Tenant`'s state) and
//! what was published from it, served read-only over HTTP. The code is split by loop so
//! each file reads on its own: `setup` (start-up and the run loop), `streams` (names,
//! subjects and the wire types), `keys` (every KV key and message id), `metrics`,
//! `writers`, `projection`, `publisher` with `reclassify`, and `http`. The shared state is
//! defined here.

mod console;
mod http;
mod keys;
mod metrics;
mod projection;
mod publisher;
mod reclassify;
mod setup;
mod streams;
mod writers;

pub use streams::{
    ANALYTICS_STREAM, DiscrepancyMessage, DiscrepancyStatus, FACTS_BUCKET, SNAPSHOTS_BUCKET,
    STATE_BUCKET, analytics_stream_config, discrepancy_subject, dry_run_subject, snapshot_subject,
};

use self::metrics::Metrics;
use crate::rates::Discrepancy;
use crate::{Engine, TenantZone};
use async_nats::jetstream;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::bucket::Bucket;
use switchboard_bus::consumer::ConsumerRuntime;
use switchboard_config::{AutoReclassify, CallClass};
use switchboard_servicetitan::TenantClient;

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
    mapped: HashMap<CallClass, CallClass>,
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

/// The tenants analytics serves, by name.
type Tenants = BTreeMap<String, Arc<Tenant>>;

impl Service {
    /// The tenants now.
    fn tenants(&self) -> Arc<Tenants> {
        self.tenants.get()
    }

    /// Tenant `name`, if analytics serves it.
    fn tenant(&self, name: &str) -> Option<Arc<Tenant>> {
        self.tenants().get(name).cloned()
    }
}

struct Service {
    js: jetstream::Context,
    client: async_nats::Client,
    /// Swapped whole by a live reload (tenants added or removed).
    tenants: switchboard_bus::reload::Live<Tenants>,
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
    /// The operator console's own state (`console`).
    console: Arc<console::ConsoleState>,
}

/// Analytics as its binary and the tests run it: `Application::build(config)`, then
/// `run_until(shutdown)` (see [`switchboard_bus::host`]).
pub type Application = switchboard_bus::Hosted<Analytics>;

/// Analytics' work: the EVENTS consumer, the projection, the publisher and the sweeps; and
/// the doctor's background checks, stopped with it.
pub struct Analytics {
    service: Arc<Service>,
    _doctor: Option<switchboard_servicetitan::doctor::Running>,
}

impl std::fmt::Debug for Analytics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analytics").finish_non_exhaustive()
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}
