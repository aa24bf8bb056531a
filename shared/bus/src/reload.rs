//! Live reload: a service re-reads its config file on `SIGHUP`, or on `POST /admin/reload`
//! on its ops port when `[admin] reload_endpoint = true`, and applies it without a restart.
//!
//! Platform teams add businesses every week and providers rotate secrets; a restart of
//! every service for each is both slow and a risk. So:
//! - the file is loaded and validated exactly as at start; an invalid file is refused with
//!   the same error, and the service keeps running on the config it has;
//! - the service applies a valid one through its [`Reload`] handle, which builds everything
//!   new first and swaps it in at once, so a request in flight finishes on the config it
//!   started with and the next one sees the new one;
//! - what changed is logged by key, never by value, with the keys the service can only take
//!   at its next restart (a listen address, the NATS URL) named as such;
//! - `switchboard_config_generation` counts the configs applied (1 at start).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use switchboard_config::{Config, Fingerprint};
use switchboard_telemetry::Gauge;
use tokio::sync::{mpsc, oneshot};

/// How a service applies a new config live.
pub trait Reload: Send + Sync + 'static {
    /// Applies `new` (already loaded and validated). `changed` names the keys that differ
    /// from the running config. Returns the changed keys this service takes only at its
    /// next restart. An error applies nothing. Async: a service may have to ask
    /// ServiceTitan first (the calls worker resolves a new policy's names).
    fn apply<'a>(&'a self, new: &'a Config, changed: &'a [String]) -> Applying<'a>;
}

/// What [`Reload::apply`] returns.
pub type Applying<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<Vec<String>>> + Send + 'a>>;

/// The changed keys under any of `prefixes` (what a service takes only at restart).
pub fn under(changed: &[String], prefixes: &[&str]) -> Vec<String> {
    changed
        .iter()
        .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
        .cloned()
        .collect()
}

/// For a service that applies none of its keys live yet: a reload is still loaded and
/// validated in full (an invalid file is refused as everywhere), and every changed key
/// under one of these prefixes is named as taking effect at the next restart.
#[derive(Debug, Clone, Copy)]
pub struct AtRestart(pub &'static [&'static str]);

impl Reload for AtRestart {
    fn apply<'a>(&'a self, _new: &'a Config, changed: &'a [String]) -> Applying<'a> {
        Box::pin(async move { Ok(under(changed, self.0)) })
    }
}

/// What a reload did.
#[derive(Debug, Clone, Serialize)]
pub struct Reloaded {
    /// The config generation now running.
    pub generation: i64,
    /// Every key that changed.
    pub changed: Vec<String>,
    /// The changed keys that take effect at the next restart.
    pub restart_needed: Vec<String>,
}

/// A reload asked over HTTP: the answer goes back on the sender.
pub(crate) type Ask = oneshot::Sender<Result<Reloaded, String>>;

/// The reload state of one running service.
pub(crate) struct Reloader {
    pub(crate) path: Option<PathBuf>,
    pub(crate) handle: Option<Arc<dyn Reload>>,
    pub(crate) running: Fingerprint,
    pub(crate) generation: Option<Gauge>,
    pub(crate) name: &'static str,
}

impl Reloader {
    /// Loads, validates and applies the file; the service keeps its config on any error.
    pub(crate) async fn reload(&mut self) -> Result<Reloaded, String> {
        let generation = self.generation.as_ref().map_or(1, Gauge::get);
        let name = self.name;
        let refuse = |message: String| {
            tracing::error!(
                generation,
                "{name}: config reload refused, still running generation {generation}: {message}"
            );
            Err(message)
        };
        let Some(path) = self.path.clone() else {
            return refuse("this process was not started from a config file (--config or SWITCHBOARD_CONFIG), so there is nothing to re-read".into());
        };
        let Some(handle) = self.handle.clone() else {
            return refuse(format!(
                "{name} applies no config live; restart it to change its config"
            ));
        };
        let loaded = tokio::task::spawn_blocking(move || Config::load(Some(&path)))
            .await
            .map_err(|e| e.to_string())?;
        let new = match loaded {
            Ok(new) => new,
            Err(e) => return refuse(e.to_string()),
        };
        let changed = self.running.changed(&new.fingerprint);
        let restart_needed = match handle.apply(&new, &changed).await {
            Ok(keys) => keys,
            Err(e) => return refuse(format!("{e:#}")),
        };
        let generation = generation + 1;
        if let Some(g) = &self.generation {
            g.set(generation);
        }
        self.running = new.fingerprint.clone();
        if restart_needed.is_empty() {
            tracing::info!(generation, changed = ?changed, "{name}: config reloaded");
        } else {
            tracing::warn!(generation, changed = ?changed, restart_needed = ?restart_needed,
                "{name}: config reloaded; some changed keys take effect only at the next restart");
        }
        Ok(Reloaded {
            generation,
            changed,
            restart_needed,
        })
    }

    /// Serves reloads until the process ends: on SIGHUP (when the service was started from
    /// a file) and on `asks` (the admin endpoint).
    pub(crate) async fn serve(mut self, mut asks: mpsc::Receiver<Ask>) {
        let mut hangups = match (&self.path, hangup_signals()) {
            (Some(_), Some(signals)) => Some(signals),
            _ => None,
        };
        loop {
            let hangup = async {
                match hangups.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(()) = hangup => {
                    tracing::info!("{}: SIGHUP: re-reading the config", self.name);
                    let _ = self.reload().await;
                }
                Some(ask) = asks.recv() => {
                    let _ = ask.send(self.reload().await);
                }
                else => std::future::pending::<()>().await,
            }
        }
    }
}

/// SIGHUP (Switchboard runs on Linux; its images are Debian).
fn hangup_signals() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

/// `POST /admin/reload`: 200 with what changed, or 400 with why the file was refused.
pub(crate) fn admin_router(asks: mpsc::Sender<Ask>) -> axum::Router {
    axum::Router::new()
        .route("/admin/reload", axum::routing::post(admin_reload))
        .with_state(asks)
}

async fn admin_reload(State(asks): State<mpsc::Sender<Ask>>) -> Response {
    let (tx, rx) = oneshot::channel();
    if asks.send(tx).await.is_err() {
        return switchboard_telemetry::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is stopping",
        );
    }
    match rx.await {
        Ok(Ok(done)) => (StatusCode::OK, axum::Json(done)).into_response(),
        Ok(Err(message)) => switchboard_telemetry::json_error(
            StatusCode::BAD_REQUEST,
            "invalid_config",
            &format!("{message}; nothing was applied"),
        ),
        Err(_) => switchboard_telemetry::json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is stopping",
        ),
    }
}

/// What a live reload swaps whole (a route table, a service's tenants): readers take an
/// `Arc` of the current value, so a request or event in flight keeps the one it started
/// with; [`Live::set`] swaps it and wakes [`follow_each`].
pub struct Live<T> {
    value: std::sync::RwLock<Arc<T>>,
    changed: tokio::sync::Notify,
}

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Live {
            value: std::sync::RwLock::new(Arc::new(value)),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The value now.
    pub fn get(&self) -> Arc<T> {
        self.value
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Swaps in `value` (what a reload applies).
    pub fn set(&self, value: T) {
        *self
            .value
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(value);
        self.changed.notify_one();
    }
}

impl<T> std::fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").finish_non_exhaustive()
    }
}

/// Whether a reload that changed `changed` left tenant `tenant`'s keys alone (a service
/// then keeps the tenant as it is, caches and all).
pub fn unchanged(tenant: &str, changed: &[String]) -> bool {
    let prefix = format!("tenants.{tenant}.");
    !changed.iter().any(|k| k.starts_with(&prefix))
}

/// Runs `work` for every tenant of `tenants`, and after each reload starts it for a tenant
/// that is new or was replaced and stops it for one that is gone or replaced (tenants are
/// told apart by `Arc` identity: a reload keeps the `Arc` of a tenant it did not change).
/// Never returns: the per-tenant loops (export followers, sweeps) live as long as the
/// service.
pub async fn follow_each<M, T, Fut>(tenants: &Live<M>, work: impl Fn(String, Arc<T>) -> Fut)
where
    for<'a> &'a M: IntoIterator<Item = (&'a String, &'a Arc<T>)>,
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut running: Vec<(Arc<T>, tokio::task::AbortHandle)> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let notified = tenants.changed.notified();
        let now = tenants.get();
        running.retain(|(t, handle)| {
            let kept = (&*now).into_iter().any(|(_, n)| Arc::ptr_eq(n, t));
            if !kept {
                handle.abort();
            }
            kept
        });
        for (name, t) in &*now {
            if !running.iter().any(|(r, _)| Arc::ptr_eq(r, t)) {
                let handle = tasks.spawn(work(name.clone(), t.clone()));
                running.push((t.clone(), handle));
            }
        }
        notified.await;
    }
}
