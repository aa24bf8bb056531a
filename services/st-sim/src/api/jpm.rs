//! ServiceTitan's Job Planning and Management module (`/jpm/…`): jobs, appointments and
//! their export, and appointment confirmation (`PUT`/`DELETE …/confirmation`), which fires the
//! `AppointmentConfirmed` / `AppointmentConfirmationRemoved` webhooks.

use super::Api;
use super::query::{ids_filter, in_range, json, parse_time};
use super::views::{appointment_json, job_json};
use crate::clock::now;
use crate::seed;
use crate::state::{problem, validation};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use switchboard_servicetitan::models as st;

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

/// Where an appointments export resumes: after (modified, id), oldest change first.
type AppointmentCursor = (Timestamp, i64);

/// `from` as ServiceTitan takes it: absent (from the beginning), a `continueFrom` of this
/// export, or a date ("2020-01-01") to start from that point in time.
fn appointment_cursor(from: Option<&String>) -> Result<AppointmentCursor, Response> {
    let Some(from) = from else {
        return Ok((Timestamp::UNIX_EPOCH, i64::MIN));
    };
    if let Some((at, id)) = from.split_once('|')
        && let (Some(at), Ok(id)) = (parse_time(at), id.parse())
    {
        return Ok((at, id));
    }
    let since = parse_time(from).or_else(|| {
        from.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    });
    since.map(|t| (t, i64::MIN)).ok_or_else(|| {
        validation(
            "Invalid query parameter",
            "from",
            "not a continuation token from this export, nor a date".into(),
        )
    })
}

/// `GET /jpm/v2/tenant/{t}/export/appointments`: every appointment changed after `from`
/// (booked, rescheduled, confirmed, or its job canceled), oldest change first.
pub(crate) async fn export_appointments(api: Api) -> Response {
    let tid = admit!(api, "export appointments");
    let Api { s, p, .. } = api;
    let after = match appointment_cursor(p.get("from")) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page_size = super::query::export_page_size(&s);
    s.sim.with_tenant(tid, |t, _| {
        let changed_at = |a: &seed::Appointment| {
            (
                parse_time(&a.modified_on).unwrap_or(Timestamp::UNIX_EPOCH),
                a.id,
            )
        };
        let mut changed: Vec<_> = t
            .appointments
            .iter()
            .filter(|a| changed_at(a) > after)
            .collect();
        changed.sort_by_key(|a| changed_at(a));
        let has_more = changed.len() > page_size;
        changed.truncate(page_size);
        let (at, id) = changed.last().map_or(after, |a| changed_at(a));
        json(&st::ExportPage {
            has_more,
            continue_from: format!("{at}|{id}"),
            data: changed
                .into_iter()
                .map(|a| appointment_json(t, a))
                .collect(),
        })
    })
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
