//! The projection: every replica watches the whole facts bucket into an in-memory
//! [`Engine`] per tenant, marks the days and calls each change touches for the publisher,
//! and copies ServiceTitan's view across a call's link when either side arrives second.

use super::{Service, Tenant, keys};
use crate::translate::{FactChange, StoredFacts, st_key};
use crate::{CallKey, Engine, Update};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Service {
    /// Follows the facts bucket for ever; a broken watch (NATS restarted, say) is
    /// re-opened, which re-reads the current facts — harmless, merges are idempotent.
    pub(super) async fn project(&self) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.project_once().await {
                tracing::warn!(error = %e, "the facts watch broke; re-opening it");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn project_once(&self) -> anyhow::Result<()> {
        let mut watch = self.facts.watch("").await?;
        for tenant in self.tenants().values() {
            tenant.lock().full = true; // everything is read again: scan whole days
        }
        loop {
            let step = watch.next().await?;
            if let Some(entry) = step.entry
                && let Some(value) = entry.value
            {
                let tenant_name = keys::tenant_of_facts(&entry.key);
                let Some(tenant) = self.tenant(tenant_name) else {
                    continue; // a tenant removed from the config
                };
                let Ok(stored) = serde_json::from_slice::<StoredFacts>(&value) else {
                    tracing::warn!(key = %entry.key, "unreadable facts record skipped");
                    continue;
                };
                let repairs = Self::apply(&tenant, stored);
                for change in repairs {
                    if let Err(e) = self.merge(&tenant.name, &change).await {
                        tracing::warn!(error = %e, "could not copy ServiceTitan's view across a link; will retry");
                        // Keep the view so the next record of either side tries again.
                        if let (Some(id), Some(view)) = (change.st_call_id, change.servicetitan) {
                            let mut st = tenant.lock();
                            let keep = st.unlinked.get(&id).is_none_or(|c| view.supersedes(c));
                            if keep {
                                st.unlinked.insert(id, view);
                            }
                        }
                    }
                }
                self.changed.notify_one();
            }
            if step.caught_up && !self.caught_up.swap(true, Ordering::AcqRel) {
                tracing::info!("per-call facts loaded");
                self.changed.notify_one();
            }
        }
    }

    /// Applies one stored record to the tenant's engine; returns the merges that copy
    /// ServiceTitan's view onto the agent's key when the link and the view met here.
    fn apply(tenant: &Tenant, stored: StoredFacts) -> Vec<FactChange> {
        let mut st = tenant.lock();
        let st = &mut *st;
        let copy = |agent_key: &str, id: i64, view: crate::StView| FactChange {
            call: agent_key.to_owned(),
            st_call_id: Some(id),
            agent: None,
            servicetitan: Some(view),
        };
        let newer_than_agents = |engine: &Engine, agent_key: &str, view: &crate::StView| {
            engine
                .get(&CallKey::new(agent_key))
                .and_then(|f| f.servicetitan)
                .is_none_or(|current| view.supersedes(&current))
        };
        let mut repairs = Vec::new();
        if let Some(id) = stored.st_call_id
            && stored.call == st_key(id)
        {
            // ServiceTitan's side: onto the linked agent call if newer there, else kept
            // until a link arrives.
            let Some(view) = stored.facts.servicetitan else {
                return repairs;
            };
            match st.links.get(&id) {
                Some(agent_key) => {
                    if newer_than_agents(&st.engine, agent_key, &view) {
                        repairs.push(copy(agent_key, id, view));
                    }
                }
                None => {
                    let keep = st
                        .unlinked
                        .get(&id)
                        .is_none_or(|current| view.supersedes(current));
                    if keep {
                        st.unlinked.insert(id, view);
                    }
                }
            }
            return repairs;
        }
        let key = CallKey::new(stored.call.clone());
        let mut days = Vec::new();
        if let Some(view) = stored.facts.agent.clone() {
            days.extend(st.engine.apply(Update::Agent {
                call: key.clone(),
                view,
            }));
        }
        if let Some(view) = stored.facts.servicetitan.clone() {
            days.extend(st.engine.apply(Update::ServiceTitan { call: key, view }));
        }
        if !days.is_empty() && !st.full {
            st.changed.insert(Arc::from(stored.call.as_str()));
        }
        st.dirty.extend(days);
        if let Some(id) = stored.st_call_id {
            if st.st_ids.get(stored.call.as_str()) != Some(&id) {
                let shared: Arc<str> = Arc::from(stored.call.as_str());
                st.st_ids.insert(shared.clone(), id);
                st.links.insert(id, shared);
            }
            if let Some(view) = st.unlinked.remove(&id)
                && newer_than_agents(&st.engine, &stored.call, &view)
            {
                repairs.push(copy(&stored.call, id, view));
            }
        }
        repairs
    }
}
