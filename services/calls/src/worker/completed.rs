//! `call.completed`: locate the ServiceTitan call as soon as the agent's call ends and
//! remember the correlation, so the outcome that follows is found by id. A call not found
//! here is no failure: the outcome locates (or dead-letters) it on its own.

use super::{Handled, Kind, Numbers, Worker, parse, seen};
use crate::keys;
use async_nats::jetstream;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::Settle;
use switchboard_events::CallData;

impl Worker {
    /// `call.completed`: find the ServiceTitan call now (retrying while ServiceTitan's record
    /// lags) and remember it, so the outcome that follows is found by id. Not finding it is
    /// not an error here — the outcome locates (or dead-letters) on its own.
    pub(super) async fn handle_completed(&self, message: &jetstream::Message) -> Settle {
        let (event, call) = match parse::<CallData>(message) {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let skipped = || {
            self.metrics.handled(Kind::Completed, Handled::Skipped);
            Settle::Ack
        };
        let Some(ctx) = self.tenant(&event.tenant) else {
            return skipped();
        };
        let ctx = &*ctx;
        let (Some(from), Some(to), Some(started)) = (&call.from, &call.to, &call.started_at) else {
            return skipped();
        };
        let key = keys::correlation(&event.tenant, &call.provider, &call.provider_call_id);
        match self.ledger.read(&key).await {
            Ok(Some(_)) => {
                self.metrics.handled(Kind::Completed, Handled::AlreadyDone);
                return Settle::Ack;
            }
            Ok(None) => {}
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        }
        let me = keys::owner(&call.provider, &call.provider_call_id);
        match self
            .find_by_numbers(
                ctx,
                &event,
                Numbers { from, to, started },
                &me,
                seen(message),
            )
            .await
        {
            Ok(id) => match self.bind(&event.tenant, &me, &key, id).await {
                Ok(true) => {
                    self.metrics.handled(Kind::Completed, Handled::Applied);
                    Settle::Ack
                }
                Ok(false) => Settle::retry(
                    self.retry_delay,
                    format!("ServiceTitan call {id} is already another call's; looking again"),
                ),
                Err(e) => Settle::retry(self.retry_delay, format!("ledger: {e}")),
            },
            Err(Settle::DeadLetter { reason, error })
                if reason == "ambiguous_call" || reason == "call_not_found" =>
            {
                tracing::info!(%reason, %error, "call.completed: not correlated; the outcome will locate the call itself");
                self.metrics
                    .handled(Kind::Completed, Handled::NotCorrelated);
                Settle::Ack
            }
            Err(other) => other,
        }
    }
}
