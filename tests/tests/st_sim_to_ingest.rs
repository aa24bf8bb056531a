//! The demo path: a change in (simulated) ServiceTitan becomes a signed webhook, which
//! ingest verifies and stores in INBOUND.

use std::time::Duration;
use switchboard_e2e::{Service, spawn_service};
use switchboard_test_support::{NatsServer, eventually, inbound_messages};

const SECRET: &str = "e2e-servicetitan-webhook-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn st_sim_webhooks_are_verified_by_ingest_and_stored() {
    let nats = NatsServer::start();
    let config = nats.config(&format!(
        "[ingest]\nlisten = \"127.0.0.1:0\"\n\
         [tenants.demo.sources.servicetitan]\nscheme = \"servicetitan\"\nsecrets = [\"{SECRET}\"]\n",
    ));
    let (ingest_url, _ingest) = spawn_service(Service::Ingest, config).await;

    let sim_url = switchboard_st_sim::spawn_demo(|seed| {
        for tenant in &mut seed.tenants {
            tenant.webhook = Some(switchboard_st_sim::seed::Webhook {
                url: format!("{ingest_url}/v1/hooks/demo/servicetitan"),
                secret: SECRET.into(),
                header: None,
            });
        }
    })
    .await;

    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{ingest_url}/readyz")).await;

    // The phone system reports a call to ServiceTitan.
    let response = http
        .post(format!("{sim_url}/_sim/tenants/1234567/calls"))
        .json(
            &serde_json::json!({"from": "+15125550142", "to": "+15125550000", "duration_secs": 95}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let client = nats.client().await;
    let stored = eventually(Duration::from_secs(15), || async {
        !inbound_messages(&client).await.is_empty()
    })
    .await;
    assert!(stored, "the webhook never reached INBOUND");
    let messages = inbound_messages(&client).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.subject, "inbound.demo.servicetitan");
    assert_eq!(m.header("Switchboard-Scheme"), Some("servicetitan"));
    let event: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
    assert_eq!(event["eventType"], "CallCompleted");
    assert_eq!(event["tenantId"], 1234567);
    assert_eq!(event["data"]["from"], "+15125550142");
}
