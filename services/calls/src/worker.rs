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

use crate::facts::ExportFacts;
use crate::ledger::{Claim, Ledger};
use crate::matching::{self, Match};
use crate::policy::{self, ResolvedPolicy};
use anyhow::Context as _;
use async_nats::jetstream::{self, consumer};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec, Handler, Settle, Settled};
use switchboard_config::Config;
use switchboard_events::{
    CallData, CallSyncData, CloudEvent, ConfirmationData, ConfirmationStatus, EventType,
    OutcomeData, ReclassifyRequestData, StCallState, StRefs,
};
use switchboard_servicetitan::{CurrentCall, ServiceTitan, StError, TenantClient, all_pages};
use switchboard_telemetry::{Counter, CounterVec, Registry};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_util::sync::CancellationToken;

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

/// A reclassification request is applied exactly like an agent outcome for that call id.
fn outcome_of_request(r: ReclassifyRequestData) -> OutcomeData {
    OutcomeData {
        provider: r.requested_by.clone(),
        provider_call_id: r
            .provider_call_id
            .unwrap_or_else(|| format!("st-{}", r.st_call_id)),
        outcome: r.outcome,
        reason: r.reason,
        tags: r.tags,
        servicetitan: StRefs {
            call_id: Some(r.st_call_id),
            job_id: r.job_id,
            appointment_id: None,
        },
        from: None,
        to: None,
        started_at: None,
        ended_at: None,
        summary: None,
        agent: None,
        business_unit: None,
        campaign: None,
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

/// Ledger key remembering which ServiceTitan call a provider's call is.
fn correlation_key(tenant: &str, provider: &str, provider_call_id: &str) -> String {
    format!("corr.{tenant}.{provider}.{provider_call_id}")
}

#[derive(Clone)]
struct Metrics {
    results: CounterVec,
    writes: Counter,
    skipped_correct: Counter,
    pending: switchboard_telemetry::GaugeVec,
}

impl Metrics {
    fn new(r: &Registry) -> Self {
        Self {
            results: r.counter_vec(
                "switchboard_calls_events_total",
                "Events handled by type and result (applied, already_done, skipped, retried, dead_lettered).",
                &["type", "result"],
            ),
            writes: r.counter("switchboard_calls_servicetitan_writes_total", "ServiceTitan writes made (call updates, confirmations)."),
            skipped_correct: r.counter(
                "switchboard_calls_writes_skipped_total",
                "Writes not made because ServiceTitan already matched.",
            ),
            pending: r.gauge_vec(
                "switchboard_calls_consumer_pending",
                "Events waiting for the calls worker (consumer lag), per consumer.",
                &["consumer"],
            ),
        }
    }
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    worker: Arc<Worker>,
    runtimes: Vec<(Kind, ConsumerRuntime)>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

struct Worker {
    js: jetstream::Context,
    client: async_nats::Client,
    tenants: HashMap<String, TenantCtx>,
    facts: ExportFacts,
    ledger: Ledger,
    window_secs: i64,
    horizon: Duration,
    retry_delay: Duration,
    export_poll: Duration,
    metrics: Metrics,
}

impl Application {
    /// Connects, validates every tenant's policy against ServiceTitan (an unknown reason
    /// or tag is a start-up error naming it), and binds the ops listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Boxed: setting up three buckets, the ledger and every tenant's policy makes a
        // ~20 KB future, too big to move around on the caller's stack.
        Box::pin(Self::set_up(config)).await
    }

    async fn set_up(config: Config) -> anyhow::Result<Self> {
        let registry = Registry::default();
        let client = switchboard_bus::connect(&config.nats, "switchboard-calls").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        let metrics = Metrics::new(&registry);
        let st_requests = registry.counter_vec(
            "switchboard_calls_servicetitan_requests_total",
            "ServiceTitan API requests by operation and final HTTP status (none: no response).",
            &["operation", "status"],
        );
        let observer: switchboard_servicetitan::Observer =
            Arc::new(move |operation, status, _latency| {
                let status = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
                st_requests.with(&[operation, &status]).inc();
            });
        let st = ServiceTitan::from_config_observed(&config, Some(observer))?;
        let mut tenants = HashMap::new();
        for (name, tenant) in &config.tenants {
            let Some(st_client) = st.tenant(name.as_str()) else {
                continue;
            };
            if tenant.calls.outcomes.is_empty() {
                continue;
            }
            let (reasons, tags) = with_retries(|| async {
                let reasons = all_pages(500, |p, s| st_client.call_reasons(p, s)).await?;
                let tags = all_pages(500, |p, s| st_client.tag_types(p, s)).await?;
                Ok::<_, StError>((reasons, tags))
            })
            .await
            .with_context(|| {
                format!("cannot read tenant {name}'s call reasons and tag types from ServiceTitan")
            })?;
            let resolved = policy::resolve(name.as_str(), &tenant.calls, &reasons, &tags)?;
            tenants.insert(
                name.to_string(),
                TenantCtx {
                    client: st_client.clone(),
                    policy: resolved,
                },
            );
        }
        let c = &config.calls;
        let replicas = config.nats.replicas;
        let facts = switchboard_bus::with_setup_retries("set up the export mirror", || {
            Box::pin(ExportFacts::open(&js, replicas))
        })
        .await
        .map_err(anyhow::Error::msg)?;
        let stale = Duration::from_secs(c.lock_stale_secs);
        let ledger = switchboard_bus::with_setup_retries("set up the ledger", || {
            Ledger::open(&js, replicas, stale)
        })
        .await
        .map_err(anyhow::Error::msg)?;
        for stream in [
            switchboard_bus::events_stream_config(&config.nats),
            switchboard_bus::dlq::dlq_stream_config(&config.nats),
        ] {
            switchboard_bus::with_setup_retries("set up a stream", || {
                switchboard_bus::ensure_stream(&js, stream.clone())
            })
            .await
            .map_err(anyhow::Error::msg)?;
        }
        let worker = Arc::new(Worker {
            js,
            client: client.clone(),
            tenants,
            facts,
            ledger,
            window_secs: c.match_window_secs as i64,
            horizon: Duration::from_secs(c.not_found_horizon_secs),
            retry_delay: Duration::from_millis(c.retry_delay_ms),
            export_poll: Duration::from_millis(c.export_poll_ms),
            metrics,
        });
        let runtimes: Vec<(Kind, ConsumerRuntime)> = Kind::ALL
            .into_iter()
            .map(|kind| {
                let name = format!("{}-{}", c.consumer, kind.suffix());
                let spec = ConsumerSpec {
                    stream: switchboard_bus::EVENTS_STREAM.into(),
                    ensure_streams: vec![
                        switchboard_bus::events_stream_config(&config.nats),
                        switchboard_bus::dlq::dlq_stream_config(&config.nats),
                    ],
                    config: consumer::pull::Config {
                        durable_name: Some(name.clone()),
                        filter_subject: kind.filter(),
                        ack_wait: Duration::from_secs(c.ack_wait_secs),
                        max_deliver: c.max_deliver,
                        max_ack_pending: (c.batch * 4) as i64,
                        ..Default::default()
                    },
                    // ServiceTitan's per-tenant pacing, not this bound, sets the pace; one
                    // slow call does not hold up the others (the per-call lock serialises
                    // events for the same call).
                    concurrency: c.batch,
                    batch: c.batch,
                    expires: Duration::from_secs(30),
                    dead_letter_as: Some(c.consumer.clone()),
                };
                let gauge = worker.metrics.pending.with(&[&name]);
                let runtime = ConsumerRuntime::new(worker.js.clone(), client.clone(), spec)
                    .with_pending_gauge(gauge);
                (kind, runtime)
            })
            .collect();
        let flags: Vec<_> = runtimes.iter().map(|(_, r)| r.ready()).collect();
        let probe = client.clone();
        let ready = switchboard_telemetry::ready_fn(move || {
            if !switchboard_bus::is_connected(&probe) {
                Err("not connected to NATS".to_owned())
            } else if !flags.iter().all(|f| f.load(Ordering::Acquire)) {
                Err("consumers are not set up yet".to_owned())
            } else {
                Ok(())
            }
        });
        let router = switchboard_telemetry::ops_router(registry, ready);
        let listener = tokio::net::TcpListener::bind(c.listen)
            .await
            .with_context(|| format!("cannot listen on {} (calls.listen)", c.listen))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            worker,
            runtimes,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs until `shutdown`, then lets the events in hand settle (up to 10 s). Everything
    /// runs in this future, so dropping it stops the worker at once (unacked events come
    /// back after `ack_wait_secs`).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let serve = axum::serve(self.listener, self.router).into_future();
        let w = self.worker.clone();
        // Never ends (with no tenant to follow it must not end the worker either).
        let followers = async {
            futures_util::future::join_all(
                w.tenants
                    .iter()
                    .map(|(name, ctx)| w.follow_export(name, ctx)),
            )
            .await;
            std::future::pending::<()>().await
        };
        let stop = CancellationToken::new();
        let handlers: Vec<KindHandler<'_>> = self
            .runtimes
            .iter()
            .map(|(kind, _)| KindHandler {
                worker: &w,
                kind: *kind,
            })
            .collect();
        let consumers = futures_util::future::join_all(
            self.runtimes
                .iter()
                .zip(&handlers)
                .map(|((_, runtime), handler)| runtime.run(handler, &stop)),
        );
        tokio::pin!(consumers);
        tracing::info!(addr = %self.local_addr, "calls worker listening (ops endpoints)");
        tokio::select! {
            () = shutdown => {}
            r = serve => r.context("ops HTTP server failed")?,
            _ = &mut consumers => {}
            _ = followers => {}
        }
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut consumers).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), w.client.flush()).await;
        Ok(())
    }
}

/// One of the worker's four consumers: the worker, seen through one event type.
struct KindHandler<'a> {
    worker: &'a Worker,
    kind: Kind,
}

impl Handler for KindHandler<'_> {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let w = self.worker;
        match self.kind {
            Kind::Outcome | Kind::Reclassify => w.handle_outcome(message, self.kind).await,
            Kind::Confirmation => w.handle_confirmation(message).await,
            Kind::Completed => w.handle_completed(message).await,
        }
    }

    fn settled(&self, _message: &jetstream::Message, settled: Settled) {
        let result = match settled {
            // Handlers count what they did (applied, already_done, skipped …).
            Settled::Acked => return,
            Settled::Retried => "retried",
            Settled::DeadLettered => "dead_lettered",
        };
        let kind = self.kind.event_type();
        self.worker.metrics.results.with(&[kind, result]).inc();
    }
}

async fn with_retries<T, F, Fut>(mut f: F) -> Result<T, StError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StError>>,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..8 {
        match f().await {
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "ServiceTitan not answering yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
    f().await
}

fn state(c: &CurrentCall) -> StCallState {
    StCallState {
        call_type: c.call_type.map(|t| format!("{t:?}")),
        reason: c.reason.as_ref().map(|r| r.name.clone()),
        reason_is_lead: c.reason.as_ref().map(|r| r.lead),
        tag: c.tag.clone(),
        job_id: c.job_id,
        excuse_memo: c.excuse_memo.clone(),
    }
}

/// What a provider's call is found by in ServiceTitan: caller, number called, start time.
#[derive(Clone, Copy)]
struct Numbers<'a> {
    from: &'a str,
    to: &'a str,
    started: &'a str,
}

/// Ledger key of the record of a ServiceTitan write made for `event`.
fn written_key(event: &CloudEvent) -> String {
    format!("written.{}", event.id)
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
fn seen(message: &jetstream::Message) -> OffsetDateTime {
    message
        .info()
        .map(|i| i.published)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
}

/// How long the worker has been looking for an event's ServiceTitan call: measured from
/// when the event reached EVENTS, not from the event's own time, which a back-dated or
/// late-delivered event sets far in the past (it would be given up on at once).
fn looking_for(since: OffsetDateTime) -> Duration {
    (OffsetDateTime::now_utc() - since)
        .try_into()
        .unwrap_or_default()
}

/// True when RFC 3339 time `a` is strictly before `b` (unparseable: not older).
fn is_older(a: &str, b: &str) -> bool {
    match (
        OffsetDateTime::parse(a, &Rfc3339),
        OffsetDateTime::parse(b, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a < b,
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

impl Worker {
    async fn follow_export(&self, tenant: &str, ctx: &TenantCtx) {
        loop {
            if let Err(e) = self.facts.sync(tenant, &ctx.client).await {
                tracing::warn!(tenant, error = %e, "call export sync failed; will retry");
            }
            if let Err(e) = self.facts.sync_locations(tenant, &ctx.client).await {
                tracing::warn!(tenant, error = %e, "location export sync failed; will retry");
            }
            tokio::time::sleep(self.export_poll).await;
        }
    }

    async fn handle_outcome(&self, message: &jetstream::Message, kind: Kind) -> Settle {
        let parsed = match kind {
            Kind::Reclassify => parse::<ReclassifyRequestData>(message)
                .map(|(event, request)| (event, outcome_of_request(request))),
            _ => parse::<OutcomeData>(message),
        };
        let (event, outcome) = match parsed {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let kind = kind.event_type();
        let Some(ctx) = self.tenants.get(&event.tenant) else {
            self.metrics.results.with(&[kind, "skipped"]).inc();
            return Settle::Ack; // no ServiceTitan or no policy for this tenant
        };
        let claim = match self.ledger.claim(&event.id).await {
            Ok(c) => c,
            // The ledger lives on NATS: unreachable is transient.
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let token = match claim {
            Claim::Done => {
                self.metrics.results.with(&[kind, "already_done"]).inc();
                return Settle::Ack;
            }
            Claim::Busy => return busy("the event"),
            Claim::Acquired(t) => t,
        };
        let mut token = token;
        let settle = self
            .apply_outcome(ctx, &event, &outcome, &mut token, seen(message))
            .await;
        match &settle {
            Settle::Ack => {
                self.settle_claim(&event.id, token, true).await;
                self.metrics.results.with(&[kind, "applied"]).inc();
            }
            _ => {
                self.settle_claim(&event.id, token, false).await;
            }
        }
        settle
    }

    async fn locate(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        since: OffsetDateTime,
    ) -> Result<i64, Settle> {
        if let Some(id) = o.servicetitan.call_id {
            return Ok(id);
        }
        // A call.completed for the same call may have located it already.
        let correlation = correlation_key(&event.tenant, &o.provider, &o.provider_call_id);
        if let Ok(Some((_, id))) = self.ledger.read(&correlation).await
            && let Ok(id) = id.parse()
        {
            return Ok(id);
        }
        let (Some(from), Some(to), Some(started)) = (&o.from, &o.to, &o.started_at) else {
            return Err(Settle::DeadLetter {
                reason: "cannot_locate".into(),
                error: "the outcome has neither servicetitan.call_id nor from, to and started_at"
                    .into(),
            });
        };
        let me = format!("{}.{}", o.provider, o.provider_call_id);
        let id = self
            .find_by_numbers(ctx, event, Numbers { from, to, started }, &me, since)
            .await?;
        match self.bind(&event.tenant, &me, &correlation, id).await {
            Ok(true) => Ok(id),
            // Another of the agent's calls took it first: look again later.
            Ok(false) => Err(Settle::retry(
                self.retry_delay,
                format!("ServiceTitan call {id} is already another call's; looking again"),
            )),
            Err(e) => Err(Settle::retry(self.retry_delay, format!("ledger: {e}"))),
        }
    }

    /// Records that provider call `me` is ServiceTitan call `id` — unless `id` is already
    /// another provider call's (say, the caller's previous call, found because ServiceTitan
    /// had not recorded this one yet). Both directions, compare-and-set.
    async fn bind(
        &self,
        tenant: &str,
        me: &str,
        correlation: &str,
        id: i64,
    ) -> Result<bool, crate::ledger::LedgerError> {
        let reverse = format!("corrst.{tenant}.{id}");
        let owner = match self.ledger.read(&reverse).await? {
            Some((_, owner)) => owner,
            None => match self.ledger.write_if(&reverse, 0, me.to_owned()).await? {
                Some(_) => me.to_owned(),
                None => self
                    .ledger
                    .read(&reverse)
                    .await?
                    .map(|(_, o)| o)
                    .unwrap_or_default(),
            },
        };
        if owner != me {
            return Ok(false);
        }
        self.ledger.write_if(correlation, 0, id.to_string()).await?;
        Ok(true)
    }

    /// The one ServiceTitan call from `from` to `to` near `started` (v3 calls list).
    async fn find_by_numbers(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        numbers: Numbers<'_>,
        me: &str,
        since: OffsetDateTime,
    ) -> Result<i64, Settle> {
        let Numbers { from, to, started } = numbers;
        let Ok(start) = OffsetDateTime::parse(started, &Rfc3339) else {
            return Err(Settle::DeadLetter {
                reason: "cannot_locate".into(),
                error: format!("started_at `{started}` is not RFC 3339"),
            });
        };
        let window = time::Duration::seconds(self.window_secs);
        let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let query = vec![
            ("callerPhoneNumber", from.to_owned()),
            ("createdOnOrAfter", fmt(start - window)),
            (
                "createdBefore",
                fmt(start + window + time::Duration::hours(1)),
            ),
            ("pageSize", "200".to_owned()),
        ];
        let page = ctx
            .client
            .list_calls(query)
            .await
            .map_err(|e| st_failure(&e, self.retry_delay))?;
        // Calls already bound to another of the agent's calls are not candidates.
        let mut candidates = Vec::with_capacity(page.data.len());
        for call in page.data {
            let owner = self
                .ledger
                .read(&format!("corrst.{}.{}", event.tenant, call.lead_call.id))
                .await
                .map_err(|e| Settle::retry(self.retry_delay, format!("ledger: {e}")))?;
            if owner.is_none_or(|(_, o)| o == me) {
                candidates.push(call);
            }
        }
        match matching::find(&candidates, from, to, started, self.window_secs) {
            Match::One(id) => Ok(id),
            Match::Ambiguous(ids) => Err(Settle::DeadLetter {
                reason: "ambiguous_call".into(),
                error: format!(
                    "several ServiceTitan calls from {from} to {to} near {started}: {ids:?}"
                ),
            }),
            Match::None if looking_for(since) < self.horizon => Err(Settle::retry(
                self.retry_delay,
                format!("no ServiceTitan call from {from} to {to} near {started} yet"),
            )),
            Match::None => Err(Settle::DeadLetter {
                reason: "call_not_found".into(),
                error: format!(
                    "no ServiceTitan call from {from} to {to} near {started} after {:?}",
                    self.horizon
                ),
            }),
        }
    }

    async fn apply_outcome(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        claim: &mut u64,
        since: OffsetDateTime,
    ) -> Settle {
        // An earlier delivery wrote ServiceTitan but could not announce it: announce it now.
        if let Ok(Some((_, written))) = self.ledger.read(&written_key(event)).await
            && let Ok(data) = serde_json::from_str::<CallSyncData>(&written)
        {
            let subject = Some(data.st_call_id.to_string());
            return match self
                .publish(event, EventType::CallReclassified, subject, &data)
                .await
            {
                Ok(()) => {
                    self.remember_applied(event, data.st_call_id).await;
                    Settle::Ack
                }
                Err(e) => Settle::retry(
                    self.retry_delay,
                    format!("publishing call.reclassified: {e:#}"),
                ),
            };
        }
        let call_id = match self.locate(ctx, event, o, since).await {
            Ok(id) => id,
            Err(settle) => return settle,
        };
        // One writer per call at a time.
        let lock_key = format!("lock.{}.{call_id}", event.tenant);
        let mut lock = match self.ledger.claim(&lock_key).await {
            Ok(Claim::Acquired(t)) => t,
            Ok(_) => return busy("the call"),
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let fence = Fence {
            event_key: &event.id,
            claim,
            lock_key: &lock_key,
            lock: &mut lock,
        };
        let settle = self.reconcile(ctx, event, o, call_id, fence, since).await;
        self.settle_claim(&lock_key, lock, false).await;
        settle
    }

    async fn reconcile(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        call_id: i64,
        fence: Fence<'_>,
        since: OffsetDateTime,
    ) -> Settle {
        let mut current = None;
        let mut modified_on = None;
        for attempt in 0..2 {
            let export = match self.facts.get(&event.tenant, call_id).await {
                Ok(Some(e)) => e,
                Ok(None) if attempt == 0 => {
                    // Not mirrored yet: follow the export now. If that fails, "not found"
                    // would be a guess; try again later instead.
                    if let Err(e) = self.facts.sync(&event.tenant, &ctx.client).await {
                        return Settle::retry(
                            self.retry_delay,
                            format!("following the call export for call {call_id}: {e}"),
                        );
                    }
                    continue;
                }
                Ok(None) if looking_for(since) < self.horizon => {
                    return Settle::retry(
                        self.retry_delay,
                        format!("ServiceTitan call {call_id} is not in the call export yet"),
                    );
                }
                Ok(None) => {
                    return Settle::DeadLetter {
                        reason: "call_not_found".into(),
                        error: format!(
                            "ServiceTitan call {call_id} never appeared in the call export"
                        ),
                    };
                }
                Err(e) => return Settle::retry(self.retry_delay, format!("export mirror: {e}")),
            };
            // The mirrored location saves two CRM reads; unknown yet → the client reads it.
            let location = match &export.location {
                Some(l) => self
                    .facts
                    .location(&event.tenant, l.id)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            match ctx.client.current_call_with(&export, location).await {
                Ok(c) => {
                    current = Some(c);
                    modified_on = Some(export.modified_on.clone());
                    break;
                }
                // A stale export record: follow the export and read again.
                Err(e) if e.is_transient() && attempt == 0 => {
                    let _ = self.facts.sync(&event.tenant, &ctx.client).await;
                }
                Err(e) => return st_failure(&e, self.retry_delay),
            }
        }
        let Some(current) = current else {
            return Settle::retry(
                self.retry_delay,
                format!("ServiceTitan call {call_id}'s export record is stale"),
            );
        };
        // A newer outcome for this call wins over an older one delivered late.
        let applied_key = format!("applied.{}.{call_id}", event.tenant);
        let applied = self.ledger.read(&applied_key).await.ok().flatten();
        if let Some((_, newer)) = &applied
            && is_older(&event.time, newer)
        {
            self.metrics
                .results
                .with(&[event.kind.as_str(), "superseded"])
                .inc();
            return Settle::Ack;
        }
        let before = state(&current);
        let (kind, after) = match policy::desired_change(&current, o, &ctx.policy) {
            None => {
                self.metrics.skipped_correct.inc();
                (EventType::CallConfirmed, before.clone())
            }
            Some(change) => {
                // Fencing: renew the event claim and the call lock right before writing.
                // If either was taken over (this worker stalled past lock_stale_secs and
                // another replica took the work), do not write: the other one will.
                if !self.renew(fence).await {
                    return Settle::retry(
                        self.retry_delay,
                        "lost the claim before writing (another replica took it over)",
                    );
                }
                match ctx.client.update_call(&current, &change).await {
                    Ok(written) => modified_on = Some(written.modified_on),
                    Err(e) => return st_failure(&e, self.retry_delay),
                }
                self.metrics.writes.inc();
                let after = state(&current.apply(&change).expect("validated by update_call"));
                (EventType::CallReclassified, after)
            }
        };
        let data = CallSyncData {
            outcome_event_id: event.id.clone(),
            provider_call_id: o.provider_call_id.clone(),
            st_call_id: call_id,
            before,
            after,
            st_modified_on: modified_on,
        };
        if kind == EventType::CallReclassified {
            // ServiceTitan is written: remember what was done before announcing it, so a
            // retry after a failed publish announces this write (with its `before`) rather
            // than recompute against the updated call and call it merely confirmed.
            let written = serde_json::to_string(&data).expect("CallSyncData serializes");
            if let Err(e) = self.ledger.write_if(&written_key(event), 0, written).await {
                tracing::warn!(error = %e, event = %event.id, "could not record the write in the ledger");
            }
        }
        if let Err(e) = self
            .publish(event, kind, Some(call_id.to_string()), &data)
            .await
        {
            return Settle::retry(self.retry_delay, format!("publishing {kind:?}: {e}"));
        }
        self.remember_applied(event, call_id).await;
        Settle::Ack
    }

    /// Records `event`'s time as the call's last applied outcome, unless a newer one is
    /// there already, so an older outcome delivered later cannot overwrite it.
    async fn remember_applied(&self, event: &CloudEvent, call_id: i64) {
        let key = format!("applied.{}.{call_id}", event.tenant);
        for _ in 0..10 {
            let Ok(current) = self.ledger.read(&key).await else {
                return;
            };
            if let Some((_, newer)) = &current
                && !is_older(newer, &event.time)
            {
                return;
            }
            let revision = current.map_or(0, |(seq, _)| seq);
            match self
                .ledger
                .write_if(&key, revision, event.time.clone())
                .await
            {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => continue,
            }
        }
    }

    /// Publishes a follow-up event with an id derived from the triggering event's. EVENTS
    /// can be briefly without a leader (a cluster node died): the publish is tried again
    /// for up to 10 s (the id deduplicates a repeat that did land) before the event is
    /// retried as a whole.
    async fn publish<T: serde::Serialize>(
        &self,
        cause: &CloudEvent,
        kind: EventType,
        subject: Option<String>,
        data: &T,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut pause = Duration::from_millis(100);
        loop {
            match self.publish_once(cause, kind, subject.clone(), data).await {
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(error = %e, "EVENTS not accepting yet; publishing again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                result => return result,
            }
        }
    }

    async fn publish_once<T: serde::Serialize>(
        &self,
        cause: &CloudEvent,
        kind: EventType,
        subject: Option<String>,
        data: &T,
    ) -> anyhow::Result<()> {
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: switchboard_events::event_id(&format!("{}/calls", cause.id), 0),
            source: format!("/switchboard/{}/calls", cause.tenant),
            kind: kind.as_str().into(),
            subject,
            time: cause.time.clone(),
            datacontenttype: "application/json".into(),
            tenant: cause.tenant.clone(),
            inboundid: cause.inboundid.clone(),
            data: serde_json::to_value(data)?,
        };
        let publish = jetstream::message::PublishMessage::build()
            .payload(serde_json::to_vec(&event)?.into())
            .message_id(event.id.clone())
            .expected_stream(switchboard_bus::EVENTS_STREAM);
        self.js
            .send_publish(
                switchboard_bus::events_subject(&cause.tenant, kind.as_str()),
                publish,
            )
            .await?
            .await?;
        Ok(())
    }

    /// `call.completed`: find the ServiceTitan call now (retrying while ServiceTitan's record
    /// lags) and remember it, so the outcome that follows is found by id. Not finding it is
    /// not an error here — the outcome locates (or dead-letters) on its own.
    async fn handle_completed(&self, message: &jetstream::Message) -> Settle {
        const KIND: &str = "call.completed";
        let (event, call) = match parse::<CallData>(message) {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let skipped = || {
            self.metrics.results.with(&[KIND, "skipped"]).inc();
            Settle::Ack
        };
        let Some(ctx) = self.tenants.get(&event.tenant) else {
            return skipped();
        };
        let (Some(from), Some(to), Some(started)) = (&call.from, &call.to, &call.started_at) else {
            return skipped();
        };
        let key = correlation_key(&event.tenant, &call.provider, &call.provider_call_id);
        match self.ledger.read(&key).await {
            Ok(Some(_)) => {
                self.metrics.results.with(&[KIND, "already_done"]).inc();
                return Settle::Ack;
            }
            Ok(None) => {}
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        }
        let me = format!("{}.{}", call.provider, call.provider_call_id);
        match self
            .find_by_numbers(
                ctx,
                &event,
                Numbers { from, to, started },
                &me,
                seen(message),
            )
            .await
        {
            Ok(id) => match self.bind(&event.tenant, &me, &key, id).await {
                Ok(true) => {
                    self.metrics.results.with(&[KIND, "applied"]).inc();
                    Settle::Ack
                }
                Ok(false) => Settle::retry(
                    self.retry_delay,
                    format!("ServiceTitan call {id} is already another call's; looking again"),
                ),
                Err(e) => Settle::retry(self.retry_delay, format!("ledger: {e}")),
            },
            Err(Settle::DeadLetter { reason, error })
                if reason == "ambiguous_call" || reason == "call_not_found" =>
            {
                tracing::info!(%reason, %error, "call.completed: not correlated; the outcome will locate the call itself");
                self.metrics.results.with(&[KIND, "not_correlated"]).inc();
                Settle::Ack
            }
            Err(other) => other,
        }
    }

    async fn handle_confirmation(&self, message: &jetstream::Message) -> Settle {
        let (event, c) = match parse::<ConfirmationData>(message) {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let Some(ctx) = self.tenants.get(&event.tenant) else {
            return Settle::Ack;
        };
        let Some(appointment) = c.servicetitan.appointment_id else {
            return Settle::dead_letter("malformed", "no servicetitan.appointment_id");
        };
        let confirmed = match c.status {
            ConfirmationStatus::Confirmed => true,
            ConfirmationStatus::Declined => false,
            // Rescheduling is a booking change, not a confirmation: not handled here.
            ConfirmationStatus::Rescheduled => return Settle::Ack,
        };
        let token = match self.ledger.claim(&event.id).await {
            Ok(Claim::Acquired(t)) => t,
            Ok(Claim::Done) => return Settle::Ack,
            Ok(Claim::Busy) => return busy("the event"),
            Err(e) => return Settle::retry(Duration::from_secs(1), format!("ledger: {e}")),
        };
        // One writer per appointment at a time.
        let lock_key = format!("lock.{}.appt.{appointment}", event.tenant);
        let settle = match self.ledger.claim(&lock_key).await {
            Ok(Claim::Acquired(lock)) => {
                let settle = self
                    .apply_confirmation(ctx, &event, appointment, confirmed)
                    .await;
                self.settle_claim(&lock_key, lock, false).await;
                settle
            }
            Ok(_) => busy("the appointment"),
            Err(e) => Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        match &settle {
            Settle::Ack => {
                self.settle_claim(&event.id, token, true).await;
                self.metrics
                    .results
                    .with(&["appointment.confirmation", "applied"])
                    .inc();
            }
            _ => {
                self.settle_claim(&event.id, token, false).await;
            }
        }
        settle
    }
}

impl Worker {
    /// Confirms or un-confirms, only when ServiceTitan's appointment differs, and never on
    /// behalf of an answer older than the one last applied (redeliveries reorder).
    async fn apply_confirmation(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        appointment: i64,
        confirmed: bool,
    ) -> Settle {
        // Value: "{confirmed|declined} {event time}".
        let state_key = format!("appt.{}.{appointment}", event.tenant);
        let want = if confirmed { "confirmed" } else { "declined" };
        let known = match self.ledger.read(&state_key).await {
            Ok(k) => k,
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let known_time = known
            .as_ref()
            .and_then(|(_, v)| v.split_once(' ').map(|(_, t)| t))
            .unwrap_or("");
        if is_older(&event.time, known_time) {
            self.metrics
                .results
                .with(&["appointment.confirmation", "superseded"])
                .inc();
            return Settle::Ack;
        }
        // What ServiceTitan has now (a CSR may have confirmed it already).
        let current = match ctx.client.get_appointment(appointment).await {
            Ok(a) => a,
            Err(e) => return st_failure(&e, self.retry_delay),
        };
        let record = format!("{want} {}", event.time);
        let revision = known.as_ref().map_or(0, |(seq, _)| *seq);
        if current.is_confirmed == confirmed {
            // Already so; remember this answer's time, so an older opposite answer
            // redelivered later cannot undo it.
            let _ = self.ledger.write_if(&state_key, revision, record).await;
            self.metrics.skipped_correct.inc();
            return Settle::Ack;
        }
        let result = if confirmed {
            ctx.client.confirm_appointment(appointment).await
        } else {
            ctx.client.unconfirm_appointment(appointment).await
        };
        match result {
            Ok(()) => {
                self.metrics.writes.inc();
                let _ = self.ledger.write_if(&state_key, revision, record).await;
                Settle::Ack
            }
            Err(e) => st_failure(&e, self.retry_delay),
        }
    }
}

impl Worker {
    /// Marks a claim done, or releases it, trying for a few seconds: a claim left behind
    /// (NATS between leaders just then) would hold the event or call for `lock_stale_secs`.
    async fn settle_claim(&self, key: &str, token: u64, done: bool) {
        let mut pause = Duration::from_millis(100);
        for attempt in 1..=6 {
            let result = if done {
                self.ledger.complete(key, token).await
            } else {
                self.ledger.release(key, token).await
            };
            match result {
                // `false`: someone took it over meanwhile; nothing left to do.
                Ok(_) => return,
                Err(e) if attempt == 6 => {
                    tracing::warn!(key, error = %e, "could not settle a ledger claim; it is taken over after lock_stale_secs");
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
}

/// The claims a worker must still hold when it writes.
struct Fence<'a> {
    event_key: &'a str,
    claim: &'a mut u64,
    lock_key: &'a str,
    lock: &'a mut u64,
}

impl Worker {
    /// Renews both claims (compare-and-set on the tokens we hold); false if either is lost.
    async fn renew(&self, fence: Fence<'_>) -> bool {
        match self.ledger.refresh(fence.event_key, *fence.claim).await {
            Ok(Some(t)) => *fence.claim = t,
            _ => return false,
        }
        match self.ledger.refresh(fence.lock_key, *fence.lock).await {
            Ok(Some(t)) => *fence.lock = t,
            _ => return false,
        }
        true
    }
}
