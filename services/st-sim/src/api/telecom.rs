//! ServiceTitan's Telecom module (`/telecom/…`): list, get and update calls, and the calls
//! export. Updates are strict (`CallInUpdateModelV2`, read-modify-write), rewrite the
//! customer and location they name, link booked calls to their job and fire `CallUpdated`.

use super::Api;
use super::query::{export_cursor, ids_filter, in_range, json, paginate, parse_time};
use super::views::{call_list_item, call_record, detailed_call_json, export_call};
use crate::clock::now;
use crate::seed::{self, Address, Call};
use crate::state::{problem, validation};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use switchboard_servicetitan::models as st;

pub(crate) async fn list_calls(api: Api) -> Response {
    let tid = admit!(api, "list calls");
    let Api { s, p, .. } = api;
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

pub(crate) async fn get_call(api: Api) -> Response {
    api.get_record("get call", "Call", |t, id| {
        t.calls
            .iter()
            .find(|c| c.id == id)
            .map(|c| call_record(t, c))
    })
    .await
}

/// `PUT calls/{id}`: the body must be exactly `CallInUpdateModelV2`; every field replaces
/// the stored one (that is why callers must read-modify-write).
pub(crate) async fn update_call(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "update call");
    let id = record_id!(api);
    let s = api.s;
    let update = strict_body!(st::CallInUpdateModelV2, body, "body");
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
            detailed_call_json(t, &call),
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
pub(crate) async fn export_calls(api: Api) -> Response {
    let tid = admit!(api, "export calls");
    let Api { s, p, .. } = api;
    let from = match export_cursor(&p) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let include_recent = p.get("includeRecentChanges").is_some_and(|v| v == "true");
    let (page_size, delay) = {
        let inner = s.sim.lock();
        (
            inner.seed.settings.export_page_size.max(1),
            inner.seed.settings.export_delay_secs,
        )
    };
    let cutoff = Timestamp::now() - SignedDuration::from_secs(delay as i64);
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
