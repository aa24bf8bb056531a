//! The client reads ServiceTitan's answers whether they carry the OpenAPI documents' full
//! shapes (every required field, as st-sim now answers) or the minimal ones real tenants
//! send for records that lack parts (`null` business unit, job type, agent, campaign).

use serde_json::json;
use switchboard_servicetitan::models::{CallRecord, JobType};

fn lead_call(extra: serde_json::Value) -> serde_json::Value {
    let mut call = json!({"id": 9001, "receivedOn": "2026-11-20T15:00:00Z", "duration": "00:05:12",
        "from": "+15125550101", "to": "+15125550000", "direction": "Inbound",
        "modifiedOn": "2026-11-20T15:05:12Z"});
    for (k, v) in extra.as_object().unwrap() {
        call[k] = v.clone();
    }
    call
}

#[test]
fn a_call_with_no_job_and_no_parties_reads() {
    let minimal = json!({"id": 0, "jobNumber": null, "projectId": null, "businessUnit": null,
        "type": null, "leadCall": lead_call(json!({"agent": null, "campaign": null, "customer": null,
        "reason": null, "createdBy": null, "tags": []}))});
    let call: CallRecord = serde_json::from_value(minimal).unwrap();
    assert_eq!(call.id, 0);
    assert!(call.business_unit.is_none() && call.job_type.is_none());
    assert!(call.lead_call.agent.is_none() && call.lead_call.campaign.is_none());
}

#[test]
fn a_call_in_the_documents_full_shape_reads() {
    let full = json!({"id": 1001, "jobNumber": "1001", "projectId": 0,
        "businessUnit": {"id": 21, "active": true, "name": "HVAC Service", "officialName": "HVAC Service",
            "email": "", "currency": "USD", "phoneNumber": "", "invoiceHeader": "", "invoiceMessage": "",
            "defaultTaxRate": 0.0, "authorizationParagraph": "", "acknowledgementParagraph": "",
            "address": {"street": "", "unit": "", "city": "", "state": "", "zip": "", "country": ""},
            "materialSku": "", "quickbooksClass": "", "accountCode": "", "franchiseId": "", "conceptCode": "",
            "corporateContractNumber": "", "tenant": {"id": 1, "name": "T", "quickbooksClass": "",
            "accountCode": "", "franchiseId": "", "conceptCode": "", "modifiedOn": "2026-11-01T00:00:00Z"},
            "modifiedOn": "2026-11-01T00:00:00Z"},
        "type": {"id": 301, "name": "AC Repair", "modifiedOn": "2026-11-01T00:00:00Z"},
        "leadCall": lead_call(json!({
            "campaign": {"id": 31, "name": "Google", "active": true, "createdOn": "2026-11-01T00:00:00Z",
                "modifiedOn": "2026-11-01T00:00:00Z", "category": null},
            "customer": {"id": 101, "name": "Maria Gonzalez", "active": true, "email": "", "doNotMail": false,
                "importId": "", "doNotService": false, "type": "Residential", "memberships": [],
                "customFields": [], "createdOn": "2026-11-01T00:00:00Z", "phoneSettings": [],
                "modifiedOn": "2026-11-01T00:00:00Z", "contacts": [],
                "address": {"street": "1 Main", "unit": "", "country": "USA", "city": "Austin",
                    "state": "TX", "zip": "78701", "streetAddress": "1 Main", "latitude": null, "longitude": null}},
            "agent": {"id": 7, "name": "Dana", "externalId": null}, "tags": []}))});
    let call: CallRecord = serde_json::from_value(full).unwrap();
    assert_eq!(call.business_unit.unwrap().name, "HVAC Service");
    assert_eq!(call.job_type.unwrap().name, "AC Repair");
    assert_eq!(call.lead_call.customer.unwrap().id, 101);
    assert_eq!(call.lead_call.campaign.unwrap().id, 31);
}

#[test]
fn a_job_type_reads_in_full_or_minimal() {
    let minimal = json!({"id": 301, "name": "AC Repair", "active": true});
    let full = json!({"id": 301, "name": "AC Repair", "businessUnitIds": [21], "skills": ["HVAC"],
        "tagTypeIds": [], "priority": "Normal", "duration": 7200, "class": "", "summary": "",
        "noCharge": false, "invoiceSignaturesRequired": false, "modifiedOn": "2026-11-01T00:00:00Z",
        "createdOn": "2026-11-01T00:00:00Z", "externalData": [], "active": true,
        "isSmartDispatched": false, "defaultEstimateSoldAction": "", "customFieldTypeIds": []});
    let minimal: JobType = serde_json::from_value(minimal).unwrap();
    assert_eq!(minimal.duration, None, "no duration: booking refuses it");
    let full: JobType = serde_json::from_value(full).unwrap();
    assert_eq!(full.duration, Some(7200));
}
