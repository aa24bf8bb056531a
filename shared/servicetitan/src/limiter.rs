//! A per-tenant request pacer shared by every task in the process.
//!
//! ServiceTitan allows 60 requests/s per app per tenant and answers 429 beyond. Rather
//! than burst and back off, requests are spaced evenly: each takes the next free slot
//! `1/rate` after the previous one, so no one-second window ever holds more than `rate`
//! requests, however many tasks call at once. Slots are handed out in call order (FIFO),
//! and a slow request does not let the next ones bunch up.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    /// `per_second` requests per second (> 0). A 2 % margin (20 ms a second) keeps
    /// scheduling and network jitter from putting `per_second + 1` requests in the
    /// server's one-second window.
    pub fn new(per_second: u32) -> Self {
        let interval = Duration::from_secs_f64(1.02 / f64::from(per_second.max(1)));
        Self {
            interval,
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_rate_in_any_second() {
        let limiter = std::sync::Arc::new(RateLimiter::new(60));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..240 {
            let l = limiter.clone();
            handles.push(tokio::spawn(async move {
                l.acquire().await;
                Instant::now() - start
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap());
        }
        times.sort();
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 60, "{in_window} requests within 1 s of {t:?}");
        }
        // And it does not waste the budget: 240 requests take about 4 s.
        assert!(times.last().unwrap().as_secs_f64() < 4.1 * 1.02);
    }
}
