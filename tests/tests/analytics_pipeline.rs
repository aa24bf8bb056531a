//! End to end: signed agent reports → ingest → router → calls worker and analytics → st-sim,
//! with a real nats-server: a scripted day gives both booking rates, and a call drifted in
//! ServiceTitan is asked back, fixed by the calls worker and resolved. (Analytics on its own
//! is tested in `services/analytics/tests/service.rs`.)

use futures_util::StreamExt;
use std::time::Duration;
use switchboard_bus::async_nats;
use switchboard_e2e::{Service, Stack};
use switchboard_test_support::{TestScheme, eventually};

const TENANT_ID: u64 = 1234567;

/// Each test here runs the whole pipeline on a 2-core machine: one at a time, so a
/// JetStream API call in one is not starved past its timeout by the others.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(nats: &str, sim: &str, auto: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    let services = switchboard_e2e::services_toml(nats, "");
    let toml = format!(
        "{services}[tenants.demo]\ntimezone = \"America/Chicago\"\n\
         [tenants.demo.analytics]\nauto_reclassify = \"{auto}\"\n\
         {st}\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\n\
         [tenants.demo.calls.outcomes.excused]\nreason = \"Service Call\"\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{secret}\"]\n"
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

fn outcome(call: &str, outcome: &str, st_call: i64, started_at: &str) -> serde_json::Value {
    serde_json::json!({"type": "call.outcome", "occurred_at": started_at,
        "call": {"id": call, "from": "+15125550100", "to": "+15125550000", "started_at": started_at},
        "outcome": outcome, "servicetitan": {"call_id": st_call}, "agent": "ava", "campaign": "Google Ads"})
}

fn rate(day: &serde_json::Value, view: &str) -> (u64, u64, u64, u64, Option<f64>) {
    let f = &day[view];
    (
        f["booked"].as_u64().unwrap(),
        f["unbooked"].as_u64().unwrap(),
        f["excused"].as_u64().unwrap(),
        f["abandoned"].as_u64().unwrap(),
        f["booking_rate"].as_f64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_day_gives_both_rates_and_a_drifted_call_is_fixed_and_resolved() {
    let _serial = ONE_AT_A_TIME.lock().await;
    // nats-server and st-sim first: the call below is in ServiceTitan before any service starts.
    let mut s = Stack::builder(|nats, sim| config(nats, sim, "on"))
        .start()
        .await;
    // A call just before local midnight: 2026-11-20 22:30 in Chicago, 04:30 UTC the next day.
    let (_, late) = s
        .sim
        .create_call(TENANT_ID, &serde_json::json!({"from": "+15125550188", "to": "+15125550000", "duration_secs": 60,
            "received_on": "2026-11-21T04:30:00Z", "customer_id": 101, "location_id": 201, "reason_id": 1,
            "call_type": "Unbooked"}))
        .await;
    let late_id = late["id"].as_i64().unwrap();

    for service in [
        Service::Ingest,
        Service::Router,
        Service::Calls,
        Service::Analytics,
    ] {
        let config = s.config();
        s.start_service(service, config).await;
    }
    let client = s.nats.client().await;

    // The scripted day. 2026-11-20 (Chicago): 9001, 9002 booked (ServiceTitan: Booked),
    // 9003 booked (ServiceTitan: Unbooked → the calls worker books it), the late call
    // unbooked (ServiceTitan agrees). 2026-11-21: 9004 excused, 9005 booked, 9006 unbooked,
    // 9007 abandoned — ServiceTitan agrees on each.
    let script = [
        ("ag_1", "booked", 9001, "2026-11-20T15:07:10Z"),
        ("ag_2", "booked", 9002, "2026-11-20T16:14:10Z"),
        ("ag_3", "booked", 9003, "2026-11-20T17:21:10Z"),
        ("ag_late", "unbooked", late_id, "2026-11-21T04:30:10Z"),
        ("ag_4", "excused", 9004, "2026-11-21T18:28:10Z"),
        ("ag_5", "booked", 9005, "2026-11-21T19:35:10Z"),
        ("ag_6", "unbooked", 9006, "2026-11-21T14:42:10Z"),
        ("ag_7", "abandoned", 9007, "2026-11-21T15:49:10Z"),
    ];
    for (call, verdict, st, at) in script {
        s.report(&format!("msg_{call}"), outcome(call, verdict, st, at))
            .await;
    }
    let range = format!(
        "{}/v1/tenants/demo/booking-rate?from=2026-11-20&to=2026-11-21",
        s.analytics_url()
    );
    let expected = |body: &serde_json::Value| {
        rate(&body["days"][0], "agent") == (3, 1, 0, 0, Some(0.75))
            && rate(&body["days"][0], "servicetitan") == (3, 1, 0, 0, Some(0.75))
            && rate(&body["days"][1], "agent") == (1, 1, 1, 1, Some(0.5))
            && rate(&body["days"][1], "servicetitan") == (1, 1, 1, 1, Some(0.5))
    };
    let settled = eventually(Duration::from_secs(30), || async {
        expected(&s.get_json(&range).await)
    })
    .await;
    let body = s.get_json(&range).await;
    assert!(settled, "not the hand-computed rates: {body:#}");
    assert_eq!(body["totals"]["agent"]["booked"], 4);
    assert_eq!(body["breakdowns"]["by_agent"]["ava"]["agent"]["calls"], 8);
    assert_eq!(body["days"][0]["date"], "2026-11-20");
    // The snapshot is on ANALYTICS too (latest per subject).
    let js = async_nats::jetstream::new(client.clone());
    let stream = js.get_stream("ANALYTICS").await.unwrap();
    let published = eventually(Duration::from_secs(10), || async {
        let Ok(m) = stream
            .get_last_raw_message_by_subject("analytics.demo.booking_rate.2026-11-20")
            .await
        else {
            return false;
        };
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        v["agent"]["booking_rate"] == 0.75 && v["servicetitan"]["booking_rate"] == 0.75
    })
    .await;
    assert!(published, "no agreeing snapshot on ANALYTICS");

    // While the calls worker was applying the outcomes, ServiceTitan briefly disagreed
    // (call 9003): that closed within the grace period, so nothing was asked.
    let closed = eventually(Duration::from_secs(10), || async {
        s.get_json(&format!(
            "{}/v1/tenants/demo/discrepancies",
            s.analytics_url()
        ))
        .await["count"]
            == 0
    })
    .await;
    assert!(closed);
    let mut discrepancies = client
        .subscribe("analytics.demo.discrepancy")
        .await
        .unwrap();

    // A CSR reclassifies call 9003 back to Unbooked in ServiceTitan: the sweep shows it,
    // it is a discrepancy, analytics asks the calls worker, the worker books it again, the
    // next sweep resolves it and the rates agree again.
    let st = switchboard_servicetitan::ServiceTitan::from_config(&s.config()).unwrap();
    let csr = st.tenant("demo").unwrap();
    let (export, _) = switchboard_servicetitan::export_all_calls(csr, None)
        .await
        .unwrap();
    let current = csr
        .current_call(export.iter().find(|x| x.id == 9003).unwrap())
        .await
        .unwrap();
    let change = switchboard_servicetitan::CallChange {
        call_type: Some(Some(switchboard_servicetitan::models::CallType::Unbooked)),
        ..Default::default()
    };
    csr.update_call(&current, &change).await.unwrap();

    let mut statuses = Vec::new();
    let resolved = tokio::time::timeout(Duration::from_secs(40), async {
        while let Some(m) = discrepancies.next().await {
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            if v["call"] == "ag_3" && (v["status"] == "open" || !statuses.is_empty()) {
                statuses.push((
                    v["status"].as_str().unwrap().to_owned(),
                    v["servicetitan"].clone(),
                ));
                if v["status"] == "resolved" {
                    return;
                }
            }
        }
    })
    .await;
    assert!(resolved.is_ok(), "never resolved: {statuses:?}");
    assert_eq!(
        statuses[0],
        ("open".to_owned(), serde_json::json!("unbooked"))
    );
    let call = s.sim.call(TENANT_ID, 9003).await;
    assert_eq!(call["call_type"], "Booked", "the calls worker fixed it");
    let agree = eventually(Duration::from_secs(20), || async {
        expected(&s.get_json(&range).await)
    })
    .await;
    assert!(agree, "{:#}", s.get_json(&range).await);
    let requests: Vec<_> = switchboard_test_support::stream_messages(&client, "EVENTS")
        .await
        .into_iter()
        .filter(|m| m.subject == "events.demo.call.reclassify.requested")
        .collect();
    assert_eq!(requests.len(), 1, "asked once for that call state");
    let open = s
        .get_json(&format!(
            "{}/v1/tenants/demo/discrepancies",
            s.analytics_url()
        ))
        .await;
    assert_eq!(open["count"], 0, "{open:#}");
}
