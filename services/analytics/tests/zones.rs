//! Calls land on the tenant-local day of their start, DST-correct. Instants are written in
//! UTC so that the expectation does not depend on the conversion under test.

use jiff::Timestamp;
use jiff::civil::{Date, date};
use switchboard_analytics::{AgentView, Engine, TenantZone, Update};
use switchboard_config::CallClass;

fn chicago() -> TenantZone {
    TenantZone::new("America/Chicago").expect("bundled tzdb")
}

fn utc(s: &str) -> Timestamp {
    s.parse().expect("RFC 3339 instant")
}

/// Days of calls started at the given instants, through the engine.
fn days_of(zone: TenantZone, starts: &[&str]) -> Vec<(Date, u64)> {
    let mut engine = Engine::new("t1", zone);
    for (n, start) in starts.iter().enumerate() {
        let affected = engine.apply(Update::Agent {
            call: format!("call-{n}").into(),
            view: AgentView::new(CallClass::Booked, utc(start), utc(start)),
        });
        assert_eq!(affected, vec![engine.zone().local_date(utc(start))]);
    }
    engine
        .days()
        .map(|day| (day, engine.snapshot(day).agent.calls))
        .collect()
}

#[test]
fn late_evening_and_after_midnight_are_different_days() {
    // 23:30 CDT on 15 June and 00:30 CDT on 16 June: the same UTC day (the 16th).
    let z = chicago();
    assert_eq!(z.local_date(utc("2026-06-16T04:30:00Z")), date(2026, 6, 15));
    assert_eq!(z.local_date(utc("2026-06-16T05:30:00Z")), date(2026, 6, 16));
    assert_eq!(
        days_of(z, &["2026-06-16T04:30:00Z", "2026-06-16T05:30:00Z"]),
        vec![(date(2026, 6, 15), 1), (date(2026, 6, 16), 1)]
    );
}

#[test]
fn utc_midnight_crossing_stays_on_the_local_day() {
    // 18:30 and 19:30 CDT on 15 June straddle UTC midnight: both are the 15th locally.
    let z = chicago();
    assert_eq!(
        days_of(z, &["2026-06-15T23:30:00Z", "2026-06-16T00:30:00Z"]),
        vec![(date(2026, 6, 15), 2)]
    );
    // In UTC itself they are two days.
    let utc_zone = TenantZone::new("UTC").expect("UTC");
    assert_eq!(
        days_of(utc_zone, &["2026-06-15T23:30:00Z", "2026-06-16T00:30:00Z"]),
        vec![(date(2026, 6, 15), 1), (date(2026, 6, 16), 1)]
    );
}

#[test]
fn fall_back_day_repeated_hour() {
    // 2026-11-01: 01:30 happens twice, at 06:30Z (CDT, -5) and at 07:30Z (CST, -6). Both are
    // 1 November. After the change the day ends at 06:00Z, not 05:00Z.
    let z = chicago();
    let starts = [
        "2026-11-01T04:30:00Z", // 31 Oct 23:30 CDT
        "2026-11-01T05:30:00Z", // 00:30 CDT
        "2026-11-01T06:30:00Z", // 01:30 CDT (first)
        "2026-11-01T07:30:00Z", // 01:30 CST (second)
        "2026-11-02T05:30:00Z", // 23:30 CST
        "2026-11-02T06:30:00Z", // 2 Nov 00:30 CST
    ];
    assert_eq!(z.local_date(utc(starts[2])), z.local_date(utc(starts[3])));
    assert_eq!(
        days_of(z, &starts),
        vec![
            (date(2026, 10, 31), 1),
            (date(2026, 11, 1), 4),
            (date(2026, 11, 2), 1),
        ]
    );
}

#[test]
fn spring_forward_day_skipped_hour() {
    // 2026-03-08: 02:00 CST jumps to 03:00 CDT, so the day is 23 hours long: from
    // 06:00Z on the 8th to 05:00Z on the 9th.
    let z = chicago();
    let starts = [
        "2026-03-08T05:30:00Z", // 7 Mar 23:30 CST
        "2026-03-08T06:30:00Z", // 00:30 CST
        "2026-03-08T07:59:59Z", // 01:59:59 CST
        "2026-03-08T08:00:00Z", // 03:00 CDT
        "2026-03-09T04:30:00Z", // 23:30 CDT
        "2026-03-09T05:30:00Z", // 9 Mar 00:30 CDT
    ];
    assert_eq!(
        days_of(z, &starts),
        vec![
            (date(2026, 3, 7), 1),
            (date(2026, 3, 8), 4),
            (date(2026, 3, 9), 1),
        ]
    );
}

#[test]
fn servicetitan_start_does_not_place_a_counted_call() {
    // The agent's start decides the day; ServiceTitan's createdOn (here a day later) does not.
    let mut engine = Engine::new("t1", chicago());
    engine.apply(Update::ServiceTitan {
        call: "c".into(),
        view: switchboard_analytics::StView {
            class: Some(CallClass::Booked),
            started_at: utc("2026-06-17T15:00:00Z"),
            observed_at: utc("2026-06-17T15:00:00Z"),
        },
    });
    assert_eq!(
        engine.days().count(),
        0,
        "ServiceTitan-only calls do not count"
    );
    let affected = engine.apply(Update::Agent {
        call: "c".into(),
        view: AgentView::new(
            CallClass::Booked,
            utc("2026-06-16T15:00:00Z"),
            utc("2026-06-16T15:05:00Z"),
        ),
    });
    assert_eq!(affected, vec![date(2026, 6, 16)]);
    let snap = engine.snapshot(date(2026, 6, 16));
    assert_eq!((snap.agent.booked, snap.servicetitan.booked), (1, 1));
}
