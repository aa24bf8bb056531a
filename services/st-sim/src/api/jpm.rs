//! ServiceTitan's Job Planning and Management module (`/jpm/…`): jobs, appointments, and
//! appointment confirmation (`PUT`/`DELETE …/confirmation`), which fires the
//! `AppointmentConfirmed` / `AppointmentConfirmationRemoved` webhooks.

use super::query::{Params, ids_filter, in_range, json, paginate, with_required};
use super::views::job_json;
use crate::Shared;
use crate::clock::now;
use crate::state::problem;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_servicetitan::models as st;

pub(crate) async fn list_jobs(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list jobs", headers, tenant);
    let ids = ids_filter(&p);
    let items = s.sim.with_tenant(tid, |t, _| {
        t.jobs
            .iter()
            .filter(|j| ids.as_ref().is_none_or(|ids| ids.contains(&j.id)))
            .filter(|j| in_range(&j.created_on, &j.modified_on, &p))
            .filter(|j| p.get("jobStatus").is_none_or(|v| &j.job_status == v))
            .map(|j| job_json(t, j))
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}

pub(crate) async fn get_job(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get job", headers, tenant);
    s.sim
        .with_tenant(tid, |t, _| match t.jobs.iter().find(|j| j.id == id) {
            Some(j) => json(&job_json(t, j)),
            None => problem(StatusCode::NOT_FOUND, "Job not found"),
        })
}

/// `GET /jpm/v2/tenant/{t}/appointments/{id}`.
pub(crate) async fn get_appointment(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get appointment", headers, tenant);
    s.sim.with_tenant(tid, |t, _| {
        match t.appointments.iter().find(|a| a.id == id) {
            Some(a) => {
                let customer_id = t
                    .jobs
                    .iter()
                    .find(|j| j.id == a.job_id)
                    .map_or(0, |j| j.customer_id);
                json(&with_required(
                    &st::Appointment {
                        id: a.id,
                        job_id: a.job_id,
                        start: a.start.clone(),
                        end: a.end.clone(),
                        status: "Scheduled".into(),
                        is_confirmed: a.confirmed,
                        active: true,
                        modified_on: a.modified_on.clone(),
                    },
                    serde_json::json!({"appointmentNumber": format!("{}-1", a.job_id), "arrivalWindowStart": null,
                        "arrivalWindowEnd": null, "specialInstructions": "", "createdOn": a.modified_on,
                        "customerId": customer_id, "unused": false, "createdById": 0, "appointmentSummaries": null}),
                ))
            }
            None => problem(StatusCode::NOT_FOUND, "Appointment not found"),
        }
    })
}

async fn set_confirmation(
    s: Shared,
    headers: HeaderMap,
    tenant: String,
    id: i64,
    confirmed: bool,
) -> Response {
    let op = if confirmed {
        "confirm appointment"
    } else {
        "remove appointment confirmation"
    };
    let tid = admit!(s.sim, op, headers, tenant);
    let result = s.sim.with_tenant(tid, |t, _| {
        let appointment = t.appointments.iter_mut().find(|a| a.id == id)?;
        appointment.confirmed = confirmed;
        appointment.modified_on = now();
        Some((appointment.clone(), t.webhook.clone()))
    });
    match result {
        Some((appointment, webhook)) => {
            let event = if confirmed {
                "AppointmentConfirmed"
            } else {
                "AppointmentConfirmationRemoved"
            };
            crate::webhooks::send(
                &s,
                webhook,
                tid,
                event,
                serde_json::to_value(&appointment).unwrap_or_default(),
            );
            StatusCode::OK.into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "Appointment not found"),
    }
}

pub(crate) async fn confirm(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    set_confirmation(s, headers, tenant, id, true).await
}

pub(crate) async fn unconfirm(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    set_confirmation(s, headers, tenant, id, false).await
}
