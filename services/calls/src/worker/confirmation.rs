//! `appointment.confirmation`: confirm or un-confirm a ServiceTitan appointment, once per
//! event and one writer per appointment, only when ServiceTitan differs and never on behalf
//! of an answer older than the one last applied.

use super::{Handled, Kind, TenantCtx, Worker, busy, is_older, parse, st_failure};
use crate::keys;
use crate::ledger::Claim;
use async_nats::jetstream;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::Settle;
use switchboard_events::{CloudEvent, ConfirmationData, ConfirmationStatus};

impl Worker {
    pub(super) async fn handle_confirmation(&self, message: &jetstream::Message) -> Settle {
        let (event, c) = match parse::<ConfirmationData>(message) {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let Some(ctx) = self.tenant(&event.tenant) else {
            return Settle::Ack;
        };
        let ctx = &*ctx;
        let Some(appointment) = c.servicetitan.appointment_id else {
            return Settle::dead_letter("malformed", "no servicetitan.appointment_id");
        };
        let confirmed = match c.status {
            ConfirmationStatus::Confirmed => true,
            ConfirmationStatus::Declined => false,
            // Rescheduling is a booking: the booking service moves the appointment
            // (its `booking-reschedules` durable reads the same events).
            ConfirmationStatus::Rescheduled => return Settle::Ack,
        };
        let token = match self.ledger.claim(&event.id).await {
            Ok(Claim::Acquired(t)) => t,
            Ok(Claim::Done) => return Settle::Ack,
            Ok(Claim::Busy) => return busy("the event"),
            Err(e) => return Settle::retry(Duration::from_secs(1), format!("ledger: {e}")),
        };
        // One writer per appointment at a time.
        let lock_key = keys::appointment_lock(&event.tenant, appointment);
        let settle = match self.ledger.claim(&lock_key).await {
            Ok(Claim::Acquired(lock)) => {
                let settle = self
                    .apply_confirmation(ctx, &event, appointment, confirmed)
                    .await;
                self.settle_claim(&lock_key, lock, false).await;
                settle
            }
            Ok(_) => busy("the appointment"),
            Err(e) => Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        match &settle {
            Settle::Ack => {
                self.settle_claim(&event.id, token, true).await;
                self.metrics.handled(Kind::Confirmation, Handled::Applied);
            }
            _ => {
                self.settle_claim(&event.id, token, false).await;
            }
        }
        settle
    }

    /// Confirms or un-confirms, only when ServiceTitan's appointment differs, and never on
    /// behalf of an answer older than the one last applied (redeliveries reorder).
    async fn apply_confirmation(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        appointment: i64,
        confirmed: bool,
    ) -> Settle {
        // Value: "{confirmed|declined} {event time}".
        let state_key = keys::appointment_state(&event.tenant, appointment);
        let want = if confirmed { "confirmed" } else { "declined" };
        let known = match self.ledger.read(&state_key).await {
            Ok(k) => k,
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let known_time = known
            .as_ref()
            .and_then(|(_, v)| v.split_once(' ').map(|(_, t)| t))
            .unwrap_or("");
        if is_older(&event.time, known_time) {
            self.metrics
                .handled(Kind::Confirmation, Handled::Superseded);
            return Settle::Ack;
        }
        // What ServiceTitan has now (a CSR may have confirmed it already).
        let current = match ctx.client.get_appointment(appointment).await {
            Ok(a) => a,
            Err(e) => return st_failure(&e, self.retry_delay),
        };
        let record = format!("{want} {}", event.time);
        let revision = known.as_ref().map_or(0, |(seq, _)| *seq);
        if current.is_confirmed == confirmed {
            // Already so; remember this answer's time, so an older opposite answer
            // redelivered later cannot undo it.
            let _ = self.ledger.write_if(&state_key, revision, record).await;
            self.metrics.skipped_correct.inc();
            return Settle::Ack;
        }
        let result = if confirmed {
            ctx.client.confirm_appointment(appointment).await
        } else {
            ctx.client.unconfirm_appointment(appointment).await
        };
        match result {
            Ok(()) => {
                self.metrics.writes.inc();
                let _ = self.ledger.write_if(&state_key, revision, record).await;
                Settle::Ack
            }
            Err(e) => st_failure(&e, self.retry_delay),
        }
    }
}
