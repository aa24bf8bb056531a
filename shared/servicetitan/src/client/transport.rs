//! One API request and its retries: the token, the schedule (`RetryPolicy`, full jitter), which
//! failures are retried (transient only: 429, 5xx, timeouts, connection errors; never a
//! 403 or another permanent answer), `Retry-After`, and the one token refresh on a 401.

use super::{Query, TenantClient};
use crate::auth::Token;
use crate::error::{ErrorKind, StError};
use crate::models::TokenResponse;
use backon::Retryable as _;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// What the attempts of one call share.
#[derive(Debug, Default)]
struct CallState {
    /// The one token refresh a 401 gets has been spent.
    refreshed_after_401: AtomicBool,
    /// The last HTTP status the API answered; 0 before any answer.
    last_status: AtomicU32,
}

/// A failed attempt, with the pause ServiceTitan asked for (`Retry-After` on a 429).
#[derive(Debug)]
struct Failed {
    error: StError,
    retry_after: Option<Duration>,
}

/// One API request, as an operation of the client describes it.
#[derive(Debug)]
pub(super) struct ApiRequest<'a> {
    /// The operation's name, for errors, logs and metrics ("update call").
    pub operation: &'static str,
    pub method: Method,
    pub url: String,
    pub query: &'a Query,
    pub body: Option<serde_json::Value>,
    /// Whether a request whose answer was lost (a timeout, a 5xx, a broken connection) may
    /// simply be sent again. Not for a create: ServiceTitan has no idempotency key, so
    /// the caller looks the record up first. A 429 or a 401 is always tried again: the
    /// request was refused before ServiceTitan did anything.
    pub repeatable: bool,
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
    /// A bearer token: the cached one, or one client-credentials request (one in flight
    /// per tenant; the waiting tasks share its result).
    pub(super) async fn token(&self) -> Result<Token, StError> {
        let s = &self.settings;
        self.tokens
            .get(|| async {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", s.client_id.as_str()),
                    ("client_secret", s.client_secret.expose_secret()),
                ];
                let response = self
                    .http
                    .post(format!("{}/connect/token", s.auth_base))
                    .form(&form)
                    .timeout(s.timeout)
                    .send()
                    .await
                    .map_err(|e| transport_error("token request", &s.tenant, &e))?;
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                if !(200..300).contains(&status) {
                    let mut err = StError::from_response("token request", &s.tenant, status, &body);
                    if matches!(status, 400 | 401 | 403) {
                        err.kind = ErrorKind::Permanent;
                        err.detail = format!(
                            "ServiceTitan rejected the client credentials (HTTP {status}): check \
                             tenants.{}.servicetitan.client_id / client_secret and the environment",
                            s.tenant
                        );
                    }
                    return Err(err);
                }
                let token: TokenResponse = serde_json::from_str(&body).map_err(|e| {
                    StError::new(
                        "token request",
                        &s.tenant,
                        ErrorKind::Transient,
                        format!("unreadable token response: {e}"),
                    )
                })?;
                *self.scopes.lock().unwrap_or_else(|e| e.into_inner()) = token.scope;
                Ok((SecretString::from(token.access_token), token.expires_in))
            })
            .await
    }

    /// The retries of [`Self::execute`] (backon, with [`RetryPolicy::pauses`]): only a
    /// transient failure is tried again, never a permanent one such as a 403; a 429 waits at
    /// least its `Retry-After`. Returns the result, the attempts made and the last HTTP
    /// status.
    pub(super) async fn attempts(
        &self,
        request: &ApiRequest<'_>,
    ) -> (Result<String, StError>, u32, Option<u16>) {
        let made = AtomicU32::new(0);
        let call = CallState::default();
        let (made_ref, call_ref) = (&made, &call);
        let result = (move || async move {
            made_ref.fetch_add(1, Ordering::Relaxed);
            self.attempt(request, call_ref).await
        })
        .retry(self.settings.retry.pauses())
        .when(|failed: &Failed| {
            failed.error.is_transient() && (request.repeatable || failed.error.status == Some(429))
        })
        .adjust(|failed, pause| pause.map(|p| p.max(failed.retry_after.unwrap_or_default())))
        .notify(|failed, pause| {
            tracing::debug!(status = ?failed.error.status, retry_in_ms = pause.as_millis() as u64, error = %failed.error, "transient failure");
        })
        .await;
        let attempts = made.load(Ordering::Relaxed);
        // The last status ServiceTitan's API answered (not the token endpoint's); none if
        // no answer ever came.
        let status = match call.last_status.load(Ordering::Relaxed) {
            0 => None,
            s => u16::try_from(s).ok(),
        };
        match result {
            Ok(text) => (Ok(text), attempts, status),
            Err(Failed { mut error, .. }) => {
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
    async fn attempt(&self, request: &ApiRequest<'_>, call: &CallState) -> Result<String, Failed> {
        let ApiRequest {
            operation,
            method,
            url,
            query,
            body,
            ..
        } = request;
        let (operation, body) = (*operation, body.as_ref());
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
            // The trace this request belongs to (a hop of the event that caused it).
            if let Some(t) = switchboard_telemetry::trace::current() {
                request = request.header(
                    switchboard_telemetry::trace::TRACEPARENT,
                    t.header().as_str(),
                );
            }
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
            call.last_status.store(u32::from(status), Ordering::Relaxed);
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(parse_retry_after);
            let text = response.text().await.unwrap_or_default();
            if (200..300).contains(&status) {
                return Ok(text);
            }
            if status == 401 && !call.refreshed_after_401.swap(true, Ordering::Relaxed) {
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

fn transport_error(operation: &'static str, tenant: &str, e: &reqwest::Error) -> StError {
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
