//! ServiceTitan's export, mirrored into JetStream.
//!
//! A call update must send back `excuseMemo`, `tag` and the location, which only the
//! export carries, and ServiceTitan records a call minutes after it happens. So the worker
//! follows each tenant's call export from a cursor it persists (stream `ST_CURSORS`),
//! keeping the latest export record of every call (stream `ST_CALLS`, subject
//! `stcalls.{tenant}.{call id}`, one message kept per subject). A restarted or second
//! replica resumes from the saved cursor; records are idempotent puts.
//!
//! The update also sends back the call's location with its contacts. Reading them per
//! write would cost two more requests against the tenant's rate limit, so the worker
//! follows CRM's location and location-contact exports the same way, into one record per
//! location (stream `ST_LOCATIONS`, `stlocs.{tenant}.{location id}`), merged field by field
//! by `modifiedOn` with compare-and-set, so replicas syncing at once cannot lose each
//! other's changes. A location whose contacts have not been seen yet is read from CRM.
//! The price: a contact changed in ServiceTitan less than one export poll before a write is
//! written back as it was (docs/servicetitan.md).

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use switchboard_bus::async_nats;
use switchboard_servicetitan::models::{
    ExportCall, ExportLocationContact, Location, LocationContact,
};
use switchboard_servicetitan::{StError, TenantClient, export_all, export_all_calls};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One message per call (`stcalls.{tenant}.{call id}`), the latest kept.
pub const CALLS_STREAM: &str = "ST_CALLS";
/// One message per tenant and export (`stcursor.{tenant}[.locations|.contacts]`): cursors.
pub const CURSORS_STREAM: &str = "ST_CURSORS";
/// One message per location (`stlocs.{tenant}.{location id}`): [`LocationFacts`].
pub const LOCATIONS_STREAM: &str = "ST_LOCATIONS";

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
    match (
        OffsetDateTime::parse(incoming, &Rfc3339),
        OffsetDateTime::parse(current, &Rfc3339),
    ) {
        (Ok(a), Ok(b)) => a >= b,
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
    #[error("stream {stream}: {reason}")]
    Store {
        stream: &'static str,
        reason: String,
    },
}

fn store_err(stream: &'static str) -> impl Fn(String) -> FactsError {
    move |reason| FactsError::Store { stream, reason }
}

/// Key-value over JetStream streams with one message kept per subject — what JetStream KV
/// is underneath, used directly so it works on every nats-server version the project runs
/// against (async-nats' KV API does not read 2.9's replies).
#[derive(Clone)]
pub struct ExportFacts {
    js: jetstream::Context,
    /// One sync per tenant and export at a time in this process: concurrent handlers that
    /// all miss a call would otherwise each walk the export (and spend the rate limit).
    syncing: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for ExportFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExportFacts")
    }
}

impl ExportFacts {
    /// Creates (or updates) the two streams.
    pub async fn open(js: &jetstream::Context, replicas: usize) -> Result<Self, FactsError> {
        for (name, subject, description) in [
            (
                CALLS_STREAM,
                "stcalls.>",
                "Switchboard: latest ServiceTitan export record per call",
            ),
            (
                CURSORS_STREAM,
                "stcursor.>",
                "Switchboard: ServiceTitan export cursor per tenant",
            ),
            (
                LOCATIONS_STREAM,
                "stlocs.>",
                "Switchboard: ServiceTitan location and its contacts, per location",
            ),
        ] {
            let config = stream::Config {
                name: name.into(),
                description: Some(description.into()),
                subjects: vec![subject.into()],
                storage: stream::StorageType::File,
                num_replicas: replicas,
                max_messages_per_subject: 1,
                allow_direct: true,
                ..Default::default()
            };
            switchboard_bus::ensure_stream(js, config)
                .await
                .map_err(|e| FactsError::Store {
                    stream: name,
                    reason: e.to_string(),
                })?;
        }
        Ok(Self {
            js: js.clone(),
            syncing: Arc::default(),
        })
    }

    async fn last(
        &self,
        stream: &'static str,
        subject: String,
    ) -> Result<Option<Vec<u8>>, FactsError> {
        Ok(self
            .last_with_seq(stream, &subject)
            .await?
            .map(|(_, payload)| payload))
    }

    /// The last message on `subject`: (its sequence, payload).
    async fn last_with_seq(
        &self,
        stream: &'static str,
        subject: &str,
    ) -> Result<Option<(u64, Vec<u8>)>, FactsError> {
        let s = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| e.to_string())
            .map_err(store_err(stream))?;
        match s.get_last_raw_message_by_subject(subject).await {
            Ok(m) => Ok(Some((m.sequence, m.payload.to_vec()))),
            Err(e) if matches!(e.kind(), stream::LastRawMessageErrorKind::NoMessageFound) => {
                Ok(None)
            }
            Err(e) => Err(FactsError::Store {
                stream,
                reason: e.to_string(),
            }),
        }
    }

    async fn put(
        &self,
        stream: &'static str,
        subject: String,
        value: Vec<u8>,
    ) -> Result<(), FactsError> {
        self.js
            .publish(subject, value.into())
            .await
            .map_err(|e| e.to_string())
            .map_err(store_err(stream))?
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
            .map_err(store_err(stream))
    }

    /// One pass for one tenant: from the saved cursor to the end of the export. Returns the
    /// number of records stored. The cursor is saved only after every record is.
    pub async fn sync(&self, tenant: &str, client: &TenantClient) -> Result<usize, FactsError> {
        let gate = self.gate(&format!("{tenant}.calls"));
        let _one_at_a_time = gate.lock().await;
        let cursor = self
            .last(CURSORS_STREAM, format!("stcursor.{tenant}"))
            .await?
            .and_then(|b| String::from_utf8(b).ok());
        let (records, next) = export_all_calls(client, cursor.clone()).await?;
        for record in &records {
            self.put_call_if_newer(tenant, record).await?;
        }
        if cursor.as_deref() != Some(next.as_str()) {
            self.put(
                CURSORS_STREAM,
                format!("stcursor.{tenant}"),
                next.into_bytes(),
            )
            .await?;
        }
        Ok(records.len())
    }

    /// One pass over CRM's location and location-contact exports for one tenant.
    pub async fn sync_locations(
        &self,
        tenant: &str,
        client: &TenantClient,
    ) -> Result<usize, FactsError> {
        let gate = self.gate(&format!("{tenant}.locations"));
        let _one_at_a_time = gate.lock().await;
        let mut stored = 0;
        for export in ["locations", "contacts"] {
            let cursor_subject = format!("stcursor.{tenant}.{export}");
            let cursor = self
                .last(CURSORS_STREAM, cursor_subject.clone())
                .await?
                .and_then(|b| String::from_utf8(b).ok());
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
                self.merge_location(tenant, id, &updates).await?;
                stored += updates.len();
            }
            if cursor.as_deref() != Some(next.as_str()) {
                self.put(CURSORS_STREAM, cursor_subject, next.into_bytes())
                    .await?;
            }
        }
        Ok(stored)
    }

    /// Read, merge, compare-and-set; retried when another replica wrote in between.
    async fn merge_location(
        &self,
        tenant: &str,
        id: i64,
        updates: &[LocationUpdate],
    ) -> Result<(), FactsError> {
        let subject = format!("stlocs.{tenant}.{id}");
        let err = store_err(LOCATIONS_STREAM);
        for _ in 0..10 {
            let (seq, mut facts) = match self.last_with_seq(LOCATIONS_STREAM, &subject).await? {
                Some((seq, bytes)) => (
                    seq,
                    serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?,
                ),
                None => (0, LocationFacts::default()),
            };
            let before = facts.clone();
            for u in updates {
                u.merge_into(&mut facts);
            }
            if facts == before && seq != 0 {
                return Ok(());
            }
            let value = serde_json::to_vec(&facts).map_err(|e| err(e.to_string()))?;
            let publish = jetstream::message::PublishMessage::build()
                .payload(value.into())
                .expected_last_subject_sequence(seq);
            let ack = match self.js.send_publish(subject.clone(), publish).await {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match ack {
                Ok(_) => return Ok(()),
                Err(e) if matches!(e.kind(), PublishErrorKind::WrongLastSequence) => continue,
                Err(e) => return Err(err(e.to_string())),
            }
        }
        Err(err(format!("location {id}: too many concurrent writers")))
    }

    /// The mirrored location, with its contacts, if the exports have shown both.
    pub async fn location(
        &self,
        tenant: &str,
        id: i64,
    ) -> Result<Option<(Location, Vec<LocationContact>)>, FactsError> {
        match self
            .last(LOCATIONS_STREAM, format!("stlocs.{tenant}.{id}"))
            .await?
        {
            Some(bytes) => serde_json::from_slice::<LocationFacts>(&bytes)
                .map(LocationFacts::for_update)
                .map_err(|e| e.to_string())
                .map_err(store_err(LOCATIONS_STREAM)),
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
    /// got further): compare-and-set on the subject, so an older write never wins.
    async fn put_call_if_newer(&self, tenant: &str, record: &ExportCall) -> Result<(), FactsError> {
        let subject = format!("stcalls.{tenant}.{}", record.id);
        let err = store_err(CALLS_STREAM);
        let value = serde_json::to_vec(record).map_err(|e| err(e.to_string()))?;
        for _ in 0..10 {
            let current = self.last_with_seq(CALLS_STREAM, &subject).await?;
            let revision = match &current {
                Some((seq, bytes)) => {
                    let newer_there = serde_json::from_slice::<ExportCall>(bytes)
                        .is_ok_and(|there| !not_older(&record.modified_on, &there.modified_on));
                    if newer_there {
                        return Ok(());
                    }
                    *seq
                }
                None => 0,
            };
            let publish = jetstream::message::PublishMessage::build()
                .payload(value.clone().into())
                .expected_last_subject_sequence(revision);
            let ack = match self.js.send_publish(subject.clone(), publish).await {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match ack {
                Ok(_) => return Ok(()),
                Err(e) if matches!(e.kind(), PublishErrorKind::WrongLastSequence) => continue,
                Err(e) => return Err(err(e.to_string())),
            }
        }
        Err(err(format!(
            "call {}: too many concurrent writers",
            record.id
        )))
    }

    /// The latest export record of `call_id`, if the export has shown it yet.
    pub async fn get(&self, tenant: &str, call_id: i64) -> Result<Option<ExportCall>, FactsError> {
        match self
            .last(CALLS_STREAM, format!("stcalls.{tenant}.{call_id}"))
            .await?
        {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| e.to_string())
                .map_err(store_err(CALLS_STREAM)),
            None => Ok(None),
        }
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
