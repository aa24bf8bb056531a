//! How long `switchboard trace` takes at a month of a busy tenant's traffic:
//! `cargo bench -p switchboard-ops --bench trace`
//!
//! Preloads a real nats-server (file store) with `BENCH_CALLS` calls (default 15000: a
//! busy business's month, 500 a day) of one tenant, each one delivery and six events on
//! INBOUND and EVENTS as ingest and the router write them, beside `BENCH_OTHER` (default
//! 200000) events of other tenants. Then measures, for a call in the middle of the month:
//! - raw: reading the tenant's INBOUND and EVENTS messages of the month through the same
//!   subject-filtered ordered consumers and nothing else (the JetStream floor);
//! - trace: `switchboard_cli::trace::collect`, everything included (parsing, matching,
//!   following, the DLQ, the KV lookups).
//!
//! Prints milliseconds for both and the ratio trace ÷ raw.

use std::time::{Duration, Instant};
use switchboard_bus::async_nats::jetstream;
use switchboard_ops::TraceQuery;
use switchboard_test_support::NatsServer;
use switchboard_test_support::bench::env_u64;

const KINDS: [&str; 6] = [
    "call.started",
    "call.answered",
    "call.completed",
    "call.recording.ready",
    "call.outcome",
    "call.reclassified",
];

async fn publish_all(js: &jetstream::Context, messages: impl Iterator<Item = (String, Vec<u8>)>) {
    let mut pending = std::collections::VecDeque::new();
    for (subject, payload) in messages {
        pending.push_back(js.publish(subject, payload.into()).await.unwrap());
        if pending.len() >= 2000 {
            pending.pop_front().unwrap().await.unwrap();
        }
    }
    for ack in pending {
        ack.await.unwrap();
    }
}

fn event(tenant: &str, call: usize, k: usize) -> (String, Vec<u8>) {
    let kind = KINDS[k];
    let id = format!("evt_{tenant}_{call}_{k}");
    let data = match kind {
        "call.reclassified" => {
            serde_json::json!({"outcome_event_id": format!("evt_{tenant}_{call}_4"),
            "provider_call_id": format!("CA{call:08}"), "st_call_id": 100_000 + call,
            "before": {"call_type": "Unbooked"}, "after": {"call_type": "Booked", "job_id": 500_000 + call}})
        }
        _ => serde_json::json!({"provider": "twilio", "provider_call_id": format!("CA{call:08}"),
            "from": format!("+1512{:07}", call % 9_000_000), "to": "+15125550000", "outcome": "booked"}),
    };
    let body = serde_json::json!({"specversion": "1.0", "id": id, "source": format!("/switchboard/{tenant}/twilio"),
        "type": kind, "subject": format!("CA{call:08}"), "time": "2026-11-20T17:21:20Z", "tenant": tenant,
        "inboundid": format!("{tenant}:twilio:CA{call:08}:{k}"), "data": data});
    (
        format!("events.{tenant}.{kind}"),
        serde_json::to_vec(&body).unwrap(),
    )
}

#[allow(clippy::print_stdout)] // a bench prints its figures
fn main() {
    let calls = env_u64("BENCH_CALLS", 15_000) as usize;
    let other = env_u64("BENCH_OTHER", 200_000) as usize;
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async {
        let nats = NatsServer::start();
        let client = nats.client().await;
        let js = jetstream::new(client.clone());
        let config: switchboard_config::Config = format!("[nats]\nurl = \"{}\"\n", nats.url()).parse().unwrap();
        for stream in [
            switchboard_bus::inbound_stream_config(&config.nats),
            switchboard_bus::events_stream_config(&config.nats),
        ] {
            switchboard_bus::ensure_stream(&js, stream).await.unwrap();
        }
        let started = Instant::now();
        let busy = (0..calls).flat_map(|c| (0..KINDS.len()).map(move |k| event("busy", c, k)));
        let deliveries = (0..calls).map(|c| {
            ("inbound.busy.twilio".to_owned(), format!("CallSid=CA{c:08}&CallStatus=completed").into_bytes())
        });
        let others = (0..other).map(|i| event(&format!("t{}", i % 50), i, i % KINDS.len()));
        publish_all(&js, busy.chain(deliveries).chain(others)).await;
        println!(
            "preloaded {} messages ({calls} calls of tenant busy, {other} events of 50 other tenants) in {:.1} s",
            calls * (KINDS.len() + 1) + other,
            started.elapsed().as_secs_f64()
        );

        let month = Duration::from_secs(31 * 86_400);
        let start = switchboard_bus::async_nats::datetime::parse_rfc3339(
            &(jiff::Timestamp::now() - jiff::SignedDuration::try_from(month).unwrap()).to_string(),
        )
        .unwrap();
        let raw = Instant::now();
        let mut read = 0;
        for (stream, subject) in [("EVENTS", "events.busy.>"), ("INBOUND", "inbound.busy.>")] {
            read += switchboard_bus::scan::scan(
                &js,
                stream,
                vec![subject.into()],
                jetstream::consumer::DeliverPolicy::ByStartTime { start_time: start },
                10_000_000,
            )
            .await
            .unwrap()
            .len();
        }
        let raw = raw.elapsed();

        let key = format!("CA{:08}", calls / 2);
        let query = TraceQuery { tenant: "busy".into(), key: key.clone(), since: month };
        let traced = Instant::now();
        let entries = switchboard_ops::collect(&js, &query).await.unwrap();
        let traced = traced.elapsed();
        assert!(entries.len() > KINDS.len(), "{entries:?}");
        println!("raw:   {read} messages of tenant busy read in {} ms", raw.as_millis());
        println!("trace: `{key}` → {} entries in {} ms", entries.len(), traced.as_millis());
        println!("trace ÷ raw: {:.2}", traced.as_secs_f64() / raw.as_secs_f64());
    });
}
