//! Nothing lost: 200 means stored. Thousands of concurrent deliveries while nats-server is
//! killed (SIGKILL) and restarted; afterwards every delivery that got 200 is in INBOUND
//! exactly once, every failure was a 503 with Retry-After, and the provider's retry of each
//! 503 is stored exactly once too.

use crate::helpers::{assert_error, json, send_hook, spawn_app_with};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_test_support::{Hook, NatsServer, TestScheme};

struct Outcome {
    /// Completion order across all workers.
    order: usize,
    id: String,
    hook: Hook,
    status: u16,
    retry_after: bool,
    body: serde_json::Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_delivery_survives_nats_crashes_exactly_once() {
    let app =
        Arc::new(spawn_app_with(NatsServer::start(), "publish_timeout_ms = 1000", None).await);
    const MIN_TOTAL: usize = 3000;
    const CONCURRENCY: usize = 64;
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let chaos_done = Arc::new(AtomicBool::new(false));

    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (app, next, finished, chaos_done) = (
            app.clone(),
            next.clone(),
            finished.clone(),
            chaos_done.clone(),
        );
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
                let response = send_hook(&app.http, &app.address, &hook)
                    .await
                    .unwrap_or_else(|err| panic!("ingest itself must stay up: {err}"));
                let retry_after = response.headers().contains_key("retry-after");
                let (status, body) = json(response).await;
                let order = finished.fetch_add(1, Ordering::Relaxed);
                results.push(Outcome {
                    order,
                    id,
                    hook,
                    status,
                    retry_after,
                    body,
                });
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

    let mut results: Vec<Outcome> = Vec::new();
    for w in workers {
        results.extend(w.await.unwrap());
    }
    results.sort_by_key(|o| o.order);
    assert!(results.len() >= MIN_TOTAL);

    // Every 503 was a proper "retry later".
    let refused: Vec<&Outcome> = results.iter().filter(|o| o.status != 200).collect();
    for o in &refused {
        assert_eq!(o.status, 503, "{}: unexpected status: {}", o.id, o.body);
        assert!(o.retry_after, "503 without Retry-After");
        assert_eq!(o.body["error"], "unavailable");
    }
    assert!(
        !refused.is_empty(),
        "the outage was not observed: chaos did not overlap the load"
    );
    let first_refused = refused.iter().map(|o| o.order).min().unwrap();
    let last_ok = results
        .iter()
        .filter(|o| o.status == 200)
        .map(|o| o.order)
        .max()
        .unwrap();
    assert!(
        last_ok > first_refused,
        "ingest did not recover after the outage"
    );

    // What got 200 is stored exactly once.
    let copies = |stored: &[switchboard_test_support::StoredMessage]| {
        let mut copies: HashMap<String, usize> = HashMap::new();
        for m in stored {
            *copies
                .entry(m.header("Nats-Msg-Id").unwrap().to_owned())
                .or_default() += 1;
        }
        copies
    };
    let before_retries = copies(&app.inbound().await);
    for o in results.iter().filter(|o| o.status == 200) {
        let dedup_id = format!("acme:stdwh:{}", o.id);
        assert_eq!(o.body["id"], dedup_id.as_str());
        assert_eq!(
            before_retries.get(&dedup_id),
            Some(&1),
            "{} got 200 but is not in INBOUND once",
            o.id
        );
    }

    // The provider retries each 503. Some of those were stored despite the 503 (the ack was
    // lost or late): their retries must come back as duplicates, not second copies.
    let mut stored_anyway = 0;
    for o in &refused {
        let (status, body) = json(app.send(&o.hook).await).await;
        assert_eq!(status, 200, "retry of {}: {body}", o.id);
        stored_anyway += usize::from(body["duplicate"] == true);
    }
    let stored = app.inbound().await;
    let after_retries = copies(&stored);
    assert!(
        after_retries.values().all(|&n| n == 1),
        "a delivery was stored twice"
    );
    assert_eq!(
        stored.len(),
        results.len(),
        "after retries every delivery is in INBOUND exactly once"
    );
    eprintln!(
        "{} deliveries: {} stored at once (200), {} refused (503) and retried, {stored_anyway} of which had been stored anyway",
        results.len(),
        results.len() - refused.len(),
        refused.len(),
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
    assert_error(response, 503, "unavailable", "NATS away").await;
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

#[tokio::test]
async fn a_deleted_stream_is_recreated_without_a_restart() {
    let app = spawn_app_with(NatsServer::start(), "publish_timeout_ms = 1000", None).await;
    let js = switchboard_bus::async_nats::jetstream::new(app.nats_client.clone());
    js.delete_stream(switchboard_bus::INBOUND_STREAM)
        .await
        .unwrap();

    let hook = app.signed("acme", TestScheme::Retell, b"{\"after\":\"delete\"}", "x");
    // The publish finds no stream and wakes the keeper, which re-creates INBOUND; ingest
    // publishes again within publish_timeout_ms, so even this first attempt is stored.
    let (status, reply) = json(app.send(&hook).await).await;
    assert_eq!(status, 200, "INBOUND was not re-created in time: {reply}");
    assert!(app.wait_ready(Duration::from_secs(5)).await);
    assert_eq!(app.inbound().await.len(), 1);
}
