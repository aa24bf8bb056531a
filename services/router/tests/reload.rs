//! A live reload of the router: a source's payload format set in the config file is used
//! for the next delivery, without a restart (`POST /admin/reload`).

use std::time::Duration;
use switchboard_test_support::{
    NatsServer, event_fixture, eventually, http_client, publish_inbound, stream_messages,
    wait_ready,
};

fn config(nats: &str, format: &str) -> String {
    format!(
        "[nats]\nurl = \"{nats}\"\n[router]\nlisten = \"127.0.0.1:0\"\n[admin]\nreload_endpoint = true\n\
         [tenants.acme.sources.hooks]\nscheme = \"hmac\"\npreset = \"github\"\nsecrets = [\"s3cret\"]\n{format}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sources_new_format_applies_to_the_next_delivery() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config(&nats.url(), "")).unwrap();
    let loaded = switchboard_config::Config::load_file(&path, &|_: &str| None).unwrap();
    let app = switchboard_router::Application::build(loaded)
        .await
        .unwrap()
        .with_config_path(Some(path.clone()));
    let ops = format!("http://{}", app.local_addr());
    let _router = tokio::spawn(app.run_until(std::future::pending()));
    let http = http_client();
    wait_ready(&http, &format!("{ops}/readyz")).await;

    let client = nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    let types = || async {
        stream_messages(&client, "EVENTS")
            .await
            .iter()
            .map(|m| {
                serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    let body = event_fixture("agent/call-outcome.json");
    // A generic HMAC source has no format: the router keeps the delivery, unrecognized.
    publish_inbound(&js, ("acme", "hooks", "hmac", "d1"), body.clone()).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            types().await == ["webhook.unrecognized"]
        })
        .await
    );

    std::fs::write(&path, config(&nats.url(), "format = \"agent\"\n")).unwrap();
    let response = http
        .post(format!("{ops}/admin/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        done["changed"],
        serde_json::json!(["tenants.acme.sources.hooks.format"])
    );
    assert_eq!(done["restart_needed"], serde_json::json!([]));

    let mut agent = serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    agent["call"]["id"] = "ag_reloaded".into();
    publish_inbound(
        &js,
        ("acme", "hooks", "hmac", "d2"),
        serde_json::to_vec(&agent).unwrap(),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            types().await == ["webhook.unrecognized", "call.outcome"]
        })
        .await,
        "{:?}",
        types().await
    );
}
