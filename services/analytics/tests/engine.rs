//! Engine behaviour: affected days, discrepancies and their `since`, breakdowns.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use switchboard_analytics::{AgentView, CallKey, Engine, StView, TenantZone, Update};
use switchboard_config::CallClass;

fn utc(s: &str) -> Timestamp {
    s.parse().expect("RFC 3339 instant")
}

fn engine() -> Engine {
    Engine::new(
        "t1",
        TenantZone::new("America/Chicago").expect("bundled tzdb"),
    )
}

const DAY: Date = date(2026, 6, 15);

fn agent(call: &str, class: CallClass, started: &str, observed: &str) -> Update {
    Update::Agent {
        call: call.into(),
        view: AgentView {
            class,
            reason: Some(format!("reason of {call}")),
            job_id: (class == CallClass::Booked).then_some(42),
            agent: Some("ava".into()),
            business_unit: Some("hvac".into()),
            campaign: None,
            started_at: utc(started),
            observed_at: utc(observed),
        },
    }
}

fn st(call: &str, class: Option<CallClass>, observed: &str) -> Update {
    Update::ServiceTitan {
        call: call.into(),
        view: StView {
            class,
            started_at: utc("2026-06-15T15:00:00Z"),
            observed_at: utc(observed),
        },
    }
}

#[test]
fn discrepancy_follows_both_views_and_since_is_the_later_observation() {
    let mut e = engine();
    assert_eq!(
        e.apply(agent(
            "c1",
            CallClass::Booked,
            "2026-06-15T15:00:00Z",
            "2026-06-15T15:10:00Z"
        )),
        vec![DAY]
    );

    // No ServiceTitan view yet: unclassified, since the agent's report.
    let list = e.discrepancies(DAY);
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(d.call, CallKey::from("c1"));
    assert_eq!(
        (d.date, d.agent, d.servicetitan),
        (DAY, CallClass::Booked, None)
    );
    assert_eq!(d.since, utc("2026-06-15T15:10:00Z"));
    assert_eq!(
        (d.job_id, d.reason.as_deref()),
        (Some(42), Some("reason of c1"))
    );

    // ServiceTitan disagrees later: since moves to its modifiedOn.
    assert_eq!(
        e.apply(st("c1", Some(CallClass::Unbooked), "2026-06-15T16:00:00Z")),
        vec![DAY]
    );
    let list = e.discrepancies(DAY);
    assert_eq!(list[0].servicetitan, Some(CallClass::Unbooked));
    assert_eq!(list[0].since, utc("2026-06-15T16:00:00Z"));

    // A ServiceTitan view older than the agent's report: since stays the agent's time.
    let mut e2 = engine();
    e2.apply(agent(
        "c9",
        CallClass::Booked,
        "2026-06-15T15:00:00Z",
        "2026-06-15T18:00:00Z",
    ));
    e2.apply(st("c9", Some(CallClass::Excused), "2026-06-15T17:00:00Z"));
    assert_eq!(e2.discrepancies(DAY)[0].since, utc("2026-06-15T18:00:00Z"));

    // ServiceTitan agrees: gone, and the snapshot agrees.
    assert_eq!(
        e.apply(st("c1", Some(CallClass::Booked), "2026-06-15T17:00:00Z")),
        vec![DAY]
    );
    assert!(e.discrepancies(DAY).is_empty());
    assert_eq!(e.snapshot(DAY).discrepancies, 0);

    // A late, older ServiceTitan read changes nothing and reports no day.
    assert_eq!(
        e.apply(st("c1", Some(CallClass::Unbooked), "2026-06-15T16:30:00Z")),
        Vec::<Date>::new()
    );
    // A duplicate neither.
    assert_eq!(
        e.apply(st("c1", Some(CallClass::Booked), "2026-06-15T17:00:00Z")),
        Vec::<Date>::new()
    );

    // ServiceTitan un-classifies it: a discrepancy again, with ServiceTitan `None`.
    e.apply(st("c1", None, "2026-06-15T19:00:00Z"));
    let list = e.discrepancies(DAY);
    assert_eq!(
        (list[0].servicetitan, list[0].since),
        (None, utc("2026-06-15T19:00:00Z"))
    );
    assert_eq!(e.snapshot(DAY).servicetitan.unclassified, 1);
}

#[test]
fn discrepancies_are_sorted_by_day_since_and_call() {
    let mut e = engine();
    // Same `since` for b and a; c earlier; d on the next day but earliest.
    e.apply(agent(
        "b",
        CallClass::Booked,
        "2026-06-15T15:00:00Z",
        "2026-06-15T20:00:00Z",
    ));
    e.apply(agent(
        "a",
        CallClass::Booked,
        "2026-06-15T16:00:00Z",
        "2026-06-15T20:00:00Z",
    ));
    e.apply(agent(
        "c",
        CallClass::Unbooked,
        "2026-06-15T17:00:00Z",
        "2026-06-15T19:00:00Z",
    ));
    e.apply(agent(
        "d",
        CallClass::Unbooked,
        "2026-06-16T17:00:00Z",
        "2026-06-15T18:00:00Z",
    ));
    e.apply(agent(
        "ok",
        CallClass::Excused,
        "2026-06-15T17:00:00Z",
        "2026-06-15T18:00:00Z",
    ));
    e.apply(st("ok", Some(CallClass::Excused), "2026-06-15T18:00:00Z"));
    let order = |list: Vec<switchboard_analytics::Discrepancy>| {
        list.into_iter()
            .map(|d| d.call.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(order(e.discrepancies(DAY)), ["c", "a", "b"]);
    assert_eq!(order(e.all_discrepancies()), ["c", "a", "b", "d"]);
    assert_eq!(e.snapshot(DAY).discrepancies, 3);
}

#[test]
fn moving_start_reports_both_days_and_empties_the_old_one() {
    let mut e = engine();
    let next = date(2026, 6, 16);
    e.apply(agent(
        "c1",
        CallClass::Booked,
        "2026-06-15T15:00:00Z",
        "2026-06-15T15:10:00Z",
    ));
    e.apply(st("c1", Some(CallClass::Booked), "2026-06-15T16:00:00Z"));
    // Corrected start, one day later.
    let affected = e.apply(agent(
        "c1",
        CallClass::Booked,
        "2026-06-16T15:00:00Z",
        "2026-06-15T15:20:00Z",
    ));
    assert_eq!(affected, vec![DAY, next]);
    assert_eq!(e.days().collect::<Vec<_>>(), vec![next]);
    let old = e.snapshot(DAY);
    assert_eq!((old.agent.calls, old.agent.booking_rate), (0, None));
    assert!(old.by_agent.is_empty());
    assert_eq!(e.snapshot(next).servicetitan.booked, 1);
}

#[test]
fn day_figures_and_breakdowns() {
    let mut e = engine();
    let start = "2026-06-15T15:00:00Z";
    let obs = "2026-06-15T15:10:00Z";
    e.apply(agent("1", CallClass::Booked, start, obs));
    e.apply(agent("2", CallClass::Unbooked, start, obs));
    e.apply(agent("3", CallClass::Excused, start, obs));
    e.apply(agent("4", CallClass::Abandoned, start, obs));
    e.apply(st("1", Some(CallClass::Booked), obs));
    e.apply(st("2", Some(CallClass::Booked), obs));
    e.apply(st("3", Some(CallClass::NotLead), obs));
    // Another agent, no business unit, plus one literally named "(none)".
    let mut other = agent("5", CallClass::Booked, start, obs);
    if let Update::Agent { view, .. } = &mut other {
        view.agent = Some("bo".into());
        view.business_unit = None;
        view.campaign = Some("(none)".into());
    }
    e.apply(other);
    // ServiceTitan-only call: ignored by every figure.
    assert!(
        e.apply(st("st-only", Some(CallClass::Unbooked), obs))
            .is_empty()
    );
    assert_eq!(e.len(), 6);

    let s = e.snapshot(DAY);
    assert_eq!((s.agent.calls, s.agent.booked, s.agent.unbooked), (5, 2, 1));
    assert_eq!(s.agent.booking_rate, Some(2.0 / 3.0));
    assert_eq!(
        (
            s.servicetitan.calls,
            s.servicetitan.booked,
            s.servicetitan.unclassified
        ),
        (5, 2, 2)
    );
    assert_eq!(s.servicetitan.booking_rate, Some(1.0));
    assert_eq!(
        s.discrepancies, 4,
        "2: booked/unbooked, 3: excused/not_lead, 4 and 5 unclassified"
    );
    assert_eq!(s.by_agent.keys().collect::<Vec<_>>(), ["ava", "bo"]);
    assert_eq!(s.by_agent["ava"].agent.calls, 4);
    assert_eq!(s.by_agent["bo"].servicetitan.unclassified, 1);
    assert_eq!(s.by_business_unit["hvac"].agent.calls, 4);
    assert_eq!(s.by_business_unit["(none)"].agent.calls, 1);
    assert_eq!(
        s.by_campaign["(none)"].agent.calls, 5,
        "missing and literal \"(none)\" merge"
    );
    assert_eq!(s.timezone, "America/Chicago");
    assert_eq!(s.tenant, "t1");
}
