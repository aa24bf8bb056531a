//! ServiceTitan's JPM endpoints that book (`/jpm/…`): job types, job-cancel reasons, job
//! create (strict `JobCreateRequest`, as the call update is strict), the jobs list's
//! external-data filters, appointment reschedule and job cancel. Apart from `jpm.rs`, which
//! holds the reads and confirmations the calls worker uses.

use super::Api;
use super::dispatch::active_filter;
use super::query::{json, with_required};
use super::views::{appointment_json, job_json, job_json_for};
use crate::clock::{SEEDED_AT, now};
use crate::seed::{self, KeyValue, TenantData};
use crate::state::{problem, validation};
use axum::http::StatusCode;
use axum::response::Response;
use switchboard_servicetitan::models as st;

const INVALID: &str = "One or more validation errors occurred.";

/// `GET job-types` (active ones unless `active` says otherwise).
pub(crate) async fn job_types(api: Api) -> Response {
    api.list("list job types", |t, p| {
        t.job_types
            .iter()
            .filter(|j| active_filter(p, j.active))
            .filter(|j| {
                p.get("name")
                    .is_none_or(|n| n.eq_ignore_ascii_case(&j.name))
            })
            .map(|j| {
                with_required(
                    &st::JobType {
                        id: j.id,
                        name: j.name.clone(),
                        business_unit_ids: j.business_unit_ids.clone(),
                        skills: j.skills.clone(),
                        duration: j.duration_secs,
                        priority: j.priority.clone(),
                        active: j.active,
                    },
                    serde_json::json!({"tagTypeIds": [], "class": "", "summary": "", "noCharge": false,
                        "invoiceSignaturesRequired": false, "modifiedOn": SEEDED_AT, "createdOn": SEEDED_AT,
                        "externalData": [], "isSmartDispatched": false, "defaultEstimateSoldAction": "",
                        "customFieldTypeIds": []}),
                )
            })
            .collect()
    })
    .await
}

/// `GET job-cancel-reasons` (every reason unless `active` says otherwise).
pub(crate) async fn job_cancel_reasons(api: Api) -> Response {
    api.list("list job cancel reasons", |t, p| {
        t.job_cancel_reasons
            .iter()
            .filter(|r| !p.contains_key("active") || active_filter(p, r.active))
            .map(|r| {
                with_required(
                    &st::JobCancelReason {
                        id: r.id,
                        name: r.name.clone(),
                        active: r.active,
                    },
                    serde_json::json!({"createdOn": SEEDED_AT, "modifiedOn": SEEDED_AT}),
                )
            })
            .collect()
    })
    .await
}

/// The jobs list's external-data filters: only the jobs whose external data, written by
/// the application `externalDataApplicationGuid`, has `externalDataKey` with one of
/// `externalDataValues` (comma-separated).
pub(crate) fn external_data_filter(
    p: &std::collections::HashMap<String, String>,
) -> impl Fn(&seed::Job) -> bool + '_ {
    move |j| match (p.get("externalDataKey"), p.get("externalDataValues")) {
        (Some(key), Some(values)) => {
            let guid = p.get("externalDataApplicationGuid");
            guid.is_some_and(|g| {
                j.application_guid
                    .as_deref()
                    .is_some_and(|own| own.eq_ignore_ascii_case(g))
            }) && j
                .external_data
                .iter()
                .any(|kv| &kv.key == key && values.split(',').any(|v| v.trim() == kv.value))
        }
        _ => true,
    }
}

/// `POST jobs`: the body must be exactly `JobCreateRequest` and name records that exist;
/// the job gets one appointment per `appointments` item. Answers the job (200, as
/// ServiceTitan does).
pub(crate) async fn create_job(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "create job");
    let s = api.s;
    let request = strict_body!(st::CreateJob, body, "request");
    let stamp = now();
    let race = s.sim.take_csr_race();
    s.sim.with_tenant(tid, |t, version| {
        if let Err((field, message)) = check_job(t, &request) {
            return validation(INVALID, field, message);
        }
        *version += 1;
        if race {
            csr_books_first(t, &request, &stamp);
        }
        let (application_guid, external_data) = match &request.external_data {
            Some(e) => (
                Some(e.application_guid.clone()),
                e.external_data
                    .iter()
                    .map(|kv| KeyValue {
                        key: kv.key.clone(),
                        value: kv.value.clone(),
                    })
                    .collect(),
            ),
            None => (None, Vec::new()),
        };
        let r = &request;
        let job = seed::Job {
            partner_lead_call_id: r.partner_lead_call_id,
            summary: r.summary.clone(),
            priority: r.priority.clone(),
            application_guid,
            external_data,
            ..scheduled_job(r, &stamp)
        };
        let guid = job.application_guid.clone();
        let id = t.book(job, &appointments(r), &stamp);
        let job = t.jobs.iter().find(|j| j.id == id).expect("just booked");
        json(&job_json_for(t, job, guid.as_deref()))
    })
}

/// A CSR books the same window with the same job type a moment before (the `csr_races`
/// fault): no hold, no capacity check, as ServiceTitan's booking screen allows.
fn csr_books_first(t: &mut TenantData, r: &st::CreateJob, stamp: &str) {
    let job = seed::Job {
        summary: Some("Booked by a CSR in ServiceTitan".into()),
        ..scheduled_job(r, stamp)
    };
    t.book(job, &appointments(r), stamp);
}

/// The scheduled job `r` asks for, without its optional fields.
fn scheduled_job(r: &st::CreateJob, stamp: &str) -> seed::Job {
    seed::Job::scheduled(
        r.customer_id,
        r.location_id,
        r.business_unit_id,
        r.job_type_id,
        r.campaign_id,
        stamp,
    )
}

fn appointments(r: &st::CreateJob) -> Vec<(String, String)> {
    r.appointments
        .iter()
        .map(|a| (a.start.clone(), a.end.clone()))
        .collect()
}

/// What ServiceTitan checks of a new job: every id names a record, and its appointments
/// are well-formed. The field and message of the first problem.
fn check_job(t: &TenantData, r: &st::CreateJob) -> Result<(), (&'static str, String)> {
    let missing =
        |field: &'static str, id: i64| Err((field, format!("{field} {id} does not exist")));
    if !t.customers.iter().any(|c| c.id == r.customer_id) {
        return missing("customerId", r.customer_id);
    }
    if !t
        .locations
        .iter()
        .any(|l| l.id == r.location_id && l.customer_id == r.customer_id)
    {
        return missing("locationId", r.location_id);
    }
    if !t.business_units.iter().any(|b| b.id == r.business_unit_id) {
        return missing("businessUnitId", r.business_unit_id);
    }
    if !t.job_types.iter().any(|j| j.id == r.job_type_id) {
        return missing("jobTypeId", r.job_type_id);
    }
    if !t.campaigns.iter().any(|c| c.id == r.campaign_id) {
        return missing("campaignId", r.campaign_id);
    }
    if !matches!(r.priority.as_str(), "Low" | "Normal" | "High" | "Urgent") {
        return Err((
            "priority",
            format!("`{}` is not Low, Normal, High or Urgent", r.priority),
        ));
    }
    if r.appointments.is_empty() {
        return Err((
            "appointments",
            "at least one appointment is required".into(),
        ));
    }
    for a in &r.appointments {
        match (
            super::query::parse_time(&a.start),
            super::query::parse_time(&a.end),
        ) {
            (Some(start), Some(end)) if start < end => {}
            _ => {
                return Err((
                    "appointments",
                    "start and end must be date-times, start first".into(),
                ));
            }
        }
    }
    Ok(())
}

/// `PATCH appointments/{id}/reschedule`.
pub(crate) async fn reschedule(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "reschedule appointment");
    let id = record_id!(api);
    let s = api.s;
    let request = strict_body!(st::RescheduleAppointment, body, "request");
    let (Some(start), Some(end)) = (
        super::query::parse_time(&request.start),
        super::query::parse_time(&request.end),
    ) else {
        return validation(INVALID, "start", "use RFC 3339 date-times".into());
    };
    if start >= end {
        return validation(INVALID, "end", "must be after start".into());
    }
    let stamp = now();
    s.sim.with_tenant(tid, |t, version| {
        let Some(a) = t.appointments.iter_mut().find(|a| a.id == id) else {
            return problem(StatusCode::NOT_FOUND, "Job appointment was not found");
        };
        a.start.clone_from(&request.start);
        a.end.clone_from(&request.end);
        a.modified_on.clone_from(&stamp);
        *version += 1;
        let a = a.clone();
        json(&appointment_json(t, &a))
    })
}

/// `PUT jobs/{id}/cancel`: `reasonId` must be a job-cancel reason; 200 with no body.
pub(crate) async fn cancel(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "cancel job");
    let id = record_id!(api);
    let s = api.s;
    let request = strict_body!(st::CancelJob, body, "request");
    let stamp = now();
    s.sim.with_tenant(tid, |t, version| {
        if !t
            .job_cancel_reasons
            .iter()
            .any(|r| r.id == request.reason_id)
        {
            return validation(
                INVALID,
                "reasonId",
                format!("reasonId {} does not exist", request.reason_id),
            );
        }
        let Some(job) = t.jobs.iter_mut().find(|j| j.id == id) else {
            return problem(StatusCode::NOT_FOUND, "Job not found");
        };
        job.job_status = "Canceled".into();
        job.modified_on.clone_from(&stamp);
        // Its appointments are canceled with it (the appointments export shows them).
        for a in t.appointments.iter_mut().filter(|a| a.job_id == id) {
            a.modified_on.clone_from(&stamp);
        }
        *version += 1;
        StatusCode::OK.into_response()
    })
}

/// A job by id, as the application with the request's guid reads it.
pub(crate) fn job_for_app(
    t: &TenantData,
    j: &seed::Job,
    p: &std::collections::HashMap<String, String>,
) -> serde_json::Value {
    match p.get("externalDataApplicationGuid") {
        Some(guid) => job_json_for(t, j, Some(guid)),
        None => job_json(t, j),
    }
}

use axum::response::IntoResponse as _;
