//! ServiceTitan's CRM module (`/crm/…`): a location, its contacts, and the location and
//! location-contact exports (version-ordered, whole locations per page, removed contacts
//! reported as inactive) that Switchboard syncs from.

use super::Api;
use super::query::{json, paginate, with_required};
use super::views::location_json;
use crate::seed::{self, TenantData};
use crate::state::problem;
use axum::http::StatusCode;
use axum::response::Response;
use switchboard_servicetitan::models as st;

pub(crate) async fn get_location(api: Api) -> Response {
    api.get_record("get location", "Location", |t, id| {
        let l = t.locations.iter().find(|l| l.id == id)?;
        Some(location_json(l))
    })
    .await
}

pub(crate) async fn location_contacts(api: Api) -> Response {
    let tid = admit!(api, "list location contacts");
    let id = record_id!(api);
    let Api { s, p, .. } = api;
    let items = s.sim.with_tenant(tid, |t, _| {
        t.locations.iter().find(|l| l.id == id).map(|l| {
            l.contacts
                .iter()
                .map(|c| {
                    let contact = st::LocationContact {
                        id: c.id,
                        kind: c.kind.clone(),
                        value: c.value.clone(),
                        memo: (!c.memo.is_empty()).then(|| c.memo.clone()),
                        modified_on: l.modified_on.clone(),
                        created_on: l.modified_on.clone(),
                    };
                    with_required(&contact, serde_json::json!({"phoneSettings": {"phoneNumber": c.value, "doNotText": false}}))
                })
                .collect::<Vec<_>>()
        })
    });
    match items {
        Some(items) => paginate(items, &p).map_or_else(|r| r, |page| json(&page)),
        None => problem(StatusCode::NOT_FOUND, "Location not found"),
    }
}

/// Locations changed after `from`, oldest change first, whole locations per page.
fn changed_locations(t: &TenantData, from: u64) -> Vec<&seed::Location> {
    let mut changed: Vec<&seed::Location> =
        t.locations.iter().filter(|l| l.version > from).collect();
    changed.sort_by_key(|l| l.version);
    changed
}

/// `GET /crm/v2/tenant/{t}/export/locations`: every location changed since `from`.
pub(crate) async fn export_locations(api: Api) -> Response {
    api.export("export locations", |t, from, page_size| {
        let mut changed = changed_locations(t, from);
        let has_more = changed.len() > page_size;
        changed.truncate(page_size);
        let continue_from = changed.last().map_or(from, |l| l.version).to_string();
        let data: Vec<_> = changed.into_iter().map(location_json).collect();
        json(&st::ExportPage {
            has_more,
            continue_from,
            data,
        })
    })
    .await
}

/// `GET /crm/v2/tenant/{t}/export/locations/contacts`: the contacts of every location
/// changed since `from` (removed ones as `active: false`), whole locations per page.
pub(crate) async fn export_location_contacts(api: Api) -> Response {
    api.export("export location contacts", |t, from, page_size| {
        let mut data = Vec::new();
        let mut continue_from = from;
        let changed = changed_locations(t, from);
        let mut has_more = false;
        for (i, l) in changed.iter().enumerate() {
            if data.len() >= page_size {
                has_more = i < changed.len();
                break;
            }
            let contact = |id: i64, kind: &str, value: &str, memo: &str, active: bool| {
                with_required(
                    &st::ExportLocationContact {
                        id,
                        kind: kind.to_owned(),
                        value: value.to_owned(),
                        memo: (!memo.is_empty()).then(|| memo.to_owned()),
                        modified_on: l.modified_on.clone(),
                        created_on: l.modified_on.clone(),
                        location_id: l.id,
                        active,
                    },
                    serde_json::json!({"phoneSettings": {"phoneNumber": value, "doNotText": false}, "preferences": null}),
                )
            };
            for c in &l.contacts {
                data.push(contact(c.id, &c.kind, &c.value, &c.memo, true));
            }
            for id in &l.removed_contacts {
                data.push(contact(*id, "Phone", "", "", false));
            }
            continue_from = l.version;
        }
        json(&st::ExportPage {
            has_more,
            continue_from: continue_from.to_string(),
            data,
        })
    })
    .await
}
