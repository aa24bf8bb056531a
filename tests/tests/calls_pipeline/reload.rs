//! A tenant's outcome policy changed by a live reload: a policy naming a reason ServiceTitan
//! does not have is refused (the worker keeps its policy); a valid one applies to the next
//! outcome, without a restart.

use super::{SLOTS, TENANT};
use std::time::Duration;
use switchboard_test_support::{NatsServer, eventually, publish_acked};

fn toml(nats: &str, sim: &str, booked: &str) -> String {
    format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[doctor]\nat_start = false\n[admin]\nreload_endpoint = true\n\
         [calls]\nlisten = \"127.0.0.1:0\"\nretry_delay_ms = 200\nexport_poll_ms = 200\n\
         [tenants.demo]\ntimezone = \"America/Chicago\"\n{}\
         [tenants.demo.calls.outcomes.booked]\n{booked}\n",
        switchboard_st_sim::demo::servicetitan_toml("demo", sim)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_changed_by_a_live_reload_applies_to_the_next_outcome() {
    let _slot = SLOTS.acquire().await.unwrap();
    let nats = NatsServer::start();
    let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, toml(&nats.url(), &sim, "reason = \"Service Call\"")).unwrap();
    let config = switchboard_config::Config::load_file(&path, &|_: &str| None).unwrap();
    let app = switchboard_calls::Application::build(config)
        .await
        .unwrap()
        .with_config_path(Some(path.clone()));
    let ops = format!("http://{}", app.local_addr());
    let _task = tokio::spawn(app.run_until(std::future::pending()));
    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{ops}/readyz")).await;
    let reload = || async {
        let response = http
            .post(format!("{ops}/admin/reload"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };

    // A reason ServiceTitan does not have: refused, naming the key.
    std::fs::write(
        &path,
        toml(&nats.url(), &sim, "reason = \"No Such Reason\""),
    )
    .unwrap();
    let (status, refused) = reload().await;
    assert_eq!(status, 400, "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("tenants.demo.calls.outcomes.booked.reason"),
        "{message}"
    );

    // Tags added: applied live.
    std::fs::write(
        &path,
        toml(
            &nats.url(),
            &sim,
            "reason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]",
        ),
    )
    .unwrap();
    let (status, done) = reload().await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["changed"],
        serde_json::json!(["tenants.demo.calls.outcomes.booked.tags"])
    );
    assert_eq!(done["restart_needed"], serde_json::json!([]));

    // The agent booked call 9003 (seeded Unbooked): the write carries the new tag.
    let job = sim_job(&sim).await;
    let event = serde_json::json!({"specversion": "1.0", "id": "evt_reload_outcome", "source": "/switchboard/demo/agent",
        "type": "call.outcome", "time": "2026-11-20T17:21:20Z", "datacontenttype": "application/json",
        "tenant": "demo", "inboundid": "demo:agent:reload",
        "data": {"provider": "agent", "provider_call_id": "ag_reload", "outcome": "booked",
                 "from": "+15125550103", "to": "+15125550000", "started_at": "2026-11-20T17:21:20Z",
                 "servicetitan": {"job_id": job}}});
    let client = nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client);
    publish_acked(
        &js,
        "events.demo.call.outcome".into(),
        Default::default(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    let sim_client = switchboard_st_sim::SimClient::new(&sim);
    assert!(
        eventually(Duration::from_secs(30), || async {
            sim_client.call(TENANT, 9003).await["tag"] == "Booked by AI Agent"
        })
        .await,
        "{}",
        sim_client.call(TENANT, 9003).await
    );
}

async fn sim_job(sim: &str) -> serde_json::Value {
    let client = switchboard_st_sim::SimClient::new(sim);
    client
        .create_job(TENANT, &serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301, "campaign_id": 31}))
        .await["id"]
        .clone()
}
