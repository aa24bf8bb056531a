//! One webhook is one trace: an agent's outcome through ingest, the router and the calls
//! worker into the ServiceTitan request it causes, exported over OTLP to a local receiver
//! (a plain HTTP server taking OTLP/JSON, as a collector would). Its own test binary: the
//! exporter and the log subscriber are process-wide.

use axum::routing::post;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_e2e::Stack;
use switchboard_test_support::{TestScheme, eventually};

/// The spans the receiver got: (name, trace id, span id, parent span id).
type Spans = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn receiver() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let app = axum::Router::new().route(
        "/v1/traces",
        post({
            let spans = spans.clone();
            move |body: axum::body::Bytes| async move {
                let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let all = doc["resourceSpans"].as_array().cloned().unwrap_or_default();
                for rs in all {
                    for ss in rs["scopeSpans"].as_array().cloned().unwrap_or_default() {
                        for s in ss["spans"].as_array().cloned().unwrap_or_default() {
                            let text = |k: &str| s[k].as_str().unwrap_or("").to_owned();
                            spans.lock().unwrap().push((
                                text("name"),
                                text("traceId"),
                                text("spanId"),
                                text("parentSpanId"),
                            ));
                        }
                    }
                }
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, spans)
}

fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    let services = switchboard_e2e::services_toml(nats, "");
    format!(
        "{services}{st}\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{secret}\"]\n"
    )
    .parse()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_webhook_is_one_trace_from_ingest_to_the_servicetitan_request() {
    let (url, spans) = receiver().await;
    switchboard_telemetry::trace::init("switchboard-e2e", Some(&url)).unwrap();
    let stack = Stack::builder(config)
        .ingest()
        .router()
        .calls()
        .start()
        .await;
    let job = stack
        .sim
        .create_job(1234567, &serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301, "campaign_id": 31}))
        .await;
    stack
        .report(
            "msg_traced",
            serde_json::json!({"type": "call.outcome", "occurred_at": "2026-11-20T17:21:20Z",
                "call": {"id": "ag_traced", "from": "+15125550103", "to": "+15125550000", "started_at": "2026-11-20T17:21:20Z"},
                "outcome": "booked", "servicetitan": {"job_id": job["id"]}}),
        )
        .await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            stack.sim.call(1234567, 9003).await["call_type"] == "Booked"
        })
        .await
    );

    let named = |name: &str| spans.lock().unwrap().iter().find(|s| s.0 == name).cloned();
    // Each hop's span ends when its handler returns (the calls worker's after its ack, so
    // after the ServiceTitan request's): wait for all four, not the first to arrive.
    let hops = [
        "ingest",
        "router",
        "calls-outcomes",
        "servicetitan update call",
    ];
    let complete = eventually(Duration::from_secs(20), || async {
        switchboard_telemetry::trace::flush();
        hops.iter().all(|hop| named(hop).is_some())
    })
    .await;
    let all = spans.lock().unwrap().clone();
    assert!(complete, "not every hop exported a span: {all:?}");
    let ingest = named("ingest").unwrap_or_else(|| panic!("no ingest span: {all:?}"));
    let router = named("router").unwrap_or_else(|| panic!("no router span: {all:?}"));
    let calls = named("calls-outcomes").unwrap_or_else(|| panic!("no calls span: {all:?}"));
    let update = named("servicetitan update call").unwrap();
    assert_eq!(ingest.1.len(), 32, "{ingest:?}");
    for hop in [&router, &calls, &update] {
        assert_eq!(
            hop.1, ingest.1,
            "{} is not in the webhook's trace: {all:?}",
            hop.0
        );
    }
    assert_eq!(router.3, ingest.2, "the router's parent is ingest: {all:?}");
    assert_eq!(
        calls.3, router.2,
        "the calls worker's parent is the router: {all:?}"
    );
    assert_eq!(
        update.3, calls.2,
        "the request's parent is the calls worker: {all:?}"
    );
}
