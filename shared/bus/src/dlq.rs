//! Dead letters: what a consumer could not process, recorded on `dlq.{stream}.{consumer}`
//! with the reason and a pointer to the original (stream + sequence), so an operator can
//! inspect it and replay it after a fix (`switchboard dlq …`).
//!
//! The consumer runtime ([`crate::consumer`]) dead-letters a message when its handler says
//! the failure is permanent (a malformed payload, an impossible request), or when a
//! transient failure outlasts `max_deliver`; then it terminates it (`+TERM`) so JetStream
//! stops redelivering it.

use async_nats::jetstream;
use serde::{Deserialize, Serialize};

/// Stream of dead letters.
pub const DLQ_STREAM: &str = "DLQ";

/// `dlq.{stream}.{consumer}`.
pub fn dlq_subject(stream: &str, consumer: &str) -> String {
    format!("dlq.{stream}.{consumer}")
}

/// One dead letter (the JSON payload of a DLQ message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// A bare code operators filter on (`malformed`, `max_deliveries`, `call_not_found`,
    /// …; docs/runbook.md lists every one). The detail is in `error`.
    pub reason: String,
    /// What went wrong, for a human.
    pub error: String,
    /// Where the original is.
    pub stream: String,
    pub stream_seq: u64,
    pub subject: String,
    pub consumer: String,
    pub deliveries: u64,
    /// RFC 3339 UTC.
    pub failed_at: String,
    /// The original's `Nats-Msg-Id`, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_msg_id: Option<String>,
}

impl DeadLetter {
    /// The dead letter for `message`, delivered on `stream` to `consumer`.
    pub fn for_message(
        message: &jetstream::Message,
        stream: &str,
        consumer: &str,
        reason: String,
        error: String,
    ) -> Self {
        let (stream_seq, deliveries) = message
            .info()
            .map(|i| (i.stream_sequence, i.delivered as u64))
            .unwrap_or((0, 1));
        Self {
            reason,
            error,
            stream: stream.into(),
            stream_seq,
            subject: message.subject.to_string(),
            consumer: consumer.into(),
            deliveries,
            failed_at: crate::rfc3339_millis(now_ms()),
            // A replayed message points at the original's id, as the replay itself does.
            original_msg_id: message
                .headers
                .as_ref()
                .and_then(|h| {
                    h.get(crate::headers::ORIGINAL_MSG_ID)
                        .or_else(|| h.get(crate::headers::MSG_ID))
                })
                .map(|v| v.to_string()),
        }
    }

    /// The dedup id: one dead letter per original message and consumer, however often the
    /// recording is retried.
    pub fn msg_id(&self) -> String {
        format!("dlq:{}:{}:{}", self.stream, self.consumer, self.stream_seq)
    }
}

/// Stream config for DLQ.
pub fn dlq_stream_config(config: &switchboard_config::NatsConfig) -> jetstream::stream::Config {
    crate::file_stream(
        config,
        DLQ_STREAM,
        "Switchboard: messages a consumer could not process, with the reason",
        "dlq.>",
    )
}

/// Records `letter` and waits for the PubAck.
pub async fn publish_dead_letter(
    js: &jetstream::Context,
    letter: &DeadLetter,
) -> Result<(), String> {
    let payload = serde_json::to_vec(letter).map_err(|e| e.to_string())?;
    let message = jetstream::message::PublishMessage::build()
        .payload(payload.into())
        .message_id(letter.msg_id())
        .expected_stream(DLQ_STREAM);
    js.send_publish(dlq_subject(&letter.stream, &letter.consumer), message)
        .await
        .map_err(|e| e.to_string())?
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
