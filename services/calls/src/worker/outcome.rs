//! Applying an agent outcome (or analytics' reclassify request, applied the same way):
//! claim the event, locate the ServiceTitan call (by id, by an earlier correlation, else by
//! numbers and time until a horizon), lock it, reconcile it with the desired record, write
//! only if it differs, and announce `call.confirmed` / `call.reclassified`.
//! `call.completed` reuses the locating half (`find_by_numbers`, `bind`).

use super::fencing::Fence;
use super::{Handled, Kind, Numbers, TenantCtx, Worker, busy, is_older, parse, seen, st_failure};
use crate::bookings;
use crate::keys;
use crate::ledger::Claim;
use crate::matching::{self, Match};
use crate::policy;
use async_nats::jetstream;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::Settle;
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_config::CallClass;
use switchboard_events::normalise::{format_rfc3339, parse_rfc3339};
use switchboard_events::{
    CallSyncData, CloudEvent, EventType, OutcomeData, ReclassifyRequestData, StCallState, StRefs,
};
use switchboard_servicetitan::CurrentCall;

/// A reclassification request is applied exactly like an agent outcome for that call id.
fn outcome_of_request(r: ReclassifyRequestData) -> OutcomeData {
    let provider_call_id = r
        .provider_call_id
        .unwrap_or_else(|| format!("st-{}", r.st_call_id));
    OutcomeData {
        reason: r.reason,
        tags: r.tags,
        servicetitan: StRefs {
            call_id: Some(r.st_call_id),
            job_id: r.job_id,
            appointment_id: None,
        },
        ..OutcomeData::new(r.requested_by, provider_call_id, r.outcome)
    }
}

fn state(c: &CurrentCall) -> StCallState {
    StCallState {
        call_type: c
            .call_type
            .map(|t| CallClass::from(t).servicetitan_name().to_owned()),
        reason: c.reason.as_ref().map(|r| r.name.clone()),
        reason_is_lead: c.reason.as_ref().map(|r| r.lead),
        tag: c.tag.clone(),
        job_id: c.job_id,
        excuse_memo: c.excuse_memo.clone(),
    }
}

/// How long the worker has been looking for an event's ServiceTitan call: measured from
/// when the event reached EVENTS, not from the event's own time, which a back-dated or
/// late-delivered event sets far in the past (it would be given up on at once).
fn looking_for(since: Timestamp) -> Duration {
    Timestamp::now()
        .duration_since(since)
        .try_into()
        .unwrap_or_default()
}

impl Worker {
    pub(super) async fn handle_outcome(&self, message: &jetstream::Message, kind: Kind) -> Settle {
        let parsed = match kind {
            Kind::Reclassify => parse::<ReclassifyRequestData>(message)
                .map(|(event, request)| (event, outcome_of_request(request))),
            _ => parse::<OutcomeData>(message),
        };
        let (event, outcome) = match parsed {
            Ok(p) => p,
            Err(dead) => return dead,
        };
        let Some(ctx) = self.tenant(&event.tenant) else {
            self.metrics.handled(kind, Handled::Skipped);
            return Settle::Ack; // no ServiceTitan or no policy for this tenant
        };
        let ctx = &*ctx;
        let claim = match self.ledger.claim(&event.id).await {
            Ok(c) => c,
            // The ledger lives on NATS: unreachable is transient.
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let token = match claim {
            Claim::Done => {
                self.metrics.handled(kind, Handled::AlreadyDone);
                return Settle::Ack;
            }
            Claim::Busy => return busy("the event"),
            Claim::Acquired(t) => t,
        };
        let mut token = token;
        let settle = self
            .apply_outcome(ctx, &event, &outcome, &mut token, seen(message))
            .await;
        match &settle {
            Settle::Ack => {
                self.settle_claim(&event.id, token, true).await;
                self.metrics.handled(kind, Handled::Applied);
            }
            _ => {
                self.settle_claim(&event.id, token, false).await;
            }
        }
        settle
    }

    async fn locate(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        since: Timestamp,
    ) -> Result<i64, Settle> {
        if let Some(id) = o.servicetitan.call_id {
            return Ok(id);
        }
        // A call.completed for the same call may have located it already.
        let correlation = keys::correlation(&event.tenant, &o.provider, &o.provider_call_id);
        if let Ok(Some((_, id))) = self.ledger.read(&correlation).await
            && let Ok(id) = id.parse()
        {
            return Ok(id);
        }
        let (Some(from), Some(to), Some(started)) = (&o.from, &o.to, &o.started_at) else {
            return Err(Settle::DeadLetter {
                reason: "cannot_locate".into(),
                error: "the outcome has neither servicetitan.call_id nor from, to and started_at"
                    .into(),
            });
        };
        let me = keys::owner(&o.provider, &o.provider_call_id);
        let id = self
            .find_by_numbers(ctx, event, Numbers { from, to, started }, &me, since)
            .await?;
        match self.bind(&event.tenant, &me, &correlation, id).await {
            Ok(true) => Ok(id),
            // Another of the agent's calls took it first: look again later.
            Ok(false) => Err(Settle::retry(
                self.retry_delay,
                format!("ServiceTitan call {id} is already another call's; looking again"),
            )),
            Err(e) => Err(Settle::retry(self.retry_delay, format!("ledger: {e}"))),
        }
    }

    /// Records that provider call `me` is ServiceTitan call `id` — unless `id` is already
    /// another provider call's (say, the caller's previous call, found because ServiceTitan
    /// had not recorded this one yet). Both directions, compare-and-set.
    pub(super) async fn bind(
        &self,
        tenant: &str,
        me: &str,
        correlation: &str,
        id: i64,
    ) -> Result<bool, crate::ledger::LedgerError> {
        let reverse = keys::correlation_owner(tenant, id);
        let owner = match self.ledger.read(&reverse).await? {
            Some((_, owner)) => owner,
            None => match self.ledger.write_if(&reverse, 0, me.to_owned()).await? {
                Some(_) => me.to_owned(),
                None => self
                    .ledger
                    .read(&reverse)
                    .await?
                    .map(|(_, o)| o)
                    .unwrap_or_default(),
            },
        };
        if owner != me {
            return Ok(false);
        }
        self.ledger.write_if(correlation, 0, id.to_string()).await?;
        Ok(true)
    }

    /// The one ServiceTitan call from `from` to `to` near `started` (v3 calls list).
    pub(super) async fn find_by_numbers(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        numbers: Numbers<'_>,
        me: &str,
        since: Timestamp,
    ) -> Result<i64, Settle> {
        let Numbers { from, to, started } = numbers;
        // The query keeps the offset `started` was written with, as it always has.
        let Some((start, offset)) = parse_rfc3339(started) else {
            return Err(Settle::DeadLetter {
                reason: "cannot_locate".into(),
                error: format!("started_at `{started}` is not RFC 3339"),
            });
        };
        let window = SignedDuration::from_secs(self.window_secs);
        let fmt = |t: Timestamp| format_rfc3339(t, offset).unwrap_or_default();
        let query = vec![
            ("callerPhoneNumber", from.to_owned()),
            // Saturating: a start near the end of time must not panic the handler.
            (
                "createdOnOrAfter",
                fmt(start.saturating_sub(window).unwrap_or(start)),
            ),
            (
                "createdBefore",
                fmt(start
                    .saturating_add(window + SignedDuration::from_hours(1))
                    .unwrap_or(start)),
            ),
            ("pageSize", "200".to_owned()),
        ];
        let page = ctx
            .client
            .list_calls(query)
            .await
            .map_err(|e| st_failure(&e, self.retry_delay))?;
        // Calls already bound to another of the agent's calls are not candidates.
        let mut candidates = Vec::with_capacity(page.data.len());
        for call in page.data {
            let owner = self
                .ledger
                .read(&keys::correlation_owner(&event.tenant, call.lead_call.id))
                .await
                .map_err(|e| Settle::retry(self.retry_delay, format!("ledger: {e}")))?;
            if owner.is_none_or(|(_, o)| o == me) {
                candidates.push(call);
            }
        }
        match matching::find(&candidates, from, to, started, self.window_secs) {
            Match::One(id) => Ok(id),
            Match::Ambiguous(ids) => Err(Settle::DeadLetter {
                reason: "ambiguous_call".into(),
                error: format!(
                    "several ServiceTitan calls from {from} to {to} near {started}: {ids:?}"
                ),
            }),
            Match::None if looking_for(since) < self.horizon => Err(Settle::retry(
                self.retry_delay,
                format!("no ServiceTitan call from {from} to {to} near {started} yet"),
            )),
            Match::None => Err(Settle::DeadLetter {
                reason: "call_not_found".into(),
                error: format!(
                    "no ServiceTitan call from {from} to {to} near {started} after {:?}",
                    self.horizon
                ),
            }),
        }
    }

    async fn apply_outcome(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        claim: &mut u64,
        since: Timestamp,
    ) -> Settle {
        // An earlier delivery wrote ServiceTitan but could not announce it: announce it now.
        if let Ok(Some((_, written))) = self.ledger.read(&keys::written(&event.id)).await
            && let Ok(data) = serde_json::from_str::<CallSyncData>(&written)
        {
            let subject = Some(data.st_call_id.to_string());
            return match self
                .publish(event, EventType::CallReclassified, subject, &data)
                .await
            {
                Ok(()) => {
                    self.remember_applied(event, data.st_call_id).await;
                    Settle::Ack
                }
                Err(e) => Settle::retry(
                    self.retry_delay,
                    format!("publishing call.reclassified: {e:#}"),
                ),
            };
        }
        let with_job;
        let o = match self.booked_through_tools(event, o).await {
            Ok(Some(job)) => {
                with_job = OutcomeData {
                    servicetitan: StRefs {
                        job_id: Some(job),
                        ..o.servicetitan.clone()
                    },
                    ..o.clone()
                };
                &with_job
            }
            Ok(None) => o,
            Err(settle) => return settle,
        };
        let call_id = match self.locate(ctx, event, o, since).await {
            Ok(id) => id,
            Err(settle) => return settle,
        };
        // One writer per call at a time.
        let lock_key = keys::call_lock(&event.tenant, call_id);
        let mut lock = match self.ledger.claim(&lock_key).await {
            Ok(Claim::Acquired(t)) => t,
            Ok(_) => return busy("the call"),
            Err(e) => return Settle::retry(self.retry_delay, format!("ledger: {e}")),
        };
        let fence = Fence {
            event_key: &event.id,
            claim,
            lock_key: &lock_key,
            lock: &mut lock,
        };
        let settle = self.reconcile(ctx, event, o, call_id, fence, since).await;
        self.settle_claim(&lock_key, lock, false).await;
        settle
    }

    /// For an agent's `booked` outcome without `servicetitan.job_id`: the job the booking
    /// service booked during this call (its `job.booked` events), if any.
    async fn booked_through_tools(
        &self,
        event: &CloudEvent,
        o: &OutcomeData,
    ) -> Result<Option<i64>, Settle> {
        if o.outcome != CallClass::Booked
            || o.servicetitan.job_id.is_some()
            || event.kind != EventType::CallOutcome.as_str()
        {
            return Ok(None);
        }
        // From the call's start; without one, from well before the report (calls are
        // rarely hours long).
        let started = o
            .started_at
            .as_deref()
            .and_then(parse_rfc3339)
            .map(|(t, _)| t)
            .or_else(|| {
                let reported = parse_rfc3339(&event.time)?.0;
                reported.checked_sub(SignedDuration::from_hours(5)).ok()
            })
            .unwrap_or_else(Timestamp::now);
        match bookings::booked_during(&self.js, &event.tenant, &o.provider_call_id, started).await {
            Ok(job) => {
                if job.is_some() {
                    self.metrics.linked_bookings.inc();
                }
                Ok(job)
            }
            Err(e) => Err(Settle::retry(
                self.retry_delay,
                format!(
                    "finding the job booked during call {}: {e}",
                    o.provider_call_id
                ),
            )),
        }
    }

    async fn reconcile(
        &self,
        ctx: &TenantCtx,
        event: &CloudEvent,
        o: &OutcomeData,
        call_id: i64,
        fence: Fence<'_>,
        since: Timestamp,
    ) -> Settle {
        let mut current = None;
        let mut modified_on = None;
        for attempt in 0..2 {
            let export = match self.mirror.get(&event.tenant, call_id).await {
                Ok(Some(e)) => e,
                Ok(None) if attempt == 0 => {
                    // Not mirrored yet: follow the export now. If that fails, "not found"
                    // would be a guess; try again later instead.
                    if let Err(e) = self.mirror.sync(&event.tenant, &ctx.client).await {
                        return Settle::retry(
                            self.retry_delay,
                            format!("following the call export for call {call_id}: {e}"),
                        );
                    }
                    continue;
                }
                Ok(None) if looking_for(since) < self.horizon => {
                    return Settle::retry(
                        self.retry_delay,
                        format!("ServiceTitan call {call_id} is not in the call export yet"),
                    );
                }
                Ok(None) => {
                    return Settle::DeadLetter {
                        reason: "call_not_found".into(),
                        error: format!(
                            "ServiceTitan call {call_id} never appeared in the call export"
                        ),
                    };
                }
                Err(e) => return Settle::retry(self.retry_delay, format!("export mirror: {e}")),
            };
            // The mirrored location saves two CRM reads; unknown yet → the client reads it.
            let location = match &export.location {
                Some(l) => self
                    .mirror
                    .location(&event.tenant, l.id)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            match ctx.client.current_call_with(&export, location).await {
                Ok(c) => {
                    current = Some(c);
                    modified_on = Some(export.modified_on.clone());
                    break;
                }
                // A stale export record: follow the export and read again.
                Err(e) if e.is_transient() && attempt == 0 => {
                    let _ = self.mirror.sync(&event.tenant, &ctx.client).await;
                }
                Err(e) => return st_failure(&e, self.retry_delay),
            }
        }
        let Some(current) = current else {
            return Settle::retry(
                self.retry_delay,
                format!("ServiceTitan call {call_id}'s export record is stale"),
            );
        };
        // A newer outcome for this call wins over an older one delivered late.
        let applied_key = keys::applied(&event.tenant, call_id);
        let applied = self.ledger.read(&applied_key).await.ok().flatten();
        if let Some((_, newer)) = &applied
            && is_older(&event.time, newer)
        {
            let kind = if event.kind == EventType::CallReclassifyRequested.as_str() {
                Kind::Reclassify
            } else {
                Kind::Outcome
            };
            self.metrics.handled(kind, Handled::Superseded);
            return Settle::Ack;
        }
        let before = state(&current);
        let (kind, after) = match policy::desired_change(&current, o, &ctx.policy) {
            None => {
                self.metrics.skipped_correct.inc();
                (EventType::CallConfirmed, before.clone())
            }
            Some(change) => {
                // Fencing: renew the event claim and the call lock right before writing.
                // If either was taken over (this worker stalled past lock_stale_secs and
                // another replica took the work), do not write: the other one will.
                if !self.renew(fence).await {
                    return Settle::retry(
                        self.retry_delay,
                        "lost the claim before writing (another replica took it over)",
                    );
                }
                match ctx.client.update_call(&current, &change).await {
                    Ok(written) => modified_on = Some(written.modified_on),
                    Err(e) => return st_failure(&e, self.retry_delay),
                }
                self.metrics.writes.inc();
                let after = state(&current.apply(&change).expect("validated by update_call"));
                (EventType::CallReclassified, after)
            }
        };
        let data = CallSyncData {
            outcome_event_id: event.id.clone(),
            provider_call_id: o.provider_call_id.clone(),
            st_call_id: call_id,
            before,
            after,
            st_modified_on: modified_on,
        };
        if kind == EventType::CallReclassified {
            // ServiceTitan is written: remember what was done before announcing it, so a
            // retry after a failed publish announces this write (with its `before`) rather
            // than recompute against the updated call and call it merely confirmed.
            let written = serde_json::to_string(&data).expect("CallSyncData serializes");
            if let Err(e) = self
                .ledger
                .write_if(&keys::written(&event.id), 0, written)
                .await
            {
                tracing::warn!(error = %e, event = %event.id, "could not record the write in the ledger");
            }
        }
        if let Err(e) = self
            .publish(event, kind, Some(call_id.to_string()), &data)
            .await
        {
            return Settle::retry(self.retry_delay, format!("publishing {kind:?}: {e}"));
        }
        self.remember_applied(event, call_id).await;
        Settle::Ack
    }

    /// Records `event`'s time as the call's last applied outcome, unless a newer one is
    /// there already, so an older outcome delivered later cannot overwrite it.
    async fn remember_applied(&self, event: &CloudEvent, call_id: i64) {
        let key = keys::applied(&event.tenant, call_id);
        for _ in 0..10 {
            let Ok(current) = self.ledger.read(&key).await else {
                return;
            };
            if let Some((_, newer)) = &current
                && !is_older(newer, &event.time)
            {
                return;
            }
            let revision = current.map_or(0, |(seq, _)| seq);
            match self
                .ledger
                .write_if(&key, revision, event.time.clone())
                .await
            {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => continue,
            }
        }
    }

    /// Publishes a follow-up event with an id derived from the triggering event's. EVENTS
    /// can be briefly without a leader (a cluster node died): the publish is tried again
    /// for up to 10 s (the id deduplicates a repeat that did land) before the event is
    /// retried as a whole.
    async fn publish<T: serde::Serialize>(
        &self,
        cause: &CloudEvent,
        kind: EventType,
        subject: Option<String>,
        data: &T,
    ) -> anyhow::Result<()> {
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: switchboard_events::event_id(&format!("{}/calls", cause.id), 0),
            source: format!("/switchboard/{}/calls", cause.tenant),
            kind: kind.as_str().into(),
            subject,
            time: cause.time.clone(),
            datacontenttype: "application/json".into(),
            tenant: cause.tenant.clone(),
            inboundid: cause.inboundid.clone(),
            data: serde_json::to_value(data)?,
        };
        let payload = bytes::Bytes::from(serde_json::to_vec(&event)?);
        let nats_subject = switchboard_bus::events_subject(&cause.tenant, kind.as_str());
        let (event, payload, nats_subject) = (&event, &payload, &nats_subject);
        (move || async move {
            let publish = switchboard_bus::traced(
                jetstream::message::PublishMessage::build()
                    .payload(payload.clone())
                    .message_id(event.id.clone())
                    .expected_stream(switchboard_bus::EVENTS_STREAM),
            );
            self.js
                .send_publish(nats_subject.clone(), publish)
                .await?
                .await?;
            Ok::<_, anyhow::Error>(())
        })
        .retry(retry::patience(
            Duration::from_secs(10),
            Duration::from_millis(100),
            Duration::from_secs(2),
        ))
        .notify(|e, _| tracing::debug!(error = %e, "EVENTS not accepting yet; publishing again"))
        .await
    }
}
