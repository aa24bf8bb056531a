//! One API request and its retries: the schedule ([`RetryPolicy`], full jitter), which
//! failures are retried (transient only: 429, 5xx, timeouts, connection errors; never a
//! 403 or another permanent answer), `Retry-After`, and the one token refresh on a 401.

use super::{Query, TenantClient};
use crate::error::{ErrorKind, StError};
use backon::Retryable as _;
use reqwest::Method;
use secrecy::ExposeSecret;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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

/// A failed attempt, with the pause ServiceTitan asked for (`Retry-After` on a 429).
#[derive(Debug)]
struct Failed {
    error: StError,
    retry_after: Option<Duration>,
}

impl From<StError> for Failed {
    fn from(error: StError) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl TenantClient {
    /// The retries of [`Self::execute`] (backon, with [`RetryPolicy::pauses`]): only a
    /// transient failure is tried again, never a permanent one such as a 403; a 429 waits at
    /// least its `Retry-After`. Returns the result, the attempts made and the last HTTP
    /// status.
    pub(super) async fn attempts(
        &self,
        operation: &'static str,
        method: Method,
        url: String,
        query: &Query,
        body: Option<serde_json::Value>,
    ) -> (Result<String, StError>, u32, Option<u16>) {
        let made = AtomicU32::new(0);
        let refreshed_after_401 = AtomicBool::new(false);
        let (made_ref, refreshed, method, url, body) =
            (&made, &refreshed_after_401, &method, &url, &body);
        let result = (move || async move {
            made_ref.fetch_add(1, Ordering::Relaxed);
            self.attempt(operation, method, url, query, body.as_ref(), refreshed)
                .await
        })
        .retry(self.settings.retry.pauses())
        .when(|failed: &Failed| failed.error.is_transient())
        .adjust(|failed, pause| pause.map(|p| p.max(failed.retry_after.unwrap_or_default())))
        .notify(|failed, pause| {
            tracing::debug!(status = ?failed.error.status, retry_in_ms = pause.as_millis() as u64, error = %failed.error, "transient failure");
        })
        .await;
        let attempts = made.load(Ordering::Relaxed);
        match result {
            Ok((text, status)) => (Ok(text), attempts, Some(status)),
            Err(Failed { mut error, .. }) => {
                let status = error.status;
                if error.is_transient() {
                    error.detail = format!("{} (gave up after {attempts} attempts)", error.detail);
                }
                (Err(error), attempts, status)
            }
        }
    }

    /// One attempt: token, pacing slot, request. A 401 is answered here with one token
    /// refresh and one more request (per call, not per attempt): the token may have been
    /// revoked or expired early.
    async fn attempt(
        &self,
        operation: &'static str,
        method: &Method,
        url: &str,
        query: &Query,
        body: Option<&serde_json::Value>,
        refreshed_after_401: &AtomicBool,
    ) -> Result<(String, u16), Failed> {
        let s = &self.settings;
        loop {
            // Token first, then the pacing slot: a slot taken while waiting for a token
            // would be spent late, bunching requests into ServiceTitan's window.
            let token = self.token().await.map_err(Failed::from)?;
            self.limiter.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.value.expose_secret())
                .header("ST-App-Key", s.app_key.expose_secret())
                .timeout(s.timeout);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(b) = body {
                request = request.json(b);
            }
            let response = request
                .send()
                .await
                .map_err(|e| Failed::from(transport_error(operation, &s.tenant, &e)))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(parse_retry_after);
            let text = response.text().await.unwrap_or_default();
            if (200..300).contains(&status) {
                return Ok((text, status));
            }
            if status == 401 && !refreshed_after_401.swap(true, Ordering::Relaxed) {
                self.tokens.invalidate(&token).await;
                continue;
            }
            return Err(Failed {
                error: StError::from_response(operation, &s.tenant, status, &text),
                retry_after,
            });
        }
    }
}

/// `Retry-After`: delay-seconds or an HTTP date, capped at 2 minutes.
fn parse_retry_after(value: &reqwest::header::HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(wait.min(Duration::from_secs(120)))
}

pub(super) fn transport_error(
    operation: &'static str,
    tenant: &str,
    e: &reqwest::Error,
) -> StError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    // reqwest errors carry the URL, which has no secret (auth is in headers and the form).
    StError::new(
        operation,
        tenant,
        ErrorKind::Transient,
        format!("{what}: {}", crate::http::error_chain(e)),
    )
}
