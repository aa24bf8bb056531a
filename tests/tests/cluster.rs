//! Switchboard on a 3-node JetStream cluster (`replicas = 3`), with nodes SIGKILLed while
//! work is in flight. What must hold: nothing a provider was told was accepted is lost,
//! nothing is duplicated (in INBOUND, EVENTS or ServiceTitan), and a killed node that comes
//! back catches up. The counts these tests print are recorded in docs/benchmarks.md.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchboard_e2e::{Service, spawn_service};
use switchboard_st_sim::SimClient;
use switchboard_test_support::{
    NatsCluster, TestScheme, agent_report, eventually, http_client, stream_messages, wait_ready,
};

/// One config for every service: the cluster's three URLs, three replicas.
fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    let toml = format!(
        "[nats]\nurl = \"{nats}\"\nreplicas = 3\nrequest_timeout_secs = 10\n\
         [ingest]\nlisten = \"127.0.0.1:0\"\npublish_timeout_ms = 3000\n\
         [router]\nlisten = \"127.0.0.1:0\"\nack_wait_secs = 5\nnak_delay_ms = 200\n\
         [calls]\nlisten = \"127.0.0.1:0\"\nretry_delay_ms = 500\nexport_poll_ms = 500\nack_wait_secs = 10\nlock_stale_secs = 20\n\
         {st}rate_limit_per_sec = 50\n\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\n\
         [tenants.demo.calls.outcomes.not_lead]\nreason = \"Wrong Number\"\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{secret}\"]\n"
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

/// An agent's end-of-call report (one `call.outcome` event each).
fn outcome(n: usize, st_call: Option<i64>) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"type": "call.outcome", "occurred_at": "2026-11-23T12:00:00Z",
        "call": {"id": format!("cluster-{n}"), "from": "+15125550199", "to": "+15125550000",
                 "started_at": "2026-11-23T11:58:00Z"},
        "outcome": "not_lead", "servicetitan": {"call_id": st_call}}),
    )
    .unwrap()
}

/// Sends one delivery as a provider does: the same signed request again until a 2xx (every
/// 100 ms, two minutes at most). Returns how many answers were not a 2xx.
async fn deliver(http: &reqwest::Client, ingest: &str, id: &str, body: &[u8]) -> usize {
    let hook = agent_report("demo", "agent", id, body);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut refused = 0;
    loop {
        match hook.send(http, ingest).await {
            Ok(r) if r.status().is_success() => return refused,
            _ => refused += 1,
        }
        assert!(Instant::now() < deadline, "{id} was never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_ingest_and_router(nats: &str, sim: &str) -> String {
    let (ingest_url, _) = spawn_service(Service::Ingest, config(nats, sim)).await;
    let (router_ops, _) = spawn_service(Service::Router, config(nats, sim)).await;
    let http = http_client();
    wait_ready(&http, &format!("{ingest_url}/readyz")).await;
    wait_ready(&http, &format!("{router_ops}/readyz")).await;
    ingest_url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_inbound_leader_under_load_loses_and_duplicates_nothing() {
    const DELIVERIES: usize = 300;
    const SENDERS: usize = 12;
    switchboard_test_support::init_logs();
    let mut cluster = NatsCluster::start(3).await;
    let ingest = start_ingest_and_router(&cluster.url(), "http://127.0.0.1:9").await;
    let http = http_client();
    let leader = cluster.stream_leader("INBOUND").await;

    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (http, ingest) = (http.clone(), ingest.clone());
            let (accepted, refused, next) = (accepted.clone(), refused.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= DELIVERIES {
                        return;
                    }
                    let r = deliver(&http, &ingest, &format!("msg_{n}"), &outcome(n, None)).await;
                    refused.fetch_add(r, Ordering::Relaxed);
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // A third of the way in, the node leading INBOUND dies.
    assert!(
        eventually(Duration::from_secs(60), || async {
            accepted.load(Ordering::Relaxed) >= DELIVERIES / 3
        })
        .await
    );
    cluster.node(leader).kill();
    let killed_at = accepted.load(Ordering::Relaxed);
    for s in senders {
        s.await.unwrap();
    }

    let client = cluster.client().await;
    let inbound = stream_messages(&client, "INBOUND").await;
    let ids: std::collections::HashSet<_> = inbound
        .iter()
        .filter_map(|m| m.header("Nats-Msg-Id").map(str::to_owned))
        .collect();
    eprintln!(
        "cluster/ingest: {DELIVERIES} deliveries, INBOUND leader n{} killed after {killed_at}; \
         {} answers were not 2xx and were retried; INBOUND holds {} ({} distinct)",
        leader + 1,
        refused.load(Ordering::Relaxed),
        inbound.len(),
        ids.len()
    );
    assert_eq!(inbound.len(), DELIVERIES, "every accepted delivery once");
    assert_eq!(ids.len(), DELIVERIES);
    let routed = eventually(Duration::from_secs(60), || async {
        stream_messages(&client, "EVENTS").await.len() == DELIVERIES
    })
    .await;
    let events = stream_messages(&client, "EVENTS").await.len();
    assert!(
        routed,
        "the router published {events} events for {DELIVERIES} deliveries"
    );

    // The killed node comes back and catches up.
    cluster.node(leader).start_again();
    assert_eq!(
        cluster.wait_until_current("INBOUND").await,
        DELIVERIES as u64
    );
    assert_eq!(
        cluster.wait_until_current("EVENTS").await,
        DELIVERIES as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_events_leader_or_the_meta_leader_writes_each_outcome_once() {
    const PER_PHASE: usize = 10;
    switchboard_test_support::init_logs();
    let mut cluster = NatsCluster::start(3).await;
    let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
    let http = http_client();
    // Calls for the agent to classify: all Unbooked, each needing one write.
    let mut st_calls = Vec::new();
    for i in 0..2 * PER_PHASE {
        let (_, v) = SimClient::new(&sim)
            .create_call(
                1234567,
                &serde_json::json!({"from": format!("+151255502{i:02}"), "to": "+15125550000",
                "duration_secs": 60, "customer_id": 101, "location_id": 201, "reason_id": 1,
                "call_type": "Unbooked"}),
            )
            .await;
        st_calls.push(v["id"].as_i64().unwrap());
    }
    let ingest = start_ingest_and_router(&cluster.url(), &sim).await;
    let (calls_ops, _) = spawn_service(Service::Calls, config(&cluster.url(), &sim)).await;
    wait_ready(&http, &format!("{calls_ops}/readyz")).await;

    let sim_client = SimClient::new(&sim);
    let writes = || sim_client.count("update call");
    for phase in 0..2 {
        let victim = if phase == 0 {
            cluster.stream_leader("EVENTS").await
        } else {
            cluster.meta_leader().await
        };
        let batch = &st_calls[phase * PER_PHASE..(phase + 1) * PER_PHASE];
        let mut refused = 0;
        for (i, id) in batch.iter().enumerate() {
            let n = phase * PER_PHASE + i;
            refused += deliver(&http, &ingest, &format!("out_{n}"), &outcome(n, Some(*id))).await;
            if i == PER_PHASE / 2 {
                // Outcomes are in flight in the router and the calls worker.
                cluster.node(victim).kill();
            }
        }
        let done = eventually(Duration::from_secs(90), || async {
            writes().await >= ((phase + 1) * PER_PHASE) as u64
        })
        .await;
        let what = if phase == 0 {
            "EVENTS leader"
        } else {
            "meta leader"
        };
        assert!(
            done,
            "phase {phase} ({what} killed): only {} writes",
            writes().await
        );
        eprintln!(
            "cluster/calls: {what} n{} killed mid-batch; {refused} answers were not 2xx and were retried",
            victim + 1
        );
        cluster.node(victim).start_again();
        cluster.wait_until_current("EVENTS").await;
    }
    // Exactly one ServiceTitan write per outcome, and each call classified as the agent said.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        writes().await,
        (2 * PER_PHASE) as u64,
        "one write per outcome"
    );
    for id in &st_calls {
        let call = sim_client
            .call(switchboard_st_sim::demo::TENANT_ID, *id)
            .await;
        assert_eq!(call["call_type"], "NotLead", "call {id}");
    }
    let client = cluster.client().await;
    let reclassified = stream_messages(&client, "EVENTS")
        .await
        .into_iter()
        .filter(|m| m.subject.ends_with(".call.reclassified"))
        .count();
    assert_eq!(
        reclassified,
        2 * PER_PHASE,
        "one call.reclassified per outcome"
    );
}
