//! Dead letters: what a consumer could not process, recorded on `dlq.{stream}.{consumer}`
//! with the reason and a pointer to the original (stream + sequence), so an operator can
//! inspect it and replay it after a fix (`switchboard dlq …`).
//!
//! A consumer dead-letters a message when the failure is permanent (a malformed payload,
//! an impossible request) and then terminates it (`+TERM`), so JetStream stops redelivering
//! it; transient failures are NAKed with a delay instead.

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
    /// `malformed`, `max_deliveries`, `permanent_error`.
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
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            reason,
            error,
            stream: stream.into(),
            stream_seq,
            subject: message.subject.to_string(),
            consumer: consumer.into(),
            deliveries,
            failed_at: crate::rfc3339_millis(now_ms),
            original_msg_id: message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string()),
        }
    }

    /// The dedup id: one dead letter per original message and consumer, however often the
    /// recording is retried.
    pub fn msg_id(&self) -> String {
        format!("dlq:{}:{}:{}", self.stream, self.consumer, self.stream_seq)
    }
}

/// Dead-letters `message` (delivered from EVENTS to `consumer`) and terminates it, so
/// JetStream stops redelivering it. If the letter cannot be recorded, the message is NAKed
/// with `retry` instead — it is never dropped unrecorded. True if it was dead-lettered.
pub async fn dead_letter_events_message(
    js: &jetstream::Context,
    message: &jetstream::Message,
    consumer: &str,
    reason: String,
    error: String,
    retry: std::time::Duration,
) -> bool {
    let letter = DeadLetter::for_message(message, crate::EVENTS_STREAM, consumer, reason, error);
    match publish_dead_letter(js, &letter).await {
        Ok(()) => {
            tracing::warn!(reason = %letter.reason, error = %letter.error, "dead-lettered");
            let _ = message.ack_with(jetstream::AckKind::Term).await;
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not record dead letter; will retry");
            let _ = message.ack_with(jetstream::AckKind::Nak(Some(retry))).await;
            false
        }
    }
}

/// Stream config for DLQ.
pub fn dlq_stream_config(config: &switchboard_config::NatsConfig) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: DLQ_STREAM.into(),
        description: Some(
            "Switchboard: messages a consumer could not process, with the reason".into(),
        ),
        subjects: vec!["dlq.>".into()],
        storage: jetstream::stream::StorageType::File,
        num_replicas: config.replicas,
        duplicate_window: std::time::Duration::from_secs(config.duplicate_window_secs),
        ..Default::default()
    }
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
