//! ServiceTitan's export, mirrored into JetStream.
//!
//! A call update must send back `excuseMemo`, `tag` and the location, which only the
//! export carries, and ServiceTitan records a call minutes after it happens. So the worker
//! follows each tenant's call export from a cursor it persists (stream `ST_CURSORS`),
//! keeping the latest export record of every call (stream `ST_CALLS`, subject
//! `stcalls.{tenant}.{call id}`, one message kept per subject). A restarted or second
//! replica resumes from the saved cursor; records are idempotent puts.

use async_nats::jetstream::{self, stream};
use switchboard_bus::async_nats;
use switchboard_servicetitan::models::ExportCall;
use switchboard_servicetitan::{StError, TenantClient, export_all_calls};

/// One message per call (`stcalls.{tenant}.{call id}`), the latest kept.
pub const CALLS_STREAM: &str = "ST_CALLS";
/// One message per tenant (`stcursor.{tenant}`): the export cursor.
pub const CURSORS_STREAM: &str = "ST_CURSORS";

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
        Ok(Self { js: js.clone() })
    }

    async fn last(
        &self,
        stream: &'static str,
        subject: String,
    ) -> Result<Option<Vec<u8>>, FactsError> {
        let s = self
            .js
            .get_stream(stream)
            .await
            .map_err(|e| e.to_string())
            .map_err(store_err(stream))?;
        match s.get_last_raw_message_by_subject(&subject).await {
            Ok(m) => Ok(Some(m.payload.to_vec())),
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
        let cursor = self
            .last(CURSORS_STREAM, format!("stcursor.{tenant}"))
            .await?
            .and_then(|b| String::from_utf8(b).ok());
        let (records, next) = export_all_calls(client, cursor.clone()).await?;
        for record in &records {
            let value = serde_json::to_vec(record)
                .map_err(|e| e.to_string())
                .map_err(store_err(CALLS_STREAM))?;
            self.put(
                CALLS_STREAM,
                format!("stcalls.{tenant}.{}", record.id),
                value,
            )
            .await?;
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
