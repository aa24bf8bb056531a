//! The DLQ round trip with a real nats-server and router: a payload the router cannot read
//! is dead-lettered; after a fix (a router that now reads it), `switchboard dlq replay`
//! puts it back and it is processed exactly once. (Moved from services/cli/tests/dlq.rs: it
//! runs the router, so it is a test across services.)

use std::time::Duration;
use switchboard_cli::{Cli, Command, ReplayTarget, run};
use switchboard_e2e::{Service, spawn_service};
use switchboard_test_support::{
    NatsServer, event_fixture, eventually, publish_inbound, stream_messages,
};

fn router_config(nats_url: &str, format: &str) -> switchboard_config::Config {
    let toml = format!(
        "[nats]\nurl = \"{nats_url}\"\n[router]\nlisten = \"127.0.0.1:0\"\nack_wait_secs = 2\nnak_delay_ms = 100\n\
         [tenants.acme.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n\
         format = \"{format}\"\n"
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

async fn cli(nats: &NatsServer, command: Command) -> anyhow::Result<String> {
    let cli = Cli {
        config: None,
        nats_url: Some(nats.url()),
        json: true,
        command,
    };
    let mut out = Vec::new();
    run(&cli, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_replayed_after_a_fix_is_processed_once() {
    let nats = NatsServer::start();
    let client = nats.client().await;

    // A router misconfigured to read the agent's reports as Telnyx payloads.
    let (_, broken) = spawn_service(Service::Router, router_config(&nats.url(), "telnyx")).await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    assert!(
        eventually(Duration::from_secs(20), || async {
            js.get_stream("INBOUND").await.is_ok()
        })
        .await
    );

    let body = event_fixture("agent/call-outcome.json");
    let delivery = ("acme", "agent", "standard-webhooks", "msg_outcome_1");
    publish_inbound(&js, delivery, body).await;

    assert!(
        eventually(Duration::from_secs(10), || async {
            !stream_messages(&client, "DLQ").await.is_empty()
        })
        .await
    );
    let listed: serde_json::Value = serde_json::from_str(
        &cli(
            &nats,
            Command::DlqList {
                consumer: Some("router".into()),
            },
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let id = listed[0]["id"].as_u64().unwrap();
    assert_eq!(listed[0]["dead_letter"]["reason"], "malformed");
    let shown: serde_json::Value =
        serde_json::from_str(&cli(&nats, Command::DlqShow { id }).await.unwrap()).unwrap();
    assert!(
        shown["dead_letter"]["error"]
            .as_str()
            .unwrap()
            .contains("telnyx"),
        "{shown}"
    );
    assert!(stream_messages(&client, "EVENTS").await.is_empty());

    // The fix: a router that reads the source's real format.
    broken.abort();
    let (fixed, _fixed) = spawn_service(Service::Router, router_config(&nats.url(), "agent")).await;
    let fixed_metrics = format!("{fixed}/metrics");

    let replayed: serde_json::Value = serde_json::from_str(
        &cli(
            &nats,
            Command::DlqReplay {
                target: ReplayTarget::One(id),
            },
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(replayed["replayed"], serde_json::json!([id]));
    assert!(
        eventually(Duration::from_secs(10), || async {
            !stream_messages(&client, "EVENTS").await.is_empty()
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = stream_messages(&client, "EVENTS").await;
    assert_eq!(events.len(), 1, "processed once");
    let event: serde_json::Value = serde_json::from_slice(&events[0].payload).unwrap();
    assert_eq!(event["type"], "call.outcome");
    assert_eq!(
        event["inboundid"], "acme:agent:msg_outcome_1",
        "the replay keeps the original's identity"
    );
    assert_eq!(
        event["id"],
        switchboard_events::event_id("acme:agent:msg_outcome_1", 0)
    );

    // Processed once — not twice with the second copy deduplicated away.
    let metrics = switchboard_test_support::http_client()
        .get(&fixed_metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_router_messages_total{outcome=\"processed\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_router_duplicate_events_total 0\n"),
        "{metrics}"
    );

    // The dead letter is gone; replaying it again is a clear error, not a second event.
    let listed: serde_json::Value = serde_json::from_str(
        &cli(&nats, Command::DlqList { consumer: None })
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(listed.as_array().unwrap().is_empty());
    let err = cli(
        &nats,
        Command::DlqReplay {
            target: ReplayTarget::One(id),
        },
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("no dead letter"), "{err:#}");
    // The binary's human output and exit status, on the same empty DLQ, are tested in
    // services/cli/tests/dlq.rs (a binary can only be run from its own package's tests).
}
