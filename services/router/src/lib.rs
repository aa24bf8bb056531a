//! `switchboard-router`: INBOUND → EVENTS.
//!
//! A durable pull consumer on `INBOUND`, shared by every router replica. For each verified
//! delivery it runs the normaliser of the source's payload format, publishes the resulting
//! CloudEvents to `events.{tenant}.{type}` and acks the inbound message only after every
//! event's PubAck. Event ids are deterministic (inbound dedup id + index) and sent as
//! `Nats-Msg-Id`, so a redelivery (router killed mid-batch) or a replay of INBOUND never
//! duplicates an event.
//!
//! Work is pipelined per batch: all events of a batch are published first, then the acks
//! are awaited, then the inbound messages are acked — one round trip per batch rather than
//! per event, in order.
//!
//! Failures: a malformed payload is permanent — it is recorded in `DLQ` with the reason and
//! terminated (`+TERM`); a publish that is not acknowledged is transient — the message is
//! NAKed with a delay and comes back. Something no normaliser understands is not a failure:
//! it becomes a `webhook.unrecognized` event, counted in metrics.
#![forbid(unsafe_code)]

mod metrics;

use anyhow::Context as _;
use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::dlq::{DeadLetter, publish_dead_letter};
use switchboard_bus::headers as h;
use switchboard_config::Config;
use switchboard_events::{Delivery, Format, normalise};

/// What the router needs to know about each configured source.
#[derive(Debug, Clone)]
struct SourceInfo {
    format: Format,
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: axum::Router,
    worker: Worker,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Worker {
    js: jetstream::Context,
    client: async_nats::Client,
    sources: Arc<HashMap<(String, String), SourceInfo>>,
    consumer_name: String,
    consumer_config: consumer::pull::Config,
    streams: Vec<jetstream::stream::Config>,
    batch: usize,
    nak_delay: Duration,
    metrics: metrics::RouterMetrics,
    ready: Arc<AtomicBool>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let registry = switchboard_telemetry::Registry::default();
        let metrics = metrics::RouterMetrics::new(&registry);
        let client = switchboard_bus::connect(&config.nats, "switchboard-router").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        let sources = config
            .sources()
            .map(|(t, s, sc)| {
                let format = match sc.format() {
                    Some(f) => Format::parse(f.as_str()).unwrap_or(Format::Unknown),
                    None => Format::for_scheme(sc.scheme_name()),
                };
                ((t.to_string(), s.to_string()), SourceInfo { format })
            })
            .collect();
        let r = &config.router;
        let consumer_config = consumer::pull::Config {
            durable_name: Some(r.consumer.clone()),
            description: Some("switchboard-router: INBOUND → EVENTS".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(r.ack_wait_secs),
            max_deliver: r.max_deliver,
            deliver_policy: consumer::DeliverPolicy::All,
            max_ack_pending: (r.batch * 4) as i64,
            ..Default::default()
        };
        let worker = Worker {
            js: js.clone(),
            client: client.clone(),
            sources: Arc::new(sources),
            consumer_name: r.consumer.clone(),
            consumer_config,
            streams: vec![
                switchboard_bus::inbound_stream_config(&config.nats),
                switchboard_bus::events_stream_config(&config.nats),
                switchboard_bus::dlq::dlq_stream_config(&config.nats),
            ],
            batch: r.batch,
            nak_delay: Duration::from_millis(r.nak_delay_ms),
            metrics,
            ready: Arc::new(AtomicBool::new(false)),
        };
        let ready = switchboard_telemetry::ready_fn(switchboard_bus::ready_when_set_up(
            client.clone(),
            worker.ready.clone(),
            "streams and the INBOUND consumer are not set up yet",
        ));
        let router = switchboard_telemetry::ops_router(registry, ready);
        let listener = tokio::net::TcpListener::bind(r.listen)
            .await
            .with_context(|| format!("cannot listen on {} (router.listen)", r.listen))?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            router,
            worker,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs until `shutdown` resolves; the batch in progress is finished first (its
    /// messages are acked or, if cut short, redelivered — never lost). Everything runs in
    /// this one future, so dropping it stops the router at once (as a crash would).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopping = Arc::new(AtomicBool::new(false));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .into_future();
        tokio::pin!(serve);
        let work = self.worker.run(stop.clone(), stopping.clone());
        tokio::pin!(work);
        tracing::info!(addr = %self.local_addr, "router listening (ops endpoints)");
        tokio::select! {
            () = shutdown => {}
            () = &mut work => {}
            result = &mut serve => result.context("ops HTTP server failed")?,
        }
        stopping.store(true, Ordering::Release);
        stop.notify_waiters();
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut work).await;
        let _ = tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut serve).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.worker.client.flush()).await;
        tracing::info!("router stopped");
        Ok(())
    }
}

impl Worker {
    /// Sets up streams and the consumer (retrying until NATS answers), then consumes.
    async fn run(&self, stop: Arc<tokio::sync::Notify>, stopping: Arc<AtomicBool>) {
        let mut delay = Duration::from_millis(100);
        while !stopping.load(Ordering::Acquire) {
            match self.consume(&stop, &stopping).await {
                Ok(()) => return,
                Err(err) => {
                    self.ready.store(false, Ordering::Release);
                    tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "consumer loop failed; restarting");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = stop.notified() => return,
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn consume(
        &self,
        stop: &tokio::sync::Notify,
        stopping: &AtomicBool,
    ) -> anyhow::Result<()> {
        for stream in &self.streams {
            switchboard_bus::ensure_stream(&self.js, stream.clone()).await?;
        }
        let inbound = self.js.get_stream(switchboard_bus::INBOUND_STREAM).await?;
        // Create it, or bring an existing one in line with the config (max_deliver,
        // ack_wait and max_ack_pending are editable on a live consumer).
        let consumer: consumer::PullConsumer = match inbound
            .get_consumer::<consumer::pull::Config>(&self.consumer_name)
            .await
        {
            // Re-creating a durable with a changed config updates its editable fields.
            Ok(existing) => match inbound.create_consumer(self.consumer_config.clone()).await {
                Ok(updated) => updated,
                Err(e) => {
                    tracing::warn!(error = %e, "could not update the INBOUND consumer to the configured settings; using it as is");
                    existing
                }
            },
            Err(_) => {
                inbound
                    .create_consumer(self.consumer_config.clone())
                    .await?
            }
        };
        // JetStream announces messages that exhausted max_deliver; record them as dead
        // letters (every replica hears it; the dead letter's id deduplicates).
        let advisories = self
            .client
            .subscribe(format!(
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{}",
                switchboard_bus::INBOUND_STREAM,
                self.consumer_name
            ))
            .await
            .context("subscribe to max-deliveries advisories")?;
        self.ready.store(true, Ordering::Release);
        tracing::info!(consumer = %self.consumer_name, "consuming INBOUND");
        tokio::select! {
            result = self.fetch_loop(&consumer, stop, stopping) => result,
            () = self.record_max_deliveries(advisories) => Err(anyhow::anyhow!("advisory subscription ended")),
        }
    }

    async fn record_max_deliveries(&self, mut advisories: async_nats::Subscriber) {
        #[derive(serde::Deserialize)]
        struct Advisory {
            stream: String,
            consumer: String,
            stream_seq: u64,
            deliveries: u64,
        }
        while let Some(message) = advisories.next().await {
            let Ok(a) = serde_json::from_slice::<Advisory>(&message.payload) else {
                continue;
            };
            let original = match self.js.get_stream(&a.stream).await {
                Ok(stream) => stream.get_raw_message(a.stream_seq).await.ok(),
                Err(_) => None,
            };
            let letter = DeadLetter {
                reason: "max_deliveries".into(),
                error: format!(
                    "delivered {} times without being processed (see the router's logs for why)",
                    a.deliveries
                ),
                subject: original
                    .as_ref()
                    .map(|m| m.subject.to_string())
                    .unwrap_or_default(),
                original_msg_id: original
                    .as_ref()
                    .and_then(|m| {
                        m.headers
                            .get(h::ORIGINAL_MSG_ID)
                            .or_else(|| m.headers.get(h::MSG_ID))
                    })
                    .map(|v| v.to_string()),
                stream: a.stream,
                stream_seq: a.stream_seq,
                consumer: a.consumer,
                deliveries: a.deliveries,
                failed_at: switchboard_bus::rfc3339_millis(now_ms()),
            };
            // The advisory is heard once: retry the record a few times before giving up.
            for attempt in 0..5u32 {
                match publish_dead_letter(&self.js, &letter).await {
                    Ok(()) => {
                        tracing::warn!(
                            stream_seq = letter.stream_seq,
                            deliveries = letter.deliveries,
                            "max deliveries: dead-lettered"
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, attempt, stream_seq = letter.stream_seq, "could not record a max-deliveries dead letter");
                        tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    }
                }
            }
        }
    }

    async fn fetch_loop(
        &self,
        consumer: &jetstream::consumer::PullConsumer,
        stop: &tokio::sync::Notify,
        stopping: &AtomicBool,
    ) -> anyhow::Result<()> {
        loop {
            if stopping.load(Ordering::Acquire) {
                return Ok(());
            }
            let fetch = consumer
                .fetch()
                .max_messages(self.batch)
                .expires(Duration::from_secs(2))
                .messages();
            let mut batch = tokio::select! {
                b = fetch => b.context("fetch from INBOUND")?,
                () = stop.notified() => return Ok(()),
            };
            let mut messages = Vec::with_capacity(self.batch);
            while let Some(m) = batch.next().await {
                match m {
                    Ok(m) => messages.push(m),
                    Err(e) => tracing::debug!(error = %e, "fetch ended early"),
                }
            }
            if !messages.is_empty() {
                self.process_batch(messages).await;
            }
        }
    }

    /// Publishes every message's events, waits for the acks, then settles each message.
    async fn process_batch(&self, messages: Vec<jetstream::Message>) {
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let acks = match self.plan(&message) {
                Plan::Publish(events) => {
                    let mut acks = Vec::with_capacity(events.len());
                    let mut failed = false;
                    for (subject, id, kind, payload) in events {
                        let publish = jetstream::message::PublishMessage::build()
                            .payload(payload.into())
                            .message_id(id)
                            .expected_stream(switchboard_bus::EVENTS_STREAM);
                        match self.js.send_publish(subject, publish).await {
                            Ok(ack) => acks.push((kind, ack)),
                            Err(e) => {
                                tracing::warn!(error = %e, "publish failed");
                                failed = true;
                                break;
                            }
                        }
                    }
                    if failed { Err(()) } else { Ok(acks) }
                }
                Plan::DeadLetter(letter) => {
                    self.dead_letter(&message, &letter).await;
                    continue;
                }
            };
            pending.push((message, acks));
        }
        for (message, acks) in pending {
            let mut ok = acks.is_ok();
            if let Ok(acks) = acks {
                for (kind, ack) in acks {
                    match ack.await {
                        Ok(a) if a.duplicate => self.metrics.duplicate_events.inc(),
                        Ok(_) => self.metrics.event(kind),
                        Err(e) => {
                            tracing::warn!(error = %e, "event publish not acknowledged");
                            ok = false;
                        }
                    }
                }
            }
            if ok {
                self.metrics.processed.inc();
                let _ = message.ack().await;
                continue;
            }
            let info = message
                .info()
                .ok()
                .map(|i| (i.stream_sequence, i.delivered));
            match info {
                // The last delivery JetStream will make: record it ourselves rather than
                // rely on the (at-most-once) max-deliveries advisory.
                Some((stream_seq, delivered)) if delivered >= self.consumer_config.max_deliver => {
                    let letter = self.letter(&message, stream_seq, delivered as u64, "max_deliveries",
                        format!("events were not acknowledged after {delivered} deliveries (see the router's logs)"));
                    self.dead_letter(&message, &letter).await;
                }
                _ => {
                    self.metrics.retried.inc();
                    let _ = message
                        .ack_with(AckKind::Nak(Some(self.backoff(&message))))
                        .await;
                }
            }
        }
    }

    /// Records `letter` and terminates the message; if the DLQ cannot take it, NAKs so the
    /// message comes back (nothing is dropped unrecorded).
    async fn dead_letter(&self, message: &jetstream::Message, letter: &DeadLetter) {
        match publish_dead_letter(&self.js, letter).await {
            Ok(()) => {
                self.metrics.dead_lettered.inc();
                tracing::warn!(stream_seq = letter.stream_seq, reason = %letter.reason, error = %letter.error, "dead-lettered");
                let _ = message.ack_with(AckKind::Term).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not record dead letter; will retry");
                let _ = message
                    .ack_with(AckKind::Nak(Some(self.backoff(message))))
                    .await;
            }
        }
    }

    fn letter(
        &self,
        message: &jetstream::Message,
        stream_seq: u64,
        deliveries: u64,
        reason: &str,
        error: String,
    ) -> DeadLetter {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|hs| hs.get(name))
                .map(|v| v.as_str().to_owned())
        };
        DeadLetter {
            reason: reason.into(),
            error,
            stream: switchboard_bus::INBOUND_STREAM.into(),
            stream_seq,
            subject: message.subject.to_string(),
            consumer: self.consumer_name.clone(),
            deliveries,
            failed_at: switchboard_bus::rfc3339_millis(now_ms()),
            original_msg_id: header(h::ORIGINAL_MSG_ID).or_else(|| header(h::MSG_ID)),
        }
    }

    /// Redelivery delay after a transient failure: `nak_delay` doubling with each delivery,
    /// capped at 60 s, so a struggling EVENTS stream is not hammered.
    fn backoff(&self, message: &jetstream::Message) -> Duration {
        let deliveries = message
            .info()
            .map(|i| i.delivered)
            .unwrap_or(1)
            .clamp(1, 16) as u32;
        self.nak_delay
            .saturating_mul(1 << (deliveries - 1))
            .min(Duration::from_secs(60))
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
        let info = message.info().ok();
        let (stream_seq, deliveries) = info
            .as_ref()
            .map(|i| (i.stream_sequence, i.delivered as u64))
            .unwrap_or((0, 1));
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
            .filter(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .is_ok()
            })
            .or_else(|| {
                let published = info.as_ref()?.published;
                published
                    .to_offset(time::UtcOffset::UTC)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned());
        let content_type = header(h::CONTENT_TYPE);
        let format = self
            .sources
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
                        (subject, e.id, kind, payload)
                    })
                    .collect(),
            ),
            Err(err) => Plan::DeadLetter(self.letter(
                message,
                stream_seq,
                deliveries,
                "malformed",
                err.to_string(),
            )),
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

enum Plan {
    /// (subject, event id, type, CloudEvent JSON) for each event.
    Publish(Vec<(String, String, &'static str, Vec<u8>)>),
    DeadLetter(DeadLetter),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
