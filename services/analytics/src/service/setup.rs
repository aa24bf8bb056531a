//! Start-up and the run loop: [`Application::build`] validates the tenants' zones and
//! builds their state, connects to NATS, creates the streams, buckets and EVENTS consumer
//! and binds the HTTP listener; [`Application::run_until`] runs the writers, the
//! projection, the publisher and the HTTP server side by side until shutdown.

use super::http::{booking_rate_handler, discrepancies_handler, page_handler};
use super::metrics::Metrics;
use super::streams::{
    FACTS_BUCKET, HISTORY_DAYS, SNAPSHOTS_BUCKET, STATE_BUCKET, analytics_stream_config,
};
use super::{Analytics, Application, Service, Tenant, TenantState};
use crate::{Engine, TenantZone};
use anyhow::Context as _;
use axum::routing::get;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_bus::bucket::Bucket;
use switchboard_bus::consumer::{ConsumerRuntime, ConsumerSpec};
use switchboard_bus::{Hosted, NatsService};
use switchboard_config::Config;
use switchboard_servicetitan::ServiceTitan;
use switchboard_telemetry::Registry;
use tokio_util::sync::CancellationToken;

impl NatsService for Analytics {
    /// Validates every tenant's time zone (an unknown one is a start-up error naming its
    /// key), connects, creates the stream and buckets, and binds the HTTP listener.
    async fn build(config: Config) -> anyhow::Result<Application> {
        let registry = Registry::default();
        let metrics = Metrics::new(&registry);
        let console = Arc::new(super::console::ConsoleState::new(&config));
        let observer = console.observer(registry.servicetitan_requests("analytics"));
        let st = ServiceTitan::from_config_observed(&config, Some(observer.clone()))?;
        let doctor = switchboard_servicetitan::doctor::spawn_at_start(
            "analytics",
            &config,
            &st,
            console.doctor_sink(registry.tenant_feature_ok()),
        );
        let mut tenants = BTreeMap::new();
        for (name, t) in &config.tenants {
            tenants.insert(
                name.to_string(),
                Arc::new(build_tenant(name.as_str(), t, &st)?),
            );
        }
        let client = switchboard_bus::connect(&config.nats, "switchboard-analytics").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        for stream in [
            switchboard_bus::events_stream_config(&config.nats),
            switchboard_bus::dlq::dlq_stream_config(&config.nats),
            analytics_stream_config(&config.nats),
        ] {
            switchboard_bus::with_setup_retries("set up a stream", || {
                switchboard_bus::ensure_stream(&js, stream.clone())
            })
            .await
            .map_err(anyhow::Error::msg)?;
        }
        let replicas = config.nats.replicas;
        let bucket = |name: &'static str, description: &'static str, ttl: Option<Duration>| {
            let js = js.clone();
            async move {
                switchboard_bus::with_setup_retries("set up a key-value bucket", || {
                    Bucket::open(&js, name, description, replicas, ttl)
                })
                .await
                .map_err(anyhow::Error::msg)
            }
        };
        // Facts and snapshots untouched for longer than the API can show expire.
        let history = Some(Duration::from_secs(24 * 3600 * HISTORY_DAYS as u64));
        let facts = bucket(
            FACTS_BUCKET,
            "Switchboard analytics: per-call facts (agent and ServiceTitan views)",
            history,
        )
        .await?;
        let snapshots = bucket(
            SNAPSHOTS_BUCKET,
            "Switchboard analytics: latest booking-rate snapshot per tenant-day",
            history,
        )
        .await?;
        let state = bucket(
            STATE_BUCKET,
            "Switchboard analytics: export cursors, published discrepancies, requests made",
            None,
        )
        .await?;
        let a = &config.analytics;
        let mut spec = ConsumerSpec::on_events(
            &config.nats,
            a.consumer.clone(),
            "events.>".into(),
            Duration::from_secs(a.ack_wait_secs),
            a.max_deliver,
            a.batch,
        );
        // Handling an event is a few KV writes: more at once than a pull brings.
        spec.concurrency = 32;
        let runtime = ConsumerRuntime::new(js.clone(), client.clone(), spec)
            .with_pending_gauge(metrics.pending.clone());
        let consuming = runtime.ready();
        let service = Arc::new(Service {
            js,
            client: client.clone(),
            tenants: switchboard_bus::reload::Live::new(tenants),
            facts,
            snapshots,
            state,
            runtime,
            debounce: Duration::from_millis(a.debounce_ms),
            sweep_every: Duration::from_secs(a.sweep_secs),
            grace: Duration::from_secs(a.reclassify_grace_secs),
            metrics,
            caught_up: AtomicBool::new(false),
            consuming,
            changed: tokio::sync::Notify::new(),
            console,
        });
        let reload_service = service.clone();
        let probe = service.clone();
        let ready = switchboard_telemetry::ready_fn(move || {
            if !switchboard_bus::is_connected(&probe.client) {
                return Err("not connected to NATS".into());
            }
            if !probe.caught_up.load(Ordering::Acquire) {
                return Err("still loading the per-call facts".into());
            }
            if !probe.consuming.load(Ordering::Acquire) {
                return Err("the EVENTS consumer is not set up yet".into());
            }
            Ok(())
        });
        let router = axum::Router::new()
            .route("/", get(page_handler))
            .route(
                "/v1/tenants/{tenant}/booking-rate",
                get(booking_rate_handler),
            )
            .route(
                "/v1/tenants/{tenant}/discrepancies",
                get(discrepancies_handler),
            )
            .route("/console", get(super::console::console_handler))
            .route("/console/trace", get(super::console::trace_handler))
            .route(
                "/console/dlq/{id}/replay",
                axum::routing::post(super::console::replay_handler),
            )
            .with_state(service.clone())
            .merge(switchboard_telemetry::ops_router(registry.clone(), ready));
        let server = switchboard_telemetry::HttpServer::bind(
            "analytics",
            "analytics.listen",
            a.listen,
            router,
            "no such endpoint; analytics serves GET /, /console, /v1/tenants/{tenant}/booking-rate and /v1/tenants/{tenant}/discrepancies",
        )
        .await?;
        Ok(Hosted::new(
            server,
            client,
            Analytics {
                service,
                _doctor: doctor,
            },
        )
        .with_reload(
            Arc::new(AnalyticsReload {
                service: reload_service,
                observer,
            }),
            &registry,
        ))
    }

    /// Consumes EVENTS, projects, publishes and sweeps until `stop`. Unacked events come
    /// back after `ack_wait_secs` and the sweep resumes from its saved cursor.
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let s = self.service;
        // Never ends (with no tenant to sweep it must not end the service either).
        let sweeps = s.clone().follow_sweeps();
        // The consumer returns once `stop` is cancelled; the loops beside it keep
        // projecting and publishing until then.
        tokio::select! {
            r = s.project() => r,
            () = s.runtime.run(&*s, &stop) => Ok(()),
            r = s.publish_loop() => r,
            _ = sweeps => Ok(()),
        }
    }
}

/// Tenant `name` as `config` has it: its zone (an unknown one is an error naming its key),
/// its auto-reclassification, the classes its calls policy maps, its ServiceTitan client,
/// and an empty engine the projection fills.
fn build_tenant(
    name: &str,
    t: &switchboard_config::TenantConfig,
    st: &ServiceTitan,
) -> anyhow::Result<Tenant> {
    let zone = TenantZone::new(&t.timezone)
        .with_context(|| format!("config key `tenants.{name}.timezone`"))?;
    let tenant = Tenant {
        name: name.to_owned(),
        zone: zone.clone(),
        auto: t.analytics.auto_reclassify,
        mapped: t
            .calls
            .outcomes
            .iter()
            // An outcome is written as its own class unless a `call_type` overrides it.
            .map(|(outcome, rule)| (*outcome, rule.call_type.unwrap_or(*outcome)))
            .collect(),
        st: st.tenant(name).cloned(),
        state: Mutex::new(TenantState {
            engine: Engine::new(name.to_owned(), zone),
            st_ids: HashMap::new(),
            links: HashMap::new(),
            unlinked: HashMap::new(),
            dirty: BTreeSet::new(),
            changed: HashSet::new(),
            full: true,
            published: HashMap::new(),
            asked: HashMap::new(),
        }),
    };
    Ok(tenant)
}

impl Service {
    /// Sweeps every tenant's call export, and after a reload, the tenants it brought: a
    /// new tenant gets a sweep, a removed one's stops.
    async fn follow_sweeps(self: Arc<Self>) {
        switchboard_bus::reload::follow_each(&self.tenants, |_, tenant| {
            let service = self.clone();
            async move { service.sweep_loop(&tenant).await }
        })
        .await;
    }
}

/// A live reload of analytics: tenants added (an empty engine, its own sweep) or removed
/// are applied at once. A tenant already served keeps its engine and everything it
/// counted; changes to its keys (time zone, auto-reclassification, policy, ServiceTitan
/// credentials) take a restart, which recomputes it from the facts. `[analytics]`, NATS and
/// the doctor take a restart.
struct AnalyticsReload {
    service: Arc<Service>,
    observer: switchboard_telemetry::StRequestObserver,
}

impl switchboard_bus::reload::Reload for AnalyticsReload {
    fn apply<'a>(
        &'a self,
        new: &'a Config,
        changed: &'a [String],
    ) -> switchboard_bus::reload::Applying<'a> {
        Box::pin(async move {
            let st = ServiceTitan::from_config_observed(new, Some(self.observer.clone()))?;
            let old = self.service.tenants();
            let mut tenants = BTreeMap::new();
            let mut later = switchboard_bus::reload::under(
                changed,
                &["analytics.", "nats.", "admin.", "doctor."],
            );
            for (name, t) in &new.tenants {
                let name = name.as_str();
                match old.get(name) {
                    Some(same) => {
                        tenants.insert(name.to_owned(), same.clone());
                        later.extend(switchboard_bus::reload::under(
                            changed,
                            &[&format!("tenants.{name}.")],
                        ));
                    }
                    None => {
                        tenants.insert(name.to_owned(), Arc::new(build_tenant(name, t, &st)?));
                    }
                }
            }
            // Sources only tell the console what to show.
            later.retain(|k| !k.contains(".sources."));
            self.service.console.set_sources(new);
            self.service.tenants.set(tenants);
            Ok(later)
        })
    }
}
