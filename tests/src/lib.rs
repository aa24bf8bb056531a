//! The stack builder for tests and benches across services. End-to-end tests live in
//! `tests/tests/`, benches that run several services in `tests/benches/`; each starts real
//! processes (nats-server, st-sim, the services it asks for) and checks what crosses
//! between them. This crate is the only one that knows every service: the services' own
//! crates test themselves alone (with NATS and st-sim), and `switchboard-test-support`
//! knows no service at all.
//!
//! ```ignore
//! let s = Stack::builder(|nats, sim| config(nats, sim))
//!     .ingest()
//!     .router()
//!     .calls()
//!     .start()
//!     .await;
//! s.report("msg_1", outcome).await;
//! assert_eq!(s.sim.count("update call").await, 1);
//! ```

use std::time::Duration;
use switchboard_config::Config;
use switchboard_st_sim::{Seed, SimClient};
use switchboard_test_support::{NatsServer, agent_report, eventually, stream_messages, wait_ready};

pub use switchboard_st_sim;
pub use switchboard_test_support::{self, ServiceTask};

/// A service the stack can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ingest,
    Router,
    Calls,
    Analytics,
    Booking,
}

/// The services' sections of a test stack's config on `nats`: every listener on port 0,
/// and short timings that keep a test quick (the router's ack wait 2 s, the calls worker's
/// polls 200 ms, analytics' sweep 1 s). `calls` is appended to the `[calls]` section.
pub fn services_toml(nats: &str, calls: &str) -> String {
    format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[doctor]\nat_start = false\n[ingest]\nlisten = \"127.0.0.1:0\"\n\
         [router]\nlisten = \"127.0.0.1:0\"\nack_wait_secs = 2\nnak_delay_ms = 100\n\
         [calls]\nlisten = \"127.0.0.1:0\"\nretry_delay_ms = 200\nexport_poll_ms = 200\nack_wait_secs = 5\n{calls}\
         [analytics]\nlisten = \"127.0.0.1:0\"\ndebounce_ms = 100\nsweep_secs = 1\nreclassify_grace_secs = 2\n"
    )
}

/// Builds `service` from `config` and runs it in a task, without waiting for it to be
/// ready; returns its base URL and the task. [`Stack::start_service`] is the usual way; this
/// is for a test that kills and restarts a service itself.
pub async fn spawn_service(service: Service, config: Config) -> (String, ServiceTask) {
    use switchboard_test_support::spawn_service as spawn;
    match service {
        Service::Ingest => spawn::<switchboard_ingest::Ingest>(config).await,
        Service::Router => spawn::<switchboard_router::Router>(config).await,
        Service::Calls => spawn::<switchboard_calls::CallsWorker>(config).await,
        Service::Analytics => spawn::<switchboard_analytics::Analytics>(config).await,
        Service::Booking => spawn::<switchboard_booking::Booking>(config).await,
    }
}

/// Builds a config from the NATS URL and st-sim's base URL (a test's TOML template).
pub type ConfigFn = Box<dyn Fn(&str, &str) -> Config + Send + Sync>;

type SeedFn = Box<dyn FnOnce(&mut Seed) + Send>;

/// What to start: see [`Stack::builder`].
pub struct StackBuilder {
    config: ConfigFn,
    seed: Option<SeedFn>,
    services: Vec<(Service, Option<ConfigFn>)>,
}

impl std::fmt::Debug for StackBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackBuilder")
            .field("seed", &self.seed.is_some())
            .field(
                "services",
                &self.services.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl StackBuilder {
    /// Adjusts st-sim's demo seed before it starts.
    pub fn seed(mut self, adjust: impl FnOnce(&mut Seed) + Send + 'static) -> Self {
        self.seed = Some(Box::new(adjust));
        self
    }

    /// Starts `service` with the stack's config.
    pub fn service(mut self, service: Service) -> Self {
        self.services.push((service, None));
        self
    }

    /// Starts `service` with a config of its own (e.g. one more key in its section).
    pub fn service_with(
        mut self,
        service: Service,
        config: impl Fn(&str, &str) -> Config + Send + Sync + 'static,
    ) -> Self {
        self.services.push((service, Some(Box::new(config))));
        self
    }

    pub fn ingest(self) -> Self {
        self.service(Service::Ingest)
    }

    pub fn router(self) -> Self {
        self.service(Service::Router)
    }

    pub fn calls(self) -> Self {
        self.service(Service::Calls)
    }

    pub fn analytics(self) -> Self {
        self.service(Service::Analytics)
    }

    pub fn booking(self) -> Self {
        self.service(Service::Booking)
    }

    /// Starts nats-server and st-sim, then builds every service asked for (in the order
    /// asked), and waits until each answers `/readyz`.
    pub async fn start(self) -> Stack {
        let nats = NatsServer::start();
        let sim_url = switchboard_st_sim::spawn_demo(|seed| {
            if let Some(adjust) = self.seed {
                adjust(seed);
            }
        })
        .await;
        let mut stack = Stack {
            sim: SimClient::new(&sim_url),
            http: switchboard_test_support::http_client(),
            nats,
            config: self.config,
            urls: Vec::new(),
            tasks: Vec::new(),
        };
        let mut started = Vec::new();
        for (service, config) in &self.services {
            let config = match config {
                Some(f) => f(&stack.nats.url(), stack.sim.url()),
                None => stack.config(),
            };
            started.push(stack.spawn(*service, config).await);
        }
        for url in started {
            wait_ready(&stack.http, &format!("{url}/readyz")).await;
        }
        stack
    }
}

/// A running stack: nats-server, st-sim and the services started. Dropping it stops the
/// services it started (nats-server stops with its [`NatsServer`]).
pub struct Stack {
    /// The nats-server every service talks to.
    pub nats: NatsServer,
    /// st-sim's `/_sim` admin API (its base URL is `sim.url()`).
    pub sim: SimClient,
    /// An HTTP client for the services' APIs.
    pub http: reqwest::Client,
    config: ConfigFn,
    urls: Vec<(Service, String)>,
    tasks: Vec<ServiceTask>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("nats", &self.nats.url())
            .field("sim", &self.sim.url())
            .field("services", &self.urls)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Stack {
    /// A stack whose services are configured by `config(nats_url, sim_url)`.
    pub fn builder(config: impl Fn(&str, &str) -> Config + Send + Sync + 'static) -> StackBuilder {
        StackBuilder {
            config: Box::new(config),
            seed: None,
            services: Vec::new(),
        }
    }

    /// The stack's config (the test's template with this stack's URLs).
    pub fn config(&self) -> Config {
        (self.config)(&self.nats.url(), self.sim.url())
    }

    /// Builds `service` from `config`, runs it, waits for its `/readyz` and returns its
    /// base URL. More than one of a service may run (replicas); the URL helpers name the
    /// first.
    pub async fn start_service(&mut self, service: Service, config: Config) -> String {
        let url = self.spawn(service, config).await;
        wait_ready(&self.http, &format!("{url}/readyz")).await;
        url
    }

    async fn spawn(&mut self, service: Service, config: Config) -> String {
        let (url, task) = spawn_service(service, config).await;
        self.urls.push((service, url.clone()));
        self.tasks.push(task);
        url
    }

    /// The base URL of the first `service` started; panics if none was.
    pub fn url(&self, service: Service) -> &str {
        self.urls
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, url)| url.as_str())
            .unwrap_or_else(|| panic!("{service:?} was not started"))
    }

    pub fn ingest_url(&self) -> &str {
        self.url(Service::Ingest)
    }

    pub fn calls_url(&self) -> &str {
        self.url(Service::Calls)
    }

    pub fn analytics_url(&self) -> &str {
        self.url(Service::Analytics)
    }

    /// An agent report of tenant demo (source `agent`), signed and delivered through
    /// ingest, which must answer 200.
    pub async fn report(&self, id: &str, report: serde_json::Value) {
        let hook = agent_report("demo", "agent", id, &serde_json::to_vec(&report).unwrap());
        let response = hook.send(&self.http, self.ingest_url()).await.unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Every CloudEvent on EVENTS of type `kind`.
    pub async fn events_of(&self, kind: &str) -> Vec<serde_json::Value> {
        let client = self.nats.client().await;
        stream_messages(&client, "EVENTS")
            .await
            .into_iter()
            .map(|m| serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap())
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// Waits up to 30 s for a dead letter whose JSON satisfies `wanted`.
    pub async fn dead_letter(&self, wanted: impl Fn(&serde_json::Value) -> bool) -> bool {
        let client = self.nats.client().await;
        eventually(Duration::from_secs(30), || async {
            stream_messages(&client, "DLQ")
                .await
                .iter()
                .any(|m| wanted(&serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap()))
        })
        .await
    }

    /// `GET /metrics` of the first `service` started.
    pub async fn metrics(&self, service: Service) -> String {
        self.get_text(&format!("{}/metrics", self.url(service)))
            .await
    }

    /// `GET url` as JSON.
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn get_text(&self, url: &str) -> String {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
