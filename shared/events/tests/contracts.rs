//! The checked-in contracts (docs/schemas/*.json, docs/asyncapi.yaml) must be exactly what
//! the code generates. After changing an event type:
//! `UPDATE_CONTRACTS=1 cargo test -p switchboard-events --test contracts`, then review the diff.

use std::path::PathBuf;
use switchboard_events::schema::{asyncapi_yaml, schema_files};

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

#[test]
fn checked_in_contracts_match_the_code() {
    let update = std::env::var_os("UPDATE_CONTRACTS").is_some();
    let mut files: Vec<(PathBuf, String)> = schema_files()
        .into_iter()
        .map(|(name, text)| (docs().join("schemas").join(name), text))
        .collect();
    files.push((docs().join("asyncapi.yaml"), asyncapi_yaml()));
    let mut drifted = Vec::new();
    for (path, generated) in files {
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == generated => {}
            _ => drifted.push(path.display().to_string()),
        }
    }
    assert!(
        drifted.is_empty(),
        "these contracts differ from the code: {drifted:?}\n\
         run `UPDATE_CONTRACTS=1 cargo test -p switchboard-events --test contracts` and review the diff"
    );
}

#[test]
fn every_event_type_has_a_channel_and_a_schema() {
    let yaml = asyncapi_yaml();
    for kind in switchboard_events::EventType::ALL {
        assert!(
            yaml.contains(&format!("address: 'events.{{tenant}}.{}'", kind.as_str())),
            "{kind:?}"
        );
        assert!(
            schema_files()
                .iter()
                .any(|(n, _)| n == &format!("{}.json", kind.as_str()))
        );
    }
}

#[test]
fn examples_from_the_fixtures_satisfy_their_schemas_required_fields() {
    // A light check without a validator: every `required` property of a data schema is
    // present in a real event of that type.
    let body = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/retell/3-call_analyzed.json"),
    )
    .unwrap();
    let events = switchboard_events::normalise(&switchboard_events::Delivery {
        tenant: "t",
        source: "s",
        scheme: "retell",
        format: switchboard_events::Format::Retell,
        inbound_id: "t:s:x",
        stream_seq: 1,
        received_at: "2026-11-23T15:00:00Z",
        content_type: None,
        body: &body,
    })
    .unwrap();
    let schema =
        switchboard_events::schema::data_schema(switchboard_events::EventType::CallOutcome);
    for field in schema["required"].as_array().unwrap() {
        assert!(
            events[0].data.get(field.as_str().unwrap()).is_some(),
            "missing {field}"
        );
    }
    let envelope = switchboard_events::schema::envelope_schema();
    let event = serde_json::to_value(&events[0]).unwrap();
    for field in envelope["required"].as_array().unwrap() {
        assert!(
            event.get(field.as_str().unwrap()).is_some(),
            "missing {field}"
        );
    }
}
