//! The router alone with a real nats-server: a message it cannot publish anywhere is
//! retried up to `max_deliver` and then dead-lettered. (The pipeline tests, signed webhooks
//! through ingest to EVENTS, are in `tests/tests/router_pipeline.rs`.)

use std::time::Duration;
use switchboard_test_support::{
    NatsServer, event_fixture, eventually, publish_inbound, start_service, stream_messages,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_that_exhaust_max_deliver_are_dead_lettered() {
    let nats = NatsServer::start();
    let config = nats.config(
        "[router]\nlisten = \"127.0.0.1:0\"\nmax_deliver = 2\nack_wait_secs = 1\nnak_delay_ms = 50\n",
    );
    let (_ops, _router) = start_service::<switchboard_router::Router>(config).await;

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

    publish_inbound(
        &js,
        ("acme", "telnyx", "telnyx", "stuck-1"),
        event_fixture("telnyx/2-call.answered.json"),
    )
    .await;

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
