//! The tools, each a function from a request's arguments to a result or a domain error
//! (docs/booking.md has the contract). ServiceTitan is read through the tenant's catalog
//! and capacity cache and written through `switchboard-servicetitan`'s enumerated writes.

use crate::capacity::{self, Need, Slot};
use crate::holds::Holds;
use crate::service::Inner;
use crate::tenant::{Catalog, Tenant};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_events::tools::{ErrorCode, ToolError, ToolRequest};
use switchboard_events::{BookingData, EventType};
use switchboard_servicetitan::models as st;
use switchboard_servicetitan::{ErrorKind, StError};

pub(crate) type ToolResult = Result<Value, ToolError>;

/// The longest range `find_availability` answers for.
const MAX_DAYS: i64 = 14;
/// How long a booking waits for another booking's hold on its window.
const HOLD_WAIT: Duration = Duration::from_secs(10);
/// The external-data key a job carries its request id under.
pub const REQUEST_ID_KEY: &str = "switchboard_request_id";

pub(crate) async fn run(
    inner: &Inner,
    tenant: &Tenant,
    tool: &str,
    request: &ToolRequest,
) -> ToolResult {
    let args = &request.arguments;
    match tool {
        "find_customer" => find_customer(tenant, args).await,
        "create_customer" => create_customer(tenant, args).await,
        "find_availability" => find_availability(inner, tenant, args).await,
        "book_appointment" => book(inner, tenant, request).await,
        "reschedule_appointment" => reschedule(inner, tenant, request).await,
        "cancel_appointment" => cancel(inner, tenant, request).await,
        other => Err(ToolError::new(
            ErrorCode::UnknownTool,
            format!(
                "there is no tool `{other}`; the tools are {}",
                switchboard_events::tools::TOOLS.join(", ")
            ),
        )),
    }
}

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorCode::InvalidArguments, message)
}

/// ServiceTitan's refusal or failure as the agent hears it.
fn st_error(e: StError) -> ToolError {
    match (e.kind, e.status) {
        (ErrorKind::Permanent, Some(404)) => ToolError::new(ErrorCode::NotFound, e.to_string()),
        (ErrorKind::Permanent, Some(400)) => invalid(e.to_string()),
        _ => ToolError::new(
            ErrorCode::ServicetitanUnavailable,
            format!("ServiceTitan did not answer: {e}; ask again in a moment"),
        ),
    }
}

fn text<'a>(args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("`{name}` is required (text)")))
}

fn optional<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A number, or an id written as text.
fn id(args: &Value, name: &str) -> Result<i64, ToolError> {
    match args.get(name) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("`{name}` is required (a ServiceTitan id)")))
}

/// A name or an id, as text either way.
fn name_or_id(args: &Value, name: &str) -> Option<String> {
    match args.get(name) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn e164(args: &Value, name: &str) -> Result<String, ToolError> {
    let raw = text(args, name)?;
    let number = switchboard_events::e164::normalise(raw);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if number.starts_with('+') && (8..=15).contains(&digits) {
        Ok(number)
    } else {
        Err(invalid(format!(
            "`{name}` must be a phone number in E.164 (like +15125550101), not `{raw}`"
        )))
    }
}

fn instant(args: &Value, name: &str) -> Result<Timestamp, ToolError> {
    let raw = text(args, name)?;
    switchboard_events::normalise::parse_rfc3339(raw)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            invalid(format!(
                "`{name}` must be an RFC 3339 time like 2026-12-03T08:00:00-06:00, not `{raw}`"
            ))
        })
}

async fn catalog(tenant: &Tenant) -> Result<std::sync::Arc<Catalog>, ToolError> {
    tenant.catalog().await.map_err(st_error)
}

async fn find_customer(tenant: &Tenant, args: &Value) -> ToolResult {
    let phone = e164(args, "phone")?;
    let c = &tenant.client;
    let customers = c
        .customers(vec![("phone", phone.clone()), ("pageSize", "10".into())])
        .await
        .map_err(st_error)?;
    let mut found = Vec::new();
    for customer in customers.data.iter().filter(|c| c.active) {
        let locations = c
            .locations(vec![
                ("customerId", customer.id.to_string()),
                ("pageSize", "20".into()),
            ])
            .await
            .map_err(st_error)?;
        let locations: Vec<Value> = locations
            .data
            .iter()
            .filter(|l| l.active)
            .map(|l| {
                json!({"id": l.id, "address": {"street": l.address.street, "city": l.address.city,
                    "state": l.address.state, "zip": l.address.zip}})
            })
            .collect();
        found.push(json!({"id": customer.id, "name": customer.name, "locations": locations}));
    }
    Ok(json!({ "customers": found }))
}

async fn create_customer(tenant: &Tenant, args: &Value) -> ToolResult {
    let name = text(args, "name")?.to_owned();
    let phone = e164(args, "phone")?;
    let address = args
        .get("address")
        .ok_or_else(|| invalid("`address` is required: {street, city, state, zip, country?}"))?;
    let address = st::NewAddress {
        street: text(address, "street")?.to_owned(),
        unit: optional(address, "unit").map(str::to_owned),
        city: text(address, "city")?.to_owned(),
        state: text(address, "state")?.to_owned(),
        zip: text(address, "zip")?.to_owned(),
        country: optional(address, "country").unwrap_or("USA").to_owned(),
    };
    let contact = st::NewContact {
        kind: "MobilePhone".into(),
        value: phone.clone(),
        memo: None,
    };
    let body = st::CreateCustomer {
        name: name.clone(),
        kind: Some("Residential".into()),
        address: address.clone(),
        locations: vec![st::NewLocation {
            name: name.clone(),
            address,
            contacts: vec![contact.clone()],
        }],
        contacts: vec![contact],
    };
    let created = match tenant.client.create_customer(&body).await {
        Ok(c) => c,
        // The answer was lost: the customer may exist now. Look before telling the agent
        // to ask again (it will, with the same request id).
        Err(e) if e.kind == ErrorKind::Transient => {
            return match existing_customer(tenant, &phone, &name).await {
                Some(found) => Ok(found),
                None => Err(st_error(e)),
            };
        }
        Err(e) => return Err(st_error(e)),
    };
    let location = created.locations.first().map(|l| l.id).ok_or_else(|| {
        ToolError::new(
            ErrorCode::ServicetitanUnavailable,
            "ServiceTitan created the customer without a location",
        )
    })?;
    Ok(json!({"customer_id": created.id, "location_id": location}))
}

async fn existing_customer(tenant: &Tenant, phone: &str, name: &str) -> Option<Value> {
    let c = &tenant.client;
    let customers = c.customers(vec![("phone", phone.to_owned())]).await.ok()?;
    let customer = customers
        .data
        .iter()
        .rev()
        .find(|x| x.name.eq_ignore_ascii_case(name))?;
    let locations = c
        .locations(vec![("customerId", customer.id.to_string())])
        .await
        .ok()?;
    let location = locations.data.first()?;
    Some(json!({"customer_id": customer.id, "location_id": location.id}))
}

/// The job type, business unit and need of a booking's arguments.
struct What {
    job_type: st::JobType,
    business_unit: i64,
    need: Need,
}

fn what(tenant: &Tenant, catalog: &Catalog, args: &Value) -> Result<What, ToolError> {
    let wanted = name_or_id(args, "job_type")
        .ok_or_else(|| invalid("`job_type` is required (a name or id)"))?;
    let job_type = catalog.job_type(&wanted).ok_or_else(|| {
        let known: Vec<&str> = catalog
            .job_types
            .iter()
            .filter(|j| j.active)
            .map(|j| j.name.as_str())
            .collect();
        ToolError::new(
            ErrorCode::NotFound,
            format!("no active job type `{wanted}`; known: {}", known.join(", ")),
        )
    })?;
    let hours = capacity::duration_hours(&job_type.name, job_type.duration)
        .map_err(|e| invalid(e.to_string()))?;
    let business_unit = match name_or_id(args, "business_unit") {
        Some(wanted) => {
            catalog
                .business_unit(&wanted)
                .ok_or_else(|| {
                    ToolError::new(
                        ErrorCode::NotFound,
                        format!("no active business unit `{wanted}`"),
                    )
                })?
                .id
        }
        None => *job_type.business_unit_ids.first().ok_or_else(|| {
            invalid(format!(
                "job type `{}` has no business unit; name one in `business_unit`",
                job_type.name
            ))
        })?,
    };
    Ok(What {
        job_type: job_type.clone(),
        business_unit,
        need: Need {
            hours,
            respect_ideal: tenant.policy.respect_ideal_booking_percentage,
        },
    })
}

/// A window as the agent gets it.
fn window(tenant: &Tenant, s: &Slot, business_unit: i64, held: f64) -> Value {
    json!({"start": tenant.rfc3339(s.start), "end": tenant.rfc3339(s.end),
        "business_unit_id": business_unit, "open_hours": ((s.open_hours - held) * 100.0).round() / 100.0})
}

/// Offerable windows of `days`, soonest first (holds in flight subtracted, except
/// `except`'s own).
async fn windows(
    inner: &Inner,
    tenant: &Tenant,
    catalog: &Catalog,
    w: &What,
    days: &[Date],
    fresh: bool,
    except: Option<&str>,
) -> Result<(Vec<Slot>, Vec<Value>), ToolError> {
    let (slots, requests) = tenant
        .capacity(w.business_unit, w.job_type.id, days, fresh)
        .await
        .map_err(st_error)?;
    inner.metrics.capacity_requests.inc_by(requests);
    let held = |s: &Slot| {
        inner
            .holds
            .held(&Holds::key(&tenant.name, w.business_unit, s.start), except)
    };
    let offered: Vec<Value> =
        capacity::offerable(&slots, w.business_unit, w.need, &catalog.calendar, held)
            .into_iter()
            .map(|s| window(tenant, s, w.business_unit, held(s)))
            .collect();
    Ok((slots, offered))
}

/// Only windows that have not started yet.
fn upcoming(offered: Vec<Value>) -> Vec<Value> {
    let now = Timestamp::now();
    offered
        .into_iter()
        .filter(|v| {
            v["start"]
                .as_str()
                .and_then(|s| s.parse::<Timestamp>().ok())
                .is_some_and(|s| s > now)
        })
        .collect()
}

async fn find_availability(inner: &Inner, tenant: &Tenant, args: &Value) -> ToolResult {
    let date = |name: &str| -> Result<Date, ToolError> {
        let raw = text(args, name)?;
        raw.parse::<Date>().map_err(|_| {
            invalid(format!(
                "`{name}` must be a date like 2026-12-03, not `{raw}`"
            ))
        })
    };
    let (from, to) = (date("from")?, date("to")?);
    if from > to {
        return Err(invalid(format!("`from` ({from}) is after `to` ({to})")));
    }
    let span = from.until(to).map_or(i64::MAX, |s| i64::from(s.get_days()));
    if span >= MAX_DAYS {
        return Err(invalid(format!(
            "ask for at most {MAX_DAYS} days at a time ({from} to {to} is {} days)",
            span + 1
        )));
    }
    let catalog = catalog(tenant).await?;
    let w = what(tenant, &catalog, args)?;
    let days: Vec<Date> = from
        .series(jiff::Span::new().days(1))
        .take_while(|d| *d <= to)
        .collect();
    let (_, offered) = windows(inner, tenant, &catalog, &w, &days, false, None).await?;
    let offered = upcoming(offered);
    Ok(
        json!({"windows": offered, "job_type": {"id": w.job_type.id, "name": w.job_type.name,
        "duration_minutes": (w.need.hours * 60.0).round() as i64}}),
    )
}

/// Holds the window, re-checks it in ServiceTitan, and runs `write` while holding it.
/// `window_full` (with alternatives on the same and the next days) when it has no room.
async fn in_window<F, Fut>(
    inner: &Inner,
    tenant: &Tenant,
    catalog: &Catalog,
    w: &What,
    (start, end): (Timestamp, Timestamp),
    request_id: &str,
    write: F,
) -> ToolResult
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ToolResult>,
{
    if start <= Timestamp::now() {
        return Err(invalid(format!(
            "{} has already begun; offer a window that find_availability gives",
            tenant.rfc3339(start)
        )));
    }
    let day = tenant.day_of(start);
    let key = Holds::key(&tenant.name, w.business_unit, start);
    // A window the latest capacity and the holds in flight already fill is refused at once,
    // not queued for: under a rush on one window only those that may fit wait their turn.
    let (known, _) = windows(inner, tenant, catalog, w, &[day], false, Some(request_id)).await?;
    if let Some(slot) = known.iter().find(|s| s.start == start && s.end == end)
        && !capacity::fits(slot, w.need, inner.holds.held(&key, Some(request_id)))
    {
        return Err(full(
            inner,
            tenant,
            catalog,
            w,
            day,
            "this window has no room left",
        )
        .await);
    }
    let held = inner
        .holds
        .take(&key, request_id, w.need.hours, HOLD_WAIT)
        .await
        .map_err(|e| {
            ToolError::new(
                ErrorCode::ServicetitanUnavailable,
                format!("cannot hold the window: {e}"),
            )
        })?;
    let outcome = async {
        let Some(_) = &held else {
            return Err(full(inner, tenant, catalog, w, day, "another booking is holding this window").await);
        };
        // ServiceTitan's CSRs never see Switchboard's holds: ask it again, fresh.
        let (slots, _) = windows(inner, tenant, catalog, w, &[day], true, Some(request_id)).await?;
        let slot = slots.iter().find(|s| s.start == start && s.end == end);
        let Some(slot) = slot else {
            return Err(invalid(format!(
                "{} to {} is not one of ServiceTitan's arrival windows; offer one that find_availability gave",
                tenant.rfc3339(start),
                tenant.rfc3339(end)
            )));
        };
        let others = inner.holds.held(&key, Some(request_id));
        if !capacity::fits(slot, w.need, others) || !catalog.calendar.admits(slot, w.business_unit) {
            return Err(full(inner, tenant, catalog, w, day, "this window no longer has room").await);
        }
        write().await
    }
    .await;
    if let Some(held) = held {
        inner.holds.release(held).await;
    }
    tenant.invalidate(Some((w.business_unit, day)));
    outcome
}

async fn full(
    inner: &Inner,
    tenant: &Tenant,
    catalog: &Catalog,
    w: &What,
    day: Date,
    why: &str,
) -> ToolError {
    let days: Vec<Date> = day.series(jiff::Span::new().days(1)).take(3).collect();
    let alternatives = match windows(inner, tenant, catalog, w, &days, false, None).await {
        Ok((_, offered)) => upcoming(offered).into_iter().take(6).collect(),
        Err(_) => Vec::new(),
    };
    ToolError {
        code: ErrorCode::WindowFull,
        message: format!("{why}; offer one of the alternatives"),
        alternatives: Some(alternatives),
    }
}

async fn book(inner: &Inner, tenant: &Tenant, request: &ToolRequest) -> ToolResult {
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
        || async {
            let job = create_once(inner, tenant, &request.request_id, &body).await?;
            Ok(serde_json::to_value(job).unwrap_or_default())
        },
    )
    .await?;
    let job: st::Job = serde_json::from_value(job).map_err(|e| invalid(e.to_string()))?;
    let mut data = BookingData {
        request_id: request.request_id.clone(),
        provider_call_id: request.call.id.clone(),
        from: request.call.from.clone(),
        job_id: job.id,
        appointment_id: Some(job.first_appointment_id).filter(|a| *a > 0),
        customer_id: Some(customer_id),
        location_id: Some(location_id),
        business_unit_id: Some(w.business_unit),
        job_type_id: Some(w.job_type.id),
        start: Some(tenant.rfc3339(start)),
        end: Some(tenant.rfc3339(end)),
        open_hours: None,
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

async fn reschedule(inner: &Inner, tenant: &Tenant, request: &ToolRequest) -> ToolResult {
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
    let w = What {
        need: Need {
            hours: capacity::duration_hours(&job_type.name, job_type.duration)
                .map_err(|e| invalid(e.to_string()))?,
            respect_ideal: tenant.policy.respect_ideal_booking_percentage,
        },
        job_type: job_type.clone(),
        business_unit: job.business_unit_id,
    };
    let body = st::RescheduleAppointment {
        start: start.to_string(),
        end: end.to_string(),
        arrival_window_start: Some(start.to_string()),
        arrival_window_end: Some(end.to_string()),
    };
    let moved = in_window(
        inner,
        tenant,
        &catalog,
        &w,
        (start, end),
        &request.request_id,
        || async {
            let moved = c
                .reschedule_appointment(appointment_id, &body)
                .await
                .map_err(st_error)?;
            Ok(serde_json::to_value(moved).unwrap_or_default())
        },
    )
    .await?;
    if let Ok(old) = appointment.start.parse::<Timestamp>() {
        tenant.invalidate(Some((job.business_unit_id, tenant.day_of(old))));
    }
    let data = BookingData {
        request_id: request.request_id.clone(),
        provider_call_id: request.call.id.clone(),
        from: request.call.from.clone(),
        job_id: job.id,
        appointment_id: Some(appointment_id),
        customer_id: Some(job.customer_id),
        location_id: Some(job.location_id),
        business_unit_id: Some(job.business_unit_id),
        job_type_id: Some(job.job_type_id),
        start: Some(tenant.rfc3339(start)),
        end: Some(tenant.rfc3339(end)),
        open_hours: None,
    };
    inner
        .publish(tenant, EventType::AppointmentRescheduled, &data)
        .await;
    let _ = moved;
    Ok(json!({"appointment_id": appointment_id, "start": data.start, "end": data.end}))
}

async fn cancel(inner: &Inner, tenant: &Tenant, request: &ToolRequest) -> ToolResult {
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
    let data = BookingData {
        request_id: request.request_id.clone(),
        provider_call_id: request.call.id.clone(),
        from: request.call.from.clone(),
        job_id,
        customer_id: Some(job.customer_id),
        location_id: Some(job.location_id),
        business_unit_id: Some(job.business_unit_id),
        job_type_id: Some(job.job_type_id),
        ..BookingData::default()
    };
    inner.publish(tenant, EventType::JobCanceled, &data).await;
    Ok(json!({"job_id": job_id, "status": "Canceled"}))
}
