//! Exactly-once effects on an at-least-once bus.
//!
//! Events are redelivered after crashes and replayed after fixes — sometimes days later,
//! far past any stream's dedup window — and ServiceTitan writes are not idempotent by
//! themselves. The ledger records, per event id, that work was *claimed* and then *done*,
//! with compare-and-set semantics: a claim is a publish to `ledger.{key}` that JetStream
//! accepts only if the subject's last sequence is what the claimer saw
//! (`Nats-Expected-Last-Subject-Sequence`). Two replicas racing for the same key: exactly
//! one wins. A claim whose holder died is taken over once it is older than `stale_after`.
//!
//! The same primitive serves as a per-call lock (key `lock.{tenant}.{call}`), so events for
//! one call are never applied concurrently.
//!
//! Built on a plain stream with one message kept per subject — what JetStream KV is
//! underneath — so it runs on every nats-server version the project supports.

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_bus::async_nats;

pub const LEDGER_STREAM: &str = "CALLS_LEDGER";

#[derive(Debug, thiserror::Error)]
#[error("ledger: {0}")]
pub struct LedgerError(String);

/// The outcome of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Ours: do the work, then [`Ledger::complete`] (or [`Ledger::release`]) with this token.
    Acquired(u64),
    /// Someone already did it: skip.
    Done,
    /// Someone is doing it now: try later.
    Busy,
}

#[derive(Clone)]
pub struct Ledger {
    js: jetstream::Context,
    stale_after: Duration,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("stale_after", &self.stale_after)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Subject-safe key: `[A-Za-z0-9_-]` and dots as separators.
fn subject(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("ledger.{safe}")
}

impl Ledger {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        stale_after: Duration,
    ) -> Result<Self, LedgerError> {
        let config = stream::Config {
            name: LEDGER_STREAM.into(),
            description: Some(
                "Switchboard calls worker: claimed/done per event, per-call locks".into(),
            ),
            subjects: vec!["ledger.>".into()],
            storage: stream::StorageType::File,
            num_replicas: replicas,
            max_messages_per_subject: 1,
            ..Default::default()
        };
        switchboard_bus::ensure_stream(js, config)
            .await
            .map_err(|e| LedgerError(e.to_string()))?;
        Ok(Self {
            js: js.clone(),
            stale_after,
        })
    }

    /// The current state of `key`: (last subject sequence, value) or `None`.
    pub async fn read(&self, key: &str) -> Result<Option<(u64, String)>, LedgerError> {
        let stream = self
            .js
            .get_stream(LEDGER_STREAM)
            .await
            .map_err(|e| LedgerError(e.to_string()))?;
        match stream.get_last_raw_message_by_subject(&subject(key)).await {
            Ok(m) => Ok(Some((
                m.sequence,
                String::from_utf8_lossy(&m.payload).into_owned(),
            ))),
            Err(e) if matches!(e.kind(), stream::LastRawMessageErrorKind::NoMessageFound) => {
                Ok(None)
            }
            Err(e) => Err(LedgerError(e.to_string())),
        }
    }

    /// Writes `value` only if `key`'s last sequence is `expected` (0: no message yet).
    /// `Ok(None)` when someone else wrote first.
    pub async fn write_if(
        &self,
        key: &str,
        expected: u64,
        value: String,
    ) -> Result<Option<u64>, LedgerError> {
        let publish = jetstream::message::PublishMessage::build()
            .payload(value.into_bytes().into())
            .expected_last_subject_sequence(expected);
        let ack = match self.js.send_publish(subject(key), publish).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match ack {
            Ok(a) => Ok(Some(a.sequence)),
            Err(e) if matches!(e.kind(), PublishErrorKind::WrongLastSequence) => Ok(None),
            Err(e) => Err(LedgerError(e.to_string())),
        }
    }

    /// Claims `key` for this worker.
    pub async fn claim(&self, key: &str) -> Result<Claim, LedgerError> {
        let current = self.read(key).await?;
        let expected = match &current {
            None => 0,
            Some((_, v)) if v == "done" => return Ok(Claim::Done),
            Some((seq, v)) => {
                let claimed_at: u64 = v
                    .strip_prefix("claimed:")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if now_ms().saturating_sub(claimed_at) < self.stale_after.as_millis() as u64 {
                    return Ok(Claim::Busy);
                }
                *seq // a stale claim (its holder died): take it over
            }
        };
        Ok(
            match self
                .write_if(key, expected, format!("claimed:{}", now_ms()))
                .await?
            {
                Some(token) => Claim::Acquired(token),
                None => Claim::Busy, // lost the race
            },
        )
    }

    /// Renews our claim on `key` (a fresh claim time); `None` if it was taken over. Returns
    /// the new token.
    pub async fn refresh(&self, key: &str, token: u64) -> Result<Option<u64>, LedgerError> {
        self.write_if(key, token, format!("claimed:{}", now_ms()))
            .await
    }

    /// Marks `key` done (only if our claim still holds).
    pub async fn complete(&self, key: &str, token: u64) -> Result<bool, LedgerError> {
        Ok(self.write_if(key, token, "done".into()).await?.is_some())
    }

    /// Gives a claim back without completing it (the work failed; someone may retry).
    pub async fn release(&self, key: &str, token: u64) -> Result<bool, LedgerError> {
        Ok(self
            .write_if(key, token, "released:0".into())
            .await?
            .is_some())
    }
}
