//! The Plivo, Vonage, Dialpad, RingCentral, Bandwidth, Aircall, CallRail, Bland, ElevenLabs
//! and Synthflow normalisers against payloads shaped after each provider's documentation
//! (`shared/events/fixtures/<provider>/`, sources in each `SOURCES.md`).

use super::*;
use crate::types::*;
use base64::Engine as _;
use serde_json::{Value, json};
use switchboard_config::CallClass;

/// The formats these tests cover.
const NEW: [Format; 10] = [
    Format::Plivo,
    Format::Vonage,
    Format::Dialpad,
    Format::RingCentral,
    Format::Bandwidth,
    Format::Aircall,
    Format::CallRail,
    Format::Bland,
    Format::ElevenLabs,
    Format::Synthflow,
];

fn delivery(format: Format, body: &[u8]) -> Delivery<'_> {
    Delivery {
        tenant: "acme",
        source: "src",
        scheme: format.as_str(),
        format,
        inbound_id: "acme:src:x",
        stream_seq: 7,
        received_at: "2026-11-23T15:00:00.000Z",
        content_type: Some("application/json"),
        body,
    }
}

fn run(format: Format, body: &[u8]) -> Vec<CloudEvent> {
    normalise(&delivery(format, body)).expect("normalises")
}

/// The events of `bodies`, delivered in order.
fn flow(format: Format, bodies: &[&[u8]]) -> Vec<CloudEvent> {
    bodies.iter().flat_map(|b| run(format, b)).collect()
}

fn kinds(events: &[CloudEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// An event's `data` as the type its kind carries.
fn payload<T: serde::de::DeserializeOwned>(event: &CloudEvent) -> T {
    serde_json::from_value(event.data.clone()).unwrap()
}

fn assert_unrecognized(format: Format, body: &[u8]) {
    let events = run(format, body);
    assert_eq!(
        kinds(&events),
        ["webhook.unrecognized"],
        "{format:?}: {}",
        String::from_utf8_lossy(body)
    );
    let data: UnrecognizedData = payload(&events[0]);
    assert_eq!(data.format, format.as_str());
    assert!(!data.reason.is_empty());
}

fn assert_malformed(format: Format, body: &[u8]) {
    let err = normalise(&delivery(format, body)).unwrap_err();
    assert!(
        err.to_string().starts_with("malformed"),
        "{format:?}: {err}"
    );
}

/// A fixture, edited.
fn edited(body: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path)).as_slice()
    };
}

#[test]
fn every_format_is_named_and_is_its_schemes_default() {
    for name in Format::NAMES {
        assert_eq!(Format::parse(name).map(Format::as_str), Some(name));
    }
    for format in NEW {
        assert_eq!(Format::for_scheme(format.as_str()), format);
    }
    for generic in ["basic", "token", "jwt", "hmac"] {
        assert_eq!(Format::for_scheme(generic), Format::Unknown);
    }
}

/// Replaces leaf values of `v` with values drawn from `picks` (strings, huge numbers, …).
fn mutate(v: &mut Value, picks: &mut impl Iterator<Item = (bool, Value)>) {
    match v {
        Value::Object(map) => map.values_mut().for_each(|x| mutate(x, picks)),
        Value::Array(items) => items.iter_mut().for_each(|x| mutate(x, picks)),
        leaf => {
            if let Some((true, replacement)) = picks.next() {
                *leaf = replacement;
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn new_formats_never_panic_on_arbitrary_bytes(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)
    ) {
        for format in NEW {
            let _ = normalise(&delivery(format, &body));
        }
    }

    #[test]
    fn new_formats_never_panic_on_mutated_fixtures(
        which in 0usize..12,
        picks in proptest::collection::vec((proptest::bool::weighted(0.3), 0usize..10), 0..80),
    ) {
        let fixtures: [(Format, &[u8]); 12] = [
            (Format::Vonage, fixture!("vonage/4-completed.json")),
            (Format::Vonage, fixture!("vonage/5-record.json")),
            (Format::Dialpad, fixture!("dialpad/3-hangup.json")),
            (Format::RingCentral, fixture!("ringcentral/3-disconnected.json")),
            (Format::Bandwidth, fixture!("bandwidth/3-disconnect.json")),
            (Format::Bandwidth, fixture!("bandwidth/4-recordingAvailable.json")),
            (Format::Aircall, fixture!("aircall/4-call.ended.json")),
            (Format::CallRail, fixture!("callrail/2-post-call.json")),
            (Format::Bland, fixture!("bland/post-call.json")),
            (Format::ElevenLabs, fixture!("elevenlabs/post_call_transcription.json")),
            (Format::ElevenLabs, fixture!("elevenlabs/call_initiation_failure-sip.json")),
            (Format::Synthflow, fixture!("synthflow/post-call.json")),
        ];
        let values = [
            json!(i64::MAX), json!(i64::MIN), json!(u64::MAX), json!(-1), json!(1e308),
            json!(""), json!("PT99999999999999999999H"), json!(null), json!([]), json!({}),
        ];
        let (format, body) = fixtures[which];
        let mut v: Value = serde_json::from_slice(body).unwrap();
        let mut it = picks.into_iter().map(|(hit, i)| (hit, values[i].clone()));
        mutate(&mut v, &mut it);
        let _ = normalise(&delivery(format, &serde_json::to_vec(&v).unwrap()));
    }
}

mod telephony;
mod voice_ai;

#[test]
fn every_config_format_is_its_normaliser() {
    for name in Format::NAMES {
        let config: switchboard_config::PayloadFormat =
            serde_json::from_value(Value::String(name.to_owned())).unwrap();
        assert_eq!(Format::from(config), Format::parse(name).unwrap(), "{name}");
        assert_eq!(config.as_str(), name);
    }
}
