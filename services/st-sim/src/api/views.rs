//! Seed data → ServiceTitan wire models: the call, job, address and reference shapes that
//! several endpoints answer with, and that the `/_sim/` admin endpoints send as webhook
//! payloads (`export_call`, `job_json`). One place, so a call or job looks the same
//! wherever it appears.

use super::query::with_required;
use crate::clock::SEEDED_AT;
use crate::seed::{self, Address, Call, TenantData};
use switchboard_servicetitan::models as st;

/// `hh:mm:ss`, as ServiceTitan writes durations.
fn duration(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
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
    named_by(items, id, |n| (n.id, &n.name))
}

/// The `{id, name}` reference to the record of `items` with id `id`; `key` reads a record's
/// id and name (reference lists, customers and locations all have both).
fn named_by<T>(
    items: &[T],
    id: Option<i64>,
    key: impl Fn(&T) -> (i64, &String),
) -> Option<st::Named> {
    let id = id?;
    let (id, name) = items.iter().map(key).find(|(i, _)| *i == id)?;
    Some(st::Named {
        id,
        name: name.clone(),
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

/// A call as Telecom v2 answers it (`Module.Telecom.Shared.DetailedCallModel`): the
/// client's model, with the customer and campaign in Telecom's full shapes (fields
/// st-sim does not keep are empty). Absent parties stay `null`; docs/st-sim.md says why.
pub(super) fn detailed_call_json(t: &TenantData, c: &Call) -> serde_json::Value {
    let mut v = serde_json::to_value(detailed_call(t, c)).unwrap_or_default();
    if let Some(customer) = v.get_mut("customer").filter(|x| x.is_object()) {
        let modified = customer["modifiedOn"].clone();
        let phones: Vec<_> = customer["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["type"].as_str().is_some_and(|t| t.contains("Phone")))
            .map(|k| serde_json::json!({"phoneNumber": k["value"], "doNotText": false}))
            .collect();
        let obj = customer.as_object_mut().expect("checked above");
        for (k, x) in serde_json::json!({"email": "", "doNotMail": false, "importId": "",
            "doNotService": false, "type": "Residential", "memberships": [], "customFields": [],
            "createdOn": modified, "phoneSettings": phones})
        .as_object()
        .expect("an object")
        {
            obj.entry(k.clone()).or_insert(x.clone());
        }
    }
    v["campaign"] = c
        .campaign_id
        .map_or(serde_json::Value::Null, |id| campaign_json(t, id));
    v
}

/// A campaign as Telecom embeds it (`Marketing.Core.CampaignModel`).
fn campaign_json(t: &TenantData, id: i64) -> serde_json::Value {
    t.campaigns
        .iter()
        .find(|x| x.id == id)
        .map_or(serde_json::Value::Null, |x| {
            serde_json::json!({"id": x.id, "name": x.name, "active": x.active,
                "createdOn": SEEDED_AT, "modifiedOn": SEEDED_AT})
        })
}

/// A job type as Telecom names it (`JobTypeModel`: id, name, modifiedOn).
fn job_type_json(t: &TenantData, id: i64) -> serde_json::Value {
    let name = t
        .job_types
        .iter()
        .find(|j| j.id == id)
        .map_or_else(|| format!("Job type {id}"), |j| j.name.clone());
    serde_json::json!({"id": id, "name": name, "modifiedOn": SEEDED_AT})
}

/// A business unit as Telecom v2 embeds it in a call (`Module.Admin.Shared.
/// BusinessUnitModel`): every field the schema requires; st-sim keeps id, name and
/// active, and answers the rest empty.
fn business_unit_json(t: &TenantData, id: i64) -> serde_json::Value {
    let Some(b) = t.business_units.iter().find(|b| b.id == id) else {
        return serde_json::Value::Null;
    };
    let blank = "";
    serde_json::json!({"id": b.id, "active": b.active, "name": b.name, "officialName": b.name,
        "email": blank, "currency": "USD", "phoneNumber": blank, "invoiceHeader": blank,
        "invoiceMessage": blank, "defaultTaxRate": 0.0, "authorizationParagraph": blank,
        "acknowledgementParagraph": blank,
        "address": {"street": blank, "unit": blank, "city": blank, "state": blank, "zip": blank, "country": blank},
        "materialSku": blank, "quickbooksClass": blank, "accountCode": blank, "franchiseId": blank,
        "conceptCode": blank, "corporateContractNumber": blank,
        "tenant": {"id": t.tenant_id, "name": format!("Tenant {}", t.tenant_id), "quickbooksClass": blank,
            "accountCode": blank, "franchiseId": blank, "conceptCode": blank, "modifiedOn": SEEDED_AT},
        "modifiedOn": SEEDED_AT})
}

fn detailed_call(t: &TenantData, c: &Call) -> st::DetailedCall {
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

/// `GET /telecom/v2/…/calls/{id}` (`DetailedBundleCallModel`): the call with its job's
/// number, business unit and type; a call with no job has none of them (`null`).
pub(super) fn call_record(t: &TenantData, c: &Call) -> serde_json::Value {
    let job = job_of(t, c);
    serde_json::json!({
        "id": job.map_or(0, |j| j.id),
        "jobNumber": job.map(|j| j.job_number.clone()),
        "projectId": 0,
        "businessUnit": job.map(|j| business_unit_json(t, j.business_unit_id)),
        "type": job.map(|j| job_type_json(t, j.job_type_id)),
        "leadCall": detailed_call_json(t, c),
    })
}

/// An item of `GET /telecom/v3/…/calls` (`Telecom.V3.CallResponse`).
pub(super) fn call_list_item(t: &TenantData, c: &Call) -> serde_json::Value {
    let mut v = serde_json::to_value(call_list_item_model(t, c)).unwrap_or_default();
    if let Some(j) = job_of(t, c) {
        v["type"] = job_type_json(t, j.job_type_id);
    }
    v
}

fn call_list_item_model(t: &TenantData, c: &Call) -> st::CallListItem {
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
        customer: named_by(&t.customers, c.customer_id, |x| (x.id, &x.name)),
        location: named_by(&t.locations, c.location_id, |x| (x.id, &x.name)),
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

/// A location as CRM answers it (`Crm.V2.Locations.LocationResponse`), the schema's
/// required fields included; st-sim keeps no creation time, so `createdOn` is its last change.
pub(super) fn location_json(l: &seed::Location) -> serde_json::Value {
    with_required(
        &st::Location {
            id: l.id,
            customer_id: l.customer_id,
            active: true,
            name: l.name.clone(),
            address: crm_address(&l.address),
            created_on: l.modified_on.clone(),
            modified_on: l.modified_on.clone(),
        },
        serde_json::json!({"taxZoneId": null, "customFields": [], "createdById": 0, "mergedToId": null,
            "zoneId": null, "taxExempt": false, "tagTypeIds": [], "externalData": []}),
    )
}

pub(super) fn crm_address(a: &Address) -> st::CrmAddress {
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

fn job_response(t: &TenantData, j: &seed::Job, guid: Option<&str>) -> st::Job {
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
        priority: j.priority.clone(),
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
        // Only the application that wrote them reads them back, as in ServiceTitan.
        external_data: match (guid, &j.application_guid) {
            (Some(asked), Some(own)) if asked.eq_ignore_ascii_case(own) => j
                .external_data
                .iter()
                .map(|kv| st::KeyValue {
                    key: kv.key.clone(),
                    value: kv.value.clone(),
                })
                .collect(),
            _ => Vec::new(),
        },
    }
}

pub(crate) fn job_json(t: &TenantData, j: &seed::Job) -> serde_json::Value {
    job_json_for(t, j, None)
}

/// A job as the application with `guid` reads it (its own external data included).
pub(crate) fn job_json_for(t: &TenantData, j: &seed::Job, guid: Option<&str>) -> serde_json::Value {
    with_required(
        &job_response(t, j, guid),
        serde_json::json!({"noCharge": false, "notificationsEnabled": true, "createdById": 0, "customerPo": "",
            "invoiceId": 0, "estimateIds": [], "equipmentIds": [], "customFields": [], "externalData": []}),
    )
}

/// An appointment as JPM answers it (`Jpm.V2.AppointmentResponse`), from a read or a
/// reschedule alike.
pub(super) fn appointment_json(t: &TenantData, a: &seed::Appointment) -> serde_json::Value {
    let job = t.jobs.iter().find(|j| j.id == a.job_id);
    let customer_id = job.map_or(0, |j| j.customer_id);
    let canceled = job.is_some_and(|j| j.job_status == "Canceled");
    with_required(
        &st::Appointment {
            id: a.id,
            job_id: a.job_id,
            start: a.start.clone(),
            end: a.end.clone(),
            status: if canceled { "Canceled" } else { "Scheduled" }.into(),
            is_confirmed: a.confirmed,
            active: true,
            modified_on: a.modified_on.clone(),
        },
        serde_json::json!({"appointmentNumber": format!("{}-1", a.job_id), "arrivalWindowStart": null,
            "arrivalWindowEnd": null, "specialInstructions": "", "createdOn": a.modified_on,
            "customerId": customer_id, "unused": false, "createdById": 0, "appointmentSummaries": null}),
    )
}
