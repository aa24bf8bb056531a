//! Merging is order-, duplicate- and lateness-insensitive, and the incremental engine agrees
//! with the batch definition on every day.

use jiff::Timestamp;
use jiff::civil::Date;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{BTreeMap, BTreeSet};
use switchboard_analytics::{
    AgentView, CallFacts, CallKey, Engine, Facts, Snapshot, StView, TenantZone, Update,
    batch_discrepancies, batch_snapshots,
};
use switchboard_config::CallClass;

/// 2026-03-07T00:00:00Z: the generated starts span the spring-forward day in Chicago.
const BASE: i64 = 1_772_841_600;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("in range")
}

fn class() -> impl Strategy<Value = CallClass> {
    prop::sample::select(CallClass::ALL.to_vec())
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(values).prop_map(str::to_owned))
}

/// Starts every 90 minutes over 60 hours (so across local midnights); few distinct
/// observation times, so equal-timestamp ties are frequent.
fn start() -> impl Strategy<Value = Timestamp> {
    (0..40i64).prop_map(|k| at(BASE + k * 5_400))
}

fn observed() -> impl Strategy<Value = Timestamp> {
    (0..4i64).prop_map(|k| at(BASE + 300_000 + k * 60))
}

fn key() -> impl Strategy<Value = CallKey> {
    (0..6u8).prop_map(|n| CallKey::new(format!("call-{n}")))
}

fn agent_view() -> impl Strategy<Value = AgentView> {
    (
        class(),
        pick(&["price", "no slot"]),
        prop::option::of(1..3i64),
        pick(&["ava", "bo", "(none)"]),
        pick(&["hvac", "plumbing"]),
        pick(&["spring"]),
        start(),
        observed(),
    )
        .prop_map(
            |(class, reason, job_id, agent, business_unit, campaign, started_at, observed_at)| {
                AgentView {
                    class,
                    reason,
                    job_id,
                    agent,
                    business_unit,
                    campaign,
                    started_at,
                    observed_at,
                }
            },
        )
}

fn st_view() -> impl Strategy<Value = StView> {
    (prop::option::of(class()), start(), observed()).prop_map(|(class, started_at, observed_at)| {
        StView {
            class,
            started_at,
            observed_at,
        }
    })
}

fn update() -> impl Strategy<Value = Update> {
    prop_oneof![
        (key(), agent_view()).prop_map(|(call, view)| Update::Agent { call, view }),
        (key(), st_view()).prop_map(|(call, view)| Update::ServiceTitan { call, view }),
    ]
}

/// A re-classification of `update`'s call, observed a little later.
fn correction(update: &Update, class: CallClass, later: i64) -> Update {
    match update.clone() {
        Update::Agent { call, mut view } => {
            view.class = class;
            view.observed_at = at(view.observed_at.as_second() + later);
            Update::Agent { call, view }
        }
        Update::ServiceTitan { call, mut view } => {
            view.class = Some(class);
            view.observed_at = at(view.observed_at.as_second() + later);
            Update::ServiceTitan { call, view }
        }
    }
}

/// (the distinct updates, a delivery of them: with duplicates and late corrections, shuffled).
fn deliveries() -> impl Strategy<Value = (Vec<Update>, Vec<Update>)> {
    (
        vec(update(), 1..40),
        vec(any::<Index>(), 0..15),
        vec((any::<Index>(), class(), 1..120i64), 0..8),
    )
        .prop_flat_map(|(updates, duplicates, corrections)| {
            let mut all = updates.clone();
            all.extend(
                corrections
                    .iter()
                    .map(|(i, c, later)| correction(i.get(&updates), *c, *later)),
            );
            let mut delivered = all.clone();
            delivered.extend(duplicates.iter().map(|i| i.get(&all).clone()));
            (Just(all), Just(delivered).prop_shuffle())
        })
}

fn zone() -> TenantZone {
    TenantZone::new("America/Chicago").expect("bundled tzdb")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn merge_ignores_order_duplicates_and_lateness((updates, delivered) in deliveries()) {
        let reference: Facts = updates.iter().cloned().collect();
        let shuffled: Facts = delivered.iter().cloned().collect();
        let reversed: Facts = delivered.iter().rev().cloned().collect();
        let twice: Facts = delivered.iter().chain(&updates).cloned().collect();
        prop_assert_eq!(&shuffled, &reference);
        prop_assert_eq!(&reversed, &reference);
        prop_assert_eq!(&twice, &reference);
    }

    #[test]
    fn incremental_engine_equals_batch((updates, delivered) in deliveries()) {
        let zone = zone();
        let mut engine = Engine::new("t1", zone.clone());
        let empty = |day: Date| Snapshot::empty("t1", day, "America/Chicago");
        let mut latest: BTreeMap<Date, Snapshot> = BTreeMap::new();
        for update in delivered {
            let affected = engine.apply(update);
            prop_assert!(affected.windows(2).all(|w| w[0] < w[1]), "ascending, distinct");
            // Days not reported as affected really did not change.
            for (day, snapshot) in &latest {
                if !affected.contains(day) {
                    prop_assert_eq!(&engine.snapshot(*day), snapshot);
                }
            }
            for day in affected {
                latest.insert(day, engine.snapshot(day));
            }
            for day in engine.days() {
                prop_assert!(latest.contains_key(&day), "day {} was never reported", day);
            }
        }

        let facts: Facts = updates.into_iter().collect();
        let engine_facts: BTreeMap<CallKey, CallFacts> = engine.facts().collect();
        let reference: BTreeMap<CallKey, CallFacts> =
            facts.iter().map(|(k, f)| (k.clone(), f.clone())).collect();
        prop_assert_eq!(&engine_facts, &reference);
        prop_assert_eq!(engine.len(), facts.len());

        let batch = batch_snapshots(&zone, "t1", &facts);
        let days: BTreeSet<Date> = latest.keys().chain(batch.keys()).copied().collect();
        for day in days {
            let expected = batch.get(&day).cloned().unwrap_or_else(|| empty(day));
            prop_assert_eq!(latest.get(&day), Some(&expected), "day {}", day);
            prop_assert_eq!(&engine.snapshot(day), &expected);
        }
        prop_assert_eq!(engine.days().collect::<Vec<_>>(), batch.keys().copied().collect::<Vec<_>>());
        prop_assert_eq!(&engine.snapshots(), &batch);

        let all = batch_discrepancies(&zone, &facts);
        prop_assert_eq!(&engine.all_discrepancies(), &all);
        for (day, snapshot) in &batch {
            let of_day: Vec<_> = all.iter().filter(|d| d.date == *day).cloned().collect();
            prop_assert_eq!(snapshot.discrepancies, of_day.len() as u64);
            prop_assert_eq!(engine.discrepancies(*day), of_day);
        }
    }
}
