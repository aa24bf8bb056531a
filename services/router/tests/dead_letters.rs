//! The router alone with a real nats-server: a message it cannot publish anywhere is
//! retried up to `max_deliver` and then dead-lettered. (The pipeline tests, signed webhooks
//! through ingest to EVENTS, are in `tests/tests/router_pipeline.rs`.)

use std::time::Duration;
use switchboard_test_support::{NatsServer, eventually, stream_messages, wait_ready};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/events/fixtures")
            .join(path),
    )
    .unwrap()
}

/// Builds a router and runs it in a task; returns the task and its ops base URL.
async fn run_router(
    config: switchboard_config::Config,
) -> (tokio::task::JoinHandle<anyhow::Result<()>>, String) {
    let app = switchboard_router::Application::build(config)
        .await
        .unwrap();
    let ops = format!("http://{}", app.local_addr());
    (tokio::spawn(app.run_until(std::future::pending())), ops)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_that_exhaust_max_deliver_are_dead_lettered() {
    let nats = NatsServer::start();
    let toml = format!(
        "[nats]\nurl = \"{}\"\n[router]\nlisten = \"127.0.0.1:0\"\nmax_deliver = 2\nack_wait_secs = 1\nnak_delay_ms = 50\n",
        nats.url()
    );
    let config = switchboard_config::Config::from_toml_str(&toml, &|_: &str| None).unwrap();
    let (_router, ops) = run_router(config).await;
    wait_ready(
        &switchboard_test_support::http_client(),
        &format!("{ops}/readyz"),
    )
    .await;

    // Sabotage: another stream takes over `events.>`, so every publish to EVENTS fails.
    let client = nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    js.delete_stream("EVENTS").await.unwrap();
    js.create_stream(switchboard_bus::async_nats::jetstream::stream::Config {
        name: "SQUATTER".into(),
        subjects: vec!["events.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();

    let mut headers = switchboard_bus::async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "acme:telnyx:stuck-1");
    headers.insert("Switchboard-Tenant", "acme");
    headers.insert("Switchboard-Source", "telnyx");
    headers.insert("Switchboard-Scheme", "telnyx");
    js.publish_with_headers(
        "inbound.acme.telnyx",
        headers,
        fixture("telnyx/2-call.answered.json").into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();

    let dead = eventually(Duration::from_secs(20), || async {
        !stream_messages(&client, "DLQ").await.is_empty()
    })
    .await;
    assert!(dead, "no max-deliveries dead letter");
    let dlq = stream_messages(&client, "DLQ").await;
    let letter: serde_json::Value = serde_json::from_slice(&dlq[0].payload).unwrap();
    assert_eq!(letter["reason"], "max_deliveries");
    assert_eq!(letter["deliveries"], 2);
    assert_eq!(letter["stream_seq"], 1);
    assert_eq!(letter["subject"], "inbound.acme.telnyx");
    assert_eq!(letter["original_msg_id"], "acme:telnyx:stuck-1");
    assert!(
        stream_messages(&client, "SQUATTER").await.is_empty(),
        "nothing was published anywhere"
    );
}
