//! Rejected deliveries on REJECTED: what is recorded, what is redacted, the per-source
//! cap, the body prefix a source opts into, and nothing when recording is off.

use crate::helpers::{PUBLIC_URL, assert_error, config_toml, secret_for, spawn_app_toml};
use std::sync::Arc;
use std::time::Duration;
use switchboard_bus::rejected::RejectedDelivery;
use switchboard_test_support::{HookSpec, NatsServer, TestScheme, eventually, try_stream_messages};

/// A pinned clock: every request falls in the same second, so the cap is exact.
const NOW_MS: i64 = 1_795_000_000_500;

async fn records(
    client: &switchboard_bus::async_nats::Client,
    n: usize,
) -> Vec<(String, RejectedDelivery)> {
    let ok = eventually(Duration::from_secs(10), || async {
        try_stream_messages(client, "REJECTED")
            .await
            .is_ok_and(|m| m.len() >= n)
    })
    .await;
    assert!(ok, "fewer than {n} records on REJECTED");
    // and no more arrive
    tokio::time::sleep(Duration::from_millis(300)).await;
    try_stream_messages(client, "REJECTED")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.subject, serde_json::from_slice(&m.payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn refusals_are_recorded_redacted_and_capped_per_source() {
    let nats = NatsServer::start();
    let toml = config_toml(&nats.url(), "[ingest.rejected]\nper_source_per_sec = 3\n");
    let app = spawn_app_toml(nats, &toml, Some(Arc::new(|| NOW_MS))).await;
    let body = br#"{"eventType":"CallCompleted","callId":42}"#;
    let spec = |tenant: &'static str, body: &'static [u8]| HookSpec {
        public_url: PUBLIC_URL,
        tenant,
        source: TestScheme::ServiceTitan.source_name(),
        body,
        timestamp: NOW_MS / 1000,
        id: "",
    };
    // Ten deliveries signed with a wrong (old) secret, in one second: three are recorded.
    let wrong =
        TestScheme::ServiceTitan.sign(&TestScheme::ServiceTitan.secret(99), &spec("acme", body));
    let signature = wrong.header("X-ServiceTitan-Signature").unwrap().to_owned();
    for _ in 0..10 {
        assert_error(
            app.send(&wrong).await,
            401,
            "invalid_signature",
            "wrong secret",
        )
        .await;
    }
    // Another source's refusals have their own cap: a 415 and a 413 (declared).
    let mut form = app.signed("acme", TestScheme::TwilioForm, b"x", "CA1");
    form.set_header("Content-Type", "application/json");
    assert_error(app.send(&form).await, 415, "unsupported_media_type", "json").await;
    let big: &'static [u8] = Box::leak(vec![b'x'; 65_537].into_boxed_slice());
    let oversized = TestScheme::ServiceTitan.sign(
        &secret_for("globex", TestScheme::ServiceTitan),
        &spec("globex", big),
    );
    assert_error(app.send(&oversized).await, 413, "payload_too_large", "big").await;

    let all = records(&app.nats_client, 5).await;
    assert_eq!(all.len(), 5, "3 capped + 1 + 1: {all:?}");
    let st: Vec<_> = all
        .iter()
        .filter(|(s, _)| s == "rejected.acme.st")
        .collect();
    assert_eq!(st.len(), 3);
    let r = &st[0].1;
    assert_eq!(
        (r.status, r.error.as_str(), r.reason.as_str()),
        (401, "invalid_signature", "bad_signature")
    );
    assert_eq!(
        (r.tenant.as_str(), r.source.as_str(), r.scheme.as_str()),
        ("acme", "st", "servicetitan")
    );
    assert_eq!(r.path, "/v1/hooks/acme/st");
    assert_eq!(r.at, "2026-11-18T11:06:40.500Z");
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no {name}: {r:?}"))
    };
    assert_eq!(
        header("content-type").value.as_deref(),
        Some("application/json")
    );
    let sig = header("x-servicetitan-signature");
    assert_eq!(sig.value, None);
    assert_eq!(sig.shape.as_deref(), Some("hex, 64 chars"));
    assert_eq!(r.body.size, body.len() as u64);
    assert_eq!(
        r.body.sha256.as_deref(),
        Some(switchboard_signatures::sha256_hex(body).as_str())
    );
    assert_eq!(
        r.body.prefix, None,
        "no body kept unless the source opts in"
    );
    let raw = serde_json::to_string(&all.iter().map(|(_, r)| r).collect::<Vec<_>>()).unwrap();
    assert!(
        !raw.contains(&signature),
        "the signature value was recorded: {raw}"
    );
    assert!(
        !raw.contains("CallCompleted"),
        "the body was recorded: {raw}"
    );

    let twilio = &all
        .iter()
        .find(|(s, _)| s == "rejected.acme.twilio")
        .unwrap()
        .1;
    assert_eq!(
        (twilio.status, twilio.error.as_str()),
        (415, "unsupported_media_type")
    );
    let big = &all
        .iter()
        .find(|(s, _)| s == "rejected.globex.st")
        .unwrap()
        .1;
    assert_eq!(
        (big.status, big.body.size, big.body.sha256.as_deref()),
        (413, 65_537, None)
    );

    let metrics = app.metrics().await;
    for line in [
        r#"switchboard_ingest_rejections_recorded_total{tenant="acme",source="st",outcome="recorded"} 3"#,
        r#"switchboard_ingest_rejections_recorded_total{tenant="acme",source="st",outcome="rate_capped"} 7"#,
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    assert!(
        app.inbound().await.is_empty(),
        "a refusal stores nothing on INBOUND"
    );
}

#[tokio::test]
async fn a_source_can_keep_the_first_bytes_and_recording_can_be_off() {
    let nats = NatsServer::start();
    let toml = config_toml(&nats.url(), "").replace(
        "[tenants.acme.sources.st]\n",
        "[tenants.acme.sources.st]\nrecord_rejected_body_bytes = 13\n",
    );
    let app = spawn_app_toml(nats, &toml, None).await;
    let mut hook = app.signed(
        "acme",
        TestScheme::ServiceTitan,
        br#"{"eventType":"CallCompleted"}"#,
        "",
    );
    hook.body.push(b' ');
    assert_error(app.send(&hook).await, 401, "invalid_signature", "tampered").await;
    let all = records(&app.nats_client, 1).await;
    assert_eq!(all[0].1.body.prefix.as_deref(), Some(r#"{"eventType":"#));

    let nats = NatsServer::start();
    let toml = config_toml(&nats.url(), "[ingest.rejected]\nenabled = false\n");
    let app = spawn_app_toml(nats, &toml, None).await;
    assert_error(app.send(&hook).await, 401, "invalid_signature", "tampered").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let js = switchboard_bus::async_nats::jetstream::new(app.nats_client.clone());
    assert!(
        js.get_stream("REJECTED").await.is_err(),
        "REJECTED was created with recording off"
    );
}
