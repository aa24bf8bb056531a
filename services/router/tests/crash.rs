//! A router SIGKILLed mid-stream, as a real process: the deliveries it had in hand come
//! back to the next router and every one yields its event exactly once. (A real kill, not
//! an aborted task: the process's NATS connection dies with it, as it does in production.)

use std::process::{Child, Command, Stdio};
use std::time::Duration;
use switchboard_test_support::{
    NatsServer, TestScheme, event_fixture, eventually, publish_inbound, stream_messages,
};

const N: usize = 3000;

fn config_toml(nats_url: &str) -> String {
    format!(
        "[nats]\nurl = \"{nats_url}\"\n[router]\nlisten = \"127.0.0.1:0\"\nbatch = 32\nnak_delay_ms = 100\nack_wait_secs = 2\n\
         [tenants.acme.sources.telnyx]\nscheme = \"telnyx\"\nsecrets = [\"{}\"]\n",
        TestScheme::Telnyx.secret(1).config
    )
}

fn start_router(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard-router"))
        .arg("--config")
        .arg(config)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start switchboard-router")
}

async fn events(client: &switchboard_bus::async_nats::Client) -> usize {
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    match js.get_stream("EVENTS").await {
        Ok(mut s) => s.info().await.map_or(0, |i| i.state.messages as usize),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_killed_mid_stream_still_yields_every_event_exactly_once() {
    let nats = NatsServer::start();
    let toml = config_toml(&nats.url());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, &toml).unwrap();
    let config: switchboard_config::Config = toml.parse().unwrap();

    // N Telnyx hangups for distinct calls, on INBOUND as ingest stores them, while no
    // router runs.
    let client = nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    switchboard_bus::ensure_stream(&js, switchboard_bus::inbound_stream_config(&config.nats))
        .await
        .unwrap();
    let template: serde_json::Value =
        serde_json::from_slice(&event_fixture("telnyx/3-call.hangup.json")).unwrap();
    for i in 0..N {
        let mut v = template.clone();
        v["data"]["id"] = format!("evt-{i}").into();
        v["data"]["payload"]["call_session_id"] = format!("session-{i}").into();
        let id = format!("evt-{i}");
        let delivery = ("acme", "telnyx", "telnyx", id.as_str());
        publish_inbound(&js, delivery, serde_json::to_vec(&v).unwrap()).await;
    }

    // Start, SIGKILL it as soon as its first events land, start another.
    let mut first = start_router(&path);
    let started = eventually(Duration::from_secs(30), || async {
        events(&client).await > 0
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(started, "the router never started publishing");
    let partial = events(&client).await;
    assert!(
        partial < N,
        "the router finished before the kill ({partial} events): the test did not kill it mid-stream"
    );
    let mut second = start_router(&path);
    let done = eventually(Duration::from_secs(60), || async {
        events(&client).await >= N
    })
    .await;
    // and no more arrive
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored = stream_messages(&client, "EVENTS").await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(
        done,
        "{} of {N} events after the restart (killed after {partial})",
        stored.len()
    );
    assert_eq!(
        stored.len(),
        N,
        "exactly one event per delivery (killed after {partial})"
    );
    let ids: std::collections::HashSet<_> = stored
        .iter()
        .map(|e| e.header("Nats-Msg-Id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), N);
}
