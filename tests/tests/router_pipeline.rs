//! End to end with a real nats-server: signed provider webhooks → ingest → INBOUND →
//! router → EVENTS (and DLQ).

use std::time::Duration;
use switchboard_e2e::{Service, ServiceTask, Stack, spawn_service};
use switchboard_signatures::{MacAlgorithm, sign};
use switchboard_test_support::{
    Hook, HookSpec, StoredMessage, TestScheme, event_fixture, eventually, stream_messages,
    wait_ready,
};

const PUBLIC_URL: &str = "https://hooks.example.com";

/// `ack_wait_secs = 2`: a crashed router's in-flight batch comes back after ack_wait (30 s by
/// default), which the crash test would otherwise wait for.
fn config(nats_url: &str) -> switchboard_config::Config {
    let secret = |s: TestScheme| s.secret(1).config;
    let toml = format!(
        "[nats]\nurl = \"{nats_url}\"\n[ingest]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\n\
         [router]\nlisten = \"127.0.0.1:0\"\nbatch = 32\nnak_delay_ms = 100\nack_wait_secs = 2\n\
         [tenants.acme.sources.twilio]\nscheme = \"twilio\"\nsecrets = [\"{}\"]\n\
         [tenants.acme.sources.telnyx]\nscheme = \"telnyx\"\nsecrets = [\"{}\"]\n\
         [tenants.acme.sources.retell]\nscheme = \"retell\"\nsecrets = [\"{}\"]\n\
         [tenants.acme.sources.vapi]\nscheme = \"vapi\"\nsecrets = [\"{}\"]\n\
         [tenants.acme.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{}\"]\nformat = \"agent\"\n\
         [tenants.acme.sources.st]\nscheme = \"servicetitan\"\nsecrets = [\"{}\"]\n",
        secret(TestScheme::TwilioForm),
        secret(TestScheme::Telnyx),
        secret(TestScheme::Retell),
        secret(TestScheme::Vapi),
        secret(TestScheme::StandardWebhooks),
        secret(TestScheme::ServiceTitan),
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

/// nats-server and ingest from the [`Stack`]; the router is run here, so a test can kill it
/// mid-stream and start another.
struct Pipeline {
    stack: Stack,
    ingest: String,
    http: reqwest::Client,
    client: switchboard_bus::async_nats::Client,
    router: Option<ServiceTask>,
}

impl Pipeline {
    async fn start() -> Self {
        let stack = Stack::builder(|nats, _| config(nats))
            .ingest()
            .start()
            .await;
        let client = stack.nats.client().await;
        let mut p = Pipeline {
            ingest: stack.ingest_url().to_owned(),
            http: stack.http.clone(),
            stack,
            client,
            router: None,
        };
        p.start_router().await;
        p
    }

    /// Starts a router without waiting for it to be ready.
    async fn start_router(&mut self) {
        let (ops, handle) = spawn_service(Service::Router, config(&self.stack.nats.url())).await;
        self.router = Some(handle);
        wait_ready(&self.http, &format!("{ops}/readyz")).await;
    }

    /// Kills the router as a crash would: the task is dropped mid-batch.
    fn kill_router(&mut self) {
        if let Some(r) = self.router.take() {
            r.abort();
        }
    }

    /// Twilio's status callbacks in `files` (fixtures), each signed and delivered in order.
    async fn send_twilio(&self, files: &[&str]) {
        for f in files {
            self.send(&twilio_hook(f)).await;
        }
    }

    async fn send(&self, hook: &Hook) {
        let response = hook.send(&self.http, &self.ingest).await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    async fn events(&self) -> Vec<StoredMessage> {
        stream_messages(&self.client, "EVENTS").await
    }

    /// The router's durable on INBOUND.
    async fn router_consumer(
        &self,
    ) -> switchboard_bus::async_nats::jetstream::consumer::PullConsumer {
        switchboard_bus::async_nats::jetstream::new(self.client.clone())
            .get_consumer_from_stream("router", "INBOUND")
            .await
            .unwrap()
    }

    /// Waits for exactly these events, of these types in this order.
    async fn wait_for_types(&self, wanted: &[&str]) -> Vec<StoredMessage> {
        let events = self.wait_events(wanted.len()).await;
        assert_eq!(types(&events), wanted);
        events
    }

    async fn wait_events(&self, n: usize) -> Vec<StoredMessage> {
        let ok = eventually(Duration::from_secs(20), || async {
            self.events().await.len() >= n
        })
        .await;
        let events = self.events().await;
        assert!(ok, "expected {n} events, have {}", events.len());
        // and no more arrive
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.events().await
    }
}

fn spec<'a>(source: &'a str, body: &'a [u8], id: &'a str) -> HookSpec<'a> {
    HookSpec {
        public_url: PUBLIC_URL,
        tenant: "acme",
        source,
        body,
        timestamp: switchboard_signatures::system_now_ms() / 1000,
        id,
    }
}

/// A Twilio form fixture, signed as Twilio signs it.
fn twilio_hook(path: &str) -> Hook {
    let body = event_fixture(path);
    let params = switchboard_signatures::parse_form(&body).unwrap();
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let url = format!("{PUBLIC_URL}/v1/hooks/acme/twilio");
    let token = TestScheme::TwilioForm.secret(1).signing;
    Hook {
        path_and_query: "/v1/hooks/acme/twilio".into(),
        headers: vec![
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            (
                "X-Twilio-Signature".into(),
                sign::twilio_form(&token, &url, &pairs, MacAlgorithm::Sha1),
            ),
        ],
        body,
    }
}

fn json_hook(scheme: TestScheme, source: &str, path: &str, id: &str) -> Hook {
    let body = event_fixture(path);
    scheme.sign(&scheme.secret(1), &spec(source, &body, id))
}

fn types(events: &[StoredMessage]) -> Vec<String> {
    events
        .iter()
        .map(|m| {
            serde_json::from_slice::<serde_json::Value>(&m.payload).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_becomes_canonical_events() {
    let p = Pipeline::start().await;
    p.send_twilio(&[
        "twilio/1-initiated.form",
        "twilio/2-ringing.form",
        "twilio/3-in-progress.form",
        "twilio/4-completed.form",
    ])
    .await;
    let events = p
        .wait_for_types(&["call.started", "call.answered", "call.completed"])
        .await;
    let completed: serde_json::Value = serde_json::from_slice(&events[2].payload).unwrap();
    assert_eq!(events[2].subject, "events.acme.call.completed");
    assert_eq!(completed["data"]["duration_secs"], 312);
    assert_eq!(completed["data"]["from"], "+15125550101");
    assert_eq!(completed["specversion"], "1.0");
    assert_eq!(events[2].header("Nats-Msg-Id"), completed["id"].as_str());

    // Each provider's call, in order; the dedup id is the source's letter and the index.
    let calls = [
        (
            TestScheme::Telnyx,
            "telnyx",
            &[
                "telnyx/1-call.initiated.json",
                "telnyx/2-call.answered.json",
                "telnyx/3-call.hangup.json",
            ][..],
        ),
        (
            TestScheme::Retell,
            "retell",
            &[
                "retell/1-call_started.json",
                "retell/2-call_ended.json",
                "retell/3-call_analyzed.json",
            ],
        ),
        (
            TestScheme::Vapi,
            "vapi",
            &[
                "vapi/1-status-ringing.json",
                "vapi/2-status-in-progress.json",
                "vapi/3-end-of-call-report.json",
            ],
        ),
    ];
    for (scheme, source, files) in calls {
        for (i, f) in files.iter().enumerate() {
            let id = format!("{}{i}", &source[..1]);
            p.send(&json_hook(scheme, source, f, &id)).await;
        }
    }
    p.send(&json_hook(
        TestScheme::StandardWebhooks,
        "agent",
        "agent/call-outcome.json",
        "msg_a1",
    ))
    .await;
    p.send(&json_hook(
        TestScheme::ServiceTitan,
        "st",
        "servicetitan/job-booked.json",
        "",
    ))
    .await;

    let events = p.wait_events(3 + 3 + 4 + 4 + 1 + 1).await;
    let all = types(&events);
    assert_eq!(
        &all[3..],
        [
            "call.started",
            "call.answered",
            "call.completed", // telnyx
            "call.started",
            "call.answered",
            "call.completed",
            "call.outcome", // retell
            "call.started",
            "call.answered",
            "call.completed",
            "call.outcome", // vapi
            "call.outcome", // agent
            "st.job.changed",
        ]
    );
    let subjects: Vec<&str> = events.iter().map(|m| m.subject.as_str()).collect();
    assert!(
        subjects.contains(&"events.acme.st.job.changed")
            && subjects.contains(&"events.acme.call.outcome")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_payload_is_dead_lettered_and_nothing_else_is_published() {
    let p = Pipeline::start().await;
    let bad = TestScheme::Telnyx.sign(
        &TestScheme::Telnyx.secret(1),
        &spec("telnyx", b"{this is not json", "x"),
    );
    p.send(&bad).await;
    p.send(&json_hook(
        TestScheme::Telnyx,
        "telnyx",
        "telnyx/2-call.answered.json",
        "ok",
    ))
    .await;
    // Only the good delivery produced events.
    p.wait_for_types(&["call.answered"]).await;
    let ok = eventually(Duration::from_secs(10), || async {
        !stream_messages(&p.client, "DLQ").await.is_empty()
    })
    .await;
    assert!(ok, "nothing in DLQ");
    let dlq = stream_messages(&p.client, "DLQ").await;
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].subject, "dlq.INBOUND.router");
    let letter: serde_json::Value = serde_json::from_slice(&dlq[0].payload).unwrap();
    assert_eq!(letter["reason"], "malformed");
    assert_eq!(letter["stream"], "INBOUND");
    assert_eq!(letter["stream_seq"], 1);
    assert!(
        letter["error"].as_str().unwrap().contains("not JSON"),
        "{letter}"
    );
    // The inbound message was settled (terminated), not left to be redelivered.
    let consumer = p.router_consumer().await;
    let settled = eventually(Duration::from_secs(5), || {
        let mut c = consumer.clone();
        async move {
            let info = c.info().await.unwrap();
            info.num_ack_pending == 0 && info.num_pending == 0
        }
    })
    .await;
    assert!(settled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_inbound_into_an_empty_events_stream_reproduces_identical_bytes() {
    let mut p = Pipeline::start().await;
    p.send_twilio(&[
        "twilio/1-initiated.form",
        "twilio/3-in-progress.form",
        "twilio/4-completed.form",
        "twilio/5-recording.form",
    ])
    .await;
    p.send(&json_hook(
        TestScheme::Retell,
        "retell",
        "retell/3-call_analyzed.json",
        "r",
    ))
    .await;
    p.send(&json_hook(
        TestScheme::StandardWebhooks,
        "agent",
        "agent/appointment-confirmation.json",
        "msg_c",
    ))
    .await;
    p.send(&json_hook(
        TestScheme::ServiceTitan,
        "st",
        "servicetitan/call-completed.json",
        "",
    ))
    .await;
    let payloads = |events: Vec<StoredMessage>| -> Vec<Vec<u8>> {
        events.into_iter().map(|m| m.payload).collect()
    };
    let first = payloads(p.wait_events(7).await);

    p.kill_router();
    let js = switchboard_bus::async_nats::jetstream::new(p.client.clone());
    js.delete_stream("EVENTS").await.unwrap();
    js.delete_consumer_from_stream("router", "INBOUND")
        .await
        .unwrap();
    p.start_router().await;
    let second = payloads(p.wait_events(7).await);
    assert_eq!(first, second, "replay must reproduce byte-identical events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_consumer_config_takes_effect_on_restart() {
    let mut p = Pipeline::start().await; // max_deliver 5 (default), ack_wait 2 s
    p.kill_router();
    let config = p
        .stack
        .nats
        .config("[router]\nlisten = \"127.0.0.1:0\"\nmax_deliver = 3\nack_wait_secs = 7\n");
    let (ops, _router) = spawn_service(Service::Router, config).await;
    wait_ready(&p.http, &format!("{ops}/readyz")).await;
    let mut consumer = p.router_consumer().await;
    let info = consumer.info().await.unwrap();
    assert_eq!(info.config.max_deliver, 3);
    assert_eq!(info.config.ack_wait, Duration::from_secs(7));
}
