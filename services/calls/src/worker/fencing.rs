//! The ledger claims a handler holds while it works: settling them (done or released)
//! when it is finished, and renewing the event claim and the per-call lock right before
//! a ServiceTitan write, so a worker that stalled and was taken over does not write.

use super::Worker;
use std::time::Duration;

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
