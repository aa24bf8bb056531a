//! Window holds: a booking first holds its window (business unit and start) in the
//! `BOOKING_HOLDS` bucket with compare-and-set, so concurrent bookings of one window, on any
//! replica, take turns; then it re-checks ServiceTitan's capacity and creates the job, and
//! releases the hold once ServiceTitan has answered. A hold expires by itself after
//! `booking.hold_ttl_secs`, so a crashed replica cannot block a window.
//!
//! Availability subtracts the hours of holds in flight ([`Holds::held`]), read from a local
//! view that a bucket watch keeps current; a booking's correctness never rests on that
//! view, only on the compare-and-set and the re-check.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_bus::async_nats::jetstream;
use switchboard_bus::bucket::{Bucket, KvError};

pub const HOLDS_BUCKET: &str = "BOOKING_HOLDS";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Hold {
    request_id: String,
    hours: f64,
    /// Unix milliseconds after which the hold is void.
    until_ms: i64,
}

/// A hold this replica has: release it with [`Holds::release`].
#[derive(Debug)]
pub(crate) struct Held {
    key: String,
    revision: u64,
}

pub(crate) struct Holds {
    bucket: Bucket,
    ttl: Duration,
    view: Mutex<HashMap<String, Hold>>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Holds {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        ttl: Duration,
    ) -> Result<Holds, KvError> {
        // The bucket forgets a hold a minute after it ended, whatever happened to its owner.
        let bucket = Bucket::open(
            js,
            HOLDS_BUCKET,
            "Switchboard booking: windows held while a booking is checked and created",
            replicas,
            Some(ttl + Duration::from_secs(60)),
        )
        .await?;
        Ok(Holds {
            bucket,
            ttl,
            view: Mutex::new(HashMap::new()),
        })
    }

    /// The key of `tenant`'s window starting at `start` in `business_unit`.
    pub fn key(tenant: &str, business_unit: i64, start: jiff::Timestamp) -> String {
        format!("{tenant}.{business_unit}.{}", start.as_second())
    }

    /// Hours held in the window `key` by bookings in flight (other than `except`).
    pub fn held(&self, key: &str, except: Option<&str>) -> f64 {
        let view = self.view.lock().unwrap_or_else(|e| e.into_inner());
        view.get(key)
            .filter(|h| h.until_ms > now_ms() && Some(h.request_id.as_str()) != except)
            .map_or(0.0, |h| h.hours)
    }

    /// Holds the window `key` for `request_id`'s `hours`, waiting up to `wait` while
    /// another booking holds it. `None`: still held by another when `wait` ran out.
    pub async fn take(
        &self,
        key: &str,
        request_id: &str,
        hours: f64,
        wait: Duration,
    ) -> Result<Option<Held>, KvError> {
        let deadline = Instant::now() + wait;
        loop {
            let (stored, revision) = self.bucket.get(key).await?;
            let current = stored.and_then(|b| serde_json::from_slice::<Hold>(&b).ok());
            let busy = current
                .as_ref()
                .is_some_and(|h| h.until_ms > now_ms() && h.request_id != request_id);
            if !busy {
                let hold = Hold {
                    request_id: request_id.to_owned(),
                    hours,
                    until_ms: now_ms() + self.ttl.as_millis() as i64,
                };
                let value = serde_json::to_vec(&hold).unwrap_or_default();
                if let Some(revision) = self.bucket.update(key, value, revision).await? {
                    return Ok(Some(Held {
                        key: key.to_owned(),
                        revision,
                    }));
                }
                continue;
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Gives the window back (unless the hold expired and someone else took it since).
    pub async fn release(&self, held: Held) {
        if let Err(e) = self.bucket.delete_if(&held.key, held.revision).await {
            tracing::warn!(key = %held.key, error = %e, "booking could not release a hold; it expires by itself");
        }
    }

    /// Keeps the local view of every hold current (for availability), watching again
    /// after a second whenever the watch breaks (NATS restarting, a leader moving).
    pub async fn follow(&self) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.watch_once().await {
                tracing::warn!(error = %e, "booking's view of holds broke; watching again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn watch_once(&self) -> Result<(), KvError> {
        let mut watch = self.bucket.watch("").await?;
        loop {
            let seen = watch.next().await?;
            let Some(entry) = seen.entry else { continue };
            let mut view = self.view.lock().unwrap_or_else(|e| e.into_inner());
            match entry
                .value
                .and_then(|b| serde_json::from_slice::<Hold>(&b).ok())
            {
                Some(hold) => view.insert(entry.key, hold),
                None => view.remove(&entry.key),
            };
        }
    }
}
