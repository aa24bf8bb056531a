//! ServiceTitan's export, mirrored into JetStream KV buckets.
//!
//! A call update must send back `excuseMemo`, `tag` and the location, which only the
//! export carries, and ServiceTitan records a call minutes after it happens. So the worker
//! follows each tenant's call export from a cursor it persists (bucket `ST_CURSORS`),
//! keeping the latest export record of every call (bucket `ST_CALLS`, key
//! `{tenant}.{call id}`). A restarted or second replica resumes from the saved cursor;
//! records are compare-and-set puts that an older record never wins.
//!
//! The update also sends back the call's location with its contacts. Reading them per
//! write would cost two more requests against the tenant's rate limit, so the worker
//! follows CRM's location and location-contact exports the same way, into one record per
//! location (bucket `ST_LOCATIONS`, key `{tenant}.{location id}`), merged field by field
//! by `modifiedOn` with compare-and-set, so replicas syncing at once cannot lose each
//! other's changes. A location whose contacts have not been seen yet is read from CRM.
//! The price: a contact changed in ServiceTitan less than one export poll before a write is
//! written back as it was (docs/servicetitan.md).

use crate::keys;
use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use switchboard_bus::async_nats;
use switchboard_bus::bucket::{Bucket, KvError};
use switchboard_events::normalise::parse_rfc3339;
use switchboard_servicetitan::models::{
    ExportCall, ExportLocationContact, Location, LocationContact,
};
use switchboard_servicetitan::{StError, TenantClient, export_all, export_all_calls};

/// KV bucket: the latest export record per call, key `{tenant}.{call id}`.
pub const CALLS_BUCKET: &str = "ST_CALLS";
/// KV bucket: export cursors, key `{tenant}.calls`, `{tenant}.locations`, `{tenant}.contacts`.
pub const CURSORS_BUCKET: &str = "ST_CURSORS";
/// KV bucket: [`LocationFacts`] per location, key `{tenant}.{location id}`.
pub const LOCATIONS_BUCKET: &str = "ST_LOCATIONS";

/// A location as CRM's exports show it, with its contacts (removed ones kept as inactive,
/// so an older record cannot bring one back).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocationFacts {
    pub location: Option<Location>,
    pub contacts: BTreeMap<i64, ExportLocationContact>,
}

impl LocationFacts {
    /// Everything a call update needs, if both the location and its contacts are known.
    pub fn for_update(self) -> Option<(Location, Vec<LocationContact>)> {
        if self.contacts.is_empty() {
            return None;
        }
        let contacts = self
            .contacts
            .values()
            .filter(|c| c.active)
            .map(ExportLocationContact::contact)
            .collect();
        Some((self.location?, contacts))
    }
}

/// True unless `incoming` is older than `current` (RFC 3339; unparseable: accept).
fn not_older(incoming: &str, current: &str) -> bool {
    match (parse_rfc3339(incoming), parse_rfc3339(current)) {
        (Some((a, _)), Some((b, _))) => a >= b,
        _ => true,
    }
}

/// One export record merged into a location's facts.
#[derive(Debug, Clone)]
pub enum LocationUpdate {
    Location(Location),
    Contact(ExportLocationContact),
}

impl LocationUpdate {
    fn location_id(&self) -> i64 {
        match self {
            Self::Location(l) => l.id,
            Self::Contact(c) => c.location_id,
        }
    }

    /// Merges by `modifiedOn`, so applying records in any order gives the same facts.
    pub fn merge_into(&self, facts: &mut LocationFacts) {
        match self {
            Self::Location(l) => {
                if facts
                    .location
                    .as_ref()
                    .is_none_or(|cur| not_older(&l.modified_on, &cur.modified_on))
                {
                    facts.location = Some(l.clone());
                }
            }
            Self::Contact(c) => {
                if facts
                    .contacts
                    .get(&c.id)
                    .is_none_or(|cur| not_older(&c.modified_on, &cur.modified_on))
                {
                    facts.contacts.insert(c.id, c.clone());
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error(transparent)]
    ServiceTitan(#[from] StError),
    #[error(transparent)]
    Store(#[from] KvError),
}

/// The three mirror buckets, and the streams that held them before (see
/// [`ExportMirror::open`]).
const LEGACY_STREAMS: [&str; 3] = [CALLS_BUCKET, CURSORS_BUCKET, LOCATIONS_BUCKET];

/// ServiceTitan's call and CRM exports, mirrored into three KV buckets.
#[derive(Clone)]
pub struct ExportMirror {
    calls: Bucket,
    cursors: Bucket,
    locations: Bucket,
    /// One sync per tenant and export at a time in this process: concurrent handlers that
    /// all miss a call would otherwise each walk the export (and spend the rate limit).
    syncing: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for ExportMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportMirror")
    }
}

impl ExportMirror {
    /// Creates (or converges) the three buckets.
    ///
    /// Until the move to KV (issue 11) the mirrors were plain streams with the same names (`ST_CALLS`, …, on
    /// subjects `stcalls.>`, `stcursor.>`, `stlocs.>`). Their content is a cache of
    /// ServiceTitan's exports, so nothing is carried over: with no cursor in the new
    /// bucket the worker re-reads each export from its start. The old streams are left
    /// alone, named in a warning, for the operator to remove (docs/deployment.md).
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, FactsError> {
        for legacy in LEGACY_STREAMS {
            if js.get_stream(legacy).await.is_ok() {
                tracing::warn!(
                    stream = legacy,
                    "the pre-KV mirror stream {legacy} is no longer used: the mirror is now KV bucket {legacy} (stream KV_{legacy}), re-synced from ServiceTitan's export; remove the old one with `nats stream rm {legacy}`"
                );
            }
        }
        let open = |name: &'static str, description: &'static str| {
            Bucket::open(js, name, description, replicas, None)
        };
        Ok(Self {
            calls: open(
                CALLS_BUCKET,
                "Switchboard: latest ServiceTitan export record per call ({tenant}.{call id})",
            )
            .await?,
            cursors: open(
                CURSORS_BUCKET,
                "Switchboard: ServiceTitan export cursors ({tenant}.calls|locations|contacts)",
            )
            .await?,
            locations: open(
                LOCATIONS_BUCKET,
                "Switchboard: ServiceTitan location and its contacts ({tenant}.{location id})",
            )
            .await?,
            syncing: Arc::default(),
        })
    }

    async fn cursor(&self, key: &str) -> Result<Option<String>, FactsError> {
        Ok(self
            .cursors
            .get(key)
            .await?
            .0
            .and_then(|b| String::from_utf8(b).ok()))
    }

    /// One pass for one tenant: from the saved cursor to the end of the export. Returns the
    /// number of records stored. The cursor is saved only after every record is.
    pub async fn sync(&self, tenant: &str, client: &TenantClient) -> Result<usize, FactsError> {
        let cursor_key = keys::cursor(tenant, "calls");
        let gate = self.gate(&cursor_key);
        let _one_at_a_time = gate.lock().await;
        let cursor = self.cursor(&cursor_key).await?;
        let (records, next) = export_all_calls(client, cursor.clone()).await?;
        for record in &records {
            self.put_call_if_newer(tenant, record).await?;
        }
        if cursor.as_deref() != Some(next.as_str()) {
            self.cursors.put(&cursor_key, next.into_bytes()).await?;
        }
        Ok(records.len())
    }

    /// One pass over CRM's location and location-contact exports for one tenant.
    pub async fn sync_locations(
        &self,
        tenant: &str,
        client: &TenantClient,
    ) -> Result<usize, FactsError> {
        let gate = self.gate(&keys::cursor(tenant, "locations"));
        let _one_at_a_time = gate.lock().await;
        let mut stored = 0;
        for export in ["locations", "contacts"] {
            let cursor_key = keys::cursor(tenant, export);
            let cursor = self.cursor(&cursor_key).await?;
            let (updates, next) = if export == "locations" {
                let (records, next) = export_all(
                    cursor.clone(),
                    |c| async move { client.export_locations(c.as_deref()).await },
                    |l| l.id,
                )
                .await?;
                (
                    records
                        .into_iter()
                        .map(LocationUpdate::Location)
                        .collect::<Vec<_>>(),
                    next,
                )
            } else {
                let (records, next) = export_all(
                    cursor.clone(),
                    |c| async move { client.export_location_contacts(c.as_deref()).await },
                    |c| c.id,
                )
                .await?;
                (
                    records.into_iter().map(LocationUpdate::Contact).collect(),
                    next,
                )
            };
            let mut by_location: HashMap<i64, Vec<LocationUpdate>> = HashMap::new();
            for u in updates {
                by_location.entry(u.location_id()).or_default().push(u);
            }
            for (id, updates) in by_location {
                // Merged field by field, compare-and-set: replicas syncing at once cannot
                // lose each other's changes.
                self.locations
                    .update_json(
                        &keys::mirrored(tenant, id),
                        |current: Option<LocationFacts>| {
                            let existed = current.is_some();
                            let mut facts = current.unwrap_or_default();
                            let before = facts.clone();
                            for u in &updates {
                                u.merge_into(&mut facts);
                            }
                            (facts != before || !existed).then_some(facts)
                        },
                    )
                    .await?;
                stored += updates.len();
            }
            if cursor.as_deref() != Some(next.as_str()) {
                self.cursors.put(&cursor_key, next.into_bytes()).await?;
            }
        }
        Ok(stored)
    }

    /// The mirrored location, with its contacts, if the exports have shown both.
    pub async fn location(
        &self,
        tenant: &str,
        id: i64,
    ) -> Result<Option<(Location, Vec<LocationContact>)>, FactsError> {
        Ok(self
            .read::<LocationFacts>(&self.locations, &keys::mirrored(tenant, id))
            .await?
            .and_then(LocationFacts::for_update))
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        bucket: &Bucket,
        key: &str,
    ) -> Result<Option<T>, FactsError> {
        match bucket.get(key).await?.0 {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                FactsError::Store(KvError {
                    bucket: bucket.name().to_owned(),
                    reason: format!("key {key}: the stored value does not decode: {e}"),
                })
            }),
            None => Ok(None),
        }
    }

    fn gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.syncing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// Stores `record` unless the mirror already has a newer one (another replica's sync
    /// got further): compare-and-set, so an older write never wins.
    async fn put_call_if_newer(&self, tenant: &str, record: &ExportCall) -> Result<(), FactsError> {
        self.calls
            .update_json(
                &keys::mirrored(tenant, record.id),
                |there: Option<ExportCall>| {
                    let newer_there =
                        there.is_some_and(|t| !not_older(&record.modified_on, &t.modified_on));
                    (!newer_there).then(|| record.clone())
                },
            )
            .await?;
        Ok(())
    }

    /// The latest export record of `call_id`, if the export has shown it yet.
    pub async fn get(&self, tenant: &str, call_id: i64) -> Result<Option<ExportCall>, FactsError> {
        self.read(&self.calls, &keys::mirrored(tenant, call_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: i64, modified_on: &str, active: bool) -> LocationUpdate {
        LocationUpdate::Contact(ExportLocationContact {
            id,
            kind: "Phone".into(),
            value: format!("+1512555{id:04}"),
            memo: None,
            modified_on: modified_on.into(),
            created_on: String::new(),
            location_id: 7,
            active,
        })
    }

    fn location(name: &str, modified_on: &str) -> LocationUpdate {
        LocationUpdate::Location(Location {
            id: 7,
            customer_id: 1,
            active: true,
            name: name.into(),
            address: Default::default(),
            created_on: String::new(),
            modified_on: modified_on.into(),
        })
    }

    #[test]
    fn merging_in_any_order_gives_the_same_facts_and_removed_contacts_stay_removed() {
        let updates = [
            location("Old", "2026-11-20T10:00:00Z"),
            location("New", "2026-11-21T10:00:00.5Z"),
            contact(1, "2026-11-20T10:00:00Z", true),
            contact(1, "2026-11-21T10:00:00Z", false),
            contact(2, "2026-11-21T10:00:00Z", true),
        ];
        let mut orders = vec![updates.to_vec()];
        let mut reversed = updates.to_vec();
        reversed.reverse();
        orders.push(reversed);
        let results: Vec<LocationFacts> = orders
            .iter()
            .map(|order| {
                let mut facts = LocationFacts::default();
                for u in order {
                    u.merge_into(&mut facts);
                }
                facts
            })
            .collect();
        assert_eq!(results[0], results[1]);
        let (location, contacts) = results[0].clone().for_update().unwrap();
        assert_eq!(location.name, "New");
        assert_eq!(
            contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            [2],
            "contact 1 was removed later"
        );
    }

    #[test]
    fn a_location_without_known_contacts_is_not_used_for_an_update() {
        let mut facts = LocationFacts::default();
        location("Home", "2026-11-20T10:00:00Z").merge_into(&mut facts);
        assert_eq!(facts.for_update(), None);
    }
}
