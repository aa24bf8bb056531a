//! What every Switchboard service shares at its edges: structured logs, Prometheus
//! metrics, the `/healthz` `/readyz` `/metrics` endpoints and the shutdown signal.
//!
//! Services call [`init_tracing`] once in `main`; libraries and tests never install a
//! global subscriber, so tests can capture logs with their own.

pub mod http;
pub mod metrics;
pub mod trace;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use http::{HttpServer, json_error};
pub use metrics::{
    Counter, CounterVec, FeatureGauge, Gauge, GaugeVec, Histogram, HistogramVec, LATENCY_BUCKETS,
    Registry, StRequestObserver,
};

/// Log filter, e.g. `info` or `switchboard_ingest=debug,info`. Falls back to `RUST_LOG`.
pub const LOG_ENV: &str = "SWITCHBOARD_LOG";
/// `json` for one JSON object per line (for log shippers); anything else: human text.
pub const LOG_FORMAT_ENV: &str = "SWITCHBOARD_LOG_FORMAT";

/// Installs the global tracing subscriber: filter from `SWITCHBOARD_LOG` / `RUST_LOG`
/// (default `info`), format from `SWITCHBOARD_LOG_FORMAT`. Logs go to stderr.
pub fn init_tracing() {
    init_tracing_with(None);
}

/// Installs ring as rustls's process-wide crypto provider (idempotent). reqwest is built
/// with `rustls-no-provider`, so every process that makes HTTPS requests (ServiceTitan, an
/// OTLP collector) installs it before building a client.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A layer beside the log output (the OTLP exporter, [`trace::init`]).
pub type ExtraLayer =
    Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// [`init_tracing`], with `extra` beside the log output.
pub fn init_tracing_with(extra: Option<ExtraLayer>) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = std::env::var(LOG_ENV)
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, not in container logs or files.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let json = std::env::var(LOG_FORMAT_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let registry = tracing_subscriber::registry().with(extra);
    let result = if json {
        registry.with(fmt.json()).with(filter).try_init()
    } else {
        registry.with(fmt).with(filter).try_init()
    };
    if let Err(err) = result {
        eprintln!("tracing was already initialised: {err}");
    }
}

/// A readiness probe: `Ok` when the service can do its job, `Err(reason)` otherwise.
pub type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// A readiness probe from a synchronous check.
pub fn ready_fn(check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> ReadyCheck {
    let check = Arc::new(check);
    Arc::new(move || {
        let result = check();
        Box::pin(async move { result })
    })
}

/// `GET /healthz` (the process is alive), `GET /readyz` (the probe passes) and
/// `GET /metrics` (Prometheus text), to merge into a service's router.
pub fn ops_router<S: Clone + Send + Sync + 'static>(
    registry: Registry,
    ready: ReadyCheck,
) -> Router<S> {
    Router::new()
        .route("/healthz", get(|| async { json(StatusCode::OK, serde_json::json!({"status": "ok"})) }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.clone();
                async move {
                    match ready().await {
                        Ok(()) => json(StatusCode::OK, serde_json::json!({"status": "ready"})),
                        Err(reason) => json(
                            StatusCode::SERVICE_UNAVAILABLE,
                            serde_json::json!({"status": "not_ready", "error": "unavailable", "message": reason}),
                        ),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let registry = registry.clone();
                async move { ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], registry.render()) }
            }),
        )
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        () = term => tracing::info!("SIGTERM received: shutting down"),
    }
}

/// The arguments every service binary takes.
#[derive(Debug, clap::Parser)]
#[command(
    version,
    after_help = "Configuration: docs/configuration.md. Every key can also be set from the environment."
)]
struct ServiceArgs {
    /// Config file (TOML)
    #[arg(short, long, value_name = "PATH", env = switchboard_config::CONFIG_ENV)]
    config: Option<std::path::PathBuf>,
    /// Load and check the config (and what the service checks beyond it), then exit
    #[arg(long)]
    check_config: bool,
}

/// The `main` every service shares: `BINARY [--config PATH] [--check-config]`, config from
/// `--config` or `SWITCHBOARD_CONFIG`, tracing, a multi-threaded runtime, then `run`.
/// `check` (if given) is what `--check-config` verifies beyond loading the file.
pub fn service_main<Fut>(
    binary: &'static str,
    about: &'static str,
    check: Option<fn(&switchboard_config::Config) -> anyhow::Result<()>>,
    run: impl FnOnce(switchboard_config::Config, Option<std::path::PathBuf>) -> Fut,
) -> anyhow::Result<()>
where
    Fut: Future<Output = anyhow::Result<()>>,
{
    use anyhow::Context as _;
    use clap::{CommandFactory as _, FromArgMatches as _};
    let matches = ServiceArgs::command()
        .name(binary)
        .bin_name(binary)
        .about(about)
        .get_matches();
    let args = ServiceArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let config = switchboard_config::Config::load(args.config.as_deref());
    if config.is_err() || args.check_config {
        init_tracing();
    }
    let config = config?;
    // Where it came from, for live reloads (SIGHUP, POST /admin/reload).
    let path = args
        .config
        .clone()
        .or_else(|| std::env::var_os(switchboard_config::CONFIG_ENV).map(Into::into));
    if args.check_config {
        if let Some(check) = check {
            check(&config)?;
        }
        eprintln!(
            "config OK: {} tenant(s), {} source(s)",
            config.tenants.len(),
            config.sources().count()
        );
        return Ok(());
    }
    trace::init(binary, config.telemetry.otlp_endpoint.as_deref())?;
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(Box::pin(run(config, path)));
    // The last spans, before the process ends.
    trace::flush();
    result
}
