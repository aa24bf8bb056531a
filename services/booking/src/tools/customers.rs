//! `find_customer` and `create_customer`: the caller, found by phone, or created with a
//! first location (a create whose answer was lost is looked up by phone and name).

use super::{ToolResult, e164, invalid, optional, st_error, text};
use crate::tenant::Tenant;
use serde_json::{Value, json};
use switchboard_events::tools::{ErrorCode, ToolError};
use switchboard_servicetitan::ErrorKind;
use switchboard_servicetitan::models as st;

pub(super) async fn find_customer(tenant: &Tenant, args: &Value) -> ToolResult {
    let phone = e164(args, "phone")?;
    let c = &tenant.client;
    let customers = c
        .customers(vec![("phone", phone.clone()), ("pageSize", "10".into())])
        .await
        .map_err(st_error)?;
    let mut found = Vec::new();
    for customer in customers.data.iter().filter(|c| c.active) {
        let locations = c
            .locations(vec![
                ("customerId", customer.id.to_string()),
                ("pageSize", "20".into()),
            ])
            .await
            .map_err(st_error)?;
        let locations: Vec<Value> = locations
            .data
            .iter()
            .filter(|l| l.active)
            .map(|l| {
                json!({"id": l.id, "address": {"street": l.address.street, "city": l.address.city,
                    "state": l.address.state, "zip": l.address.zip}})
            })
            .collect();
        found.push(json!({"id": customer.id, "name": customer.name, "locations": locations}));
    }
    Ok(json!({ "customers": found }))
}

pub(super) async fn create_customer(tenant: &Tenant, args: &Value) -> ToolResult {
    let name = text(args, "name")?.to_owned();
    let phone = e164(args, "phone")?;
    let address = args
        .get("address")
        .ok_or_else(|| invalid("`address` is required: {street, city, state, zip, country?}"))?;
    let address = st::NewAddress {
        street: text(address, "street")?.to_owned(),
        unit: optional(address, "unit").map(str::to_owned),
        city: text(address, "city")?.to_owned(),
        state: text(address, "state")?.to_owned(),
        zip: text(address, "zip")?.to_owned(),
        country: optional(address, "country").unwrap_or("USA").to_owned(),
    };
    let contact = st::NewContact {
        kind: "MobilePhone".into(),
        value: phone.clone(),
        memo: None,
    };
    let body = st::CreateCustomer {
        name: name.clone(),
        kind: Some("Residential".into()),
        address: address.clone(),
        locations: vec![st::NewLocation {
            name: name.clone(),
            address,
            contacts: vec![contact.clone()],
        }],
        contacts: vec![contact],
    };
    let created = match tenant.client.create_customer(&body).await {
        Ok(c) => c,
        // The answer was lost: the customer may exist now. Look before telling the agent
        // to ask again (it will, with the same request id).
        Err(e) if e.kind == ErrorKind::Transient => {
            return match existing_customer(tenant, &phone, &name).await {
                Some(found) => Ok(found),
                None => Err(st_error(e)),
            };
        }
        Err(e) => return Err(st_error(e)),
    };
    let location = created.locations.first().map(|l| l.id).ok_or_else(|| {
        ToolError::new(
            ErrorCode::ServicetitanUnavailable,
            "ServiceTitan created the customer without a location",
        )
    })?;
    Ok(json!({"customer_id": created.id, "location_id": location}))
}

async fn existing_customer(tenant: &Tenant, phone: &str, name: &str) -> Option<Value> {
    let c = &tenant.client;
    let customers = c.customers(vec![("phone", phone.to_owned())]).await.ok()?;
    let customer = customers
        .data
        .iter()
        .rev()
        .find(|x| x.name.eq_ignore_ascii_case(name))?;
    let locations = c
        .locations(vec![("customerId", customer.id.to_string())])
        .await
        .ok()?;
    let location = locations.data.first()?;
    Some(json!({"customer_id": customer.id, "location_id": location.id}))
}
