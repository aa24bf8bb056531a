//! The `switchboard` binary on an empty dead-letter queue: human output and exit status.
//! (The DLQ round trip through a router, `dlq replay` included, is a test across services:
//! `tests/tests/dlq_replay.rs`.)

use switchboard_bus::async_nats;
use switchboard_test_support::NatsServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_lists_an_empty_dlq_and_refuses_to_purge_without_yes() {
    let nats = NatsServer::start();
    // The DLQ stream as a router creates it, with nothing in it (where the round trip in
    // tests/tests/dlq_replay.rs ends).
    let toml = format!("[nats]\nurl = \"{}\"\n", nats.url());
    let config = toml.parse::<switchboard_config::Config>().unwrap();
    let js = async_nats::jetstream::new(nats.client().await);
    switchboard_bus::ensure_stream(&js, switchboard_bus::dlq::dlq_stream_config(&config.nats))
        .await
        .unwrap();

    // The binary: human output, exit status.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--nats-url", &nats.url(), "dlq", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no dead letters"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["dlq", "purge"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "refuses without --yes");
}
