//! What every NATS service is from the outside: built from the config, an HTTP server on a
//! port (0 in tests), and one way to run until shutdown that loses nothing.
//!
//! A service implements [`NatsService`] (how it is built, what it runs beside its HTTP
//! server) and names `Hosted<Itself>` its `Application`; `Application::build(config)`,
//! `local_addr()` and `run_until(shutdown)` are then the same for every service. Ingest, the
//! router, the calls worker and analytics each used to carry their own copy of these and
//! of the stop sequence, and the copies had begun to drift. The order matters:
//!
//! 1. On shutdown the work is asked to stop (a [`CancellationToken`], which the consumer
//!    runtime watches) and given up to [`SETTLE`] to finish the messages in hand. A message
//!    cut short is redelivered after its `ack_wait`, never lost.
//! 2. Only then does the HTTP server stop accepting, so `/readyz` and `/metrics` keep
//!    answering while the work settles. Requests in flight get the server's grace.
//! 3. The NATS client is flushed, so the last acks and publishes reach the server.
//!
//! Everything runs inside the one future, so dropping it stops the service at once, as a
//! crash would: tests rely on that to play SIGKILL.

use crate::reload::Reload;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use switchboard_config::{Config, Fingerprint};
use switchboard_telemetry::{Gauge, HttpServer, Registry};
use tokio_util::sync::CancellationToken;

/// How long the work may take to settle once it is asked to stop.
pub const SETTLE: Duration = Duration::from_secs(10);

/// A service: how it is built from the config, and the work it runs beside its HTTP server.
pub trait NatsService: Sized + Send + 'static {
    /// Connects, sets up, binds the HTTP server: everything that can fail at start, so a
    /// bad config or an unreachable dependency is an error here, naming what is wrong.
    fn build(config: Config) -> impl Future<Output = anyhow::Result<Hosted<Self>>>;

    /// The work beside the HTTP server. `stop` is cancelled at shutdown: return soon after,
    /// once the messages in hand are settled. Returning early ends the service.
    fn run(self, stop: CancellationToken) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A service with its outside: the bound HTTP server and the NATS connection.
pub struct Hosted<S> {
    server: HttpServer,
    client: async_nats::Client,
    grace: Duration,
    service: S,
    /// The config it runs on, by key (for a live reload's changed keys).
    fingerprint: Fingerprint,
    /// `[admin] reload_endpoint`.
    reload_endpoint: bool,
    /// Where the config came from, for SIGHUP and `POST /admin/reload`.
    config_path: Option<PathBuf>,
    /// How the service applies a new config, and its generation gauge.
    reload: Option<(Arc<dyn Reload>, Gauge)>,
}

impl<S> std::fmt::Debug for Hosted<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosted")
            .field("server", &self.server)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl<S> Hosted<S> {
    /// `service` behind `server`, talking through `client`. Requests in flight get two
    /// seconds to finish at shutdown; see [`Self::with_grace`].
    pub fn new(server: HttpServer, client: async_nats::Client, service: S) -> Self {
        Self {
            server,
            client,
            grace: Duration::from_secs(2),
            service,
            fingerprint: Fingerprint::default(),
            reload_endpoint: false,
            config_path: None,
            reload: None,
        }
    }

    /// The service applies a new config live through `handle` (SIGHUP, `POST
    /// /admin/reload`); `switchboard_config_generation` goes on `registry`.
    pub fn with_reload(mut self, handle: Arc<dyn Reload>, registry: &Registry) -> Self {
        let generation = registry.gauge(
            "switchboard_config_generation",
            "Configs applied since start: 1 at start, +1 per live reload.",
        );
        generation.set(1);
        self.reload = Some((handle, generation));
        self
    }

    /// The config the service was built from: its keys (to name what a reload changes)
    /// and whether `POST /admin/reload` is served. [`Self::build`] sets it; a service
    /// built another way (ingest with a test clock) sets it itself.
    pub fn with_running_config(mut self, config: &Config) -> Self {
        self.fingerprint = config.fingerprint.clone();
        self.reload_endpoint = config.admin.reload_endpoint;
        self
    }

    /// The file the config was loaded from: SIGHUP and `POST /admin/reload` re-read it.
    pub fn with_config_path(mut self, path: Option<PathBuf>) -> Self {
        self.config_path = path;
        self
    }

    /// How long requests in flight may take to finish at shutdown (ingest's
    /// `shutdown_timeout_secs`, where the requests are the work).
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The bound address (useful when the configured port is 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

impl<S: NatsService> Hosted<S> {
    /// [`NatsService::build`]. Boxed: a service's set-up is a large future.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let fingerprint = config.fingerprint.clone();
        let reload_endpoint = config.admin.reload_endpoint;
        let mut hosted = Box::pin(S::build(config)).await?;
        hosted.fingerprint = fingerprint;
        hosted.reload_endpoint = reload_endpoint;
        Ok(hosted)
    }

    /// Serves and runs the service's work until `shutdown` resolves or either ends, then
    /// stops in the order the module doc gives. A failure of either is returned.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            server,
            client,
            grace,
            service,
            fingerprint,
            reload_endpoint,
            config_path,
            reload,
        } = self;
        let name = server.name();
        let (asks, asked) = tokio::sync::mpsc::channel(4);
        let server = if reload_endpoint {
            server.merge(crate::reload::admin_router(asks))
        } else {
            server
        };
        let (handle, generation) = reload.unzip();
        let reloader = crate::reload::Reloader {
            path: config_path,
            handle,
            running: fingerprint,
            generation,
            name,
        };
        let reloads = reloader.serve(asked);
        tokio::pin!(reloads);
        let stop = CancellationToken::new();
        let (served, serving) = tokio::sync::oneshot::channel::<()>();
        let serve = server.serve(
            async move {
                let _ = serving.await;
            },
            grace,
        );
        tokio::pin!(serve);
        // Boxed: a service's work (consumers, followers, loops) is a large future.
        let mut work = Box::pin(service.run(stop.clone()));
        // Polling a finished future again would panic: remember which one ended.
        let (mut outcome, mut work_done, mut serve_done) = (Ok(()), false, false);
        tokio::select! {
            () = shutdown => {}
            r = &mut serve => { outcome = r; serve_done = true; }
            r = &mut work => { outcome = r; work_done = true; }
            () = &mut reloads => {}
        }
        stop.cancel();
        if !work_done {
            let _ = tokio::time::timeout(SETTLE, &mut work).await;
        }
        let _ = served.send(());
        if !serve_done {
            let _ = tokio::time::timeout(grace + Duration::from_secs(1), &mut serve).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
        tracing::info!("{name} stopped");
        outcome
    }
}

/// A service binary's `main`: arguments, config, logs, then [`Hosted::build`] and
/// [`Hosted::run_until`] the process's shutdown signal. See
/// [`switchboard_telemetry::service_main`] for `check`.
pub fn service_main<S: NatsService>(
    binary: &'static str,
    about: &'static str,
    check: Option<fn(&Config) -> anyhow::Result<()>>,
) -> anyhow::Result<()> {
    switchboard_telemetry::service_main(binary, about, check, |config, path| async move {
        let app = Hosted::<S>::build(config).await?.with_config_path(path);
        app.run_until(switchboard_telemetry::shutdown_signal())
            .await
    })
}
