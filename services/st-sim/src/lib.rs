//! st-sim: a ServiceTitan simulator faithful where Switchboard depends on it — OAuth client
//! credentials with expiring tokens, the `ST-App-Key` requirement, 60 requests/s per app
//! key per tenant with 429 and `Retry-After`, strict call updates (`additionalProperties:
//! false`), export pagination with `continueFrom`, `modifiedOn` bookkeeping, booked calls
//! linked to jobs — plus fault injection and admin endpoints under `/_sim/` for tests and
//! the demo, and optional signed webhooks to ingest. See docs/st-sim.md.
// Handlers return `Result<_, Response>`: the error *is* the HTTP answer, boxing it buys nothing.
#![allow(clippy::result_large_err)]

mod admin;
mod api;
mod client;
mod clock;
pub mod scopes;
pub mod seed;
mod state;
mod webhooks;

pub use client::{SimClient, demo, demo_seed_path, spawn_demo};
pub use seed::Seed;
pub use state::Sim;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct AppState {
    pub sim: Sim,
    pub http: reqwest::Client,
}

pub(crate) type Shared = Arc<AppState>;

/// Loads a seed file (JSON, or TOML when the name ends in `.toml`).
pub fn load_seed(path: &Path) -> anyhow::Result<Seed> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read seed file {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "toml") {
        toml_seed(&text)
            .with_context(|| format!("seed file {} is not a valid seed", path.display()))
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("seed file {} is not a valid seed", path.display()))
    }
}

fn toml_seed(text: &str) -> anyhow::Result<Seed> {
    Ok(toml::from_str(text)?)
}

/// The HTTP server, bound but not yet serving.
#[derive(Debug)]
pub struct Application {
    server: switchboard_telemetry::HttpServer,
}

impl Application {
    pub async fn build(seed: Seed, listen: SocketAddr) -> anyhow::Result<Self> {
        // Each webhook request sets its own timeout (webhooks.rs).
        let http = switchboard_servicetitan::build_client(
            reqwest::Client::builder(),
            "st-sim's webhooks",
        )?;
        let shared: Shared = Arc::new(AppState {
            sim: Sim::new(seed),
            http,
        });
        // Unknown paths answer as ServiceTitan does (a problem document), not as Switchboard.
        let server = switchboard_telemetry::HttpServer::bind_with_own_fallback(
            "st-sim",
            "--listen / ST_SIM_LISTEN",
            listen,
            router(shared),
        )
        .await?;
        Ok(Self { server })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.server.serve(shutdown, Duration::from_secs(5)).await
    }
}

/// The `lose_answers` fault: a write is carried out, then its answer is lost (504).
async fn lose_answers(
    axum::extract::State(s): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path().to_owned();
    let write = matches!(
        *request.method(),
        axum::http::Method::POST | axum::http::Method::PUT | axum::http::Method::PATCH
    ) && path.contains("/tenant/")
        && !path.ends_with("/capacity");
    let response = next.run(request).await;
    if write && response.status().is_success() && s.sim.take_lost_answer() {
        return state::problem(axum::http::StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout");
    }
    response
}

fn router(shared: Shared) -> Router {
    let t = "/tenant/{tenant}";
    let lost = axum::middleware::from_fn_with_state(shared.clone(), lose_answers);
    Router::new()
        .route("/connect/token", post(token))
        .route(&format!("/telecom/v3{t}/calls"), get(api::list_calls))
        .route(
            &format!("/telecom/v2{t}/calls/{{id}}"),
            get(api::get_call).put(api::update_call),
        )
        .route(
            &format!("/telecom/v2{t}/export/calls"),
            get(api::export_calls),
        )
        .route(&format!("/jbce/v2{t}/call-reasons"), get(api::call_reasons))
        .route(&format!("/settings/v2{t}/tag-types"), get(api::tag_types))
        .route(
            &format!("/settings/v2{t}/business-units"),
            get(api::business_units),
        )
        .route(
            &format!("/jpm/v2{t}/jobs"),
            get(api::list_jobs).post(api::create_job),
        )
        .route(&format!("/jpm/v2{t}/jobs/{{id}}"), get(api::get_job))
        .route(&format!("/jpm/v2{t}/jobs/{{id}}/cancel"), put(api::cancel))
        .route(&format!("/jpm/v2{t}/job-types"), get(api::job_types))
        .route(
            &format!("/jpm/v2{t}/job-cancel-reasons"),
            get(api::job_cancel_reasons),
        )
        .route(
            &format!("/jpm/v2{t}/export/appointments"),
            get(api::export_appointments),
        )
        .route(
            &format!("/jpm/v2{t}/appointments/{{id}}/reschedule"),
            patch(api::reschedule),
        )
        .route(
            &format!("/dispatch/v2{t}/arrival-windows"),
            get(api::arrival_windows),
        )
        .route(
            &format!("/dispatch/v2{t}/business-hours"),
            get(api::business_hours),
        )
        .route(
            &format!("/crm/v2{t}/customers"),
            get(api::customers).post(api::create_customer),
        )
        .route(&format!("/crm/v2{t}/locations"), get(api::locations))
        .route(&format!("/marketing/v2{t}/campaigns"), get(api::campaigns))
        .route(
            &format!("/jpm/v2{t}/appointments/{{id}}"),
            get(api::get_appointment),
        )
        .route(
            &format!("/jpm/v2{t}/appointments/{{id}}/confirmation"),
            put(api::confirm).delete(api::unconfirm),
        )
        .route(&format!("/dispatch/v2{t}/capacity"), post(api::capacity))
        .route(
            &format!("/dispatch/v2{t}/technician-shifts"),
            get(api::technician_shifts),
        )
        .route(
            &format!("/crm/v2{t}/locations/{{id}}"),
            get(api::get_location),
        )
        .route(
            &format!("/crm/v2{t}/locations/{{id}}/contacts"),
            get(api::location_contacts),
        )
        .route(
            &format!("/crm/v2{t}/export/locations"),
            get(api::export_locations),
        )
        .route(
            &format!("/crm/v2{t}/export/locations/contacts"),
            get(api::export_location_contacts),
        )
        .route("/_sim/state", get(admin::state))
        .route("/_sim/seed", post(admin::seed))
        .route(
            "/_sim/requests",
            get(admin::requests).delete(admin::reset_requests),
        )
        .route(
            "/_sim/faults",
            get(admin::get_faults).post(admin::set_faults),
        )
        .route("/_sim/settings", post(admin::set_settings))
        .route("/_sim/tokens/expire", post(admin::expire_tokens))
        .route("/_sim/tenants/{tenant}/calls", post(admin::add_call))
        .route(
            "/_sim/tenants/{tenant}/calls/{id}",
            get(admin::get_call).patch(admin::edit_call),
        )
        .route("/_sim/tenants/{tenant}/jobs", post(admin::add_job))
        .route(
            "/_sim/tenants/{tenant}/scopes",
            post(admin::withhold_scopes),
        )
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        // Serving is all st-sim needs to be ready (its state lives in memory).
        .route(
            "/readyz",
            get(|| async { axum::Json(serde_json::json!({"status": "ready"})) }),
        )
        .fallback(|| async { state::problem(StatusCode::NOT_FOUND, "Not found") })
        .layer(lost)
        .with_state(shared)
}

/// `POST /connect/token` (form): OAuth 2.0 client credentials.
async fn token(
    State(s): State<Shared>,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    let oauth_error = |status: StatusCode, error: &str| {
        (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    match s.sim.issue_token(id, secret) {
        Some((token, ttl, scope)) => axum::Json(switchboard_servicetitan::models::TokenResponse {
            access_token: token,
            expires_in: ttl,
            token_type: "Bearer".into(),
            scope: Some(scope),
        })
        .into_response(),
        None => oauth_error(StatusCode::BAD_REQUEST, "invalid_client"),
    }
}
