//! The calls pipeline when something fails: an ambiguous match, 429 storms and 500 bursts,
//! a reason renamed in ServiceTitan, a missing permission, an outage longer than
//! `max_deliver` and the operator's replay. (The stack and config are in `main.rs`.)

use super::{Pipeline, TENANT, outcome};
use std::time::Duration;
use switchboard_test_support::{eventually, stream_messages};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_match_is_dead_lettered_and_a_429_storm_only_delays() {
    let s = Pipeline::start().await;
    // Two calls from the same caller a minute apart: which one did the agent take? Never guess.
    for received_on in ["2026-11-22T16:00:00Z", "2026-11-22T16:01:00Z"] {
        s.sim
            .create_call(TENANT, &serde_json::json!({"from": "+15125550177", "to": "+15125550000", "duration_secs": 90,
                "received_on": received_on, "customer_id": 101, "location_id": 201, "reason_id": 1}))
            .await;
    }
    let ambiguous = outcome("booked", "+15125550177", "2026-11-22T16:00:30Z", None);
    s.report("msg_ambiguous", ambiguous).await;
    let dead = s.dead_letter(|v| v["reason"] == "ambiguous_call").await;
    assert!(dead, "no ambiguous_call dead letter");

    // ServiceTitan answers 429 to the next 40 requests: the outcome is late, not lost.
    s.sim
        .set_faults(
            &serde_json::json!({"force_status": 429, "force_count": 40, "retry_after_secs": 0}),
        )
        .await;
    s.report(
        "msg_storm",
        outcome("not_lead", "+15125550106", "2026-11-21T14:42:10Z", None),
    )
    .await;
    assert!(s.call_becomes(9006, "NotLead", 60).await);
    assert_eq!(s.count("update call").await, 1);

    // Then a burst of 500s: "excused" for call 9010 (Unbooked, 2026-11-22T18:10Z) still lands,
    // with the configured memo.
    s.sim
        .set_faults(&serde_json::json!({"force_status": 500, "force_count": 30}))
        .await;
    s.report(
        "msg_burst",
        outcome("excused", "+15125550106", "2026-11-22T18:10:05Z", None),
    )
    .await;
    assert!(
        s.call_becomes(9010, "Excused", 60).await,
        "{}",
        s.call(9010).await
    );
    let call = s.call(9010).await;
    assert_eq!(call["excuse_memo"], "Agent: caller hung up");
    assert_eq!(call["reason_id"], 1, "Service Call");
    assert_eq!(s.count("update call").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reason_renamed_in_servicetitan_after_start_up_is_dead_lettered_as_a_bad_mapping() {
    let s = Pipeline::start().await;
    // Someone renames "Service Call" in ServiceTitan while the worker runs: its policy now
    // names a reason ServiceTitan refuses.
    let path = switchboard_st_sim::demo_seed_path();
    let mut seed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for reason in seed["tenants"][0]["call_reasons"].as_array_mut().unwrap() {
        if reason["name"] == "Service Call" {
            reason["name"] = "Service Call (old)".into();
        }
    }
    let status = s.sim.seed(&seed).await;
    assert!(status.is_success());
    s.report(
        "msg_renamed",
        outcome("booked", "+15125550103", "2026-11-20T17:21:20Z", None),
    )
    .await;
    let client = s.nats.client().await;
    let dead = s
        .dead_letter(|v| {
            v["reason"] == "bad_mapping" && v["error"].as_str().unwrap_or("").contains("reason")
        })
        .await;
    assert!(
        dead,
        "no bad_mapping dead letter: {:?}",
        stream_messages(&client, "DLQ")
            .await
            .iter()
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        s.count("update call").await,
        1,
        "one refused attempt, not retried"
    );
    assert_eq!(s.call(9003).await["call_type"], "Unbooked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_403_is_dead_lettered_naming_the_permission_to_grant() {
    let s = Pipeline::start().await;
    // Wait for the mirror so the next requests are the outcome's own.
    s.wait_for_mirror().await;
    s.sim
        .set_faults(&serde_json::json!({"force_status": 403, "force_count": 50}))
        .await;
    let mut report = outcome("booked", "+15125550103", "2026-11-20T17:21:20Z", None);
    report["servicetitan"]["call_id"] = 9003.into();
    s.report("msg_forbidden", report).await;
    let dead = s
        .dead_letter(|v| {
            // The reason is the bare code operators filter on; what to grant is in `error`.
            v["reason"] == "missing_permission"
                && v["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("Reclassify call"))
        })
        .await;
    assert!(dead, "no missing_permission dead letter");
    assert_eq!(s.count("update call").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_longer_than_max_deliver_ends_in_the_dlq_and_a_replay_applies_it_once() {
    let s = Pipeline::start_with("max_deliver = 2\n").await;
    // The worker has mirrored the export (so the call is known and only ServiceTitan's
    // answers can fail it).
    s.wait_for_mirror().await;
    let set_faults = |faults: serde_json::Value| {
        let sim = s.sim.clone();
        async move {
            let status = sim.set_faults(&faults).await;
            assert!(status.is_success());
        }
    };
    // ServiceTitan answers 500 to everything for longer than the worker will retry.
    set_faults(serde_json::json!({"force_status": 500, "force_count": 1_000_000})).await;
    let mut report = outcome("booked", "+15125550103", "2026-11-20T17:21:20Z", None);
    report["servicetitan"]["call_id"] = 9003.into();
    s.report("msg_outage", report).await;

    let client = s.nats.client().await;
    let letter = |m: &switchboard_test_support::StoredMessage| {
        serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap()
    };
    let exhausted = || async {
        stream_messages(&client, "DLQ")
            .await
            .iter()
            .find(|m| letter(m)["reason"] == "max_deliveries")
            .map(|m| m.sequence)
    };
    // Each delivery spends the ServiceTitan client's own retries (~6 s a request).
    let found = eventually(Duration::from_secs(120), || async {
        exhausted().await.is_some()
    })
    .await;
    assert!(found, "the exhausted outcome is not in the DLQ");
    let dlq_seq = exhausted().await;
    let dead = stream_messages(&client, "DLQ").await;
    let dead: Vec<_> = dead.iter().map(letter).collect();
    assert_eq!(dead.len(), 1, "one letter for one message: {dead:?}");
    assert_eq!(
        dead[0]["consumer"], "calls",
        "dlq.EVENTS.calls, as documented"
    );
    assert_eq!(dead[0]["deliveries"], 2);
    let error = dead[0]["error"].as_str().unwrap();
    assert!(
        error.contains("last error") && error.contains("500"),
        "{error}"
    );
    assert_eq!(s.count("update call").await, 0);
    assert!(s.metrics().await.contains(
        r#"switchboard_calls_events_total{type="call.outcome",result="dead_lettered"} 1"#
    ));

    // ServiceTitan recovers; the operator replays the letter, and it is applied once.
    set_faults(serde_json::json!({"force_status": null, "force_count": 0})).await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    switchboard_cli::replay_one(&js, dlq_seq.unwrap())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || async {
            s.events_of("call.reclassified").await.len() == 1
        })
        .await,
        "the replay was not applied"
    );
    assert_eq!(s.call(9003).await["call_type"], "Booked");
    // A second replay of the same letter is refused (it was removed); nothing more is written.
    assert!(
        switchboard_cli::replay_one(&js, dlq_seq.unwrap())
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(s.count("update call").await, 1);
}
