//! End to end: signed agent reports → ingest → router → calls worker → st-sim, with a real
//! nats-server. This file has the stack, the config and the tests of what is written (once,
//! and only when needed); `failures` has the ones where ServiceTitan or matching fails
//! (dead letters, 429s and 500s, an outage and its replay). One test binary, so the three
//! slots are shared by all of them.

mod failures;
mod reload;
mod trace;

use std::time::Duration;
use switchboard_e2e::{Service, Stack, spawn_service};
use switchboard_test_support::{TestScheme, eventually, msg_id, publish_acked, stream_messages};

const TENANT: u64 = 1234567;

/// Each test runs a whole pipeline (nats-server, ingest, router, calls, st-sim); on a
/// 2-core machine twelve at once starve JetStream API calls past their timeout. Three at a
/// time keeps the suite quick and the calls answered.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(3);

/// A stack of this file: nats-server, st-sim, ingest, router and calls, holding one of the
/// three slots while it runs.
struct Pipeline {
    _slot: tokio::sync::SemaphorePermit<'static>,
    stack: Stack,
}

impl std::ops::Deref for Pipeline {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

fn config(nats: &str, sim: &str) -> switchboard_config::Config {
    config_with(nats, sim, "")
}

/// [`config`] with `calls` appended to the `[calls]` section.
fn config_with(nats: &str, sim: &str, calls: &str) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    let services = switchboard_e2e::services_toml(
        nats,
        &format!("not_found_horizon_secs = 2\nlock_stale_secs = 15\n{calls}"),
    );
    let toml = format!(
        "{services}{st}rate_limit_per_sec = 30\n\
         [tenants.demo.calls.outcomes.booked]\nreason = \"Service Call\"\ntags = [\"Booked by AI Agent\"]\n\
         [tenants.demo.calls.outcomes.not_lead]\nreason = \"Wrong Number\"\n\
         [tenants.demo.calls.outcomes.excused]\nreason = \"Service Call\"\nexcuse_memo = \"Agent: caller hung up\"\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nsecrets = [\"{secret}\"]\n"
    );
    toml.parse::<switchboard_config::Config>().unwrap()
}

impl Pipeline {
    async fn start() -> Self {
        Self::start_with("").await
    }

    /// A stack whose calls worker gets `calls` added to its `[calls]` section.
    async fn start_with(calls: &str) -> Self {
        let slot = SLOTS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let calls = calls.to_owned();
        let stack = Stack::builder(config)
            .ingest()
            .router()
            .service_with(Service::Calls, move |nats, sim| {
                config_with(nats, sim, &calls)
            })
            .start()
            .await;
        Pipeline { _slot: slot, stack }
    }

    async fn call(&self, id: i64) -> serde_json::Value {
        self.sim.call(TENANT, id).await
    }

    /// Waits until the worker has mirrored the CRM location export, so that the next
    /// requests ServiceTitan counts are the test's own.
    async fn wait_for_mirror(&self) {
        assert!(
            eventually(Duration::from_secs(20), || async {
                self.count("export location contacts").await >= 1
            })
            .await,
            "the calls worker never read the location export"
        );
    }

    /// Whether ServiceTitan's call `id` reaches `call_type` within `secs` seconds.
    async fn call_becomes(&self, id: i64, call_type: &str, secs: u64) -> bool {
        eventually(Duration::from_secs(secs), || async {
            self.call(id).await["call_type"] == call_type
        })
        .await
    }

    async fn count(&self, op: &str) -> u64 {
        self.sim.count(op).await
    }

    async fn metrics(&self) -> String {
        self.stack.metrics(Service::Calls).await
    }
}

fn outcome(outcome: &str, from: &str, started_at: &str, job: Option<i64>) -> serde_json::Value {
    serde_json::json!({"type": "call.outcome", "occurred_at": started_at,
        "call": {"id": format!("ag-{from}-{started_at}"), "from": from, "to": "+15125550000", "started_at": started_at},
        "outcome": outcome, "servicetitan": {"job_id": job}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_reach_servicetitan_once_and_only_when_needed() {
    let s = Pipeline::start().await;
    // A job the agent booked for the caller of call 9003 (seeded Unbooked, 2026-11-20T17:21Z).
    let job = s
        .sim
        .create_job(TENANT, &serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301, "campaign_id": 31}))
        .await;
    let job_id = job["id"].as_i64().unwrap();

    // The agent's verdict on call 9003, reported as often as a test needs.
    let booked = || {
        outcome(
            "booked",
            "+15125550103",
            "2026-11-20T17:21:20Z",
            Some(job_id),
        )
    };
    s.report("msg_booked_1", booked()).await;
    let done = s.call_becomes(9003, "Booked", 20).await;
    assert!(
        done,
        "call 9003 was not reclassified: {}",
        s.call(9003).await
    );
    let call = s.call(9003).await;
    assert_eq!(call["job_id"], job_id, "linked to the booked job");
    assert_eq!(call["tag"], "Booked by AI Agent");
    assert_eq!(call["reason_id"], 1, "Service Call");
    assert_eq!(call["excuse_memo"], "", "untouched fields survive");
    assert_eq!(s.count("update call").await, 1);
    let metrics = s.metrics().await;
    assert!(
        metrics.contains("switchboard_calls_servicetitan_requests_total{tenant=\"demo\",operation=\"update call\",status=\"200\"} 1"),
        "{metrics}"
    );
    let reclassified = s.events_of("call.reclassified").await;
    assert_eq!(reclassified.len(), 1);
    assert_eq!(reclassified[0]["data"]["before"]["call_type"], "Unbooked");
    assert_eq!(reclassified[0]["data"]["after"]["call_type"], "Booked");

    // The same verdict again (a new report): ServiceTitan already matches — no write.
    s.report("msg_booked_2", booked()).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            !s.events_of("call.confirmed").await.is_empty()
        })
        .await
    );
    assert_eq!(s.count("update call").await, 1, "no second write");

    // A replay of the first outcome, long after the dedup window (a new message id):
    // the ledger knows it is done.
    let client = s.nats.client().await;
    let first = stream_messages(&client, "EVENTS")
        .await
        .into_iter()
        .find(|m| m.subject == "events.demo.call.outcome")
        .unwrap();
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    let subject = "events.demo.call.outcome".to_owned();
    publish_acked(&js, subject, msg_id("replayed-days-later"), first.payload).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.metrics().await.contains(
                "switchboard_calls_events_total{type=\"call.outcome\",result=\"already_done\"} 1",
            )
        })
        .await
    );
    assert_eq!(s.count("update call").await, 1, "the replay wrote nothing");

    // not_lead maps as configured (call 9006, 2026-11-21T14:42Z).
    s.report(
        "msg_notlead",
        outcome("not_lead", "+15125550106", "2026-11-21T14:42:10Z", None),
    )
    .await;
    assert!(s.call_becomes(9006, "NotLead", 20).await);
    assert_eq!(s.call(9006).await["reason_id"], 6, "Wrong Number");

    // A call ServiceTitan never records ends in the DLQ once the horizon passes.
    let ghost = outcome("booked", "+15125559999", "2026-11-20T10:00:00Z", None);
    s.report("msg_ghost", ghost).await;
    let dead = s.dead_letter(|v| v["reason"] == "call_not_found").await;
    assert!(dead, "no call_not_found dead letter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appointment_confirmations_follow_the_caller_with_one_write_each() {
    let s = Pipeline::start().await;
    let confirmation = |status: &str, minute: u32| {
        serde_json::json!({"type": "appointment.confirmation", "occurred_at": format!("2026-11-23T18:{minute:02}:00Z"), "call": {"id": "ag_c"},
            "status": status, "servicetitan": {"job_id": 1001, "appointment_id": 5001}})
    };
    let confirmed = |s: &Pipeline| {
        let sim = s.sim.clone();
        async move {
            let state = sim.state().await;
            state["tenants"][0]["appointments"][0]["confirmed"]
                .as_bool()
                .unwrap()
        }
    };
    s.report("msg_conf_1", confirmation("confirmed", 30)).await;
    assert!(eventually(Duration::from_secs(20), || confirmed(&s)).await);
    s.report("msg_conf_2", confirmation("confirmed", 31)).await; // already so: no write
    s.report("msg_conf_3", confirmation("declined", 32)).await;
    assert!(eventually(Duration::from_secs(20), || async { !confirmed(&s).await }).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.count("confirm appointment").await, 1);
    assert_eq!(s.count("remove appointment confirmation").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_a_crash_still_write_each_call_exactly_once() {
    const N: i64 = 240;
    let s = Pipeline::start().await; // one worker already running
    // N fresh Unbooked calls in ServiceTitan.
    for i in 0..N {
        let (status, _) = s
            .sim
            .create_call(TENANT, &serde_json::json!({"from": format!("+1512556{i:04}"), "to": "+15125550000", "duration_secs": 120,
                "customer_id": 101, "location_id": 201, "reason_id": 1}))
            .await;
        assert_eq!(status, 201);
    }
    // Their outcomes, straight onto EVENTS (as the router publishes them), found by id.
    let client = s.nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    for i in 0..N {
        let call_id = 9011 + i;
        let event = serde_json::json!({"specversion": "1.0", "id": format!("evt_bulk_{i}"), "source": "/switchboard/demo/agent",
            "type": "call.outcome", "time": "2026-11-23T15:00:00Z", "datacontenttype": "application/json", "tenant": "demo",
            "inboundid": format!("demo:agent:bulk{i}"),
            "data": {"provider": "agent", "provider_call_id": format!("ag_bulk_{i}"), "outcome": "booked",
                     "servicetitan": {"call_id": call_id}}});
        let headers = msg_id(&format!("evt_bulk_{i}"));
        let payload = serde_json::to_vec(&event).unwrap();
        publish_acked(&js, "events.demo.call.outcome".into(), headers, payload).await;
    }
    // A second replica joins; it is killed mid-stream; a third takes over.
    let sim = s.sim.url().to_owned();
    // st-sim counts every PUT it receives, 429s included, and allows 60/s: the replicas
    // together must stay under that (the first paces at 30/s), or a refused PUT and its
    // retry would count as two writes.
    let replica_config = || {
        let mut c = config(&s.nats.url(), &sim);
        for t in c.tenants.values_mut() {
            if let Some(st) = t.servicetitan.as_mut() {
                st.rate_limit_per_sec = Some(20);
            }
        }
        c
    };
    let (_, second) = spawn_service(Service::Calls, replica_config()).await;
    let some = eventually(Duration::from_secs(30), || async {
        s.count("update call").await >= 10
    })
    .await;
    assert!(some);
    second.abort();
    let (_, _third) = spawn_service(Service::Calls, replica_config()).await;

    let all = eventually(Duration::from_secs(120), || async {
        let state = s.sim.state().await;
        state["tenants"][0]["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"].as_i64().unwrap() > 9010 && c["call_type"] == "Booked")
            .count()
            == N as usize
    })
    .await;
    assert!(all, "not every call was reclassified");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        s.count("update call").await,
        N as u64,
        "exactly one write per call that needed one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_call_is_located_early_and_its_outcome_costs_a_read_and_a_write() {
    let s = Pipeline::start().await;
    // The mirror of the CRM location exports is in place once the worker has followed them.
    s.wait_for_mirror().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let call = serde_json::json!({"id": "ag_9006", "from": "+15125550106", "to": "+15125550000",
        "started_at": "2026-11-21T14:42:10Z", "ended_at": "2026-11-21T14:45:10Z", "duration_secs": 180});
    s.report(
        "msg_completed",
        serde_json::json!({"type": "call.completed", "occurred_at": "2026-11-21T14:45:10Z", "call": call}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.metrics().await.contains(
                "switchboard_calls_events_total{type=\"call.completed\",result=\"applied\"} 1",
            )
        })
        .await,
        "{}",
        s.metrics().await
    );
    assert_eq!(s.count("list calls").await, 1, "located by numbers once");
    s.sim.reset_requests().await;
    // The outcome carries no ServiceTitan id, only the agent's call id: found through the
    // correlation, then one read and one write.
    s.report(
        "msg_outcome_after_completed",
        serde_json::json!({"type": "call.outcome", "occurred_at": "2026-11-21T14:45:20Z", "call": call,
            "outcome": "not_lead"}),
    )
    .await;
    assert!(s.call_becomes(9006, "NotLead", 20).await);
    for (op, n) in [
        ("list calls", 0),
        ("get call", 1),
        ("get location", 0),
        ("list location contacts", 0),
        ("update call", 1),
    ] {
        assert_eq!(s.count(op).await, n, "{op}");
    }
    // The location went back exactly as ServiceTitan had it.
    let state = s.sim.state().await;
    let location = state["tenants"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == 206)
        .unwrap()
        .clone();
    assert_eq!(location["contacts"].as_array().unwrap().len(), 1);
    assert!(location["removed_contacts"].is_null(), "{location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reclassify_request_is_applied_like_an_outcome_and_only_once() {
    let s = Pipeline::start().await;
    let client = s.nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client.clone());
    let request = |id: &str| {
        serde_json::json!({"specversion": "1.0", "id": id, "source": "/switchboard/demo/analytics",
            "type": "call.reclassify.requested", "subject": "9010", "time": "2026-11-23T12:00:00.000Z",
            "datacontenttype": "application/json", "tenant": "demo", "inboundid": "",
            "data": {"st_call_id": 9010, "outcome": "not_lead", "observed_call_type": "Unbooked",
                     "requested_by": "analytics"}})
    };
    for id in ["req-1", "req-2"] {
        let subject = "events.demo.call.reclassify.requested".to_owned();
        let payload = serde_json::to_vec(&request(id)).unwrap();
        publish_acked(&js, subject, Default::default(), payload).await;
    }
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.events_of("call.confirmed").await.len() == 1
        })
        .await
    );
    let call = s.call(9010).await;
    assert_eq!(call["call_type"], "NotLead");
    assert_eq!(call["reason_id"], 6, "Wrong Number");
    assert_eq!(
        s.count("update call").await,
        1,
        "the second request found it done"
    );
    let reclassified = s.events_of("call.reclassified").await;
    assert_eq!(reclassified.len(), 1);
    // The worker settles events concurrently, so either request may be the one that applies it;
    // what matters is that exactly one did.
    let applied_by = reclassified[0]["data"]["outcome_event_id"]
        .as_str()
        .unwrap();
    assert!(["req-1", "req-2"].contains(&applied_by), "{applied_by}");
    assert_eq!(reclassified[0]["data"]["after"]["call_type"], "NotLead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_outcome_wins_over_an_older_one_delivered_late() {
    let s = Pipeline::start().await;
    // The agent's later verdict (not_lead at 14:50) arrives first; its earlier one (booked at
    // 14:45) arrives late and must not overwrite it.
    let mut newer = outcome("not_lead", "+15125550106", "2026-11-21T14:42:10Z", None);
    newer["occurred_at"] = "2026-11-21T14:50:00Z".into();
    s.report("msg_newer", newer).await;
    assert!(s.call_becomes(9006, "NotLead", 20).await);
    let mut older = outcome("booked", "+15125550106", "2026-11-21T14:42:10Z", None);
    older["occurred_at"] = "2026-11-21T14:45:00Z".into();
    s.report("msg_older", older).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.metrics().await.contains(
                "switchboard_calls_events_total{type=\"call.outcome\",result=\"superseded\"} 1",
            )
        })
        .await
    );
    assert_eq!(s.call(9006).await["call_type"], "NotLead");
    assert_eq!(s.count("update call").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redial_is_not_matched_to_the_callers_previous_call() {
    let s = Pipeline::start().await;
    let add_call = |received_on: &'static str| {
        let sim = s.sim.clone();
        async move {
            let (_, v) = sim
                .create_call(TENANT, &serde_json::json!({"from": "+15125550155", "to": "+15125550000", "duration_secs": 60,
                    "received_on": received_on, "customer_id": 101, "location_id": 201, "reason_id": 1,
                    "call_type": "Unbooked"}))
                .await;
            v["id"].as_i64().unwrap()
        }
    };
    let completed = |id: &str, started_at: &str| {
        serde_json::json!({"type": "call.completed", "occurred_at": started_at,
            "call": {"id": id, "from": "+15125550155", "to": "+15125550000", "started_at": started_at}})
    };
    let applied = |n: u64| {
        let s = &s;
        async move {
            s.metrics().await.contains(&format!(
                "switchboard_calls_events_total{{type=\"call.completed\",result=\"applied\"}} {n}"
            ))
        }
    };
    let first = add_call("2026-11-22T16:00:00Z").await;
    s.report("msg_first", completed("ag_first", "2026-11-22T16:00:05Z"))
        .await;
    assert!(eventually(Duration::from_secs(20), || applied(1)).await);
    // The caller rings again five minutes later; ServiceTitan has not recorded it yet, and
    // the only call in the window is the first one — already the agent's other call.
    s.report("msg_redial", completed("ag_redial", "2026-11-22T16:05:05Z"))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        applied(1).await,
        "the redial must not bind to the first call"
    );
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.metrics().await.contains(
                "switchboard_calls_events_total{type=\"call.completed\",result=\"not_correlated\"} 1",
            )
        })
        .await
    );
    let second = add_call("2026-11-22T16:05:00Z").await;
    // The redial's outcome (no ServiceTitan id) lands on the second call, not the first.
    s.report(
        "msg_redial_outcome",
        serde_json::json!({"type": "call.outcome", "occurred_at": "2026-11-22T16:09:00Z",
            "call": {"id": "ag_redial", "from": "+15125550155", "to": "+15125550000", "started_at": "2026-11-22T16:05:05Z"},
            "outcome": "not_lead"}),
    )
    .await;
    assert!(s.call_becomes(second, "NotLead", 20).await);
    assert_eq!(s.call(first).await["call_type"], "Unbooked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appointment_a_csr_already_confirmed_is_not_written_again() {
    let s = Pipeline::start().await;
    // A CSR confirmed appointment 5002 in ServiceTitan before the caller did.
    let st =
        switchboard_servicetitan::ServiceTitan::from_config(&config(&s.nats.url(), s.sim.url()))
            .unwrap();
    st.tenant("demo")
        .unwrap()
        .confirm_appointment(5002)
        .await
        .unwrap();
    s.report(
        "msg_conf_csr",
        serde_json::json!({"type": "appointment.confirmation", "occurred_at": "2026-11-23T18:30:00Z",
            "call": {"id": "ag_d"}, "status": "confirmed", "servicetitan": {"job_id": 1002, "appointment_id": 5002}}),
    )
    .await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            s.metrics().await.contains(
                "switchboard_calls_events_total{type=\"appointment.confirmation\",result=\"applied\"} 1",
            )
        })
        .await
    );
    assert_eq!(
        s.count("get appointment").await,
        1,
        "read what ServiceTitan has"
    );
    assert_eq!(s.count("confirm appointment").await, 1, "only the CSR's");
}

/// A `job.booked` / `job.canceled` as the booking service publishes it, for agent call `call`.
async fn booking_event(s: &Pipeline, kind: &str, call: &str, job: i64) {
    let event = serde_json::json!({"specversion": "1.0", "id": format!("{kind}-{call}-{job}"),
        "source": "/switchboard/demo/booking", "type": kind, "subject": call,
        "time": jiff::Timestamp::now().to_string(), "datacontenttype": "application/json",
        "tenant": "demo", "inboundid": format!("req_{job}"),
        "data": {"request_id": format!("req_{job}"), "provider_call_id": call, "job_id": job}});
    let client = s.nats.client().await;
    let js = switchboard_bus::async_nats::jetstream::new(client);
    publish_acked(
        &js,
        format!("events.demo.{kind}"),
        msg_id(&format!("{kind}-{call}-{job}")),
        serde_json::to_vec(&event).unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booked_outcome_without_a_job_is_linked_to_the_job_booked_during_the_call() {
    let s = Pipeline::start().await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let job = s
            .sim
            .create_job(TENANT, &serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301, "campaign_id": 31}))
            .await;
        jobs.push(job["id"].as_i64().unwrap());
    }
    // Call 9003 (seeded Unbooked, 2026-11-20T17:21Z): during it the agent booked a job,
    // the caller canceled it, and the agent booked another. Another call booked a third.
    let booked = outcome("booked", "+15125550103", "2026-11-20T17:21:20Z", None);
    let call = booked["call"]["id"].as_str().unwrap().to_owned();
    booking_event(&s, "job.booked", "ag-another-call", jobs[2]).await;
    booking_event(&s, "job.booked", &call, jobs[0]).await;
    booking_event(&s, "job.canceled", &call, jobs[0]).await;
    booking_event(&s, "job.booked", &call, jobs[1]).await;
    s.report("msg_booked_no_job", booked).await;
    assert!(
        s.call_becomes(9003, "Booked", 20).await,
        "call 9003 was not reclassified: {}",
        s.call(9003).await
    );
    assert_eq!(
        s.call(9003).await["job_id"],
        jobs[1],
        "linked to the job still standing"
    );
    assert!(
        s.metrics()
            .await
            .contains("switchboard_calls_bookings_linked_total 1")
    );
    // An agent that booked elsewhere (no job.booked for its call) is classified as before,
    // with no job.
    s.report(
        "msg_booked_elsewhere",
        outcome("booked", "+15125550106", "2026-11-21T14:42:10Z", None),
    )
    .await;
    assert!(s.call_becomes(9006, "Booked", 20).await);
    assert!(s.call(9006).await["job_id"].is_null());
}
