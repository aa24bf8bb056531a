//! ServiceTitan's request and response shapes, from its published OpenAPI documents
//! (`telecom`, `jbce`, `settings`, `jpm`, `dispatch`, `crm`). Names follow the schema names
//! in comments. Responses tolerate unknown fields and omitted optional ones; request bodies
//! (`CallInUpdateModelV2`, capacity) carry exactly the fields the spec allows and reject
//! anything else when deserialized (st-sim relies on that to answer 400 like ServiceTitan).

use serde::{Deserialize, Serialize};

mod booking;
pub use booking::*;

/// `{page, pageSize, totalCount?, hasMore, data}` (`PaginatedResponse_Of_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub page: u32,
    pub page_size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
    pub has_more: bool,
    pub data: Vec<T>,
}

/// `{hasMore, continueFrom, data}` (`ExportResponse_Of_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPage<T> {
    pub has_more: bool,
    pub continue_from: String,
    pub data: Vec<T>,
}

/// `Telecom.V2.CallType`: how ServiceTitan classifies a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallType {
    Abandoned,
    Unbooked,
    Excused,
    Booked,
    NotLead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallDirection {
    Inbound,
    Outbound,
}

/// `Telecom.V2.CallStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallStatus {
    Ringing,
    Answered,
    Completed,
    Initiated,
}

/// `{id, name}` (`Telecom.V2.NamedModel`, `Services.NamedModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// `Module.Telecom.Shared.CallReasonModel` / `Telecom.V3.CallReasonModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallReasonRef {
    pub id: i64,
    pub name: String,
    pub lead: bool,
    pub active: bool,
}

/// `Module.Telecom.Shared.CallAgentModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallAgent {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub external_id: Option<i64>,
}

/// `Module.Telecom.Shared.TagResponseModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallTag {
    pub id: i64,
    pub type_name: String,
}

/// `AddressOutput`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddressOutput {
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub zip: String,
    #[serde(default)]
    pub street_address: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// `Contacts.Contracts.ContactOutputModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactOutput {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub memo: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub modified_on: String,
}

/// The part of `Crm.Contracts.Customers.CustomerModel` Switchboard reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCustomer {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub address: AddressOutput,
    #[serde(default)]
    pub contacts: Vec<ContactOutput>,
    #[serde(default)]
    pub modified_on: String,
}

/// `Module.Telecom.Shared.DetailedCallModel`: the call inside a v2 call record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedCall {
    pub id: i64,
    pub received_on: String,
    /// `hh:mm:ss`.
    pub duration: String,
    pub from: String,
    pub to: String,
    pub direction: CallDirection,
    #[serde(default)]
    pub call_type: Option<CallType>,
    #[serde(default)]
    pub reason: Option<CallReasonRef>,
    #[serde(default)]
    pub recording_url: Option<String>,
    #[serde(default)]
    pub voice_mail_url: Option<String>,
    #[serde(default)]
    pub created_by: Option<Named>,
    #[serde(default)]
    pub customer: Option<CallCustomer>,
    #[serde(default)]
    pub campaign: Option<Named>,
    pub modified_on: String,
    #[serde(default)]
    pub agent: Option<CallAgent>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub tags: Vec<CallTag>,
}

/// `Module.Telecom.Shared.DetailedBundleCallModel`: `GET /telecom/v2/tenant/{t}/calls/{id}`
/// (a job "bundle" with its lead call; `id` is 0 when no job is linked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub id: i64,
    #[serde(default)]
    pub job_number: Option<String>,
    #[serde(default)]
    pub project_id: Option<i64>,
    #[serde(default)]
    pub business_unit: Option<Named>,
    #[serde(default, rename = "type")]
    pub job_type: Option<Named>,
    pub lead_call: DetailedCall,
}

/// `Telecom.V3.CallModelResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallV3 {
    pub id: i64,
    pub created_on: String,
    pub active: bool,
    pub received_on: String,
    pub duration: String,
    pub from: String,
    pub to: String,
    pub direction: CallDirection,
    #[serde(default)]
    pub call_type: Option<CallType>,
    #[serde(default)]
    pub reason: Option<CallReasonRef>,
    #[serde(default)]
    pub recording_url: Option<String>,
    #[serde(default)]
    pub voice_mail_url: Option<String>,
    #[serde(default)]
    pub created_by: Option<Named>,
    #[serde(default)]
    pub customer: Option<Named>,
    #[serde(default)]
    pub campaign: Option<Named>,
    pub modified_on: String,
    #[serde(default)]
    pub agent: Option<CallAgent>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<CallTag>>,
}

/// `Telecom.V3.CallResponse`: one item of `GET /telecom/v3/tenant/{t}/calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallListItem {
    pub id: i64,
    #[serde(default)]
    pub job_number: Option<String>,
    #[serde(default)]
    pub project_id: Option<i64>,
    #[serde(default)]
    pub business_unit: Option<Named>,
    #[serde(default, rename = "type")]
    pub job_type: Option<Named>,
    pub lead_call: CallV3,
}

/// `Telecom.V2.JobModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    pub id: i64,
    pub number: String,
}

/// `Telecom.V2.LeadModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadRef {
    pub id: i64,
}

/// `Telecom.V2.ExportCallResponse`: one record of `GET /telecom/v2/tenant/{t}/export/calls`.
/// The only read that carries `excuseMemo`, `tag` and `location`, which a call update
/// must send back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportCall {
    pub id: i64,
    pub duration: String,
    pub from: String,
    pub to: String,
    pub direction: CallDirection,
    pub status: CallStatus,
    #[serde(default, rename = "type")]
    pub call_type: Option<CallType>,
    #[serde(default)]
    pub recording_url: Option<String>,
    #[serde(default)]
    pub voice_mail_path: Option<String>,
    pub created_on: String,
    pub modified_on: String,
    #[serde(default)]
    pub reason: Option<Named>,
    #[serde(default)]
    pub customer: Option<Named>,
    #[serde(default)]
    pub location: Option<Named>,
    #[serde(default)]
    pub campaign: Option<Named>,
    #[serde(default)]
    pub job: Option<JobRef>,
    #[serde(default)]
    pub agent: Option<Named>,
    #[serde(default)]
    pub created_by: Option<Named>,
    #[serde(default)]
    pub excuse_memo: String,
    #[serde(default)]
    pub tag: String,
    pub active: bool,
    #[serde(default)]
    pub lead: Option<LeadRef>,
}

// ---- the call update body: exactly `Module.Telecom.Shared.CallInUpdateModelV2` ----

/// `AddressInput`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddressInput {
    pub street: String,
    pub unit: String,
    pub country: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// `ContactInputModel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactInput {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub memo: String,
}

/// `CustomerInModel` and `LocationInModel` (same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartyInput {
    pub id: i64,
    pub name: String,
    pub address: AddressInput,
    pub contacts: Vec<ContactInput>,
}

/// `Module.Telecom.Shared.ReasonInModel`: reasons are set by name and lead flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub name: String,
    pub lead: bool,
}

/// `Module.Telecom.Shared.CallInUpdateModelV2`: the **full** body of
/// `PUT /telecom/v2/tenant/{t}/calls/{id}` (`additionalProperties: false`). Build it with
/// [`crate::CurrentCall::update`] so no field is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallInUpdateModelV2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<i64>,
    #[serde(default)]
    pub call_type: Option<CallType>,
    pub excuse_memo: String,
    #[serde(default)]
    pub campaign_id: Option<i64>,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub agent_id: Option<i64>,
    pub reason: ReasonInput,
    pub customer: PartyInput,
    pub location: PartyInput,
    pub tag: String,
}

// ---- settings, jbce, jpm, dispatch, crm ----

/// `Jbce.V2.CallReasonResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallReason {
    pub id: i64,
    pub name: String,
    pub is_lead: bool,
    pub active: bool,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
}

/// `TenantSettings.V2.TagTypeResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagType {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub color: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub is_conversion_opportunity: bool,
    #[serde(default)]
    pub allow_to_use_on_timesheet_activity: bool,
    #[serde(default)]
    pub is_visible_on_dispatch_board: bool,
    pub active: bool,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
}

/// `TenantSettings.V2.BusinessUnitResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessUnit {
    pub id: i64,
    pub active: bool,
    pub name: String,
    #[serde(default)]
    pub official_name: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
}

/// `Jpm.V2.JobResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: i64,
    pub job_number: String,
    #[serde(default)]
    pub project_id: Option<i64>,
    pub customer_id: i64,
    pub location_id: i64,
    pub job_status: String,
    #[serde(default)]
    pub completed_on: Option<String>,
    pub business_unit_id: i64,
    pub job_type_id: i64,
    #[serde(default)]
    pub priority: String,
    pub campaign_id: i64,
    #[serde(default)]
    pub appointment_count: i64,
    #[serde(default)]
    pub first_appointment_id: i64,
    #[serde(default)]
    pub last_appointment_id: i64,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
    #[serde(default)]
    pub tag_type_ids: Vec<i64>,
    /// The call that booked the job (set by ServiceTitan's own CSRs).
    #[serde(default)]
    pub lead_call_id: Option<i64>,
    /// The call an outside agent (such as ours) booked the job from.
    #[serde(default)]
    pub partner_lead_call_id: Option<i64>,
    #[serde(default)]
    pub booking_id: Option<i64>,
    #[serde(default)]
    pub summary: Option<String>,
    /// Our own key/values on the job (only those of the application GUID asked with).
    #[serde(default)]
    pub external_data: Vec<KeyValue>,
}

/// `Dispatch.V2.CapacityRequestArgs` (`POST /dispatch/v2/tenant/{t}/capacity`, a read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityRequest {
    pub starts_on_or_after: String,
    pub ends_on_or_before: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit_ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type_id: Option<i64>,
    pub skill_based_availability: bool,
}

/// `Dispatch.V2.CapacityResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityResponse {
    pub time_stamp: String,
    pub availabilities: Vec<CapacityAvailability>,
}

/// `Dispatch.V2.CapacityResponseAvailability` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityAvailability {
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub start_utc: String,
    #[serde(default)]
    pub end_utc: String,
    #[serde(default)]
    pub business_unit_ids: Vec<i64>,
    pub total_availability: f64,
    pub open_availability: f64,
    pub is_available: bool,
    #[serde(default)]
    pub is_exceeding_ideal_booking_percentage: bool,
    #[serde(default)]
    pub technicians: Vec<CapacityTechnician>,
}

/// `Dispatch.V2.TechnicianShiftResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TechnicianShift {
    pub id: i64,
    /// `Normal`, `OnCall` or `TimeOff`.
    pub shift_type: String,
    pub title: String,
    #[serde(default)]
    pub note: Option<String>,
    pub active: bool,
    pub technician_id: i64,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
}

/// `Crm.V2.Customers.CustomerAddress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CrmAddress {
    pub street: String,
    #[serde(default)]
    pub unit: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
    pub country: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// `Crm.V2.Locations.LocationResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: i64,
    pub customer_id: i64,
    pub active: bool,
    pub name: String,
    pub address: CrmAddress,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
}

/// `Crm.V2.LocationContactResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationContact {
    pub id: i64,
    /// `Phone`, `Email`, `Fax` or `MobilePhone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub modified_on: String,
    #[serde(default)]
    pub created_on: String,
}

/// `Jpm.V2.AppointmentResponse` (the fields Switchboard uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: i64,
    pub job_id: i64,
    pub start: String,
    pub end: String,
    pub status: String,
    pub is_confirmed: bool,
    pub active: bool,
    #[serde(default)]
    pub modified_on: String,
}

/// `Crm.V2.ExportLocationContactResponse` (the fields Switchboard uses): one contact of
/// one location in the location-contacts export; a removed contact shows `active: false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportLocationContact {
    pub id: i64,
    /// `Phone`, `Email`, `Fax` or `MobilePhone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub memo: Option<String>,
    #[serde(default)]
    pub modified_on: String,
    #[serde(default)]
    pub created_on: String,
    pub location_id: i64,
    pub active: bool,
}

impl ExportLocationContact {
    /// The contact as the per-location contacts list shows it.
    pub fn contact(&self) -> LocationContact {
        LocationContact {
            id: self.id,
            kind: self.kind.clone(),
            value: self.value.clone(),
            memo: self.memo.clone(),
            modified_on: self.modified_on.clone(),
            created_on: self.created_on.clone(),
        }
    }
}

/// `ApiErrorResponse` (RFC 7807 problem details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub errors: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// `POST /connect/token` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    pub token_type: String,
    #[serde(default)]
    pub scope: Option<String>,
}
