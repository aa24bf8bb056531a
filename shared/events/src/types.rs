//! Canonical event types, v1. Field names are snake_case; phone numbers E.164; times
//! RFC 3339 UTC. Adding an optional field is a compatible change; renaming or removing one,
//! or changing a meaning, needs a new type version (see docs/events.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
// What the agent made of a call (`outcome`) is Switchboard's one classification
// vocabulary, shared with the config's policies and analytics; its JSON Schema is still
// named `Outcome` (see switchboard_config::CallClass).
use switchboard_config::CallClass;

/// Every canonical type; `as_str` is both the CloudEvents `type` and the subject suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "call.started")]
    CallStarted,
    #[serde(rename = "call.answered")]
    CallAnswered,
    #[serde(rename = "call.completed")]
    CallCompleted,
    #[serde(rename = "call.recording.ready")]
    CallRecordingReady,
    #[serde(rename = "call.outcome")]
    CallOutcome,
    #[serde(rename = "appointment.confirmation")]
    AppointmentConfirmation,
    #[serde(rename = "st.call.changed")]
    StCallChanged,
    #[serde(rename = "st.job.changed")]
    StJobChanged,
    #[serde(rename = "st.appointment.changed")]
    StAppointmentChanged,
    #[serde(rename = "webhook.unrecognized")]
    WebhookUnrecognized,
    #[serde(rename = "call.confirmed")]
    CallConfirmed,
    #[serde(rename = "call.reclassified")]
    CallReclassified,
    #[serde(rename = "call.reclassify.requested")]
    CallReclassifyRequested,
    #[serde(rename = "job.booked")]
    JobBooked,
    #[serde(rename = "appointment.rescheduled")]
    AppointmentRescheduled,
    #[serde(rename = "job.canceled")]
    JobCanceled,
    #[serde(rename = "booking.overbooked")]
    BookingOverbooked,
}

impl EventType {
    pub const ALL: [EventType; 17] = [
        Self::CallStarted,
        Self::CallAnswered,
        Self::CallCompleted,
        Self::CallRecordingReady,
        Self::CallOutcome,
        Self::AppointmentConfirmation,
        Self::StCallChanged,
        Self::StJobChanged,
        Self::StAppointmentChanged,
        Self::WebhookUnrecognized,
        Self::CallConfirmed,
        Self::CallReclassified,
        Self::CallReclassifyRequested,
        Self::JobBooked,
        Self::AppointmentRescheduled,
        Self::JobCanceled,
        Self::BookingOverbooked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallStarted => "call.started",
            Self::CallAnswered => "call.answered",
            Self::CallCompleted => "call.completed",
            Self::CallRecordingReady => "call.recording.ready",
            Self::CallOutcome => "call.outcome",
            Self::AppointmentConfirmation => "appointment.confirmation",
            Self::StCallChanged => "st.call.changed",
            Self::StJobChanged => "st.job.changed",
            Self::StAppointmentChanged => "st.appointment.changed",
            Self::WebhookUnrecognized => "webhook.unrecognized",
            Self::CallConfirmed => "call.confirmed",
            Self::CallReclassified => "call.reclassified",
            Self::CallReclassifyRequested => "call.reclassify.requested",
            Self::JobBooked => "job.booked",
            Self::AppointmentRescheduled => "appointment.rescheduled",
            Self::JobCanceled => "job.canceled",
            Self::BookingOverbooked => "booking.overbooked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// `call.started`, `call.answered`, `call.completed`: the phone call as the telephony or
/// voice-AI provider saw it. Fields a provider does not send are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallData {
    /// The payload format it came in: `twilio`, `telnyx`, `retell`, `vapi`, `plivo`, `vonage`,
    /// `dialpad`, `ringcentral`, `bandwidth`, `aircall`, `callrail`, `bland`, `elevenlabs`,
    /// `synthflow`, `agent`.
    pub provider: String,
    pub provider_call_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// Why the call ended: `completed`, `busy`, `no-answer`, `failed`, `canceled`, or the
    /// provider's own reason (e.g. Telnyx `hangup_cause`, Retell `disconnection_reason`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_url: Option<String>,
}

impl CallData {
    /// `provider`'s call `call_id` from `from` to `to` (numbers normalised to E.164),
    /// inbound or not where the provider says; nothing else known yet.
    pub fn between(
        provider: &str,
        call_id: &str,
        from: Option<String>,
        to: Option<String>,
        inbound: Option<bool>,
    ) -> Self {
        let number = |n: Option<String>| n.map(|n| crate::e164::normalise(&n));
        CallData {
            provider: provider.into(),
            provider_call_id: call_id.into(),
            from: number(from),
            to: number(to),
            direction: inbound.map(|inbound| {
                if inbound {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                }
            }),
            ..CallData::default()
        }
    }
}

/// `call.recording.ready`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordingData {
    pub provider: String,
    pub provider_call_id: String,
    pub recording_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
}

/// ServiceTitan record ids the agent knows about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StRefs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<i64>,
}

/// `call.outcome`: what happened on a call, from the agent's point of view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OutcomeData {
    pub provider: String,
    pub provider_call_id: String,
    pub outcome: CallClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub servicetitan: StRefs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Which AI agent (or agent configuration) handled the call, for breakdowns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The ServiceTitan business unit the call was for, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit: Option<String>,
    /// The marketing campaign the call came in on (tracking number's campaign), by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

impl OutcomeData {
    /// `provider`'s verdict `outcome` on its call `provider_call_id`, with nothing else
    /// known yet: no reason, tags, ServiceTitan ids, numbers, times or breakdowns.
    pub fn new(provider: String, provider_call_id: String, outcome: CallClass) -> Self {
        Self {
            provider,
            provider_call_id,
            outcome,
            reason: None,
            tags: Vec::new(),
            servicetitan: StRefs::default(),
            from: None,
            to: None,
            started_at: None,
            ended_at: None,
            summary: None,
            agent: None,
            business_unit: None,
            campaign: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationStatus {
    Confirmed,
    Declined,
    Rescheduled,
}

/// `appointment.confirmation`: the caller confirmed, declined or rescheduled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfirmationData {
    pub provider: String,
    pub status: ConfirmationStatus,
    pub servicetitan: StRefs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_call_id: Option<String>,
    /// For `rescheduled`: the new window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_end: Option<String>,
}

/// `st.call.changed`, `st.job.changed`, `st.appointment.changed`: ServiceTitan told us a
/// record changed. `record` is ServiceTitan's payload as sent (its webhook shapes are not
/// publicly documented; see docs/events.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StChangeData {
    /// ServiceTitan's event name, e.g. `CallCompleted`, `JobBooked`.
    pub st_event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub st_tenant_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub record: serde_json::Value,
}

/// `webhook.unrecognized`: a verified delivery no normaliser understood. Kept (with a
/// pointer to the original in INBOUND) so a parser fix can replay it; counted in metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnrecognizedData {
    pub source: String,
    pub scheme: String,
    pub format: String,
    pub inbound_stream_seq: u64,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// A ServiceTitan call's classification, as the calls worker reads and writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StCallState {
    /// `Abandoned | Unbooked | Excused | Booked | NotLead`, absent when unclassified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_is_lead: Option<bool>,
    pub tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    pub excuse_memo: String,
}

/// `call.confirmed` (ServiceTitan already matched the agent's outcome: nothing written) and
/// `call.reclassified` (the calls worker changed the ServiceTitan call), published by the
/// calls worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallSyncData {
    /// The `call.outcome` event this answers.
    pub outcome_event_id: String,
    pub provider_call_id: String,
    pub st_call_id: i64,
    pub before: StCallState,
    pub after: StCallState,
    /// ServiceTitan's `modifiedOn` of the call in the `after` state (from the PUT's answer,
    /// or of the record read when nothing was written): lets consumers order this against
    /// ServiceTitan's own export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st_modified_on: Option<String>,
}

/// `call.reclassify.requested`: a command to the calls worker — make ServiceTitan call
/// `st_call_id` look like `outcome` (mapped through the tenant's policy, as an agent
/// outcome would be). Sent by analytics when the agent's view is authoritative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReclassifyRequestData {
    pub st_call_id: i64,
    pub outcome: CallClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The job the call booked (for `booked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
    /// The agent's call this is about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_call_id: Option<String>,
    /// ServiceTitan's class when the request was made (absent: unclassified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_call_type: Option<String>,
    /// Who asked, e.g. `analytics`.
    pub requested_by: String,
}

/// `job.booked`, `appointment.rescheduled`, `job.canceled`, `booking.overbooked`: what the
/// booking service did in ServiceTitan for the agent, and on which call. `booking.overbooked`
/// says a window ended over capacity after a booking (a CSR booked into it at the same
/// moment): the job stands, a person decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BookingData {
    /// The agent's tool-call request id (the idempotency key).
    pub request_id: String,
    /// The agent's (provider's) call id, when the agent sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_call_id: Option<String>,
    /// The caller's number (E.164), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub job_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_unit_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type_id: Option<i64>,
    /// The window booked (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// With `booking.overbooked`: the window's open hours after the booking (negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_hours: Option<f64>,
}
