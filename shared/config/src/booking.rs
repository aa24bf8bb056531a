//! `[booking]` (the booking service) and `[tenants.x.booking]` (how one business books).
//! Apart from `model.rs` because booking is its own service with its own knobs.

use serde::Deserialize;
use std::net::SocketAddr;

/// `switchboard-booking`: the voice agent's availability and booking tools.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingConfig {
    /// Where `/healthz`, `/readyz` and `/metrics` listen.
    pub listen: SocketAddr,
    /// Availability per (tenant, business unit, job type, day) is asked of ServiceTitan at
    /// most this often; Switchboard's own bookings and ServiceTitan's job changes
    /// invalidate it sooner.
    pub capacity_ttl_secs: u64,
    /// ServiceTitan's appointments export is read this often, per tenant, and the cached
    /// capacity of every day an appointment changed on is dropped (CSRs' bookings,
    /// reschedules and cancellations that no webhook announced).
    pub export_poll_secs: u64,
    /// How long a booking holds its window while it re-checks capacity and creates the
    /// job. Concurrent bookings of one window, across replicas, wait for each other.
    pub hold_ttl_secs: u64,
    /// The NATS service's queue group: replicas in one group share the requests.
    pub queue_group: String,
    /// Answers to `request_id`s are kept this long (the idempotency window).
    pub answers_ttl_days: u64,
    /// The ServiceTitan application GUID Switchboard writes jobs' external data under
    /// (each job carries its request id there, so a create whose answer was lost is found
    /// again instead of created twice). Only this application reads it back.
    pub application_guid: String,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8084)),
            capacity_ttl_secs: 30,
            export_poll_secs: 10,
            hold_ttl_secs: 120,
            queue_group: "booking".into(),
            answers_ttl_days: 30,
            application_guid: "6f1c9a52-3b7e-4d0a-9e21-5c8b7f4a2d10".into(),
        }
    }
}

/// `[tenants.x.booking]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantBooking {
    /// Refuse windows ServiceTitan marks `isExceedingIdealBookingPercentage`, as its CSRs'
    /// booking screen advises.
    pub respect_ideal_booking_percentage: bool,
    /// The campaign a job is booked under when the agent names none (a ServiceTitan
    /// campaign name).
    pub default_campaign: Option<String>,
    /// The job priority ServiceTitan records: Low, Normal, High or Urgent.
    pub default_priority: String,
}

impl Default for TenantBooking {
    fn default() -> Self {
        Self {
            respect_ideal_booking_percentage: true,
            default_campaign: None,
            default_priority: "Normal".into(),
        }
    }
}
