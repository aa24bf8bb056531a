//! The booking service's wiring: the NATS service that answers `tools.{tenant}.{tool}`
//! (async-nats' service API, in a queue group, so replicas share the requests and `nats
//! micro ls/info/stats` show them), the idempotency of `request_id`s, window holds, and
//! the events it publishes. The tools themselves are in `tools.rs`.

use crate::holds::Holds;
use crate::metrics::{Metrics, result_label};
use crate::reschedules::{self, RESCHEDULES_DURABLE, Reschedules};
use crate::tenant::Tenant;
use crate::tools;
use anyhow::Context as _;
use async_nats::service::ServiceExt as _;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use switchboard_bus::bucket::{Bucket, key_token};
use switchboard_bus::consumer::ConsumerRuntime;
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_bus::{Hosted, NatsService, async_nats};
use switchboard_config::Config;
use switchboard_events::tools::{ErrorCode, TOOLS, ToolError, ToolReply, ToolRequest};
use switchboard_events::{BookingData, CloudEvent, EventType};
use switchboard_servicetitan::ServiceTitan;
use switchboard_telemetry::{HttpServer, Registry};
use tokio_util::sync::CancellationToken;

/// Answers to `request_id`s (the idempotency record).
pub const ANSWERS_BUCKET: &str = "BOOKING_ANSWERS";
/// Requests handled at once by one replica.
const CONCURRENCY: usize = 64;

/// The booking service as its binary and the tests run it: `Application::build(config)`,
/// then `run_until(shutdown)` (see [`switchboard_bus::host`]).
pub type Application = Hosted<Booking>;

/// The booking service's work: the NATS service endpoints and the watches beside them.
pub struct Booking {
    inner: Arc<Inner>,
    queue_group: String,
    /// Rescheduled confirmations (`reschedules`).
    reschedules: ConsumerRuntime,
    /// How often each tenant's appointments export is read.
    export_poll: Duration,
    /// The doctor's background checks, stopped with the service.
    _doctor: Option<switchboard_servicetitan::doctor::Running>,
}

impl std::fmt::Debug for Booking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Booking").finish_non_exhaustive()
    }
}

/// The tenants booking serves, by name; swapped whole by a live reload.
type Tenants = HashMap<String, Arc<Tenant>>;

pub(crate) struct Inner {
    pub client: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    /// Swapped whole by a live reload.
    tenants: switchboard_bus::reload::Live<Tenants>,
    pub holds: Holds,
    answers: Bucket,
    pub metrics: Metrics,
    /// ServiceTitan's application GUID for the external data on jobs Switchboard creates.
    pub application_guid: String,
    serving: AtomicBool,
}

/// What `BOOKING_ANSWERS` keeps per request id.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Answer {
    tool: String,
    arguments: serde_json::Value,
    /// `None` while the first delivery is still working on it.
    reply: Option<ToolReply>,
}

impl NatsService for Booking {
    async fn build(config: Config) -> anyhow::Result<Application> {
        let registry = Registry::default();
        let metrics = Metrics::new(&registry);
        let observer = registry.servicetitan_requests("booking");
        let st = ServiceTitan::from_config_observed(&config, Some(observer.clone()))?;
        let doctor = switchboard_servicetitan::doctor::spawn_at_start(
            "booking",
            &config,
            &st,
            registry.tenant_feature_ok(),
        );
        let b = &config.booking;
        let tenants = build_tenants(&config, &st)?;
        let client = switchboard_bus::connect(&config.nats, "switchboard-booking").await?;
        let js = switchboard_bus::jetstream(
            client.clone(),
            Duration::from_secs(config.nats.request_timeout_secs),
        );
        let replicas = config.nats.replicas;
        let set_up = || async {
            switchboard_bus::ensure_stream(
                &js,
                switchboard_bus::events_stream_config(&config.nats),
            )
            .await?;
            let answers = Bucket::open(
                &js,
                ANSWERS_BUCKET,
                "Switchboard booking: the first answer to each tool request id",
                replicas,
                Some(Duration::from_secs(b.answers_ttl_days * 86_400)),
            )
            .await?;
            let holds = Holds::open(&js, replicas, Duration::from_secs(b.hold_ttl_secs)).await?;
            anyhow::Ok((answers, holds))
        };
        let (answers, holds) = set_up
            .retry(retry::patience(
                Duration::from_secs(60),
                Duration::from_millis(200),
                Duration::from_secs(5),
            ))
            .await
            .context("booking cannot set up its stream and buckets")?;
        let inner = Arc::new(Inner {
            client: client.clone(),
            js,
            tenants: switchboard_bus::reload::Live::new(tenants),
            holds,
            answers,
            metrics,
            application_guid: b.application_guid.clone(),
            serving: AtomicBool::new(false),
        });
        let reload_inner = inner.clone();
        let reschedules = ConsumerRuntime::new(
            inner.js.clone(),
            client.clone(),
            reschedules::spec(&config.nats),
        );
        let consuming = reschedules.ready();
        let probe = inner.clone();
        let ready = switchboard_telemetry::ready_fn(move || {
            if !switchboard_bus::is_connected(&probe.client) {
                Err("not connected to NATS".into())
            } else if !probe.serving.load(Ordering::Acquire) {
                Err("the tools service is not subscribed yet".into())
            } else if !consuming.load(Ordering::Acquire) {
                Err(format!(
                    "the {RESCHEDULES_DURABLE} consumer is not set up yet"
                ))
            } else {
                Ok(())
            }
        });
        let server = HttpServer::bind(
            "booking",
            "booking.listen",
            b.listen,
            switchboard_telemetry::ops_router(registry.clone(), ready),
            "no such endpoint; booking serves GET /healthz, /readyz and /metrics (its tools are on NATS: tools.{tenant}.{tool})",
        )
        .await?;
        Ok(Hosted::new(
            server,
            client,
            Booking {
                inner,
                queue_group: b.queue_group.clone(),
                reschedules,
                export_poll: Duration::from_secs(b.export_poll_secs),
                _doctor: doctor,
            },
        )
        .with_reload(
            Arc::new(BookingReload {
                inner: reload_inner,
                observer,
            }),
            &registry,
        ))
    }

    /// Answers tool requests until `stop`; requests in hand are finished first.
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let inner = self.inner;
        let service = inner
            .client
            .service_builder()
            .description("Switchboard booking: the voice agent's tools (docs/booking.md)")
            .queue_group(&self.queue_group)
            .start("switchboard-booking", env!("CARGO_PKG_VERSION"))
            .await
            .map_err(|e| anyhow::anyhow!("booking cannot start its NATS service: {e}"))?;
        let mut endpoints = Vec::new();
        for tool in TOOLS {
            let endpoint = service
                .endpoint_builder()
                .name(tool)
                .add(format!("tools.*.{tool}"))
                .await
                .map_err(|e| anyhow::anyhow!("booking cannot subscribe to tools.*.{tool}: {e}"))?;
            endpoints.push(endpoint);
        }
        inner.serving.store(true, Ordering::Release);
        let requests = futures_util::stream::select_all(endpoints).take_until(stop.cancelled());
        let handled = requests.for_each_concurrent(CONCURRENCY, |request| {
            let inner = inner.clone();
            async move {
                // The agent's call's trace, from ingest.
                let parent = switchboard_bus::trace_parent(request.message.headers.as_ref());
                let reply = switchboard_telemetry::trace::hop("booking", parent)
                    .run(inner.answer(&request.message.subject, &request.message.payload))
                    .await;
                let body = serde_json::to_vec(&reply).unwrap_or_default();
                if let Err(e) = request.respond(Ok(body.into())).await {
                    tracing::warn!(error = %e, "booking could not send a tool reply (the caller gave up?)");
                }
            }
        });
        let invalidations = inner.follow_servicetitan_changes();
        // Never ends (with no tenant to follow it must not end the service either).
        let exports = inner.follow_exports(self.export_poll);
        let reschedules = Reschedules(inner.clone());
        // Both stop taking work at `stop` and finish what they hold.
        let work = futures_util::future::join(handled, self.reschedules.run(&reschedules, &stop));
        tokio::select! {
            _ = work => {}
            r = invalidations => r?,
            r = inner.holds.follow() => r?,
            () = exports => {}
        }
        let _ = service.stop().await;
        Ok(())
    }
}

impl Inner {
    /// The answer to one tool request on `tools.{tenant}.{tool}`.
    async fn answer(&self, subject: &str, payload: &[u8]) -> ToolReply {
        let mut parts = subject.splitn(3, '.');
        let (tenant_name, tool) = match (parts.next(), parts.next(), parts.next()) {
            (Some("tools"), Some(t), Some(tool)) => (t, tool),
            _ => ("", ""),
        };
        let mut request: ToolRequest = match serde_json::from_slice(payload) {
            Ok(r) => r,
            Err(e) => {
                return ToolReply::err(
                    "",
                    ToolError::new(
                        ErrorCode::InvalidArguments,
                        format!("the tool request is not the agent format: {e}"),
                    ),
                );
            }
        };
        // The subject names the tool (ingest routed it there); the body's name is the
        // agent's own spelling of the same.
        tool.clone_into(&mut request.tool);
        self.answer_request(tenant_name, &request).await
    }

    /// The answer to one tool request for tenant `tenant_name`: a replay of the first
    /// answer to its `request_id`, or a new one. Tool calls over NATS and rescheduled
    /// confirmations (`reschedules`) both come here.
    pub(crate) async fn answer_request(
        &self,
        tenant_name: &str,
        request: &ToolRequest,
    ) -> ToolReply {
        let tool = request.tool.as_str();
        let Some(tenant) = self.tenant(tenant_name) else {
            return ToolReply::err(
                &request.request_id,
                ToolError::new(
                    ErrorCode::NotFound,
                    format!("tenant `{tenant_name}` has no ServiceTitan configured for booking"),
                ),
            );
        };
        let tenant = &*tenant;
        if request.request_id.trim().is_empty() || request.request_id.len() > 200 {
            return ToolReply::err(
                &request.request_id,
                ToolError::new(
                    ErrorCode::InvalidArguments,
                    "request_id must be 1 to 200 characters",
                ),
            );
        }
        match self.replay_or_claim(tenant, tool, request).await {
            Ok(Some(reply)) => {
                self.metrics.request(tool, "replayed");
                return reply;
            }
            Ok(None) => {}
            Err(e) => return ToolReply::err(&request.request_id, e),
        }
        let outcome = tools::run(self, tenant, tool, request).await;
        let reply = match outcome {
            Ok(result) => ToolReply::ok(&request.request_id, result),
            Err(e) => ToolReply::err(&request.request_id, e),
        };
        let code = reply.error.as_ref().map(|e| e.code);
        self.metrics.request(tool, result_label(code));
        self.settle(tenant, tool, request, &reply).await;
        reply
    }

    /// Tenant `name` as configured now.
    pub(crate) fn tenant(&self, name: &str) -> Option<Arc<Tenant>> {
        self.tenants.get().get(name).cloned()
    }

    /// Follows every tenant's appointments export, and after a reload, the tenants it
    /// brought: a new or changed tenant gets a follower, a removed or replaced one's stops.
    async fn follow_exports(&self, poll: Duration) {
        switchboard_bus::reload::follow_each(&self.tenants, move |_, tenant| async move {
            tenant.follow_appointments(poll).await;
        })
        .await;
    }

    fn answer_key(tenant: &Tenant, request_id: &str) -> String {
        format!("{}.{}", tenant.name, key_token(request_id))
    }

    /// The first answer to this request id, if there is one; otherwise this delivery
    /// claims the id (`Ok(None)`). The same id with another tool or other arguments is
    /// refused; one still being worked on by another delivery is waited for, briefly.
    async fn replay_or_claim(
        &self,
        tenant: &Tenant,
        tool: &str,
        request: &ToolRequest,
    ) -> Result<Option<ToolReply>, ToolError> {
        let key = Self::answer_key(tenant, &request.request_id);
        let unavailable = |e: switchboard_bus::bucket::KvError| {
            ToolError::new(
                ErrorCode::ServicetitanUnavailable,
                format!("cannot record the request: {e}"),
            )
        };
        for _ in 0..100 {
            let (stored, revision) = self.answers.get(&key).await.map_err(unavailable)?;
            match stored.and_then(|b| serde_json::from_slice::<Answer>(&b).ok()) {
                Some(a) if a.tool != tool || a.arguments != request.arguments => {
                    return Err(ToolError::new(
                        ErrorCode::InvalidArguments,
                        format!(
                            "request_id `{}` was already used for {} with other arguments; use a new request_id",
                            request.request_id, a.tool
                        ),
                    ));
                }
                Some(Answer {
                    reply: Some(reply), ..
                }) => return Ok(Some(reply)),
                Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                None => {
                    let claim = Answer {
                        tool: tool.to_owned(),
                        arguments: request.arguments.clone(),
                        reply: None,
                    };
                    let value = serde_json::to_vec(&claim).unwrap_or_default();
                    if self
                        .answers
                        .update(&key, value, revision)
                        .await
                        .map_err(unavailable)?
                        .is_some()
                    {
                        return Ok(None);
                    }
                }
            }
        }
        Err(ToolError::new(
            ErrorCode::ServicetitanUnavailable,
            format!(
                "request `{}` is still being worked on; ask again shortly",
                request.request_id
            ),
        ))
    }

    /// Records the answer, so the same request id gets it again; a failure that may pass
    /// (ServiceTitan unavailable) is not recorded, so asking again tries again.
    async fn settle(&self, tenant: &Tenant, tool: &str, request: &ToolRequest, reply: &ToolReply) {
        let key = Self::answer_key(tenant, &request.request_id);
        let retry_later = reply
            .error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::ServicetitanUnavailable);
        let result = if retry_later {
            self.answers.delete(&key).await
        } else {
            let answer = Answer {
                tool: tool.to_owned(),
                arguments: request.arguments.clone(),
                reply: Some(reply.clone()),
            };
            self.answers
                .put(&key, serde_json::to_vec(&answer).unwrap_or_default())
                .await
                .map(|_| ())
        };
        if let Err(e) = result {
            tracing::warn!(tenant = %tenant.name, request_id = %request.request_id, error = %e,
                "booking could not record a tool answer; a repeat of this request would be worked on again");
        }
    }

    /// Publishes what booking did on EVENTS (`events.{tenant}.{type}`), deduplicated by
    /// an id derived from the request id, trying again for up to 10 s.
    pub async fn publish(&self, tenant: &Tenant, kind: EventType, data: &BookingData) {
        let id = switchboard_events::event_id(
            &format!(
                "{}:booking:{}:{}",
                tenant.name,
                kind.as_str(),
                data.request_id
            ),
            0,
        );
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: id.clone(),
            source: format!("/switchboard/{}/booking", tenant.name),
            kind: kind.as_str().into(),
            subject: data.provider_call_id.clone(),
            time: jiff::Timestamp::now().to_string(),
            datacontenttype: "application/json".into(),
            tenant: tenant.name.clone(),
            inboundid: data.request_id.clone(),
            data: serde_json::to_value(data).unwrap_or_default(),
        };
        let payload = bytes::Bytes::from(serde_json::to_vec(&event).unwrap_or_default());
        let subject = switchboard_bus::events_subject(&tenant.name, kind.as_str());
        let (js, id, payload, subject) = (&self.js, &id, &payload, &subject);
        let sent = (move || async move {
            let message = switchboard_bus::traced(
                async_nats::jetstream::message::PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(id.clone())
                    .expected_stream(switchboard_bus::EVENTS_STREAM),
            );
            js.send_publish(subject.clone(), message).await?.await?;
            anyhow::Ok(())
        })
        .retry(retry::patience(
            Duration::from_secs(10),
            Duration::from_millis(100),
            Duration::from_secs(2),
        ))
        .await;
        if let Err(e) = sent {
            tracing::error!(tenant = %tenant.name, event = kind.as_str(), request_id = %data.request_id, error = %e,
                "booking could not publish its event; ServiceTitan has the booking, EVENTS does not");
        }
    }

    /// Drops a tenant's cached capacity whenever ServiceTitan says a job or an appointment
    /// changed (its webhooks, normalised by the router onto EVENTS).
    async fn follow_servicetitan_changes(&self) -> anyhow::Result<()> {
        let mut changes = self
            .client
            .subscribe("events.*.st.>")
            .await
            .context("booking cannot subscribe to ServiceTitan's changes (events.*.st.>)")?;
        while let Some(message) = changes.next().await {
            let tenant = message.subject.split('.').nth(1).unwrap_or_default();
            if let Some(t) = self.tenant(tenant) {
                t.invalidate(None);
            }
        }
        std::future::pending().await
    }
}

/// The tenants booking serves under `config`: those with ServiceTitan credentials, each
/// with its time zone (an unknown one is an error naming its key) and booking settings.
fn build_tenants(config: &Config, st: &ServiceTitan) -> anyhow::Result<Tenants> {
    let mut tenants = HashMap::new();
    for (name, tenant) in &config.tenants {
        let Some(client) = st.tenant(name.as_str()) else {
            continue;
        };
        let zone = jiff::tz::TimeZone::get(&tenant.timezone).with_context(|| {
            format!(
                "tenants.{name}.timezone: `{}` is not an IANA time zone",
                tenant.timezone
            )
        })?;
        tenants.insert(
            name.to_string(),
            Arc::new(Tenant::new(
                name.to_string(),
                client.clone(),
                tenant.booking.clone(),
                zone,
                Duration::from_secs(config.booking.capacity_ttl_secs),
            )),
        );
    }
    Ok(tenants)
}

/// A live reload of booking: tenants added, removed or changed (ServiceTitan credentials,
/// time zone, booking settings) are rebuilt from the new config and swapped in whole; a
/// tenant whose keys did not change keeps its caches. A tool request in flight finishes on
/// the tenant it started with. The `[booking]` section, NATS and the doctor take a restart.
struct BookingReload {
    inner: Arc<Inner>,
    observer: switchboard_telemetry::StRequestObserver,
}

impl switchboard_bus::reload::Reload for BookingReload {
    fn apply<'a>(
        &'a self,
        new: &'a Config,
        changed: &'a [String],
    ) -> switchboard_bus::reload::Applying<'a> {
        Box::pin(async move {
            let st = ServiceTitan::from_config_observed(new, Some(self.observer.clone()))?;
            let mut tenants = build_tenants(new, &st)?;
            let old = self.inner.tenants.get();
            for (name, tenant) in &mut tenants {
                if let Some(same) = old.get(name)
                    && switchboard_bus::reload::unchanged(name, changed)
                {
                    *tenant = same.clone();
                }
            }
            self.inner.tenants.set(tenants);
            Ok(switchboard_bus::reload::under(
                changed,
                &["booking.", "nats.", "admin.", "doctor."],
            ))
        })
    }
}
