//! `book_appointment`, `reschedule_appointment`, `cancel_appointment`: the writes, each
//! inside its window's hold, each announced on EVENTS.

use super::availability::{What, in_window, what};
use super::{REQUEST_ID_KEY, ToolResult, catalog, id, instant, invalid, optional, st_error, text};
use crate::service::Inner;
use crate::tenant::Tenant;
use jiff::Timestamp;
use serde_json::json;
use std::time::Duration;
use switchboard_events::tools::{ErrorCode, ToolError, ToolRequest};
use switchboard_events::{BookingData, EventType};
use switchboard_servicetitan::ErrorKind;
use switchboard_servicetitan::models as st;

pub(super) async fn book(inner: &Inner, tenant: &Tenant, request: &ToolRequest) -> ToolResult {
    let args = &request.arguments;
    let customer_id = id(args, "customer_id")?;
    let location_id = id(args, "location_id")?;
    let (start, end) = (instant(args, "start")?, instant(args, "end")?);
    let catalog = catalog(tenant).await?;
    let w = what(tenant, &catalog, args)?;
    let campaign_name = optional(args, "campaign")
        .map(str::to_owned)
        .or_else(|| tenant.policy.default_campaign.clone())
        .ok_or_else(|| invalid("`campaign` is required: this tenant has no default campaign (tenants.x.booking.default_campaign)"))?;
    let campaign = catalog
        .campaign(&campaign_name)
        .ok_or_else(|| {
            ToolError::new(
                ErrorCode::NotFound,
                format!("no active campaign `{campaign_name}`"),
            )
        })?
        .id;
    let body = st::CreateJob {
        customer_id,
        location_id,
        business_unit_id: w.business_unit,
        job_type_id: w.job_type.id,
        priority: tenant.policy.default_priority.clone(),
        campaign_id: campaign,
        appointments: vec![st::NewAppointment {
            start: start.to_string(),
            end: end.to_string(),
            arrival_window_start: Some(start.to_string()),
            arrival_window_end: Some(end.to_string()),
            technician_ids: None,
        }],
        summary: optional(args, "summary").map(str::to_owned),
        partner_lead_call_id: None,
        external_data: Some(st::ExternalDataCreate {
            application_guid: inner.application_guid.clone(),
            external_data: vec![st::KeyValue {
                key: REQUEST_ID_KEY.into(),
                value: request.request_id.clone(),
            }],
        }),
    };
    let job = in_window(
        inner,
        tenant,
        &catalog,
        &w,
        (start, end),
        &request.request_id,
        || create_once(inner, tenant, &request.request_id, &body),
    )
    .await?;
    let mut data = BookingData {
        appointment_id: Some(job.first_appointment_id).filter(|a| *a > 0),
        start: Some(tenant.rfc3339(start)),
        end: Some(tenant.rfc3339(end)),
        ..booking_data(request, &job)
    };
    inner.publish(tenant, EventType::JobBooked, &data).await;
    // A CSR booking the same window at the same moment is only visible now.
    if let Ok((slots, _)) = tenant
        .capacity(
            w.business_unit,
            w.job_type.id,
            &[tenant.day_of(start)],
            true,
        )
        .await
        && let Some(slot) = slots.iter().find(|s| s.start == start && s.overbooked())
    {
        inner.metrics.overbooked.inc();
        data.open_hours = Some(slot.open_hours);
        tracing::warn!(tenant = %tenant.name, job_id = job.id, start = %data.start.as_deref().unwrap_or_default(),
            open_hours = slot.open_hours, "a window is over capacity after booking into it; the job stands, a person decides");
        inner
            .publish(tenant, EventType::BookingOverbooked, &data)
            .await;
    }
    Ok(
        json!({"job_id": job.id, "appointment_id": data.appointment_id, "start": data.start, "end": data.end}),
    )
}

/// What an event says of a job this request worked on.
fn booking_data(request: &ToolRequest, job: &st::Job) -> BookingData {
    BookingData {
        request_id: request.request_id.clone(),
        provider_call_id: request.call.id.clone(),
        from: request.call.from.clone(),
        job_id: job.id,
        customer_id: Some(job.customer_id),
        location_id: Some(job.location_id),
        business_unit_id: Some(job.business_unit_id),
        job_type_id: Some(job.job_type_id),
        ..BookingData::default()
    }
}

/// Creates the job once: ServiceTitan has no idempotency key, so a job this request
/// already created (a lost answer, here or on another replica) is looked up by the request
/// id in its external data first, and again after a failure that may have created it.
async fn create_once(
    inner: &Inner,
    tenant: &Tenant,
    request_id: &str,
    body: &st::CreateJob,
) -> Result<st::Job, ToolError> {
    if let Some(job) = created_job(inner, tenant, request_id).await? {
        inner.metrics.recovered.inc();
        return Ok(job);
    }
    match tenant.client.create_job(body).await {
        Ok(job) => {
            inner.metrics.jobs_created.inc();
            Ok(job)
        }
        Err(e) if e.kind == ErrorKind::Transient => {
            for pause in [200, 500, 1000] {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                if let Ok(Some(job)) = created_job(inner, tenant, request_id).await {
                    inner.metrics.recovered.inc();
                    return Ok(job);
                }
            }
            Err(st_error(e))
        }
        Err(e) => Err(st_error(e)),
    }
}

async fn created_job(
    inner: &Inner,
    tenant: &Tenant,
    request_id: &str,
) -> Result<Option<st::Job>, ToolError> {
    let found = tenant
        .client
        .list_jobs(vec![
            (
                "externalDataApplicationGuid",
                inner.application_guid.clone(),
            ),
            ("externalDataKey", REQUEST_ID_KEY.into()),
            ("externalDataValues", request_id.to_owned()),
        ])
        .await
        .map_err(st_error)?;
    Ok(found.data.into_iter().next())
}

pub(super) async fn reschedule(
    inner: &Inner,
    tenant: &Tenant,
    request: &ToolRequest,
) -> ToolResult {
    let args = &request.arguments;
    let appointment_id = id(args, "appointment_id")?;
    let (start, end) = (instant(args, "start")?, instant(args, "end")?);
    let c = &tenant.client;
    let appointment = c.get_appointment(appointment_id).await.map_err(st_error)?;
    let job = c.get_job(appointment.job_id).await.map_err(st_error)?;
    let catalog = catalog(tenant).await?;
    let job_type = catalog
        .job_types
        .iter()
        .find(|j| j.id == job.job_type_id)
        .ok_or_else(|| {
            ToolError::new(
                ErrorCode::NotFound,
                format!(
                    "job {}'s job type {} is not active",
                    job.id, job.job_type_id
                ),
            )
        })?;
    let w = What::new(tenant, job_type, job.business_unit_id)?;
    let body = st::RescheduleAppointment {
        start: start.to_string(),
        end: end.to_string(),
        arrival_window_start: Some(start.to_string()),
        arrival_window_end: Some(end.to_string()),
    };
    in_window(
        inner,
        tenant,
        &catalog,
        &w,
        (start, end),
        &request.request_id,
        || async {
            c.reschedule_appointment(appointment_id, &body)
                .await
                .map_err(st_error)
        },
    )
    .await?;
    if let Ok(old) = appointment.start.parse::<Timestamp>() {
        tenant.invalidate(Some((job.business_unit_id, tenant.day_of(old))));
    }
    let data = BookingData {
        appointment_id: Some(appointment_id),
        start: Some(tenant.rfc3339(start)),
        end: Some(tenant.rfc3339(end)),
        ..booking_data(request, &job)
    };
    inner
        .publish(tenant, EventType::AppointmentRescheduled, &data)
        .await;
    Ok(json!({"appointment_id": appointment_id, "start": data.start, "end": data.end}))
}

pub(super) async fn cancel(inner: &Inner, tenant: &Tenant, request: &ToolRequest) -> ToolResult {
    let args = &request.arguments;
    let job_id = id(args, "job_id")?;
    let reason = text(args, "reason")?;
    let catalog = catalog(tenant).await?;
    let reason_id = catalog
        .cancel_reason(reason)
        .ok_or_else(|| {
            let known: Vec<&str> = catalog
                .cancel_reasons
                .iter()
                .filter(|r| r.active)
                .map(|r| r.name.as_str())
                .collect();
            invalid(format!(
                "`{reason}` is not a job-cancel reason; known: {}",
                known.join(", ")
            ))
        })?
        .id;
    let c = &tenant.client;
    let job = c.get_job(job_id).await.map_err(st_error)?;
    let memo = optional(args, "memo").unwrap_or("Canceled by the AI agent at the caller's request");
    c.cancel_job(
        job_id,
        &st::CancelJob {
            reason_id,
            memo: memo.to_owned(),
        },
    )
    .await
    .map_err(st_error)?;
    tenant.invalidate(None);
    let data = booking_data(request, &job);
    inner.publish(tenant, EventType::JobCanceled, &data).await;
    Ok(json!({"job_id": job_id, "status": "Canceled"}))
}
