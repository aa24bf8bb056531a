//! The export mirror against st-sim and a real nats-server.

use switchboard_calls::mirror::ExportMirror;
use switchboard_servicetitan::{RetryPolicy, TenantClient};
use switchboard_test_support::NatsServer;

fn client(base: &str) -> TenantClient {
    TenantClient::new(switchboard_st_sim::demo::client_settings(
        base,
        1000,
        RetryPolicy::default(),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_mirrored_and_a_new_instance_resumes_from_the_saved_cursor() {
    let nats = NatsServer::start();
    let base = switchboard_st_sim::spawn_demo(|seed| seed.settings.export_page_size = 4).await;
    let client = client(&base);

    let js = switchboard_bus::async_nats::jetstream::new(nats.client().await);
    let facts = ExportMirror::open(&js, 1).await.unwrap();
    assert_eq!(facts.sync("demo", &client).await.unwrap(), 10);
    let record = facts
        .get("demo", 9009)
        .await
        .unwrap()
        .expect("call 9009 mirrored");
    assert_eq!(record.excuse_memo, "Caller dialed wrong business");
    assert_eq!(record.location.as_ref().map(|l| l.id), Some(201));
    assert!(facts.get("demo", 424242).await.unwrap().is_none());
    assert_eq!(facts.sync("demo", &client).await.unwrap(), 0, "nothing new");

    // The phone system reports a call; a fresh instance (another replica, a restart)
    // picks up only that one, from the saved cursor.
    let (_, added) = switchboard_st_sim::SimClient::new(&base)
        .create_call(
            1234567,
            &serde_json::json!({"from": "+15125550142", "to": "+15125550000", "duration_secs": 95, "customer_id": 101, "location_id": 201}),
        )
        .await;
    let again = ExportMirror::open(&js, 1).await.unwrap();
    assert_eq!(again.sync("demo", &client).await.unwrap(), 1);
    let new_call = again
        .get("demo", added["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new_call.from, "+15125550142");
}

/// A deployment from before the KV move has the mirrors as plain streams (`ST_CALLS` on
/// `stcalls.>`, …) with a cursor at the end of the export. The worker does not trust or
/// convert that cache: its buckets start empty, so it re-reads the exports from the start
/// and has every call and location again; the old streams are left for the operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_with_the_old_mirror_streams_resyncs_into_the_buckets() {
    use switchboard_bus::async_nats::jetstream::stream;
    let nats = NatsServer::start();
    let base = switchboard_st_sim::spawn_demo(|_| {}).await;
    let js = switchboard_bus::async_nats::jetstream::new(nats.client().await);
    for (name, subject) in [
        ("ST_CALLS", "stcalls.>"),
        ("ST_CURSORS", "stcursor.>"),
        ("ST_LOCATIONS", "stlocs.>"),
    ] {
        js.create_stream(stream::Config {
            name: name.into(),
            subjects: vec![subject.into()],
            max_messages_per_subject: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    // The old cursor said "everything read"; the old mirror had a stale record.
    js.publish("stcursor.demo", "old-cursor-at-the-end".into())
        .await
        .unwrap()
        .await
        .unwrap();
    js.publish("stcalls.demo.9009", "{\"stale\": true}".into())
        .await
        .unwrap()
        .await
        .unwrap();

    let facts = ExportMirror::open(&js, 1).await.unwrap();
    let client = client(&base);
    assert_eq!(
        facts.sync("demo", &client).await.unwrap(),
        10,
        "re-read from the start"
    );
    assert!(facts.sync_locations("demo", &client).await.unwrap() > 0);
    let record = facts.get("demo", 9009).await.unwrap().unwrap();
    assert_eq!(record.excuse_memo, "Caller dialed wrong business");
    assert!(facts.location("demo", 201).await.unwrap().is_some());
    // `nats kv ls` shows them as buckets; the old streams are untouched.
    for bucket in ["ST_CALLS", "ST_CURSORS", "ST_LOCATIONS"] {
        js.get_key_value(bucket).await.unwrap();
        assert!(js.get_stream(bucket).await.is_ok(), "{bucket} left alone");
    }
}
