//! A caller who *reschedules* when the agent calls to confirm an appointment: the agent
//! reports `appointment.confirmation` with `status: "rescheduled"` and the new window, and
//! the appointment is moved through the very path the `reschedule_appointment` tool takes
//! (hold the window, re-check ServiceTitan's capacity, reschedule, publish
//! `appointment.rescheduled`). Confirmations and declines are the calls worker's; this
//! durable acks them untouched.
//!
//! Why here and not in the calls worker: rescheduling is a booking, with booking's holds,
//! capacity cache and idempotency. The event's id becomes the tool request id, so a
//! redelivery after a crash (or after a lost answer from ServiceTitan) is answered from
//! `BOOKING_ANSWERS` and moves nothing twice. A window that has no room, or an appointment
//! ServiceTitan does not know, is dead-lettered with the tool's own error, so an operator
//! sees why the appointment did not move; a ServiceTitan that is down is retried.

use crate::service::Inner;
use async_nats::jetstream;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::{ConsumerSpec, Handler, Settle};
use switchboard_events::tools::{ErrorCode, ToolCall, ToolRequest};
use switchboard_events::{CloudEvent, ConfirmationData, ConfirmationStatus, EventType};

/// The durable on EVENTS (`events.*.appointment.confirmation`); its dead letters are on
/// `dlq.EVENTS.booking-reschedules`.
pub const RESCHEDULES_DURABLE: &str = "booking-reschedules";
/// A ServiceTitan that fails is asked again this much later…
const RETRY_DELAY: Duration = Duration::from_secs(15);
/// …for about four hours of deliveries before the event is dead-lettered (replayable).
const MAX_DELIVER: i64 = 1000;
const ACK_WAIT: Duration = Duration::from_secs(60);
const BATCH: usize = 8;

pub(crate) fn spec(nats: &switchboard_config::NatsConfig) -> ConsumerSpec {
    ConsumerSpec::on_events(
        nats,
        RESCHEDULES_DURABLE.into(),
        format!("events.*.{}", EventType::AppointmentConfirmation.as_str()),
        ACK_WAIT,
        MAX_DELIVER,
        BATCH,
    )
}

/// The tool request a `rescheduled` answer stands for, or why it cannot be one.
/// `Ok(None)`: not a reschedule (confirmed or declined), nothing to do here.
pub(crate) fn request_of(
    event: &CloudEvent,
    c: &ConfirmationData,
) -> Result<Option<ToolRequest>, String> {
    if c.status != ConfirmationStatus::Rescheduled {
        return Ok(None);
    }
    let appointment = c
        .servicetitan
        .appointment_id
        .ok_or("a rescheduled answer without servicetitan.appointment_id")?;
    let (Some(start), Some(end)) = (&c.new_start, &c.new_end) else {
        return Err(format!(
            "appointment {appointment} was rescheduled without new_start and new_end"
        ));
    };
    Ok(Some(ToolRequest {
        tool: "reschedule_appointment".into(),
        request_id: format!("confirmation-{}", event.id),
        call: ToolCall {
            id: c.provider_call_id.clone(),
            ..ToolCall::default()
        },
        arguments: json!({"appointment_id": appointment, "start": start, "end": end}),
    }))
}

pub(crate) struct Reschedules(pub Arc<Inner>);

impl Handler for Reschedules {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let Ok(event) = serde_json::from_slice::<CloudEvent>(&message.payload) else {
            return Settle::dead_letter("malformed", "not a CloudEvent");
        };
        let Ok(data) = serde_json::from_value::<ConfirmationData>(event.data.clone()) else {
            return Settle::dead_letter(
                "malformed",
                format!(
                    "event {}: appointment.confirmation data does not match its schema",
                    event.id
                ),
            );
        };
        let request = match request_of(&event, &data) {
            Ok(Some(r)) => r,
            Ok(None) => return Settle::Ack,
            Err(e) => return Settle::dead_letter("malformed", format!("event {}: {e}", event.id)),
        };
        let reply = self.0.answer_request(&event.tenant, &request).await;
        match reply.error {
            None => Settle::Ack,
            Some(e) if e.code == ErrorCode::ServicetitanUnavailable => Settle::retry(
                RETRY_DELAY,
                format!(
                    "tenant {}: rescheduling for event {}: {}",
                    event.tenant, event.id, e.message
                ),
            ),
            Some(e) => {
                // The tool's error code, as the metrics spell it, is the dead letter's reason.
                Settle::dead_letter(
                    crate::metrics::result_label(Some(e.code)),
                    format!(
                        "tenant {}: the caller's new window for appointment {} was not booked: {}",
                        event.tenant, request.arguments["appointment_id"], e.message
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_events::StRefs;

    fn confirmation(status: ConfirmationStatus) -> ConfirmationData {
        ConfirmationData {
            provider: "agent".into(),
            status,
            servicetitan: StRefs {
                appointment_id: Some(5001),
                ..StRefs::default()
            },
            provider_call_id: Some("ag_9".into()),
            new_start: Some("2026-12-03T08:00:00-06:00".into()),
            new_end: Some("2026-12-03T10:00:00-06:00".into()),
        }
    }

    fn event() -> CloudEvent {
        serde_json::from_value(json!({
            "specversion": "1.0", "id": "ev1", "source": "/x", "type": "appointment.confirmation",
            "time": "2026-12-02T15:00:00Z", "datacontenttype": "application/json",
            "tenant": "acme", "inboundid": "1", "data": {}
        }))
        .unwrap()
    }

    #[test]
    fn a_rescheduled_answer_is_the_reschedule_tool_keyed_by_the_event() {
        let r = request_of(&event(), &confirmation(ConfirmationStatus::Rescheduled))
            .unwrap()
            .unwrap();
        assert_eq!(r.tool, "reschedule_appointment");
        assert_eq!(r.request_id, "confirmation-ev1");
        assert_eq!(r.call.id.as_deref(), Some("ag_9"));
        assert_eq!(
            r.arguments,
            json!({"appointment_id": 5001, "start": "2026-12-03T08:00:00-06:00", "end": "2026-12-03T10:00:00-06:00"})
        );
    }

    #[test]
    fn confirmations_and_declines_are_not_reschedules() {
        for status in [ConfirmationStatus::Confirmed, ConfirmationStatus::Declined] {
            assert_eq!(request_of(&event(), &confirmation(status)), Ok(None));
        }
    }

    #[test]
    fn a_reschedule_without_its_window_or_appointment_says_which() {
        let mut c = confirmation(ConfirmationStatus::Rescheduled);
        c.new_end = None;
        let e = request_of(&event(), &c).unwrap_err();
        assert!(
            e.contains("appointment 5001") && e.contains("new_end"),
            "{e}"
        );
        let mut c = confirmation(ConfirmationStatus::Rescheduled);
        c.servicetitan.appointment_id = None;
        let e = request_of(&event(), &c).unwrap_err();
        assert!(e.contains("appointment_id"), "{e}");
    }
}
