//! ServiceTitan's Dispatch module (`/dispatch/…`): booking capacity, computed from seeded
//! technician shifts and appointments in two-hour slots, and the technician shifts list.

use super::Api;
use super::query::{
    format_time, int, json, paginate, parse_time, parse_time_in_offset, with_required,
};
use crate::clock::now;
use crate::state::validation;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use switchboard_servicetitan::models as st;

/// `POST capacity`: two-hour slots from 08:00 to 18:00 UTC each day; total = technicians
/// on a Normal shift covering the slot (all technicians when no shifts are seeded), open =
/// total minus appointments overlapping it.
pub(crate) async fn capacity(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "query capacity");
    let s = api.s;
    let request: st::CapacityRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return validation(
                "One or more validation errors occurred.",
                "body",
                e.to_string(),
            );
        }
    };
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
        while day < end {
            for hour in (8..18).step_by(2) {
                // Past the last representable instant is past `end` too: no more slots.
                let (Ok(slot_start), Ok(slot_end)) = (
                    day.checked_add(SignedDuration::from_hours(hour)),
                    day.checked_add(SignedDuration::from_hours(hour + 2)),
                ) else {
                    break;
                };
                if slot_start < start || slot_end > end {
                    continue;
                }
                let overlaps = |a: &str, b: &str| {
                    matches!((parse_time(a), parse_time(b)), (Some(a), Some(b)) if a < slot_end && b > slot_start)
                };
                let on_shift = t.technician_shifts.iter().filter(|sh| sh.active && sh.shift_type == "Normal" && overlaps(&sh.start, &sh.end)).count();
                let total = if t.technician_shifts.is_empty() { t.technicians.len() } else { on_shift } as f64;
                let booked = t.appointments.iter().filter(|a| overlaps(&a.start, &a.end)).count() as f64;
                let open = (total - booked).max(0.0);
                let fmt = |x: Timestamp| format_time(x, offset);
                availabilities.push(st::CapacityAvailability {
                    start: fmt(slot_start),
                    end: fmt(slot_end),
                    start_utc: fmt(slot_start),
                    end_utc: fmt(slot_end),
                    business_unit_ids: request.business_unit_ids.clone().unwrap_or_else(|| t.business_units.iter().map(|b| b.id).collect()),
                    total_availability: total,
                    open_availability: open,
                    is_available: open > 0.0,
                    is_exceeding_ideal_booking_percentage: total > 0.0 && booked / total > 0.8,
                });
            }
            match day.checked_add(SignedDuration::from_hours(24)) {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        // `technicians` is required by the schema; st-sim does not model skills per slot.
        let availabilities: Vec<serde_json::Value> =
            availabilities.iter().map(|a| with_required(a, serde_json::json!({"technicians": []}))).collect();
        serde_json::json!({ "timeStamp": now(), "availabilities": availabilities })
    });
    json(&response)
}

pub(crate) async fn technician_shifts(api: Api) -> Response {
    let tid = admit!(api, "list technician shifts");
    let Api { s, p, .. } = api;
    let technician = match int(&p, "technicianId") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let starts_after = p.get("startsOnOrAfter").and_then(|v| parse_time(v));
    let ends_before = p.get("endsOnOrBefore").and_then(|v| parse_time(v));
    let items = s.sim.with_tenant(tid, |t, _| {
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
                created_on: String::new(),
                modified_on: String::new(),
            })
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}
