//! Records ingest's refusals (400/401/413/415 for a configured source) on the REJECTED
//! stream, so "why did this provider's webhooks start failing?" has an answer in
//! `switchboard rejected list` (the record's shape and redaction: `switchboard_bus::rejected`).
//!
//! The request path only pays for what it must:
//! - a per-source cap (`ingest.rejected.per_source_per_sec`), one atomic compare-and-swap,
//!   checked before anything is hashed or serialised, so a flood of bad requests is counted
//!   and not written;
//! - a bounded queue to one writer task: the provider's answer never waits for the record,
//!   and a full queue drops the record (counted), never the answer.
//!
//! Records are best effort by design: a refused delivery was not accepted, so nothing is
//! lost when a record is; the counters say how many were not written and why.

use crate::routes::SourceRoute;
use axum::http::{HeaderMap, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchboard_bus::async_nats::jetstream;
use switchboard_bus::rejected::{BodyRecord, RejectedDelivery, redact_headers};
use switchboard_telemetry::Counter;
use tokio::sync::mpsc;

/// How long the writer waits for REJECTED's ack before counting the record as failed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A refusal: the answer's status, code and message, and for a 401 the verifier's reason.
#[derive(Debug)]
pub(crate) struct Refused {
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl Refused {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            status,
            code,
            reason: code,
            message: message.into(),
        }
    }

    /// Whether REJECTED keeps a record of it (a 503 is transient, not a rejection).
    fn is_recorded(&self) -> bool {
        matches!(self.status.as_u16(), 400 | 401 | 413 | 415)
    }
}

/// What was seen of the body when the delivery was refused.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SeenBody<'a> {
    Read(&'a [u8]),
    /// Refused before reading (a declared `Content-Length` over the limit, or a body that
    /// grew past it): how big it said or grew to be.
    Unread(u64),
}

/// The request a refusal answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: SeenBody<'a>,
}

/// One source's share of the recorder: its rate window, how much body it keeps, and its
/// counters.
#[derive(Debug)]
pub(crate) struct SourceRecorder {
    /// `(unix second << 32) | records written in that second`.
    window: AtomicU64,
    per_sec: u32,
    body_bytes: usize,
    recorded: Counter,
    rate_capped: Counter,
    queue_full: Counter,
    failed: Counter,
}

impl SourceRecorder {
    pub(crate) fn new(
        per_sec: u32,
        body_bytes: usize,
        counters: &switchboard_telemetry::CounterVec,
        tenant: &str,
        source: &str,
    ) -> Self {
        let c = |outcome: &str| counters.with(&[tenant, source, outcome]);
        SourceRecorder {
            window: AtomicU64::new(0),
            per_sec,
            body_bytes,
            recorded: c("recorded"),
            rate_capped: c("rate_capped"),
            queue_full: c("queue_full"),
            failed: c("failed"),
        }
    }

    /// Takes one of this second's records, or says the cap is reached.
    fn admit(&self, now_secs: u64) -> bool {
        self.window
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                next_window(w, now_secs, self.per_sec)
            })
            .is_ok()
    }
}

/// The window after one more record at `now_secs`, or `None` when the cap is reached.
fn next_window(window: u64, now_secs: u64, per_sec: u32) -> Option<u64> {
    let (second, count) = (window >> 32, window & 0xffff_ffff);
    let now = now_secs & 0xffff_ffff;
    if second != now {
        Some((now << 32) | 1)
    } else if count < u64::from(per_sec) {
        Some(window + 1)
    } else {
        None
    }
}

/// A record on its way to the writer, with the counters it settles.
struct Pending {
    subject: String,
    payload: Vec<u8>,
    recorded: Counter,
    failed: Counter,
}

/// The request side: hands records to the writer task.
#[derive(Debug)]
pub(crate) struct Recorder {
    tx: Option<mpsc::Sender<Pending>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("subject", &self.subject)
            .finish()
    }
}

impl Recorder {
    /// A recorder writing through `js` to the stream `stream` (created or updated by the
    /// writer before its first record, and again after a failed write); `None` when
    /// `ingest.rejected.enabled` is false.
    pub(crate) fn start(config: &switchboard_config::Config, js: jetstream::Context) -> Self {
        let r = &config.ingest.rejected;
        if !r.enabled {
            return Recorder { tx: None };
        }
        let (tx, rx) = mpsc::channel(r.queue);
        let stream = switchboard_bus::rejected::rejected_stream_config(&config.nats, r);
        tokio::spawn(write(js, stream, rx));
        Recorder { tx: Some(tx) }
    }

    /// Records `refused`, the answer to `request` for `route`, if it is a 400/401/413/415,
    /// the source's cap allows and the queue has room.
    pub(crate) fn record(
        &self,
        route: &SourceRoute,
        now_ms: i64,
        request: Request<'_>,
        refused: &Refused,
    ) {
        let Some(tx) = &self.tx else { return };
        if !refused.is_recorded() {
            return;
        }
        let r = &route.rejected;
        if !r.admit(u64::try_from(now_ms / 1000).unwrap_or(0)) {
            r.rate_capped.inc();
            return;
        }
        let Ok(permit) = tx.try_reserve() else {
            r.queue_full.inc();
            return;
        };
        let body = match request.body {
            SeenBody::Read(bytes) => BodyRecord {
                size: bytes.len() as u64,
                sha256: Some(switchboard_signatures::sha256_hex(bytes)),
                prefix: (r.body_bytes > 0).then(|| {
                    String::from_utf8_lossy(&bytes[..bytes.len().min(r.body_bytes)]).into_owned()
                }),
            },
            SeenBody::Unread(size) => BodyRecord {
                size,
                sha256: None,
                prefix: None,
            },
        };
        let record = RejectedDelivery {
            at: switchboard_bus::rfc3339_millis(now_ms),
            tenant: route.tenant.clone(),
            source: route.source.clone(),
            scheme: route.verifier.scheme().to_owned(),
            status: refused.status.as_u16(),
            error: refused.code.to_owned(),
            reason: refused.reason.to_owned(),
            message: refused.message.clone(),
            path: request.path.to_owned(),
            query_keys: switchboard_bus::rejected::query_keys(request.query),
            headers: redact_headers(
                request
                    .headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_bytes())),
            ),
            body,
        };
        let Ok(payload) = serde_json::to_vec(&record) else {
            return;
        };
        permit.send(Pending {
            subject: switchboard_bus::rejected::rejected_subject(&route.tenant, &route.source),
            payload,
            recorded: r.recorded.clone(),
            failed: r.failed.clone(),
        });
    }
}

/// The writer: one record at a time, each waited for (bounded by [`WRITE_TIMEOUT`]); the
/// stream is (re-)ensured before the first record and after any failure.
async fn write(
    js: jetstream::Context,
    stream: jetstream::stream::Config,
    mut rx: mpsc::Receiver<Pending>,
) {
    let mut ready = false;
    while let Some(p) = rx.recv().await {
        if !ready {
            match switchboard_bus::ensure_stream(&js, stream.clone()).await {
                Ok(_) => ready = true,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot set up the REJECTED stream; this rejection is not recorded")
                }
            }
        }
        let outcome = tokio::time::timeout(WRITE_TIMEOUT, async {
            js.publish(p.subject.clone(), p.payload.into())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "no acknowledgement within {} s",
                WRITE_TIMEOUT.as_secs()
            ))
        });
        match outcome {
            Ok(_) => p.recorded.inc(),
            Err(e) => {
                ready = false;
                p.failed.inc();
                tracing::warn!(subject = %p.subject, error = %e, "a rejected delivery could not be recorded on REJECTED");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::next_window;

    #[test]
    fn the_cap_is_per_second() {
        let mut w = 0;
        for _ in 0..3 {
            w = next_window(w, 100, 3).expect("under the cap");
        }
        assert_eq!(next_window(w, 100, 3), None);
        let w = next_window(w, 101, 3).expect("a new second");
        assert_eq!(w & 0xffff_ffff, 1);
    }

    proptest::proptest! {
        /// However requests fall within one second, at most `per_sec` are admitted.
        #[test]
        fn never_more_than_the_cap_in_a_second(per_sec in 1u32..50, tries in 0usize..200, second in 0u64..u64::from(u32::MAX)) {
            let mut w = 0;
            let mut admitted = 0;
            for _ in 0..tries {
                if let Some(next) = next_window(w, second, per_sec) {
                    w = next;
                    admitted += 1;
                }
            }
            proptest::prop_assert_eq!(admitted, tries.min(per_sec as usize));
        }
    }
}
