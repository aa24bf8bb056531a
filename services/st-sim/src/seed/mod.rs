//! The seed file: simulator settings plus every tenant's data. The same shape is the
//! simulator's state (`GET /_sim/state` returns it), so a test can seed, act, and compare.

use serde::{Deserialize, Serialize};
use switchboard_servicetitan::models::{CallDirection, CallStatus, CallType};

mod booking;
pub use booking::{ArrivalWindow, BusinessHours, DailyShifts, JobType, KeyValue};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// App keys accepted in `ST-App-Key`.
    pub app_keys: Vec<String>,
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub faults: Faults,
    pub tenants: Vec<TenantData>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Token lifetime (ServiceTitan: 900).
    pub token_ttl_secs: u64,
    /// Requests per second per app key per tenant (ServiceTitan: 60); 0 disables.
    pub rate_limit_per_sec: u32,
    /// Records per export page.
    pub export_page_size: usize,
    /// ServiceTitan's export shows changes only after ~15 min unless
    /// `includeRecentChanges=true`; 0 shows them at once.
    pub export_delay_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_ttl_secs: 900,
            rate_limit_per_sec: 60,
            export_page_size: 500,
            export_delay_secs: 0,
        }
    }
}

/// Fault injection (also settable at run time through `POST /_sim/faults`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Fraction (0–1) of API requests answered 500 at random.
    pub error_rate: f64,
    /// Added to every API request.
    pub latency_ms: u64,
    /// Answer the next `force_count` API requests with `force_status` (401, 429, 500, …).
    pub force_status: Option<u16>,
    pub force_count: u64,
    /// `Retry-After` sent with forced 429s.
    pub retry_after_secs: Option<u64>,
    /// The next this many writes (POST, PUT, PATCH) are carried out and then answered 504,
    /// as when a gateway loses ServiceTitan's answer.
    pub lose_answers: u64,
    /// The next this many job creates find a CSR booking the same window at the same
    /// moment: st-sim books one of the same job type there first (no hold, as ServiceTitan's
    /// UI does).
    pub csr_races: u64,
}

/// Where st-sim sends signed ServiceTitan-style webhooks for this tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    pub secret: String,
    /// Default `X-ServiceTitan-Signature`.
    #[serde(default)]
    pub header: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantData {
    pub tenant_id: u64,
    pub client_id: String,
    pub client_secret: String,
    /// Scopes this tenant's API user was not granted (see `scopes.rs`): its tokens do not
    /// name them and their operations answer 403.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld_scopes: Vec<String>,
    #[serde(default)]
    pub webhook: Option<Webhook>,
    #[serde(default)]
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub locations: Vec<Location>,
    #[serde(default)]
    pub calls: Vec<Call>,
    #[serde(default)]
    pub jobs: Vec<Job>,
    #[serde(default)]
    pub appointments: Vec<Appointment>,
    #[serde(default)]
    pub call_reasons: Vec<CallReason>,
    #[serde(default)]
    pub tag_types: Vec<Named>,
    #[serde(default)]
    pub business_units: Vec<Named>,
    #[serde(default)]
    pub campaigns: Vec<Named>,
    #[serde(default)]
    pub agents: Vec<Named>,
    #[serde(default)]
    pub technicians: Vec<Named>,
    #[serde(default)]
    pub technician_shifts: Vec<Shift>,
    #[serde(default)]
    pub job_types: Vec<JobType>,
    #[serde(default)]
    pub arrival_windows: Vec<ArrivalWindow>,
    #[serde(default)]
    pub business_hours: BusinessHours,
    #[serde(default)]
    pub job_cancel_reasons: Vec<Named>,
    /// Capacity flags a window `isExceedingIdealBookingPercentage` past this share of its
    /// hours (ServiceTitan sets it per business unit; st-sim per tenant).
    #[serde(default = "ideal_booking_percentage")]
    pub ideal_booking_percentage: u32,
    /// Generated into `technician_shifts` when the seed is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_shifts: Option<DailyShifts>,
}

fn ideal_booking_percentage() -> u32 {
    80
}

impl TenantData {
    /// Adds `job` as the next job (its id is assigned), with one appointment per (start,
    /// end); returns the job's id.
    pub fn book(&mut self, mut job: Job, appointments: &[(String, String)], stamp: &str) -> i64 {
        let id = self.jobs.iter().map(|j| j.id).max().unwrap_or(1000) + 1;
        job.id = id;
        job.job_number = id.to_string();
        self.jobs.push(job);
        for (start, end) in appointments {
            let appointment_id = self.appointments.iter().map(|a| a.id).max().unwrap_or(5000) + 1;
            self.appointments.push(Appointment {
                id: appointment_id,
                job_id: id,
                start: start.clone(),
                end: end.clone(),
                confirmed: false,
                modified_on: stamp.to_owned(),
            });
        }
        id
    }

    /// Turns `daily_shifts` into shifts from the day of `now` (once: the field is then
    /// cleared).
    pub fn expand_daily_shifts(&mut self, now: jiff::Timestamp) {
        if let Some(daily) = self.daily_shifts.take() {
            let technicians: Vec<i64> = self.technicians.iter().map(|t| t.id).collect();
            let first = self
                .technician_shifts
                .iter()
                .map(|s| s.id)
                .max()
                .unwrap_or(0)
                + 1;
            let shifts = daily.expand(&technicians, first, now);
            self.technician_shifts.extend(shifts);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub id: i64,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street: String,
    #[serde(default)]
    pub unit: String,
    pub city: String,
    pub state: String,
    pub zip: String,
    #[serde(default = "usa")]
    pub country: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

fn usa() -> String {
    "USA".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub id: i64,
    /// `Phone`, `Email`, `Fax`, `MobilePhone`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub memo: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub address: Address,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub modified_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub id: i64,
    pub customer_id: i64,
    pub name: String,
    pub address: Address,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub modified_on: String,
    /// Export order: bumped on every change (not part of ServiceTitan's shape); 0 in a
    /// seed means "number it when loaded".
    #[serde(default)]
    pub version: u64,
    /// Contacts a call update removed; the contacts export shows them as inactive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_contacts: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallReason {
    pub id: i64,
    pub name: String,
    pub is_lead: bool,
    #[serde(default = "yes")]
    pub active: bool,
}

/// A call as the phone system and ServiceTitan's CSRs recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub id: i64,
    pub received_on: String,
    /// Seconds.
    pub duration_secs: u64,
    pub from: String,
    pub to: String,
    pub direction: CallDirection,
    #[serde(default = "completed")]
    pub status: CallStatus,
    #[serde(default)]
    pub call_type: Option<CallType>,
    #[serde(default)]
    pub reason_id: Option<i64>,
    #[serde(default)]
    pub excuse_memo: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub tag_type_ids: Vec<i64>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub location_id: Option<i64>,
    #[serde(default)]
    pub campaign_id: Option<i64>,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub agent_id: Option<i64>,
    #[serde(default)]
    pub recording_url: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// Export order: bumped on every change (not part of ServiceTitan's shape).
    #[serde(default)]
    pub version: u64,
}

fn completed() -> CallStatus {
    CallStatus::Completed
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: i64,
    pub job_number: String,
    pub customer_id: i64,
    pub location_id: i64,
    #[serde(default = "scheduled")]
    pub job_status: String,
    pub business_unit_id: i64,
    pub job_type_id: i64,
    pub campaign_id: i64,
    #[serde(default)]
    pub lead_call_id: Option<i64>,
    #[serde(default)]
    pub partner_lead_call_id: Option<i64>,
    #[serde(default)]
    pub booking_id: Option<i64>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub modified_on: String,
    #[serde(default = "booking::normal_priority")]
    pub priority: String,
    /// The application whose `external_data` this is (only it reads them back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_data: Vec<KeyValue>,
}

impl Job {
    /// A scheduled job for these records, created at `stamp`, with nothing else set (no
    /// summary, lead call or external data); [`TenantData::book`] numbers it.
    pub fn scheduled(
        customer_id: i64,
        location_id: i64,
        business_unit_id: i64,
        job_type_id: i64,
        campaign_id: i64,
        stamp: &str,
    ) -> Job {
        Job {
            id: 0,
            job_number: String::new(),
            customer_id,
            location_id,
            job_status: scheduled(),
            business_unit_id,
            job_type_id,
            campaign_id,
            lead_call_id: None,
            partner_lead_call_id: None,
            booking_id: None,
            summary: None,
            created_on: stamp.to_owned(),
            modified_on: stamp.to_owned(),
            priority: booking::normal_priority(),
            application_guid: None,
            external_data: Vec::new(),
        }
    }
}

fn scheduled() -> String {
    "Scheduled".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appointment {
    pub id: i64,
    pub job_id: i64,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub confirmed: bool,
    #[serde(default)]
    pub modified_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub id: i64,
    pub technician_id: i64,
    #[serde(default = "normal")]
    pub shift_type: String,
    pub title: String,
    pub start: String,
    pub end: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn normal() -> String {
    "Normal".into()
}
