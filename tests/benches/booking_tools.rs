//! The agent's tools through ingest: `cargo bench -p switchboard-e2e --bench booking_tools`
//! (`BENCH_CALLS` find_availability calls, default 400; `BENCH_BOOKINGS` bookings, default
//! 20).
//!
//! A real nats-server, st-sim (demo seed) and ingest and booking in process. Every request
//! is a signed agent tool call over HTTP, as a platform sends it.
//!
//! 1. **Baseline**: the same signed body posted to `/v1/hooks/…` (verify and store on
//!    JetStream, what every tool call also pays): p50/p99.
//! 2. **find_availability** on a warm cache (3 days of AC Repair, asked once before):
//!    p50/p99, and ServiceTitan capacity requests per (business unit, job type, day) in the
//!    run (target ≤ 1 per TTL: the run is shorter than the 30 s TTL).
//! 3. **book_appointment** with st-sim adding 150 ms to every request: p50/p99.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_e2e::{Service, Stack};
use switchboard_test_support::bench::env_u64;
use switchboard_test_support::{Hook, TestScheme, agent_report};

fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    format!(
        "[nats]\nurl = \"{nats}\"\n[doctor]\nat_start = false\n[ingest]\nlisten = \"127.0.0.1:0\"\n[booking]\nlisten = \"127.0.0.1:0\"\n\
         [tenants.demo]\ntimezone = \"America/Chicago\"\n{st}rate_limit_per_sec = 60\n\
         [tenants.demo.booking]\ndefault_campaign = \"Google Local Services\"\nrespect_ideal_booking_percentage = false\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nformat = \"agent\"\nsecrets = [\"{secret}\"]\n"
    )
    .parse()
    .unwrap()
}

fn signed(path: &str, id: &str, body: &Value) -> Hook {
    let mut hook = agent_report("demo", "agent", id, &serde_json::to_vec(body).unwrap());
    hook.path_and_query = path.into();
    hook
}

fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (at(0.5).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

#[allow(clippy::print_stdout)]
fn main() {
    let calls = env_u64("BENCH_CALLS", 400) as usize;
    let bookings = env_u64("BENCH_BOOKINGS", 20) as usize;
    switchboard_test_support::bench::runtime().block_on(async move {
        let stack = Stack::builder(config)
            .service(Service::Ingest)
            .service(Service::Booking)
            .start()
            .await;
        let (http, ingest) = (stack.http.clone(), stack.ingest_url().to_owned());
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap())
            .date();
        let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap().to_string();
        let ask = |n: usize| {
            json!({"tool": "find_availability", "request_id": format!("bench_a{n}"),
                "arguments": {"job_type": "AC Repair", "from": day(1), "to": day(3)}})
        };

        // 1. Baseline: the same body as a webhook.
        let mut baseline = Vec::new();
        for n in 0..calls {
            let hook = signed("/v1/hooks/demo/agent", &format!("bench_h{n}"), &ask(n));
            let started = Instant::now();
            let r = hook.send(&http, &ingest).await.unwrap();
            assert_eq!(r.status(), 200);
            baseline.push(started.elapsed());
        }
        let (b50, b99) = percentiles(baseline);
        println!("baseline  POST /v1/hooks (verify + JetStream):      p50 {b50:6.2} ms  p99 {b99:6.2} ms  ({calls} requests)");

        // 2. find_availability, warm.
        let warm = signed("/v1/tools/demo/agent", "bench_warm", &ask(usize::MAX));
        assert_eq!(warm.send(&http, &ingest).await.unwrap().status(), 200);
        let before = stack.sim.count("query capacity").await;
        let mut latencies = Vec::new();
        let mut windows = Vec::new();
        for n in 0..calls {
            let hook = signed("/v1/tools/demo/agent", &format!("bench_a{n}"), &ask(n));
            let started = Instant::now();
            let r = hook.send(&http, &ingest).await.unwrap();
            latencies.push(started.elapsed());
            let answer: Value = r.json().await.unwrap();
            if n == 0 {
                windows = answer["result"]["windows"].as_array().cloned().unwrap_or_default();
            }
        }
        let asked = stack.sim.count("query capacity").await - before;
        let (p50, p99) = percentiles(latencies);
        println!("find_availability via ingest, warm cache:            p50 {p50:6.2} ms  p99 {p99:6.2} ms  ({calls} requests)");
        println!("  ServiceTitan capacity requests during the run:  {asked} (3 days × 1 business unit × 1 job type; TTL 30 s)");

        // 3. book_appointment with ServiceTitan 150 ms away.
        stack.sim.set_faults(&json!({"latency_ms": 150})).await;
        let mut latencies = Vec::new();
        // Windows with room for three jobs (three technicians, two hours).
        let roomy: Vec<&Value> = windows
            .iter()
            .filter(|w| w["open_hours"].as_f64() == Some(6.0))
            .collect();
        for n in 0..bookings.min(roomy.len() * 3) {
            let w = roomy[n % roomy.len()];
            let body = json!({"tool": "book_appointment", "request_id": format!("bench_b{n}"),
                "arguments": {"customer_id": 101, "location_id": 201, "job_type": "AC Repair",
                    "start": w["start"], "end": w["end"]}});
            let hook = signed("/v1/tools/demo/agent", &format!("bench_b{n}"), &body);
            let started = Instant::now();
            let r = hook.send(&http, &ingest).await.unwrap();
            latencies.push(started.elapsed());
            let answer: Value = r.json().await.unwrap();
            assert!(answer["result"]["job_id"].is_i64(), "{answer}");
        }
        let n = latencies.len();
        let (p50, p99) = percentiles(latencies);
        println!("book_appointment via ingest, st-sim +150 ms/request: p50 {p50:6.0} ms  p99 {p99:6.0} ms  ({n} bookings)");
    });
}
