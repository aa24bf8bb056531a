//! Keeps the INBOUND stream in place for as long as ingest runs.
//!
//! Creating the stream once at start-up is not enough: NATS may come back from a crash
//! with an empty store, or an operator may delete the stream. Without it every publish
//! fails and every provider gets 503 until someone restarts ingest — and providers do not
//! retry forever. So the keeper re-creates the stream whenever a publish reports that no
//! stream took the message, when `/readyz` finds it missing, and on a periodic check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchboard_bus::async_nats::jetstream;
use tokio::sync::Notify;

const PERIODIC_CHECK: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct StreamKeeper {
    js: jetstream::Context,
    wanted: jetstream::stream::Config,
    ready: AtomicBool,
    wake: Notify,
    max_body_bytes: usize,
}

impl StreamKeeper {
    pub(crate) fn new(
        js: jetstream::Context,
        wanted: jetstream::stream::Config,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            js,
            wanted,
            ready: AtomicBool::new(false),
            wake: Notify::new(),
            max_body_bytes,
        }
    }

    /// True once the stream has been created or confirmed (and not found missing since).
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Asks the keeper to make sure the stream exists (after a publish found none).
    pub(crate) fn stream_missing(&self) {
        self.ready.store(false, Ordering::Release);
        self.wake.notify_one();
    }

    /// Runs forever: ensure, then wait for a reason to ensure again.
    pub(crate) async fn run(&self) {
        let mut delay = Duration::from_millis(100);
        let mut first = true;
        loop {
            match switchboard_bus::ensure_stream(&self.js, self.wanted.clone()).await {
                Ok(_) => {
                    self.ready.store(true, Ordering::Release);
                    delay = Duration::from_millis(100);
                    tracing::info!(stream = %self.wanted.name, "stream ready");
                    if first {
                        self.warn_if_bodies_exceed_max_payload();
                        first = false;
                    }
                    self.wait_until_needed().await;
                }
                Err(err) => {
                    self.ready.store(false, Ordering::Release);
                    tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "stream set-up failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn wait_until_needed(&self) {
        loop {
            tokio::select! {
                () = self.wake.notified() => return,
                () = tokio::time::sleep(PERIODIC_CHECK) => {
                    let found = self.js.get_stream_no_info(&self.wanted.name).await;
                    if let Err(err) = found {
                        use switchboard_bus::async_nats::jetstream::context::GetStreamErrorKind;
                        if matches!(err.kind(), GetStreamErrorKind::JetStream(_)) {
                            tracing::warn!(stream = %self.wanted.name, error = %err, "stream missing; re-creating");
                            return;
                        }
                    }
                }
            }
        }
    }

    fn warn_if_bodies_exceed_max_payload(&self) {
        let max_payload = self.js.client().server_info().max_payload;
        if max_payload > 0 && self.max_body_bytes + 4096 > max_payload {
            tracing::warn!(
                max_body_bytes = self.max_body_bytes,
                max_payload,
                "ingest.max_body_bytes is close to or above the NATS server's max_payload: large bodies will get 413"
            );
        }
    }
}
