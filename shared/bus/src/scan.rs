//! Reading a slice of a stream: the messages on some subjects from a point on, in stream
//! order, with a bound. The CLI (`rejected list`, `trace`) and workers that look back over
//! recent events (the calls worker's booking link) read this way, through an ordered
//! consumer that JetStream cleans up by itself, so nothing durable is left behind.

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt as _;

/// Every message on `stream` matching any of `subjects` from `deliver` on, in stream order.
/// More than `max` matching messages is an error naming the count: a caller that reads
/// this way wants a slice, not the whole stream.
pub async fn scan(
    js: &jetstream::Context,
    stream: &str,
    subjects: Vec<String>,
    deliver: consumer::DeliverPolicy,
    max: u64,
) -> Result<Vec<jetstream::Message>, String> {
    let handle = js
        .get_stream(stream)
        .await
        .map_err(|e| format!("opening stream {stream}: {e}"))?;
    let what = subjects.join(", ");
    let consumer = handle
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subjects: subjects,
            deliver_policy: deliver,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("reading {what} on {stream}: {e}"))?;
    let pending = consumer.cached_info().num_pending;
    if pending > max {
        return Err(format!(
            "{pending} messages on {what} in {stream}; more than the {max} read at once: narrow the range"
        ));
    }
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| format!("reading {what} on {stream}: {e}"))?;
    let mut out = Vec::with_capacity(usize::try_from(pending).unwrap_or(0));
    for _ in 0..pending {
        let Some(message) = messages.next().await else {
            break;
        };
        out.push(message.map_err(|e| format!("reading {what} on {stream}: {e}"))?);
    }
    Ok(out)
}
