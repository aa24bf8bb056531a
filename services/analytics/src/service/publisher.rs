//! The publisher: debounced, it recomputes the days the projection marked and publishes
//! each snapshot (stream and bucket) and each new or resolved discrepancy. What was
//! published is kept in `ANALYTICS_STATE` and claimed with compare-and-set, so a restart
//! or a second replica announces nothing twice.

use super::streams::{
    DiscrepancyMessage, DiscrepancyStatus, discrepancy_subject, snapshot_subject,
};
use super::{Opened, Service, Tenant, keys, now_rfc3339};
use crate::CallKey;
use crate::rates::{Discrepancy, Snapshot};
use anyhow::Context as _;
use async_nats::jetstream;
use futures_util::TryStreamExt;
use jiff::civil::Date;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use switchboard_bus::async_nats;

impl Service {
    async fn load_published(&self) -> anyhow::Result<()> {
        for tenant in self.tenants().values() {
            for (prefix, is_disc) in [
                (keys::discrepancies(&tenant.name), true),
                (keys::all_asked(&tenant.name), false),
            ] {
                let mut watch = self.state.watch(&prefix).await?;
                loop {
                    let step = watch.next().await?;
                    if let Some(entry) = step.entry
                        && let Some(value) = entry.value
                    {
                        let mut st = tenant.lock();
                        if is_disc {
                            if let Ok(o) = serde_json::from_slice::<Opened>(&value) {
                                st.published
                                    .insert(o.discrepancy.call.as_str().to_owned(), o);
                            }
                        } else if let Some((call, signature)) =
                            String::from_utf8_lossy(&value).split_once('\n')
                        {
                            st.asked.insert(call.to_owned(), signature.to_owned());
                        }
                    }
                    if step.caught_up {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) async fn publish_loop(&self) -> anyhow::Result<()> {
        while !self.caught_up.load(Ordering::Acquire) {
            self.changed.notified().await;
        }
        self.load_published().await?;
        // After a restart, republish every day: the previous run may have stopped between
        // storing a fact and publishing its day.
        for tenant in self.tenants().values() {
            let mut st = tenant.lock();
            let days: Vec<Date> = st.engine.days().collect();
            st.dirty.extend(days);
        }
        loop {
            for tenant in self.tenants().values() {
                let started = std::time::Instant::now();
                if let Err(e) = self.publish_tenant(tenant).await {
                    tracing::warn!(tenant = %tenant.name, error = %e, "publishing failed; will retry");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    self.changed.notify_one();
                }
                self.metrics
                    .publish_latency
                    .observe(started.elapsed().as_secs_f64());
                if let Err(e) = self.ask_due(tenant).await {
                    tracing::warn!(tenant = %tenant.name, error = %e, "reclassification request failed; will retry");
                }
            }
            // Woken by a change, or once a second so grace periods expire on time.
            if tokio::time::timeout(Duration::from_secs(1), self.changed.notified())
                .await
                .is_ok()
                && !self.debounce.is_zero()
            {
                tokio::time::sleep(self.debounce).await;
            }
        }
    }

    /// Recomputes the tenant's changed days and publishes what changed.
    pub(crate) async fn publish_tenant(&self, tenant: &Tenant) -> anyhow::Result<()> {
        let (days, changed, full, snapshots, opened, resolved) = {
            let mut guard = tenant.lock();
            let st = &mut *guard;
            let days = std::mem::take(&mut st.dirty);
            let changed = std::mem::take(&mut st.changed);
            let full = std::mem::replace(&mut st.full, false);
            if days.is_empty() && changed.is_empty() {
                return Ok(());
            }
            let snapshots: Vec<Snapshot> = days.iter().map(|d| st.engine.snapshot(*d)).collect();
            let mut opened = Vec::new();
            let mut resolved = Vec::new();
            let st_id = |call: &str| st.st_ids.get(call).copied();
            if full {
                // Every call of every dirty day against what was published.
                for day in &days {
                    let now: HashMap<String, Discrepancy> = st
                        .engine
                        .discrepancies(*day)
                        .into_iter()
                        .map(|d| (d.call.as_str().to_owned(), d))
                        .collect();
                    for (call, d) in &now {
                        if st.published.get(call).map(|o| &o.discrepancy) != Some(d) {
                            opened.push((d.clone(), st_id(call)));
                        }
                    }
                    for (call, o) in &st.published {
                        if o.discrepancy.date == *day && !now.contains_key(call) {
                            resolved.push((o.discrepancy.clone(), st_id(call)));
                        }
                    }
                }
            } else {
                // Only the calls that changed.
                for call in &changed {
                    let key = CallKey::new(&**call);
                    let now = st
                        .engine
                        .get(&key)
                        .and_then(|f| crate::discrepancy_of(&tenant.zone, &key, &f));
                    match (now, st.published.get(&**call)) {
                        (Some(d), Some(o)) if o.discrepancy == d => {}
                        (Some(d), _) => opened.push((d, st_id(call))),
                        (None, Some(o)) => resolved.push((o.discrepancy.clone(), st_id(call))),
                        (None, None) => {}
                    }
                }
            }
            (days, changed, full, snapshots, opened, resolved)
        };
        let result = self
            .publish_changes(tenant, &snapshots, &opened, &resolved)
            .await;
        if result.is_err() {
            let mut st = tenant.lock();
            st.dirty.extend(days);
            st.changed.extend(changed);
            st.full |= full;
        }
        result
    }

    async fn publish_changes(
        &self,
        tenant: &Tenant,
        snapshots: &[Snapshot],
        opened: &[(Discrepancy, Option<i64>)],
        resolved: &[(Discrepancy, Option<i64>)],
    ) -> anyhow::Result<()> {
        let name = &tenant.name;
        for snapshot in snapshots {
            let body = serde_json::to_vec(snapshot)?;
            // No message id: a day can legitimately go A → B → A, and the stream keeps the
            // latest per subject, so a repeated publish must never be dropped as a duplicate.
            let key = keys::snapshot(name, snapshot.date);
            let (published, stored) = tokio::join!(
                self.publish(snapshot_subject(name, snapshot.date), None, body.clone()),
                self.snapshots.put(&key, body)
            );
            published?;
            stored?;
            self.metrics.snapshots.inc();
        }
        // Calls are independent (each is in at most one list per pass): announce up to 32
        // at a time — a first start can have tens of thousands.
        for (items, status) in [
            (resolved, DiscrepancyStatus::Resolved),
            (opened, DiscrepancyStatus::Open),
        ] {
            futures_util::stream::iter(items.iter().map(Ok::<_, anyhow::Error>))
                .try_for_each_concurrent(32, |(d, st_call_id)| {
                    self.settle(tenant, d, *st_call_id, status)
                })
                .await?;
        }
        Ok(())
    }

    /// Moves `d`'s `disc.*` record to `status` — open: recorded, with when it was first
    /// seen; resolved: deleted — and announces the change if this call made it: with
    /// several replicas, exactly one does. Then the tenant's own view follows.
    async fn settle(
        &self,
        tenant: &Tenant,
        d: &Discrepancy,
        st_call_id: Option<i64>,
        status: DiscrepancyStatus,
    ) -> anyhow::Result<()> {
        let name = &tenant.name;
        let call = d.call.as_str();
        let opened = match status {
            DiscrepancyStatus::Open => Some(Opened {
                discrepancy: d.clone(),
                opened_at: tenant
                    .lock()
                    .published
                    .get(call)
                    .map_or_else(jiff::Timestamp::now, |o| o.opened_at),
            }),
            DiscrepancyStatus::Resolved => None,
        };
        let key = keys::discrepancy(name, call);
        if self.claim_state(&key, opened.as_ref()).await? {
            self.announce(name, d, st_call_id, status).await?;
        }
        match opened {
            Some(opened) => {
                tenant.lock().published.insert(call.to_owned(), opened);
            }
            None => {
                let asked = tenant.lock().asked.remove(call).is_some();
                if asked {
                    self.state.delete(&keys::asked(name, call)).await?;
                }
                tenant.lock().published.remove(call);
            }
        }
        Ok(())
    }

    /// Publishes one discrepancy message and counts it. The message id lets JetStream drop
    /// a second copy: an open message is unique per its content, a resolution per the
    /// episode it ends (`d.since`).
    async fn announce(
        &self,
        name: &str,
        d: &Discrepancy,
        st_call_id: Option<i64>,
        status: DiscrepancyStatus,
    ) -> anyhow::Result<()> {
        let message = DiscrepancyMessage {
            tenant: name.to_owned(),
            status,
            discrepancy: d.clone(),
            st_call_id,
            resolved_at: (status == DiscrepancyStatus::Resolved).then(now_rfc3339),
        };
        let body = serde_json::to_vec(&message)?;
        let call = d.call.as_str();
        let id = match status {
            DiscrepancyStatus::Open => keys::open_message_id(name, call, fnv(&body)),
            DiscrepancyStatus::Resolved => keys::resolved_message_id(name, call, d.since),
        };
        self.publish(discrepancy_subject(name), Some(id), body)
            .await?;
        self.metrics.discrepancy(status);
        Ok(())
    }

    /// Moves `disc.*` record `key` to `wanted` (`None`: resolved, deleted) with
    /// compare-and-set. True if this call made the change — the caller then announces it;
    /// false if the record already says so (another replica got there first).
    async fn claim_state(&self, key: &str, wanted: Option<&Opened>) -> anyhow::Result<bool> {
        for _ in 0..20 {
            let (current, revision) = self.state.get(key).await?;
            let current: Option<Opened> = current.and_then(|v| serde_json::from_slice(&v).ok());
            let same = match (&current, wanted) {
                (None, None) => true,
                (Some(c), Some(w)) => c.discrepancy == w.discrepancy,
                _ => false,
            };
            if same {
                return Ok(false);
            }
            let done = match wanted {
                Some(w) => self
                    .state
                    .update(key, serde_json::to_vec(w)?, revision)
                    .await?
                    .is_some(),
                None => self.state.delete_if(key, revision).await?,
            };
            if done {
                return Ok(true);
            }
        }
        anyhow::bail!("state record {key}: too many concurrent writers")
    }

    /// Publishes and waits for the ack; `msg_id` (if any) lets JetStream drop a duplicate
    /// published by another replica within the dedup window.
    pub(super) async fn publish(
        &self,
        subject: String,
        msg_id: Option<String>,
        body: Vec<u8>,
    ) -> anyhow::Result<()> {
        let mut publish = switchboard_bus::traced(
            jetstream::message::PublishMessage::build().payload(body.into()),
        );
        if let Some(id) = msg_id {
            publish = publish.message_id(id);
        }
        self.js
            .send_publish(subject, publish)
            .await
            .context("publish")?
            .await
            .context("publish ack")?;
        Ok(())
    }
}

/// A short stable hash (FNV-1a) for content-derived message ids.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
