//! Query-string and response plumbing shared by every ServiceTitan module st-sim imitates:
//! integer parameters, `page`/`pageSize` paging, created/modified range and `ids` filters,
//! the `from` cursor and page size of exports, and JSON answers padded to the schema's
//! required shape. Kept apart so each module file holds only its endpoints.

use crate::Shared;
use crate::state::validation;
use axum::Json;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::Offset;
use std::collections::HashMap;
use switchboard_events::normalise::{format_rfc3339, parse_rfc3339};
use switchboard_servicetitan::models as st;

/// An RFC 3339 time, read with the pipeline's one strict reader.
pub(super) fn parse_time(s: &str) -> Option<Timestamp> {
    parse_rfc3339(s).map(|(t, _)| t)
}

/// An RFC 3339 time and the offset it was written with (dispatch answers in the caller's
/// offset, as ServiceTitan does).
pub(super) fn parse_time_in_offset(s: &str) -> Option<(Timestamp, Offset)> {
    parse_rfc3339(s)
}

/// `t` as RFC 3339 in `offset` (`Z` for a zero offset); empty when the year in `offset` is
/// outside 0000–9999.
pub(super) fn format_time(t: Timestamp, offset: Offset) -> String {
    format_rfc3339(t, offset).unwrap_or_default()
}

pub(super) fn int(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Response> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                validation(
                    "Invalid query parameter",
                    name,
                    format!("`{v}` is not an integer"),
                )
            })
        })
        .transpose()
}

/// `page`/`pageSize`/`includeTotal` paging over an already filtered list.
pub(super) fn paginate<T: Clone>(
    items: Vec<T>,
    params: &HashMap<String, String>,
) -> Result<st::Page<T>, Response> {
    let page = int(params, "page")?.unwrap_or(1).clamp(1, 1_000_000) as usize;
    let size = int(params, "pageSize")?.unwrap_or(50).clamp(1, 5000) as usize;
    let total = items.len();
    let skip = (page - 1).saturating_mul(size);
    let data: Vec<T> = items.into_iter().skip(skip).take(size).collect();
    Ok(st::Page {
        page: page as u32,
        page_size: size as u32,
        total_count: params
            .get("includeTotal")
            .is_some_and(|v| v == "true")
            .then_some(total as u64),
        has_more: skip.saturating_add(size) < total,
        data,
    })
}

/// Created/modified range filters shared by most lists.
pub(super) fn in_range(created: &str, modified: &str, params: &HashMap<String, String>) -> bool {
    let check = |value: &str, after: &str, before: &str| {
        let v = parse_time(value);
        let after_ok = params
            .get(after)
            .and_then(|a| parse_time(a))
            .is_none_or(|a| v.is_some_and(|v| v >= a));
        let before_ok = params
            .get(before)
            .and_then(|b| parse_time(b))
            .is_none_or(|b| v.is_some_and(|v| v < b));
        after_ok && before_ok
    };
    check(created, "createdOnOrAfter", "createdBefore")
        && check(modified, "modifiedOnOrAfter", "modifiedBefore")
}

pub(super) fn ids_filter(params: &HashMap<String, String>) -> Option<Vec<i64>> {
    params
        .get("ids")
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
}

/// The `from` cursor of a version-ordered export: absent → from the start.
pub(super) fn export_cursor(p: &HashMap<String, String>) -> Result<u64, Response> {
    match p.get("from").map(|f| f.parse::<u64>()) {
        None => Ok(0),
        Some(Ok(v)) => Ok(v),
        Some(Err(_)) => Err(validation(
            "Invalid query parameter",
            "from",
            "not a continuation token from this export".into(),
        )),
    }
}

pub(super) fn export_page_size(s: &Shared) -> usize {
    s.sim.lock().seed.settings.export_page_size.max(1)
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Response {
    Json(value).into_response()
}

/// A model serialized with extra fields the OpenAPI schema requires but Switchboard's
/// model does not read (so st-sim's answers have ServiceTitan's full required shape).
pub(super) fn with_required<T: serde::Serialize>(
    value: &T,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut v = serde_json::to_value(value).unwrap_or_default();
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        for (k, x) in more {
            obj.entry(k).or_insert(x);
        }
    }
    v
}
