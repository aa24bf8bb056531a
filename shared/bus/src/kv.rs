//! JetStream key-value buckets, spoken at the stream level.
//!
//! A bucket `B` is what the NATS clients create for `nats kv add B --history 1`: stream
//! `KV_B` on subjects `$KV.B.>`, one message kept per subject, direct gets, rollups
//! allowed, discard-new. Any NATS client or `nats kv get B key` reads what Switchboard
//! writes. We do not use async-nats' KV API because it cannot parse nats-server 2.9's
//! direct-get replies (the version Debian ships and CI runs); everything here is plain
//! publish, last-message-by-subject and ordered consumers, which every 2.9+ server speaks.
//!
//! Writes can be compare-and-set ([`KvBucket::update`]): JetStream accepts a publish with
//! `Nats-Expected-Last-Subject-Sequence` only if the key's last revision is the expected
//! one, so two replicas merging into the same key cannot lose each other's change.

use async_nats::HeaderMap;
use async_nats::jetstream::{
    self, consumer, context::PublishErrorKind, stream, stream::LastRawMessageErrorKind,
};
use futures_util::StreamExt;

/// Everything that can go wrong talking to a bucket (always about NATS being unavailable
/// or misconfigured: the caller retries).
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
    /// The stream sequence of this revision (for compare-and-set).
    pub revision: u64,
}

#[derive(Clone)]
pub struct KvBucket {
    js: jetstream::Context,
    bucket: String,
}

impl std::fmt::Debug for KvBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvBucket")
            .field("bucket", &self.bucket)
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

impl KvBucket {
    /// Creates the bucket (or updates its stream config) with one revision per key.
    pub async fn open(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
    ) -> Result<Self, KvError> {
        Self::open_with_ttl(js, bucket, description, replicas, None).await
    }

    /// [`Self::open`], with values expiring `ttl` after their last write (`nats kv add
    /// --ttl`).
    pub async fn open_with_ttl(
        js: &jetstream::Context,
        bucket: &str,
        description: &str,
        replicas: usize,
        ttl: Option<std::time::Duration>,
    ) -> Result<Self, KvError> {
        let config = stream::Config {
            max_age: ttl.unwrap_or_default(),
            name: format!("KV_{bucket}"),
            description: Some(description.into()),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            storage: stream::StorageType::File,
            num_replicas: replicas,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        crate::ensure_stream(js, config)
            .await
            .map_err(|e| KvError {
                bucket: bucket.into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            js: js.clone(),
            bucket: bucket.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    fn err(&self, reason: impl std::fmt::Display) -> KvError {
        KvError {
            bucket: self.bucket.clone(),
            reason: reason.to_string(),
        }
    }

    fn subject(&self, key: &str) -> String {
        format!("$KV.{}.{key}", self.bucket)
    }

    /// The current value of `key` (`None` if absent or deleted) and its revision (0 if the
    /// key never existed).
    pub async fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, u64), KvError> {
        let stream = self
            .js
            .get_stream(format!("KV_{}", self.bucket))
            .await
            .map_err(|e| self.err(e))?;
        match stream
            .get_last_raw_message_by_subject(&self.subject(key))
            .await
        {
            Ok(m) => {
                let deleted = m
                    .headers
                    .get("KV-Operation")
                    .is_some_and(|v| v.as_str() == "DEL" || v.as_str() == "PURGE");
                Ok(((!deleted).then(|| m.payload.to_vec()), m.sequence))
            }
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok((None, 0)),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Writes `value` whatever the current revision.
    pub async fn put(&self, key: &str, value: Vec<u8>) -> Result<u64, KvError> {
        let ack = self
            .js
            .publish(self.subject(key), value.into())
            .await
            .map_err(|e| self.err(e))?
            .await
            .map_err(|e| self.err(e))?;
        Ok(ack.sequence)
    }

    /// Writes `value` only if `key` is still at `revision` (0: the key must not exist).
    /// `Ok(None)` when someone else wrote first: read again and retry.
    pub async fn update(
        &self,
        key: &str,
        value: Vec<u8>,
        revision: u64,
    ) -> Result<Option<u64>, KvError> {
        let publish = jetstream::message::PublishMessage::build()
            .payload(value.into())
            .expected_last_subject_sequence(revision);
        let ack = match self.js.send_publish(self.subject(key), publish).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match ack {
            Ok(a) => Ok(Some(a.sequence)),
            Err(e) if matches!(e.kind(), PublishErrorKind::WrongLastSequence) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Deletes `key` (a delete marker, as `nats kv del` writes).
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        let mut headers = HeaderMap::new();
        headers.insert("KV-Operation", "DEL");
        self.js
            .publish_with_headers(self.subject(key), headers, Vec::new().into())
            .await
            .map_err(|e| self.err(e))?
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Deletes `key` only if it is still at `revision`; false when someone else wrote
    /// first.
    pub async fn delete_if(&self, key: &str, revision: u64) -> Result<bool, KvError> {
        let mut headers = HeaderMap::new();
        headers.insert("KV-Operation", "DEL");
        let publish = jetstream::message::PublishMessage::build()
            .payload(Vec::new().into())
            .headers(headers)
            .expected_last_subject_sequence(revision);
        let ack = match self.js.send_publish(self.subject(key), publish).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match ack {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.kind(), PublishErrorKind::WrongLastSequence) => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Every key under `prefix` (`""`: all): first the current value of each, then every
    /// change as it happens. `caught_up` is true on the entry that completes the initial
    /// state (or on a synthetic first call when the bucket is empty, with `entry` `None`).
    pub async fn watch(&self, prefix: &str) -> Result<Watch, KvError> {
        let stream = self
            .js
            .get_stream(format!("KV_{}", self.bucket))
            .await
            .map_err(|e| self.err(e))?;
        let filter = if prefix.is_empty() {
            format!("$KV.{}.>", self.bucket)
        } else {
            format!("$KV.{}.{prefix}.>", self.bucket)
        };
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                deliver_policy: consumer::DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await
            .map_err(|e| self.err(e))?;
        let pending_at_start = consumer.cached_info().num_pending;
        let messages = consumer.messages().await.map_err(|e| self.err(e))?;
        Ok(Watch {
            prefix_len: format!("$KV.{}.", self.bucket).len(),
            messages,
            initial_left: pending_at_start,
            announced: false,
            bucket: self.bucket.clone(),
        })
    }
}

/// See [`KvBucket::watch`].
pub struct Watch {
    prefix_len: usize,
    messages: consumer::pull::Ordered,
    initial_left: u64,
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
    /// The next entry; `Err` when the watch broke (reconnect and watch again).
    pub async fn next(&mut self) -> Result<Watched, KvError> {
        if self.initial_left == 0 && !self.announced {
            self.announced = true;
            return Ok(Watched {
                entry: None,
                caught_up: true,
            });
        }
        let message = self
            .messages
            .next()
            .await
            .ok_or_else(|| KvError {
                bucket: self.bucket.clone(),
                reason: "the watch ended".into(),
            })?
            .map_err(|e| KvError {
                bucket: self.bucket.clone(),
                reason: e.to_string(),
            })?;
        let (revision, pending) = message
            .info()
            .map(|i| (i.stream_sequence, i.pending))
            .unwrap_or((0, 0));
        let deleted = message
            .headers
            .as_ref()
            .and_then(|h| h.get("KV-Operation"))
            .is_some_and(|v| v.as_str() == "DEL" || v.as_str() == "PURGE");
        let key = message
            .subject
            .as_str()
            .get(self.prefix_len..)
            .unwrap_or("")
            .to_owned();
        let mut caught_up = false;
        if !self.announced && pending == 0 {
            self.announced = true;
            caught_up = true;
        }
        Ok(Watched {
            entry: Some(Entry {
                key,
                value: (!deleted).then(|| message.payload.to_vec()),
                revision,
            }),
            caught_up,
        })
    }
}
