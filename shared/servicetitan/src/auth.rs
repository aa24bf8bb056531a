//! OAuth 2.0 client-credentials tokens, cached per tenant.
//!
//! ServiceTitan throttles token requests, so a token is fetched once and shared by every
//! task until shortly before it expires (`expires_in` is 900 s). However many tasks find
//! the token missing or stale at once, one refresh is in flight: the others wait on the
//! refresh lock and then use its result. A 401 from the API invalidates the token that
//! got it (and only that one), forcing one refresh. A failed fetch is remembered for a
//! second, so tasks queued behind it fail fast instead of each repeating it.

use crate::error::StError;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

#[derive(Clone)]
pub(crate) struct Token {
    pub value: SecretString,
    refresh_at: Instant,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    current: RwLock<Option<Token>>,
    refresh: Mutex<Option<(Instant, StError)>>,
    pub fetches: AtomicU64,
}

impl TokenCache {
    /// A valid token, fetching one with `fetch` if needed (at most one fetch at a time).
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Token, StError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, u64), StError>>,
    {
        if let Some(token) = self.fresh().await {
            return Ok(token);
        }
        let mut last_failure = self.refresh.lock().await;
        // Someone else may have refreshed while we waited for the lock...
        if let Some(token) = self.fresh().await {
            return Ok(token);
        }
        // ...or just failed to: share that answer for a second rather than repeat it.
        if let Some((at, err)) = last_failure.as_ref()
            && at.elapsed() < Duration::from_secs(1)
        {
            return Err(err.clone());
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (value, expires_in) = match fetch().await {
            Ok(v) => v,
            Err(err) => {
                *last_failure = Some((Instant::now(), err.clone()));
                return Err(err);
            }
        };
        *last_failure = None;
        // Refresh a little early: 60 s before expiry, or 10 % of short test lifetimes.
        let expires_in = expires_in.min(86_400 * 365);
        let margin =
            Duration::from_secs(60).min(Duration::from_millis(expires_in.saturating_mul(100)));
        let refresh_at = Instant::now() + Duration::from_secs(expires_in).saturating_sub(margin);
        let token = Token { value, refresh_at };
        *self.current.write().await = Some(token.clone());
        Ok(token)
    }

    async fn fresh(&self) -> Option<Token> {
        self.current
            .read()
            .await
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .cloned()
    }

    /// Drops `token` if it is still the cached one (a 401 says it is no good).
    pub async fn invalidate(&self, token: &Token) {
        let mut current = self.current.write().await;
        if current
            .as_ref()
            .is_some_and(|c| c.value.expose_secret() == token.value.expose_secret())
        {
            *current = None;
        }
    }
}
