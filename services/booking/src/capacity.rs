//! Capacity arithmetic: which of ServiceTitan's capacity slots may be offered to a caller,
//! as pure functions over values (no I/O), so "never overbooked" is tested with vectors and
//! properties rather than hoped for.
//!
//! ServiceTitan's Adjustable Capacity Planning answers `POST /dispatch/v2/…/capacity` with
//! one slot per arrival window: `totalAvailability` and `openAvailability` in **hours** of
//! technician time, `isAvailable`, and `isExceedingIdealBookingPercentage`. A booking
//! deducts its job type's duration from its window. So a window is offered only when:
//!
//! - ServiceTitan says it `isAvailable`;
//! - its open hours, less the hours Switchboard itself holds there (bookings in flight
//!   that ServiceTitan cannot see yet), cover the job type's duration;
//! - the business respects its ideal booking percentage (the default) and ServiceTitan
//!   does not flag the window as exceeding it;
//! - it is one of the business unit's arrival windows, inside business hours.
//!
//! A job type without a duration is refused before any of this ([`duration_hours`]):
//! ServiceTitan warns that such bookings "will massively overbook".

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use switchboard_servicetitan::models::{ArrivalWindow, BusinessHours, CapacityAvailability};

/// One capacity slot, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
    pub business_unit_ids: Vec<i64>,
    pub total_hours: f64,
    pub open_hours: f64,
    pub is_available: bool,
    pub exceeds_ideal: bool,
}

impl Slot {
    /// A slot from ServiceTitan's answer; `None` if its times do not parse (`startUtc`
    /// and `endUtc` are preferred, then `start` and `end`).
    pub fn from_api(a: &CapacityAvailability) -> Option<Slot> {
        let time = |utc: &str, local: &str| {
            utc.parse::<Timestamp>()
                .ok()
                .or_else(|| local.parse::<Timestamp>().ok())
        };
        Some(Slot {
            start: time(&a.start_utc, &a.start)?,
            end: time(&a.end_utc, &a.end)?,
            business_unit_ids: a.business_unit_ids.clone(),
            total_hours: a.total_availability,
            open_hours: a.open_availability,
            is_available: a.is_available,
            exceeds_ideal: a.is_exceeding_ideal_booking_percentage,
        })
    }

    /// Over capacity: more hours booked than the window has (a CSR and Switchboard booked
    /// its last hours at the same moment).
    pub fn overbooked(&self) -> bool {
        self.open_hours < 0.0
    }
}

/// What a booking needs of a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    /// The job type's duration, in hours.
    pub hours: f64,
    /// Refuse windows over the ideal booking percentage.
    pub respect_ideal: bool,
}

/// Why a job type cannot be booked by duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "job type `{name}` has no duration in ServiceTitan; booking it would overbook (set its duration under Settings › Job types)"
)]
pub struct NoDuration {
    pub name: String,
}

/// A job type's duration (ServiceTitan's seconds) in hours; zero or missing is refused.
pub fn duration_hours(name: &str, seconds: Option<i64>) -> Result<f64, NoDuration> {
    match seconds {
        Some(s) if s > 0 => Ok(s as f64 / 3600.0),
        _ => Err(NoDuration {
            name: name.to_owned(),
        }),
    }
}

/// Whether `slot` can take `need`, with `held` hours already promised by Switchboard.
pub fn fits(slot: &Slot, need: Need, held: f64) -> bool {
    // A thousandth of an hour absorbs floating-point noise in ServiceTitan's doubles.
    const EPSILON: f64 = 1e-3;
    slot.is_available
        && slot.open_hours - held + EPSILON >= need.hours
        && !(need.respect_ideal && slot.exceeds_ideal)
}

/// The business's booking calendar: its time zone, arrival windows and opening hours.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub zone: TimeZone,
    /// (start of day, length) of each active arrival window, with the business units it
    /// applies to (empty: all).
    pub windows: Vec<(SignedDuration, SignedDuration, Vec<i64>)>,
    pub hours: BusinessHours,
}

impl Calendar {
    /// From ServiceTitan's arrival windows (inactive ones and unreadable spans skipped).
    pub fn new(zone: TimeZone, windows: &[ArrivalWindow], hours: BusinessHours) -> Calendar {
        let windows = windows
            .iter()
            .filter(|w| w.active)
            .filter_map(|w| {
                Some((
                    parse_timespan(&w.start)?,
                    parse_timespan(&w.duration)?,
                    w.business_unit_ids.clone(),
                ))
            })
            .collect();
        Calendar {
            zone,
            windows,
            hours,
        }
    }

    /// Whether `slot` is one of `business_unit`'s arrival windows and inside business
    /// hours. With no arrival windows configured, any slot inside business hours is.
    pub fn admits(&self, slot: &Slot, business_unit: i64) -> bool {
        let start = slot.start.to_zoned(self.zone.clone());
        let end = slot.end.to_zoned(self.zone.clone());
        if start.date() != end.date() && end.time() != Time::midnight() {
            return false;
        }
        let since_midnight = start.time().duration_since(Time::midnight());
        let length = slot.end.duration_since(slot.start);
        let is_window = self.windows.is_empty()
            || self.windows.iter().any(|(at, len, units)| {
                *at == since_midnight
                    && *len == length
                    && (units.is_empty() || units.contains(&business_unit))
            });
        is_window && self.open(start.date(), start.time(), length)
    }

    fn open(&self, day: Date, from: Time, length: SignedDuration) -> bool {
        let ranges = match day.weekday() {
            Weekday::Saturday => &self.hours.saturday,
            Weekday::Sunday => &self.hours.sunday,
            _ => &self.hours.weekdays,
        };
        let from_secs = from.duration_since(Time::midnight()).as_secs();
        let to_secs = from_secs + length.as_secs();
        // No business hours configured at all: ServiceTitan's capacity alone decides.
        if self.hours.weekdays.is_empty()
            && self.hours.saturday.is_empty()
            && self.hours.sunday.is_empty()
        {
            return true;
        }
        ranges.iter().any(|r| {
            i64::from(r.from_hour) * 3600 <= from_secs && to_secs <= i64::from(r.to_hour) * 3600
        })
    }
}

/// A .NET time span as ServiceTitan writes one: `hh:mm:ss`, optionally `d.hh:mm:ss`.
pub fn parse_timespan(s: &str) -> Option<SignedDuration> {
    let (days, rest) = match s.split_once('.') {
        Some((d, rest)) if !rest.contains('.') || rest.find(':') < rest.find('.') => {
            (d.parse::<i64>().ok()?, rest)
        }
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next().unwrap_or("0").parse().ok()?;
    if parts.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(SignedDuration::from_secs(
        days * 86_400 + h * 3600 + m * 60 + sec as i64,
    ))
}

/// The windows to offer for `business_unit`, soonest first: those that fit `need` after
/// Switchboard's own `held` hours (by window start) and that the calendar admits.
pub fn offerable<'a>(
    slots: &'a [Slot],
    business_unit: i64,
    need: Need,
    calendar: &Calendar,
    held: impl Fn(&Slot) -> f64,
) -> Vec<&'a Slot> {
    let mut offered: Vec<&Slot> = slots
        .iter()
        .filter(|s| s.business_unit_ids.is_empty() || s.business_unit_ids.contains(&business_unit))
        .filter(|s| fits(s, need, held(s)))
        .filter(|s| calendar.admits(s, business_unit))
        .collect();
    offered.sort_by_key(|s| s.start);
    offered.dedup_by_key(|s| s.start);
    offered
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use switchboard_servicetitan::models::HourRange;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slot(start: &str, end: &str, open: f64) -> Slot {
        Slot {
            start: ts(start),
            end: ts(end),
            business_unit_ids: vec![21],
            total_hours: 8.0,
            open_hours: open,
            is_available: open > 0.0,
            exceeds_ideal: false,
        }
    }

    fn chicago_calendar() -> Calendar {
        let window = |start: &str| ArrivalWindow {
            id: 1,
            start: start.into(),
            duration: "02:00:00".into(),
            business_unit_ids: vec![],
            active: true,
        };
        let hours = BusinessHours {
            weekdays: vec![HourRange {
                from_hour: 8,
                to_hour: 18,
            }],
            saturday: vec![HourRange {
                from_hour: 9,
                to_hour: 13,
            }],
            sunday: vec![],
        };
        Calendar::new(
            TimeZone::get("America/Chicago").unwrap(),
            &[window("08:00:00"), window("10:00:00"), window("14:00:00")],
            hours,
        )
    }

    const NEED_2H: Need = Need {
        hours: 2.0,
        respect_ideal: true,
    };

    #[test]
    fn a_job_type_without_a_duration_is_refused_naming_it() {
        assert_eq!(duration_hours("AC Repair", Some(5400)), Ok(1.5));
        for bad in [None, Some(0), Some(-60)] {
            let err = duration_hours("Tune-Up", bad).unwrap_err();
            assert!(
                err.to_string().contains("`Tune-Up` has no duration"),
                "{err}"
            );
        }
    }

    #[test]
    fn open_hours_less_holds_must_cover_the_duration() {
        let s = slot("2026-12-03T14:00:00Z", "2026-12-03T16:00:00Z", 3.0);
        assert!(fits(&s, NEED_2H, 0.0));
        assert!(fits(&s, NEED_2H, 1.0), "exactly enough left");
        assert!(!fits(&s, NEED_2H, 1.5), "a hold takes what was left");
        let closed = Slot {
            is_available: false,
            ..s.clone()
        };
        assert!(
            !fits(&closed, NEED_2H, 0.0),
            "ServiceTitan's isAvailable rules"
        );
        let over_ideal = Slot {
            exceeds_ideal: true,
            ..s
        };
        assert!(!fits(&over_ideal, NEED_2H, 0.0));
        let anyway = Need {
            respect_ideal: false,
            ..NEED_2H
        };
        assert!(fits(&over_ideal, anyway, 0.0), "unless the tenant opts out");
    }

    #[test]
    fn only_arrival_windows_inside_business_hours_are_offered_soonest_first() {
        let cal = chicago_calendar();
        // Thursday 3 December 2026, Chicago is UTC-6.
        let slots = [
            slot("2026-12-03T20:00:00Z", "2026-12-03T22:00:00Z", 4.0), // 14:00 local
            slot("2026-12-03T14:00:00Z", "2026-12-03T16:00:00Z", 4.0), // 08:00 local
            slot("2026-12-03T18:00:00Z", "2026-12-03T20:00:00Z", 4.0), // 12:00: no window
            slot("2026-12-03T16:00:00Z", "2026-12-03T17:00:00Z", 4.0), // 10:00 but 1 h long
            slot("2026-12-06T14:00:00Z", "2026-12-06T16:00:00Z", 4.0), // Sunday: closed
            slot("2026-12-05T16:00:00Z", "2026-12-05T18:00:00Z", 4.0), // Saturday 10-12: open
        ];
        let offered: Vec<String> = offerable(&slots, 21, NEED_2H, &cal, |_| 0.0)
            .iter()
            .map(|s| s.start.to_string())
            .collect();
        assert_eq!(
            offered,
            [
                "2026-12-03T14:00:00Z",
                "2026-12-03T20:00:00Z",
                "2026-12-05T16:00:00Z"
            ]
        );
    }

    #[test]
    fn other_business_units_slots_are_not_offered() {
        let cal = chicago_calendar();
        let s = slot("2026-12-03T14:00:00Z", "2026-12-03T16:00:00Z", 4.0);
        assert_eq!(
            offerable(std::slice::from_ref(&s), 21, NEED_2H, &cal, |_| 0.0).len(),
            1
        );
        assert!(offerable(&[s], 99, NEED_2H, &cal, |_| 0.0).is_empty());
    }

    #[test]
    fn timespans_read_as_servicetitan_writes_them() {
        assert_eq!(
            parse_timespan("08:00:00"),
            Some(SignedDuration::from_hours(8))
        );
        assert_eq!(
            parse_timespan("02:30:00"),
            Some(SignedDuration::from_mins(150))
        );
        assert_eq!(
            parse_timespan("1.00:00:00"),
            Some(SignedDuration::from_hours(24))
        );
        assert_eq!(parse_timespan("25:00:00"), None);
        assert_eq!(parse_timespan("nonsense"), None);
    }

    proptest! {
        /// Whatever ServiceTitan and the holds say, an offered window always has room for
        /// the job after the holds, is available, and respects the ideal percentage.
        #[test]
        fn an_offered_window_always_has_room(
            open in -4.0f64..12.0, held in 0.0f64..8.0, hours in 0.25f64..8.0,
            available: bool, exceeds: bool, respect: bool,
        ) {
            let s = Slot { is_available: available, exceeds_ideal: exceeds,
                ..slot("2026-12-03T14:00:00Z", "2026-12-03T16:00:00Z", open) };
            let need = Need { hours, respect_ideal: respect };
            if fits(&s, need, held) {
                prop_assert!(available);
                prop_assert!(open - held >= hours - 1e-3);
                prop_assert!(!(respect && exceeds));
            }
        }

        #[test]
        fn timespans_never_panic(s in ".{0,20}") {
            let _ = parse_timespan(&s);
        }
    }
}
