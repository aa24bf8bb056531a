//! The one JetStream consumer runtime: the router, the calls worker and analytics each
//! write a [`Handler`] that looks at one message and returns a [`Settle`] decision; this
//! module does everything else, the same way for all of them.
//!
//! Why one runtime: the three consumers used to differ exactly where it hurts. One dropped
//! stream errors on the floor, two exited when their message stream ended, and one let a
//! message run out of deliveries with no dead letter, so a ServiceTitan outage longer than
//! `max_deliver × retry delay` silently lost work. Here the rules are written once:
//!
//! - **Set-up.** The durable is created, or updated to the configured settings when it
//!   exists (`max_deliver`, `ack_wait`, `max_ack_pending` are editable on a live consumer).
//! - **Bounded concurrency.** At most `concurrency` handlers run at once; JetStream's
//!   `max_ack_pending` bounds what is pulled but not yet settled.
//! - **Stream errors are logged**, and a stream that ends, or keeps failing, is rebuilt
//!   with capped backoff. The process never exits because NATS went away.
//! - **Exhausted deliveries are dead-lettered, never dropped.** A `Retry` on the last
//!   delivery JetStream will make becomes a dead letter with reason `max_deliveries` and
//!   the handler's last error. A message whose last delivery was never settled (the process
//!   was killed holding it) is caught by JetStream's max-deliveries advisory and recorded
//!   too. Letters are deduplicated per original message, so both paths may fire safely.
//! - **A dead letter that cannot be recorded yet** (the DLQ between leaders) is tried again
//!   for a minute while the message is held; then it is NAKed (before the last delivery it
//!   comes back) and the advisory path tries once more. Only a DLQ down for longer than
//!   that leaves a message unrecorded, logged at ERROR with its stream sequence (the
//!   original stays in its stream).
//! - **Work in progress is announced** (`+WPI` every third of `ack_wait`), so a slow
//!   handler keeps its message instead of racing a redelivery.
//! - **Graceful shutdown.** On cancel, no new message is taken; handlers in flight finish
//!   and settle.
//! - **Lag.** `num_pending + num_ack_pending` goes to the service's pending gauge.

use crate::dlq::{DeadLetter, publish_dead_letter};
use crate::retry::Retryable as _;
use async_nats::jetstream::{self, AckKind, consumer};
use futures_util::StreamExt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchboard_telemetry::Gauge;
use tokio_util::sync::CancellationToken;

/// What to do with a message, decided by a [`Handler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Done (or nothing to do): acknowledge it.
    Ack,
    /// A transient failure: deliver it again after `after`. `error` says why; it becomes the
    /// dead letter's `error` if this was the last delivery.
    Retry { after: Duration, error: String },
    /// A permanent failure: record it in the DLQ and stop delivering it. `reason` is a bare
    /// documented code (`malformed`, `missing_permission`, …) operators filter on; the
    /// detail goes in `error`.
    DeadLetter { reason: String, error: String },
}

impl Settle {
    pub fn retry(after: Duration, error: impl Into<String>) -> Self {
        Self::Retry {
            after,
            error: error.into(),
        }
    }

    pub fn dead_letter(reason: &str, error: impl Into<String>) -> Self {
        Self::DeadLetter {
            reason: reason.into(),
            error: error.into(),
        }
    }
}

/// What the runtime did, reported back to the handler for its results counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Acked,
    /// NAKed for redelivery (a retry, or a dead letter the DLQ could not take yet).
    Retried,
    DeadLettered,
}

/// One consumer's logic. `handle` must be idempotent: a message can be delivered again
/// after a crash or a lost ack.
pub trait Handler: Send + Sync {
    fn handle(&self, message: &jetstream::Message) -> impl Future<Output = Settle> + Send;

    /// Called once per message after it was settled (for metrics).
    fn settled(&self, _message: &jetstream::Message, _settled: Settled) {}
}

/// Which durable on which stream, and how hard to pull.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub stream: String,
    /// Streams created or updated before the durable, on every (re)build: the consumed
    /// stream and the ones the handler writes to (EVENTS, DLQ, …).
    pub ensure_streams: Vec<jetstream::stream::Config>,
    /// Must carry `durable_name`; `ack_policy` is forced to explicit.
    pub config: consumer::pull::Config,
    /// Handlers running at once.
    pub concurrency: usize,
    /// Messages per pull request.
    pub batch: usize,
    /// How long a pull request waits for messages (heartbeats detect a dead server).
    pub expires: Duration,
    /// The consumer name dead letters carry (their subject is `dlq.{stream}.{this}`); `None`:
    /// the durable's name. The calls worker's four durables share `calls`.
    pub dead_letter_as: Option<String>,
}

impl ConsumerSpec {
    /// A durable on EVENTS (created, with the DLQ, if missing) taking the events under
    /// `filter_subject`, with the settings the services' consumers share: `batch` per pull
    /// and as many handlers at once, up to four batches unacknowledged, 30 s long pulls
    /// (a new event is delivered at once instead of waiting for a pull to be re-issued;
    /// heartbeats still detect a dead server).
    pub fn on_events(
        nats: &switchboard_config::NatsConfig,
        durable: String,
        filter_subject: String,
        ack_wait: Duration,
        max_deliver: i64,
        batch: usize,
    ) -> Self {
        Self {
            stream: crate::EVENTS_STREAM.into(),
            ensure_streams: vec![
                crate::events_stream_config(nats),
                crate::dlq::dlq_stream_config(nats),
            ],
            config: consumer::pull::Config {
                durable_name: Some(durable),
                filter_subject,
                ack_wait,
                max_deliver,
                max_ack_pending: (batch * 4) as i64,
                ..Default::default()
            },
            concurrency: batch,
            batch,
            expires: Duration::from_secs(30),
            dead_letter_as: None,
        }
    }

    pub fn name(&self) -> &str {
        self.config.durable_name.as_deref().unwrap_or("-")
    }

    fn dead_letter_name(&self) -> &str {
        self.dead_letter_as.as_deref().unwrap_or(self.name())
    }
}

/// Runs one [`ConsumerSpec`] with one [`Handler`] until cancelled.
#[derive(Clone)]
pub struct ConsumerRuntime {
    js: jetstream::Context,
    client: async_nats::Client,
    spec: Arc<ConsumerSpec>,
    ready: Arc<AtomicBool>,
    pending: Option<Gauge>,
}

impl std::fmt::Debug for ConsumerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerRuntime")
            .field("stream", &self.spec.stream)
            .field("consumer", &self.spec.name())
            .finish_non_exhaustive()
    }
}

/// Longest pause between two attempts to rebuild a broken consumer.
const MAX_REBUILD_BACKOFF: Duration = Duration::from_secs(5);
/// How long a dead letter is tried before giving up (the DLQ between leaders, or down).
const DLQ_PATIENCE: Duration = Duration::from_secs(60);

/// Pauses between attempts to record a dead letter: 200 ms doubling to 5 s, for
/// [`DLQ_PATIENCE`] in all.
fn dlq_patience() -> crate::retry::Deadline {
    crate::retry::patience(
        DLQ_PATIENCE,
        Duration::from_millis(200),
        Duration::from_secs(5),
    )
}
/// Longest idle heartbeat asked of the server on a pull request.
const MAX_HEARTBEAT: Duration = Duration::from_secs(5);
/// Pull-stream errors in a row (with no message between) after which the stream is rebuilt.
const ERRORS_BEFORE_REBUILD: u32 = 3;

impl ConsumerRuntime {
    pub fn new(js: jetstream::Context, client: async_nats::Client, spec: ConsumerSpec) -> Self {
        let mut spec = spec;
        spec.config.ack_policy = consumer::AckPolicy::Explicit;
        Self {
            js,
            client,
            spec: Arc::new(spec),
            ready: Arc::new(AtomicBool::new(false)),
            pending: None,
        }
    }

    /// Keep `gauge` at the consumer's lag (`num_pending + num_ack_pending`).
    pub fn with_pending_gauge(mut self, gauge: Gauge) -> Self {
        self.pending = Some(gauge);
        self
    }

    /// True while the durable exists and messages are being pulled.
    pub fn ready(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// Consumes until `stop` is cancelled, rebuilding the consumer whenever it breaks.
    /// Returns after the handlers in flight have settled their messages.
    pub async fn run<H: Handler>(&self, handler: &H, stop: &CancellationToken) {
        // The advisories are followed for the whole run, not per session: one that arrives
        // while the consumer is being rebuilt must not be missed, and a letter being
        // recorded must not be dropped because the pull stream broke.
        // Boxed: a session (stream set-up, consumer, pull stream) is a large future.
        tokio::select! {
            () = Box::pin(self.sessions(handler, stop)) => {}
            () = self.follow_advisories(stop) => {}
        }
    }

    async fn sessions<H: Handler>(&self, handler: &H, stop: &CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let error = self.session(handler, stop, &mut backoff).await;
            self.ready.store(false, Ordering::Release);
            let Err(error) = error else { return };
            tracing::warn!(
                stream = %self.spec.stream,
                consumer = %self.spec.name(),
                error = %error,
                retry_in_ms = backoff.as_millis() as u64,
                "consumer broke; rebuilding it"
            );
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_REBUILD_BACKOFF);
        }
    }

    /// Sets the durable up and consumes until the stream breaks (`Err`) or `stop` (`Ok`).
    async fn session<H: Handler>(
        &self,
        handler: &H,
        stop: &CancellationToken,
        backoff: &mut Duration,
    ) -> Result<(), String> {
        let consumer = self.ensure_consumer().await?;
        let messages = consumer
            .stream()
            // No more than the handlers can take: a message waiting in the client's buffer
            // gets no +WPI and would age toward ack_wait without a real attempt.
            .max_messages_per_batch(self.spec.batch.min(self.spec.concurrency).max(1))
            .expires(self.spec.expires)
            // Idle heartbeats detect a pull request lost with a dead server (a cluster
            // node, a consumer leader moving) in seconds rather than at `expires`.
            .heartbeat((self.spec.expires / 2).min(MAX_HEARTBEAT))
            .messages()
            .await
            .map_err(|e| format!("cannot start pulling: {e}"))?;
        self.ready.store(true, Ordering::Release);
        *backoff = Duration::from_millis(100);
        tracing::info!(stream = %self.spec.stream, consumer = %self.spec.name(), "consuming");

        // Errors in a row; a message in between resets it. Shared by the concurrent
        // closures below, hence atomic.
        let errors_in_row = std::sync::atomic::AtomicU32::new(0);
        let broken = CancellationToken::new();
        let work = messages
            .take_until(futures_util::future::select(
                Box::pin(stop.cancelled()),
                Box::pin(broken.cancelled()),
            ))
            .for_each_concurrent(self.spec.concurrency.max(1), |message| {
                let errors_in_row = &errors_in_row;
                let broken = &broken;
                async move {
                    match message {
                        Ok(message) => {
                            errors_in_row.store(0, Ordering::Relaxed);
                            self.process(handler, &message).await;
                        }
                        Err(e) => {
                            let fatal = matches!(
                                e.kind(),
                                consumer::pull::MessagesErrorKind::ConsumerDeleted
                                    | consumer::pull::MessagesErrorKind::PushBasedConsumer
                                    | consumer::pull::MessagesErrorKind::RequestLimitExceeded
                            );
                            let n = errors_in_row.fetch_add(1, Ordering::Relaxed) + 1;
                            tracing::warn!(stream = %self.spec.stream, consumer = %self.spec.name(), error = %e, in_a_row = n, "pull stream error");
                            if fatal || n >= ERRORS_BEFORE_REBUILD {
                                broken.cancel();
                            }
                        }
                    }
                }
            });
        tokio::select! {
            () = work => {
                if stop.is_cancelled() {
                    Ok(())
                } else if broken.is_cancelled() {
                    Err("the pull stream kept failing".into())
                } else {
                    Err("the message stream ended".into())
                }
            }
            () = self.watch_lag(consumer) => Err("unreachable".into()),
        }
    }

    /// Creates the durable, or updates an existing one to the configured settings. If the
    /// update is refused (a field that cannot change on a live consumer), the existing
    /// durable is used as it is, with a warning.
    async fn ensure_consumer(&self) -> Result<consumer::PullConsumer, String> {
        for wanted in &self.spec.ensure_streams {
            crate::ensure_stream(&self.js, wanted.clone())
                .await
                .map_err(|e| e.to_string())?;
        }
        let stream = self
            .js
            .get_stream(&self.spec.stream)
            .await
            .map_err(|e| format!("stream {}: {e}", self.spec.stream))?;
        match stream.create_consumer(self.spec.config.clone()).await {
            Ok(c) => Ok(c),
            Err(create) => match stream
                .get_consumer::<consumer::pull::Config>(self.spec.name())
                .await
            {
                Ok(existing) => {
                    tracing::warn!(stream = %self.spec.stream, consumer = %self.spec.name(), error = %create, "could not update the consumer to the configured settings; using it as it is");
                    Ok(existing)
                }
                Err(_) => Err(format!(
                    "cannot create consumer {} on {}: {create}",
                    self.spec.name(),
                    self.spec.stream
                )),
            },
        }
    }

    /// Runs the handler and acts on its decision. While the handler works, JetStream is
    /// told so (`+WPI`) every third of `ack_wait`, so a slow ServiceTitan (whose client
    /// retries inside its own timeouts) does not get the message redelivered to another
    /// replica mid-work, and a delivery is only spent on a real attempt.
    async fn process<H: Handler>(&self, handler: &H, message: &jetstream::Message) {
        // The message's trace goes on in a hop named after the consumer.
        let parent = crate::trace_parent(message.headers.as_ref());
        switchboard_telemetry::trace::hop(self.spec.name(), parent)
            .run(self.process_traced(handler, message))
            .await;
    }

    async fn process_traced<H: Handler>(&self, handler: &H, message: &jetstream::Message) {
        let work = handler.handle(message);
        tokio::pin!(work);
        let every = (self.spec.config.ack_wait / 3).max(Duration::from_millis(100));
        let decision = loop {
            tokio::select! {
                decision = &mut work => break decision,
                () = tokio::time::sleep(every) => {
                    let _ = message.ack_with(AckKind::Progress).await;
                }
            }
        };
        let settled = self.settle(message, decision).await;
        handler.settled(message, settled);
    }

    async fn settle(&self, message: &jetstream::Message, decision: Settle) -> Settled {
        match decision {
            Settle::Ack => {
                if let Err(e) = message.ack().await {
                    // Not acknowledged: it comes back after ack_wait and the handler
                    // (idempotent) finds it done.
                    tracing::debug!(consumer = %self.spec.name(), error = %e, "ack not sent");
                }
                Settled::Acked
            }
            Settle::Retry { after, error } => {
                let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
                let max = self.spec.config.max_deliver;
                if max > 0 && delivered >= max {
                    let error = format!(
                        "gave up after {delivered} deliveries (max_deliver); last error: {error}"
                    );
                    return self.dead_letter(message, "max_deliveries", error).await;
                }
                tracing::debug!(consumer = %self.spec.name(), delivered, error = %error, "retrying later");
                let _ = message.ack_with(AckKind::Nak(Some(after))).await;
                Settled::Retried
            }
            Settle::DeadLetter { reason, error } => self.dead_letter(message, &reason, error).await,
        }
    }

    /// Records the letter and terminates the message; if the DLQ does not take it, NAKs so
    /// the message comes back (never dropped unrecorded).
    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        reason: &str,
        error: String,
    ) -> Settled {
        let letter = DeadLetter::for_message(
            message,
            &self.spec.stream,
            self.spec.dead_letter_name(),
            reason.into(),
            error,
        );
        // The DLQ may be between leaders: keep trying for a while, holding the message
        // (+WPI), because after the last delivery a NAK would not bring it back.
        let (js, held) = (&self.js, &letter);
        let recorded = (move || async move {
            let result = publish_dead_letter(js, held).await;
            if result.is_err() {
                let _ = message.ack_with(AckKind::Progress).await;
            }
            result
        })
        .retry(dlq_patience())
        .notify(|e, _| {
            tracing::warn!(consumer = %letter.consumer, stream_seq = letter.stream_seq, error = %e, "could not record a dead letter yet; trying again");
        })
        .await;
        match recorded {
            Ok(()) => {
                tracing::warn!(consumer = %letter.consumer, stream_seq = letter.stream_seq, reason = %letter.reason, error = %letter.error, "dead-lettered");
                let _ = message.ack_with(AckKind::Term).await;
                Settled::DeadLettered
            }
            Err(e) => {
                // Before the last delivery the message comes back; after it, JetStream's
                // max-deliveries advisory is the last chance (followed below).
                tracing::error!(consumer = %letter.consumer, stream_seq = letter.stream_seq, error = %e, "could not record a dead letter; NAKed");
                let _ = message
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
                Settled::Retried
            }
        }
    }

    /// Subscribes to JetStream's max-deliveries advisories for this consumer (again if the
    /// subscription ends) and records each as a dead letter. Never returns before `stop`.
    async fn follow_advisories(&self, stop: &CancellationToken) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{}",
            self.spec.stream,
            self.spec.name()
        );
        while !stop.is_cancelled() {
            match self.client.subscribe(subject.clone()).await {
                Ok(advisories) => self.record_unsettled(advisories).await,
                Err(e) => {
                    tracing::warn!(consumer = %self.spec.name(), error = %e, "cannot subscribe to max-deliveries advisories; trying again");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = stop.cancelled() => return,
            }
        }
    }

    /// JetStream's advisory for a message whose deliveries ran out without being settled
    /// (the last holder crashed or timed out, or its dead letter could not be recorded):
    /// record it as a dead letter.
    async fn record_unsettled(&self, mut advisories: async_nats::Subscriber) {
        #[derive(serde::Deserialize)]
        struct Advisory {
            stream: String,
            stream_seq: u64,
            deliveries: u64,
        }
        while let Some(message) = advisories.next().await {
            let Ok(a) = serde_json::from_slice::<Advisory>(&message.payload) else {
                tracing::warn!(consumer = %self.spec.name(), "unreadable max-deliveries advisory");
                continue;
            };
            let original = match self.js.get_stream(&a.stream).await {
                Ok(stream) => stream.get_raw_message(a.stream_seq).await.ok(),
                Err(_) => None,
            };
            let letter = DeadLetter {
                reason: "max_deliveries".into(),
                error: format!(
                    "delivered {} times and never settled (the consumer was stopped or timed out holding it; see its logs)",
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
                            .get(crate::headers::ORIGINAL_MSG_ID)
                            .or_else(|| m.headers.get(crate::headers::MSG_ID))
                    })
                    .map(|v| v.to_string()),
                stream: a.stream,
                stream_seq: a.stream_seq,
                consumer: self.spec.dead_letter_name().to_owned(),
                deliveries: a.deliveries,
                failed_at: crate::rfc3339_millis(crate::dlq::now_ms()),
            };
            // The advisory is heard once: keep trying for a while before giving up.
            let (js, held) = (&self.js, &letter);
            let recorded = (move || publish_dead_letter(js, held))
                .retry(dlq_patience())
                .notify(|e, _| {
                    tracing::warn!(consumer = %letter.consumer, error = %e, stream_seq = letter.stream_seq, "could not record a max-deliveries dead letter yet; trying again");
                })
                .await;
            match recorded {
                Ok(()) => {
                    tracing::warn!(consumer = %letter.consumer, stream_seq = letter.stream_seq, "max deliveries: dead-lettered");
                }
                Err(e) => {
                    // The original is still in its stream at `stream_seq`.
                    tracing::error!(consumer = %letter.consumer, error = %e, stream = %letter.stream, stream_seq = letter.stream_seq, "could not record a max-deliveries dead letter; the message is still in its stream");
                }
            }
        }
    }

    /// Keeps the pending gauge current (every 5 s). Never returns.
    async fn watch_lag(&self, mut consumer: consumer::PullConsumer) {
        loop {
            if let Some(gauge) = &self.pending
                && let Ok(info) = consumer.info().await
            {
                gauge.set((info.num_pending + info.num_ack_pending as u64) as i64);
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }
}
