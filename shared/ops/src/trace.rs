//! The trail of one call (`switchboard trace TENANT KEY`, the console's trace view): everything Switchboard recorded
//! about one call, in time order — the deliveries (INBOUND), the events they became
//! (EVENTS), dead letters (DLQ), the calls worker's ledger and its ServiceTitan writes with
//! before and after (`call.reclassified` / `call.confirmed`), ServiceTitan's record as the
//! calls worker mirrors it, bookings (their events and first answers), and analytics' facts
//! and open discrepancy. KEY is whatever the operator has: a provider call id, a
//! ServiceTitan call or job id, a phone number, an event id or a tool request id.
//!
//! How it reads (docs/runbook.md says how long each record is kept):
//! - EVENTS and INBOUND through subject filters (`events.{tenant}.>`, `inbound.{tenant}.>`)
//!   from `now - since`, so JetStream walks only the tenant's messages of that period
//!   ([`switchboard_bus::scan`]); the events are matched and followed in memory
//!   ([`trail::select`]), the deliveries by the `inboundid` their events name or by a
//!   call id in their raw bytes (a delivery the router could not read has no event);
//! - the DLQ whole (it is small, and a dead letter points at its original by sequence);
//! - KV entries by key (`CALLS_LEDGER`, `ST_CALLS`, `BOOKING_ANSWERS`, `ANALYTICS_FACTS`,
//!   `ANALYTICS_STATE`), each a direct get.
//!
//! Reads only.

use crate::trail::{self, Entry, IdKind, of_kind};
use anyhow::Context as _;
use async_nats::jetstream;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_bus::bucket::key_token;
use switchboard_bus::dlq::{DLQ_STREAM, DeadLetter};

/// Messages read per stream at most: a month of a busy tenant's traffic fits many times.
const MAX_READ: u64 = 2_000_000;

/// What `trace` looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceQuery {
    pub tenant: String,
    pub key: String,
    /// How far back to read the streams.
    pub since: Duration,
}

/// The whole trail of `query`, in time order.
pub async fn collect(js: &jetstream::Context, query: &TraceQuery) -> anyhow::Result<Vec<Entry>> {
    let tenant = query.tenant.as_str();
    anyhow::ensure!(
        !tenant.is_empty() && !tenant.contains(['.', '*', '>', ' ']),
        "`{tenant}` is not a tenant name"
    );
    let from = jiff::Timestamp::now()
        - jiff::SignedDuration::try_from(query.since).context("--since is too long")?;
    let start = async_nats::datetime::parse_rfc3339(&from.to_string())
        .map_err(|e| anyhow::anyhow!("{from} as a NATS start time: {e}"))?;
    let deliver = || jetstream::consumer::DeliverPolicy::ByStartTime { start_time: start };

    // EVENTS: match and follow.
    let raw_events = scan_or_empty(js, "EVENTS", format!("events.{tenant}.>"), deliver()).await?;
    let parsed: Vec<Value> = raw_events
        .iter()
        .map(|m| serde_json::from_slice(&m.payload).unwrap_or(Value::Null))
        .collect();
    let (chosen, ids) = trail::select(&parsed, &query.key);
    let mut entries = Vec::new();
    let mut seqs: BTreeSet<(String, u64)> = BTreeSet::new();
    for i in &chosen {
        let (m, event) = (&raw_events[*i], &parsed[*i]);
        let seq = seq_of(m);
        seqs.insert(("EVENTS".into(), seq));
        entries.push(Entry {
            at: published(m),
            kind: "event",
            at_ref: format!("EVENTS #{seq}"),
            summary: trail::event_summary(event),
            detail: event.clone(),
        });
    }

    // INBOUND: the deliveries the events came from, and any whose bytes name a call.
    let inbound_ids: BTreeSet<&str> = of_kind(&ids, IdKind::Inbound).into_iter().collect();
    let mut needles: Vec<String> = of_kind(&ids, IdKind::ProviderCall)
        .into_iter()
        .map(str::to_owned)
        .collect();
    needles.extend(trail::key_forms(&query.key));
    needles.retain(|n| n.len() >= 6);
    let deliveries = scan_or_empty(js, "INBOUND", format!("inbound.{tenant}.>"), deliver()).await?;
    for m in &deliveries {
        let msg_id = header(m, switchboard_bus::headers::MSG_ID).unwrap_or_default();
        let named = inbound_ids.contains(msg_id.as_str())
            || needles.iter().any(|n| contains(&m.payload, n.as_bytes()));
        if !named {
            continue;
        }
        let seq = seq_of(m);
        seqs.insert(("INBOUND".into(), seq));
        entries.push(Entry {
            at: published(m),
            kind: "inbound",
            at_ref: format!("INBOUND #{seq}"),
            summary: format!(
                "delivery {msg_id} on {} ({} bytes)",
                m.subject,
                m.payload.len()
            ),
            detail: json!({
                "subject": m.subject.to_string(),
                "msg_id": msg_id,
                "received_at": header(m, switchboard_bus::headers::RECEIVED_AT),
                "content_type": header(m, switchboard_bus::headers::CONTENT_TYPE),
                "body": String::from_utf8_lossy(&m.payload),
            }),
        });
    }

    // DLQ: dead letters of those messages.
    let event_ids: BTreeSet<&str> = of_kind(&ids, IdKind::Event).into_iter().collect();
    for m in scan_or_empty(
        js,
        DLQ_STREAM,
        "dlq.>".into(),
        jetstream::consumer::DeliverPolicy::All,
    )
    .await?
    {
        let Ok(letter) = serde_json::from_slice::<DeadLetter>(&m.payload) else {
            continue;
        };
        let original = letter.original_msg_id.as_deref().unwrap_or("");
        if seqs.contains(&(letter.stream.clone(), letter.stream_seq))
            || inbound_ids.contains(original)
            || event_ids.contains(original)
        {
            entries.push(Entry {
                at: published(&m),
                kind: "dead_letter",
                at_ref: format!("DLQ #{}", seq_of(&m)),
                summary: format!(
                    "{} #{} given up by {}: {} ({})",
                    letter.stream, letter.stream_seq, letter.consumer, letter.reason, letter.error
                ),
                detail: serde_json::to_value(&letter)?,
            });
        }
    }

    entries.extend(kv_entries(js, tenant, &ids).await?);
    Ok(trail::in_order(entries))
}

/// The KV records of the identifiers: the calls ledger (each event's claim, each call's
/// ServiceTitan id), ServiceTitan's call as mirrored, booking answers, analytics' facts and
/// open discrepancies.
async fn kv_entries(
    js: &jetstream::Context,
    tenant: &str,
    ids: &BTreeSet<trail::Id>,
) -> anyhow::Result<Vec<Entry>> {
    let ledger_key = |k: &str| k.split('.').map(key_token).collect::<Vec<_>>().join(".");
    let mut wanted: Vec<(&'static str, &'static str, String)> = Vec::new();
    for event in of_kind(ids, IdKind::Event) {
        wanted.push(("ledger", "CALLS_LEDGER", ledger_key(event)));
        wanted.push((
            "ledger",
            "CALLS_LEDGER",
            ledger_key(&format!("written.{event}")),
        ));
    }
    for call in of_kind(ids, IdKind::StCall) {
        wanted.push((
            "ledger",
            "CALLS_LEDGER",
            ledger_key(&format!("corrst.{tenant}.{call}")),
        ));
        wanted.push(("servicetitan_call", "ST_CALLS", format!("{tenant}.{call}")));
        wanted.push((
            "fact",
            "ANALYTICS_FACTS",
            format!("{tenant}.{}", key_token(&format!("st:{call}"))),
        ));
    }
    for call in of_kind(ids, IdKind::ProviderCall) {
        wanted.push((
            "fact",
            "ANALYTICS_FACTS",
            format!("{tenant}.{}", key_token(call)),
        ));
        wanted.push((
            "discrepancy",
            "ANALYTICS_STATE",
            format!("disc.{tenant}.{}", key_token(call)),
        ));
    }
    for request in of_kind(ids, IdKind::Request) {
        wanted.push((
            "booking_answer",
            "BOOKING_ANSWERS",
            format!("{tenant}.{}", key_token(request)),
        ));
    }
    let mut entries = Vec::new();
    let mut stores = std::collections::HashMap::new();
    for (kind, bucket, key) in wanted {
        if !stores.contains_key(bucket) {
            // A bucket that does not exist yet (that service never ran) has nothing.
            stores.insert(bucket, js.get_key_value(bucket).await.ok());
        }
        let Some(Some(store)) = stores.get(bucket) else {
            continue;
        };
        let entry = store
            .entry(key.clone())
            .await
            .with_context(|| format!("reading {key} from KV bucket {bucket}"))?;
        let Some(entry) =
            entry.filter(|e| e.operation == async_nats::jetstream::kv::Operation::Put)
        else {
            continue;
        };
        let value: Value = serde_json::from_slice(&entry.value)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&entry.value).into_owned()));
        entries.push(Entry {
            at: rfc3339_nanos(entry.created.unix_timestamp_nanos()),
            kind,
            at_ref: format!("{bucket} {key}"),
            summary: kv_summary(kind, &value),
            detail: value,
        });
    }
    Ok(entries)
}

fn kv_summary(kind: &str, value: &Value) -> String {
    let compact = |v: &Value| {
        let s = v.to_string();
        if s.chars().count() > 100 {
            format!("{}…", s.chars().take(100).collect::<String>())
        } else {
            s
        }
    };
    match kind {
        "ledger" => format!("calls ledger: {}", compact(value)),
        "servicetitan_call" => format!("ServiceTitan's call now (mirror): {}", compact(value)),
        "booking_answer" => format!(
            "first answer to the tool request: {}",
            compact(value.get("reply").unwrap_or(value))
        ),
        "fact" => format!("analytics facts: {}", compact(value)),
        "discrepancy" => format!("open discrepancy: {}", compact(value)),
        _ => compact(value),
    }
}

async fn scan_or_empty(
    js: &jetstream::Context,
    stream: &str,
    subject: String,
    deliver: jetstream::consumer::DeliverPolicy,
) -> anyhow::Result<Vec<jetstream::Message>> {
    if js.get_stream(stream).await.is_err() {
        return Ok(Vec::new());
    }
    switchboard_bus::scan::scan(js, stream, vec![subject], deliver, MAX_READ)
        .await
        .map_err(anyhow::Error::msg)
}

fn seq_of(m: &jetstream::Message) -> u64 {
    m.info().map(|i| i.stream_sequence).unwrap_or(0)
}

fn published(m: &jetstream::Message) -> String {
    m.info()
        .map(|i| rfc3339_nanos(i.published.unix_timestamp_nanos()))
        .unwrap_or_default()
}

fn rfc3339_nanos(nanos: i128) -> String {
    jiff::Timestamp::from_nanosecond(nanos)
        .map(|t| switchboard_bus::rfc3339_millis(t.as_millisecond()))
        .unwrap_or_default()
}

fn header(m: &jetstream::Message, name: &str) -> Option<String> {
    m.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.to_string())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
