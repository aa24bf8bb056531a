//! `find_availability`, and holding a window while a booking writes into it: what may be
//! offered (the pure core in `crate::capacity`), the capacity re-check, `window_full` with
//! alternatives.

use super::{ToolResult, catalog, invalid, name_or_id, st_error, text};
use crate::capacity::{self, Need, Slot};
use crate::holds::Holds;
use crate::service::Inner;
use crate::tenant::{Catalog, Tenant};
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_events::tools::{ErrorCode, ToolError};
use switchboard_servicetitan::models as st;

/// The longest range `find_availability` answers for.
const MAX_DAYS: i64 = 14;
/// How long a booking waits for another booking's hold on its window.
const HOLD_WAIT: Duration = Duration::from_secs(10);

/// The job type, business unit and need of a booking's arguments.
pub(super) struct What {
    pub job_type: st::JobType,
    pub business_unit: i64,
    pub need: Need,
}

impl What {
    /// Booking `job_type` in `business_unit` for `tenant`; a job type without a duration
    /// is refused (it would overbook).
    pub(super) fn new(
        tenant: &Tenant,
        job_type: &st::JobType,
        business_unit: i64,
    ) -> Result<What, ToolError> {
        let hours = capacity::duration_hours(&job_type.name, job_type.duration)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(What {
            job_type: job_type.clone(),
            business_unit,
            need: Need {
                hours,
                respect_ideal: tenant.policy.respect_ideal_booking_percentage,
            },
        })
    }
}

pub(super) fn what(tenant: &Tenant, catalog: &Catalog, args: &Value) -> Result<What, ToolError> {
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
    What::new(tenant, job_type, business_unit)
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

pub(super) async fn find_availability(inner: &Inner, tenant: &Tenant, args: &Value) -> ToolResult {
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
pub(super) async fn in_window<T, F, Fut>(
    inner: &Inner,
    tenant: &Tenant,
    catalog: &Catalog,
    w: &What,
    (start, end): (Timestamp, Timestamp),
    request_id: &str,
    write: F,
) -> Result<T, ToolError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ToolError>>,
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
