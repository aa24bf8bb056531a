//! Normalisers against realistic payloads written from each provider's documentation
//! (`shared/events/fixtures/`).

use super::*;
use crate::types::*;
use switchboard_config::CallClass;

fn delivery<'a>(format: Format, body: &'a [u8], inbound_id: &'a str) -> Delivery<'a> {
    Delivery {
        tenant: "acme",
        source: "src",
        scheme: format.as_str(),
        format,
        inbound_id,
        stream_seq: 7,
        received_at: "2026-11-23T15:00:00.000Z",
        content_type: Some("application/json"),
        body,
    }
}

fn run(format: Format, body: &[u8]) -> Vec<CloudEvent> {
    normalise(&delivery(format, body, "acme:src:x")).expect("normalises")
}

fn kinds(events: &[CloudEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// An event's `data` as the type its kind carries.
fn payload<T: serde::de::DeserializeOwned>(event: &CloudEvent) -> T {
    serde_json::from_value(event.data.clone()).unwrap()
}

/// A voice-AI platform's three webhooks for one call, which must give the four canonical
/// events: started, answered, completed and the agent's verdict. The completed call's data
/// and the verdict.
fn voice_ai_call(format: Format, bodies: [&[u8]; 3]) -> (CallData, OutcomeData) {
    let events: Vec<CloudEvent> = bodies.iter().flat_map(|b| run(format, b)).collect();
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.outcome"
        ],
        "{format:?}"
    );
    (payload(&events[2]), payload(&events[3]))
}

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path)).as_slice()
    };
}

#[test]
fn twilio_call_progress_becomes_started_answered_completed() {
    let seq = [
        fixture!("twilio/1-initiated.form"),
        fixture!("twilio/2-ringing.form"),
        fixture!("twilio/3-in-progress.form"),
        fixture!("twilio/4-completed.form"),
    ];
    let events: Vec<CloudEvent> = seq.iter().flat_map(|b| run(Format::Twilio, b)).collect();
    assert_eq!(
        kinds(&events),
        ["call.started", "call.answered", "call.completed"]
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(done.provider_call_id, "CA5c9e2b7a1f6d4e3c8b0a9f1e2d3c4b5a");
    assert_eq!(done.from.as_deref(), Some("+15125550101"));
    assert_eq!(done.to.as_deref(), Some("+15125550000"));
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.duration_secs, Some(312));
    assert_eq!(done.end_reason.as_deref(), Some("completed"));
    assert_eq!(done.ended_at.as_deref(), Some("2026-11-23T15:09:21Z"));
    assert_eq!(events[2].time, "2026-11-23T15:09:21Z");
    assert_eq!(
        events[0].subject.as_deref(),
        Some("CA5c9e2b7a1f6d4e3c8b0a9f1e2d3c4b5a")
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(started.started_at.as_deref(), Some("2026-11-23T15:04:05Z"));

    let no_answer = run(Format::Twilio, fixture!("twilio/no-answer.form"));
    let data: CallData = payload(&no_answer[0]);
    assert_eq!(
        (no_answer[0].kind.as_str(), data.end_reason.as_deref()),
        ("call.completed", Some("no-answer"))
    );

    let rec = run(Format::Twilio, fixture!("twilio/5-recording.form"));
    let data: RecordingData = payload(&rec[0]);
    assert_eq!(rec[0].kind, "call.recording.ready");
    assert_eq!(data.duration_secs, Some(309));
    assert!(data.recording_url.starts_with("https://api.twilio.com/"));
}

#[test]
fn telnyx_events() {
    let events: Vec<CloudEvent> = [
        fixture!("telnyx/1-call.initiated.json"),
        fixture!("telnyx/2-call.answered.json"),
        fixture!("telnyx/3-call.hangup.json"),
        fixture!("telnyx/4-call.recording.saved.json"),
    ]
    .iter()
    .flat_map(|b| run(Format::Telnyx, b))
    .collect();
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(
        done.provider_call_id,
        "2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768"
    );
    assert_eq!(done.duration_secs, Some(316));
    assert_eq!(done.end_reason.as_deref(), Some("normal_clearing"));
    assert_eq!(
        done.started_at.as_deref(),
        Some("2026-11-23T15:04:05.123456Z")
    );
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(rec.duration_secs, Some(311));
    assert!(rec.recording_url.ends_with(".mp3?X-Amz-Signature=abc"));
}

#[test]
fn retell_events_and_the_agents_verdict() {
    let (done, outcome) = voice_ai_call(
        Format::Retell,
        [
            fixture!("retell/1-call_started.json"),
            fixture!("retell/2-call_ended.json"),
            fixture!("retell/3-call_analyzed.json"),
        ],
    );
    assert_eq!(
        (done.duration_secs, done.end_reason.as_deref()),
        (Some(316), Some("user_hangup"))
    );
    assert_eq!(outcome.outcome, CallClass::Booked);
    assert_eq!(outcome.servicetitan.job_id, Some(1001));
    assert_eq!(outcome.reason.as_deref(), Some("Service Call"));
    assert!(outcome.summary.unwrap().contains("AC is not cooling"));
}

#[test]
fn vapi_events_and_the_agents_verdict() {
    let (done, outcome) = voice_ai_call(
        Format::Vapi,
        [
            fixture!("vapi/1-status-ringing.json"),
            fixture!("vapi/2-status-in-progress.json"),
            fixture!("vapi/3-end-of-call-report.json"),
        ],
    );
    assert_eq!(done.from.as_deref(), Some("+15125550101"));
    assert_eq!(done.to.as_deref(), Some("+15125550000"));
    assert_eq!(
        (done.duration_secs, done.end_reason.as_deref()),
        (Some(314), Some("customer-ended-call"))
    );
    assert_eq!(
        (outcome.outcome, outcome.servicetitan.job_id),
        (CallClass::Booked, Some(1002))
    );
}

#[test]
fn agent_reports() {
    let outcome = run(Format::Agent, fixture!("agent/call-outcome.json"));
    assert_eq!(kinds(&outcome), ["call.outcome"]);
    let data: OutcomeData = payload(&outcome[0]);
    assert_eq!(data.from.as_deref(), Some("+15125550101"), "E.164");
    assert_eq!(
        data.started_at.as_deref(),
        Some("2026-11-23T15:04:05Z"),
        "UTC"
    );
    assert_eq!(outcome[0].time, "2026-11-23T15:09:21Z");
    assert_eq!(
        data.servicetitan,
        StRefs {
            call_id: Some(9001),
            job_id: Some(1001),
            appointment_id: Some(5001)
        }
    );

    let confirmation = run(
        Format::Agent,
        fixture!("agent/appointment-confirmation.json"),
    );
    let data: ConfirmationData = payload(&confirmation[0]);
    assert_eq!(confirmation[0].kind, "appointment.confirmation");
    assert_eq!(
        (data.status, data.servicetitan.appointment_id),
        (ConfirmationStatus::Rescheduled, Some(5001))
    );
    assert_eq!(data.new_start.as_deref(), Some("2026-11-25T15:00:00Z"));
}

#[test]
fn servicetitan_changes() {
    let all: Vec<CloudEvent> = [
        fixture!("servicetitan/call-completed.json"),
        fixture!("servicetitan/job-booked.json"),
        fixture!("servicetitan/appointment-confirmed.json"),
    ]
    .iter()
    .flat_map(|b| run(Format::ServiceTitan, b))
    .collect();
    assert_eq!(
        kinds(&all),
        [
            "st.call.changed",
            "st.job.changed",
            "st.appointment.changed"
        ]
    );
    let call: StChangeData = payload(&all[0]);
    assert_eq!(
        (call.st_event.as_str(), call.id, call.st_tenant_id),
        ("CallCompleted", Some(9011), Some(1234567))
    );
    assert_eq!(call.record["type"], "Unbooked");
}

#[test]
fn unrecognized_payloads_are_kept_as_events() {
    for (format, body) in [
        (
            Format::Telnyx,
            br#"{"data":{"event_type":"call.dtmf.received","payload":{"call_session_id":"s"}}}"#
                .as_slice(),
        ),
        (
            Format::Agent,
            br#"{"type":"call.transferred","call":{"id":"x"}}"#.as_slice(),
        ),
        (
            Format::ServiceTitan,
            br#"{"eventType":"InvoiceCreated","data":{"id":1}}"#.as_slice(),
        ),
        (Format::Unknown, b"anything".as_slice()),
    ] {
        let events = run(format, body);
        assert_eq!(kinds(&events), ["webhook.unrecognized"], "{format:?}");
        let data: UnrecognizedData = payload(&events[0]);
        assert_eq!(data.inbound_stream_seq, 7);
        assert!(!data.reason.is_empty());
        assert_eq!(
            events[0].time, "2026-11-23T15:00:00Z",
            "received-at when the payload has no time"
        );
    }
}

#[test]
fn malformed_payloads_are_errors_with_a_reason() {
    for (format, body) in [
        (Format::Telnyx, b"{not json".as_slice()),
        (Format::Retell, br#"{"event":"call_ended"}"#.as_slice()),
        (Format::Twilio, b"CallStatus=completed".as_slice()),
        (
            Format::Agent,
            br#"{"type":"call.outcome","call":{"id":"x"},"outcome":"maybe"}"#.as_slice(),
        ),
        (
            Format::Vapi,
            br#"{"message":{"type":"status-update","call":{"id":"c"}}}"#.as_slice(),
        ),
    ] {
        let err = normalise(&delivery(format, body, "acme:src:x")).unwrap_err();
        assert!(
            err.to_string().starts_with("malformed"),
            "{format:?}: {err}"
        );
    }
}

#[test]
fn the_same_delivery_always_gives_the_same_bytes() {
    let body = fixture!("retell/1-call_started.json");
    let a = normalise(&delivery(Format::Retell, body, "acme:retell:abc")).unwrap();
    let b = normalise(&delivery(Format::Retell, body, "acme:retell:abc")).unwrap();
    assert_eq!(
        serde_json::to_vec(&a).unwrap(),
        serde_json::to_vec(&b).unwrap()
    );
    assert_ne!(a[0].id, a[1].id);
    let other = normalise(&delivery(Format::Retell, body, "acme:retell:def")).unwrap();
    assert_ne!(a[0].id, other[0].id, "ids derive from the inbound id");
    assert_eq!(a[0].source, "/switchboard/acme/src");
    assert_eq!(a[0].specversion, "1.0");
}

proptest::proptest! {
    #[test]
    fn normalisers_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300), f in 0usize..7) {
        let format = [Format::Twilio, Format::Telnyx, Format::Retell, Format::Vapi, Format::Agent, Format::ServiceTitan, Format::Unknown][f];
        let _ = normalise(&delivery(format, &body, "acme:src:p"));
    }

    #[test]
    fn json_shaped_garbage_never_panics(s in r#"\{("[a-z_]{1,8}":("[a-z.]{0,12}"|[0-9]{1,5}|\{\}),?){0,5}\}"#, f in 0usize..6) {
        let format = [Format::Telnyx, Format::Retell, Format::Vapi, Format::Agent, Format::ServiceTitan, Format::Twilio][f];
        let _ = normalise(&delivery(format, s.as_bytes(), "acme:src:p"));
    }
}

#[test]
fn an_outcome_the_llm_wrote_loosely_is_understood_and_a_nonsense_one_is_kept_not_fatal() {
    let mut v: serde_json::Value =
        serde_json::from_slice(fixture!("vapi/3-end-of-call-report.json")).unwrap();
    v["message"]["analysis"]["structuredData"]["outcome"] = "Not Lead".into();
    let events = run(Format::Vapi, &serde_json::to_vec(&v).unwrap());
    assert_eq!(kinds(&events), ["call.completed", "call.outcome"]);
    assert_eq!(events[1].data["outcome"], "not_lead");
    v["message"]["analysis"]["structuredData"]["outcome"] = "maybe later".into();
    let events = run(Format::Vapi, &serde_json::to_vec(&v).unwrap());
    assert_eq!(
        kinds(&events),
        ["call.completed", "webhook.unrecognized"],
        "the call is not lost over a bad verdict"
    );
}

#[test]
fn retell_outbound_calls_that_nobody_answered_are_not_answered() {
    let mut started: serde_json::Value =
        serde_json::from_slice(fixture!("retell/1-call_started.json")).unwrap();
    started["call"]["direction"] = "outbound".into();
    assert_eq!(
        kinds(&run(Format::Retell, &serde_json::to_vec(&started).unwrap())),
        ["call.started"]
    );
    let mut ended: serde_json::Value =
        serde_json::from_slice(fixture!("retell/2-call_ended.json")).unwrap();
    ended["call"]["direction"] = "outbound".into();
    ended["call"]["disconnection_reason"] = "dial_no_answer".into();
    ended["call"].as_object_mut().unwrap().remove("duration_ms");
    ended["call"]["start_timestamp"] = i64::MIN.into();
    ended["call"]["end_timestamp"] = i64::MAX.into();
    let events = run(Format::Retell, &serde_json::to_vec(&ended).unwrap());
    let data: CallData = payload(&events[0]);
    assert_eq!(
        (data.answered_at, data.end_reason.as_deref()),
        (None, Some("dial_no_answer"))
    );
    assert_eq!(
        data.duration_secs, None,
        "overflowing timestamps give no duration, not a panic"
    );
}

#[test]
fn vapi_numbers_stored_in_vapi_come_from_the_message() {
    let mut v: serde_json::Value =
        serde_json::from_slice(fixture!("vapi/2-status-in-progress.json")).unwrap();
    let line = v["message"]["call"]["phoneNumber"].take();
    v["message"]["call"]
        .as_object_mut()
        .unwrap()
        .remove("phoneNumber");
    v["message"]["phoneNumber"] = line;
    let events = run(Format::Vapi, &serde_json::to_vec(&v).unwrap());
    assert_eq!(events[0].data["to"], "+15125550000");
}

/// Replaces leaf values of `v` with values drawn from `picks` (strings, huge numbers, …).
fn mutate(v: &mut serde_json::Value, picks: &mut impl Iterator<Item = (bool, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(map) => map.values_mut().for_each(|x| mutate(x, picks)),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|x| mutate(x, picks)),
        leaf => {
            if let Some((true, replacement)) = picks.next() {
                *leaf = replacement;
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..12, picks in proptest::collection::vec((proptest::bool::weighted(0.3), 0usize..9), 0..60)) {
        let fixtures: [(Format, &[u8]); 12] = [
            (Format::Telnyx, fixture!("telnyx/1-call.initiated.json")),
            (Format::Telnyx, fixture!("telnyx/3-call.hangup.json")),
            (Format::Telnyx, fixture!("telnyx/4-call.recording.saved.json")),
            (Format::Retell, fixture!("retell/1-call_started.json")),
            (Format::Retell, fixture!("retell/2-call_ended.json")),
            (Format::Retell, fixture!("retell/3-call_analyzed.json")),
            (Format::Vapi, fixture!("vapi/1-status-ringing.json")),
            (Format::Vapi, fixture!("vapi/3-end-of-call-report.json")),
            (Format::Agent, fixture!("agent/call-outcome.json")),
            (Format::Agent, fixture!("agent/appointment-confirmation.json")),
            (Format::ServiceTitan, fixture!("servicetitan/job-booked.json")),
            (Format::ServiceTitan, fixture!("servicetitan/call-completed.json")),
        ];
        let values = [
            serde_json::json!(i64::MAX), serde_json::json!(i64::MIN), serde_json::json!(-1), serde_json::json!(1e308),
            serde_json::json!(""), serde_json::json!("not a time"), serde_json::json!(null), serde_json::json!([]), serde_json::json!({}),
        ];
        let (format, body) = fixtures[which];
        let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let mut it = picks.into_iter().map(|(hit, i)| (hit, values[i].clone()));
        mutate(&mut v, &mut it);
        let _ = normalise(&delivery(format, &serde_json::to_vec(&v).unwrap(), "acme:src:m"));
    }
}
