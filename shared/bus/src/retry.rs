//! The one retry schedule of the pipeline, on `backon`.
//!
//! Every "try again a few times" in Switchboard — a publish while a stream is between
//! leaders, a ledger claim to settle, a dead letter the DLQ cannot take yet, a start-up
//! step against a JetStream that just started — is the same shape: double the pause from a
//! small start up to a cap, and stop after a number of attempts or a total wait. Each call
//! site says only what differs: which errors are worth another attempt (`when`), what to
//! log between attempts (`notify`), and the bound (`with_max_times`/`with_total_delay`).
//! backon does not sleep after the last attempt, and returns the last error.
//!
//! The ServiceTitan client uses backon too, with its own jittered policy and `Retry-After`
//! (`switchboard_servicetitan::RetryPolicy`); a 403 is permanent there and never retried.

use backon::{BackoffBuilder as _, ExponentialBackoff};
use std::time::{Duration, Instant};

pub use backon::{ExponentialBuilder, Retryable};

/// Pauses of `first`, 2·`first`, 4·`first`, … capped at `cap`, with no bound yet: the caller
/// adds one (`.with_max_times(n)` retries after the first attempt, or
/// `.with_total_delay(Some(d))` for a total wait).
pub fn doubling(first: Duration, cap: Duration) -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(cap)
        .with_factor(2.0)
        .without_max_times()
}

/// [`doubling`] with at most `attempts` attempts in all (the first one included).
pub fn attempts(attempts: usize, first: Duration, cap: Duration) -> ExponentialBuilder {
    doubling(first, cap).with_max_times(attempts.saturating_sub(1))
}

/// [`doubling`] for at most `patience` from now, the attempts' own time included: no pause
/// is taken that would end past the deadline (an attempt that times out after 5 s counts
/// its 5 s). Build it where the retrying starts.
pub fn patience(patience: Duration, first: Duration, cap: Duration) -> Deadline {
    Deadline {
        pauses: doubling(first, cap)
            .with_total_delay(Some(patience))
            .build(),
        deadline: Instant::now() + patience,
    }
}

/// The schedule of [`patience`]: its pauses, until the deadline.
#[derive(Debug)]
pub struct Deadline {
    pauses: ExponentialBackoff,
    deadline: Instant,
}

impl Iterator for Deadline {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.pauses
            .next()
            .filter(|pause| Instant::now() + *pause < self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_counts_the_first_one() {
        // backon's factor is an f32: compare whole milliseconds.
        let pauses: Vec<_> = attempts(4, Duration::from_millis(100), Duration::from_millis(250))
            .build()
            .map(|p| p.as_millis())
            .collect();
        assert_eq!(
            pauses,
            [100, 200, 250],
            "three pauses between four attempts, doubling up to the cap"
        );
    }

    #[test]
    fn patience_bounds_the_total_wait() {
        let pauses: Vec<_> = patience(
            Duration::from_secs(1),
            Duration::from_millis(100),
            Duration::from_secs(2),
        )
        .map(|p| p.as_millis())
        .collect();
        assert_eq!(pauses, [100, 200, 400]);
    }

    #[tokio::test]
    async fn only_the_errors_asked_for_are_retried() {
        let mut calls = 0;
        let result: Result<(), &str> = (|| {
            calls += 1;
            let error = if calls < 3 { "transient" } else { "permanent" };
            async move { Err(error) }
        })
        .retry(attempts(
            10,
            Duration::from_millis(1),
            Duration::from_millis(1),
        ))
        .when(|e| *e == "transient")
        .await;
        assert_eq!((result, calls), (Err("permanent"), 3));
    }

    #[test]
    fn patience_counts_the_time_the_attempts_took() {
        let mut schedule = patience(
            Duration::from_millis(300),
            Duration::from_millis(100),
            Duration::from_secs(2),
        );
        // An attempt that took longer than the whole patience: no pause, no attempt more.
        std::thread::sleep(Duration::from_millis(301));
        assert_eq!(schedule.next(), None);
    }
}
