//! Which ServiceTitan call is the agent's call? When the agent knows the ServiceTitan call
//! id, that is the answer. Otherwise: the call from the same caller to the same number whose
//! start is within a window of the agent's — exactly one, or it is ambiguous (never guess:
//! a wrong match reclassifies somebody else's call), or none yet (ServiceTitan can take
//! minutes to record a call, so the worker retries until a horizon).

use switchboard_events::e164;
use switchboard_events::normalise::parse_rfc3339;
use switchboard_servicetitan::models::CallListItem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    One(i64),
    /// Several calls fit: their ids, closest first.
    Ambiguous(Vec<i64>),
    None,
}

/// Picks the call in `candidates` (e.g. a v3 calls page filtered by caller number and a
/// time range) that matches `from` → `to` starting within `window_secs` of `started_at`.
pub fn find(
    candidates: &[CallListItem],
    from: &str,
    to: &str,
    started_at: &str,
    window_secs: i64,
) -> Match {
    let Some((start, _)) = parse_rfc3339(started_at) else {
        return Match::None;
    };
    let (from, to) = (e164::normalise(from), e164::normalise(to));
    let mut fits: Vec<(i64, i64)> = candidates
        .iter()
        .filter(|c| {
            e164::normalise(&c.lead_call.from) == from && e164::normalise(&c.lead_call.to) == to
        })
        .filter_map(|c| {
            let (received, _) = parse_rfc3339(&c.lead_call.received_on)?;
            let distance = received.duration_since(start).as_secs().abs();
            (distance <= window_secs).then_some((distance, c.lead_call.id))
        })
        .collect();
    fits.sort_unstable();
    fits.dedup_by_key(|(_, id)| *id);
    match fits.as_slice() {
        [] => Match::None,
        [(_, id)] => Match::One(*id),
        many => Match::Ambiguous(many.iter().map(|(_, id)| *id).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: i64, from: &str, to: &str, received_on: &str) -> CallListItem {
        serde_json::from_value(serde_json::json!({
            "id": 0, "leadCall": {"id": id, "createdOn": received_on, "active": true, "receivedOn": received_on,
            "duration": "00:05:00", "from": from, "to": to, "direction": "Inbound", "modifiedOn": received_on}
        }))
        .unwrap()
    }

    /// [`find`] with the ten-minute window the tests use.
    fn find_in_ten_minutes(calls: &[CallListItem], from: &str, to: &str, at: &str) -> Match {
        find(calls, from, to, at, 600)
    }

    #[test]
    fn one_call_in_the_window_is_the_match() {
        let calls = [
            call(1, "+15125550101", "+15125550000", "2026-11-23T15:04:30Z"),
            call(2, "+15125550101", "+15125550000", "2026-11-23T18:00:00Z"),
            call(3, "+15125550199", "+15125550000", "2026-11-23T15:04:05Z"),
        ];
        let at = "2026-11-23T09:04:05-06:00";
        assert_eq!(
            find_in_ten_minutes(&calls, "(512) 555-0101", "5125550000", at),
            Match::One(1)
        );
    }

    #[test]
    fn two_plausible_calls_are_ambiguous_and_none_is_none() {
        let calls = [
            call(1, "+15125550101", "+15125550000", "2026-11-23T15:04:30Z"),
            call(2, "+15125550101", "+15125550000", "2026-11-23T15:06:00Z"),
        ];
        let from_ann = |at: &str| find_in_ten_minutes(&calls, "+15125550101", "+15125550000", at);
        assert_eq!(
            from_ann("2026-11-23T15:04:05Z"),
            Match::Ambiguous(vec![1, 2])
        );
        assert_eq!(from_ann("2026-11-24T15:04:05Z"), Match::None);
        assert_eq!(from_ann("not a time"), Match::None);
    }

    proptest::proptest! {
        #[test]
        fn a_match_is_always_within_the_window_and_from_the_right_numbers(offsets in proptest::collection::vec(-3600i64..3600, 0..8), window in 0i64..1200) {
            let base: jiff::Timestamp = "2026-11-23T15:00:00Z".parse().unwrap();
            let calls: Vec<CallListItem> = offsets.iter().enumerate().map(|(i, o)| {
                let t = (base + jiff::SignedDuration::from_secs(*o)).to_string();
                call(i as i64 + 1, if i.is_multiple_of(2) { "+15125550101" } else { "+15125550102" }, "+15125550000", &t)
            }).collect();
            if let Match::One(id) = find(&calls, "+15125550101", "+15125550000", "2026-11-23T15:00:00Z", window) {
                let i = (id - 1) as usize;
                proptest::prop_assert!(i.is_multiple_of(2) && offsets[i].abs() <= window);
            }
        }
    }
}
