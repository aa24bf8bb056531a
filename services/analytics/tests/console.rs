//! The operator console (`/console`) in headless Chromium, over a NATS that holds what an
//! operator looks for: a delivery, a refused one, a dead letter, a booking; then the
//! replay button and the trace view. `SCREENSHOT=path` keeps the screenshot
//! (docs/console.png).

use switchboard_bus::async_nats;
use switchboard_test_support::browser::{dump_dom, headless};
use switchboard_test_support::{NatsServer, publish_acked, publish_inbound, start_service};

fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[admin]\nconsole_actions = true\n\
         [analytics]\nlisten = \"127.0.0.1:0\"\ndebounce_ms = 100\nsweep_secs = 1\n\
         [tenants.demo]\ntimezone = \"America/Chicago\"\n{st}\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]\n\
         [tenants.demo.sources.servicetitan]\nscheme = \"servicetitan\"\nsecrets = [\"k\"]\n"
    )
    .parse()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_what_an_operator_needs_and_replays_a_dead_letter() {
    switchboard_test_support::browser::chromium();
    let nats = NatsServer::start();
    let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
    let parsed = config(&nats.url(), &sim);
    let client = nats.client().await;
    let js = async_nats::jetstream::new(client.clone());
    for stream in [
        switchboard_bus::inbound_stream_config(&parsed.nats),
        switchboard_bus::rejected::rejected_stream_config(&parsed.nats, &parsed.ingest.rejected),
    ] {
        switchboard_bus::ensure_stream(&js, stream).await.unwrap();
    }
    let (url, task) = start_service::<switchboard_analytics::Analytics>(parsed).await;

    // What happened in the last hour: a delivery, two refused ones, a dead letter of the
    // delivery, a job booked today.
    let body = switchboard_test_support::event_fixture("agent/call-outcome.json");
    publish_inbound(
        &js,
        ("demo", "agent", "standard-webhooks", "msg_console"),
        body,
    )
    .await;
    for i in 0..2 {
        let record = serde_json::json!({"at": "2026-12-02T10:00:00.000Z", "tenant": "demo", "source": "servicetitan",
            "scheme": "servicetitan", "status": 401, "error": "invalid_signature", "reason": "bad_signature",
            "message": "no configured secret matches", "path": "/v1/hooks/demo/servicetitan", "headers": [],
            "body": {"size": i, "sha256": "00"}});
        publish_acked(
            &js,
            "rejected.demo.servicetitan".into(),
            Default::default(),
            serde_json::to_vec(&record).unwrap(),
        )
        .await;
    }
    let letter = switchboard_bus::dlq::DeadLetter {
        reason: "malformed".into(),
        error: "not JSON".into(),
        stream: "INBOUND".into(),
        stream_seq: 1,
        subject: "inbound.demo.agent".into(),
        consumer: "router".into(),
        deliveries: 1,
        failed_at: "2026-12-02T10:00:01.000Z".into(),
        original_msg_id: Some("demo:agent:msg_console".into()),
    };
    switchboard_bus::dlq::publish_dead_letter(&js, &letter)
        .await
        .unwrap();
    let booked = serde_json::json!({"specversion": "1.0", "id": "evt_booked_console", "source": "/switchboard/demo/booking",
        "type": "job.booked", "time": jiff::Timestamp::now().to_string(), "datacontenttype": "application/json", "tenant": "demo", "inboundid": "x",
        "data": {"request_id": "req_console", "provider_call_id": "ag_console", "job_id": 1004}});
    publish_acked(
        &js,
        "events.demo.job.booked".into(),
        Default::default(),
        serde_json::to_vec(&booked).unwrap(),
    )
    .await;

    let profile = tempfile::tempdir().unwrap();
    let page = format!("{url}/console");
    let dom = dump_dom(&page, profile.path());
    for wanted in [
        "Switchboard console",
        "id=\"tenant-demo\"",
        "<td>agent</td>",
        "title=\"switchboard rejected list --tenant demo --source servicetitan\">2</a>",
        "<td class=\"n bookings\">1</td>",
        "Dead letters (1)",
        "action=\"/console/dlq/1/replay\"",
        "<td>router</td>",
        "action=\"/console/trace\"",
    ] {
        assert!(dom.contains(wanted), "no `{wanted}` in:\n{dom}");
    }
    // One delivery on the agent source in the last hour, none on servicetitan.
    assert!(
        dom.contains("<tr class=\"source\"><td>agent</td><td>20"),
        "{dom}"
    );

    let shot = std::env::var("SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| profile.path().join("console.png"));
    let out = headless(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1100,1000",
        ],
        profile.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));

    // The replay button: the original is back on its subject, the dead letter gone.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .post(format!("{url}/console/dlq/1/replay"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/console?replayed=1#dlq");
    assert!(
        switchboard_ops::dlq::dead_letters(&js)
            .await
            .unwrap()
            .is_empty()
    );
    let inbound = switchboard_test_support::inbound_messages(&client).await;
    assert_eq!(inbound.len(), 2, "the original and its replay");
    assert_eq!(
        inbound[1].header("Nats-Msg-Id"),
        Some("demo:agent:msg_console#replay-1")
    );
    assert!(
        dump_dom(&format!("{url}/console?replayed=1"), profile.path())
            .contains("dead letter 1 replayed")
    );

    // The trace view of the booked call.
    let trace = dump_dom(
        &format!("{url}/console/trace?tenant=demo&key=ag_console"),
        profile.path(),
    );
    assert!(trace.contains("job.booked, job 1004"), "{trace}");
    let unknown = http
        .get(format!("{url}/console/trace?tenant=nope&key=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    task.abort();
}
