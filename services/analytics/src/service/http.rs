//! The HTTP read API and the operations page, answered from the projection in memory:
//! `GET /v1/tenants/{tenant}/booking-rate`, `GET /v1/tenants/{tenant}/discrepancies` and
//! `GET /`. Queries, error responses and the date helpers they need live here.

use super::{Service, Tenant};
use crate::booking_rate;
use crate::page::{self, TenantSection};
use crate::rates::{Breakdown, Figures, Snapshot};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use jiff::civil::Date;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest range the booking-rate API answers in one request.
const MAX_DAYS: usize = 366;

#[derive(Debug, Deserialize)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DayQuery {
    date: Option<String>,
}

/// A request the API cannot answer: the status and a message saying what to change.
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn error(status: StatusCode, message: String) -> ApiError {
    ApiError { status, message }
}

fn tenant_of(s: &Service, tenant: &str) -> Result<Arc<Tenant>, ApiError> {
    s.tenant(tenant).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("unknown tenant `{tenant}`: tenants are configured under [tenants.*]"),
        )
    })
}

fn parse_date(name: &str, value: &str) -> Result<Date, ApiError> {
    value.parse::<Date>().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("`{name}` must be a date like 2026-11-23, not `{value}`"),
        )
    })
}

fn add(a: &Figures, b: &Figures) -> Figures {
    let mut f = Figures {
        booked: a.booked + b.booked,
        unbooked: a.unbooked + b.unbooked,
        excused: a.excused + b.excused,
        not_lead: a.not_lead + b.not_lead,
        abandoned: a.abandoned + b.abandoned,
        unclassified: a.unclassified + b.unclassified,
        calls: a.calls + b.calls,
        booking_rate: None,
    };
    f.booking_rate = booking_rate(f.booked, f.unbooked);
    f
}

fn add_breakdowns(into: &mut BTreeMap<String, Breakdown>, from: &BTreeMap<String, Breakdown>) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        e.agent = add(&e.agent, &v.agent);
        e.servicetitan = add(&e.servicetitan, &v.servicetitan);
    }
}

fn today(tenant: &Tenant) -> Date {
    tenant.zone.local_date(jiff::Timestamp::now())
}

/// The days from `from` to `to`, at most `MAX_DAYS + 1` of them (the caller refuses more).
fn days_between(from: Date, to: Date) -> Vec<Date> {
    let mut days = Vec::new();
    let mut d = from;
    while d <= to && days.len() <= MAX_DAYS {
        days.push(d);
        match d.tomorrow() {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    days
}

/// `GET /v1/tenants/{tenant}/booking-rate?from=YYYY-MM-DD&to=YYYY-MM-DD` (default: the
/// last 30 local days): both views per day, totals and breakdowns over the range.
pub(super) async fn booking_rate_handler(
    State(s): State<Arc<Service>>,
    Path(tenant): Path<String>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, ApiError> {
    let tenant = &*tenant_of(&s, &tenant)?;
    let to = match q.to.as_deref() {
        Some(v) => parse_date("to", v)?,
        None => today(tenant),
    };
    let from = match q.from.as_deref() {
        Some(v) => parse_date("from", v)?,
        None => to.saturating_sub(jiff::Span::new().days(29)),
    };
    if from > to {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("`from` ({from}) is after `to` ({to})"),
        ));
    }
    let days = days_between(from, to);
    if days.len() > MAX_DAYS {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("more than {MAX_DAYS} days asked for; ask for at most {MAX_DAYS} at a time"),
        ));
    }
    let snapshots: Vec<Snapshot> = {
        let st = tenant.lock();
        days.iter().map(|d| st.engine.snapshot(*d)).collect()
    };
    let mut agent = Figures::tally([]);
    let mut servicetitan = Figures::tally([]);
    let (mut by_agent, mut by_bu, mut by_campaign) =
        (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut discrepancies = 0;
    for s in &snapshots {
        agent = add(&agent, &s.agent);
        servicetitan = add(&servicetitan, &s.servicetitan);
        add_breakdowns(&mut by_agent, &s.by_agent);
        add_breakdowns(&mut by_bu, &s.by_business_unit);
        add_breakdowns(&mut by_campaign, &s.by_campaign);
        discrepancies += s.discrepancies;
    }
    Ok(axum::Json(serde_json::json!({
        "tenant": tenant.name,
        "timezone": tenant.zone.name(),
        "from": from.to_string(),
        "to": to.to_string(),
        "totals": {"agent": agent, "servicetitan": servicetitan, "discrepancies": discrepancies},
        "breakdowns": {"by_agent": by_agent, "by_business_unit": by_bu, "by_campaign": by_campaign},
        "days": snapshots,
    }))
    .into_response())
}

/// `GET /v1/tenants/{tenant}/discrepancies[?date=YYYY-MM-DD]`: the calls whose classes
/// differ now, oldest day first.
pub(super) async fn discrepancies_handler(
    State(s): State<Arc<Service>>,
    Path(tenant): Path<String>,
    Query(q): Query<DayQuery>,
) -> Result<Response, ApiError> {
    let tenant = &*tenant_of(&s, &tenant)?;
    let date = q
        .date
        .as_deref()
        .map(|v| parse_date("date", v))
        .transpose()?;
    let list: Vec<serde_json::Value> = {
        let st = tenant.lock();
        let all = match date {
            Some(d) => st.engine.discrepancies(d),
            None => st.engine.all_discrepancies(),
        };
        all.into_iter()
            .map(|d| {
                let mut v = serde_json::to_value(&d).unwrap_or_default();
                if let (Some(obj), Some(id)) = (v.as_object_mut(), st.st_ids.get(d.call.as_str())) {
                    obj.insert("st_call_id".into(), (*id).into());
                }
                v
            })
            .collect()
    };
    Ok(axum::Json(serde_json::json!({
        "tenant": tenant.name,
        "timezone": tenant.zone.name(),
        "count": list.len(),
        "discrepancies": list,
    }))
    .into_response())
}

/// `GET /`: the operations page.
pub(super) async fn page_handler(State(s): State<Arc<Service>>) -> Response {
    let sections: Vec<TenantSection> = s
        .tenants()
        .values()
        .map(|t| {
            let to = today(t);
            let from = to.saturating_sub(jiff::Span::new().days(29));
            let st = t.lock();
            TenantSection {
                tenant: t.name.clone(),
                timezone: t.zone.name().to_owned(),
                days: days_between(from, to)
                    .into_iter()
                    .map(|d| st.engine.snapshot(d))
                    .collect(),
                discrepancies: st.engine.discrepancies(to),
                auto_reclassify: t.auto,
            }
        })
        .collect();
    let generated = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    Html(page::render(&sections, &generated)).into_response()
}
