//! A tenant onboarded by a live reload: analytics answers for it and counts its calls at
//! once, without a restart; the tenant it already served keeps its figures.

use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_test_support::{NatsServer, eventually, publish_acked};

fn toml(nats: &str, tenants: &[&str]) -> String {
    let mut t = format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[doctor]\nat_start = false\n[admin]\nreload_endpoint = true\n\
         [analytics]\nlisten = \"127.0.0.1:0\"\ndebounce_ms = 100\n"
    );
    for name in tenants {
        t.push_str(&format!(
            "[tenants.{name}]\ntimezone = \"America/Chicago\"\n"
        ));
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_added_by_a_live_reload_is_counted_at_once() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, toml(&nats.url(), &["demo"])).unwrap();
    let config = switchboard_config::Config::load_file(&path, &|_: &str| None).unwrap();
    let app = switchboard_analytics::Application::build(config)
        .await
        .unwrap()
        .with_config_path(Some(path.clone()));
    let url = format!("http://{}", app.local_addr());
    let _task = tokio::spawn(app.run_until(std::future::pending()));
    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{url}/readyz")).await;
    let rate = |tenant: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.get(format!(
                "{url}/v1/tenants/{tenant}/booking-rate?from=2026-11-20&to=2026-11-20"
            ))
            .send()
            .await
            .unwrap()
        }
    };
    assert_eq!(rate("acme").await.status(), 404);

    std::fs::write(&path, toml(&nats.url(), &["demo", "acme"])).unwrap();
    let response = http
        .post(format!("{url}/admin/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        done["changed"],
        serde_json::json!(["tenants.acme.timezone"])
    );
    assert_eq!(done["restart_needed"], serde_json::json!([]), "{done}");
    assert_eq!(rate("acme").await.status(), 200);

    // An outcome of the new tenant is counted.
    let js = async_nats::jetstream::new(nats.client().await);
    let event = serde_json::json!({"specversion": "1.0", "id": "evt_acme_1", "source": "/switchboard/acme/agent",
        "type": "call.outcome", "time": "2026-11-20T17:21:20Z", "datacontenttype": "application/json",
        "tenant": "acme", "inboundid": "acme:agent:1",
        "data": {"provider": "agent", "provider_call_id": "ag_acme_1", "outcome": "booked",
                 "started_at": "2026-11-20T17:21:20Z"}});
    publish_acked(
        &js,
        "events.acme.call.outcome".into(),
        Default::default(),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            let body: serde_json::Value = rate("acme").await.json().await.unwrap();
            body["totals"]["agent"]["calls"] == 1
        })
        .await
    );
    assert_eq!(rate("demo").await.status(), 200);
}
