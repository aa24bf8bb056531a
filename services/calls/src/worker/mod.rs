//! `switchboard-calls`: agent outcomes and appointment confirmations → ServiceTitan.
//!
//! Four durable pull consumers on EVENTS, shared by replicas: `{consumer}-outcomes`
//! (`events.*.call.outcome`), `{consumer}-reclassify` (`events.*.call.reclassify.requested`,
//! analytics' command, applied like an outcome for that call id), `{consumer}-completed`
//! (`events.*.call.completed`: locate the ServiceTitan call early and remember it, so the
//! outcome is found by id) and `{consumer}-appointments` (`events.*.appointment.confirmation`).
//! For each outcome: claim it in the ledger (a replay days later finds it done and writes
//! nothing), find the ServiceTitan call (by id, else by numbers and time), lock the call,
//! read it (v2 record + mirrored export facts + CRM), compute the desired record, write only
//! if it differs, publish `call.confirmed` / `call.reclassified`, mark the claim done, ack.
//!
//! This module holds the worker's state and the small helpers its handlers share; each
//! event type's handling lives in its own file so it can be read on its own: `wiring`
//! (set-up and run loop), `outcome` (outcomes and reclassify requests), `completed`,
//! `confirmation` and `fencing` (claims and locks held across a write).

mod completed;
mod confirmation;
mod fencing;
mod outcome;
mod wiring;

use crate::ledger::Ledger;
use crate::mirror::ExportMirror;
use crate::policy::ResolvedPolicy;
use async_nats::jetstream;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use switchboard_bus::async_nats;
use switchboard_bus::consumer::{ConsumerRuntime, Settle};
use switchboard_events::normalise::parse_rfc3339;
use switchboard_events::{CloudEvent, EventType};
use switchboard_servicetitan::{StError, TenantClient};
use switchboard_telemetry::{Counter, Registry};

/// What the operator must grant when ServiceTitan answers 403 (see docs/servicetitan.md).
const CALL_PERMISSIONS: &str = "Calls: Reclassify call, Confirm call, Edit call reason, View call forms and tags, Edit call forms/tags";

struct TenantCtx {
    client: Arc<TenantClient>,
    policy: ResolvedPolicy,
}

/// The events the worker consumes, one durable consumer each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Outcome,
    Completed,
    Confirmation,
    Reclassify,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Outcome,
        Kind::Completed,
        Kind::Confirmation,
        Kind::Reclassify,
    ];

    fn event_type(self) -> &'static str {
        match self {
            Kind::Outcome => EventType::CallOutcome,
            Kind::Completed => EventType::CallCompleted,
            Kind::Confirmation => EventType::AppointmentConfirmation,
            Kind::Reclassify => EventType::CallReclassifyRequested,
        }
        .as_str()
    }

    /// The durable consumer is `{calls.consumer}-{suffix}`.
    fn suffix(self) -> &'static str {
        match self {
            Kind::Outcome => "outcomes",
            Kind::Completed => "completed",
            Kind::Confirmation => "appointments",
            Kind::Reclassify => "reclassify",
        }
    }

    fn filter(self) -> String {
        format!("events.*.{}", self.event_type())
    }
}

/// The event and its typed `data`, or the dead letter saying which is malformed.
fn parse<T: serde::de::DeserializeOwned>(
    message: &jetstream::Message,
) -> Result<(CloudEvent, T), Settle> {
    let malformed = |error: String| Settle::dead_letter("malformed", error);
    let event = serde_json::from_slice::<CloudEvent>(&message.payload)
        .map_err(|_| malformed("not a CloudEvent".into()))?;
    let data = serde_json::from_value::<T>(event.data.clone())
        .map_err(|_| malformed(format!("{} data does not match its schema", event.kind)))?;
    Ok((event, data))
}

/// What became of an event: the `result` label of `switchboard_calls_events_total`.
#[derive(Debug, Clone, Copy)]
enum Handled {
    Applied,
    AlreadyDone,
    Skipped,
    NotCorrelated,
    Superseded,
    Retried,
    DeadLettered,
}

impl Handled {
    /// In declaration order (the index into [`Metrics::results`]).
    const ALL: [Handled; 7] = [
        Handled::Applied,
        Handled::AlreadyDone,
        Handled::Skipped,
        Handled::NotCorrelated,
        Handled::Superseded,
        Handled::Retried,
        Handled::DeadLettered,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Handled::Applied => "applied",
            Handled::AlreadyDone => "already_done",
            Handled::Skipped => "skipped",
            Handled::NotCorrelated => "not_correlated",
            Handled::Superseded => "superseded",
            Handled::Retried => "retried",
            Handled::DeadLettered => "dead_lettered",
        }
    }
}

#[derive(Clone)]
struct Metrics {
    /// `switchboard_calls_events_total{type,result}`, every label set resolved at start
    /// (`[Kind as usize][Handled as usize]`): counting an event touches one atomic.
    results: [[Counter; Handled::ALL.len()]; Kind::ALL.len()],
    writes: Counter,
    skipped_correct: Counter,
    linked_bookings: Counter,
    pending: switchboard_telemetry::GaugeVec,
}

impl Metrics {
    fn new(r: &Registry) -> Self {
        let results = r.counter_vec(
            "switchboard_calls_events_total",
            "Events handled by type and result (applied, already_done, skipped, retried, dead_lettered).",
            &["type", "result"],
        );
        Self {
            results: Kind::ALL
                .map(|kind| Handled::ALL.map(|h| results.with(&[kind.event_type(), h.as_str()]))),
            writes: r.counter(
                "switchboard_calls_servicetitan_writes_total",
                "ServiceTitan writes made (call updates, confirmations).",
            ),
            skipped_correct: r.counter(
                "switchboard_calls_writes_skipped_total",
                "Writes not made because ServiceTitan already matched.",
            ),
            linked_bookings: r.counter(
                "switchboard_calls_bookings_linked_total",
                "Booked outcomes without a job id linked to the job the booking service booked during the call.",
            ),
            pending: r.gauge_vec(
                "switchboard_calls_consumer_pending",
                "Events waiting for the calls worker (consumer lag), per consumer.",
                &["consumer"],
            ),
        }
    }

    /// Counts one event of `kind` that ended as `handled`.
    fn handled(&self, kind: Kind, handled: Handled) {
        self.results[kind as usize][handled as usize].inc();
    }
}

/// The calls worker as its binary and the tests run it: `Application::build(config)`, then
/// `run_until(shutdown)` (see [`switchboard_bus::host`]).
pub type Application = switchboard_bus::Hosted<CallsWorker>;

/// The worker's work: one consumer per event kind, and the export followers beside them.
pub struct CallsWorker {
    worker: Arc<Worker>,
    runtimes: Vec<(Kind, ConsumerRuntime)>,
    /// The doctor's background checks, stopped with the worker.
    _doctor: Option<switchboard_servicetitan::doctor::Running>,
}

impl std::fmt::Debug for CallsWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallsWorker").finish_non_exhaustive()
    }
}

/// The tenants the worker serves, by name.
type Tenants = HashMap<String, Arc<TenantCtx>>;

struct Worker {
    js: jetstream::Context,
    client: async_nats::Client,
    /// Swapped whole by a live reload.
    tenants: switchboard_bus::reload::Live<Tenants>,
    mirror: ExportMirror,
    ledger: Ledger,
    window_secs: i64,
    horizon: Duration,
    retry_delay: Duration,
    export_poll: Duration,
    metrics: Metrics,
}

/// What a provider's call is found by in ServiceTitan: caller, number called, start time.
#[derive(Clone, Copy)]
struct Numbers<'a> {
    from: &'a str,
    to: &'a str,
    started: &'a str,
}

/// Another replica holds `what`: try again in a second.
fn busy(what: &str) -> Settle {
    Settle::retry(
        Duration::from_secs(1),
        format!("{what} is being worked on by another replica"),
    )
}

/// When the event reached EVENTS (its first delivery's stream time; a replay is a new
/// message, so it gets a fresh horizon).
fn seen(message: &jetstream::Message) -> Timestamp {
    // `published` is async-nats' own date-time type: crossed over through `SystemTime`.
    message
        .info()
        .ok()
        .and_then(|i| Timestamp::try_from(SystemTime::from(i.published)).ok())
        .unwrap_or_else(Timestamp::now)
}

/// True when RFC 3339 time `a` is strictly before `b` (unparseable: not older).
fn is_older(a: &str, b: &str) -> bool {
    match (parse_rfc3339(a), parse_rfc3339(b)) {
        (Some((a, _)), Some((b, _))) => a < b,
        _ => false,
    }
}

/// A ServiceTitan error as a decision: transient ones are retried, the others are dead
/// letters with a bare reason code (docs/runbook.md) and the detail in `error`.
fn st_failure(e: &StError, retry: Duration) -> Settle {
    if e.is_transient() {
        return Settle::retry(retry, e.to_string());
    }
    match e.status {
        Some(403) => Settle::dead_letter(
            "missing_permission",
            format!("{e}; grant the API user: {CALL_PERMISSIONS}"),
        ),
        Some(400) => Settle::dead_letter("bad_mapping", e.to_string()),
        Some(404) => Settle::dead_letter("not_found_in_servicetitan", e.to_string()),
        _ => Settle::dead_letter("servicetitan_error", e.to_string()),
    }
}
