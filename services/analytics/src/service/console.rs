//! The operator console's data (`GET /console`, `GET /console/trace`, `POST
//! /console/dlq/{id}/replay`): gathered per request from NATS — counts by JetStream
//! (`switchboard_ops::recent`), consumer infos, the DLQ — and from what analytics itself
//! knows (its doctor's last verdicts, ServiceTitan's refusals of its requests, bookings,
//! open discrepancies). Rendering is `crate::console_page`.

use super::{Service, Tenant};
use crate::console_page::{self, ConsoleView, ConsumerView, SourceView, TenantView};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use switchboard_config::Config;

/// The newest dead letters the console lists.
const DEAD_LETTERS_SHOWN: usize = 25;

/// What the console knows beyond NATS: the sources to show, the doctor's last verdicts,
/// ServiceTitan's refusals of analytics' requests, whether actions are allowed.
#[derive(Debug, Default)]
pub(super) struct ConsoleState {
    /// Each tenant's sources, as the config has them (a reload replaces them).
    sources: Mutex<BTreeMap<String, Vec<String>>>,
    doctor: Mutex<BTreeMap<(String, String), bool>>,
    refusals: Mutex<BTreeMap<(String, u16), u64>>,
    actions: bool,
}

impl ConsoleState {
    pub(super) fn new(config: &Config) -> Self {
        let state = ConsoleState {
            actions: config.admin.console_actions,
            ..Default::default()
        };
        state.set_sources(config);
        state
    }

    /// The sources to show, from `config`.
    pub(super) fn set_sources(&self, config: &Config) {
        *lock(&self.sources) = config
            .tenants
            .iter()
            .map(|(t, c)| {
                (
                    t.to_string(),
                    c.sources.keys().map(ToString::to_string).collect(),
                )
            })
            .collect();
    }

    /// Where the doctor's verdicts go, beside the gauge.
    pub(super) fn doctor_sink(
        self: &Arc<Self>,
        gauge: switchboard_telemetry::FeatureGauge,
    ) -> switchboard_telemetry::FeatureGauge {
        let this = self.clone();
        Arc::new(move |tenant, feature, ok| {
            gauge(tenant, feature, ok);
            lock(&this.doctor).insert((tenant.to_owned(), feature.to_owned()), ok);
        })
    }

    /// Counts ServiceTitan's 401/403/429 answers, beside the request counter.
    pub(super) fn observer(
        self: &Arc<Self>,
        counter: switchboard_telemetry::StRequestObserver,
    ) -> switchboard_telemetry::StRequestObserver {
        let this = self.clone();
        Arc::new(move |tenant, operation, status, latency| {
            counter(tenant, operation, status, latency);
            if let Some(s @ (401 | 403 | 429)) = status {
                *lock(&this.refusals)
                    .entry((tenant.to_owned(), s))
                    .or_default() += 1;
            }
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Deserialize)]
pub(super) struct ConsoleQuery {
    replayed: Option<u64>,
    error: Option<String>,
}

pub(super) async fn console_handler(
    State(s): State<Arc<Service>>,
    Query(q): Query<ConsoleQuery>,
) -> Response {
    let mut view = gather(&s).await;
    view.notice = match (q.replayed, q.error) {
        (_, Some(e)) => Some(format!("not done: {e}")),
        (Some(id), None) => Some(format!(
            "dead letter {id} replayed: its original is back in front of its consumer"
        )),
        _ => None,
    };
    Html(console_page::render(&view)).into_response()
}

async fn gather(s: &Service) -> ConsoleView {
    let now = jiff::Timestamp::now();
    let hour_ago = now - jiff::SignedDuration::from_hours(1);
    let mut tenants = Vec::new();
    let all = s.tenants();
    for (name, t) in all.iter() {
        tenants.push(tenant_view(s, name, t, now, hour_ago).await);
    }
    let mut consumers = Vec::new();
    for stream in [
        switchboard_bus::INBOUND_STREAM,
        switchboard_bus::EVENTS_STREAM,
    ] {
        if let Ok(handle) = s.js.get_stream(stream).await {
            let mut infos = handle.consumers();
            while let Some(Ok(info)) = infos.next().await {
                // Ordered consumers (the CLI's and this page's counts) are nobody's lag.
                if info.config.durable_name.is_none() {
                    continue;
                }
                consumers.push(ConsumerView {
                    stream: stream.to_owned(),
                    name: info.name.clone(),
                    pending: info.num_pending,
                    ack_pending: info.num_ack_pending as u64,
                });
            }
        }
    }
    consumers.sort_by(|a, b| (&a.stream, &a.name).cmp(&(&b.stream, &b.name)));
    let letters = switchboard_ops::dlq::dead_letters(&s.js)
        .await
        .unwrap_or_default();
    let dead_letter_count = letters.len();
    let dead_letters = letters
        .into_iter()
        .rev()
        .take(DEAD_LETTERS_SHOWN)
        .map(|(id, l)| (id, l.failed_at, l.consumer, l.reason, l.subject))
        .collect();
    ConsoleView {
        generated: now.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        tenants,
        consumers,
        dead_letters,
        dead_letter_count,
        actions: s.console.actions,
        notice: None,
    }
}

async fn tenant_view(
    s: &Service,
    name: &str,
    t: &Tenant,
    now: jiff::Timestamp,
    hour_ago: jiff::Timestamp,
) -> TenantView {
    use switchboard_ops::recent::{count_since, last_at};
    let mut sources = Vec::new();
    let configured = lock(&s.console.sources)
        .get(name)
        .cloned()
        .unwrap_or_default();
    for source in &configured {
        let inbound = switchboard_bus::inbound_subject(name, source);
        sources.push(SourceView {
            name: source.clone(),
            last_delivery: last_at(&s.js, switchboard_bus::INBOUND_STREAM, &inbound).await,
            deliveries_last_hour: count_since(
                &s.js,
                switchboard_bus::INBOUND_STREAM,
                &inbound,
                hour_ago,
            )
            .await
            .unwrap_or(0),
            rejections_last_hour: count_since(
                &s.js,
                switchboard_bus::rejected::REJECTED_STREAM,
                &switchboard_bus::rejected::rejected_subject(name, source),
                hour_ago,
            )
            .await
            .unwrap_or(0),
        });
    }
    let midnight = t
        .zone
        .local_date(now)
        .to_zoned(t.zone.time_zone().clone())
        .map_or(now, |z| z.timestamp());
    let bookings_today = count_since(
        &s.js,
        switchboard_bus::EVENTS_STREAM,
        &switchboard_bus::events_subject(name, "job.booked"),
        midnight,
    )
    .await
    .unwrap_or(0);
    let discrepancies = t.lock().engine.discrepancies(t.zone.local_date(now));
    let doctor = lock(&s.console.doctor)
        .iter()
        .filter(|((tenant, _), _)| tenant == name)
        .map(|((_, f), ok)| (f.clone(), *ok))
        .collect();
    let servicetitan_refusals = [401, 403, 429]
        .into_iter()
        .map(|status| {
            let n = lock(&s.console.refusals)
                .get(&(name.to_owned(), status))
                .copied()
                .unwrap_or(0);
            (status, n)
        })
        .collect();
    TenantView {
        name: name.to_owned(),
        sources,
        doctor,
        servicetitan_refusals,
        bookings_today,
        open_discrepancies: discrepancies.len(),
        discrepancy_calls: discrepancies
            .iter()
            .map(|d| d.call.as_str().to_owned())
            .collect(),
    }
}

/// `POST /console/dlq/{id}/replay`: with `[admin] console_actions`, replays the dead letter
/// (`switchboard_ops::dlq::replay_one`, as `switchboard dlq replay ID` does) and goes back
/// to the console, which says what happened.
pub(super) async fn replay_handler(State(s): State<Arc<Service>>, Path(id): Path<u64>) -> Response {
    if !s.console.actions {
        return switchboard_telemetry::json_error(
            StatusCode::FORBIDDEN,
            "actions_disabled",
            "the console's actions are off: set [admin] console_actions = true, or use `switchboard dlq replay ID`",
        );
    }
    let location = match switchboard_ops::dlq::replay_one(&s.js, id).await {
        Ok(letter) => {
            tracing::info!(id, consumer = %letter.consumer, "dead letter replayed from the console");
            format!("/console?replayed={id}#dlq")
        }
        Err(e) => {
            let message: String = format!("{e:#}")
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("/console?error={message}#dlq")
        }
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct TraceQuery {
    tenant: String,
    key: String,
}

/// `GET /console/trace?tenant=T&key=K`: the trail of a call, as `switchboard trace` has it.
pub(super) async fn trace_handler(
    State(s): State<Arc<Service>>,
    Query(q): Query<TraceQuery>,
) -> Response {
    if !s.tenants().contains_key(&q.tenant) {
        return switchboard_telemetry::json_error(
            StatusCode::NOT_FOUND,
            "unknown_tenant",
            "no such tenant is configured",
        );
    }
    let query = switchboard_ops::TraceQuery {
        tenant: q.tenant.clone(),
        key: q.key.trim().to_owned(),
        since: std::time::Duration::from_secs(7 * 86_400),
    };
    match switchboard_ops::collect(&s.js, &query).await {
        Ok(entries) => {
            Html(console_page::render_trace(&q.tenant, &query.key, &entries)).into_response()
        }
        Err(e) => switchboard_telemetry::json_error(
            StatusCode::BAD_GATEWAY,
            "trace_failed",
            &format!(
                "reading the trail of `{}` from NATS failed: {e:#}",
                query.key
            ),
        ),
    }
}
