//! ServiceTitan's Dispatch module (`/dispatch/…`): booking capacity in hours per arrival
//! window (ACP), computed from seeded technician shifts, job types and appointments; the
//! technician shifts, arrival windows and business hours (all read-only).

use super::Api;
use super::query::{format_time, int, json, parse_time, parse_time_in_offset};
use crate::clock::SEEDED_AT;
use crate::clock::now;
use crate::seed::TenantData;
use crate::state::validation;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use switchboard_servicetitan::models as st;

/// `POST capacity`: one slot per arrival window per day (days start at midnight in the
/// request's offset), in hours: see [`SlotLoad`]. `isAvailable`: the open hours cover the
/// asked job type's duration (any open time without one); `isExceedingIdealBookingPercentage`:
/// booking it would take the window past the tenant's ideal booking percentage.
pub(crate) async fn capacity(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "query capacity");
    let s = api.s;
    let request = strict_body!(st::CapacityRequest, body, "body");
    let (Some((start, offset)), Some(end)) = (
        parse_time_in_offset(&request.starts_on_or_after),
        parse_time(&request.ends_on_or_before),
    ) else {
        return validation(
            "One or more validation errors occurred.",
            "startsOnOrAfter",
            "use RFC 3339 date-times".into(),
        );
    };
    if end <= start || end.duration_since(start) > SignedDuration::from_hours(31 * 24) {
        return validation(
            "One or more validation errors occurred.",
            "endsOnOrBefore",
            "must be after the start and within 31 days".into(),
        );
    }
    // Days start at midnight in the start's own offset, which every slot is written with.
    let midnight = offset.to_datetime(start).start_of_day();
    let Ok(first_day) = offset.to_timestamp(midnight) else {
        return validation(
            "One or more validation errors occurred.",
            "startsOnOrAfter",
            "use RFC 3339 date-times".into(),
        );
    };
    let response = s.sim.with_tenant(tid, |t, _| {
        let mut availabilities = Vec::new();
        let mut day = first_day;
        let windows = windows(t);
        let need = request.job_type_id.and_then(|id| job_type_hours(t, id));
        while day < end {
            for (at, length) in &windows {
                // Past the last representable instant is past `end` too: no more slots.
                let (Ok(slot_start), Ok(slot_end)) =
                    (day.checked_add(*at), day.checked_add(*at + *length))
                else {
                    break;
                };
                if slot_start < start || slot_end > end {
                    continue;
                }
                let slot = SlotLoad::of(t, slot_start, slot_end);
                let open = slot.total - slot.booked;
                let is_available = match need {
                    Some(hours) => open + 1e-9 >= hours,
                    None => open > 1e-9,
                };
                let ideal = f64::from(t.ideal_booking_percentage) / 100.0;
                let exceeding = slot.total <= 0.0
                    || (slot.booked + need.unwrap_or(0.0)) / slot.total > ideal + 1e-9;
                let fmt = |x: Timestamp| format_time(x, offset);
                let utc = |x: Timestamp| format_time(x, jiff::tz::Offset::UTC);
                availabilities.push(st::CapacityAvailability {
                    start: fmt(slot_start),
                    end: fmt(slot_end),
                    start_utc: utc(slot_start),
                    end_utc: utc(slot_end),
                    business_unit_ids: request
                        .business_unit_ids
                        .clone()
                        .unwrap_or_else(|| t.business_units.iter().map(|b| b.id).collect()),
                    total_availability: slot.total,
                    open_availability: open,
                    is_available,
                    is_exceeding_ideal_booking_percentage: exceeding,
                    technicians: slot.technicians,
                });
            }
            match day.checked_add(SignedDuration::from_hours(24)) {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        serde_json::json!({ "timeStamp": now(), "availabilities": availabilities })
    });
    json(&response)
}

/// The tenant's arrival windows as (start of day, length); two-hour windows from 08:00 to
/// 18:00 when it has none.
fn windows(t: &TenantData) -> Vec<(SignedDuration, SignedDuration)> {
    let seeded: Vec<_> = t
        .arrival_windows
        .iter()
        .filter(|w| w.active)
        .filter_map(|w| Some((timespan(&w.start)?, timespan(&w.duration)?)))
        .collect();
    if !seeded.is_empty() {
        return seeded;
    }
    (8..18)
        .step_by(2)
        .map(|h| (SignedDuration::from_hours(h), SignedDuration::from_hours(2)))
        .collect()
}

/// `hh:mm:ss` (a .NET time span, as ServiceTitan writes arrival windows).
fn timespan(s: &str) -> Option<SignedDuration> {
    let mut parts = s.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (
        parts.next()??,
        parts.next()??,
        parts.next().unwrap_or(Some(0))?,
    );
    Some(SignedDuration::from_secs(h * 3600 + m * 60 + sec))
}

/// A job type's duration in hours, if it has one.
fn job_type_hours(t: &TenantData, id: i64) -> Option<f64> {
    t.job_types
        .iter()
        .find(|j| j.id == id)
        .and_then(|j| j.duration_secs)
        .filter(|d| *d > 0)
        .map(|d| d as f64 / 3600.0)
}

/// One window's capacity, ACP-style, in hours: what the technicians on a Normal shift give
/// it (all technicians for the whole window when no shifts are seeded), and what the jobs
/// whose appointments start in it take (their job type's duration, else the appointment's
/// length). Technicians belong to every business unit: st-sim models one business-unit
/// group.
struct SlotLoad {
    total: f64,
    booked: f64,
    technicians: Vec<st::CapacityTechnician>,
}

impl SlotLoad {
    fn of(t: &TenantData, from: Timestamp, to: Timestamp) -> SlotLoad {
        let hours = |d: SignedDuration| d.as_secs_f64() / 3600.0;
        let mut technicians = Vec::new();
        let mut total = 0.0;
        for tech in &t.technicians {
            let given: f64 = if t.technician_shifts.is_empty() {
                hours(to.duration_since(from))
            } else {
                t.technician_shifts
                    .iter()
                    .filter(|sh| {
                        sh.active && sh.shift_type == "Normal" && sh.technician_id == tech.id
                    })
                    .filter_map(|sh| Some((parse_time(&sh.start)?, parse_time(&sh.end)?)))
                    .map(|(a, b)| {
                        hours(
                            b.min(to)
                                .duration_since(a.max(from))
                                .max(SignedDuration::ZERO),
                        )
                    })
                    .sum()
            };
            total += given;
            technicians.push(st::CapacityTechnician {
                id: tech.id,
                name: tech.name.clone(),
                status: if given > 0.0 {
                    "Available"
                } else {
                    "Unavailable"
                }
                .into(),
                has_required_skills: None,
            });
        }
        let booked = t
            .appointments
            .iter()
            .filter_map(|a| {
                let job = t.jobs.iter().find(|j| j.id == a.job_id)?;
                if job.job_status == "Canceled" {
                    return None;
                }
                let (start, end) = (parse_time(&a.start)?, parse_time(&a.end)?);
                (start >= from && start < to).then(|| {
                    job_type_hours(t, job.job_type_id)
                        .unwrap_or_else(|| hours(end.duration_since(start)))
                })
            })
            .sum();
        SlotLoad {
            total,
            booked,
            technicians,
        }
    }
}

/// `GET arrival-windows` (active ones unless `active` says otherwise).
pub(crate) async fn arrival_windows(api: Api) -> Response {
    api.list("list arrival windows", |t, p| {
        t.arrival_windows
            .iter()
            .filter(|w| active_filter(p, w.active))
            .map(|w| st::ArrivalWindow {
                id: w.id,
                start: w.start.clone(),
                duration: w.duration.clone(),
                business_unit_ids: w.business_unit_ids.clone(),
                active: w.active,
            })
            .collect()
    })
    .await
}

/// `GET business-hours`: not paged.
pub(crate) async fn business_hours(api: Api) -> Response {
    let tid = admit!(api, "get business hours");
    let hours = api.s.sim.with_tenant(tid, |t, _| {
        let ranges = |r: &[[i32; 2]]| {
            r.iter()
                .map(|[from_hour, to_hour]| st::HourRange {
                    from_hour: *from_hour,
                    to_hour: *to_hour,
                })
                .collect()
        };
        st::BusinessHours {
            weekdays: ranges(&t.business_hours.weekdays),
            saturday: ranges(&t.business_hours.saturday),
            sunday: ranges(&t.business_hours.sunday),
        }
    });
    json(&hours)
}

/// ServiceTitan's `active` filter: `True` (the default), `False` or `Any`.
pub(super) fn active_filter(p: &std::collections::HashMap<String, String>, active: bool) -> bool {
    match p.get("active").map(|v| v.to_ascii_lowercase()).as_deref() {
        Some("any") => true,
        Some("false") => !active,
        _ => active,
    }
}

pub(crate) async fn technician_shifts(api: Api) -> Response {
    // Authenticated first, as every endpoint; then a bad technicianId is a 400.
    let tid = admit!(api, "list technician shifts");
    let technician = match int(&api.p, "technicianId") {
        Ok(t) => t,
        Err(r) => return r,
    };
    api.list_admitted(tid, |t, p| {
        let starts_after = p.get("startsOnOrAfter").and_then(|v| parse_time(v));
        let ends_before = p.get("endsOnOrBefore").and_then(|v| parse_time(v));
        t.technician_shifts
            .iter()
            .filter(|sh| technician.is_none_or(|id| sh.technician_id == id))
            .filter(|sh| starts_after.is_none_or(|a| parse_time(&sh.start).is_some_and(|s| s >= a)))
            .filter(|sh| ends_before.is_none_or(|b| parse_time(&sh.end).is_some_and(|e| e <= b)))
            .map(|sh| st::TechnicianShift {
                id: sh.id,
                shift_type: sh.shift_type.clone(),
                title: sh.title.clone(),
                note: None,
                active: sh.active,
                technician_id: sh.technician_id,
                start: sh.start.clone(),
                end: sh.end.clone(),
                created_on: SEEDED_AT.into(),
                modified_on: SEEDED_AT.into(),
            })
            .collect()
    })
}
