//! ServiceTitan's endpoints, with its paths, shapes and status codes.

use crate::Shared;
use crate::seed::{self, Address, Call, TenantData};
use crate::state::{problem, validation};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use switchboard_servicetitan::models as st;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type Params = Query<HashMap<String, String>>;

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `hh:mm:ss`, as ServiceTitan writes durations.
fn duration(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

fn int(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, Response> {
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
fn paginate<T: Clone>(
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
fn in_range(created: &str, modified: &str, params: &HashMap<String, String>) -> bool {
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

fn ids_filter(params: &HashMap<String, String>) -> Option<Vec<i64>> {
    params
        .get("ids")
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
}

fn address_output(a: &Address) -> st::AddressOutput {
    st::AddressOutput {
        street: a.street.clone(),
        unit: a.unit.clone(),
        country: a.country.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        street_address: if a.unit.is_empty() {
            a.street.clone()
        } else {
            format!("{} {}", a.street, a.unit)
        },
        latitude: a.latitude,
        longitude: a.longitude,
    }
}

fn named(items: &[seed::Named], id: Option<i64>) -> Option<st::Named> {
    let id = id?;
    items.iter().find(|n| n.id == id).map(|n| st::Named {
        id: n.id,
        name: n.name.clone(),
    })
}

fn reason_ref(t: &TenantData, id: Option<i64>) -> Option<st::CallReasonRef> {
    let id = id?;
    t.call_reasons
        .iter()
        .find(|r| r.id == id)
        .map(|r| st::CallReasonRef {
            id: r.id,
            name: r.name.clone(),
            lead: r.is_lead,
            active: r.active,
        })
}

fn tags(t: &TenantData, call: &Call) -> Vec<st::CallTag> {
    call.tag_type_ids
        .iter()
        .filter_map(|id| t.tag_types.iter().find(|x| x.id == *id))
        .map(|x| st::CallTag {
            id: x.id,
            type_name: x.name.clone(),
        })
        .collect()
}

fn agent(t: &TenantData, id: Option<i64>) -> Option<st::CallAgent> {
    named(&t.agents, id).map(|n| st::CallAgent {
        id: n.id,
        name: n.name,
        external_id: None,
    })
}

pub(crate) fn detailed_call(t: &TenantData, c: &Call) -> st::DetailedCall {
    let customer = c
        .customer_id
        .and_then(|id| t.customers.iter().find(|x| x.id == id))
        .map(|x| st::CallCustomer {
            id: x.id,
            name: x.name.clone(),
            active: true,
            address: address_output(&x.address),
            contacts: x
                .contacts
                .iter()
                .map(|k| st::ContactOutput {
                    id: Some(k.id),
                    kind: k.kind.clone(),
                    value: k.value.clone(),
                    memo: k.memo.clone(),
                    active: true,
                    modified_on: x.modified_on.clone(),
                })
                .collect(),
            modified_on: x.modified_on.clone(),
        });
    st::DetailedCall {
        id: c.id,
        received_on: c.received_on.clone(),
        duration: duration(c.duration_secs),
        from: c.from.clone(),
        to: c.to.clone(),
        direction: c.direction,
        call_type: c.call_type,
        reason: reason_ref(t, c.reason_id),
        recording_url: c.recording_url.clone(),
        voice_mail_url: Some(String::new()),
        created_by: Some(st::Named {
            id: 0,
            name: "System".into(),
        }),
        customer,
        campaign: named(&t.campaigns, c.campaign_id),
        modified_on: c.modified_on.clone(),
        agent: agent(t, c.agent_id),
        sid: c.sid.clone(),
        tags: tags(t, c),
    }
}

fn job_of<'a>(t: &'a TenantData, c: &Call) -> Option<&'a seed::Job> {
    c.job_id.and_then(|id| t.jobs.iter().find(|j| j.id == id))
}

fn call_record(t: &TenantData, c: &Call) -> st::CallRecord {
    let job = job_of(t, c);
    st::CallRecord {
        id: job.map_or(0, |j| j.id),
        job_number: job.map(|j| j.job_number.clone()),
        project_id: job.map(|_| 0),
        business_unit: job.and_then(|j| named(&t.business_units, Some(j.business_unit_id))),
        job_type: job.map(|j| st::Named {
            id: j.job_type_id,
            name: format!("Job type {}", j.job_type_id),
        }),
        lead_call: detailed_call(t, c),
    }
}

fn call_list_item(t: &TenantData, c: &Call) -> st::CallListItem {
    let job = job_of(t, c);
    let d = detailed_call(t, c);
    st::CallListItem {
        id: job.map_or(0, |j| j.id),
        job_number: job.map(|j| j.job_number.clone()),
        project_id: Some(0),
        business_unit: job.and_then(|j| named(&t.business_units, Some(j.business_unit_id))),
        job_type: job.map(|j| st::Named {
            id: j.job_type_id,
            name: format!("Job type {}", j.job_type_id),
        }),
        lead_call: st::CallV3 {
            id: c.id,
            created_on: c.created_on.clone(),
            active: c.active,
            received_on: d.received_on,
            duration: d.duration,
            from: d.from,
            to: d.to,
            direction: d.direction,
            call_type: d.call_type,
            reason: d.reason,
            recording_url: d.recording_url,
            voice_mail_url: None,
            created_by: None,
            customer: d.customer.map(|x| st::Named {
                id: x.id,
                name: x.name,
            }),
            campaign: d.campaign,
            modified_on: d.modified_on,
            agent: d.agent,
            sid: d.sid,
            tags: Some(d.tags),
        },
    }
}

pub(crate) fn export_call(t: &TenantData, c: &Call) -> st::ExportCall {
    let job = job_of(t, c);
    st::ExportCall {
        id: c.id,
        duration: duration(c.duration_secs),
        from: c.from.clone(),
        to: c.to.clone(),
        direction: c.direction,
        status: c.status,
        call_type: c.call_type,
        recording_url: c.recording_url.clone(),
        voice_mail_path: None,
        created_on: c.created_on.clone(),
        modified_on: c.modified_on.clone(),
        reason: reason_ref(t, c.reason_id).map(|r| st::Named {
            id: r.id,
            name: r.name,
        }),
        customer: c
            .customer_id
            .and_then(|id| t.customers.iter().find(|x| x.id == id))
            .map(|x| st::Named {
                id: x.id,
                name: x.name.clone(),
            }),
        location: c
            .location_id
            .and_then(|id| t.locations.iter().find(|x| x.id == id))
            .map(|x| st::Named {
                id: x.id,
                name: x.name.clone(),
            }),
        campaign: named(&t.campaigns, c.campaign_id),
        job: job.map(|j| st::JobRef {
            id: j.id,
            number: j.job_number.clone(),
        }),
        agent: named(&t.agents, c.agent_id),
        created_by: None,
        excuse_memo: c.excuse_memo.clone(),
        tag: c.tag.clone(),
        active: c.active,
        lead: None,
    }
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    Json(value).into_response()
}

/// A model serialized with extra fields the OpenAPI schema requires but Switchboard's
/// model does not read (so st-sim's answers have ServiceTitan's full required shape).
fn with_required<T: serde::Serialize>(value: &T, extra: serde_json::Value) -> serde_json::Value {
    let mut v = serde_json::to_value(value).unwrap_or_default();
    if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
        for (k, x) in more {
            obj.entry(k).or_insert(x);
        }
    }
    v
}

pub(crate) fn job_json(t: &TenantData, j: &seed::Job) -> serde_json::Value {
    with_required(
        &job_response(t, j),
        serde_json::json!({"noCharge": false, "notificationsEnabled": true, "createdById": 0, "customerPo": "",
            "invoiceId": 0, "estimateIds": [], "equipmentIds": [], "customFields": [], "externalData": []}),
    )
}

macro_rules! admit {
    ($sim:expr, $op:expr, $headers:expr, $tenant:expr) => {
        match $sim.admit($op, &$headers, &$tenant).await {
            Ok(id) => id,
            Err(response) => return response,
        }
    };
}

pub(crate) async fn list_calls(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list calls", headers, tenant);
    let ids = ids_filter(&p);
    let result = s.sim.with_tenant(tid, |t, _| {
        let items: Vec<_> = t
            .calls
            .iter()
            .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .filter(|c| in_range(&c.created_on, &c.modified_on, &p))
            .filter(|c| p.get("callerPhoneNumber").is_none_or(|v| &c.from == v))
            .filter(|c| p.get("phoneNumberCalled").is_none_or(|v| &c.to == v))
            .filter(|c| p.get("sid").is_none_or(|v| c.sid.as_ref() == Some(v)))
            .filter(|c| p.get("active").is_none_or(|v| (v == "true") == c.active))
            .map(|c| call_list_item(t, c))
            .collect();
        paginate(items, &p)
    });
    match result {
        Ok(page) => json(&page),
        Err(r) => r,
    }
}

pub(crate) async fn get_call(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get call", headers, tenant);
    s.sim
        .with_tenant(tid, |t, _| match t.calls.iter().find(|c| c.id == id) {
            Some(c) => json(&call_record(t, c)),
            None => problem(StatusCode::NOT_FOUND, "Call not found"),
        })
}

/// `PUT calls/{id}`: the body must be exactly `CallInUpdateModelV2`; every field replaces
/// the stored one (that is why callers must read-modify-write).
pub(crate) async fn update_call(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
    body: axum::body::Bytes,
) -> Response {
    let tid = admit!(s.sim, "update call", headers, tenant);
    let update: st::CallInUpdateModelV2 = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return validation(
                "One or more validation errors occurred.",
                "body",
                e.to_string(),
            );
        }
    };
    let result = s.sim.with_tenant(tid, |t, version| {
        let Some(index) = t.calls.iter().position(|c| c.id == id) else {
            return Err(problem(StatusCode::NOT_FOUND, "Call not found"));
        };
        let Some(reason) = t
            .call_reasons
            .iter()
            .find(|r| r.name == update.reason.name && r.active)
        else {
            return Err(validation(
                "One or more validation errors occurred.",
                "reason.name",
                format!("no active call reason named `{}`", update.reason.name),
            ));
        };
        let reason_id = reason.id;
        let Some(customer) = t.customers.iter().position(|c| c.id == update.customer.id) else {
            return Err(validation(
                "One or more validation errors occurred.",
                "customer.id",
                "customer not found".into(),
            ));
        };
        let Some(location) = t.locations.iter().position(|l| l.id == update.location.id) else {
            return Err(validation(
                "One or more validation errors occurred.",
                "location.id",
                "location not found".into(),
            ));
        };
        if t.locations[location].customer_id != update.customer.id {
            return Err(validation(
                "One or more validation errors occurred.",
                "location.id",
                "the location belongs to another customer".into(),
            ));
        }
        if let Some(job_id) = update.job_id
            && !t.jobs.iter().any(|j| j.id == job_id)
        {
            return Err(validation(
                "One or more validation errors occurred.",
                "jobId",
                "job not found".into(),
            ));
        }
        let stamp = now();
        let c = &mut t.customers[customer];
        apply_party(
            &mut c.name,
            &mut c.address,
            &mut c.contacts,
            &update.customer,
        );
        c.modified_on.clone_from(&stamp);
        let l = &mut t.locations[location];
        let before: Vec<i64> = l.contacts.iter().map(|c| c.id).collect();
        apply_party(
            &mut l.name,
            &mut l.address,
            &mut l.contacts,
            &update.location,
        );
        for id in before {
            if !l.contacts.iter().any(|c| c.id == id) && !l.removed_contacts.contains(&id) {
                l.removed_contacts.push(id);
            }
        }
        l.modified_on.clone_from(&stamp);
        *version += 1;
        l.version = *version;
        let call = &mut t.calls[index];
        call.call_type = update.call_type;
        call.excuse_memo.clone_from(&update.excuse_memo);
        call.campaign_id = update.campaign_id;
        call.job_id = update.job_id;
        call.agent_id = update.agent_id;
        call.reason_id = Some(reason_id);
        call.customer_id = Some(update.customer.id);
        call.location_id = Some(update.location.id);
        call.tag.clone_from(&update.tag);
        call.modified_on = stamp;
        call.version = *version;
        let call = call.clone();
        // A booked call is linked to its job (the job's lead call, if it has none yet).
        if let (Some(job_id), Some(st::CallType::Booked)) = (call.job_id, call.call_type)
            && let Some(job) = t.jobs.iter_mut().find(|j| j.id == job_id)
            && job.lead_call_id.is_none()
        {
            job.lead_call_id = Some(call.id);
            job.modified_on.clone_from(&call.modified_on);
        }
        Ok((
            detailed_call(t, &call),
            export_call(t, &call),
            t.webhook.clone(),
        ))
    });
    match result {
        Ok((detail, export, webhook)) => {
            crate::webhooks::send(
                &s,
                webhook,
                tid,
                "CallUpdated",
                serde_json::to_value(&export).unwrap_or_default(),
            );
            json(&detail)
        }
        Err(r) => r,
    }
}

fn apply_party(
    name: &mut String,
    address: &mut Address,
    contacts: &mut Vec<seed::Contact>,
    input: &st::PartyInput,
) {
    name.clone_from(&input.name);
    *address = Address {
        street: input.address.street.clone(),
        unit: input.address.unit.clone(),
        city: input.address.city.clone(),
        state: input.address.state.clone(),
        zip: input.address.zip.clone(),
        country: input.address.country.clone(),
        latitude: input.address.latitude,
        longitude: input.address.longitude,
    };
    let next_id = contacts.iter().map(|c| c.id).max().unwrap_or(0) + 1;
    *contacts = input
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| seed::Contact {
            id: c.id.unwrap_or(next_id + i as i64),
            kind: c.kind.clone(),
            value: c.value.clone(),
            memo: c.memo.clone(),
        })
        .collect();
}

/// `GET export/calls?from=…`: every call changed after the cursor, oldest change first.
pub(crate) async fn export_calls(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "export calls", headers, tenant);
    let from: u64 = match p.get("from").map(|f| f.parse::<u64>()) {
        None => 0,
        Some(Ok(v)) => v,
        Some(Err(_)) => {
            return validation(
                "Invalid query parameter",
                "from",
                "not a continuation token from this export".into(),
            );
        }
    };
    let include_recent = p.get("includeRecentChanges").is_some_and(|v| v == "true");
    let (page_size, delay) = {
        let inner = s.sim.lock();
        (
            inner.seed.settings.export_page_size.max(1),
            inner.seed.settings.export_delay_secs,
        )
    };
    let cutoff = OffsetDateTime::now_utc() - time::Duration::seconds(delay as i64);
    s.sim.with_tenant(tid, |t, _| {
        let mut changed: Vec<&Call> = t.calls.iter().filter(|c| c.version > from).collect();
        changed.sort_by_key(|c| c.version);
        // Hide changes younger than the delay by stopping before the first one, so the
        // cursor never moves past a change that has not been shown yet.
        let visible = changed
            .iter()
            .take_while(|c| {
                include_recent
                    || delay == 0
                    || parse_time(&c.modified_on).is_none_or(|m| m <= cutoff)
            })
            .count();
        changed.truncate(visible);
        let has_more = changed.len() > page_size;
        changed.truncate(page_size);
        let continue_from = changed.last().map_or(from, |c| c.version).to_string();
        json(&st::ExportPage {
            has_more,
            continue_from,
            data: changed.into_iter().map(|c| export_call(t, c)).collect(),
        })
    })
}

/// The `from` cursor of a version-ordered export: absent → from the start.
fn export_cursor(p: &HashMap<String, String>) -> Result<u64, Response> {
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

fn crm_address(a: &Address) -> st::CrmAddress {
    st::CrmAddress {
        street: a.street.clone(),
        unit: (!a.unit.is_empty()).then(|| a.unit.clone()),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        country: a.country.clone(),
        latitude: a.latitude,
        longitude: a.longitude,
    }
}

/// Locations changed after `from`, oldest change first, whole locations per page.
fn changed_locations(t: &TenantData, from: u64) -> Vec<&seed::Location> {
    let mut changed: Vec<&seed::Location> =
        t.locations.iter().filter(|l| l.version > from).collect();
    changed.sort_by_key(|l| l.version);
    changed
}

fn export_page_size(s: &Shared) -> usize {
    s.sim.lock().seed.settings.export_page_size.max(1)
}

/// `GET /crm/v2/tenant/{t}/export/locations`: every location changed since `from`.
pub(crate) async fn export_locations(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "export locations", headers, tenant);
    let from = match export_cursor(&p) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page_size = export_page_size(&s);
    s.sim.with_tenant(tid, |t, _| {
        let mut changed = changed_locations(t, from);
        let has_more = changed.len() > page_size;
        changed.truncate(page_size);
        let continue_from = changed.last().map_or(from, |l| l.version).to_string();
        let data: Vec<_> = changed
            .into_iter()
            .map(|l| {
                with_required(
                    &st::Location {
                        id: l.id,
                        customer_id: l.customer_id,
                        active: true,
                        name: l.name.clone(),
                        address: crm_address(&l.address),
                        created_on: String::new(),
                        modified_on: l.modified_on.clone(),
                    },
                    serde_json::json!({"taxZoneId": null, "customFields": [], "createdById": 0, "mergedToId": null, "zoneId": null, "taxExempt": false, "tagTypeIds": [], "externalData": []}),
                )
            })
            .collect();
        json(&st::ExportPage {
            has_more,
            continue_from,
            data,
        })
    })
}

/// `GET /crm/v2/tenant/{t}/export/locations/contacts`: the contacts of every location
/// changed since `from` (removed ones as `active: false`), whole locations per page.
pub(crate) async fn export_location_contacts(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "export location contacts", headers, tenant);
    let from = match export_cursor(&p) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page_size = export_page_size(&s);
    s.sim.with_tenant(tid, |t, _| {
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
                        created_on: String::new(),
                        location_id: l.id,
                        active,
                    },
                    serde_json::json!({"phoneSettings": null, "preferences": null}),
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
}

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

pub(crate) fn job_response(t: &TenantData, j: &seed::Job) -> st::Job {
    let appointments: Vec<&seed::Appointment> =
        t.appointments.iter().filter(|a| a.job_id == j.id).collect();
    st::Job {
        id: j.id,
        job_number: j.job_number.clone(),
        project_id: None,
        customer_id: j.customer_id,
        location_id: j.location_id,
        job_status: j.job_status.clone(),
        completed_on: None,
        business_unit_id: j.business_unit_id,
        job_type_id: j.job_type_id,
        priority: "Normal".into(),
        campaign_id: j.campaign_id,
        appointment_count: appointments.len() as i64,
        first_appointment_id: appointments.first().map_or(0, |a| a.id),
        last_appointment_id: appointments.last().map_or(0, |a| a.id),
        created_on: j.created_on.clone(),
        modified_on: j.modified_on.clone(),
        tag_type_ids: Vec::new(),
        lead_call_id: j.lead_call_id,
        partner_lead_call_id: j.partner_lead_call_id,
        booking_id: j.booking_id,
        summary: j.summary.clone(),
    }
}

pub(crate) async fn get_job(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get job", headers, tenant);
    s.sim
        .with_tenant(tid, |t, _| match t.jobs.iter().find(|j| j.id == id) {
            Some(j) => json(&job_json(t, j)),
            None => problem(StatusCode::NOT_FOUND, "Job not found"),
        })
}

pub(crate) async fn list_jobs(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list jobs", headers, tenant);
    let ids = ids_filter(&p);
    let items = s.sim.with_tenant(tid, |t, _| {
        t.jobs
            .iter()
            .filter(|j| ids.as_ref().is_none_or(|ids| ids.contains(&j.id)))
            .filter(|j| in_range(&j.created_on, &j.modified_on, &p))
            .filter(|j| p.get("jobStatus").is_none_or(|v| &j.job_status == v))
            .map(|j| job_json(t, j))
            .collect()
    });
    paginate(items, &p).map_or_else(|r| r, |page| json(&page))
}

/// `GET /jpm/v2/tenant/{t}/appointments/{id}`.
pub(crate) async fn get_appointment(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get appointment", headers, tenant);
    s.sim.with_tenant(tid, |t, _| {
        match t.appointments.iter().find(|a| a.id == id) {
            Some(a) => {
                let customer_id = t
                    .jobs
                    .iter()
                    .find(|j| j.id == a.job_id)
                    .map_or(0, |j| j.customer_id);
                json(&with_required(
                    &st::Appointment {
                        id: a.id,
                        job_id: a.job_id,
                        start: a.start.clone(),
                        end: a.end.clone(),
                        status: "Scheduled".into(),
                        is_confirmed: a.confirmed,
                        active: true,
                        modified_on: a.modified_on.clone(),
                    },
                    serde_json::json!({"appointmentNumber": format!("{}-1", a.job_id), "arrivalWindowStart": null,
                        "arrivalWindowEnd": null, "specialInstructions": "", "createdOn": a.modified_on,
                        "customerId": customer_id, "unused": false, "createdById": 0, "appointmentSummaries": null}),
                ))
            }
            None => problem(StatusCode::NOT_FOUND, "Appointment not found"),
        }
    })
}

async fn set_confirmation(
    s: Shared,
    headers: HeaderMap,
    tenant: String,
    id: i64,
    confirmed: bool,
) -> Response {
    let op = if confirmed {
        "confirm appointment"
    } else {
        "remove appointment confirmation"
    };
    let tid = admit!(s.sim, op, headers, tenant);
    let result = s.sim.with_tenant(tid, |t, _| {
        let appointment = t.appointments.iter_mut().find(|a| a.id == id)?;
        appointment.confirmed = confirmed;
        appointment.modified_on = now();
        Some((appointment.clone(), t.webhook.clone()))
    });
    match result {
        Some((appointment, webhook)) => {
            let event = if confirmed {
                "AppointmentConfirmed"
            } else {
                "AppointmentConfirmationRemoved"
            };
            crate::webhooks::send(
                &s,
                webhook,
                tid,
                event,
                serde_json::to_value(&appointment).unwrap_or_default(),
            );
            StatusCode::OK.into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "Appointment not found"),
    }
}

pub(crate) async fn confirm(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    set_confirmation(s, headers, tenant, id, true).await
}

pub(crate) async fn unconfirm(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    set_confirmation(s, headers, tenant, id, false).await
}

/// `POST capacity`: two-hour slots from 08:00 to 18:00 UTC each day; total = technicians
/// on a Normal shift covering the slot (all technicians when no shifts are seeded), open =
/// total minus appointments overlapping it.
pub(crate) async fn capacity(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let tid = admit!(s.sim, "query capacity", headers, tenant);
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
    let (Some(start), Some(end)) = (
        parse_time(&request.starts_on_or_after),
        parse_time(&request.ends_on_or_before),
    ) else {
        return validation(
            "One or more validation errors occurred.",
            "startsOnOrAfter",
            "use RFC 3339 date-times".into(),
        );
    };
    if end <= start || end - start > time::Duration::days(31) {
        return validation(
            "One or more validation errors occurred.",
            "endsOnOrBefore",
            "must be after the start and within 31 days".into(),
        );
    }
    let response = s.sim.with_tenant(tid, |t, _| {
        let mut availabilities = Vec::new();
        let mut day = start.replace_time(time::Time::MIDNIGHT);
        while day < end {
            for hour in (8..18).step_by(2) {
                let slot_start = day + time::Duration::hours(hour);
                let slot_end = slot_start + time::Duration::hours(2);
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
                let fmt = |x: OffsetDateTime| x.format(&Rfc3339).unwrap_or_default();
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
            day += time::Duration::days(1);
        }
        // `technicians` is required by the schema; st-sim does not model skills per slot.
        let availabilities: Vec<serde_json::Value> =
            availabilities.iter().map(|a| with_required(a, serde_json::json!({"technicians": []}))).collect();
        serde_json::json!({ "timeStamp": now(), "availabilities": availabilities })
    });
    json(&response)
}

pub(crate) async fn technician_shifts(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list technician shifts", headers, tenant);
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

pub(crate) async fn get_location(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
) -> Response {
    let tid = admit!(s.sim, "get location", headers, tenant);
    s.sim
        .with_tenant(tid, |t, _| match t.locations.iter().find(|l| l.id == id) {
            Some(l) => json(&with_required(&st::Location {
                id: l.id,
                customer_id: l.customer_id,
                active: true,
                name: l.name.clone(),
                address: crm_address(&l.address),
                created_on: String::new(),
                modified_on: l.modified_on.clone(),
            }, serde_json::json!({"customFields": [], "createdById": 0, "taxExempt": false, "tagTypeIds": [], "externalData": []}))),
            None => problem(StatusCode::NOT_FOUND, "Location not found"),
        })
}

pub(crate) async fn location_contacts(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, i64)>,
    Query(p): Params,
) -> Response {
    let tid = admit!(s.sim, "list location contacts", headers, tenant);
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
                        created_on: String::new(),
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
