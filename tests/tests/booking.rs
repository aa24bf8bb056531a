//! End to end: signed tool calls → ingest → NATS request-reply → the booking service →
//! st-sim (ServiceTitan), with a real nats-server. The new-caller and existing-customer
//! paths, window_full with alternatives, the ideal booking percentage, replayed and reused
//! request ids, a lost create answer, a zero-duration job type, reschedule and cancel, a
//! caller rescheduling on a confirmation call, a CSR race, bad deliveries, and no booking
//! service at all.

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_e2e::{Service, Stack};
use switchboard_test_support::{TestScheme, agent_report, eventually};

/// Each test here runs a whole stack on a 2-core machine: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(nats: &str, sim: &str, respect_ideal: bool) -> switchboard_config::Config {
    let secret = TestScheme::StandardWebhooks.secret(1).config;
    let st = switchboard_st_sim::demo::servicetitan_toml("demo", sim);
    format!(
        "[nats]\nurl = \"{nats}\"\nrequest_timeout_secs = 15\n[doctor]\nat_start = false\n[ingest]\nlisten = \"127.0.0.1:0\"\ntools_timeout_ms = 5000\n\
         [router]\nlisten = \"127.0.0.1:0\"\n[booking]\nlisten = \"127.0.0.1:0\"\n\
         [tenants.demo]\ntimezone = \"America/Chicago\"\n{st}\
         [tenants.demo.booking]\ndefault_campaign = \"Google Local Services\"\nrespect_ideal_booking_percentage = {respect_ideal}\n\
         [tenants.demo.sources.agent]\nscheme = \"standard-webhooks\"\nformat = \"agent\"\nsecrets = [\"{secret}\"]\n"
    )
    .parse()
    .unwrap()
}

struct Booking {
    stack: Stack,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Booking {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.stack
    }
}

impl Booking {
    async fn start(respect_ideal: bool, services: &[Service]) -> Booking {
        Self::start_with(respect_ideal, services, |_| {}).await
    }

    /// [`Self::start`] with the config adjusted by `adjust`.
    async fn start_with(
        respect_ideal: bool,
        services: &[Service],
        adjust: fn(&mut switchboard_config::Config),
    ) -> Booking {
        let serial = ONE_AT_A_TIME.lock().await;
        let mut builder = Stack::builder(move |nats, sim| {
            let mut config = config(nats, sim, respect_ideal);
            adjust(&mut config);
            config
        });
        for s in services {
            builder = builder.service(*s);
        }
        Booking {
            stack: builder.start().await,
            _serial: serial,
        }
    }

    /// Posts a signed agent tool call; the HTTP status and the JSON answer.
    async fn tool(&self, tool: &str, request_id: &str, arguments: Value) -> (u16, Value) {
        let body = json!({"tool": tool, "request_id": request_id,
            "call": {"id": "ag_call_1", "from": "+15125559876", "to": "+15125550000"}, "arguments": arguments});
        let mut hook = agent_report(
            "demo",
            "agent",
            request_id,
            &serde_json::to_vec(&body).unwrap(),
        );
        hook.path_and_query = "/v1/tools/demo/agent".into();
        let response = hook.send(&self.http, self.ingest_url()).await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The first window `find_availability` offers for `job_type` over the next two days.
    async fn first_window(&self, job_type: &str) -> Value {
        let offered = self
            .ok("find_availability", "req_a", availability(job_type))
            .await;
        offered["windows"][0].clone()
    }

    /// Job `id` as st-sim holds it.
    async fn job(&self, id: &Value) -> Value {
        let state = self.sim.state().await;
        state["tenants"][0]["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| &j["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("st-sim has no job {id}"))
    }

    /// `tool`, which must succeed: its result.
    async fn ok(&self, tool: &str, request_id: &str, arguments: Value) -> Value {
        let (status, answer) = self.tool(tool, request_id, arguments).await;
        assert_eq!(status, 200, "{answer}");
        assert!(answer["error"].is_null(), "{tool} failed: {answer}");
        assert_eq!(answer["request_id"], request_id);
        answer["result"].clone()
    }

    /// `tool`, which must fail with `code`: the error.
    async fn refused(&self, tool: &str, request_id: &str, arguments: Value, code: &str) -> Value {
        let (status, answer) = self.tool(tool, request_id, arguments).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        answer["error"].clone()
    }
}

/// A booking of AC Repair for customer 101 at location 201 in `window`, the `n`th.
fn booking_in(window: &Value, n: u32) -> Value {
    json!({"customer_id": 101, "location_id": 201, "job_type": "AC Repair",
        "start": window["start"], "end": window["end"], "summary": format!("job {n}")})
}

/// Tomorrow and the day after, tenant-local (Chicago), as the agent would ask.
fn next_days() -> (String, String) {
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .date();
    let day = |n: i64| {
        today
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };
    (day(1), day(2))
}

fn availability(job_type: &str) -> Value {
    let (from, to) = next_days();
    json!({"job_type": job_type, "from": from, "to": to})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_caller_is_found_nowhere_created_offered_windows_and_booked_once() {
    let b = Booking::start(true, &[Service::Ingest, Service::Booking]).await;
    let found = b
        .ok(
            "find_customer",
            "req_find",
            json!({"phone": "+15125559876"}),
        )
        .await;
    assert_eq!(found["customers"], json!([]));
    let created = b
        .ok(
            "create_customer",
            "req_create",
            json!({"name": "Dana Whitfield", "phone": "+15125559876",
            "address": {"street": "77 Elm St", "city": "Austin", "state": "TX", "zip": "78701"}}),
        )
        .await;
    let (customer, location) = (
        created["customer_id"].clone(),
        created["location_id"].clone(),
    );
    assert!(
        customer.as_i64().is_some() && location.as_i64().is_some(),
        "{created}"
    );
    // Found now, with the location.
    let again = b
        .ok(
            "find_customer",
            "req_find_2",
            json!({"phone": "(512) 555-9876"}),
        )
        .await;
    assert_eq!(again["customers"][0]["id"], customer);
    assert_eq!(again["customers"][0]["locations"][0]["id"], location);

    let offered = b
        .ok("find_availability", "req_avail", availability("AC Repair"))
        .await;
    let windows = offered["windows"].as_array().unwrap();
    assert!(!windows.is_empty(), "{offered}");
    assert_eq!(offered["job_type"]["duration_minutes"], 120);
    let first = &windows[0];
    assert!(
        first["start"].as_str().unwrap().ends_with("-06:00"),
        "tenant offset: {first}"
    );
    assert_eq!(first["business_unit_id"], 21);

    let book = json!({"customer_id": customer, "location_id": location, "job_type": "AC Repair",
        "start": first["start"], "end": first["end"], "summary": "AC blowing warm air"});
    let booked = b.ok("book_appointment", "req_book", book.clone()).await;
    let job_id = booked["job_id"].as_i64().unwrap();
    assert!(booked["appointment_id"].as_i64().is_some(), "{booked}");
    assert_eq!(booked["start"], first["start"]);

    // The same request again (a retried tool call): the first answer, no second job.
    let replayed = b.ok("book_appointment", "req_book", book.clone()).await;
    assert_eq!(replayed, booked);
    assert_eq!(b.sim.count("create job").await, 1);
    // The same request id for something else is refused, and books nothing.
    let mut other = book.clone();
    other["summary"] = "something else".into();
    b.refused("book_appointment", "req_book", other, "invalid_arguments")
        .await;
    assert_eq!(b.sim.count("create job").await, 1);

    // In ServiceTitan: the job, in the window, under the default campaign, carrying the
    // request id in its external data.
    let job = b.job(&job_id.into()).await;
    assert_eq!(job["campaign_id"], 31);
    assert_eq!(job["job_type_id"], 301);
    assert_eq!(job["external_data"][0]["value"], "req_book");
    // And on EVENTS, once.
    let booked_events = b.events_of("job.booked").await;
    assert_eq!(booked_events.len(), 1);
    assert_eq!(booked_events[0]["data"]["job_id"], job_id);
    assert_eq!(booked_events[0]["data"]["provider_call_id"], "ag_call_1");
    assert_eq!(booked_events[0]["data"]["request_id"], "req_book");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_window_is_refused_with_alternatives_and_the_ideal_percentage_is_kept() {
    let b = Booking::start(true, &[Service::Ingest, Service::Booking]).await;
    let first = b.first_window("AC Repair").await;
    // Three technicians for two hours: 6 h. Each AC Repair takes 2 h, and the ideal
    // booking percentage (80 %) stops the window at two.
    let book = |n: u32| booking_in(&first, n);
    b.ok("book_appointment", "req_b1", book(1)).await;
    b.ok("book_appointment", "req_b2", book(2)).await;
    let full = b
        .refused("book_appointment", "req_b3", book(3), "window_full")
        .await;
    let alternatives = full["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty(), "{full}");
    assert!(
        alternatives.iter().all(|w| w["start"] != first["start"]),
        "{full}"
    );
    assert_eq!(b.sim.count("create job").await, 2);
    // The full window is no longer offered.
    let after = b
        .ok("find_availability", "req_a2", availability("AC Repair"))
        .await;
    assert!(
        after["windows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["start"] != first["start"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ideal_percentage_a_window_fills_to_capacity_and_no_further() {
    let b = Booking::start(false, &[Service::Ingest, Service::Booking]).await;
    let first = b.first_window("AC Repair").await;
    let book = |n: u32| booking_in(&first, n);
    for n in 1..=3 {
        b.ok("book_appointment", &format!("req_{n}"), book(n)).await;
    }
    b.refused("book_appointment", "req_4", book(4), "window_full")
        .await;
    assert_eq!(b.sim.count("create job").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_explained_and_book_nothing() {
    let b = Booking::start(true, &[Service::Ingest, Service::Booking]).await;
    let zero = b
        .refused(
            "find_availability",
            "req_z",
            availability("Panel Inspection"),
            "invalid_arguments",
        )
        .await;
    assert!(
        zero["message"].as_str().unwrap().contains("no duration"),
        "{zero}"
    );
    let (from, _) = next_days();
    let long = json!({"job_type": "AC Repair", "from": from, "to": "2099-01-01"});
    b.refused("find_availability", "req_long", long, "invalid_arguments")
        .await;
    b.refused(
        "find_availability",
        "req_jt",
        availability("Roof Repair"),
        "not_found",
    )
    .await;
    b.refused(
        "find_customer",
        "req_ph",
        json!({"phone": "call me"}),
        "invalid_arguments",
    )
    .await;
    b.refused("frobnicate", "req_u", json!({}), "unknown_tool")
        .await;
    let not_a_window = json!({"customer_id": 101, "location_id": 201, "job_type": "AC Repair",
        "start": format!("{from}T09:17:00-06:00"), "end": format!("{from}T11:17:00-06:00")});
    b.refused(
        "book_appointment",
        "req_w",
        not_a_window,
        "invalid_arguments",
    )
    .await;
    let past = json!({"customer_id": 101, "location_id": 201, "job_type": "AC Repair",
        "start": "2026-01-05T08:00:00-06:00", "end": "2026-01-05T10:00:00-06:00"});
    let err = b
        .refused("book_appointment", "req_past", past, "invalid_arguments")
        .await;
    assert!(
        err["message"].as_str().unwrap().contains("already begun"),
        "{err}"
    );
    assert_eq!(b.sim.count("create job").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_found_again_not_repeated() {
    let b = Booking::start(true, &[Service::Ingest, Service::Booking]).await;
    let offered = b
        .ok(
            "find_availability",
            "req_a",
            availability("Furnace Tune-Up"),
        )
        .await;
    let first = offered["windows"][0].clone();
    b.sim.set_faults(&json!({"lose_answers": 1})).await;
    let book = json!({"customer_id": 102, "location_id": 202, "job_type": "Furnace Tune-Up",
        "start": first["start"], "end": first["end"]});
    let booked = b.ok("book_appointment", "req_lost", book).await;
    assert_eq!(b.sim.count("create job").await, 1, "sent once");
    let jobs = b.sim.state().await["tenants"][0]["jobs"].clone();
    let ours: Vec<&Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["external_data"][0]["value"] == "req_lost")
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["id"], booked["job_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reschedule_and_cancel_go_through_servicetitan_and_events() {
    let b = Booking::start(true, &[Service::Ingest, Service::Booking]).await;
    let offered = b
        .ok("find_availability", "req_a", availability("AC Repair"))
        .await;
    let windows = offered["windows"].as_array().unwrap().clone();
    let booked = b
        .ok(
            "book_appointment",
            "req_b",
            json!({"customer_id": 101, "location_id": 201,
            "job_type": "AC Repair", "start": windows[0]["start"], "end": windows[0]["end"]}),
        )
        .await;
    let moved = b
        .ok(
            "reschedule_appointment",
            "req_r",
            json!({"appointment_id": booked["appointment_id"],
            "start": windows[1]["start"], "end": windows[1]["end"]}),
        )
        .await;
    assert_eq!(moved["start"], windows[1]["start"]);
    let canceled = b
        .ok(
            "cancel_appointment",
            "req_c",
            json!({"job_id": booked["job_id"], "reason": "Customer canceled"}),
        )
        .await;
    assert_eq!(canceled["status"], "Canceled");
    b.refused(
        "cancel_appointment",
        "req_c2",
        json!({"job_id": booked["job_id"], "reason": "Bored"}),
        "invalid_arguments",
    )
    .await;
    let job = b.job(&booked["job_id"]).await;
    assert_eq!(job["job_status"], "Canceled");
    assert_eq!(b.events_of("appointment.rescheduled").await.len(), 1);
    assert_eq!(b.events_of("job.canceled").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csr_booking_in_servicetitans_ui_reaches_the_cache_through_the_appointments_export() {
    // A capacity TTL of an hour: only the export can make the cache forget in time.
    let b = Booking::start_with(false, &[Service::Ingest, Service::Booking], |c| {
        c.booking.capacity_ttl_secs = 3600;
        c.booking.export_poll_secs = 1;
    })
    .await;
    let first = b.first_window("AC Repair").await;
    // CSRs fill it in ServiceTitan's UI: no hold, no webhook (no router runs here).
    let jobs = (first["open_hours"].as_f64().unwrap() / 2.0).ceil() as usize;
    for _ in 0..jobs {
        b.sim
            .create_job(
                switchboard_st_sim::demo::TENANT_ID,
                &json!({"customer_id": 102, "location_id": 202, "business_unit_id": first["business_unit_id"],
                    "job_type_id": 301, "campaign_id": 31,
                    "appointment": {"start": first["start"], "end": first["end"]}}),
            )
            .await;
    }
    let mut asked = 0;
    let (b, first) = (&b, &first);
    let gone = eventually(Duration::from_secs(10), || {
        asked += 1;
        let request_id = format!("req_again_{asked}");
        async move {
            let offered = b
                .ok("find_availability", &request_id, availability("AC Repair"))
                .await;
            offered["windows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["start"] != first["start"])
        }
    })
    .await;
    assert!(gone, "the full window is still offered from the cache");
}

/// The same instant, however it is written (st-sim keeps UTC, windows carry the offset).
fn instant(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_rescheduling_on_a_confirmation_call_moves_the_appointment_once() {
    let b = Booking::start(true, &[Service::Ingest, Service::Router, Service::Booking]).await;
    let offered = b
        .ok("find_availability", "req_a", availability("AC Repair"))
        .await;
    let windows = offered["windows"].as_array().unwrap().clone();
    let booked = b
        .ok("book_appointment", "req_b", booking_in(&windows[0], 1))
        .await;
    let confirmation = |id: &str, status: &str, appointment: &Value, window: &Value| {
        json!({"type": "appointment.confirmation", "occurred_at": jiff::Timestamp::now().to_string(),
            "call": {"id": id}, "status": status,
            "servicetitan": {"job_id": booked["job_id"], "appointment_id": appointment},
            "new_start": window["start"], "new_end": window["end"]})
    };
    // The agent calls to confirm; the caller asks for the second window instead.
    let moved = confirmation(
        "ag_conf_1",
        "rescheduled",
        &booked["appointment_id"],
        &windows[1],
    );
    b.report("conf_1", moved.clone()).await;
    // A platform retry of the same delivery, and a plain confirmation booking ignores.
    b.report("conf_1", moved).await;
    b.report(
        "conf_2",
        confirmation(
            "ag_conf_2",
            "confirmed",
            &booked["appointment_id"],
            &windows[1],
        ),
    )
    .await;
    let appointment = || async {
        b.sim.state().await["tenants"][0]["appointments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == booked["appointment_id"])
            .cloned()
            .unwrap()
    };
    assert!(
        eventually(Duration::from_secs(20), || async {
            instant(&appointment().await["start"]) == instant(&windows[1]["start"])
        })
        .await,
        "the appointment did not move: {}",
        appointment().await
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            b.events_of("appointment.rescheduled").await.len() == 1
        })
        .await
    );
    let event = &b.events_of("appointment.rescheduled").await[0];
    assert_eq!(event["data"]["provider_call_id"], "ag_conf_1");
    assert_eq!(event["data"]["appointment_id"], booked["appointment_id"]);
    assert!(
        event["data"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("confirmation-"),
        "{event}"
    );
    // An appointment ServiceTitan does not know is dead-lettered with the reason, not lost.
    b.report(
        "conf_3",
        confirmation("ag_conf_3", "rescheduled", &json!(999_999), &windows[1]),
    )
    .await;
    assert!(
        b.dead_letter(
            |l| l["consumer"] == switchboard_booking::RESCHEDULES_DURABLE
                && l["reason"] == "not_found"
                && l["error"].as_str().unwrap().contains("999999")
        )
        .await,
        "no dead letter for the unknown appointment"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.events_of("appointment.rescheduled").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csr_booking_the_same_moment_is_reported_as_overbooked_and_left_alone() {
    let b = Booking::start(false, &[Service::Ingest, Service::Booking]).await;
    let first = b.first_window("AC Repair").await;
    let book = |n: u32| booking_in(&first, n);
    b.ok("book_appointment", "req_1", book(1)).await;
    b.ok("book_appointment", "req_2", book(2)).await;
    // The window has 2 h left; a CSR takes them at the moment Switchboard creates its job.
    b.sim.set_faults(&json!({"csr_races": 1})).await;
    let booked = b.ok("book_appointment", "req_3", book(3)).await;
    let overbooked = b.events_of("booking.overbooked").await;
    assert_eq!(overbooked.len(), 1);
    assert_eq!(overbooked[0]["data"]["job_id"], booked["job_id"]);
    assert!(overbooked[0]["data"]["open_hours"].as_f64().unwrap() < 0.0);
    let metrics = b.metrics(Service::Booking).await;
    assert!(
        metrics.contains("switchboard_booking_overbooked_total 1"),
        "{metrics}"
    );
    // Switchboard does not cancel anything on its own.
    let canceled = b.sim.state().await["tenants"][0]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["job_status"] == "Canceled")
        .count();
    assert_eq!(canceled, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_refused_and_no_booking_service_is_a_503() {
    // Ingest alone: no booking service answers tools.*.*.
    let b = Booking::start(true, &[Service::Ingest]).await;
    let (status, answer) = b
        .tool("find_customer", "req_1", json!({"phone": "+15125550101"}))
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "unavailable");

    let body = br#"{"tool":"find_customer","request_id":"r","arguments":{}}"#;
    let mut unsigned = agent_report("demo", "agent", "r", body);
    unsigned.path_and_query = "/v1/tools/demo/agent".into();
    unsigned.body = br#"{"tool":"find_customer","request_id":"r","arguments":{"x":1}}"#.to_vec();
    let response = unsigned.send(&b.http, b.ingest_url()).await.unwrap();
    assert_eq!(response.status(), 401, "tampered body");

    let mut nowhere = agent_report("demo", "nobody", "r", body);
    nowhere.path_and_query = "/v1/tools/demo/nobody".into();
    assert_eq!(
        nowhere
            .send(&b.http, b.ingest_url())
            .await
            .unwrap()
            .status(),
        404
    );

    let mut malformed = agent_report("demo", "agent", "m", b"{\"not\": \"a tool call\"}");
    malformed.path_and_query = "/v1/tools/demo/agent".into();
    let response = malformed.send(&b.http, b.ingest_url()).await.unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("tool"), "{text}");
    assert!(
        eventually(Duration::from_secs(5), || async {
            b.sim.count("create job").await == 0
        })
        .await
    );
}

/// Two booking replicas, 100 bookings at once for windows with room for three jobs each:
/// exactly as many jobs as capacity allows, and no window over capacity in ServiceTitan.
/// A request that times out (503) is asked again with its request id, as an agent does:
/// one that had in fact been booked is answered from its first answer, not booked twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_bookings_on_two_replicas_never_overbook() {
    let mut b = Booking::start(false, &[Service::Ingest, Service::Booking]).await;
    let config = b.stack.config();
    b.stack.start_service(Service::Booking, config).await;
    let offered = b
        .ok("find_availability", "req_a", availability("AC Repair"))
        .await;
    // Windows of 6 h (three technicians): three 2-hour jobs each.
    let windows: Vec<Value> = offered["windows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["open_hours"].as_f64() == Some(6.0))
        .take(4)
        .cloned()
        .collect();
    assert_eq!(windows.len(), 4, "{offered}");
    let b = &b;
    let answers = futures_util::future::join_all((0..100).map(|n| {
        let w = windows[n % windows.len()].clone();
        async move {
            let args = json!({"customer_id": 101, "location_id": 201, "job_type": "AC Repair",
                "start": w["start"], "end": w["end"]});
            // As an agent does: a 503 is asked again with the same request id.
            let mut answer = b
                .tool("book_appointment", &format!("req_c{n}"), args.clone())
                .await;
            for _ in 0..10 {
                if answer.0 != 503 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                answer = b
                    .tool("book_appointment", &format!("req_c{n}"), args.clone())
                    .await;
            }
            answer
        }
    }))
    .await;
    let booked = answers
        .iter()
        .filter(|(s, a)| *s == 200 && a["result"]["job_id"].is_i64())
        .count();
    let full = answers
        .iter()
        .filter(|(_, a)| a["error"]["code"] == "window_full")
        .count();
    assert_eq!(
        booked,
        4 * 3,
        "exactly capacity: {booked} booked, {full} full"
    );
    let other: Vec<&(u16, Value)> = answers
        .iter()
        .filter(|(s, a)| {
            !(*s == 200 && (a["result"]["job_id"].is_i64() || a["error"]["code"] == "window_full"))
        })
        .collect();
    assert!(
        other.is_empty(),
        "every request answered booked or full: {other:?}"
    );
    // Jobs in ServiceTitan (st-sim's request count would also count creates refused with a
    // 429: two replicas together ask faster than one app key's 60/s).
    let jobs = b.sim.state().await["tenants"][0]["jobs"].clone();
    let created = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| {
            j["external_data"][0]["value"]
                .as_str()
                .is_some_and(|v| v.starts_with("req_c"))
        })
        .count();
    assert_eq!(created, 12);
    // ServiceTitan's own view: no window over capacity.
    let (from, to) = next_days();
    let client =
        switchboard_servicetitan::TenantClient::new(switchboard_st_sim::demo::client_settings(
            b.sim.url(),
            60,
            switchboard_servicetitan::RetryPolicy::default(),
        ))
        .unwrap();
    let capacity = client
        .capacity(&switchboard_servicetitan::models::CapacityRequest {
            starts_on_or_after: format!("{from}T00:00:00-06:00"),
            ends_on_or_before: format!("{to}T23:59:00-06:00"),
            business_unit_ids: None,
            job_type_id: None,
            skill_based_availability: false,
        })
        .await
        .unwrap();
    for slot in &capacity.availabilities {
        assert!(slot.open_availability >= 0.0, "over capacity: {slot:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_service_with_no_tenant_to_serve_keeps_running() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let nats = switchboard_test_support::NatsServer::start();
    let config = nats.config("[booking]\nlisten = \"127.0.0.1:0\"\n");
    let (_url, task) =
        switchboard_test_support::start_service::<switchboard_booking::Booking>(config).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !task.is_finished(),
        "booking stopped on its own: {:?}",
        task.await
    );
}

/// The doctor at start: a business that did not grant job booking shows as
/// `switchboard_tenant_feature_ok{feature="booking"} 0` on the booking service, with the
/// features it did grant at 1; and nothing is written in ServiceTitan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_at_start_sets_each_configured_features_gauge() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let stack = Stack::builder(|nats, sim| {
        let mut config = config(nats, sim, true);
        config.doctor.at_start = true;
        config
    })
    .seed(|seed| seed.tenants[0].withheld_scopes = vec!["tn.jpm.jobs:w".into()])
    .service(Service::Booking)
    .start()
    .await;
    let before = stack.sim.state().await;
    let gauge = |feature: &str| {
        format!("switchboard_tenant_feature_ok{{tenant=\"demo\",feature=\"{feature}\"}}")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let metrics = stack.metrics(Service::Booking).await;
        if metrics.contains(&gauge("booking")) {
            break metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no booking gauge: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        metrics.contains(&format!("{} 0", gauge("booking"))),
        "{metrics}"
    );
    for ok in ["token", "analytics"] {
        assert!(metrics.contains(&format!("{} 1", gauge(ok))), "{metrics}");
    }
    // The demo config has no outcome policy: unused features are not reported.
    assert!(!metrics.contains(&gauge("tags")), "{metrics}");
    assert_eq!(
        before["tenants"][0]["jobs"],
        stack.sim.state().await["tenants"][0]["jobs"]
    );
}

/// A business onboarded by a live reload is served by booking at once: before, its tool
/// requests are "no such tenant"; after `POST /admin/reload`, they are answered, and the
/// tenant already served keeps working throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_added_by_a_live_reload_is_served_without_a_restart() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let nats = switchboard_test_support::NatsServer::start();
    let sim = switchboard_st_sim::spawn_demo(|_| {}).await;
    let toml = |tenants: &[&str]| {
        let mut t = format!(
            "[nats]\nurl = \"{}\"\n[doctor]\nat_start = false\n[admin]\nreload_endpoint = true\n[booking]\nlisten = \"127.0.0.1:0\"\n",
            nats.url()
        );
        for name in tenants {
            t.push_str(&format!(
                "[tenants.{name}]\ntimezone = \"America/Chicago\"\n{}[tenants.{name}.booking]\ndefault_campaign = \"Google Local Services\"\n",
                switchboard_st_sim::demo::servicetitan_toml(name, &sim)
            ));
        }
        t
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, toml(&["demo"])).unwrap();
    let config = switchboard_config::Config::load_file(&path, &|_: &str| None).unwrap();
    let app = switchboard_booking::Application::build(config)
        .await
        .unwrap()
        .with_config_path(Some(path.clone()));
    let ops = format!("http://{}", app.local_addr());
    let _task = tokio::spawn(app.run_until(std::future::pending()));
    let http = switchboard_test_support::http_client();
    switchboard_test_support::wait_ready(&http, &format!("{ops}/readyz")).await;
    let client = nats.client().await;
    let ask = |tenant: &'static str, id: &'static str| {
        let client = client.clone();
        async move {
            let request = json!({"tool": "find_customer", "request_id": id,
                "call": {"id": "ag_reload", "from": "+15125550101"}, "arguments": {"phone": "+15125550101"}});
            let reply = client
                .request(
                    format!("tools.{tenant}.find_customer"),
                    serde_json::to_vec(&request).unwrap().into(),
                )
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&reply.payload).unwrap()
        }
    };
    assert!(ask("demo", "req_1").await["error"].is_null());
    let before = ask("acme", "req_2").await;
    assert_eq!(before["error"]["code"], "not_found", "{before}");

    std::fs::write(&path, toml(&["demo", "acme"])).unwrap();
    let response = http
        .post(format!("{ops}/admin/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let done: Value = response.json().await.unwrap();
    assert_eq!(done["restart_needed"], json!([]), "{done}");
    let after = ask("acme", "req_3").await;
    assert!(after["error"].is_null(), "{after}");
    assert!(
        !after["result"]["customers"].as_array().unwrap().is_empty(),
        "{after}"
    );
    assert!(ask("demo", "req_4").await["error"].is_null());
}
