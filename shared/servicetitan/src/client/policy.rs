//! How often and how patiently a request is tried: [`RetryPolicy`], part of a tenant's
//! client settings. The retries themselves are in `transport`.

use std::time::Duration;

/// Retry policy for transient failures: jittered exponential backoff, bounded attempts.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The pauses between attempts: `max_attempts - 1` of them, each [`Self::backoff`].
    /// backon takes any such iterator as its schedule.
    pub fn pauses(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin + use<> {
        let policy = self.clone();
        (1..policy.max_attempts.max(1)).map(move |attempt| policy.backoff(attempt))
    }

    /// Full jitter: uniformly random in `[0, min(max, base·2^attempt)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}
