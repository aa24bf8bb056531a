//! Reference lists a call is classified with: tag types and business units (ServiceTitan's
//! Settings module, `/settings/…`) and call reasons — served by ServiceTitan under `/jbce/…`,
//! but grouped here because they are the same kind of read-only, paged lookup.

use super::Api;
use crate::clock::SEEDED_AT;
use axum::response::Response;
use switchboard_servicetitan::models as st;

pub(crate) async fn call_reasons(api: Api) -> Response {
    api.list("list call reasons", |t, p| {
        t.call_reasons
            .iter()
            .filter(|r| p.get("active").is_none_or(|v| (v == "true") == r.active))
            .map(|r| st::CallReason {
                id: r.id,
                name: r.name.clone(),
                is_lead: r.is_lead,
                active: r.active,
                created_on: SEEDED_AT.into(),
                modified_on: SEEDED_AT.into(),
            })
            .collect()
    })
    .await
}

pub(crate) async fn tag_types(api: Api) -> Response {
    api.list("list tag types", |t, _p| {
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
                created_on: SEEDED_AT.into(),
                modified_on: SEEDED_AT.into(),
            })
            .collect()
    })
    .await
}

pub(crate) async fn business_units(api: Api) -> Response {
    api.list("list business units", |t, _p| {
        t.business_units
            .iter()
            .map(|x| st::BusinessUnit {
                id: x.id,
                active: x.active,
                name: x.name.clone(),
                official_name: Some(x.name.clone()),
                phone_number: None,
                created_on: SEEDED_AT.into(),
                modified_on: SEEDED_AT.into(),
            })
            .collect()
    })
    .await
}

/// `GET /marketing/v2/tenant/{t}/campaigns`.
pub(crate) async fn campaigns(api: Api) -> Response {
    api.list("list campaigns", |t, p| {
        t.campaigns
            .iter()
            .filter(|c| {
                p.get("name")
                    .is_none_or(|n| n.eq_ignore_ascii_case(&c.name))
            })
            .map(|c| st::Campaign {
                id: c.id,
                name: c.name.clone(),
                active: c.active,
            })
            .collect()
    })
    .await
}
