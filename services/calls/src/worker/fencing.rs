//! The ledger claims a handler holds while it works: settling them (done or released)
//! when it is finished, and renewing the event claim and the per-call lock right before
//! a ServiceTitan write, so a worker that stalled and was taken over does not write.

use super::Worker;
use std::time::Duration;
use switchboard_bus::retry::{self, Retryable as _};

/// The claims a worker must still hold when it writes.
pub(super) struct Fence<'a> {
    pub(super) event_key: &'a str,
    pub(super) claim: &'a mut u64,
    pub(super) lock_key: &'a str,
    pub(super) lock: &'a mut u64,
}

impl Worker {
    /// Marks a claim done, or releases it, trying for a few seconds: a claim left behind
    /// (NATS between leaders just then) would hold the event or call for `lock_stale_secs`.
    pub(super) async fn settle_claim(&self, key: &str, token: u64, done: bool) {
        let settled = (move || async move {
            if done {
                self.ledger.complete(key, token).await
            } else {
                self.ledger.release(key, token).await
            }
        })
        .retry(retry::attempts(
            6,
            Duration::from_millis(100),
            Duration::from_secs(2),
        ))
        .await;
        // `Ok(false)`: someone took it over meanwhile; nothing left to do.
        if let Err(e) = settled {
            tracing::warn!(key, error = %e, "could not settle a ledger claim; it is taken over after lock_stale_secs");
        }
    }

    /// Renews both claims (compare-and-set on the tokens we hold); false if either is lost.
    pub(super) async fn renew(&self, fence: Fence<'_>) -> bool {
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
