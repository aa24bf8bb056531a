//! `switchboard rejected list/show` against what a real ingest recorded: the operator's
//! view of "this provider's webhooks stopped working" after the business rotated its
//! ServiceTitan webhook key and Switchboard still has the old one.

use std::time::Duration;
use switchboard_cli::{Cli, Command, ListFilter, run};
use switchboard_e2e::{Service, spawn_service};
use switchboard_test_support::{HookSpec, NatsServer, TestScheme, http_client};

fn ingest_config(nats_url: &str) -> switchboard_config::Config {
    let secret = TestScheme::ServiceTitan.secret(1).config;
    format!(
        "[nats]\nurl = \"{nats_url}\"\n[ingest]\nlisten = \"127.0.0.1:0\"\n\
         [tenants.acme.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"{secret}\"]\nrecord_rejected_body_bytes = 32\n"
    )
    .parse()
    .unwrap()
}

async fn cli(nats: &NatsServer, json: bool, command: Command) -> anyhow::Result<String> {
    let cli = Cli {
        config: None,
        nats_url: Some(nats.url()),
        json,
        command,
    };
    let mut out = Vec::new();
    run(&cli, &mut out).await?;
    Ok(String::from_utf8(out).unwrap())
}

fn list(tenant: Option<&str>) -> Command {
    Command::RejectedList(ListFilter {
        tenant: tenant.map(str::to_owned),
        source: None,
        since: Duration::from_secs(3600),
        limit: 50,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_why_a_providers_deliveries_are_refused() {
    let nats = NatsServer::start();
    let (ingest, _task) = spawn_service(Service::Ingest, ingest_config(&nats.url())).await;
    switchboard_test_support::wait_ready(&http_client(), &format!("{ingest}/readyz")).await;

    // Nothing refused yet: no stream, and the CLI says why.
    let err = cli(&nats, false, list(None)).await.unwrap_err().to_string();
    assert!(err.contains("no REJECTED stream"), "{err}");

    // ServiceTitan signs with the business's new key; Switchboard has the old one.
    let body = br#"{"eventType":"CallCompleted","callId":42}"#;
    let spec = HookSpec {
        public_url: "http://localhost",
        tenant: "acme",
        source: "st",
        body,
        timestamp: switchboard_signatures::system_now_ms() / 1000,
        id: "",
    };
    let hook = TestScheme::ServiceTitan.sign(&TestScheme::ServiceTitan.secret(2), &spec);
    let response = hook.send(&http_client(), &ingest).await.unwrap();
    assert_eq!(response.status(), 401);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let listed: serde_json::Value = loop {
        if let Ok(out) = cli(&nats, true, list(Some("acme"))).await {
            let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
            if listed.as_array().is_some_and(|a| a.len() == 1) {
                break listed;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refusal was not listed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = listed[0]["id"].as_u64().unwrap();
    assert_eq!(listed[0]["rejected"]["reason"], "bad_signature");

    let text = cli(&nats, false, list(None)).await.unwrap();
    assert!(
        text.contains("acme/st") && text.contains("bad_signature"),
        "{text}"
    );
    assert!(
        cli(&nats, false, list(Some("globex")))
            .await
            .unwrap()
            .contains("no rejected deliveries")
    );

    let shown = cli(&nats, false, Command::RejectedShow { id })
        .await
        .unwrap();
    for wanted in [
        "answer:   401 invalid_signature (bad_signature)",
        "x-servicetitan-signature: <redacted: hex, 64 chars>",
        "content-type: application/json",
        &format!("sha256 {}", switchboard_signatures::sha256_hex(body)),
        r#"body starts: {"eventType":"CallCompleted","ca"#,
    ] {
        assert!(shown.contains(wanted), "no `{wanted}` in:\n{shown}");
    }
    let signature = hook.header("X-ServiceTitan-Signature").unwrap();
    assert!(!shown.contains(signature), "{shown}");
    let err = cli(&nats, false, Command::RejectedShow { id: 999 })
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("no rejected delivery 999"),
        "{err:#}"
    );
}
