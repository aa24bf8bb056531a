//! Recent traffic on a subject, counted by JetStream: an ordered consumer created from a
//! start time reports how many messages it would deliver (`num_pending`) before it
//! delivers any, so a count costs one API request however many messages there are.

use async_nats::jetstream;
use switchboard_bus::async_nats;

/// How many messages `stream` holds on `subject` (wildcards allowed) since `since`.
/// A stream that does not exist yet holds none.
pub async fn count_since(
    js: &jetstream::Context,
    stream: &str,
    subject: &str,
    since: jiff::Timestamp,
) -> Result<u64, String> {
    let Ok(handle) = js.get_stream(stream).await else {
        return Ok(0);
    };
    let start_time = async_nats::datetime::parse_rfc3339(&since.to_string())
        .map_err(|e| format!("{since} as a NATS start time: {e}"))?;
    let consumer = handle
        .create_consumer(jetstream::consumer::pull::OrderedConfig {
            filter_subject: subject.to_owned(),
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartTime { start_time },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("counting {subject} on {stream}: {e}"))?;
    Ok(consumer.cached_info().num_pending)
}

/// When the last message on `subject` of `stream` was stored (RFC 3339, UTC), if any.
pub async fn last_at(js: &jetstream::Context, stream: &str, subject: &str) -> Option<String> {
    let handle = js.get_stream(stream).await.ok()?;
    let message = handle.get_last_raw_message_by_subject(subject).await.ok()?;
    let nanos = message.time.unix_timestamp_nanos();
    jiff::Timestamp::from_nanosecond(nanos)
        .ok()
        .map(|t| switchboard_bus::rfc3339_millis(t.as_millisecond()))
}
