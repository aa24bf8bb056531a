//! Live reload under load: a business is onboarded and a source's secret rotated while
//! deliveries keep arriving, through `POST /admin/reload` and SIGHUP; an invalid file is
//! refused and changes nothing. Every delivery answered 200 is on INBOUND once, and none
//! signed with a secret valid when it was sent is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;
use switchboard_test_support::{HookSpec, NatsServer, TestScheme, eventually, inbound_messages};

const OLD: u8 = 1;
const NEW: u8 = 2;

fn config(nats: &str, acme_secrets: &[u8], globex: bool) -> String {
    let secrets: Vec<String> = acme_secrets
        .iter()
        .map(|n| format!("\"{}\"", TestScheme::ServiceTitan.secret(*n).config))
        .collect();
    let mut toml = format!(
        "[nats]\nurl = \"{nats}\"\n[ingest]\nlisten = \"127.0.0.1:0\"\n[admin]\nreload_endpoint = true\n\
         [tenants.acme.sources.st]\nscheme = \"servicetitan\"\nsecrets = [{}]\n",
        secrets.join(", ")
    );
    if globex {
        toml.push_str(&format!(
            "[tenants.globex.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"{}\"]\n",
            TestScheme::ServiceTitan.secret(9).config
        ));
    }
    toml
}

fn hook(tenant: &str, secret: u8, n: usize) -> switchboard_test_support::Hook {
    let body = format!("{{\"eventType\":\"CallCompleted\",\"callId\":{n},\"secret\":{secret}}}");
    TestScheme::ServiceTitan.sign(
        &TestScheme::ServiceTitan.secret(secret),
        &HookSpec {
            public_url: "http://localhost",
            tenant,
            source: "st",
            body: body.as_bytes(),
            timestamp: switchboard_signatures::system_now_ms() / 1000,
            id: "",
        },
    )
}

struct Load {
    /// Which secret the senders sign with: OLD, NEW, or 0 for both alternately.
    signing: AtomicU8,
    stop: AtomicBool,
    sent: AtomicUsize,
    accepted: AtomicUsize,
    refused: std::sync::Mutex<Vec<String>>,
}

async fn reload(http: &reqwest::Client, address: &str) -> (u16, serde_json::Value) {
    let response = http
        .post(format!("{address}/admin/reload"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn generation(http: &reqwest::Client, address: &str) -> String {
    let metrics = http
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find(|l| l.starts_with("switchboard_config_generation "))
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_is_added_and_a_secret_rotated_under_load_without_a_restart() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config(&nats.url(), &[OLD], false)).unwrap();
    let loaded = switchboard_config::Config::load_file(&path, &|_: &str| None).unwrap();
    let app = switchboard_ingest::build_with_clock(
        loaded,
        Arc::new(switchboard_signatures::system_now_ms),
    )
    .await
    .unwrap()
    .with_config_path(Some(path.clone()));
    let address = format!("http://{}", app.local_addr());
    let _server = tokio::spawn(app.run_until(std::future::pending()));
    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{address}/readyz")).await;
    assert_eq!(
        generation(&http, &address).await,
        "switchboard_config_generation 1"
    );

    // Eight senders, all the time, signing as `signing` says.
    let load = Arc::new(Load {
        signing: AtomicU8::new(OLD),
        stop: AtomicBool::new(false),
        sent: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        refused: std::sync::Mutex::new(Vec::new()),
    });
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let (load, http, address) = (load.clone(), http.clone(), address.clone());
            tokio::spawn(async move {
                while !load.stop.load(Ordering::Acquire) {
                    let n = load.sent.fetch_add(1, Ordering::AcqRel);
                    let secret = match load.signing.load(Ordering::Acquire) {
                        0 => [OLD, NEW][n % 2],
                        s => s,
                    };
                    let response = hook("acme", secret, n).send(&http, &address).await.unwrap();
                    match response.status().as_u16() {
                        200 => {
                            load.accepted.fetch_add(1, Ordering::AcqRel);
                        }
                        status => {
                            let text = response.text().await.unwrap_or_default();
                            let line = format!(
                                "delivery {n} signed with secret {secret}: {status} {text}"
                            );
                            load.refused.lock().unwrap().push(line);
                        }
                    }
                }
            })
        })
        .collect();
    let progress = |at_least: usize| {
        let load = load.clone();
        async move {
            assert!(
                eventually(Duration::from_secs(10), || async {
                    load.accepted.load(Ordering::Acquire) >= at_least
                })
                .await
            );
        }
    };
    progress(50).await;

    // globex does not exist yet.
    let status = hook("globex", 9, 0)
        .send(&http, &address)
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);

    // An invalid file: refused with the start-up error, nothing changes.
    std::fs::write(
        &path,
        config(&nats.url(), &[OLD], false).replace("secrets = [", "secrets = [\"\", "),
    )
    .unwrap();
    let (status, refused) = reload(&http, &address).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_config");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("tenants.acme.sources.st.secrets[0]")
            && message.contains("nothing was applied"),
        "{message}"
    );
    assert_eq!(
        generation(&http, &address).await,
        "switchboard_config_generation 1"
    );

    // The rotation window: both secrets, and globex onboarded.
    std::fs::write(&path, config(&nats.url(), &[OLD, NEW], true)).unwrap();
    let (status, done) = reload(&http, &address).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["generation"], 2);
    assert_eq!(
        done["changed"],
        serde_json::json!([
            "tenants.acme.sources.st.secrets",
            "tenants.globex.sources.st.scheme",
            "tenants.globex.sources.st.secrets"
        ])
    );
    assert_eq!(done["restart_needed"], serde_json::json!([]));
    assert!(
        !done
            .to_string()
            .contains(&TestScheme::ServiceTitan.secret(NEW).config),
        "a secret in the answer"
    );
    let status = hook("globex", 9, 1)
        .send(&http, &address)
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "the new tenant is served");
    load.signing.store(0, Ordering::Release);
    let so_far = load.accepted.load(Ordering::Acquire);
    progress(so_far + 100).await;

    // The provider now signs with the new secret only; then the old one is removed, by
    // SIGHUP this time.
    load.signing.store(NEW, Ordering::Release);
    tokio::time::sleep(Duration::from_millis(300)).await; // the old-signed ones in flight land
    std::fs::write(&path, config(&nats.url(), &[NEW], true)).unwrap();
    let pid = std::process::id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            generation(&http, &address).await == "switchboard_config_generation 3"
        })
        .await
    );
    let so_far = load.accepted.load(Ordering::Acquire);
    progress(so_far + 100).await;
    load.stop.store(true, Ordering::Release);
    for s in senders {
        s.await.unwrap();
    }

    // Only the new secret now.
    let status = hook("acme", OLD, 0)
        .send(&http, &address)
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 401,
        "the old secret still verifies after the rotation"
    );

    let refused = load.refused.lock().unwrap().clone();
    assert!(refused.is_empty(), "refused wrongly: {refused:?}");
    let accepted = load.accepted.load(Ordering::Acquire);
    let client = nats.client().await;
    let stored = inbound_messages(&client).await;
    let acme = stored
        .iter()
        .filter(|m| m.subject == "inbound.acme.st")
        .count();
    assert_eq!(acme, accepted, "every 200 is on INBOUND exactly once");
    assert!(accepted > 250, "{accepted}");
}
