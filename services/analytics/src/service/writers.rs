//! The writers: the EVENTS consumer and the sweep of each tenant's ServiceTitan call
//! export, both merging what they learn into the facts bucket with compare-and-set. This
//! is the only code that writes facts; merges are idempotent, so retries are safe.

use super::metrics::Handled;
use super::streams::HISTORY_DAYS;
use super::{Service, Tenant, keys};
use crate::CallKey;
use crate::translate::{self, FactChange, StoredFacts, st_key};
use anyhow::Context as _;
use async_nats::jetstream;
use serde::Deserialize;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::consumer::{Handler, Settle, Settled};
use switchboard_events::CloudEvent;
use switchboard_servicetitan::TenantClient;

/// The EVENTS consumer: merge what each event says into the facts bucket.
impl Handler for Service {
    async fn handle(&self, message: &jetstream::Message) -> Settle {
        let event = match serde_json::from_slice::<CloudEvent>(&message.payload) {
            Ok(e) => e,
            Err(e) => return Settle::dead_letter("malformed", format!("not a CloudEvent: {e}")),
        };
        let kind = event.kind.as_str();
        if !self.tenants().contains_key(&event.tenant) {
            self.metrics.handled(kind, Handled::Skipped);
            return Settle::Ack;
        }
        let changes = match translate::changes(&event) {
            Ok(changes) => changes,
            Err(e) => return Settle::dead_letter("malformed", e.0),
        };
        if changes.is_empty() {
            self.metrics.handled(kind, Handled::Ignored);
            return Settle::Ack;
        }
        for change in &changes {
            if let Err(e) = self.merge(&event.tenant, change).await {
                let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
                // 1 s, 2 s, 4 s … up to a minute.
                let delay = Duration::from_secs(1u64 << delivered.clamp(1, 7).saturating_sub(1))
                    .min(Duration::from_secs(60));
                return Settle::retry(delay, format!("could not store its facts: {e:#}"));
            }
        }
        self.metrics.handled(kind, Handled::Used);
        Settle::Ack
    }

    fn settled(&self, message: &jetstream::Message, settled: Settled) {
        let result = match settled {
            Settled::Acked => return, // counted by `handle` (used, ignored, skipped)
            Settled::Retried => Handled::Retried,
            Settled::DeadLettered => Handled::DeadLettered,
        };
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: String,
        }
        let kind = serde_json::from_slice::<Kind>(&message.payload)
            .map_or_else(|_| "-".to_owned(), |k| k.kind);
        self.metrics.handled(&kind, result);
    }
}

impl Service {
    /// Read, merge, compare-and-set; retried when another writer got there first.
    pub(super) async fn merge(&self, tenant: &str, change: &FactChange) -> anyhow::Result<()> {
        let key = keys::facts(tenant, &change.call);
        // A call this replica has never seen is most likely new: try to create its record
        // without reading first (one round trip less); compare-and-set makes it safe.
        if !self.known(tenant, change) {
            let mut stored = StoredFacts::default();
            change.merge_into(&mut stored);
            if self
                .facts
                .update(&key, serde_json::to_vec(&stored)?, 0)
                .await?
                .is_some()
            {
                self.metrics.facts_written.inc();
                return Ok(());
            }
        }
        for _ in 0..50 {
            let (value, revision) = self.facts.get(&key).await?;
            let mut stored: StoredFacts = match value {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .with_context(|| format!("facts record {key} is not readable"))?,
                None => StoredFacts::default(),
            };
            if !change.merge_into(&mut stored) {
                return Ok(());
            }
            if self
                .facts
                .update(&key, serde_json::to_vec(&stored)?, revision)
                .await?
                .is_some()
            {
                self.metrics.facts_written.inc();
                return Ok(());
            }
        }
        anyhow::bail!("facts record {key}: too many concurrent writers")
    }

    /// Whether the projection has seen `change`'s call (if not, it is probably new).
    fn known(&self, tenant: &str, change: &FactChange) -> bool {
        let Some(t) = self.tenant(tenant) else {
            return true;
        };
        let st = t.lock();
        match change.st_call_id {
            Some(id) if change.call == st_key(id) => {
                st.links.contains_key(&id) || st.unlinked.contains_key(&id)
            }
            _ => {
                st.st_ids.contains_key(change.call.as_str())
                    || st.engine.get(&CallKey::new(change.call.as_str())).is_some()
            }
        }
    }

    pub(super) async fn sweep_loop(&self, tenant: &Tenant) {
        let Some(client) = &tenant.st else {
            return std::future::pending().await;
        };
        loop {
            if let Err(e) = self.sweep(&tenant.name, client).await {
                tracing::warn!(tenant = %tenant.name, error = %e, "export sweep failed; will retry");
            }
            tokio::time::sleep(self.sweep_every).await;
        }
    }

    /// One pass over the tenant's call export, page by page from the saved cursor; the
    /// cursor is saved after each page's records are stored.
    pub(crate) async fn sweep(&self, tenant: &str, client: &TenantClient) -> anyhow::Result<usize> {
        let cursor_key = keys::cursor(tenant);
        let mut cursor = self
            .state
            .get(&cursor_key)
            .await?
            .0
            .and_then(|b| String::from_utf8(b).ok());
        let mut records = 0;
        loop {
            let page = client.export_calls(cursor.as_deref(), true).await?;
            let advanced = cursor.as_deref() != Some(page.continue_from.as_str());
            // The first sweep walks the whole export history; calls older than the API can
            // show are not kept.
            let oldest =
                jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * HISTORY_DAYS);
            for call in &page.data {
                if let Some(change) = translate::from_export(call)
                    && change
                        .servicetitan
                        .as_ref()
                        .is_some_and(|v| v.started_at >= oldest)
                {
                    self.merge(tenant, &change).await?;
                }
            }
            records += page.data.len();
            self.metrics.sweep_records.inc_by(page.data.len() as u64);
            if advanced {
                self.state
                    .put(&cursor_key, page.continue_from.clone().into_bytes())
                    .await?;
            }
            let done = !page.has_more || (page.data.is_empty() && !advanced);
            cursor = Some(page.continue_from);
            if done {
                return Ok(records);
            }
        }
    }
}
