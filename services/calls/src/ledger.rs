//! Exactly-once effects on an at-least-once bus.
//!
//! Events are redelivered after crashes and replayed after fixes — sometimes days later,
//! far past any stream's dedup window — and ServiceTitan writes are not idempotent by
//! themselves. The ledger records, per event id, that work was *claimed* and then *done*,
//! with compare-and-set semantics: a claim is a KV update that JetStream accepts only if
//! the key's revision is what the claimer saw (`Nats-Expected-Last-Subject-Sequence`).
//! Two replicas racing for the same key: exactly one wins. A claim whose holder died is taken over once it is older than `stale_after`.
//!
//! The same primitive serves as a per-call lock (key `lock.{tenant}.{call}`), so events for
//! one call are never applied concurrently. Every key shape is in [`crate::keys`].
//!
//! It is a JetStream KV bucket (`CALLS_LEDGER`), spoken at the stream level by
//! `switchboard_bus::kv` so it runs on every nats-server version the project supports.

use crate::keys::kv_key;
use async_nats::jetstream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use switchboard_bus::async_nats;
use switchboard_bus::bucket::Bucket;

/// The KV bucket (stream `KV_CALLS_LEDGER`, readable with `nats kv`).
pub const LEDGER_BUCKET: &str = "CALLS_LEDGER";

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
    kv: Bucket,
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

/// What a claimed key holds. Stored as text — `claimed:{unix ms}`, `done`, `released:0` —
/// which running deployments have in their buckets, so the spelling must not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// Held since this time (ms since the Unix epoch).
    Claimed(u64),
    /// The work is done.
    Done,
    /// Given back without completing: anyone may claim it.
    Released,
}

impl Entry {
    fn encode(self) -> String {
        match self {
            Entry::Claimed(at) => format!("claimed:{at}"),
            Entry::Done => "done".into(),
            Entry::Released => "released:0".into(),
        }
    }

    /// Anything but `done` or a readable `claimed:{ms}` (a released claim, say) is free to
    /// take over, as a claim made at time 0 would be.
    fn decode(value: &str) -> Entry {
        if value == "done" {
            return Entry::Done;
        }
        match value.strip_prefix("claimed:").and_then(|t| t.parse().ok()) {
            Some(at) => Entry::Claimed(at),
            None => Entry::Released,
        }
    }
}

impl Ledger {
    pub async fn open(
        js: &jetstream::Context,
        replicas: usize,
        stale_after: Duration,
    ) -> Result<Self, LedgerError> {
        let kv = Bucket::open(
            js,
            LEDGER_BUCKET,
            "Switchboard calls worker: claimed/done per event, per-call locks",
            replicas,
            None,
        )
        .await
        .map_err(|e| LedgerError(e.to_string()))?;
        Ok(Self { kv, stale_after })
    }

    /// The current state of `key`: (revision, value) or `None`.
    pub async fn read(&self, key: &str) -> Result<Option<(u64, String)>, LedgerError> {
        let (value, revision) = self
            .kv
            .get(&kv_key(key))
            .await
            .map_err(|e| LedgerError(e.to_string()))?;
        Ok(value.map(|v| (revision, String::from_utf8_lossy(&v).into_owned())))
    }

    /// Writes `value` only if `key`'s revision is `expected` (0: no value yet).
    /// `Ok(None)` when someone else wrote first.
    pub async fn write_if(
        &self,
        key: &str,
        expected: u64,
        value: String,
    ) -> Result<Option<u64>, LedgerError> {
        self.kv
            .update(&kv_key(key), value.into_bytes(), expected)
            .await
            .map_err(|e| LedgerError(e.to_string()))
    }

    /// Claims `key` for this worker.
    pub async fn claim(&self, key: &str) -> Result<Claim, LedgerError> {
        let current = self.read(key).await?;
        let expected = match &current {
            None => 0,
            Some((seq, v)) => match Entry::decode(v) {
                Entry::Done => return Ok(Claim::Done),
                Entry::Claimed(at)
                    if now_ms().saturating_sub(at) < self.stale_after.as_millis() as u64 =>
                {
                    return Ok(Claim::Busy);
                }
                // A stale claim (its holder died) or a released one: take it over.
                Entry::Claimed(_) | Entry::Released => *seq,
            },
        };
        Ok(
            match self
                .write_if(key, expected, Entry::Claimed(now_ms()).encode())
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
        self.write_if(key, token, Entry::Claimed(now_ms()).encode())
            .await
    }

    /// Marks `key` done (only if our claim still holds).
    pub async fn complete(&self, key: &str, token: u64) -> Result<bool, LedgerError> {
        Ok(self
            .write_if(key, token, Entry::Done.encode())
            .await?
            .is_some())
    }

    /// Gives a claim back without completing it (the work failed; someone may retry).
    pub async fn release(&self, key: &str, token: u64) -> Result<bool, LedgerError> {
        Ok(self
            .write_if(key, token, Entry::Released.encode())
            .await?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::Entry;

    #[test]
    fn entries_keep_their_stored_spelling() {
        assert_eq!(Entry::Claimed(1234).encode(), "claimed:1234");
        assert_eq!(Entry::Done.encode(), "done");
        assert_eq!(Entry::Released.encode(), "released:0");
        for e in [Entry::Claimed(1234), Entry::Done] {
            assert_eq!(Entry::decode(&e.encode()), e);
        }
        // Released, unreadable and unknown values are all free to take over.
        for v in ["released:0", "claimed:x", "something else"] {
            assert_eq!(Entry::decode(v), Entry::Released);
        }
    }
}
