//! ServiceTitan's CRM customers (`/crm/…/customers`, `/crm/…/locations`): the list by
//! phone or id, the locations of a customer, and customer create with its first location
//! (strict `CreateCustomerRequest`, whose bill-to address ServiceTitan requires).

use super::Api;
use super::query::{ids_filter, json, with_required};
use super::views::{crm_address, location_json};
use crate::clock::now;
use crate::seed::{self, Address, Contact, TenantData};
use crate::state::validation;
use axum::response::Response;
use switchboard_servicetitan::models as st;

/// Digits only, the US country code dropped: how a phone filter compares numbers.
fn digits(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    match d.strip_prefix('1') {
        Some(rest) if d.len() == 11 => rest.to_owned(),
        _ => d,
    }
}

/// Whether the customer, or one of its locations, has a phone contact with `phone`.
fn has_phone(t: &TenantData, c: &seed::Customer, phone: &str) -> bool {
    let wanted = digits(phone);
    let matches = |contacts: &[Contact]| {
        contacts.iter().any(|x| {
            matches!(x.kind.as_str(), "Phone" | "MobilePhone") && digits(&x.value) == wanted
        })
    };
    matches(&c.contacts)
        || t.locations
            .iter()
            .any(|l| l.customer_id == c.id && matches(&l.contacts))
}

/// `GET customers` with `phone` and `ids` filters. Items carry no contacts or locations, as
/// in ServiceTitan.
pub(crate) async fn customers(api: Api) -> Response {
    api.list("list customers", |t, p| {
        let ids = ids_filter(p);
        t.customers
            .iter()
            .filter(|c| ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .filter(|c| p.get("phone").is_none_or(|phone| has_phone(t, c, phone)))
            .map(|c| {
                with_required(
                    &st::Customer {
                        id: c.id,
                        name: c.name.clone(),
                        active: true,
                        address: Some(crm_address(&c.address)),
                    },
                    serde_json::json!({"type": "Residential", "customFields": [], "balance": 0.0, "taxExempt": false,
                        "tagTypeIds": [], "doNotMail": false, "doNotService": false, "nationalAccount": false,
                        "createdOn": c.modified_on, "createdById": 0, "modifiedOn": c.modified_on, "externalData": []}),
                )
            })
            .collect()
    })
    .await
}

/// `GET locations` with `customerId` and `ids` filters.
pub(crate) async fn locations(api: Api) -> Response {
    api.list("list locations", |t, p| {
        let ids = ids_filter(p);
        let customer: Option<i64> = p.get("customerId").and_then(|v| v.parse().ok());
        t.locations
            .iter()
            .filter(|l| ids.as_ref().is_none_or(|ids| ids.contains(&l.id)))
            .filter(|l| customer.is_none_or(|c| l.customer_id == c))
            .map(location_json)
            .collect()
    })
    .await
}

fn address(a: &st::NewAddress) -> Address {
    Address {
        street: a.street.clone(),
        unit: a.unit.clone().unwrap_or_default(),
        city: a.city.clone(),
        state: a.state.clone(),
        zip: a.zip.clone(),
        country: a.country.clone(),
        latitude: None,
        longitude: None,
    }
}

/// A record's contacts as CRM answers them (`{id, type, value, memo}`).
fn contacts_json(contacts: &[Contact]) -> serde_json::Value {
    contacts
        .iter()
        .map(|c| serde_json::json!({"id": c.id, "type": c.kind, "value": c.value, "memo": c.memo}))
        .collect()
}

/// `POST customers`: a customer with its locations and contacts; answers it with the new
/// locations' ids (`Crm.V2.Customers.CreatedCustomerResponse`).
pub(crate) async fn create_customer(api: Api, body: axum::body::Bytes) -> Response {
    let tid = admit!(api, "create customer");
    let s = api.s;
    let request = strict_body!(st::CreateCustomer, body, "request");
    if request.name.trim().is_empty() || request.locations.is_empty() {
        return validation(
            "One or more validation errors occurred.",
            if request.name.trim().is_empty() {
                "name"
            } else {
                "locations"
            },
            "is required".into(),
        );
    }
    let stamp = now();
    s.sim.with_tenant(tid, |t, version| {
        let mut next_contact = t
            .customers
            .iter()
            .flat_map(|c| &c.contacts)
            .chain(t.locations.iter().flat_map(|l| &l.contacts))
            .map(|c| c.id)
            .max()
            .unwrap_or(1000);
        let mut contacts = |new: &[st::NewContact]| -> Vec<Contact> {
            new.iter()
                .map(|c| {
                    next_contact += 1;
                    Contact {
                        id: next_contact,
                        kind: c.kind.clone(),
                        value: c.value.clone(),
                        memo: c.memo.clone().unwrap_or_default(),
                    }
                })
                .collect()
        };
        let id = t.customers.iter().map(|c| c.id).max().unwrap_or(100) + 1;
        t.customers.push(seed::Customer {
            id,
            name: request.name.clone(),
            address: address(&request.address),
            contacts: contacts(&request.contacts),
            modified_on: stamp.clone(),
        });
        let mut created = Vec::new();
        for l in &request.locations {
            *version += 1;
            let location_id = t.locations.iter().map(|l| l.id).max().unwrap_or(200) + 1;
            let location = seed::Location {
                id: location_id,
                customer_id: id,
                name: l.name.clone(),
                address: address(&l.address),
                contacts: contacts(&l.contacts),
                modified_on: stamp.clone(),
                version: *version,
                removed_contacts: Vec::new(),
            };
            // `Crm.V2.Locations.CreateLocationResponse`: a location with its contacts.
            let mut answer = location_json(&location);
            answer["contacts"] = contacts_json(&location.contacts);
            created.push(answer);
            t.locations.push(location);
        }
        let customer_contacts = t
            .customers
            .last()
            .map_or(serde_json::Value::Array(Vec::new()), |c| contacts_json(&c.contacts));
        json(&with_required(
            &serde_json::json!({"id": id, "name": request.name, "locations": created}),
            serde_json::json!({"active": true, "type": request.kind.clone().unwrap_or_else(|| "Residential".into()),
                "address": crm_address(&address(&request.address)), "customFields": [], "balance": 0.0,
                "taxExempt": false, "tagTypeIds": [], "doNotMail": false, "doNotService": false,
                "nationalAccount": false, "createdOn": stamp, "createdById": 0, "modifiedOn": stamp,
                "externalData": [], "contacts": customer_contacts}),
        ))
    })
}
