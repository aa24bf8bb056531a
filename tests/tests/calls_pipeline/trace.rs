//! `switchboard trace` of a booked call: what an operator sees when a business asks "what
//! happened to this call?" — found by the agent's call id, the caller's number, the
//! ServiceTitan call id or the job id.

use super::{SLOTS, TENANT, config_with, outcome};
use std::time::Duration;
use switchboard_cli::{Cli, Command, TraceQuery, run};
use switchboard_e2e::Stack;
use switchboard_test_support::eventually;

async fn trace(stack: &Stack, key: &str, json: bool) -> String {
    let cli = Cli {
        config: None,
        nats_url: Some(stack.nats.url()),
        json,
        command: Command::Trace(TraceQuery {
            tenant: "demo".into(),
            key: key.into(),
            since: Duration::from_secs(3600),
        }),
    };
    let mut out = Vec::new();
    run(&cli, &mut out).await.expect("trace");
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_call_is_traced_from_any_of_its_keys() {
    let _slot = SLOTS.acquire().await.unwrap();
    let stack = Stack::builder(|nats, sim| config_with(nats, sim, ""))
        .ingest()
        .router()
        .calls()
        .analytics()
        .start()
        .await;
    let job = stack
        .sim
        .create_job(TENANT, &serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301, "campaign_id": 31}))
        .await;
    let job_id = job["id"].as_i64().unwrap();
    // The agent booked call 9003 (seeded Unbooked in st-sim).
    let report = outcome(
        "booked",
        "+15125550103",
        "2026-11-20T17:21:20Z",
        Some(job_id),
    );
    let call_id = report["call"]["id"].as_str().unwrap().to_owned();
    stack.report("msg_trace_1", report).await;
    assert!(
        eventually(Duration::from_secs(30), || async {
            stack.sim.call(TENANT, 9003).await["call_type"] == "Booked"
        })
        .await
    );
    // Analytics has its facts once it has seen the outcome.
    assert!(
        eventually(Duration::from_secs(20), || async {
            trace(&stack, &call_id, false)
                .await
                .contains("analytics facts")
        })
        .await,
        "{}",
        trace(&stack, &call_id, false).await
    );

    let text = trace(&stack, &call_id, false).await;
    for wanted in [
        "inbound",
        "delivery demo:agent:msg_trace_1",
        "call.outcome, booked",
        "call.reclassified, ServiceTitan call 9003, Unbooked",
        "→ Booked / Service Call / tag \"Booked by AI Agent\"",
        "CALLS_LEDGER",
        "analytics facts",
    ] {
        assert!(text.contains(wanted), "no `{wanted}` in:\n{text}");
    }
    // In time order: the delivery, then its event, then the write.
    let at = |needle: &str| text.find(needle).unwrap_or(usize::MAX);
    assert!(
        at("delivery demo:agent") < at("call.outcome, booked"),
        "{text}"
    );
    assert!(
        at("call.outcome, booked") < at("call.reclassified"),
        "{text}"
    );

    // The same trail from the caller's number, ServiceTitan's call id and the job id.
    let doc: serde_json::Value =
        serde_json::from_str(&trace(&stack, &call_id, true).await).unwrap();
    let kinds = |doc: &serde_json::Value| -> Vec<String> {
        doc["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} {}", e["kind"], e["at_ref"]))
            .collect()
    };
    let by_call = kinds(&doc);
    for key in ["(512) 555-0103", "9003", &job_id.to_string()] {
        let other: serde_json::Value =
            serde_json::from_str(&trace(&stack, key, true).await).unwrap();
        let found = kinds(&other);
        for entry in by_call
            .iter()
            .filter(|e| e.contains("EVENTS") || e.contains("INBOUND"))
        {
            assert!(found.contains(entry), "`{key}` misses {entry}: {found:?}");
        }
    }
    let reclassified = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["detail"]["type"] == "call.reclassified")
        .expect("the write is in the trail");
    assert_eq!(
        reclassified["detail"]["data"]["before"]["call_type"],
        "Unbooked"
    );
    assert_eq!(
        reclassified["detail"]["data"]["after"]["call_type"],
        "Booked"
    );

    let nothing = trace(&stack, "no-such-call", false).await;
    assert!(
        nothing.contains("nothing about `no-such-call`"),
        "{nothing}"
    );
}
