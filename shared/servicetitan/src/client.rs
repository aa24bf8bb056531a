//! The HTTP client: one [`TenantClient`] per ServiceTitan tenant, sharing one connection
//! pool. Every request goes through the tenant's rate limiter, carries a cached bearer
//! token and the app key, has a timeout, and is retried when the failure is transient.

use crate::auth::{Token, TokenCache};
use crate::error::{ErrorKind, StError};
use crate::http::HttpClientError;
use crate::limiter::RateLimiter;
use crate::models::*;
use crate::update::{AssembleError, CallChange, CurrentCall};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use switchboard_config::{Config, ServiceTitanConfig, StEnvironment};
use tracing::Instrument as _;

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
    /// Full jitter: uniformly random in `[0, min(max, base·2^attempt)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        cap.mul_f64(fastrand::f64())
    }
}

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
}

/// Told about every API request when it ends: operation, last HTTP status (`None` when no
/// response came back) and latency including retries — for the caller's metrics.
pub type Observer = Arc<dyn Fn(&'static str, Option<u16>, Duration) + Send + Sync>;

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
        }
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

    async fn token(&self) -> Result<Token, StError> {
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
                Ok((SecretString::from(token.access_token), token.expires_in))
            })
            .await
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
        let span = tracing::debug_span!("servicetitan", op = operation, tenant = %self.settings.tenant,
            status = tracing::field::Empty, latency_ms = tracing::field::Empty, attempts = tracing::field::Empty);
        let started = Instant::now();
        let (result, attempts, status) = self
            .attempts(operation, method, url, query, body)
            .instrument(span.clone())
            .await;
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
            observe(operation, status, started.elapsed());
        }
        result
    }

    /// The retry loop of [`Self::execute`]: returns the result, the attempts made and the
    /// last HTTP status.
    async fn attempts(
        &self,
        operation: &'static str,
        method: Method,
        url: String,
        query: &Query,
        body: Option<serde_json::Value>,
    ) -> (Result<String, StError>, u32, Option<u16>) {
        let s = &self.settings;
        let mut refreshed_after_401 = false;
        let mut last_error = None;
        let mut last_status = None;
        let mut attempt = 0;
        while attempt < s.retry.max_attempts {
            attempt += 1;
            let is_last = attempt == s.retry.max_attempts;
            // Token first, then the pacing slot: a slot taken while waiting for a token
            // would be spent late, bunching requests into ServiceTitan's window.
            let token = match self.token().await {
                Ok(t) => t,
                Err(e) if e.is_transient() => {
                    last_error = Some(e);
                    if !is_last {
                        tokio::time::sleep(s.retry.backoff(attempt)).await;
                    }
                    continue;
                }
                Err(e) => return (Err(e), attempt, last_status),
            };
            self.limiter.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.value.expose_secret())
                .header("ST-App-Key", s.app_key.expose_secret())
                .timeout(s.timeout);
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Some(b) = &body {
                request = request.json(b);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = transport_error(operation, &s.tenant, &e);
                    tracing::debug!(attempt, error = %err, "transient failure");
                    last_error = Some(err);
                    if !is_last {
                        tokio::time::sleep(s.retry.backoff(attempt)).await;
                    }
                    continue;
                }
            };
            let status = response.status().as_u16();
            last_status = Some(status);
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(parse_retry_after);
            let text = response.text().await.unwrap_or_default();
            if (200..300).contains(&status) {
                return (Ok(text), attempt, last_status);
            }
            let err = StError::from_response(operation, &s.tenant, status, &text);
            match status {
                401 if !refreshed_after_401 => {
                    // The token may have been revoked or expired early: one refresh, one retry.
                    refreshed_after_401 = true;
                    self.tokens.invalidate(&token).await;
                    attempt -= 1;
                }
                _ if err.is_transient() => {
                    tracing::debug!(attempt, status, "transient HTTP status");
                    last_error = Some(err);
                    if !is_last {
                        // On 429 wait at least what the server asked for.
                        let wait = s
                            .retry
                            .backoff(attempt)
                            .max(retry_after.unwrap_or_default());
                        tokio::time::sleep(wait).await;
                    }
                }
                _ => return (Err(err), attempt, last_status),
            }
        }
        let mut err = last_error.unwrap_or_else(|| {
            StError::new(
                operation,
                &s.tenant,
                ErrorKind::Transient,
                "no attempt was made",
            )
        });
        err.detail = format!("{} (gave up after {attempt} attempts)", err.detail);
        (Err(err), attempt, last_status)
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

    // ---- telecom (calls): read, plus the one call write ----

    /// `GET /telecom/v3/tenant/{t}/calls` with filters such as `createdOnOrAfter`,
    /// `createdBefore`, `callerPhoneNumber`, `phoneNumberCalled`, `sid`, `page`, `pageSize`.
    pub async fn list_calls(&self, query: Query) -> Result<Page<CallListItem>, StError> {
        self.get("list calls", self.path("telecom", "v3", "calls"), query)
            .await
    }

    /// `GET /telecom/v2/tenant/{t}/calls/{id}`.
    pub async fn get_call(&self, id: i64) -> Result<CallRecord, StError> {
        self.get(
            "get call",
            self.path("telecom", "v2", &format!("calls/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /telecom/v2/tenant/{t}/export/calls?from=…`. Pass the previous page's
    /// `continueFrom` (persist it to resume later).
    pub async fn export_calls(
        &self,
        from: Option<&str>,
        include_recent_changes: bool,
    ) -> Result<ExportPage<ExportCall>, StError> {
        let mut query: Query = Vec::new();
        if let Some(from) = from {
            query.push(("from", from.to_owned()));
        }
        if include_recent_changes {
            query.push(("includeRecentChanges", "true".into()));
        }
        self.get(
            "export calls",
            self.path("telecom", "v2", "export/calls"),
            query,
        )
        .await
    }

    /// Reads everything a call update must send back: the call record, the location and
    /// its contacts. `export` is the call's latest export record (workers keep it).
    pub async fn current_call(&self, export: &ExportCall) -> Result<CurrentCall, StError> {
        self.current_call_with(export, None).await
    }

    /// [`Self::current_call`] with the location and its contacts already known (e.g. from a
    /// mirror of the CRM exports): one request, the v2 call record. A `known` location that
    /// is not the export's is ignored and read from CRM.
    pub async fn current_call_with(
        &self,
        export: &ExportCall,
        known: Option<(Location, Vec<LocationContact>)>,
    ) -> Result<CurrentCall, StError> {
        let record = self.get_call(export.id).await?;
        let location = match (&export.location, known) {
            (Some(l), Some(known)) if known.0.id == l.id => Some(known),
            (Some(l), _) => Some((
                self.get_location(l.id).await?,
                self.location_contacts(l.id).await?,
            )),
            (None, _) => None,
        };
        CurrentCall::assemble(
            &record,
            export,
            location.as_ref().map(|(l, c)| (l, c.as_slice())),
        )
        .map_err(|e| self.assemble_error("update call", e))
    }

    /// `PUT /telecom/v2/tenant/{t}/calls/{id}` with the full body.
    pub async fn put_call(
        &self,
        id: i64,
        body: &CallInUpdateModelV2,
    ) -> Result<DetailedCall, StError> {
        let json = self.to_json("update call", body)?;
        let url = self.path("telecom", "v2", &format!("calls/{id}"));
        let text = self
            .execute("update call", Method::PUT, url, &Vec::new(), Some(json))
            .await?;
        self.parse("update call", &text)
    }

    /// Read-modify-write: applies `change` to `current` and writes the full call back.
    pub async fn update_call(
        &self,
        current: &CurrentCall,
        change: &CallChange,
    ) -> Result<DetailedCall, StError> {
        let body = current
            .update(change)
            .map_err(|e| self.assemble_error("update call", e))?;
        self.put_call(current.id, &body).await
    }

    fn assemble_error(&self, operation: &'static str, e: AssembleError) -> StError {
        // A stale export heals once the caller reads the export again; the rest cannot.
        let kind = if matches!(e, AssembleError::StaleExport { .. }) {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        };
        StError::new(operation, &self.settings.tenant, kind, e.to_string())
    }

    // ---- settings and reference data (read-only) ----

    /// `GET /jbce/v2/tenant/{t}/call-reasons`.
    pub async fn call_reasons(
        &self,
        page: u32,
        page_size: u32,
    ) -> Result<Page<CallReason>, StError> {
        self.get(
            "list call reasons",
            self.path("jbce", "v2", "call-reasons"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /settings/v2/tenant/{t}/tag-types`.
    pub async fn tag_types(&self, page: u32, page_size: u32) -> Result<Page<TagType>, StError> {
        self.get(
            "list tag types",
            self.path("settings", "v2", "tag-types"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /settings/v2/tenant/{t}/business-units`.
    pub async fn business_units(
        &self,
        page: u32,
        page_size: u32,
    ) -> Result<Page<BusinessUnit>, StError> {
        self.get(
            "list business units",
            self.path("settings", "v2", "business-units"),
            paging(page, page_size),
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/locations/{id}`.
    pub async fn get_location(&self, id: i64) -> Result<Location, StError> {
        self.get(
            "get location",
            self.path("crm", "v2", &format!("locations/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/export/locations`: locations changed since `from`.
    pub async fn export_locations(
        &self,
        from: Option<&str>,
    ) -> Result<ExportPage<Location>, StError> {
        let query: Query = from.map(|f| ("from", f.to_owned())).into_iter().collect();
        self.get(
            "export locations",
            self.path("crm", "v2", "export/locations"),
            query,
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/export/locations/contacts`: location contacts changed since
    /// `from` (removed ones with `active: false`).
    pub async fn export_location_contacts(
        &self,
        from: Option<&str>,
    ) -> Result<ExportPage<ExportLocationContact>, StError> {
        let query: Query = from.map(|f| ("from", f.to_owned())).into_iter().collect();
        self.get(
            "export location contacts",
            self.path("crm", "v2", "export/locations/contacts"),
            query,
        )
        .await
    }

    /// `GET /crm/v2/tenant/{t}/locations/{id}/contacts` (every page).
    pub async fn location_contacts(&self, id: i64) -> Result<Vec<LocationContact>, StError> {
        all_pages(500, |page, size| {
            self.get(
                "list location contacts",
                self.path("crm", "v2", &format!("locations/{id}/contacts")),
                paging(page, size),
            )
        })
        .await
    }

    // ---- jobs and appointments ----

    /// `GET /jpm/v2/tenant/{t}/jobs/{id}`.
    pub async fn get_job(&self, id: i64) -> Result<Job, StError> {
        self.get(
            "get job",
            self.path("jpm", "v2", &format!("jobs/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `GET /jpm/v2/tenant/{t}/jobs` with filters (`page`, `pageSize`, `ids`, `modifiedOnOrAfter`, …).
    pub async fn list_jobs(&self, query: Query) -> Result<Page<Job>, StError> {
        self.get("list jobs", self.path("jpm", "v2", "jobs"), query)
            .await
    }

    /// `GET /jpm/v2/tenant/{t}/appointments/{id}`.
    pub async fn get_appointment(&self, id: i64) -> Result<Appointment, StError> {
        self.get(
            "get appointment",
            self.path("jpm", "v2", &format!("appointments/{id}")),
            Vec::new(),
        )
        .await
    }

    /// `PUT /jpm/v2/tenant/{t}/appointments/{id}/confirmation`.
    pub async fn confirm_appointment(&self, id: i64) -> Result<(), StError> {
        let url = self.path("jpm", "v2", &format!("appointments/{id}/confirmation"));
        self.execute("confirm appointment", Method::PUT, url, &Vec::new(), None)
            .await
            .map(|_| ())
    }

    /// `DELETE /jpm/v2/tenant/{t}/appointments/{id}/confirmation`.
    pub async fn unconfirm_appointment(&self, id: i64) -> Result<(), StError> {
        let url = self.path("jpm", "v2", &format!("appointments/{id}/confirmation"));
        self.execute(
            "remove appointment confirmation",
            Method::DELETE,
            url,
            &Vec::new(),
            None,
        )
        .await
        .map(|_| ())
    }

    // ---- dispatch (read-only) ----

    /// `POST /dispatch/v2/tenant/{t}/capacity` — a query despite the verb; changes nothing.
    pub async fn capacity(&self, request: &CapacityRequest) -> Result<CapacityResponse, StError> {
        let json = self.to_json("query capacity", request)?;
        let url = self.path("dispatch", "v2", "capacity");
        let text = self
            .execute("query capacity", Method::POST, url, &Vec::new(), Some(json))
            .await?;
        self.parse("query capacity", &text)
    }

    /// `GET /dispatch/v2/tenant/{t}/technician-shifts` with filters (`startsOnOrAfter`, …).
    pub async fn technician_shifts(&self, query: Query) -> Result<Page<TechnicianShift>, StError> {
        self.get(
            "list technician shifts",
            self.path("dispatch", "v2", "technician-shifts"),
            query,
        )
        .await
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

fn paging(page: u32, page_size: u32) -> Query {
    vec![
        ("page", page.to_string()),
        ("pageSize", page_size.to_string()),
    ]
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
