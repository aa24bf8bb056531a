//! Which job the agent booked during a call, from the booking service's own events.
//!
//! An agent that books through Switchboard's tools often reports `outcome: "booked"` at
//! the end of the call without `servicetitan.job_id`: it booked through a tool and never
//! saw ServiceTitan's ids. The booking service published `job.booked` (and, if the caller
//! changed their mind, `job.canceled`) on EVENTS *during* the call, each carrying the
//! agent's `provider_call_id`, and before it answered the agent, so those events are on
//! EVENTS before the call's outcome is. The calls worker reads them back here and links
//! the call to that job in ServiceTitan.
//!
//! Why a scan and not an index: the events are on two per-tenant subjects, and a call's
//! bookings are within an hour or so of the call. An ordered consumer from a little before
//! the call started, filtered on the two subjects, reads a handful of messages (a tenant's
//! bookings of that hour), whatever the stream's age; no second record of the same fact
//! has to be kept consistent.

use async_nats::jetstream::{self, consumer};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_events::{BookingData, CloudEvent, EventType};

/// How far before the call's start a booking is looked for (clock skew, a call's start
/// reported late).
const BEFORE_START: SignedDuration = SignedDuration::from_hours(1);
/// At most this many booking events are read for one call (a tenant's bookings in the
/// hours around the call); a busier stretch is refused rather than scanned for long.
const MAX_SCANNED: u64 = 20_000;
/// The whole read is bounded too.
const SCAN_TIMEOUT: Duration = Duration::from_secs(10);

/// The job the agent's call `provider_call_id` booked, from `job.booked` / `job.canceled`
/// events in time order: the first job booked during the call that was not canceled
/// during it (a call links one job in ServiceTitan).
pub fn booked_job<'a>(
    provider_call_id: &str,
    events: impl IntoIterator<Item = (&'a str, BookingData)>,
) -> Option<i64> {
    let mut booked: Vec<i64> = Vec::new();
    for (kind, data) in events {
        if data.provider_call_id.as_deref() != Some(provider_call_id) {
            continue;
        }
        if kind == EventType::JobBooked.as_str() {
            if !booked.contains(&data.job_id) {
                booked.push(data.job_id);
            }
        } else if kind == EventType::JobCanceled.as_str() {
            booked.retain(|j| *j != data.job_id);
        }
    }
    booked.first().copied()
}

/// [`booked_job`] over tenant `tenant`'s booking events on EVENTS since a little before
/// `call_started`. An error (EVENTS unreachable, too many events) is transient to the
/// caller: it retries the outcome rather than link nothing on a guess.
pub async fn booked_during(
    js: &jetstream::Context,
    tenant: &str,
    provider_call_id: &str,
    call_started: Timestamp,
) -> Result<Option<i64>, String> {
    let read = async {
        let from = call_started
            .saturating_sub(BEFORE_START)
            .unwrap_or(call_started);
        let start_time = async_nats::datetime::parse_rfc3339(&from.to_string())
            .map_err(|e| format!("{from} as a NATS start time: {e}"))?;
        let messages = switchboard_bus::scan::scan(
            js,
            switchboard_bus::EVENTS_STREAM,
            [EventType::JobBooked, EventType::JobCanceled]
                .iter()
                .map(|k| switchboard_bus::events_subject(tenant, k.as_str()))
                .collect(),
            consumer::DeliverPolicy::ByStartTime { start_time },
            MAX_SCANNED,
        )
        .await
        .map_err(|e| format!("tenant {tenant}'s booking events since {from}: {e}"))?;
        let mut events = Vec::with_capacity(messages.len());
        for message in messages {
            // Anything else on these subjects is not booking's and says nothing here.
            if let Ok(event) = serde_json::from_slice::<CloudEvent>(&message.payload)
                && let Ok(data) = serde_json::from_value::<BookingData>(event.data)
            {
                events.push((event.kind, data));
            }
        }
        Ok(booked_job(
            provider_call_id,
            events.iter().map(|(k, d)| (k.as_str(), d.clone())),
        ))
    };
    tokio::time::timeout(SCAN_TIMEOUT, read)
        .await
        .map_err(|_| {
            format!("reading tenant {tenant}'s booking events took over {SCAN_TIMEOUT:?}")
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(call: &str, job: i64) -> BookingData {
        BookingData {
            request_id: format!("req_{job}"),
            provider_call_id: Some(call.into()),
            job_id: job,
            ..BookingData::default()
        }
    }

    #[test]
    fn the_first_job_booked_on_the_call_and_still_standing_is_the_calls() {
        let events = [
            ("job.booked", data("other", 1)),
            ("job.booked", data("ag_1", 2)),
            ("job.booked", data("ag_1", 3)),
        ];
        assert_eq!(booked_job("ag_1", events.clone()), Some(2));
        assert_eq!(booked_job("other", events.clone()), Some(1));
        assert_eq!(booked_job("nobody", events), None);
    }

    #[test]
    fn a_job_canceled_during_the_call_is_not_linked() {
        let events = [
            ("job.booked", data("ag_1", 2)),
            ("appointment.rescheduled", data("ag_1", 2)),
            ("job.canceled", data("ag_1", 2)),
            ("job.booked", data("ag_1", 4)),
        ];
        assert_eq!(booked_job("ag_1", events.clone()), Some(4));
        assert_eq!(booked_job("ag_1", events[..3].to_vec()), None);
    }
}
