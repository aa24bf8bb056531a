//! The simulator's state and the checks every API request goes through, in the order a
//! real gateway applies them: injected faults, app key, bearer token, tenant, rate limit.

use crate::seed::{Seed, TenantData};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use switchboard_servicetitan::models::ApiError;

#[derive(Debug)]
pub struct Sim {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub seed: Seed,
    tokens: HashMap<String, Grant>,
    windows: HashMap<(String, u64), VecDeque<Instant>>,
    pub counts: BTreeMap<String, u64>,
    pub rate_limited: u64,
    /// 429s from the rate limit (not injected ones) by tenant id.
    pub rate_limited_by_tenant: BTreeMap<u64, u64>,
    pub version: u64,
}

#[derive(Debug, Clone)]
struct Grant {
    tenant_id: u64,
    expires: Instant,
}

/// An RFC 7807 problem, as ServiceTitan answers errors.
pub fn problem(status: StatusCode, title: &str) -> Response {
    let body = ApiError {
        kind: format!("https://httpstatuses.com/{}", status.as_u16()),
        title: title.to_owned(),
        status: status.as_u16(),
        trace_id: format!("{:032x}", fastrand::u128(..)),
        ..ApiError::default()
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

/// A 400 with per-field errors.
pub fn validation(title: &str, field: &str, message: String) -> Response {
    let mut body = ApiError {
        kind: "https://tools.ietf.org/html/rfc7231#section-6.5.1".into(),
        title: title.to_owned(),
        status: 400,
        trace_id: format!("{:032x}", fastrand::u128(..)),
        ..ApiError::default()
    };
    body.errors.insert(field.to_owned(), vec![message]);
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

impl Sim {
    pub fn new(mut seed: Seed) -> Self {
        let version = prepare(&mut seed);
        Self {
            inner: Mutex::new(Inner {
                seed,
                tokens: HashMap::new(),
                windows: HashMap::new(),
                counts: BTreeMap::new(),
                rate_limited: 0,
                rate_limited_by_tenant: BTreeMap::new(),
                version,
            }),
        }
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces all data and settings; issued tokens stay valid.
    pub fn reseed(&self, mut seed: Seed) {
        let mut inner = self.lock();
        inner.version = prepare(&mut seed);
        inner.seed = seed;
        inner.windows.clear();
    }

    /// `POST /connect/token`: client credentials → a bearer token for one tenant.
    /// A token for the tenant whose credentials these are: its value, lifetime and the
    /// scopes it grants.
    pub fn issue_token(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Option<(String, u64, String)> {
        let mut inner = self.lock();
        inner
            .counts
            .entry("token".into())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        let tenant = inner.seed.tenants.iter().find(|t| {
            t.client_id == client_id
                && constant_time_eq(t.client_secret.as_bytes(), client_secret.as_bytes())
        })?;
        let tenant_id = tenant.tenant_id;
        let scope = crate::scopes::granted(&tenant.withheld_scopes);
        let ttl = inner.seed.settings.token_ttl_secs;
        let token = format!("sim_{:032x}{:032x}", fastrand::u128(..), fastrand::u128(..));
        let now = Instant::now();
        inner.tokens.retain(|_, g| g.expires > now);
        inner.tokens.insert(
            token.clone(),
            Grant {
                tenant_id,
                expires: now + Duration::from_secs(ttl),
            },
        );
        Some((token, ttl, scope))
    }

    /// Spends one `csr_races` fault, if any is left.
    pub(crate) fn take_csr_race(&self) -> bool {
        let mut inner = self.lock();
        let left = &mut inner.seed.faults.csr_races;
        let take = *left > 0;
        *left = left.saturating_sub(1);
        take
    }

    /// Spends one `lose_answers` fault, if any is left.
    pub(crate) fn take_lost_answer(&self) -> bool {
        let mut inner = self.lock();
        let left = &mut inner.seed.faults.lose_answers;
        let take = *left > 0;
        *left = left.saturating_sub(1);
        take
    }

    /// Every API request starts here. `Ok` means: serve it.
    pub async fn admit(
        &self,
        operation: &str,
        headers: &HeaderMap,
        tenant: &str,
    ) -> Result<u64, Response> {
        let latency = {
            let mut inner = self.lock();
            *inner.counts.entry(operation.to_owned()).or_default() += 1;
            inner.seed.faults.latency_ms
        };
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        let mut inner = self.lock();
        let faults = &mut inner.seed.faults;
        if faults.force_count > 0
            && let Some(status) = faults.force_status
        {
            faults.force_count -= 1;
            let retry_after = faults.retry_after_secs;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = problem(status, "Injected fault");
            if status == StatusCode::TOO_MANY_REQUESTS {
                let secs = retry_after.unwrap_or(1).to_string();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.parse().expect("digits"));
            }
            return Err(response);
        }
        let app_key = headers
            .get("st-app-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !inner
            .seed
            .app_keys
            .iter()
            .any(|k| constant_time_eq(k.as_bytes(), app_key.as_bytes()))
        {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "Missing or invalid ST-App-Key header",
            ));
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let Some(grant) = inner.tokens.get(bearer).cloned() else {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "Missing or invalid access token",
            ));
        };
        if grant.expires <= Instant::now() {
            return Err(problem(
                StatusCode::UNAUTHORIZED,
                "The access token has expired",
            ));
        }
        let Ok(tenant_id) = tenant.parse::<u64>() else {
            return Err(problem(StatusCode::NOT_FOUND, "Tenant not found"));
        };
        if !inner.seed.tenants.iter().any(|t| t.tenant_id == tenant_id) {
            return Err(problem(StatusCode::NOT_FOUND, "Tenant not found"));
        }
        if grant.tenant_id != tenant_id {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "The access token was issued for another tenant",
            ));
        }
        if let Some(scope) = crate::scopes::scope_of(operation)
            && inner
                .seed
                .tenants
                .iter()
                .any(|t| t.tenant_id == tenant_id && t.withheld_scopes.iter().any(|w| w == scope))
        {
            return Err(problem(
                StatusCode::FORBIDDEN,
                &format!(
                    "The API user has no permission for this operation (scope {scope} is not granted)"
                ),
            ));
        }
        let limit = inner.seed.settings.rate_limit_per_sec as usize;
        if limit > 0 {
            let now = Instant::now();
            let window = inner
                .windows
                .entry((app_key.to_owned(), tenant_id))
                .or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                window.pop_front();
            }
            if window.len() >= limit {
                let wait = Duration::from_secs(1)
                    .saturating_sub(now.duration_since(*window.front().expect("non-empty")));
                inner.rate_limited += 1;
                *inner.rate_limited_by_tenant.entry(tenant_id).or_default() += 1;
                let mut response = problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Rate limit exceeded: 60 requests per second per app per tenant",
                );
                let secs = wait.as_secs_f64().ceil().max(1.0).to_string();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.parse().expect("digits"));
                return Err(response);
            }
            window.push_back(now);
        }
        if inner.seed.faults.error_rate > 0.0 && fastrand::f64() < inner.seed.faults.error_rate {
            return Err(problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Injected random error",
            ));
        }
        Ok(tenant_id)
    }

    /// Ends every issued token's life now (tests of refresh on expiry / 401).
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for grant in self.lock().tokens.values_mut() {
            grant.expires = now;
        }
    }

    /// Runs `f` on one tenant's data, if the tenant exists.
    pub(crate) fn try_with_tenant<R>(
        &self,
        tenant_id: u64,
        f: impl FnOnce(&mut TenantData, &mut u64) -> R,
    ) -> Option<R> {
        let mut inner = self.lock();
        let Inner { seed, version, .. } = &mut *inner;
        let tenant = seed.tenants.iter_mut().find(|t| t.tenant_id == tenant_id)?;
        Some(f(tenant, version))
    }

    /// Runs `f` on one tenant's data.
    pub(crate) fn with_tenant<R>(
        &self,
        tenant_id: u64,
        f: impl FnOnce(&mut TenantData, &mut u64) -> R,
    ) -> R {
        let mut inner = self.lock();
        let Inner { seed, version, .. } = &mut *inner;
        let tenant = seed
            .tenants
            .iter_mut()
            .find(|t| t.tenant_id == tenant_id)
            .expect("tenant checked in admit");
        f(tenant, version)
    }
}

fn max_version(seed: &Seed) -> u64 {
    seed.tenants
        .iter()
        .flat_map(|t| {
            t.calls
                .iter()
                .map(|c| c.version)
                .chain(t.locations.iter().map(|l| l.version))
        })
        .max()
        .unwrap_or(0)
}

/// Gives every seeded location without an export version one (after all existing
/// versions, so the locations export shows it); returns the highest version in use.
fn number_locations(seed: &mut Seed) -> u64 {
    let mut version = max_version(seed);
    for location in seed.tenants.iter_mut().flat_map(|t| t.locations.iter_mut()) {
        if location.version == 0 {
            version += 1;
            location.version = version;
        }
    }
    version
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Makes a loaded seed the simulator's state: daily shifts from today, locations numbered
/// for the export; returns the export version reached.
fn prepare(seed: &mut Seed) -> u64 {
    let now = jiff::Timestamp::now();
    for tenant in &mut seed.tenants {
        tenant.expand_daily_shifts(now);
    }
    number_locations(seed)
}
