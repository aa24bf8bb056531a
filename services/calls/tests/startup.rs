//! The calls worker's start-up, alone with nats-server and st-sim: a policy ServiceTitan
//! refuses stops it naming the key, and a worker with nothing to serve stays up. (The
//! pipeline tests, through ingest and the router, are in `tests/tests/calls_pipeline/`.)

use std::time::Duration;
use switchboard_test_support::{NatsServer, start_service};

/// Just what the worker's start-up reads: NATS, the listener, and one tenant's ServiceTitan
/// and policy (the pipeline tests' whole config is in `tests/tests/calls_pipeline/`).
fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    let toml = format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[calls]\nlisten = \"127.0.0.1:0\"\n\
         {st}[tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\n"
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_reason_in_the_policy_stops_start_up_naming_it() {
    let nats = NatsServer::start();
    let sim_url = switchboard_st_sim::spawn_demo(|_| {}).await;
    let mut config = config(&nats.url(), &sim_url);
    config
        .tenants
        .values_mut()
        .next()
        .unwrap()
        .calls
        .outcomes
        .values_mut()
        .next()
        .unwrap()
        .reason = "Free Pizza".into();
    let err = switchboard_calls::Application::build(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tenants.demo.calls.outcomes.booked.reason") && err.contains("Free Pizza"),
        "{err}"
    );
}

/// With no tenant to serve (no ServiceTitan, no policy), the worker stays up and ready
/// rather than exiting (it used to return at once: nothing to follow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_no_tenant_to_serve_keeps_running() {
    let nats = NatsServer::start();
    let config = nats.config("[calls]\nlisten = \"127.0.0.1:0\"\n");
    let (_ops, run) = start_service::<switchboard_calls::CallsWorker>(config).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!run.is_finished(), "the worker exited with nothing to do");
}
