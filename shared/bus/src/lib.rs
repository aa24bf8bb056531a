//! NATS JetStream plumbing shared by every service: connecting (with automatic
//! reconnection), creating streams idempotently at start-up, and the names of subjects and
//! headers that form Switchboard's NATS contract (see `docs/subjects.md`).
//!
//! Streams are declared here, in one place, so that every service that starts converges the
//! server to the same configuration: whichever service starts first creates a stream, the
//! others find it as they want it. `replicas` comes from config, so moving to a 3-node
//! cluster is a config change.

pub mod bucket;
pub mod consumer;
pub mod dlq;
pub mod host;
pub mod rejected;
pub mod reload;
pub mod retry;
pub mod scan;

use async_nats::jetstream::{self, stream};
use secrecy::ExposeSecret;
use std::time::Duration;
use switchboard_config::NatsConfig;

pub use async_nats;
pub use host::{Hosted, NatsService, service_main};

/// Stream of every verified delivery, verbatim.
pub const INBOUND_STREAM: &str = "INBOUND";
/// Stream of canonical domain events (CloudEvents).
pub const EVENTS_STREAM: &str = "EVENTS";

/// Headers on INBOUND messages.
pub mod headers {
    pub const MSG_ID: &str = "Nats-Msg-Id";
    pub const TENANT: &str = "Switchboard-Tenant";
    pub const SOURCE: &str = "Switchboard-Source";
    pub const SCHEME: &str = "Switchboard-Scheme";
    pub const RECEIVED_AT: &str = "Switchboard-Received-At";
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// On a message replayed from the DLQ: the original's `Nats-Msg-Id`, which consumers
    /// use in place of the replay's own (so a replay yields the same event ids).
    pub const ORIGINAL_MSG_ID: &str = "Switchboard-Original-Msg-Id";
    /// On a tool call kept for audit (`POST /v1/tools/…`): the tools it asked for. The
    /// router acknowledges such a delivery without normalising it: the booking service
    /// answered it synchronously and published what it did.
    pub const TOOL: &str = "Switchboard-Tool";
}

/// `inbound.{tenant}.{source}`. Names are validated `[a-z0-9_-]+` tokens.
pub fn inbound_subject(tenant: &str, source: &str) -> String {
    format!("inbound.{tenant}.{source}")
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("cannot create or update stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
}

/// Connects to NATS. The client keeps reconnecting by itself (forever, with capped
/// backoff) after any disconnect, and the first connection is also made in the
/// background, so a service can start before NATS does.
pub async fn connect(
    config: &NatsConfig,
    client_name: &str,
) -> Result<async_nats::Client, BusError> {
    let mut options = async_nats::ConnectOptions::new()
        .name(client_name)
        .connection_timeout(Duration::from_secs(config.request_timeout_secs))
        .request_timeout(Some(Duration::from_secs(config.request_timeout_secs)))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            // 0, 100 ms, 200 ms, 400 ms … capped at 2 s: an outage of a single server is
            // usually a restart, and every second of delay is a second of 503s.
            let exp = attempts.min(5) as u32;
            Duration::from_millis(if attempts == 0 {
                0
            } else {
                (50u64 << exp).min(2000)
            })
        })
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("connected to NATS"),
                async_nats::Event::Disconnected => {
                    tracing::warn!("disconnected from NATS; reconnecting")
                }
                other => tracing::info!(event = %other, "NATS client event"),
            }
        });
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.expose_secret().to_owned());
    }
    if let Some(token) = &config.token {
        options = options.token(token.expose_secret().to_owned());
    }
    let servers = server_addrs(&config.url).map_err(|reason| BusError::Connect {
        url: config.url.clone(),
        reason,
    })?;
    options = options.retry_on_initial_connect();
    options
        .connect(servers)
        .await
        .map_err(|err| BusError::Connect {
            url: config.url.clone(),
            reason: err.to_string(),
        })
}

/// `nats.url`: one server URL or a comma-separated list of a cluster's servers
/// (`nats://a:4222,nats://b:4222,nats://c:4222`); the client connects to any of them and
/// fails over to the others. An entry that is not a NATS URL is an error naming it.
pub fn server_addrs(url: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    let entries: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Err("nats.url is empty: give one server URL or a comma-separated list".into());
    }
    entries
        .into_iter()
        .map(|entry| {
            entry.parse::<async_nats::ServerAddr>().map_err(|e| {
                format!("`{entry}` in nats.url is not a NATS server URL ({e}); write nats://host:4222, comma-separated for several")
            })
        })
        .collect()
}

/// `message` with the `traceparent` of the hop running now (docs/architecture.md, traces),
/// so whoever consumes it continues the same trace.
pub fn traced(message: jetstream::message::PublishMessage) -> jetstream::message::PublishMessage {
    match switchboard_telemetry::trace::current() {
        Some(t) => message.header(
            switchboard_telemetry::trace::TRACEPARENT,
            t.header().as_str(),
        ),
        None => message,
    }
}

/// The trace a NATS message belongs to: its valid `traceparent` header, if any.
pub fn trace_parent(
    headers: Option<&async_nats::HeaderMap>,
) -> Option<switchboard_telemetry::trace::TraceParent> {
    headers
        .and_then(|h| h.get(switchboard_telemetry::trace::TRACEPARENT))
        .and_then(|v| switchboard_telemetry::trace::TraceParent::parse(v.as_str()))
}

/// A JetStream context whose API requests and publish acks time out after `timeout`.
pub fn jetstream(client: async_nats::Client, timeout: Duration) -> jetstream::Context {
    jetstream::ContextBuilder::new()
        .timeout(timeout)
        .build(client)
}

/// INBOUND: every verified delivery, file storage, deduplicated by `Nats-Msg-Id`.
pub fn inbound_stream_config(config: &NatsConfig) -> stream::Config {
    file_stream(
        config,
        INBOUND_STREAM,
        "Switchboard: every verified webhook delivery, verbatim",
        "inbound.>",
    )
}

/// EVENTS: canonical events on `events.{tenant}.{type}`, deduplicated by event id.
pub fn events_stream_config(config: &NatsConfig) -> stream::Config {
    file_stream(
        config,
        EVENTS_STREAM,
        "Switchboard: canonical domain events (CloudEvents 1.0 JSON)",
        "events.>",
    )
}

/// How every Switchboard stream is kept: on file, limits retention (the operator's limits,
/// see [`ensure_stream`]), `nats.replicas` copies, deduplicated over
/// `nats.duplicate_window_secs`.
pub fn file_stream(
    config: &NatsConfig,
    name: &str,
    description: &str,
    subjects: &str,
) -> stream::Config {
    stream::Config {
        name: name.into(),
        description: Some(description.into()),
        subjects: vec![subjects.into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        num_replicas: config.replicas,
        duplicate_window: Duration::from_secs(config.duplicate_window_secs),
        ..Default::default()
    }
}

/// `events.{tenant}.{type}`, e.g. `events.acme.call.completed`.
pub fn events_subject(tenant: &str, event_type: &str) -> String {
    format!("events.{tenant}.{event_type}")
}

/// Creates the stream, or updates it to `wanted` if it exists. Safe to call from every
/// replica of every service at every start (and at every consumer rebuild).
///
/// Retention limits Switchboard does not set (`max_age`, `max_bytes`, `max_messages`,
/// `max_message_size` left at their defaults in `wanted`) are the operator's: whatever the
/// existing stream has for them (`nats stream edit INBOUND --max-age 90d`) is kept, since a
/// JetStream update replaces the whole configuration.
pub async fn ensure_stream(
    js: &jetstream::Context,
    wanted: stream::Config,
) -> Result<stream::Info, BusError> {
    let name = wanted.name.clone();
    let err = |reason: String| BusError::Stream {
        stream: name.clone(),
        reason,
    };
    // Not found (or not readable): create or update it as wanted, as before.
    let existing = match js.get_stream(&name).await {
        Ok(mut s) => Some(
            s.info()
                .await
                .map_err(|e| err(e.to_string()))?
                .config
                .clone(),
        ),
        Err(_) => None,
    };
    let Some(current) = existing else {
        return js
            .create_or_update_stream(wanted)
            .await
            .map_err(|e| err(e.to_string()));
    };
    let merged = keep_operator_limits(wanted, &current);
    js.create_or_update_stream(merged)
        .await
        .map_err(|e| err(e.to_string()))
}

/// `wanted`, with the retention limits it leaves at their defaults taken from `current`.
fn keep_operator_limits(mut wanted: stream::Config, current: &stream::Config) -> stream::Config {
    let unset = stream::Config::default();
    if wanted.max_age == unset.max_age {
        wanted.max_age = current.max_age;
    }
    if wanted.max_bytes == unset.max_bytes {
        wanted.max_bytes = current.max_bytes;
    }
    if wanted.max_messages == unset.max_messages {
        wanted.max_messages = current.max_messages;
    }
    if wanted.max_message_size == unset.max_message_size {
        wanted.max_message_size = current.max_message_size;
    }
    wanted
}

/// Runs a start-up step (creating streams, buckets) until it succeeds, up to five attempts
/// with growing pauses: right after NATS starts, or on a busy server, JetStream API calls
/// can time out. The last error is returned, naming `what`.
pub async fn with_setup_retries<T, E, F, Fut>(what: &str, step: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    use retry::Retryable as _;
    step.retry(retry::attempts(
        5,
        Duration::from_millis(500),
        Duration::from_secs(4),
    ))
    .notify(|e, pause| {
        tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "{what}: failed; retrying");
    })
    .await
    .map_err(|e| format!("{what}: {e}"))
}

/// A readiness check: connected to NATS and `set_up` (streams, consumers) is true; else
/// the reason, with `not_set_up` saying what is missing.
pub fn ready_when_set_up(
    client: async_nats::Client,
    set_up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    not_set_up: &'static str,
) -> impl Fn() -> Result<(), String> + Send + Sync + 'static {
    move || {
        if !is_connected(&client) {
            Err("not connected to NATS".to_owned())
        } else if !set_up.load(std::sync::atomic::Ordering::Acquire) {
            Err(not_set_up.to_owned())
        } else {
            Ok(())
        }
    }
}

/// True while the client holds a live connection.
pub fn is_connected(client: &async_nats::Client) -> bool {
    client.connection_state() == async_nats::connection::State::Connected
}

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-23T01:02:03.456Z`.
pub fn rfc3339_millis(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_795_395_723_456),
            "2026-11-23T01:02:03.456Z"
        );
    }
}
