//! The messages analytics publishes match the checked-in schemas (docs/schemas/analytics/):
//! every required property present, nothing the schema does not declare. A light check
//! without a validator, on real values from the engine.

use std::path::PathBuf;
use switchboard_analytics::{
    AgentView, CallKey, DiscrepancyMessage, DiscrepancyStatus, Engine, StView, TenantZone, Update,
};
use switchboard_config::CallClass;

fn schema(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas/analytics")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn check(value: &serde_json::Value, schema: &serde_json::Value, what: &str) {
    let obj = value.as_object().unwrap();
    for key in schema["required"].as_array().unwrap() {
        assert!(
            obj.contains_key(key.as_str().unwrap()),
            "{what}: missing {key}"
        );
    }
    let props = schema["properties"].as_object().unwrap();
    for key in obj.keys() {
        assert!(
            props.contains_key(key),
            "{what}: `{key}` is not in the schema"
        );
    }
}

fn engine() -> (Engine, jiff::civil::Date) {
    let mut engine = Engine::new("demo", TenantZone::new("America/Chicago").unwrap());
    let t = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let days = engine.apply(Update::Agent {
        call: CallKey::new("ag_1"),
        view: AgentView {
            class: CallClass::Booked,
            reason: Some("Service Call".into()),
            job_id: Some(1004),
            agent: Some("ava".into()),
            business_unit: None,
            campaign: Some("Google Ads".into()),
            started_at: t("2026-11-20T17:21:00Z"),
            observed_at: t("2026-11-20T17:30:00Z"),
        },
    });
    engine.apply(Update::ServiceTitan {
        call: CallKey::new("ag_1"),
        view: StView {
            class: Some(CallClass::Unbooked),
            started_at: t("2026-11-20T17:21:00Z"),
            observed_at: t("2026-11-20T17:31:00Z"),
        },
    });
    (engine, days[0])
}

#[test]
fn snapshots_match_booking_rate_json() {
    let (engine, day) = engine();
    let snapshot = serde_json::to_value(engine.snapshot(day)).unwrap();
    check(&snapshot, &schema("booking_rate.json"), "snapshot");
    let figures = schema("figures.json");
    check(&snapshot["agent"], &figures, "agent figures");
    check(&snapshot["servicetitan"], &figures, "servicetitan figures");
    check(
        &snapshot["by_agent"]["ava"]["agent"],
        &figures,
        "breakdown figures",
    );
    assert_eq!(snapshot["date"], "2026-11-20");
    assert_eq!(snapshot["agent"]["booking_rate"], 1.0);
    assert_eq!(snapshot["servicetitan"]["booking_rate"], 0.0);
}

#[test]
fn discrepancy_messages_match_discrepancy_json() {
    let (engine, day) = engine();
    let d = engine.discrepancies(day).remove(0);
    for (status, resolved_at) in [
        (DiscrepancyStatus::Open, None),
        (DiscrepancyStatus::Resolved, Some("2026-11-21T00:00:00Z")),
    ] {
        let message = DiscrepancyMessage {
            tenant: "demo".into(),
            status,
            discrepancy: d.clone(),
            st_call_id: Some(9003),
            resolved_at: resolved_at.map(str::to_owned),
        };
        let value = serde_json::to_value(&message).unwrap();
        check(&value, &schema("discrepancy.json"), status.as_str());
        assert_eq!(value["status"], status.as_str());
        assert_eq!(value["agent"], "booked");
        assert_eq!(value["servicetitan"], "unbooked");
    }
}
