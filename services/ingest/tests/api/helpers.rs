//! `spawn_app`: a running ingest on a free port against its own nats-server.

use std::sync::Arc;
use std::time::Duration;
use switchboard_ingest::Clock;
use switchboard_test_support::{
    Hook, HookSpec, NatsServer, StoredMessage, TestScheme, TestSecret, eventually,
};

pub const PUBLIC_URL: &str = "https://hooks.example.com";
pub const TENANTS: [&str; 2] = ["acme", "globex"];

/// Secret number for a tenant: tenants never share secrets.
pub fn secret_for(tenant: &str, scheme: TestScheme) -> TestSecret {
    scheme.secret(if tenant == "acme" { 1 } else { 2 })
}

/// The rotated-in second secret each source also accepts.
pub fn second_secret_for(tenant: &str, scheme: TestScheme) -> TestSecret {
    scheme.secret(if tenant == "acme" { 11 } else { 12 })
}

/// Config with both tenants and a source for every scheme.
pub fn config_toml(nats_url: &str, ingest_extra: &str) -> String {
    let mut toml = format!(
        "[nats]\nurl = \"{nats_url}\"\n\n[ingest]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n\
         max_body_bytes = 65536\n{ingest_extra}\n"
    );
    for tenant in TENANTS {
        toml.push_str(&format!(
            "[tenants.{tenant}]\ntimezone = \"America/Chicago\"\n\n"
        ));
        for scheme in TestScheme::ALL {
            toml.push_str(&format!(
                "[tenants.{tenant}.sources.{}]\n",
                scheme.source_name()
            ));
            toml.push_str(&scheme.source_toml(&[
                secret_for(tenant, scheme),
                second_secret_for(tenant, scheme),
            ]));
            toml.push('\n');
        }
    }
    toml
}

pub struct TestApp {
    pub address: String,
    /// Locked only by tests that kill or restart it.
    pub nats: std::sync::Mutex<NatsServer>,
    pub http: reqwest::Client,
    pub nats_client: switchboard_bus::async_nats::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(NatsServer::start(), "", None).await
}

/// Spawns ingest with extra `[ingest]` lines and optionally a pinned clock.
pub async fn spawn_app_with(nats: NatsServer, ingest_extra: &str, clock: Option<Clock>) -> TestApp {
    let toml = config_toml(&nats.url(), ingest_extra);
    spawn_app_toml(nats, &toml, clock).await
}

/// Spawns ingest with the config `toml` (usually [`config_toml`], adjusted).
pub async fn spawn_app_toml(nats: NatsServer, toml: &str, clock: Option<Clock>) -> TestApp {
    let config =
        switchboard_config::Config::from_toml_str(toml, &|_: &str| None).expect("test config");
    let clock = clock.unwrap_or_else(|| Arc::new(switchboard_signatures::system_now_ms));
    let app = switchboard_ingest::build_with_clock(config, clock)
        .await
        .expect("build ingest");
    let address = format!("http://{}", app.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let http = switchboard_test_support::http_client();
    let nats_client = nats.client().await;
    let test_app = TestApp {
        address,
        nats: std::sync::Mutex::new(nats),
        http,
        nats_client,
        shutdown: Some(tx),
        server: Some(server),
    };
    assert!(
        test_app.wait_ready(Duration::from_secs(20)).await,
        "ingest did not become ready"
    );
    test_app
}

impl TestApp {
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        eventually(timeout, || async {
            matches!(self.http.get(format!("{}/readyz", self.address)).send().await, Ok(r) if r.status() == 200)
        })
        .await
    }

    pub fn spec<'a>(
        &self,
        tenant: &'a str,
        scheme: TestScheme,
        body: &'a [u8],
        id: &'a str,
    ) -> HookSpec<'a> {
        HookSpec {
            public_url: PUBLIC_URL,
            tenant,
            source: scheme.source_name(),
            body,
            timestamp: switchboard_signatures::system_now_ms() / 1000,
            id,
        }
    }

    /// A valid delivery for `tenant`'s source of `scheme`.
    pub fn signed(&self, tenant: &'static str, scheme: TestScheme, body: &[u8], id: &str) -> Hook {
        scheme.sign(
            &secret_for(tenant, scheme),
            &self.spec(tenant, scheme, body, id),
        )
    }

    pub async fn send(&self, hook: &Hook) -> reqwest::Response {
        send_hook(&self.http, &self.address, hook)
            .await
            .expect("request sent")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn inbound(&self) -> Vec<StoredMessage> {
        switchboard_test_support::inbound_messages(&self.nats_client).await
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Graceful stop; returns what `run_until` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().unwrap().await.expect("server task")
    }
}

pub async fn send_hook(
    http: &reqwest::Client,
    address: &str,
    hook: &Hook,
) -> reqwest::Result<reqwest::Response> {
    hook.send(http, address).await
}

/// Asserts that `response` is the error reply `status` with `error` code `code`; `context`
/// names the case in a failure message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str, context: &str) {
    let (got, reply) = json(response).await;
    assert_eq!(
        (got, reply["error"].as_str()),
        (status, Some(code)),
        "{context}: {reply}"
    );
}

pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, value)
}
