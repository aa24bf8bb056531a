//! The demo week, planned before anything is sent: which customer calls when, what the
//! agent made of each call, how long it lasted. Pure — a function of a random source, the
//! time now and the account — so its shape (every class, business hours, nothing after
//! now, no caller twice a day) is tested without a server.

use jiff::civil::Weekday;
use jiff::{Timestamp, ToSpan as _, Zoned};

/// The agent's classes, with how often each occurs in the demo week (of 20).
pub(super) const CLASSES: [(&str, u32); 5] = [
    ("booked", 8),
    ("unbooked", 4),
    ("excused", 3),
    ("not_lead", 2),
    ("abandoned", 3),
];
/// One customer of the tenant's ServiceTitan account the demo's callers are.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) customer_id: i64,
    pub(super) location_id: i64,
    pub(super) phone: String,
}

/// What the demo uses of the tenant's ServiceTitan account.
#[derive(Debug, Clone)]
pub(super) struct Account {
    pub(super) callers: Vec<Caller>,
    pub(super) campaigns: Vec<(i64, String)>,
    pub(super) business_units: Vec<(i64, String)>,
    pub(super) job_types: Vec<i64>,
}

/// One call of the demo week.
#[derive(Debug, Clone)]
pub(super) struct DemoCall {
    pub(super) index: usize,
    pub(super) class: &'static str,
    pub(super) caller: Caller,
    pub(super) started: Timestamp,
    pub(super) duration_secs: i64,
    pub(super) campaign: (i64, String),
    pub(super) business_unit: (i64, String),
    pub(super) job_type_id: i64,
}

/// The week's calls for `callers`: weekdays busier than weekends, business hours in the
/// tenant's zone, each caller at most once a day (so a call is never ambiguous).
pub(super) fn plan(
    rng: &mut fastrand::Rng,
    now: &Zoned,
    days: u32,
    account: &Account,
) -> anyhow::Result<Vec<DemoCall>> {
    let (today, zone) = (now.date(), now.time_zone());
    let Account {
        callers,
        campaigns,
        business_units: units,
        job_types,
    } = account;
    let total: u32 = CLASSES.iter().map(|(_, w)| w).sum();
    let mut calls = Vec::new();
    // Today and the days before it; today's calls only up to now.
    for back in (0..i64::from(days)).rev() {
        let day = today.checked_sub(back.days())?;
        let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
        let per_day = if weekend { 2 } else { callers.len().min(6) };
        let mut order: Vec<&Caller> = callers.iter().collect();
        rng.shuffle(&mut order);
        for caller in order.into_iter().take(per_day) {
            // The first calls show every class once; the rest follow the weights.
            let class = match CLASSES.get(calls.len()) {
                Some((class, _)) => class,
                None => {
                    let mut pick = rng.u32(0..total);
                    CLASSES
                        .iter()
                        .find(|(_, w)| {
                            let hit = pick < *w;
                            pick -= (*w).min(pick);
                            hit
                        })
                        .map_or("unbooked", |(c, _)| c)
                }
            };
            let local = day.at(rng.i8(8..18), rng.i8(0..60), rng.i8(0..60), 0);
            let duration_secs = match class {
                "abandoned" => 0,
                "excused" => rng.i64(15..55),
                "not_lead" => rng.i64(40..120),
                _ => rng.i64(120..540),
            };
            let started = local.to_zoned(zone.clone())?.timestamp();
            if started + duration_secs.seconds() > now.timestamp() {
                continue;
            }
            let unit = &units[rng.usize(..units.len())];
            calls.push(DemoCall {
                index: calls.len(),
                class,
                caller: caller.clone(),
                started,
                duration_secs,
                campaign: campaigns[rng.usize(..campaigns.len())].clone(),
                business_unit: unit.clone(),
                job_type_id: job_types[rng.usize(..job_types.len())],
            });
        }
    }
    calls.sort_by_key(|c| c.started);
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil;
    use jiff::tz::TimeZone;

    fn callers() -> Vec<Caller> {
        (0..6)
            .map(|i| Caller {
                customer_id: 100 + i,
                location_id: 200 + i,
                phone: format!("+1512555010{i}"),
            })
            .collect()
    }

    fn account() -> Account {
        Account {
            callers: callers(),
            campaigns: vec![(31, "Google".into())],
            business_units: vec![(21, "HVAC".into())],
            job_types: vec![301],
        }
    }

    fn at(date: civil::Date, hour: i8) -> Zoned {
        date.at(hour, 0, 0, 0)
            .to_zoned(TimeZone::get("America/Chicago").unwrap())
            .unwrap()
    }

    #[test]
    fn a_week_has_every_class_in_business_hours_and_no_caller_twice_a_day() {
        // Tuesday evening: today's calls are all over.
        let now = at(civil::date(2026, 12, 1), 20);
        let mut rng = fastrand::Rng::with_seed(7);
        let calls = plan(&mut rng, &now, 7, &account()).unwrap();
        // Wed 25 Nov to Tue 1 Dec: 5 weekdays × 6 callers + 2 weekend days × 2.
        assert_eq!(calls.len(), 34);
        for (class, _) in CLASSES {
            assert!(calls.iter().any(|c| c.class == class), "no {class} call");
        }
        let mut seen = std::collections::HashSet::new();
        for c in &calls {
            let local = c.started.to_zoned(now.time_zone().clone());
            assert!((8..18).contains(&local.hour()), "{local}");
            assert!(local.date() >= civil::date(2026, 11, 25), "{local}");
            assert!(
                seen.insert((local.date(), c.caller.phone.clone())),
                "{local}"
            );
            assert_eq!(c.class == "abandoned", c.duration_secs == 0);
        }
        assert!(calls.windows(2).all(|w| w[0].started <= w[1].started));
    }

    #[test]
    fn no_call_ends_after_now() {
        // Tuesday 7 am: today's business hours have not begun.
        let now = at(civil::date(2026, 12, 1), 7);
        let calls = plan(&mut fastrand::Rng::with_seed(7), &now, 7, &account()).unwrap();
        // Wed 25 Nov to Mon 30 Nov only.
        assert_eq!(calls.len(), 28);
        assert!(
            calls
                .iter()
                .all(|c| c.started + c.duration_secs.seconds() <= now.timestamp())
        );
    }
}
