//! The analytics service end to end: `cargo bench -p switchboard-e2e --bench analytics_service`
//! (`BENCH_CALLS`, default 1,000,000; `BENCH_EVENTS`, default 500).
//!
//! A real nats-server. A tenant-month of `BENCH_CALLS` calls (30 days of March 2026,
//! America/Chicago, both views, ~2 % disagreeing) is written into the `ANALYTICS_FACTS`
//! bucket, then the service starts (debounce 0, no ServiceTitan sweep) and:
//!
//! 1. **load**: time until it is ready (every fact read into the engine) and has published
//!    every day's snapshot and every open discrepancy; peak RSS of this process (the
//!    service, plus the small client side of the bench);
//! 2. **one event**: `BENCH_EVENTS` times, one `call.outcome` for a new call is published on
//!    EVENTS and the time until that day's snapshot showing it arrives on ANALYTICS is
//!    measured — consumer, facts merge (KV compare-and-set), watch, engine, recompute of the
//!    day, discrepancy diff, publish. Prints p50/p99/max.

use futures_util::StreamExt;
use std::time::{Duration, Instant};
use switchboard_analytics::translate::StoredFacts;
use switchboard_analytics::{AgentView, CallFacts, StView};
use switchboard_bus::bucket::{Bucket, key_token};
use switchboard_config::CallClass;
use switchboard_e2e::{Service, Stack};
use switchboard_test_support::bench::env_u64;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

const CLASSES: [CallClass; 5] = [
    CallClass::Booked,
    CallClass::Booked,
    CallClass::Unbooked,
    CallClass::Excused,
    CallClass::NotLead,
];

/// Call `i` of `n`, spread evenly over the 30 days from `start`.
fn facts(i: u64, n: u64, start: jiff::Timestamp) -> StoredFacts {
    let started_at = start + jiff::SignedDuration::from_secs((i * 2_592_000 / n) as i64);
    let class = CLASSES[(i % 5) as usize];
    let st_class = if i.is_multiple_of(50) {
        CallClass::Unbooked
    } else {
        class
    };
    StoredFacts {
        call: format!("ag_{i}"),
        st_call_id: Some(1_000_000 + i as i64),
        facts: CallFacts {
            agent: Some(AgentView {
                class,
                reason: Some("Service Call".into()),
                job_id: (class == CallClass::Booked).then_some(i as i64),
                agent: Some(format!("agent-{}", i % 20)),
                business_unit: Some(format!("bu-{}", i % 5)),
                campaign: Some(format!("campaign-{}", i % 10)),
                started_at,
                observed_at: started_at + jiff::SignedDuration::from_secs(300),
            }),
            servicetitan: Some(StView {
                class: Some(st_class),
                started_at,
                observed_at: started_at + jiff::SignedDuration::from_secs(400),
            }),
        },
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    let calls = env_u64("BENCH_CALLS", 1_000_000);
    let events = env_u64("BENCH_EVENTS", 500);
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async move {
        // nats-server (and st-sim, unused: no ServiceTitan sweep) first; analytics starts
        // once the facts are written.
        let config = |nats: &str, _: &str| {
            let toml = format!(
                "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 30\n[analytics]\nlisten = \"127.0.0.1:0\"\ndebounce_ms = 0\n\
                 [tenants.demo]\ntimezone = \"America/Chicago\"\n"
            );
            toml.parse::<switchboard_config::Config>().unwrap()
        };
        let mut stack = Stack::builder(config).start().await;
        let client = stack.nats.client().await;
        let js = switchboard_bus::jetstream(client.clone(), Duration::from_secs(30));
        let bucket = Bucket::open(&js, "ANALYTICS_FACTS", "bench", 1, None).await.unwrap();
        let start: jiff::Timestamp = "2026-03-01T06:00:00Z".parse().unwrap();
        let t = Instant::now();
        let mut acks = futures_util::stream::FuturesUnordered::new();
        for i in 0..calls {
            let f = facts(i, calls, start);
            let subject = format!("$KV.ANALYTICS_FACTS.demo.{}", key_token(&f.call));
            acks.push(js.publish(subject, serde_json::to_vec(&f).unwrap().into()).await.unwrap().into_future());
            if acks.len() >= 4096 {
                acks.next().await.unwrap().unwrap();
            }
        }
        while let Some(a) = acks.next().await {
            a.unwrap();
        }
        drop(bucket);
        println!("wrote {calls} facts into ANALYTICS_FACTS in {:.1} s (bench set-up)", t.elapsed().as_secs_f64());

        let config = stack.config();
        let mut snapshots = client.subscribe("analytics.demo.booking_rate.>").await.unwrap();
        let t = Instant::now();
        // Built, run and waited for (`/readyz`: every fact read into the engine).
        let url = stack.start_service(Service::Analytics, config).await;
        let http = stack.http.clone();
        let ready = t.elapsed();
        let expected_open = calls.div_ceil(50);
        let metric = |name: &'static str| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
                text.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok()))
                    .unwrap_or(0)
            }
        };
        let published = switchboard_test_support::eventually(Duration::from_secs(600), || async {
            metric("switchboard_analytics_discrepancies_published_total{status=\"open\"}").await >= expected_open
                && metric("switchboard_analytics_snapshots_published_total").await >= 30
        })
        .await;
        let loaded = t.elapsed();
        println!(
            "load: ready (all facts in the engine) after {:.2} s; every snapshot and {} open discrepancies published after {:.2} s{}",
            ready.as_secs_f64(),
            expected_open,
            loaded.as_secs_f64(),
            if published { "" } else { " (TIMED OUT)" }
        );
        println!("peak RSS of the process after load: {:.0} MiB", peak_rss_mib());
        // Drain what the initial publish sent.
        while tokio::time::timeout(Duration::from_millis(500), snapshots.next()).await.is_ok() {}

        let publish_seconds = || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let text = http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap();
                let value = |name: &str| {
                    text.lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
                        .unwrap_or(0.0)
                };
                (
                    value("switchboard_analytics_publish_seconds_sum"),
                    value("switchboard_analytics_publish_seconds_count"),
                )
            }
        };
        let before = publish_seconds().await;
        let mut latencies = Vec::new();
        for n in 0..events {
            let day = 10 + (n % 10);
            let at = format!("2026-03-{day:02}T18:00:00Z");
            let event = serde_json::json!({"specversion": "1.0", "id": format!("evt_bench_{n}"), "source": "/switchboard/demo/agent",
                "type": "call.outcome", "time": at, "datacontenttype": "application/json", "tenant": "demo", "inboundid": "x",
                "data": {"provider": "agent", "provider_call_id": format!("new_{n}"), "outcome": "booked", "started_at": at}});
            let subject = format!("analytics.demo.booking_rate.2026-03-{day:02}");
            let sent = Instant::now();
            js.publish("events.demo.call.outcome", serde_json::to_vec(&event).unwrap().into())
                .await
                .unwrap()
                .await
                .unwrap();
            loop {
                let m = tokio::time::timeout(Duration::from_secs(10), snapshots.next())
                    .await
                    .expect("snapshot within 10 s")
                    .unwrap();
                if m.subject.as_str() == subject {
                    break;
                }
            }
            latencies.push(sent.elapsed());
        }
        latencies.sort();
        let p = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
        println!(
            "one event → its day's snapshot on ANALYTICS ({events} events, ~{} calls per day): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            calls / 30,
            p(0.5).as_secs_f64() * 1000.0,
            p(0.99).as_secs_f64() * 1000.0,
            latencies.last().unwrap().as_secs_f64() * 1000.0,
        );
        let after = publish_seconds().await;
        println!(
            "  of which recomputing the day and publishing (service histogram): mean {:.2} ms",
            1000.0 * (after.0 - before.0) / (after.1 - before.1).max(1.0),
        );
        println!("peak RSS of the process at the end: {:.0} MiB", peak_rss_mib());
    });
}
