//! Per-key state in JetStream key-value buckets, through async-nats' KV
//! (`async_nats::jetstream::kv`): the one idiom every service uses for state that must
//! survive restarts and be shared by replicas (the calls ledger and ServiceTitan mirrors,
//! analytics' facts, snapshots and cursors). `nats kv ls` lists every bucket and `nats kv
//! get B key` reads what Switchboard wrote.
//!
//! What this adds to the library is small and about correctness:
//! - buckets are opened with one revision per key, file storage and `nats.replicas`, and
//!   opening converges an existing bucket to that configuration;
//! - every error names the bucket (and key), which the library's errors do not;
//! - compare-and-set answers "someone else wrote first" as `Ok(None)` / `false`, not as an
//!   error, because callers loop on it; [`Bucket::update_json`] is that loop, typed: read,
//!   decode, let the caller decide the new value, write only if nobody wrote in between.
//! - a watch says when it has caught up with the current state, even when there is none.

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
};
use futures_util::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use std::time::Duration;

/// Everything that can go wrong talking to a bucket (NATS unavailable or misconfigured, or
/// a value that does not decode): the caller retries or reports it.
#[derive(Debug, thiserror::Error)]
#[error("key-value bucket {bucket}: {reason}")]
pub struct KvError {
    pub bucket: String,
    pub reason: String,
}

/// One key's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// `None`: the key was deleted.
    pub value: Option<Vec<u8>>,
    /// The revision (stream sequence) of this value, for compare-and-set.
    pub revision: u64,
}

/// A key-value bucket (`KV_{name}` underneath).
#[derive(Clone)]
pub struct Bucket {
    store: kv::Store,
    js: jetstream::Context,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("bucket", &self.store.name)
            .finish()
    }
}

/// Makes any text a valid key token: `[A-Za-z0-9_-]` pass through, everything else
/// (including `.` and `=`) becomes `=XX` (hex). Injective, so distinct ids never collide.
pub fn key_token(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    if out.is_empty() { "=".into() } else { out }
}

/// What [`Bucket::update_json`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// The new value was written at this revision.
    Written(u64),
    /// The change function wanted no change.
    Unchanged,
}

/// How often [`Bucket::update_json`] re-reads after losing a compare-and-set.
const MAX_CAS_ATTEMPTS: usize = 50;

impl Bucket {
    /// Opens the bucket, creating it (or converging its configuration) with one revision
    /// per key. `ttl`: values expire that long after their last write (`nats kv add --ttl`).
    pub async fn open(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
        ttl: Option<Duration>,
    ) -> Result<Self, KvError> {
        let store = js
            .create_or_update_key_value(kv::Config {
                bucket: bucket.into(),
                description: description.into(),
                history: 1,
                max_age: ttl.unwrap_or_default(),
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| KvError {
                bucket: bucket.into(),
                reason: format!("cannot create or update it: {e}"),
            })?;
        Ok(Self {
            store,
            js: js.clone(),
        })
    }

    pub fn name(&self) -> &str {
        &self.store.name
    }

    fn err(&self, key: &str, reason: impl std::fmt::Display) -> KvError {
        KvError {
            bucket: self.store.name.clone(),
            reason: if key.is_empty() {
                reason.to_string()
            } else {
                format!("key {key}: {reason}")
            },
        }
    }

    /// The current value of `key` (`None` if absent or deleted) and its revision (0 if the
    /// key never existed; a deleted key has the delete's revision).
    pub async fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, u64), KvError> {
        match self.store.entry(key).await.map_err(|e| self.err(key, e))? {
            Some(e) if e.operation == Operation::Put => Ok((Some(e.value.to_vec()), e.revision)),
            Some(e) => Ok((None, e.revision)),
            None => Ok((None, 0)),
        }
    }

    /// Writes `value` whatever the current revision.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<u64, KvError> {
        self.store
            .put(key, value.into())
            .await
            .map_err(|e| self.err(key, e))
    }

    /// Writes `value` only if `key` is still at `revision` (0: the key must never have
    /// existed). `Ok(None)` when someone else wrote first: read again and retry.
    pub async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        revision: u64,
    ) -> Result<Option<u64>, KvError> {
        match self.store.update(key, value.into(), revision).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// Deletes `key` (a delete marker, as `nats kv del` writes).
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store.delete(key).await.map_err(|e| self.err(key, e))
    }

    /// Deletes `key` only if it is still at `revision`; false when someone else wrote first.
    pub async fn delete_if(&self, key: &str, revision: u64) -> Result<bool, KvError> {
        match self.store.delete_expect_revision(key, Some(revision)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == kv::DeleteErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// Typed read-modify-write with compare-and-set: `change` gets the current value (None:
    /// absent) and returns the new one, or `None` for no change. Re-read and re-applied
    /// whenever another writer got there first, so no concurrent change is lost.
    pub async fn update_json<T, F>(&self, key: &str, mut change: F) -> Result<Updated, KvError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> Option<T>,
    {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (bytes, revision) = self.get(key).await?;
            let current = match bytes {
                Some(b) => Some(serde_json::from_slice::<T>(&b).map_err(|e| {
                    self.err(key, format!("the stored value does not decode: {e}"))
                })?),
                None => None,
            };
            let Some(new) = change(current) else {
                return Ok(Updated::Unchanged);
            };
            let value = serde_json::to_vec(&new).map_err(|e| self.err(key, e))?;
            if let Some(r) = self.update(key, value, revision).await? {
                return Ok(Updated::Written(r));
            }
        }
        Err(self.err(
            key,
            format!("{MAX_CAS_ATTEMPTS} concurrent writers in a row; try again"),
        ))
    }

    /// Every key under `prefix` (`""`: all): first the current value of each, then every
    /// change as it happens. `caught_up` is true on the entry that completes the initial
    /// state (or on a first step with `entry` `None` when there is none).
    pub async fn watch(&self, prefix: &str) -> Result<Watch, KvError> {
        let filter = if prefix.is_empty() {
            ">".to_owned()
        } else {
            format!("{prefix}.>")
        };
        // The watch first, then the emptiness check: a key written in between is delivered
        // by the watch, and a watch over nothing still says it has caught up.
        let inner = self
            .store
            .watch_with_history(&filter)
            .await
            .map_err(|e| self.err("", format!("cannot watch {filter}: {e}")))?;
        let empty = self.is_empty_under(prefix).await?;
        Ok(Watch {
            inner,
            announce_empty: empty,
            announced: false,
            bucket: self.store.name.clone(),
        })
    }

    /// True when no key (not even a delete marker) is stored under `prefix`.
    async fn is_empty_under(&self, prefix: &str) -> Result<bool, KvError> {
        let mut stream = self
            .js
            .get_stream(&self.store.stream_name)
            .await
            .map_err(|e| self.err("", e))?;
        if prefix.is_empty() {
            let info = stream.info().await.map_err(|e| self.err("", e))?;
            return Ok(info.state.messages == 0);
        }
        let filter = format!("{}{prefix}.>", self.store.prefix);
        let mut subjects = stream
            .info_with_subjects(filter)
            .await
            .map_err(|e| self.err("", e))?;
        Ok(subjects.next().await.is_none())
    }
}

/// See [`Bucket::watch`].
pub struct Watch {
    inner: kv::Watch,
    announce_empty: bool,
    announced: bool,
    bucket: String,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// One step of a [`Watch`].
#[derive(Debug)]
pub struct Watched {
    pub entry: Option<Entry>,
    /// The initial state is complete with this step.
    pub caught_up: bool,
}

impl Watch {
    /// The next entry; `Err` when the watch broke (watch again).
    pub async fn next(&mut self) -> Result<Watched, KvError> {
        if self.announce_empty && !self.announced {
            self.announced = true;
            return Ok(Watched {
                entry: None,
                caught_up: true,
            });
        }
        let entry = self
            .inner
            .next()
            .await
            .ok_or_else(|| KvError {
                bucket: self.bucket.clone(),
                reason: "the watch ended".into(),
            })?
            .map_err(|e| KvError {
                bucket: self.bucket.clone(),
                reason: format!("the watch broke: {e}"),
            })?;
        let caught_up = !self.announced && entry.seen_current;
        if caught_up {
            self.announced = true;
        }
        Ok(Watched {
            caught_up,
            entry: Some(Entry {
                value: (entry.operation == Operation::Put).then(|| entry.value.to_vec()),
                key: entry.key,
                revision: entry.revision,
            }),
        })
    }
}
