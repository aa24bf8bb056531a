//! The HTTP contract of `POST /v1/hooks/{tenant}/{source}`, scheme by scheme.

use crate::helpers::{TestApp, assert_error, json, second_secret_for, secret_for, spawn_app};
use std::io::{Read, Write};
use switchboard_test_support::{TestScheme, TestSecret};

fn body_for(scheme: TestScheme, n: usize) -> Vec<u8> {
    format!(
        "{{\"data\":{{\"id\":\"evt-{}-{n}\",\"event_type\":\"call.hangup\"}},\"note\":\"caf\u{e9} \u{1f525}\"}}",
        scheme.source_name()
    )
    .into_bytes()
}

#[tokio::test]
async fn every_scheme_stores_exactly_one_message_with_raw_bytes_and_headers() {
    let app = spawn_app().await;
    for (n, scheme) in TestScheme::ALL.into_iter().enumerate() {
        let body = body_for(scheme, n);
        let id = format!("delivery-{n}");
        let spec = app.spec("acme", scheme, &body, &id);
        let hook = scheme.sign(&secret_for("acme", scheme), &spec);
        let (status, reply) = json(app.send(&hook).await).await;
        assert_eq!(status, 200, "{scheme:?}: {reply}");
        let expected_id = format!(
            "acme:{}:{}",
            scheme.source_name(),
            scheme.expected_key(&spec, &hook)
        );
        assert_eq!(reply["status"], "accepted", "{scheme:?}");
        assert_eq!(reply["id"], expected_id.as_str(), "{scheme:?}");
        assert_eq!(reply["duplicate"], false, "{scheme:?}");
        let seq = reply["stream_seq"].as_u64().expect("stream_seq");

        let stored = app.inbound().await;
        let message = stored
            .iter()
            .find(|m| m.sequence == seq)
            .expect("message at stream_seq");
        assert_eq!(
            message.subject,
            format!("inbound.acme.{}", scheme.source_name())
        );
        assert_eq!(message.payload, hook.body, "{scheme:?}: raw bytes");
        assert_eq!(message.header("Nats-Msg-Id"), Some(expected_id.as_str()));
        assert_eq!(message.header("Switchboard-Tenant"), Some("acme"));
        assert_eq!(
            message.header("Switchboard-Source"),
            Some(scheme.source_name())
        );
        assert_eq!(
            message.header("Switchboard-Scheme"),
            Some(scheme.scheme_name())
        );
        assert_eq!(message.header("Content-Type"), hook.header("Content-Type"));
        let received_at = message
            .header("Switchboard-Received-At")
            .expect("received-at");
        assert!(
            received_at.len() == 24 && received_at.ends_with('Z'),
            "{received_at}"
        );
        assert_eq!(
            stored.len(),
            n + 1,
            "{scheme:?}: exactly one message per delivery"
        );
    }
}

#[tokio::test]
async fn bad_signatures_get_401_and_publish_nothing() {
    let app = spawn_app().await;
    let now = switchboard_signatures::system_now_ms() / 1000;
    for scheme in TestScheme::ALL {
        let body = body_for(scheme, 0);
        let good = app.signed("acme", scheme, &body, "d-1");
        let mut cases = Vec::new();

        let mut tampered = good.clone();
        if matches!(scheme, TestScheme::TwilioForm | TestScheme::Plivo) {
            tampered.body = String::from_utf8(tampered.body)
                .unwrap()
                .replace("completed", "completes")
                .into_bytes();
        } else {
            tampered.body.push(b' ');
        }
        // A static token or Basic authenticates the sender, not the body: nothing to tamper.
        if scheme.signs_body() {
            cases.push(("tampered body", tampered));
        }

        let wrong = scheme.secret(99);
        cases.push((
            "wrong secret",
            scheme.sign(&wrong, &app.spec("acme", scheme, &body, "d-1")),
        ));

        let mut missing = good.clone();
        if let Some(header) = scheme.signature_header() {
            missing.remove_header(header);
        } else if scheme == TestScheme::Aircall {
            missing.body = body.clone(); // the body without its token field
        } else {
            missing.body = b"{}".to_vec(); // Dialpad: a body that is no token
        }
        cases.push(("missing proof", missing));

        if scheme.timestamped() {
            // Well outside the 300 s tolerance: the test may take a while to reach this case.
            for (label, ts) in [("stale", now - 400), ("future", now + 400)] {
                let mut spec = app.spec("acme", scheme, &body, "d-1");
                spec.timestamp = ts;
                cases.push((label, scheme.sign(&secret_for("acme", scheme), &spec)));
            }
        }

        for (label, hook) in cases {
            let (status, reply) = json(app.send(&hook).await).await;
            assert_eq!(status, 401, "{scheme:?} {label}: {reply}");
            assert_eq!(reply["error"], "invalid_signature", "{scheme:?} {label}");
            assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }
    assert!(
        app.inbound().await.is_empty(),
        "nothing may be published for rejected requests"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"switchboard_ingest_verification_failures_total{tenant="acme",source="stdwh",reason="stale_timestamp"} 1"#),
        "{metrics}"
    );
}

/// For every scheme: body `n` signed with `secret` of that scheme and delivered (as `id`)
/// to `tenant`'s source of the same scheme is answered `expected`.
async fn each_scheme_signed_with(
    app: &TestApp,
    secret: impl Fn(TestScheme) -> TestSecret,
    tenant: &str,
    (n, id): (usize, &str),
    expected: u16,
) {
    for scheme in TestScheme::ALL {
        let body = body_for(scheme, n);
        let hook = scheme.sign(&secret(scheme), &app.spec(tenant, scheme, &body, id));
        let (status, reply) = json(app.send(&hook).await).await;
        assert_eq!(status, expected, "{scheme:?}: {reply}");
    }
}

#[tokio::test]
async fn the_second_secret_in_the_list_is_accepted() {
    let app = spawn_app().await;
    let rotated = |scheme| second_secret_for("acme", scheme);
    each_scheme_signed_with(&app, rotated, "acme", (1, "rotated"), 200).await;
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_as_duplicate_and_stored_once() {
    let app = spawn_app().await;
    for scheme in TestScheme::ALL {
        let hook = app.signed("acme", scheme, &body_for(scheme, 2), "same-delivery");
        let (s1, first) = json(app.send(&hook).await).await;
        let (s2, second) = json(app.send(&hook).await).await;
        assert_eq!((s1, s2), (200, 200), "{scheme:?}");
        assert_eq!(first["duplicate"], false);
        assert_eq!(second["duplicate"], true, "{scheme:?}");
        assert_eq!(first["id"], second["id"]);
        assert_eq!(first["stream_seq"], second["stream_seq"]);
    }
    assert_eq!(app.inbound().await.len(), TestScheme::ALL.len());
    assert!(app.metrics().await.contains(
        r#"switchboard_ingest_requests_total{tenant="acme",source="st",outcome="duplicate"} 1"#
    ));
}

#[tokio::test]
async fn one_tenants_secret_never_verifies_for_another() {
    let app = spawn_app().await;
    // Signed with acme's secret, delivered to globex's source of the same scheme.
    let acmes = |scheme| secret_for("acme", scheme);
    each_scheme_signed_with(&app, acmes, "globex", (3, "x"), 401).await;
    assert!(app.inbound().await.is_empty());
}

#[tokio::test]
async fn routing_and_method_errors() {
    let app = spawn_app().await;
    let hook = app.signed("acme", TestScheme::Retell, b"{}", "x");

    for (path, code) in [
        ("/v1/hooks/nobody/retell", "unknown_tenant"),
        ("/v1/hooks/%FF%FE/retell", "unknown_tenant"),
        ("/v1/hooks/acme/nothing", "unknown_source"),
    ] {
        let mut misrouted = hook.clone();
        misrouted.path_and_query = path.into();
        assert_error(app.send(&misrouted).await, 404, code, path).await;
    }

    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .http
            .request(
                method.clone(),
                format!("{}/v1/hooks/acme/retell", app.address),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers().get("allow").map(|v| v.to_str().unwrap()),
            Some("POST")
        );
        assert_error(response, 405, "method_not_allowed", method.as_str()).await;
    }
    assert!(app.inbound().await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_get_413_declared_or_chunked() {
    let app = spawn_app().await; // max_body_bytes = 65536
    let big = vec![b'x'; 65_537];
    let hook = app.signed("acme", TestScheme::ServiceTitan, &big, "big");
    assert_error(app.send(&hook).await, 413, "payload_too_large", "declared").await;

    // Chunked: no Content-Length, the limit must still hold (reject, never truncate).
    let address = app.address.trim_start_matches("http://").to_owned();
    let sig = hook.header("X-ServiceTitan-Signature").unwrap().to_owned();
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST /v1/hooks/acme/st HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             X-ServiceTitan-Signature: {sig}\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        for chunk in big.chunks(8192) {
            if stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .is_err()
                || stream.write_all(chunk).is_err()
                || stream.write_all(b"\r\n").is_err()
            {
                break; // the server may answer and close before we finish
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");

    // Exactly at the limit is fine.
    let fits = vec![b'y'; 65_536];
    let (status, _) = json(
        app.send(&app.signed("acme", TestScheme::ServiceTitan, &fits, "fits"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.inbound().await.len(), 1);
}

#[tokio::test]
async fn unreadable_bodies_get_415_or_400_not_401() {
    let app = spawn_app().await;
    // Twilio without a form content type (and no bodySHA256): 415.
    let mut hook = app.signed("acme", TestScheme::TwilioForm, b"x", "CA1");
    hook.set_header("Content-Type", "application/json");
    assert_error(
        app.send(&hook).await,
        415,
        "unsupported_media_type",
        "JSON type",
    )
    .await;
    // A form body that is not UTF-8 once decoded: 400.
    let mut hook = app.signed("acme", TestScheme::TwilioForm, b"x", "CA1");
    hook.body = b"CallSid=%FF%FE".to_vec();
    assert_error(app.send(&hook).await, 400, "bad_request", "not UTF-8").await;
    assert!(app.inbound().await.is_empty());
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let (status, _) = json(
        app.send(&app.signed("acme", TestScheme::Vapi, b"{}", "m"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let response = app.get("/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let metrics = response.text().await.unwrap();
    for expected in [
        r#"switchboard_ingest_requests_total{tenant="acme",source="vapi",outcome="accepted"} 1"#,
        "# TYPE switchboard_ingest_publish_ack_seconds histogram",
        "switchboard_ingest_publish_ack_seconds_count 1",
        "# TYPE switchboard_ingest_in_flight_requests gauge",
        "switchboard_ingest_in_flight_requests 0",
        "# TYPE switchboard_ingest_verification_failures_total counter",
    ] {
        assert!(metrics.contains(expected), "missing {expected}\n{metrics}");
    }
    assert_error(app.get("/nope").await, 404, "not_found", "/nope").await;
}

#[tokio::test]
async fn the_verifier_uses_the_injected_clock() {
    use std::sync::Arc;
    use switchboard_test_support::NatsServer;
    // Pinned far in the past: a delivery signed "now" is from the future and fails; one
    // signed at the pinned time passes.
    let pinned = 1_700_000_000i64;
    let app = crate::helpers::spawn_app_with(
        NatsServer::start(),
        "",
        Some(Arc::new(move || pinned * 1000)),
    )
    .await;
    let scheme = TestScheme::StandardWebhooks;
    let (status, _) = json(app.send(&app.signed("acme", scheme, b"{}", "now")).await).await;
    assert_eq!(status, 401);
    let mut spec = app.spec("acme", scheme, b"{}", "then");
    spec.timestamp = pinned;
    let (status, _) = json(
        app.send(&scheme.sign(&secret_for("acme", scheme), &spec))
            .await,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn ringcentral_validation_is_echoed_and_stores_nothing() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(format!("{}/v1/hooks/acme/ringcentral", app.address))
        .header("Validation-Token", "e2b5f6a0-3c1d-4a8e-9f00-5f7d1c2b3a4e")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("validation-token")
            .map(|v| v.to_str().unwrap()),
        Some("e2b5f6a0-3c1d-4a8e-9f00-5f7d1c2b3a4e")
    );
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    assert!(
        app.inbound().await.is_empty(),
        "a handshake is not a delivery"
    );

    // A verified notification that also carries the header is stored, not echoed.
    let mut notification = app.signed(
        "acme",
        TestScheme::RingCentral,
        b"{\"uuid\":\"n-1\"}",
        "n-1",
    );
    notification.set_header("Validation-Token", "e2b5f6a0");
    let (status, reply) = json(app.send(&notification).await).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        reply["id"], "acme:ringcentral:n-1",
        "the notification's uuid is its dedup id"
    );
    assert_eq!(app.inbound().await.len(), 1);
}

#[tokio::test]
async fn basic_schemes_challenge_so_bandwidth_retries_with_credentials() {
    let app = spawn_app().await;
    for scheme in [TestScheme::Bandwidth, TestScheme::Basic] {
        let mut first = app.signed("acme", scheme, b"{\"eventType\":\"initiate\"}", "bw-1");
        first.remove_header("Authorization");
        let response = app.send(&first).await;
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("Basic realm=\"switchboard\", charset=\"UTF-8\"".to_owned()),
            "{scheme:?}"
        );
        assert_error(response, 401, "invalid_signature", "no credentials").await;
        let retry = app.signed("acme", scheme, b"{\"eventType\":\"initiate\"}", "bw-1");
        assert_eq!(app.send(&retry).await.status(), 200, "{scheme:?}");
    }
    // A scheme that is not Basic sends no challenge.
    let mut unsigned = app.signed("acme", TestScheme::Bland, b"{}", "x");
    unsigned.remove_header("X-Webhook-Signature");
    assert!(
        app.send(&unsigned)
            .await
            .headers()
            .get("www-authenticate")
            .is_none()
    );
    assert_eq!(app.inbound().await.len(), 2);
}
