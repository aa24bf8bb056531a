//! Calls worker throughput against ServiceTitan's rate limit:
//! `cargo bench -p switchboard-e2e --bench calls_throughput`
//! (`BENCH_OUTCOMES` per tenant for the backlog, default 600; `BENCH_RATE` outcomes/s for
//! the latency phase, default 100; `BENCH_SECS` for it, default 15).
//!
//! A real nats-server and st-sim (in process) with five tenants, each allowed 60 requests/s
//! per app key, each holding thousands of Unbooked calls. The release-built worker logic
//! runs in process with its default settings (batch 16, export poll 10 s) and the tenants'
//! `rate_limit_per_sec = 60`. Outcomes (`booked`, carrying the ServiceTitan call id, as the
//! router would publish them) go straight onto `EVENTS`; an outcome counts as completed
//! when its `call.reclassified` event appears (after ServiceTitan's 200 to the PUT).
//!
//! 1. **Backlog**: `BENCH_OUTCOMES` outcomes per tenant at once, interleaved; prints
//!    outcomes/s, ServiceTitan requests per outcome by operation, 429s, and the share of the
//!    combined limit (5 × 60/s) spent on completed confirmations.
//! 2. **Latency**: `BENCH_RATE` outcomes/s offered open-loop (spread over the tenants) for
//!    `BENCH_SECS`; prints p50/p99/max from publish to `call.reclassified`.

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_bus::async_nats;
use switchboard_e2e::Stack;
use switchboard_test_support::bench::env_u64;

const TENANTS: u64 = 5;
const LIMIT: u32 = 60;
const CALLS_PER_TENANT: i64 = 4000;
const BASE_TENANT_ID: u64 = 1234567;

fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let mut toml = format!(
        "[nats]\nurl = \"{nats}\"\n[doctor]\nat_start = false\n[calls]\nlisten = \"127.0.0.1:0\"\n"
    );
    for i in 0..TENANTS {
        toml.push_str(&format!(
            "[tenants.t{i}.servicetitan]\nenvironment = \"integration\"\ntenant_id = {}\nclient_id = \"cid.bench-{i}\"\n\
             client_secret = \"cs1.demo-hvac-client-secret\"\napp_key = \"ak1.demo-switchboard-app-key\"\n\
             api_base = \"{sim}\"\nauth_base = \"{sim}\"\nrate_limit_per_sec = {LIMIT}\n\
             [tenants.t{i}.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n",
            BASE_TENANT_ID + i
        ));
    }
    toml.parse::<switchboard_config::Config>().unwrap()
}

fn outcome_event(tenant: u64, call_id: i64, n: u64) -> (String, Vec<u8>) {
    let id = format!("bench-{tenant}-{call_id}-{n}");
    let event = serde_json::json!({"specversion": "1.0", "id": id, "source": format!("/switchboard/t{tenant}/agent"),
        "type": "call.outcome", "subject": format!("ag-{call_id}"), "time": "2026-11-23T12:00:00.000Z",
        "datacontenttype": "application/json", "tenant": format!("t{tenant}"), "inboundid": id,
        "data": {"provider": "agent", "provider_call_id": format!("ag-{call_id}"), "outcome": "booked",
                 "servicetitan": {"call_id": call_id}}});
    (
        format!("events.t{tenant}.call.outcome"),
        serde_json::to_vec(&event).unwrap(),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[allow(clippy::print_stdout)]
fn main() {
    let per_tenant = env_u64("BENCH_OUTCOMES", 600) as i64;
    let rate = env_u64("BENCH_RATE", 100);
    let secs = env_u64("BENCH_SECS", 15);
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async move {
        // nats-server, st-sim with five tenants, and the calls worker (waited for).
        let stack = Stack::builder(config)
            .seed(|seed| {
            seed.settings.rate_limit_per_sec = LIMIT;
            let template = seed.tenants[0].clone();
            let call = template.calls.iter().find(|c| c.id == 9003).unwrap().clone();
            seed.tenants = (0..TENANTS)
                .map(|i| {
                    let mut t = template.clone();
                    t.tenant_id = BASE_TENANT_ID + i;
                    t.client_id = format!("cid.bench-{i}");
                    t.webhook = None;
                    for k in 0..CALLS_PER_TENANT {
                        let mut c = call.clone();
                        c.id = 100_000 + k;
                        c.version = 1000 + k as u64;
                        c.from = format!("+1512600{k:04}");
                        c.location_id = Some(201 + k % 6);
                        c.customer_id = Some(101 + k % 6);
                        t.calls.push(c);
                    }
                    t
                })
                .collect();
            })
            .calls()
            .start()
            .await;
        let (nats, sim) = (&stack.nats, &stack.sim);
        // The first export pass (calls, locations, contacts) of every tenant.
        let synced = switchboard_test_support::eventually(Duration::from_secs(60), || async {
            sim.requests().await["counts"]["export location contacts"]
                .as_u64()
                .unwrap_or(0)
                >= TENANTS
        })
        .await;
        assert!(synced, "the worker never followed the exports");

        let client = nats.client().await;
        let js = async_nats::jetstream::new(client.clone());
        let done: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let mut sub = client.subscribe("events.*.call.reclassified").await.unwrap();
        let seen = done.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
                let id = v["data"]["outcome_event_id"].as_str().unwrap_or("").to_owned();
                seen.lock().unwrap().insert(id, Instant::now());
            }
        });

        // ---- 1. backlog ----
        sim.reset_requests().await;
        let started = Instant::now();
        let mut ids = Vec::new();
        for k in 0..per_tenant {
            for t in 0..TENANTS {
                let (subject, payload) = outcome_event(t, 100_000 + k, 1);
                ids.push(format!("bench-{t}-{}-1", 100_000 + k));
                js.publish(subject, payload.into()).await.unwrap().await.unwrap();
            }
        }
        let total = ids.len();
        let completed = switchboard_test_support::eventually(Duration::from_secs(600), || async {
            done.lock().unwrap().len() >= total
        })
        .await;
        let last = done.lock().unwrap().values().max().copied().unwrap();
        let elapsed = last - started;
        let requests = sim.requests().await;
        let n = done.lock().unwrap().len();
        let per_sec = n as f64 / elapsed.as_secs_f64();
        let counts = requests["counts"].as_object().cloned().unwrap_or_default();
        let work: u64 = ["get call", "update call"]
            .iter()
            .map(|op| counts.get(*op).and_then(|v| v.as_u64()).unwrap_or(0))
            .sum();
        let all: u64 = counts
            .iter()
            .filter(|(k, _)| k.as_str() != "token")
            .map(|(_, v)| v.as_u64().unwrap_or(0))
            .sum();
        println!("backlog: {n}/{total} outcomes completed{} in {:.1} s", if completed { "" } else { " (TIMED OUT)" }, elapsed.as_secs_f64());
        println!("  outcomes/s: {per_sec:.1} (ceiling at 2 requests each: {:.0}/s)", f64::from(LIMIT) * TENANTS as f64 / 2.0);
        println!("  ServiceTitan requests per outcome: {:.2} (read + write: {:.2})", all as f64 / n as f64, work as f64 / n as f64);
        for (op, c) in &counts {
            println!("    {op}: {c}");
        }
        println!("  429s received: {}", requests["rate_limited"]);
        println!(
            "  combined limit used by confirmations: {:.1}% ({:.1} of {} requests/s); all requests: {:.1}%",
            100.0 * work as f64 / elapsed.as_secs_f64() / (f64::from(LIMIT) * TENANTS as f64),
            work as f64 / elapsed.as_secs_f64(),
            LIMIT as u64 * TENANTS,
            100.0 * all as f64 / elapsed.as_secs_f64() / (f64::from(LIMIT) * TENANTS as f64),
        );

        // ---- 2. latency at a fixed offered rate ----
        sim.reset_requests().await;
        let mut published: Vec<(String, Instant)> = Vec::new();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let start = Instant::now();
        let count = rate * secs;
        for i in 0..count {
            let at = start + interval * i as u32;
            tokio::time::sleep_until(at.into()).await;
            let tenant = i % TENANTS;
            let call = 100_000 + per_tenant + (i / TENANTS) as i64;
            let (subject, payload) = outcome_event(tenant, call, 2);
            published.push((format!("bench-{tenant}-{call}-2"), at));
            js.publish(subject, payload.into()).await.unwrap().await.unwrap();
        }
        let all_done = switchboard_test_support::eventually(Duration::from_secs(120), || async {
            let d = done.lock().unwrap();
            published.iter().all(|(id, _)| d.contains_key(id))
        })
        .await;
        let d = done.lock().unwrap().clone();
        let mut latencies: Vec<Duration> = published
            .iter()
            .filter_map(|(id, at)| d.get(id).map(|t| *t - *at))
            .collect();
        latencies.sort();
        let requests = sim.requests().await;
        println!(
            "latency at {rate} outcomes/s offered for {secs} s: {} of {count} completed{}; p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; 429s: {}",
            latencies.len(),
            if all_done { "" } else { " (TIMED OUT)" },
            percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
            requests["rate_limited"],
        );
    });
}
