//! The calls worker's start-up, alone with nats-server and st-sim: a policy ServiceTitan
//! refuses stops it naming the key, and a worker with nothing to serve stays up. (The
//! pipeline tests, through ingest and the router, are in `tests/tests/calls_pipeline/`.)

use std::time::Duration;
use switchboard_test_support::{NatsServer, TestScheme, wait_ready};

/// The pipeline tests' config (`tests/tests/calls_pipeline/`), whole.
fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let toml = format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[ingest]\nlisten = \"127.0.0.1:0\"\n\
         [router]\nlisten = \"127.0.0.1:0\"\nack_wait_secs = 2\nnak_delay_ms = 100\n\
         [calls]\nlisten = \"127.0.0.1:0\"\nretry_delay_ms = 200\nexport_poll_ms = 200\nnot_found_horizon_secs = 2\nack_wait_secs = 5\nlock_stale_secs = 15\n\
         [tenants.demo.servicetitan]\nenvironment = \"integration\"\ntenant_id = 1234567\nclient_id = \"cid.demo-hvac\"\n\
         client_secret = \"cs1.demo-hvac-client-secret\"\napp_key = \"ak1.demo-switchboard-app-key\"\napi_base = \"{sim}\"\nauth_base = \"{sim}\"\nrate_limit_per_sec = 30\n\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n\
         [tenants.demo.calls.outcomes.not_lead]\nreason = \"Wrong Number\"\n\
         [tenants.demo.calls.outcomes.excused]\nreason = \"Service Call\"\nexcuse_memo = \"Agent: caller hung up\"\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{secret}\"]\n"
    );
    switchboard_config::Config::from_toml_str(&toml, &|_: &str| None).unwrap()
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
    let toml = format!(
        "[nats]\nurl = \"{}\"\n[calls]\nlisten = \"127.0.0.1:0\"\n",
        nats.url()
    );
    let config = switchboard_config::Config::from_toml_str(&toml, &|_: &str| None).unwrap();
    let app = switchboard_calls::Application::build(config).await.unwrap();
    let ops = format!("http://{}", app.local_addr());
    let run = tokio::spawn(app.run_until(std::future::pending()));
    wait_ready(
        &switchboard_test_support::http_client(),
        &format!("{ops}/readyz"),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!run.is_finished(), "the worker exited with nothing to do");
}
