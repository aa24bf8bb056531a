//! Dead letters: listing them, and replaying one in front of its consumer.
//!
//! **Replay** re-publishes the original message (read from its stream by sequence) to its
//! original subject, in front of its consumer again, with the original's `Nats-Msg-Id` in
//! `Switchboard-Original-Msg-Id` — so the consumer produces exactly the ids it would have
//! the first time, and a replayed delivery can never yield a duplicate event. The replay's
//! own `Nats-Msg-Id` is `{original}#replay-{ID}`, so running the same replay twice stores
//! it once. The dead letter is removed once the stream has accepted the replay; if the
//! consumer fails again, it records a new dead letter.

use anyhow::Context as _;
use async_nats::jetstream;
use switchboard_bus::async_nats;
use switchboard_bus::dlq::{DLQ_STREAM, DeadLetter};
use switchboard_bus::headers as h;

/// Every dead letter currently in the DLQ stream, with its ID.
pub async fn dead_letters(js: &jetstream::Context) -> anyhow::Result<Vec<(u64, DeadLetter)>> {
    let mut stream = js
        .get_stream(DLQ_STREAM)
        .await
        .context("no DLQ stream yet (no dead letters ever)")?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return Ok(out);
    }
    for seq in state.first_sequence..=state.last_sequence {
        let message = match stream.get_raw_message(seq).await {
            Ok(m) => m,
            // Replayed or deleted: a gap in the sequence.
            Err(e)
                if matches!(
                    e.kind(),
                    async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound
                ) =>
            {
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context(format!("read dead letter {seq}"))),
        };
        let letter: DeadLetter = serde_json::from_slice(&message.payload)
            .with_context(|| format!("dead letter {seq} is not a Switchboard dead letter"))?;
        out.push((seq, letter));
    }
    Ok(out)
}

/// Dead letter `id`.
pub async fn find(js: &jetstream::Context, id: u64) -> anyhow::Result<DeadLetter> {
    let stream = js.get_stream(DLQ_STREAM).await.context("no DLQ stream")?;
    let message = stream.get_raw_message(id).await.with_context(|| {
        format!("no dead letter {id} (already replayed or purged? see `dlq list`)")
    })?;
    serde_json::from_slice(&message.payload)
        .with_context(|| format!("dead letter {id} is not a Switchboard dead letter"))
}

/// Re-publishes one dead letter's original and removes the dead letter.
pub async fn replay_one(js: &jetstream::Context, id: u64) -> anyhow::Result<DeadLetter> {
    let letter = find(js, id).await?;
    let original_stream = js
        .get_stream(&letter.stream)
        .await
        .with_context(|| format!("stream {} is gone", letter.stream))?;
    let original = original_stream
        .get_raw_message(letter.stream_seq)
        .await
        .with_context(|| {
            format!(
                "the original ({} #{}) is no longer in its stream (retention?): nothing to replay",
                letter.stream, letter.stream_seq
            )
        })?;
    let mut headers = original.headers.clone();
    let original_id = headers
        .get(h::ORIGINAL_MSG_ID)
        .or_else(|| headers.get(h::MSG_ID))
        .map(|v| v.to_string())
        .or(letter.original_msg_id.clone())
        .unwrap_or_else(|| format!("{}:{}", letter.stream, letter.stream_seq));
    headers.insert(h::ORIGINAL_MSG_ID, original_id.as_str());
    headers.insert(h::MSG_ID, format!("{original_id}#replay-{id}").as_str());
    js.publish_with_headers(
        original.subject.to_string(),
        headers,
        original.payload.clone(),
    )
    .await
    .context("publish the replay")?
    .await
    .context("the stream did not acknowledge the replay; the dead letter is kept")?;
    js.get_stream(DLQ_STREAM)
        .await?
        .delete_message(id)
        .await
        .context("remove the replayed dead letter")?;
    Ok(letter)
}
