//! The HTTP client: one [`TenantClient`] per ServiceTitan tenant, sharing one connection
//! pool. Every request goes through the tenant's rate limiter, carries a cached bearer
//! token and the app key, has a timeout, and is retried when the failure is transient.
//!
//! - `transport`: one request and its retries (backon; `Retry-After`; a 401 refreshes the
//!   token once; a permanent failure such as a 403 is never retried).
//! - `reads`: every read endpoint. The businesses are promised that settings, scheduling
//!   policies and capacity planning are only read.
//! - `writes`: the only operations that change anything in ServiceTitan — the call update
//!   (read-modify-write) and the appointment confirmation. Nothing else writes.

use crate::auth::TokenCache;
use crate::error::{ErrorKind, StError};
use crate::http::HttpClientError;
use crate::limiter::RateLimiter;
use crate::models::*;
use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use switchboard_config::{Config, ServiceTitanConfig, StEnvironment};
use tracing::Instrument as _;

mod policy;
mod reads;
mod transport;
mod writes;

pub use writes::WRITES;

pub use policy::RetryPolicy;

/// Everything one tenant's client needs.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The Switchboard tenant name (for errors and spans).
    pub tenant: String,
    pub tenant_id: u64,
    pub api_base: String,
    pub auth_base: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub app_key: SecretString,
    pub rate_limit_per_sec: u32,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl ClientSettings {
    pub fn from_config(tenant: &str, st: &ServiceTitanConfig) -> Self {
        let (api, auth) = match st.environment {
            StEnvironment::Integration => (
                "https://api-integration.servicetitan.io",
                "https://auth-integration.servicetitan.io",
            ),
            StEnvironment::Production => (
                "https://api.servicetitan.io",
                "https://auth.servicetitan.io",
            ),
        };
        Self {
            tenant: tenant.to_owned(),
            tenant_id: st.tenant_id,
            api_base: st
                .api_base
                .clone()
                .unwrap_or_else(|| api.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            auth_base: st
                .auth_base
                .clone()
                .unwrap_or_else(|| auth.to_owned())
                .trim_end_matches('/')
                .to_owned(),
            client_id: st.client_id.clone(),
            client_secret: st.client_secret.clone(),
            app_key: st.app_key.clone(),
            rate_limit_per_sec: st.rate_limit_per_sec.unwrap_or(60),
            timeout: Duration::from_secs(st.timeout_secs.unwrap_or(30)),
            retry: RetryPolicy::default(),
        }
    }
}

/// The clients of every configured tenant that has a `[servicetitan]` section.
#[derive(Debug, Clone, Default)]
pub struct ServiceTitan {
    tenants: HashMap<String, Arc<TenantClient>>,
}

impl ServiceTitan {
    pub fn from_config(config: &Config) -> Result<Self, HttpClientError> {
        Self::from_config_observed(config, None)
    }

    /// As [`Self::from_config`], with every request reported to `observer`.
    pub fn from_config_observed(
        config: &Config,
        observer: Option<Observer>,
    ) -> Result<Self, HttpClientError> {
        let names: Vec<&str> = config
            .tenants
            .iter()
            .filter(|(_, t)| t.servicetitan.is_some())
            .map(|(name, _)| name.as_str())
            .collect();
        let http = http_client(&format!("ServiceTitan (tenants: {})", names.join(", ")))?;
        // (With no tenant configured for ServiceTitan the client is built but never used.)
        let tenants = config
            .tenants
            .iter()
            .filter_map(|(name, t)| t.servicetitan.as_ref().map(|st| (name, st)))
            .map(|(name, st)| {
                let settings = ClientSettings::from_config(name.as_str(), st);
                let mut client = TenantClient::with_http(http.clone(), settings);
                client.observer.clone_from(&observer);
                (name.to_string(), Arc::new(client))
            })
            .collect();
        Ok(Self { tenants })
    }

    pub fn tenant(&self, name: &str) -> Option<&Arc<TenantClient>> {
        self.tenants.get(name)
    }
}

fn http_client(purpose: &str) -> Result<reqwest::Client, HttpClientError> {
    crate::http::build_client(
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60)),
        purpose,
    )
}

/// One ServiceTitan tenant. Cheap to share (`Arc`); all methods take `&self`.
pub struct TenantClient {
    settings: ClientSettings,
    http: reqwest::Client,
    tokens: TokenCache,
    limiter: RateLimiter,
    observer: Option<Observer>,
    /// The scopes the last token response granted (`scope`, space-separated).
    scopes: std::sync::Mutex<Option<String>>,
}

/// Told about every API request when it ends: tenant, operation, last HTTP status (`None` when no
/// response came back) and latency including retries — for the caller's metrics.
pub type Observer = Arc<dyn Fn(&str, &'static str, Option<u16>, Duration) + Send + Sync>;

impl std::fmt::Debug for TenantClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantClient")
            .field("tenant", &self.settings.tenant)
            .field("tenant_id", &self.settings.tenant_id)
            .field("api_base", &self.settings.api_base)
            .finish_non_exhaustive()
    }
}

/// Query parameters as name/value pairs.
pub type Query = Vec<(&'static str, String)>;

impl TenantClient {
    pub fn new(settings: ClientSettings) -> Result<Self, HttpClientError> {
        let http = http_client(&format!("ServiceTitan (tenant {})", settings.tenant))?;
        Ok(Self::with_http(http, settings))
    }

    fn with_http(http: reqwest::Client, settings: ClientSettings) -> Self {
        let limiter = RateLimiter::new(settings.rate_limit_per_sec);
        Self {
            settings,
            http,
            tokens: TokenCache::default(),
            observer: None,
            limiter,
            scopes: std::sync::Mutex::new(None),
        }
    }

    /// The scopes ServiceTitan grants this client's API user, as the token response names
    /// them (asking for a token if none is held). `None`: the response named none.
    pub async fn granted_scopes(&self) -> Result<Option<Vec<String>>, StError> {
        self.token().await?;
        let scopes = self.scopes.lock().unwrap_or_else(|e| e.into_inner());
        Ok(scopes
            .as_deref()
            .map(|s| s.split_whitespace().map(str::to_owned).collect()))
    }

    pub fn tenant(&self) -> &str {
        &self.settings.tenant
    }

    pub fn tenant_id(&self) -> u64 {
        self.settings.tenant_id
    }

    /// How many tokens this client has requested (for tests and metrics).
    pub fn token_fetches(&self) -> u64 {
        self.tokens.fetches.load(Ordering::Relaxed)
    }

    fn path(&self, module: &str, version: &str, rest: &str) -> String {
        format!(
            "{}/{module}/{version}/tenant/{}/{rest}",
            self.settings.api_base, self.settings.tenant_id
        )
    }

    /// Sends one API request with rate limiting, auth, timeout and retries; returns the body.
    async fn execute(
        &self,
        operation: &'static str,
        method: Method,
        url: String,
        query: &Query,
        body: Option<serde_json::Value>,
    ) -> Result<String, StError> {
        self.send(transport::ApiRequest {
            operation,
            method,
            url,
            query,
            body,
            repeatable: true,
        })
        .await
    }

    /// [`Self::execute`] for a request built by the caller (a create, which must not be
    /// sent twice blindly: see [`transport::ApiRequest::repeatable`]).
    async fn send(&self, request: transport::ApiRequest<'_>) -> Result<String, StError> {
        let operation = request.operation;
        let span = tracing::debug_span!("servicetitan", op = operation, tenant = %self.settings.tenant,
            status = tracing::field::Empty, latency_ms = tracing::field::Empty, attempts = tracing::field::Empty);
        let started = Instant::now();
        // Within a trace (an event being handled), the request is a hop of its own, and
        // ServiceTitan gets its `traceparent`.
        let (result, attempts, status) = match switchboard_telemetry::trace::current() {
            Some(parent) => {
                switchboard_telemetry::trace::hop(
                    &format!("servicetitan {operation}"),
                    Some(parent),
                )
                .run(self.attempts(&request).instrument(span.clone()))
                .await
            }
            None => self.attempts(&request).instrument(span.clone()).await,
        };
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        span.record("attempts", attempts);
        if let Some(status) = status {
            span.record("status", status);
        }
        span.in_scope(|| match &result {
            Ok(_) => tracing::debug!("ok"),
            Err(e) => tracing::debug!(error = %e, "failed"),
        });
        if let Some(observe) = &self.observer {
            observe(&self.settings.tenant, operation, status, started.elapsed());
        }
        result
    }

    async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: String,
        query: Query,
    ) -> Result<T, StError> {
        let text = self
            .execute(operation, Method::GET, url, &query, None)
            .await?;
        self.parse(operation, &text)
    }

    /// A repeatable request with JSON `body` whose answer is parsed as `R`.
    async fn exchange<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: String,
        body: &B,
    ) -> Result<R, StError> {
        let json = self.to_json(operation, body)?;
        let text = self
            .execute(operation, method, url, &Vec::new(), Some(json))
            .await?;
        self.parse(operation, &text)
    }

    fn parse<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        text: &str,
    ) -> Result<T, StError> {
        serde_json::from_str(text).map_err(|e| {
            StError::new(
                operation,
                &self.settings.tenant,
                ErrorKind::Permanent,
                format!("unexpected response shape: {e}"),
            )
        })
    }

    fn to_json<B: Serialize>(
        &self,
        operation: &'static str,
        body: &B,
    ) -> Result<serde_json::Value, StError> {
        serde_json::to_value(body).map_err(|e| {
            StError::new(
                operation,
                &self.settings.tenant,
                ErrorKind::Permanent,
                e.to_string(),
            )
        })
    }
}

fn paging(page: u32, page_size: u32) -> Query {
    vec![
        ("page", page.to_string()),
        ("pageSize", page_size.to_string()),
    ]
}

/// Fetches pages 1, 2, … of `page_size` until `hasMore` is false; returns all items.
pub async fn all_pages<T, F, Fut>(page_size: u32, mut fetch: F) -> Result<Vec<T>, StError>
where
    F: FnMut(u32, u32) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StError>>,
{
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let p = fetch(page, page_size).await?;
        let more = p.has_more && !p.data.is_empty();
        out.extend(p.data);
        if !more {
            return Ok(out);
        }
        page += 1;
    }
}

/// Follows an export from `from` (a saved cursor, or the beginning) to its end. Returns
/// the records — one per call, the latest seen (recent changes are included, so a call can
/// appear more than once) — and the cursor to persist for next time.
pub async fn export_all_calls(
    client: &TenantClient,
    from: Option<String>,
) -> Result<(Vec<ExportCall>, String), StError> {
    export_all(
        from,
        |c| async move { client.export_calls(c.as_deref(), true).await },
        |r| r.id,
    )
    .await
}

/// Follows an export from `from` to its end: the latest record per id (in first-seen
/// order) and the cursor to resume from. Stops on `hasMore` without progress, so a stuck
/// export cannot loop forever; the next run resumes.
pub async fn export_all<T, F, Fut>(
    from: Option<String>,
    mut fetch: F,
    id_of: impl Fn(&T) -> i64,
) -> Result<(Vec<T>, String), StError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<ExportPage<T>, StError>>,
{
    let mut cursor = from;
    let mut latest: HashMap<i64, T> = HashMap::new();
    let mut order = Vec::new();
    loop {
        let page = fetch(cursor.clone()).await?;
        let advanced = cursor.as_deref() != Some(page.continue_from.as_str());
        let empty = page.data.is_empty();
        for record in page.data {
            let id = id_of(&record);
            if !latest.contains_key(&id) {
                order.push(id);
            }
            latest.insert(id, record);
        }
        cursor = Some(page.continue_from);
        if !page.has_more || (empty && !advanced) {
            let records = order
                .into_iter()
                .filter_map(|id| latest.remove(&id))
                .collect();
            return Ok((records, cursor.unwrap_or_default()));
        }
    }
}
