//! Setting the worker up and running it: connecting, validating every tenant's policy,
//! opening the mirror and the ledger, one durable consumer per event type, and the loop
//! that runs them with the export followers and the ops endpoints until shutdown.
//! Kept apart from the handlers so the event handling reads without the plumbing.

use super::{Application, CallsWorker, Handled, Kind, Metrics, TenantCtx, Tenants, Worker};
use crate::ledger::Ledger;
use crate::mirror::ExportMirror;
use crate::policy;
use anyhow::Context as _;
use async_nats::jetstream;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec, Handler, Settle, Settled};
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_bus::{Hosted, NatsService};
use switchboard_config::Config;
use switchboard_servicetitan::{ServiceTitan, StError, all_pages};
use switchboard_telemetry::{HttpServer, Registry};
use tokio_util::sync::CancellationToken;

/// The tenants the worker serves under `config`: those with ServiceTitan credentials and
/// an outcome policy, each policy resolved against the tenant's call reasons and tag types
/// (an unknown name is an error naming its key). A tenant in `keep` whose keys are not in
/// `changed` is taken as it is, without asking ServiceTitan.
async fn resolve_tenants(
    config: &Config,
    st: &ServiceTitan,
    keep: Option<&Tenants>,
    changed: &[String],
    attempts: usize,
) -> anyhow::Result<Tenants> {
    let mut tenants = HashMap::new();
    for (name, tenant) in &config.tenants {
        if let Some(same) = keep.and_then(|k| k.get(name.as_str()))
            && switchboard_bus::reload::unchanged(name.as_str(), changed)
        {
            tenants.insert(name.to_string(), same.clone());
            continue;
        }
        let Some(st_client) = st.tenant(name.as_str()) else {
            continue;
        };
        if tenant.calls.outcomes.is_empty() {
            continue;
        }
        // A permanent failure (403) is not tried again.
        let (reasons, tags) = (move || async move {
            let reasons = all_pages(500, |p, s| st_client.call_reasons(p, s)).await?;
            let tags = all_pages(500, |p, s| st_client.tag_types(p, s)).await?;
            Ok::<_, StError>((reasons, tags))
        })
        .retry(retry::attempts(
            attempts,
            Duration::from_millis(500),
            Duration::from_secs(10),
        ))
        .when(StError::is_transient)
        .notify(|e, _| tracing::warn!(tenant = %name, error = %e, "ServiceTitan not answering yet; retrying"))
        .await
        .with_context(|| {
            format!("cannot read tenant {name}'s call reasons and tag types from ServiceTitan")
        })?;
        let resolved = policy::resolve(name.as_str(), &tenant.calls, &reasons, &tags)?;
        tenants.insert(
            name.to_string(),
            Arc::new(TenantCtx {
                client: st_client.clone(),
                policy: resolved,
            }),
        );
    }
    Ok(tenants)
}

/// A live reload of the calls worker: a tenant added or changed (its outcome policy,
/// ServiceTitan credentials) has its policy resolved against ServiceTitan again, once; any
/// failure refuses the reload and the worker keeps what it has. Unchanged tenants are kept
/// as they are. The new set is swapped in whole, the export followers follow, and an event
/// in hand finishes on the tenant it started with. `[calls]`, NATS and the doctor take a
/// restart.
struct CallsReload {
    worker: Arc<Worker>,
    observer: switchboard_telemetry::StRequestObserver,
}

impl switchboard_bus::reload::Reload for CallsReload {
    fn apply<'a>(
        &'a self,
        new: &'a Config,
        changed: &'a [String],
    ) -> switchboard_bus::reload::Applying<'a> {
        Box::pin(async move {
            let st = ServiceTitan::from_config_observed(new, Some(self.observer.clone()))?;
            let old = self.worker.tenants.get();
            let tenants = resolve_tenants(new, &st, Some(&old), changed, 1).await?;
            self.worker.tenants.set(tenants);
            Ok(switchboard_bus::reload::under(
                changed,
                &["calls.", "nats.", "admin.", "doctor."],
            ))
        })
    }
}

impl NatsService for CallsWorker {
    /// Connects, validates every tenant's policy against ServiceTitan (an unknown reason
    /// or tag is a start-up error naming it), and binds the ops listener.
    async fn build(config: Config) -> anyhow::Result<Application> {
        let registry = Registry::default();
        let client = switchboard_bus::connect(&config.nats, "switchboard-calls").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        let metrics = Metrics::new(&registry);
        let observer = registry.servicetitan_requests("calls");
        let st = ServiceTitan::from_config_observed(&config, Some(observer.clone()))?;
        let doctor = switchboard_servicetitan::doctor::spawn_at_start(
            "calls",
            &config,
            &st,
            registry.tenant_feature_ok(),
        );
        // ServiceTitan may not answer yet (the demo's st-sim starting): transient failures
        // are tried again for about a minute at start.
        let tenants = resolve_tenants(&config, &st, None, &[], 9).await?;
        let c = &config.calls;
        let replicas = config.nats.replicas;
        let mirror = switchboard_bus::with_setup_retries("set up the export mirror", || {
            Box::pin(ExportMirror::open(&js, replicas))
        })
        .await
        .map_err(anyhow::Error::msg)?;
        let stale = Duration::from_secs(c.lock_stale_secs);
        let ledger = switchboard_bus::with_setup_retries("set up the ledger", || {
            Ledger::open(&js, replicas, stale)
        })
        .await
        .map_err(anyhow::Error::msg)?;
        for stream in [
            switchboard_bus::events_stream_config(&config.nats),
            switchboard_bus::dlq::dlq_stream_config(&config.nats),
        ] {
            switchboard_bus::with_setup_retries("set up a stream", || {
                switchboard_bus::ensure_stream(&js, stream.clone())
            })
            .await
            .map_err(anyhow::Error::msg)?;
        }
        let worker = Arc::new(Worker {
            js,
            client: client.clone(),
            tenants: switchboard_bus::reload::Live::new(tenants),
            mirror,
            ledger,
            window_secs: c.match_window_secs as i64,
            horizon: Duration::from_secs(c.not_found_horizon_secs),
            retry_delay: Duration::from_millis(c.retry_delay_ms),
            export_poll: Duration::from_millis(c.export_poll_ms),
            metrics,
        });
        let reload_worker = worker.clone();
        let runtimes: Vec<(Kind, ConsumerRuntime)> = Kind::ALL
            .into_iter()
            .map(|kind| {
                let name = format!("{}-{}", c.consumer, kind.suffix());
                // ServiceTitan's per-tenant pacing, not the batch, sets the pace; one slow
                // call does not hold up the others (the per-call lock serialises events for
                // the same call). The four durables' dead letters all say `calls`.
                let mut spec = ConsumerSpec::on_events(
                    &config.nats,
                    name.clone(),
                    kind.filter(),
                    Duration::from_secs(c.ack_wait_secs),
                    c.max_deliver,
                    c.batch,
                );
                spec.dead_letter_as = Some(c.consumer.clone());
                let gauge = worker.metrics.pending.with(&[&name]);
                let runtime = ConsumerRuntime::new(worker.js.clone(), client.clone(), spec)
                    .with_pending_gauge(gauge);
                (kind, runtime)
            })
            .collect();
        let flags: Vec<_> = runtimes.iter().map(|(_, r)| r.ready()).collect();
        let probe = client.clone();
        let ready = switchboard_telemetry::ready_fn(move || {
            if !switchboard_bus::is_connected(&probe) {
                Err("not connected to NATS".to_owned())
            } else if !flags.iter().all(|f| f.load(Ordering::Acquire)) {
                Err("consumers are not set up yet".to_owned())
            } else {
                Ok(())
            }
        });
        let server = HttpServer::bind(
            "calls worker",
            "calls.listen",
            c.listen,
            switchboard_telemetry::ops_router(registry.clone(), ready),
            "no such endpoint; the calls worker serves GET /healthz, /readyz and /metrics",
        )
        .await?;
        let client = worker.client.clone();
        Ok(Hosted::new(
            server,
            client,
            CallsWorker {
                worker,
                runtimes,
                _doctor: doctor,
            },
        )
        .with_reload(
            Arc::new(CallsReload {
                worker: reload_worker,
                observer,
            }),
            &registry,
        ))
    }

    /// Consumes the four kinds of events and follows every tenant's export until `stop`;
    /// the events in hand settle first (unacked ones come back after `ack_wait_secs`).
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let Self {
            worker: w,
            runtimes,
            _doctor,
        } = self;
        // Never ends (with no tenant to follow it must not end the worker either).
        let followers = w.clone().follow_exports();
        let handlers: Vec<KindHandler<'_>> = runtimes
            .iter()
            .map(|(kind, _)| KindHandler {
                worker: &w,
                kind: *kind,
            })
            .collect();
        let consumers = futures_util::future::join_all(
            runtimes
                .iter()
                .zip(&handlers)
                .map(|((_, runtime), handler)| runtime.run(handler, &stop)),
        );
        // The consumers return once `stop` is cancelled.
        tokio::select! {
            _ = consumers => Ok(()),
            _ = followers => Ok(()),
        }
    }
}

/// One of the worker's four consumers: the worker, seen through one event type.
struct KindHandler<'a> {
    worker: &'a Worker,
    kind: Kind,
}

impl Handler for KindHandler<'_> {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let w = self.worker;
        match self.kind {
            Kind::Outcome | Kind::Reclassify => w.handle_outcome(message, self.kind).await,
            Kind::Confirmation => w.handle_confirmation(message).await,
            Kind::Completed => w.handle_completed(message).await,
        }
    }

    fn settled(&self, _message: &jetstream::Message, settled: Settled) {
        let handled = match settled {
            // Handlers count what they did (applied, already_done, skipped …).
            Settled::Acked => return,
            Settled::Retried => Handled::Retried,
            Settled::DeadLettered => Handled::DeadLettered,
        };
        self.worker.metrics.handled(self.kind, handled);
    }
}

impl Worker {
    /// Tenant `name` as configured now.
    pub(super) fn tenant(&self, name: &str) -> Option<Arc<TenantCtx>> {
        self.tenants.get().get(name).cloned()
    }

    /// Follows every tenant's exports, and after a reload, the tenants it brought: a new or
    /// changed tenant gets a follower, a removed or replaced one's stops.
    async fn follow_exports(self: Arc<Self>) {
        switchboard_bus::reload::follow_each(&self.tenants, |name, ctx| {
            let worker = self.clone();
            async move { worker.follow_export(&name, &ctx).await }
        })
        .await;
    }

    async fn follow_export(&self, tenant: &str, ctx: &TenantCtx) {
        loop {
            if let Err(e) = self.mirror.sync(tenant, &ctx.client).await {
                tracing::warn!(tenant, error = %e, "call export sync failed; will retry");
            }
            if let Err(e) = self.mirror.sync_locations(tenant, &ctx.client).await {
                tracing::warn!(tenant, error = %e, "location export sync failed; will retry");
            }
            tokio::time::sleep(self.export_poll).await;
        }
    }
}
