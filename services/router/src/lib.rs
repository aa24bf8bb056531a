//! `switchboard-router`: INBOUND → EVENTS.
//!
//! A durable pull consumer on `INBOUND`, shared by every router replica, run by the bus's
//! consumer runtime (`switchboard_bus::consumer`). For each verified delivery the handler
//! runs the normaliser of the source's payload format, publishes the resulting CloudEvents
//! to `events.{tenant}.{type}` and acks the inbound message only after every event's
//! PubAck. Event ids are deterministic (inbound dedup id + index) and sent as
//! `Nats-Msg-Id`, so a redelivery (router killed mid-message) or a replay of INBOUND never
//! duplicates an event.
//!
//! Up to `router.batch` messages are handled at once, so the publishes of many messages
//! are in flight together: one round trip per window rather than per event.
//!
//! Failures: a malformed payload is permanent — it is dead-lettered with the reason; a
//! publish that is not acknowledged is transient — the message is retried with a growing
//! delay and dead-lettered (`max_deliveries`) when `router.max_deliver` runs out.
//! Something no normaliser understands is not a failure: it becomes a
//! `webhook.unrecognized` event, counted in metrics.

mod metrics;

use async_nats::jetstream::{self, consumer};
use jiff::Timestamp;
use jiff::tz::Offset;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec, Handler, Settle, Settled};
use switchboard_bus::headers as h;
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_bus::{Hosted, NatsService, async_nats};
use switchboard_config::Config;
use switchboard_events::normalise::{format_rfc3339, parse_rfc3339};
use switchboard_events::{Delivery, Format, normalise};
use switchboard_telemetry::HttpServer;
use tokio_util::sync::CancellationToken;

/// What an unknown path on the ops port is told.
const OPS_HINT: &str = "no such endpoint; the router serves GET /healthz, /readyz and /metrics";

/// What the router needs to know about each configured source.
#[derive(Debug, Clone)]
struct SourceInfo {
    format: Format,
}

/// The router as its binary and the tests run it: `Application::build(config)`, then
/// `run_until(shutdown)` (see [`switchboard_bus::host`]).
pub type Application = Hosted<Router>;

/// The router's work: the INBOUND consumer and the handler it feeds.
pub struct Router {
    worker: Worker,
    runtime: ConsumerRuntime,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

/// `(tenant, source)` → how its payloads are read.
type SourceFormats = HashMap<(String, String), SourceInfo>;

/// Each configured source's payload format: its `format`, else its scheme's default.
fn source_formats(config: &Config) -> SourceFormats {
    config
        .sources()
        .map(|(t, s, sc)| {
            let format = sc
                .format()
                .map_or_else(|| Format::for_scheme(sc.scheme_name()), Format::from);
            ((t.to_string(), s.to_string()), SourceInfo { format })
        })
        .collect()
}

/// A live reload of the router: the sources' formats are swapped in whole (a delivery
/// being normalised keeps the format it was read with). The consumer's settings, the
/// listener and NATS take a restart.
struct RouterReload(Arc<switchboard_bus::reload::Live<SourceFormats>>);

impl switchboard_bus::reload::Reload for RouterReload {
    fn apply<'a>(
        &'a self,
        new: &'a Config,
        changed: &'a [String],
    ) -> switchboard_bus::reload::Applying<'a> {
        Box::pin(async move {
            self.0.set(source_formats(new));
            Ok(switchboard_bus::reload::under(
                changed,
                &["router.", "nats.", "admin."],
            ))
        })
    }
}

/// The INBOUND handler.
struct Worker {
    js: jetstream::Context,
    /// Each configured source's payload format; swapped whole by a live reload.
    sources: Arc<switchboard_bus::reload::Live<SourceFormats>>,
    nak_delay: Duration,
    /// How long one delivery keeps trying to publish its events.
    publish_patience: Duration,
    metrics: metrics::RouterMetrics,
}

impl NatsService for Router {
    async fn build(config: Config) -> anyhow::Result<Application> {
        let registry = switchboard_telemetry::Registry::default();
        let metrics = metrics::RouterMetrics::new(&registry);
        let client = switchboard_bus::connect(&config.nats, "switchboard-router").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        let sources = Arc::new(switchboard_bus::reload::Live::new(source_formats(&config)));
        let r = &config.router;
        let spec = ConsumerSpec {
            stream: switchboard_bus::INBOUND_STREAM.into(),
            ensure_streams: vec![
                switchboard_bus::inbound_stream_config(&config.nats),
                switchboard_bus::events_stream_config(&config.nats),
                switchboard_bus::dlq::dlq_stream_config(&config.nats),
            ],
            config: consumer::pull::Config {
                durable_name: Some(r.consumer.clone()),
                description: Some("switchboard-router: INBOUND → EVENTS".into()),
                ack_wait: Duration::from_secs(r.ack_wait_secs),
                max_deliver: r.max_deliver,
                deliver_policy: consumer::DeliverPolicy::All,
                max_ack_pending: (r.batch * 4) as i64,
                ..Default::default()
            },
            concurrency: r.batch,
            batch: r.batch,
            expires: Duration::from_secs(30),
            dead_letter_as: None,
        };
        let runtime = ConsumerRuntime::new(js.clone(), client.clone(), spec)
            .with_pending_gauge(metrics.pending.clone());
        let worker = Worker {
            js,
            sources: sources.clone(),
            nak_delay: Duration::from_millis(r.nak_delay_ms),
            publish_patience: Duration::from_secs(r.ack_wait_secs.min(10)),
            metrics,
        };
        let ready = switchboard_telemetry::ready_fn(switchboard_bus::ready_when_set_up(
            client.clone(),
            runtime.ready(),
            "streams and the INBOUND consumer are not set up yet",
        ));
        let server = HttpServer::bind(
            "router",
            "router.listen",
            r.listen,
            switchboard_telemetry::ops_router(registry.clone(), ready),
            OPS_HINT,
        )
        .await?;
        Ok(Hosted::new(server, client, Router { worker, runtime })
            .with_reload(Arc::new(RouterReload(sources)), &registry))
    }

    /// Consumes INBOUND until `stop`; the messages in hand are finished first (acked or,
    /// if cut short, redelivered — never lost).
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        self.runtime.run(&self.worker, &stop).await;
        Ok(())
    }
}

impl Handler for Worker {
    /// Publishes the message's events and waits for every PubAck.
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let events = match self.plan(message) {
            Plan::Publish(events) => events,
            Plan::DeadLetter { reason, error } => return Settle::dead_letter(reason, error),
        };
        // EVENTS can be briefly without a leader (a cluster node died, an election is
        // running): "no stream found" for a few seconds. Try again here, for up to
        // `publish_patience`, rather than spend one of the message's few deliveries on it.
        // Re-publishing is safe: event ids are deduplicated.
        let events = &events;
        let published = (move || self.publish(events))
            .retry(retry::patience(
                self.publish_patience,
                Duration::from_millis(100),
                Duration::from_secs(2),
            ))
            .notify(
                |e, _| tracing::debug!(error = %e, "EVENTS not accepting yet; publishing again"),
            )
            .await;
        match published {
            Ok(()) => Settle::Ack,
            Err(e) => self.retry(message, e),
        }
    }

    fn settled(&self, _message: &jetstream::Message, settled: Settled) {
        match settled {
            Settled::Acked => {
                self.metrics.processed.inc();
            }
            Settled::Retried => {
                self.metrics.retried.inc();
            }
            Settled::DeadLettered => {
                self.metrics.dead_lettered.inc();
            }
        }
    }
}

impl Worker {
    /// Publishes every event (all in flight at once), then waits for every PubAck.
    async fn publish(&self, events: &[PlannedEvent]) -> Result<(), String> {
        let mut acks = Vec::with_capacity(events.len());
        for (subject, id, kind, payload) in events {
            let publish = switchboard_bus::traced(
                jetstream::message::PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(id)
                    .expected_stream(switchboard_bus::EVENTS_STREAM),
            );
            match self.js.send_publish(subject.clone(), publish).await {
                Ok(ack) => acks.push((*kind, ack)),
                Err(e) => return Err(format!("publishing an event: {e}")),
            }
        }
        for (kind, ack) in acks {
            match ack.await {
                Ok(a) if a.duplicate => {
                    self.metrics.duplicate_events.inc();
                }
                Ok(_) => self.metrics.event(kind),
                Err(e) => return Err(format!("EVENTS did not acknowledge an event: {e}")),
            }
        }
        Ok(())
    }

    /// Redelivery after a transient failure: `nak_delay` doubling with each delivery,
    /// capped at 60 s, so a struggling EVENTS stream is not hammered.
    fn retry(&self, message: &jetstream::Message, error: String) -> Settle {
        let deliveries = message
            .info()
            .map(|i| i.delivered)
            .unwrap_or(1)
            .clamp(1, 16) as u32;
        let after = self
            .nak_delay
            .saturating_mul(1 << (deliveries - 1))
            .min(Duration::from_secs(60));
        Settle::retry(after, error)
    }

    /// What to do with one inbound message (pure: same message, same plan).
    fn plan(&self, message: &jetstream::Message) -> Plan {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|hs| hs.get(name))
                .map(|v| v.as_str().to_owned())
        };
        // A tool call kept for audit: the booking service already answered it.
        if header(h::TOOL).is_some() {
            return Plan::Publish(Vec::new());
        }
        let info = message.info().ok();
        let stream_seq = info.as_ref().map_or(0, |i| i.stream_sequence);
        let tenant = header(h::TENANT).unwrap_or_default();
        let source = header(h::SOURCE).unwrap_or_default();
        let scheme = header(h::SCHEME).unwrap_or_default();
        // A replay from the DLQ carries the original id: its events get the original's ids.
        let inbound_id = header(h::ORIGINAL_MSG_ID)
            .or_else(|| header(h::MSG_ID))
            .unwrap_or_else(|| format!("{tenant}:{source}:seq{stream_seq}"));
        // Event time fallback: ingest's receive time, else when JetStream stored the
        // message — both fixed for the message, so a replay gives the same bytes.
        let received_at = header(h::RECEIVED_AT)
            .filter(|t| parse_rfc3339(t).is_some())
            .or_else(|| {
                // async-nats' own date-time type, crossed over through `SystemTime`.
                let published = SystemTime::from(info.as_ref()?.published);
                format_rfc3339(Timestamp::try_from(published).ok()?, Offset::UTC)
            })
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
        let content_type = header(h::CONTENT_TYPE);
        let format = self
            .sources
            .get()
            .get(&(tenant.clone(), source.clone()))
            .map(|s| s.format)
            .unwrap_or_else(|| Format::for_scheme(&scheme));
        let delivery = Delivery {
            tenant: &tenant,
            source: &source,
            scheme: &scheme,
            format,
            inbound_id: &inbound_id,
            stream_seq,
            received_at: &received_at,
            content_type: content_type.as_deref(),
            body: &message.payload,
        };
        match normalise(&delivery) {
            Ok(events) => Plan::Publish(
                events
                    .into_iter()
                    .map(|e| {
                        let subject = switchboard_bus::events_subject(&tenant, &e.kind);
                        let kind = static_kind(&e.kind);
                        let payload = serde_json::to_vec(&e).expect("events serialize");
                        (subject, e.id, kind, payload.into())
                    })
                    .collect(),
            ),
            Err(err) => Plan::DeadLetter {
                reason: "malformed",
                error: err.to_string(),
            },
        }
    }
}

/// The static name of a canonical type (for metric labels).
fn static_kind(kind: &str) -> &'static str {
    switchboard_events::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .find(|t| *t == kind)
        .unwrap_or("unknown")
}

/// (subject, event id, type, CloudEvent JSON).
type PlannedEvent = (String, String, &'static str, bytes::Bytes);

enum Plan {
    Publish(Vec<PlannedEvent>),
    DeadLetter { reason: &'static str, error: String },
}
