//! The shapes booking reads and writes: job types, arrival windows, business hours, cancel
//! reasons, customers, and the bodies of job create, reschedule, cancel and customer create
//! (from `jpm.json`, `dispatch.json`, `crm.json`). Request bodies are exactly the spec's
//! (`deny_unknown_fields`), so st-sim can refuse what ServiceTitan would.

use super::CrmAddress;
use serde::{Deserialize, Serialize};

/// `{key, value}` (`Jpm.V2.ExternalDataModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `Jpm.V2.ExternalDataCreateRequest`: key/values only this application GUID sees again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalDataCreate {
    pub application_guid: String,
    pub external_data: Vec<KeyValue>,
}

/// `Dispatch.V2.CapacityResponseTechnician`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityTechnician {
    pub id: i64,
    pub name: String,
    /// `Available` or `Unavailable`.
    pub status: String,
    #[serde(default)]
    pub has_required_skills: Option<bool>,
}

/// `Jpm.V2.JobTypeResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobType {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub business_unit_ids: Vec<i64>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// Seconds ("Avg length of time for this job type"); ServiceTitan's capacity deducts it
    /// per booking, so a missing or zero duration would overbook.
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub priority: String,
    pub active: bool,
}

/// `Dispatch.V2.ArrivalWindowResponse`: `start` and `duration` as .NET time spans
/// (`"08:00:00"`, `"02:00:00"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrivalWindow {
    pub id: i64,
    pub start: String,
    pub duration: String,
    #[serde(default)]
    pub business_unit_ids: Vec<i64>,
    pub active: bool,
}

/// `{fromHour, toHour}` (`Dispatch.V2.BusinessHourRangeModel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourRange {
    pub from_hour: i32,
    pub to_hour: i32,
}

/// `Dispatch.V2.BusinessHourModel`: the business's opening hours, tenant-local.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHours {
    pub weekdays: Vec<HourRange>,
    pub saturday: Vec<HourRange>,
    pub sunday: Vec<HourRange>,
}

/// `Jpm.V2.JobCancelReasonResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCancelReason {
    pub id: i64,
    pub name: String,
    pub active: bool,
}

/// `Crm.V2.Customers.CustomerResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub active: bool,
    #[serde(default)]
    pub address: Option<CrmAddress>,
}

/// `Crm.V2.Customers.NewCustomerContact` and the contacts of a new location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// `Phone`, `Email`, `Fax` or `MobilePhone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
}

/// `Crm.V2.Customers.CustomerAddress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    pub street: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
}

/// `Crm.V2.Customers.NewLocation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    pub name: String,
    pub address: NewAddress,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<NewContact>,
}

/// `Crm.V2.Customers.CreateCustomerRequest` (`POST /crm/v2/tenant/{t}/customers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCustomer {
    pub name: String,
    /// `Residential` or `Commercial`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The bill-to address (required by ServiceTitan).
    pub address: NewAddress,
    pub locations: Vec<NewLocation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<NewContact>,
}

/// `Crm.V2.Locations.CreateLocationResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedLocation {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
}

/// `Crm.V2.Customers.CreatedCustomerResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCustomer {
    pub id: i64,
    pub name: String,
    pub locations: Vec<CreatedLocation>,
}

/// `Jpm.V2.AppointmentInformation`: one appointment of a new job (UTC times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAppointment {
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_window_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_window_end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technician_ids: Option<Vec<i64>>,
}

/// `Jpm.V2.JobCreateRequest` (`POST /jpm/v2/tenant/{t}/jobs`), the fields booking sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJob {
    pub customer_id: i64,
    pub location_id: i64,
    pub business_unit_id: i64,
    pub job_type_id: i64,
    /// `Low`, `Normal`, `High` or `Urgent`.
    pub priority: String,
    pub campaign_id: i64,
    pub appointments: Vec<NewAppointment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_lead_call_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_data: Option<ExternalDataCreate>,
}

/// `Jpm.V2.AppointmentRescheduleRequest` (UTC times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RescheduleAppointment {
    pub start: String,
    pub end: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_window_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_window_end: Option<String>,
}

/// `Jpm.V2.CancelJobRequest`: both fields required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelJob {
    pub reason_id: i64,
    pub memo: String,
}

/// `Marketing.V2.CampaignResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}
