//! `/_sim/…`: seed, inspect, count, inject faults, and act as the phone system.
//! Unauthenticated by design: st-sim is a test double; never expose it publicly.

use crate::Shared;
use crate::api::{export_call, job_json};
use crate::clock::now;
use crate::seed::{Call, Faults, Job, Seed, Settings};
use crate::state::problem;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use switchboard_servicetitan::models::{CallDirection, CallStatus, CallType};

/// The state, with credentials and webhook secrets redacted (anyone who can reach st-sim
/// could otherwise sign webhooks that ingest accepts).
pub(crate) async fn state(State(s): State<Shared>) -> Response {
    let mut seed = s.sim.lock().seed.clone();
    const REDACTED: &str = "[redacted]";
    seed.app_keys = seed.app_keys.iter().map(|_| REDACTED.to_owned()).collect();
    for tenant in &mut seed.tenants {
        tenant.client_secret = REDACTED.into();
        if let Some(w) = &mut tenant.webhook {
            w.secret = REDACTED.into();
        }
    }
    Json(seed).into_response()
}

pub(crate) async fn seed(State(s): State<Shared>, Json(seed): Json<Seed>) -> Response {
    s.sim.reseed(seed);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn requests(State(s): State<Shared>) -> Response {
    let inner = s.sim.lock();
    Json(serde_json::json!({
        "counts": inner.counts,
        "rate_limited": inner.rate_limited,
        "rate_limited_by_tenant": inner.rate_limited_by_tenant,
    }))
    .into_response()
}

pub(crate) async fn reset_requests(State(s): State<Shared>) -> Response {
    let mut inner = s.sim.lock();
    inner.counts.clear();
    inner.rate_limited = 0;
    inner.rate_limited_by_tenant.clear();
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn get_faults(State(s): State<Shared>) -> Response {
    Json(s.sim.lock().seed.faults.clone()).into_response()
}

pub(crate) async fn set_faults(State(s): State<Shared>, Json(faults): Json<Faults>) -> Response {
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return problem(
            StatusCode::BAD_REQUEST,
            "error_rate must be between 0 and 1",
        );
    }
    s.sim.lock().seed.faults = faults;
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn set_settings(
    State(s): State<Shared>,
    Json(settings): Json<Settings>,
) -> Response {
    s.sim.lock().seed.settings = settings;
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn expire_tokens(State(s): State<Shared>) -> Response {
    s.sim.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_sim/tenants/{tenant}/scopes` `{"withheld": [scope, …]}`: the business grants
/// the API user everything but these (an empty list grants everything again). Tokens issued
/// from now on name only the granted scopes; operations needing a withheld one answer 403
/// at once, whatever token is used. An unknown scope is a 400 naming the known ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Withheld {
    withheld: Vec<String>,
}

pub(crate) async fn withhold_scopes(
    State(s): State<Shared>,
    Path(tenant_id): Path<u64>,
    Json(body): Json<Withheld>,
) -> Response {
    let known = crate::scopes::all_scopes();
    if let Some(unknown) = body.withheld.iter().find(|w| !known.contains(&w.as_str())) {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!(
                "unknown scope `{unknown}`; st-sim knows {}",
                known.join(", ")
            ),
        );
    }
    match s.sim.try_with_tenant(tenant_id, |t, _| {
        t.withheld_scopes.clone_from(&body.withheld)
    }) {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => problem(StatusCode::NOT_FOUND, "Tenant not found"),
    }
}

/// A call as the phone system reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewCall {
    from: String,
    to: String,
    duration_secs: u64,
    #[serde(default)]
    direction: Option<CallDirection>,
    #[serde(default)]
    received_on: Option<String>,
    #[serde(default)]
    customer_id: Option<i64>,
    #[serde(default)]
    location_id: Option<i64>,
    #[serde(default)]
    campaign_id: Option<i64>,
    #[serde(default)]
    agent_id: Option<i64>,
    #[serde(default)]
    reason_id: Option<i64>,
    #[serde(default)]
    call_type: Option<CallType>,
    #[serde(default)]
    sid: Option<String>,
}

pub(crate) async fn add_call(
    State(s): State<Shared>,
    Path(tenant_id): Path<u64>,
    Json(new): Json<NewCall>,
) -> Response {
    let stamp = now();
    let result = s.sim.try_with_tenant(tenant_id, |t, version| {
        *version += 1;
        // ServiceTitan classifies by itself: unanswered → Abandoned, < 60 s → Excused,
        // otherwise Unbooked until a job is booked.
        let call_type = new.call_type.or(Some(match new.duration_secs {
            0 => CallType::Abandoned,
            1..60 => CallType::Excused,
            _ => CallType::Unbooked,
        }));
        let call = Call {
            id: t.calls.iter().map(|c| c.id).max().unwrap_or(0) + 1,
            received_on: new.received_on.clone().unwrap_or_else(|| stamp.clone()),
            duration_secs: new.duration_secs,
            from: new.from.clone(),
            to: new.to.clone(),
            direction: new.direction.unwrap_or(CallDirection::Inbound),
            status: CallStatus::Completed,
            call_type,
            reason_id: new.reason_id,
            excuse_memo: String::new(),
            tag: String::new(),
            tag_type_ids: Vec::new(),
            customer_id: new.customer_id,
            location_id: new.location_id,
            campaign_id: new.campaign_id,
            job_id: None,
            agent_id: new.agent_id,
            recording_url: None,
            sid: new.sid.clone(),
            // The phone system reports a call when it happens: recorded then.
            created_on: new.received_on.clone().unwrap_or_else(|| stamp.clone()),
            modified_on: stamp.clone(),
            active: true,
            version: *version,
        };
        t.calls.push(call.clone());
        (export_call(t, &call), t.webhook.clone(), call)
    });
    let result = result.map(|(export, webhook, call)| (webhook, export, call));
    created(&s, tenant_id, "CallCompleted", result)
}

pub(crate) async fn get_call(
    State(s): State<Shared>,
    Path((tenant_id, id)): Path<(u64, i64)>,
) -> Response {
    match s
        .sim
        .try_with_tenant(tenant_id, |t, _| {
            t.calls.iter().find(|c| c.id == id).cloned()
        })
        .flatten()
    {
        Some(call) => Json(call).into_response(),
        None => problem(StatusCode::NOT_FOUND, "Call not found"),
    }
}

/// What a CSR changes on a call in ServiceTitan's UI (the demo uses it to misclassify).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallEdit {
    call_type: CallType,
}

/// A CSR reclassifies a call by hand: ServiceTitan records it and sends `CallUpdated`.
pub(crate) async fn edit_call(
    State(s): State<Shared>,
    Path((tenant_id, id)): Path<(u64, i64)>,
    Json(edit): Json<CallEdit>,
) -> Response {
    let stamp = now();
    let result = s.sim.try_with_tenant(tenant_id, |t, version| {
        let index = t.calls.iter().position(|c| c.id == id)?;
        *version += 1;
        let call = &mut t.calls[index];
        call.call_type = Some(edit.call_type);
        call.modified_on = stamp;
        call.version = *version;
        let call = call.clone();
        Some((export_call(t, &call), t.webhook.clone(), call))
    });
    match result {
        Some(Some((export, webhook, call))) => {
            crate::webhooks::send(
                &s,
                webhook,
                tenant_id,
                "CallUpdated",
                serde_json::to_value(&export).unwrap_or_default(),
            );
            Json(call).into_response()
        }
        Some(None) => problem(StatusCode::NOT_FOUND, "Call not found"),
        None => problem(StatusCode::NOT_FOUND, "Tenant not found"),
    }
}

/// A job booked in ServiceTitan (by a CSR or our agent), optionally from a call and with
/// a first appointment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewJob {
    customer_id: i64,
    location_id: i64,
    business_unit_id: i64,
    job_type_id: i64,
    campaign_id: i64,
    #[serde(default)]
    lead_call_id: Option<i64>,
    #[serde(default)]
    partner_lead_call_id: Option<i64>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    appointment: Option<NewAppointment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAppointment {
    start: String,
    end: String,
}

pub(crate) async fn add_job(
    State(s): State<Shared>,
    Path(tenant_id): Path<u64>,
    Json(new): Json<NewJob>,
) -> Response {
    let stamp = now();
    let result = s.sim.try_with_tenant(tenant_id, |t, version| {
        let job = Job {
            lead_call_id: new.lead_call_id,
            partner_lead_call_id: new.partner_lead_call_id,
            summary: new.summary.clone(),
            ..Job::scheduled(
                new.customer_id,
                new.location_id,
                new.business_unit_id,
                new.job_type_id,
                new.campaign_id,
                &stamp,
            )
        };
        let window: Vec<(String, String)> = new
            .appointment
            .iter()
            .map(|a| (a.start.clone(), a.end.clone()))
            .collect();
        let id = t.book(job, &window, &stamp);
        let job = t
            .jobs
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .expect("just booked");
        // The booking call becomes Booked and points at the job.
        for call_id in [new.lead_call_id, new.partner_lead_call_id]
            .into_iter()
            .flatten()
        {
            if let Some(call) = t.calls.iter_mut().find(|c| c.id == call_id) {
                *version += 1;
                call.job_id = Some(id);
                call.call_type = Some(CallType::Booked);
                call.modified_on.clone_from(&stamp);
                call.version = *version;
            }
        }
        (job_json(t, &job), t.webhook.clone())
    });
    let result = result.map(|(job, webhook)| (webhook, job.clone(), job));
    created(&s, tenant_id, "JobBooked", result)
}

/// What creating a record answers: 201 with the record, after the tenant's `event` webhook
/// (if one is configured) is sent with `payload`; 404 when the tenant is unknown (`None`).
fn created<P: serde::Serialize, R: serde::Serialize>(
    s: &Shared,
    tenant_id: u64,
    event: &str,
    result: Option<(Option<crate::seed::Webhook>, P, R)>,
) -> Response {
    match result {
        Some((webhook, payload, record)) => {
            let payload = serde_json::to_value(&payload).unwrap_or_default();
            crate::webhooks::send(s, webhook, tenant_id, event, payload);
            (StatusCode::CREATED, Json(record)).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "Tenant not found"),
    }
}
