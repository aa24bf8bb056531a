//! Nothing lost: 200 means stored. Thousands of concurrent deliveries while nats-server is
//! killed (SIGKILL) and restarted; afterwards every delivery that got 200 is in INBOUND
//! exactly once, and every failure was a 503 with Retry-After that a provider would retry.

use crate::helpers::{json, send_hook, spawn_app_with};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_test_support::{NatsServer, TestScheme};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_delivery_survives_nats_crashes_exactly_once() {
    let app =
        Arc::new(spawn_app_with(NatsServer::start(), "publish_timeout_ms = 1000", None).await);
    const MIN_TOTAL: usize = 3000;
    const CONCURRENCY: usize = 64;
    let next = Arc::new(AtomicUsize::new(0));
    let chaos_done = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (app, next, chaos_done) = (app.clone(), next.clone(), chaos_done.clone());
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MIN_TOTAL && chaos_done.load(Ordering::Relaxed) {
                    return results;
                }
                let id = format!("msg_{i}");
                let body = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(200));
                let hook = app.signed("acme", TestScheme::StandardWebhooks, body.as_bytes(), &id);
                let outcome = match send_hook(&app.http, &app.address, &hook).await {
                    Ok(r) => {
                        let retry_after = r.headers().contains_key("retry-after");
                        let (status, body) = json(r).await;
                        (status, retry_after, body)
                    }
                    Err(err) => panic!("ingest itself must stay up: {err}"),
                };
                results.push((id, outcome));
                if i % 8 == 0 {
                    // Keep the load going for the whole chaos window without a hot loop.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }

    // Chaos: crash nats-server twice during the load, restart it on the same port and store.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        tokio::task::block_in_place(|| app.nats.lock().unwrap().kill());
        tokio::time::sleep(Duration::from_millis(700)).await;
        tokio::task::block_in_place(|| app.nats.lock().unwrap().start_again());
    }
    // Let ingest reconnect by itself and carry on under load for a while.
    assert!(
        app.wait_ready(Duration::from_secs(20)).await,
        "ingest did not reconnect by itself"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    chaos_done.store(true, Ordering::Relaxed);

    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }
    assert!(results.len() >= MIN_TOTAL);

    let stored = app.inbound().await;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for m in &stored {
        *copies
            .entry(m.header("Nats-Msg-Id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        copies.values().all(|&n| n == 1),
        "a delivery was stored twice"
    );

    let (mut ok, mut unavailable) = (0, 0);
    for (id, (status, retry_after, body)) in &results {
        match status {
            200 => {
                ok += 1;
                let dedup_id = format!("acme:stdwh:{id}");
                assert_eq!(body["id"], dedup_id.as_str());
                assert_eq!(
                    copies.get(&dedup_id),
                    Some(&1),
                    "{id} got 200 but is not in INBOUND"
                );
            }
            503 => {
                unavailable += 1;
                assert!(*retry_after, "503 without Retry-After");
                assert_eq!(body["error"], "unavailable");
            }
            other => panic!("{id}: unexpected status {other}: {body}"),
        }
    }
    eprintln!(
        "{} requests: {ok} stored (200), {unavailable} refused (503), {} in INBOUND",
        results.len(),
        stored.len()
    );
    assert!(
        unavailable > 0,
        "the outage was not observed: chaos did not overlap the load"
    );
    let last_ok = results
        .iter()
        .rposition(|(_, (s, _, _))| *s == 200)
        .unwrap();
    let first_503 = results.iter().position(|(_, (s, _, _))| *s == 503).unwrap();
    assert!(
        ok > 0 && last_ok > first_503,
        "ingest did not recover after the outage"
    );
}

#[tokio::test]
async fn while_nats_is_down_ingest_says_503_and_not_ready_then_recovers() {
    let app = spawn_app_with(NatsServer::start(), "publish_timeout_ms = 500", None).await;
    let scheme = TestScheme::ServiceTitan;
    app.nats.lock().unwrap().stop();

    let hook = app.signed("acme", scheme, b"{\"during\":\"outage\"}", "x");
    let response = app.send(&hook).await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let (status, reply) = json(response).await;
    assert_eq!(
        (status, reply["error"].as_str()),
        (503, Some("unavailable")),
        "{reply}"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "alive even while NATS is away"
    );

    app.nats.lock().unwrap().start_again();
    assert!(
        app.wait_ready(Duration::from_secs(20)).await,
        "ingest did not reconnect by itself"
    );
    // The provider's retry of the same delivery is now stored.
    let (status, reply) = json(app.send(&hook).await).await;
    assert_eq!(status, 200, "{reply}");
    let stored = app.inbound().await;
    assert_eq!(stored.iter().filter(|m| m.payload == hook.body).count(), 1);
}
