//! Reclassification requests, per tenant's `auto_reclassify`: once an open discrepancy
//! has outlived the grace period, ask the calls worker (or, in dry-run, just publish) to
//! make ServiceTitan match the agent. Kept apart from the publisher because it is policy
//! (which calls, when, never twice), not the announcing of figures.

use super::streams::dry_run_subject;
use super::{Service, Tenant, keys, now_rfc3339};
use crate::rates::Discrepancy;
use std::time::Duration;
use switchboard_config::AutoReclassify;
use switchboard_events::{CloudEvent, EventType, ReclassifyRequestData};

impl Service {
    /// Requests for the open discrepancies whose grace period has passed.
    pub(super) async fn ask_due(&self, tenant: &Tenant) -> anyhow::Result<()> {
        if tenant.auto == AutoReclassify::Off {
            return Ok(());
        }
        let now = jiff::Timestamp::now();
        let due: Vec<(Discrepancy, i64)> = {
            let st = tenant.lock();
            st.published
                .values()
                .filter(|o| {
                    now.duration_since(o.opened_at)
                        .try_into()
                        .is_ok_and(|age: Duration| age >= self.grace)
                })
                .filter_map(|o| {
                    let call = o.discrepancy.call.as_str();
                    st.st_ids.get(call).map(|id| (o.discrepancy.clone(), *id))
                })
                .collect()
        };
        for (d, id) in due {
            self.maybe_request(tenant, &d, id).await?;
        }
        Ok(())
    }

    /// Asks the calls worker to make ServiceTitan match the agent — per the tenant's
    /// `auto_reclassify`, once the discrepancy has outlived the grace period, only where
    /// the agent's view is authoritative (its class is one the tenant's calls policy maps),
    /// and never twice for the same call state.
    async fn maybe_request(
        &self,
        tenant: &Tenant,
        d: &Discrepancy,
        st_call_id: i64,
    ) -> anyhow::Result<()> {
        if tenant.auto == AutoReclassify::Off {
            return Ok(());
        }
        // Authoritative only if the calls policy maps the agent's class — and pointless if
        // ServiceTitan already has what that mapping would write (a `call_type` override).
        match tenant.mapped.get(&d.agent) {
            None => return Ok(()),
            Some(target) if d.servicetitan == Some(*target) => return Ok(()),
            Some(_) => {}
        }
        let call = d.call.as_str();
        // The mode is part of the state: previewing a request (dry-run) must not stop the
        // real one once the tenant is switched on. (Persisted and hashed into the event id:
        // the `Debug` spellings — `DryRun`, `Booked`, `Some(NotLead)` — must not change.)
        let signature = format!(
            "{:?}|{:?}|{:?}|{}",
            tenant.auto, d.agent, d.servicetitan, d.since
        );
        if tenant.lock().asked.get(call) == Some(&signature) {
            return Ok(());
        }
        let name = &tenant.name;
        let data = ReclassifyRequestData {
            st_call_id,
            outcome: d.agent,
            reason: None,
            tags: Vec::new(),
            job_id: d.job_id,
            provider_call_id: Some(call.to_owned()),
            observed_call_type: d.servicetitan.map(|c| c.servicetitan_name().to_owned()),
            requested_by: "analytics".into(),
        };
        let id = switchboard_events::event_id(&format!("analytics/{name}/{call}/{signature}"), 0);
        let event = CloudEvent {
            specversion: "1.0".into(),
            id: id.clone(),
            source: format!("/switchboard/{name}/analytics"),
            kind: EventType::CallReclassifyRequested.as_str().into(),
            subject: Some(st_call_id.to_string()),
            time: now_rfc3339(),
            datacontenttype: "application/json".into(),
            tenant: name.clone(),
            inboundid: String::new(),
            data: serde_json::to_value(&data)?,
        };
        let body = serde_json::to_vec(&event)?;
        if tenant.auto == AutoReclassify::On {
            self.publish(
                switchboard_bus::events_subject(name, EventType::CallReclassifyRequested.as_str()),
                Some(id),
                body,
            )
            .await?;
        } else {
            self.publish(dry_run_subject(name), Some(id), body).await?;
        }
        self.state
            .put(
                &keys::asked(name, call),
                format!("{call}\n{signature}").into_bytes(),
            )
            .await?;
        tenant.lock().asked.insert(call.to_owned(), signature);
        // `on` or `dry-run` (`off` returned above).
        self.metrics.reclassify_request(tenant.auto);
        Ok(())
    }
}
