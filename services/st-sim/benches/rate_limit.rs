//! ServiceTitan client pacing benchmark: `cargo bench -p switchboard-st-sim --bench rate_limit`
//!
//! st-sim (in process, on loopback) enforces 60 requests/s per app key per tenant. Five
//! tenants are driven at once for `BENCH_SECS` (default 30) by 16 tasks each through one
//! `TenantClient` per tenant (default pacing: 60/s). Prints per tenant: achieved
//! requests/s (as % of the limit), 429s st-sim's limiter sent, and p50/p99 latency of a
//! client call (including time spent waiting for a pacing slot).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use switchboard_servicetitan::{ClientSettings, RetryPolicy, TenantClient};
use switchboard_test_support::bench::env_u64;

const TENANTS: u64 = 5;
const TASKS_PER_TENANT: usize = 16;
const LIMIT: u32 = 60;

#[allow(clippy::print_stdout)]
fn main() {
    let secs = env_u64("BENCH_SECS", 30);
    let runtime = switchboard_test_support::bench::runtime();
    runtime.block_on(async move {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/demo.json");
        let mut seed = switchboard_st_sim::load_seed(&path).unwrap();
        seed.settings.rate_limit_per_sec = LIMIT;
        let template = seed.tenants[0].clone();
        seed.tenants = (0..TENANTS)
            .map(|i| {
                let mut t = template.clone();
                t.tenant_id = template.tenant_id + i;
                t.client_id = format!("cid.bench-{i}");
                t
            })
            .collect();
        let app = switchboard_st_sim::Application::build(seed, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run_until(std::future::pending()));

        let stop = Arc::new(AtomicBool::new(false));
        let mut per_tenant = Vec::new();
        for i in 0..TENANTS {
            let client = Arc::new(
                TenantClient::new(ClientSettings {
                    tenant: format!("bench-{i}"),
                    tenant_id: template.tenant_id + i,
                    api_base: base.clone(),
                    auth_base: base.clone(),
                    client_id: format!("cid.bench-{i}"),
                    client_secret: template.client_secret.clone().into(),
                    app_key: "ak1.demo-switchboard-app-key".to_owned().into(),
                    rate_limit_per_sec: LIMIT,
                    timeout: Duration::from_secs(30),
                    retry: RetryPolicy::default(),
                })
                .unwrap(),
            );
            let mut tasks = Vec::new();
            for task in 0..TASKS_PER_TENANT {
                let (client, stop) = (client.clone(), stop.clone());
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut errors = 0u64;
                    let mut n = task as i64;
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        match client.get_call(9001 + n % 10).await {
                            Ok(_) => latencies.push(started.elapsed()),
                            Err(_) => errors += 1,
                        }
                        n += 1;
                    }
                    (latencies, errors)
                }));
            }
            per_tenant.push(tasks);
        }
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut results = Vec::new();
        for tasks in per_tenant {
            let mut latencies = Vec::new();
            let mut errors = 0;
            for t in tasks {
                let (l, e) = t.await.unwrap();
                latencies.extend(l);
                errors += e;
            }
            results.push((latencies, errors));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let stats: serde_json::Value = reqwest::get(format!("{base}/_sim/requests")).await.unwrap().json().await.unwrap();

        println!("# ServiceTitan pacing: {TENANTS} tenants × {TASKS_PER_TENANT} tasks, st-sim limit {LIMIT}/s per tenant, {secs} s\n");
        println!("| tenant | requests/s | % of limit | 429s received | p50 ms | p99 ms | errors |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for (i, (mut latencies, errors)) in results.into_iter().enumerate() {
            latencies.sort();
            let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
            let rate = latencies.len() as f64 / elapsed;
            let tenant_id = template.tenant_id + i as u64;
            let limited = stats["rate_limited_by_tenant"][tenant_id.to_string()].as_u64().unwrap_or(0);
            println!(
                "| bench-{i} | {rate:.1} | {:.1} % | {limited} | {:.1} | {:.1} | {errors} |",
                rate / f64::from(LIMIT) * 100.0,
                pct(0.5),
                pct(0.99)
            );
        }
        println!("\ntotal 429s from st-sim's limiter: {}", stats["rate_limited"]);
    });
}
