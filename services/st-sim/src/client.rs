//! st-sim in a test: [`spawn_demo`] runs it on a free port with the demo seed (st-sim owns
//! that seed, so it is the one to load it), and [`SimClient`] is a typed client for the
//! `/_sim/…` admin endpoints the tests and benches call (seed, inspect, count, faults,
//! calls and jobs). Reads that a test picks arbitrary fields from stay `serde_json::Value`.
//! A failed request panics: this is for tests, where that is the failure wanted.

use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// st-sim on `127.0.0.1:0` with the demo seed (`seed/demo.json`), adjusted by `adjust`,
/// serving on the current Tokio runtime; returns its base URL (`http://127.0.0.1:port`).
pub async fn spawn_demo(adjust: impl FnOnce(&mut crate::Seed)) -> String {
    let mut seed = crate::load_seed(&demo_seed_path()).expect("st-sim's demo seed");
    adjust(&mut seed);
    let sim = crate::Application::build(seed, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("st-sim");
    let url = format!("http://{}", sim.local_addr());
    tokio::spawn(sim.run_until(std::future::pending()));
    url
}

/// Where the demo seed is (`services/st-sim/seed/demo.json`).
pub fn demo_seed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/demo.json")
}

/// The demo seed's ServiceTitan tenant and app credentials (`seed/demo.json`), as a
/// Switchboard config or a client names them. One copy, so a test cannot drift from the seed.
pub mod demo {
    use secrecy::SecretString;
    use std::time::Duration;
    use switchboard_servicetitan::{ClientSettings, RetryPolicy};

    pub const TENANT_ID: u64 = 1234567;
    pub const CLIENT_ID: &str = "cid.demo-hvac";
    pub const CLIENT_SECRET: &str = "cs1.demo-hvac-client-secret";
    pub const APP_KEY: &str = "ak1.demo-switchboard-app-key";

    /// `[tenants.{tenant}.servicetitan]` for the demo tenant of the st-sim at `sim`. The
    /// table stays open: a caller may append more of its keys (`rate_limit_per_sec = 30`).
    pub fn servicetitan_toml(tenant: &str, sim: &str) -> String {
        format!(
            "[tenants.{tenant}.servicetitan]\nenvironment = \"integration\"\ntenant_id = {TENANT_ID}\n\
             client_id = \"{CLIENT_ID}\"\nclient_secret = \"{CLIENT_SECRET}\"\napp_key = \"{APP_KEY}\"\n\
             api_base = \"{sim}\"\nauth_base = \"{sim}\"\n"
        )
    }

    /// A ServiceTitan client's settings for the demo tenant (Switchboard tenant `demo`) of
    /// the st-sim at `sim`.
    pub fn client_settings(
        sim: &str,
        rate_limit_per_sec: u32,
        retry: RetryPolicy,
    ) -> ClientSettings {
        ClientSettings {
            tenant: "demo".into(),
            tenant_id: TENANT_ID,
            api_base: sim.to_owned(),
            auth_base: sim.to_owned(),
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            app_key: SecretString::from(APP_KEY),
            rate_limit_per_sec,
            timeout: Duration::from_secs(10),
            retry,
        }
    }
}

/// The `/_sim/…` admin API of one st-sim.
#[derive(Debug, Clone)]
pub struct SimClient {
    base: String,
    http: reqwest::Client,
}

impl SimClient {
    /// A client for the st-sim at `base` (e.g. what [`spawn_demo`] returned).
    pub fn new(base: &str) -> Self {
        let http = switchboard_servicetitan::build_client(
            reqwest::Client::builder().timeout(Duration::from_secs(30)),
            "st-sim's admin client",
        )
        .expect("HTTP client");
        SimClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The base URL (`http://host:port`).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET {base}{path}` as JSON, for an admin read this client has no method for.
    pub async fn get(&self, path: &str) -> Value {
        self.json(self.http.get(self.at(path))).await
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn json(&self, request: reqwest::RequestBuilder) -> Value {
        request
            .send()
            .await
            .expect("st-sim answers")
            .json()
            .await
            .expect("st-sim answers JSON")
    }

    async fn status(&self, request: reqwest::RequestBuilder) -> StatusCode {
        request.send().await.expect("st-sim answers").status()
    }

    /// `POST {base}{path}` with JSON `body`: the status.
    async fn post(&self, path: &str, body: &Value) -> StatusCode {
        self.status(self.http.post(self.at(path)).json(body)).await
    }

    /// `GET /_sim/state`: the whole simulated state (the seed's shape, secrets redacted).
    pub async fn state(&self) -> Value {
        self.get("/_sim/state").await
    }

    /// `POST /_sim/seed`: replaces the whole state.
    pub async fn seed(&self, seed: &Value) -> StatusCode {
        self.post("/_sim/seed", seed).await
    }

    /// `GET /_sim/requests`: `counts` per operation, `rate_limited`, `rate_limited_by_tenant`.
    pub async fn requests(&self) -> Value {
        self.get("/_sim/requests").await
    }

    /// How many requests for `operation` (e.g. "update call") st-sim has counted.
    pub async fn count(&self, operation: &str) -> u64 {
        self.requests().await["counts"][operation]
            .as_u64()
            .unwrap_or(0)
    }

    /// `DELETE /_sim/requests`: the counts start again from zero.
    pub async fn reset_requests(&self) -> StatusCode {
        self.status(self.http.delete(format!("{}/_sim/requests", self.base)))
            .await
    }

    /// `GET /_sim/faults`.
    pub async fn faults(&self) -> Value {
        self.get("/_sim/faults").await
    }

    /// `POST /_sim/faults` (e.g. `{"force_status": 500, "force_count": 30}`).
    pub async fn set_faults(&self, faults: &Value) -> StatusCode {
        self.post("/_sim/faults", faults).await
    }

    /// `POST /_sim/tokens/expire`: every issued token expires now.
    /// Grants tenant `tenant`'s API user every scope but `withheld`.
    pub async fn withhold_scopes(&self, tenant: u64, withheld: &[&str]) -> StatusCode {
        self.post(
            &format!("/_sim/tenants/{tenant}/scopes"),
            &serde_json::json!({ "withheld": withheld }),
        )
        .await
    }

    pub async fn expire_tokens(&self) -> StatusCode {
        self.status(self.http.post(format!("{}/_sim/tokens/expire", self.base)))
            .await
    }

    /// `GET /_sim/tenants/{tenant}/calls/{id}`.
    pub async fn call(&self, tenant: u64, id: i64) -> Value {
        self.json(
            self.http
                .get(format!("{}/_sim/tenants/{tenant}/calls/{id}", self.base)),
        )
        .await
    }

    /// `POST /_sim/tenants/{tenant}/calls`: the status (201 when created) and the call.
    pub async fn create_call(&self, tenant: u64, call: &Value) -> (StatusCode, Value) {
        let path = format!("/_sim/tenants/{tenant}/calls");
        self.answer(self.http.post(self.at(&path)).json(call)).await
    }

    /// `PATCH /_sim/tenants/{tenant}/calls/{id}`: the status and the call as it is now.
    pub async fn patch_call(&self, tenant: u64, id: i64, edit: &Value) -> (StatusCode, Value) {
        let path = format!("/_sim/tenants/{tenant}/calls/{id}");
        self.answer(self.http.patch(self.at(&path)).json(edit))
            .await
    }

    /// The status and the body (null when not JSON).
    async fn answer(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("st-sim answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /_sim/tenants/{tenant}/jobs`: the job created.
    pub async fn create_job(&self, tenant: u64, job: &Value) -> Value {
        self.json(
            self.http
                .post(format!("{}/_sim/tenants/{tenant}/jobs", self.base))
                .json(job),
        )
        .await
    }
}
