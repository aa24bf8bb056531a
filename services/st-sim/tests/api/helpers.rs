//! `spawn_sim`: st-sim on a free port with the demo seed (adjusted per test), and a client
//! for its demo tenant.

use std::sync::Arc;
use std::time::Duration;
use switchboard_servicetitan::{ClientSettings, RetryPolicy, TenantClient};
use switchboard_st_sim::{Application, Seed};

pub use switchboard_st_sim::demo::{APP_KEY, CLIENT_ID, CLIENT_SECRET, TENANT_ID};

pub fn demo_seed() -> Seed {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/demo.json");
    switchboard_st_sim::load_seed(&path).expect("demo seed loads")
}

pub struct TestSim {
    pub address: String,
    pub http: reqwest::Client,
    pub admin: switchboard_st_sim::SimClient,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_sim(adjust: impl FnOnce(&mut Seed)) -> TestSim {
    let mut seed = demo_seed();
    adjust(&mut seed);
    let app = Application::build(seed, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("st-sim builds");
    let address = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    switchboard_servicetitan::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    TestSim {
        admin: switchboard_st_sim::SimClient::new(&address),
        address,
        http,
        _shutdown: tx,
    }
}

impl TestSim {
    pub fn settings(&self, rate_limit_per_sec: u32) -> ClientSettings {
        switchboard_st_sim::demo::client_settings(
            &self.address,
            rate_limit_per_sec,
            RetryPolicy {
                max_attempts: 6,
                base_delay: Duration::from_millis(50),
                max_delay: Duration::from_secs(2),
            },
        )
    }

    pub fn client(&self, rate_limit_per_sec: u32) -> Arc<TenantClient> {
        Arc::new(TenantClient::new(self.settings(rate_limit_per_sec)).unwrap())
    }

    pub async fn admin_post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.address))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        self.admin.get(path).await
    }

    pub async fn count(&self, operation: &str) -> u64 {
        self.admin.count(operation).await
    }

    pub async fn rate_limited(&self) -> u64 {
        self.admin.requests().await["rate_limited"]
            .as_u64()
            .unwrap()
    }

    pub async fn token(&self) -> String {
        let r: serde_json::Value = self
            .http
            .post(format!("{}/connect/token", self.address))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"].as_str().unwrap().to_owned()
    }
}
