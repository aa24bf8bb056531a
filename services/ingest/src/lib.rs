//! `switchboard-ingest`: the front door. Providers (ServiceTitan, Twilio, Telnyx, voice AI
//! platforms, …) POST webhooks to `/v1/hooks/{tenant}/{source}`; ingest verifies the
//! signature over the raw bytes, publishes the delivery verbatim to the `INBOUND` stream,
//! and answers 200 only once JetStream has acknowledged it.
//!
//! Ingest is stateless: any number of replicas can run behind a load balancer, and a
//! provider's retry that lands on another replica is deduplicated by JetStream through the
//! `Nats-Msg-Id` header. It parses nothing beyond what verification and the dedup id need;
//! turning payloads into events is the router's job, downstream, replayable from INBOUND.
//!
//! [`Application::build`] wires everything from a [`Config`]; tests build it on port 0 and
//! drive it over HTTP.

mod hooks;
mod metrics;
mod rejected;
mod routes;
mod streams;
mod tools;

pub use hooks::dedup_id;

use axum::Router;
use axum::routing::any;
use std::sync::Arc;
use std::time::Duration;
use switchboard_bus::{Hosted, NatsService, async_nats};
use switchboard_config::Config;
use switchboard_telemetry::{HttpServer, Registry};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Returns the current Unix time in milliseconds; tests pin it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Shared by every request.
pub(crate) struct IngestState {
    /// Swapped whole by a live reload (tenants, sources, secrets).
    routes: switchboard_bus::reload::Live<routes::RouteTable>,
    jetstream: async_nats::jetstream::Context,
    /// For tool calls: NATS request-reply with the booking service.
    client: async_nats::Client,
    /// How long a tool call waits for the booking service's answer.
    tools_timeout: Duration,
    public_url: String,
    max_body_bytes: usize,
    body_timeout: Duration,
    publish_timeout: Duration,
    streams: Arc<streams::StreamKeeper>,
    in_flight_limit: Semaphore,
    metrics: metrics::IngestMetrics,
    clock: Clock,
    /// Writes 400/401/413/415 answers to REJECTED, off the request path.
    rejected: rejected::Recorder,
}

/// A live reload of ingest: the route table (tenants, sources, secrets, the REJECTED cap
/// per source) is rebuilt from the new config, every verifier checked, and swapped in
/// whole. The listener, NATS and the other `[ingest]` limits take a restart.
struct IngestReload(Arc<IngestState>);

impl switchboard_bus::reload::Reload for IngestReload {
    fn apply<'a>(
        &'a self,
        new: &'a Config,
        changed: &'a [String],
    ) -> switchboard_bus::reload::Applying<'a> {
        Box::pin(async move {
            let table = routes::RouteTable::build(new, &self.0.metrics)?;
            self.0.routes.set(table);
            let mut later =
                switchboard_bus::reload::under(changed, &["ingest.", "nats.", "admin."]);
            later.retain(|k| k != "ingest.rejected.per_source_per_sec");
            Ok(later)
        })
    }
}

/// Checks everything `Application::build` would check without connecting or listening:
/// the config plus every source's secrets and options (`--check-config`).
pub fn check_config(config: &Config) -> anyhow::Result<()> {
    routes::RouteTable::build(config, &metrics::IngestMetrics::new(Registry::default()))?;
    Ok(())
}

/// Ingest as its binary and the tests run it: `Application::build(config)`, then
/// `run_until(shutdown)` (see [`switchboard_bus::host`]).
pub type Application = Hosted<Ingest>;

/// Ingest's work is its HTTP requests: nothing runs beside the server.
#[derive(Debug)]
pub struct Ingest(());

impl NatsService for Ingest {
    /// Builds ingest with the system clock.
    async fn build(config: Config) -> anyhow::Result<Application> {
        build_with_clock(config, Arc::new(switchboard_signatures::system_now_ms)).await
    }

    /// The requests are the work: the server's grace
    /// (`ingest.shutdown_timeout_secs`) lets those in flight finish.
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        stop.cancelled().await;
        Ok(())
    }
}

/// Builds ingest: verifiers from config (errors name the key), a NATS client that
/// connects and reconnects in the background, stream set-up that retries until NATS
/// is there, and the listener bound to `ingest.listen` (port 0 picks a free port).
pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Application> {
    let registry = Registry::default();
    let metrics = metrics::IngestMetrics::new(registry.clone());
    let routes = routes::RouteTable::build(&config, &metrics)?;

    let client = switchboard_bus::connect(&config.nats, "switchboard-ingest").await?;
    let publish_timeout = Duration::from_millis(config.ingest.publish_timeout_ms);
    let jetstream = switchboard_bus::jetstream(client.clone(), publish_timeout);
    let keeper = Arc::new(streams::StreamKeeper::new(
        jetstream.clone(),
        switchboard_bus::inbound_stream_config(&config.nats),
        config.ingest.max_body_bytes,
    ));
    tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.run().await }
    });

    let state = Arc::new(IngestState {
        routes: switchboard_bus::reload::Live::new(routes),
        jetstream: jetstream.clone(),
        client: client.clone(),
        tools_timeout: Duration::from_millis(config.ingest.tools_timeout_ms),
        public_url: config
            .ingest
            .public_url
            .as_deref()
            .map(switchboard_config::parse_public_url)
            .transpose()
            .map_err(anyhow::Error::msg)?
            .unwrap_or_default(),
        max_body_bytes: config.ingest.max_body_bytes,
        body_timeout: Duration::from_secs(config.ingest.body_timeout_secs),
        publish_timeout,
        streams: keeper.clone(),
        in_flight_limit: Semaphore::new(config.ingest.max_in_flight),
        metrics,
        clock,
        rejected: rejected::Recorder::start(&config, jetstream.clone()),
    });

    let ready = readiness(client.clone(), jetstream, keeper);
    let router = Router::new()
        .route("/v1/hooks/{tenant}/{source}", any(hooks::receive))
        .route("/v1/tools/{tenant}/{source}", any(tools::receive))
        .with_state(state.clone())
        .merge(switchboard_telemetry::ops_router(registry.clone(), ready));
    let server = HttpServer::bind(
        "ingest",
        "ingest.listen",
        config.ingest.listen,
        router,
        "no such endpoint; webhooks go to POST /v1/hooks/{tenant}/{source}, tool calls to POST /v1/tools/{tenant}/{source}",
    )
    .await?;
    let grace = Duration::from_secs(config.ingest.shutdown_timeout_secs);
    Ok(Hosted::new(server, client, Ingest(()))
        .with_running_config(&config)
        .with_grace(grace)
        .with_reload(Arc::new(IngestReload(state)), &registry))
}

fn readiness(
    client: async_nats::Client,
    js: async_nats::jetstream::Context,
    streams: Arc<streams::StreamKeeper>,
) -> switchboard_telemetry::ReadyCheck {
    Arc::new(move || {
        let (client, js, streams) = (client.clone(), js.clone(), streams.clone());
        Box::pin(async move {
            if !switchboard_bus::is_connected(&client) {
                return Err("not connected to NATS".to_owned());
            }
            if !streams.is_ready() {
                return Err("stream INBOUND is not set up yet".to_owned());
            }
            match tokio::time::timeout(
                Duration::from_secs(2),
                js.get_stream_no_info(switchboard_bus::INBOUND_STREAM),
            )
            .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => {
                    streams.stream_missing();
                    Err(format!("stream INBOUND is not available: {err}"))
                }
                Err(_) => Err("JetStream did not answer within 2 s".to_owned()),
            }
        })
    })
}
