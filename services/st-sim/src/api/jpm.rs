//! ServiceTitan's Job Planning and Management module (`/jpm/…`): jobs, appointments, and
//! appointment confirmation (`PUT`/`DELETE …/confirmation`), which fires the
//! `AppointmentConfirmed` / `AppointmentConfirmationRemoved` webhooks.

use super::Api;
use super::query::{ids_filter, in_range};
use super::views::{appointment_json, job_json};
use crate::clock::now;
use crate::state::problem;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub(crate) async fn list_jobs(api: Api) -> Response {
    api.list("list jobs", |t, p| {
        let ids = ids_filter(p);
        let ours = super::jobs::external_data_filter(p);
        t.jobs
            .iter()
            .filter(|j| ids.as_ref().is_none_or(|ids| ids.contains(&j.id)))
            .filter(|j| in_range(&j.created_on, &j.modified_on, p))
            .filter(|j| p.get("jobStatus").is_none_or(|v| &j.job_status == v))
            .filter(|j| ours(j))
            .map(|j| super::jobs::job_for_app(t, j, p))
            .collect()
    })
    .await
}

pub(crate) async fn get_job(api: Api) -> Response {
    api.get_record("get job", "Job", |t, id| {
        t.jobs.iter().find(|j| j.id == id).map(|j| job_json(t, j))
    })
    .await
}

/// `GET /jpm/v2/tenant/{t}/appointments/{id}`.
pub(crate) async fn get_appointment(api: Api) -> Response {
    api.get_record("get appointment", "Appointment", |t, id| {
        let a = t.appointments.iter().find(|a| a.id == id)?;
        Some(appointment_json(t, a))
    })
    .await
}

async fn set_confirmation(api: Api, confirmed: bool) -> Response {
    let op = if confirmed {
        "confirm appointment"
    } else {
        "remove appointment confirmation"
    };
    let tid = admit!(api, op);
    let id = record_id!(api);
    let s = api.s;
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

pub(crate) async fn confirm(api: Api) -> Response {
    set_confirmation(api, true).await
}

pub(crate) async fn unconfirm(api: Api) -> Response {
    set_confirmation(api, false).await
}
