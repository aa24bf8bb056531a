//! Reference lists a call is classified with: tag types and business units (ServiceTitan's
//! Settings module, `/settings/…`) and call reasons — served by ServiceTitan under `/jbce/…`,
//! but grouped here because they are the same kind of read-only, paged lookup.

use super::query::{Params, json, paginate};
use crate::Shared;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use switchboard_servicetitan::models as st;

pub(crate) async fn call_reasons(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list call reasons", headers, tenant);
    let items = s.sim.with_tenant(tid, |t, _| {
        t.call_reasons
            .iter()
            .filter(|r| p.get("active").is_none_or(|v| (v == "true") == r.active))
            .map(|r| st::CallReason {
                id: r.id,
                name: r.name.clone(),
                is_lead: r.is_lead,
                active: r.active,
                created_on: String::new(),
                modified_on: String::new(),
            })
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}

pub(crate) async fn tag_types(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list tag types", headers, tenant);
    let items = s.sim.with_tenant(tid, |t, _| {
        t.tag_types
            .iter()
            .map(|x| st::TagType {
                id: x.id,
                name: x.name.clone(),
                color: "#1E88E5".into(),
                code: x.name.to_uppercase().replace(' ', "_"),
                is_conversion_opportunity: false,
                allow_to_use_on_timesheet_activity: false,
                is_visible_on_dispatch_board: true,
                active: x.active,
                created_on: String::new(),
                modified_on: String::new(),
            })
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}

pub(crate) async fn business_units(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list business units", headers, tenant);
    let items = s.sim.with_tenant(tid, |t, _| {
        t.business_units
            .iter()
            .map(|x| st::BusinessUnit {
                id: x.id,
                active: x.active,
                name: x.name.clone(),
                official_name: Some(x.name.clone()),
                phone_number: None,
                created_on: String::new(),
                modified_on: String::new(),
            })
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}
