//! Figures: counts and booking rates per tenant-local day, their breakdowns, the
//! discrepancies between the two views, and the batch computation that defines them.
//!
//! [`batch_snapshots`] and [`batch_discrepancies`] are the definition: a plain pass over
//! final facts. The [`Engine`](crate::Engine) computes the same values incrementally (only
//! the affected days) and is tested against them.

use crate::facts::{CallFacts, CallKey};
use crate::zone::TenantZone;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use switchboard_config::CallClass;

/// Breakdown label of a call whose agent view has no value for the dimension.
pub const NONE_LABEL: &str = "(none)";

/// ServiceTitan's booking rate: `booked / (booked + unbooked)`. Excused, not-a-lead and
/// abandoned calls are outside it. `None` when there is no booked or unbooked call.
pub fn booking_rate(booked: u64, unbooked: u64) -> Option<f64> {
    let leads = booked + unbooked;
    // Counts stay far below 2^53, so the conversions are exact.
    (leads > 0).then(|| booked as f64 / leads as f64)
}

/// Counts of one view over a set of calls, and its booking rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Calls classified booked.
    pub booked: u64,
    /// Calls classified unbooked.
    pub unbooked: u64,
    /// Calls classified excused (outside the rate).
    pub excused: u64,
    /// Calls classified not a lead (outside the rate).
    pub not_lead: u64,
    /// Abandoned calls (beside the rate, not in it).
    pub abandoned: u64,
    /// Calls this view has not classified (always 0 for the agent view).
    pub unclassified: u64,
    /// All calls in the set.
    pub calls: u64,
    /// [`booking_rate`] of `booked` and `unbooked`.
    pub booking_rate: Option<f64>,
}

impl Figures {
    /// Tallies the classes of a set of calls (`None` = unclassified).
    pub fn tally<I: IntoIterator<Item = Option<CallClass>>>(classes: I) -> Figures {
        let mut f = Figures::default();
        for class in classes {
            f.calls += 1;
            match class {
                Some(CallClass::Booked) => f.booked += 1,
                Some(CallClass::Unbooked) => f.unbooked += 1,
                Some(CallClass::Excused) => f.excused += 1,
                Some(CallClass::NotLead) => f.not_lead += 1,
                Some(CallClass::Abandoned) => f.abandoned += 1,
                None => f.unclassified += 1,
            }
        }
        f.booking_rate = booking_rate(f.booked, f.unbooked);
        f
    }
}

/// Both views over the same set of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The agent's classes.
    pub agent: Figures,
    /// ServiceTitan's classes of the same calls.
    pub servicetitan: Figures,
}

/// The figures of one tenant-local day.
///
/// Only calls with an agent view count, in both views, so that the two are over the same
/// calls and comparable; a ServiceTitan-only call is kept in the facts but excluded here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tenant id.
    pub tenant: String,
    /// Local calendar day (`YYYY-MM-DD`).
    pub date: Date,
    /// The tenant's IANA time zone.
    pub timezone: String,
    /// Agent view of the day's calls.
    pub agent: Figures,
    /// ServiceTitan view of the same calls.
    pub servicetitan: Figures,
    /// Per agent (from the agent view; [`NONE_LABEL`] if missing).
    pub by_agent: BTreeMap<String, Breakdown>,
    /// Per business unit (from the agent view; [`NONE_LABEL`] if missing).
    pub by_business_unit: BTreeMap<String, Breakdown>,
    /// Per campaign (from the agent view; [`NONE_LABEL`] if missing).
    pub by_campaign: BTreeMap<String, Breakdown>,
    /// Number of the day's calls whose classes differ (see [`Discrepancy`]).
    pub discrepancies: u64,
}

impl Snapshot {
    /// The snapshot of a day without calls.
    pub fn empty(tenant: &str, date: Date, timezone: &str) -> Snapshot {
        Snapshot {
            tenant: tenant.to_owned(),
            date,
            timezone: timezone.to_owned(),
            agent: Figures::tally([]),
            servicetitan: Figures::tally([]),
            by_agent: BTreeMap::new(),
            by_business_unit: BTreeMap::new(),
            by_campaign: BTreeMap::new(),
            discrepancies: 0,
        }
    }
}

/// A call whose agent class differs from ServiceTitan's, including calls ServiceTitan has
/// not classified (no ServiceTitan view yet, or a view without a class).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discrepancy {
    /// The call.
    pub call: CallKey,
    /// Its local day.
    pub date: Date,
    /// The agent's class.
    pub agent: CallClass,
    /// ServiceTitan's class; `None` = unclassified.
    pub servicetitan: Option<CallClass>,
    /// Since when the two differ: the later `observed_at` of the two views (the agent
    /// view's alone if ServiceTitan's has not been read).
    pub since: Timestamp,
    /// The job the agent reported booking.
    pub job_id: Option<i64>,
    /// The agent's reason.
    pub reason: Option<String>,
}

/// Sorts discrepancies by (day, since, call): a total order, as call keys are unique.
pub(crate) fn sort_discrepancies(list: &mut [Discrepancy]) {
    list.sort_unstable_by(|a, b| (a.date, a.since, &a.call).cmp(&(b.date, b.since, &b.call)));
}

/// The discrepancy of one call, if its views differ. `None` for calls without an agent view.
/// The discrepancy of one call, if its views disagree (the definition every list uses).
pub fn discrepancy_of(zone: &TenantZone, call: &CallKey, facts: &CallFacts) -> Option<Discrepancy> {
    let agent = facts.agent.as_ref()?;
    let st = facts.servicetitan.as_ref();
    let st_class = st.and_then(|s| s.class);
    if st_class == Some(agent.class) {
        return None;
    }
    let since = match st {
        Some(s) => s.observed_at.max(agent.observed_at),
        None => agent.observed_at,
    };
    Some(Discrepancy {
        call: call.clone(),
        date: zone.local_date(agent.started_at),
        agent: agent.class,
        servicetitan: st_class,
        since,
        job_id: agent.job_id,
        reason: agent.reason.clone(),
    })
}

/// All discrepancies over final facts, sorted by (day, since, call).
pub fn batch_discrepancies<'a, I>(zone: &TenantZone, facts: I) -> Vec<Discrepancy>
where
    I: IntoIterator<Item = (&'a CallKey, &'a CallFacts)>,
{
    let mut list: Vec<Discrepancy> = facts
        .into_iter()
        .filter_map(|(call, f)| discrepancy_of(zone, call, f))
        .collect();
    sort_discrepancies(&mut list);
    list
}

/// Class lists of a set of calls, in both views.
#[derive(Default)]
struct Classes {
    agent: Vec<Option<CallClass>>,
    servicetitan: Vec<Option<CallClass>>,
}

impl Classes {
    fn push(&mut self, agent: CallClass, st: Option<CallClass>) {
        self.agent.push(Some(agent));
        self.servicetitan.push(st);
    }

    fn breakdown(self) -> Breakdown {
        Breakdown {
            agent: Figures::tally(self.agent),
            servicetitan: Figures::tally(self.servicetitan),
        }
    }
}

#[derive(Default)]
struct DayClasses {
    all: Classes,
    by_agent: BTreeMap<String, Classes>,
    by_business_unit: BTreeMap<String, Classes>,
    by_campaign: BTreeMap<String, Classes>,
    discrepancies: u64,
}

fn label(value: Option<&String>) -> String {
    value.map_or_else(|| NONE_LABEL.to_owned(), Clone::clone)
}

fn into_breakdowns(groups: BTreeMap<String, Classes>) -> BTreeMap<String, Breakdown> {
    groups
        .into_iter()
        .map(|(k, c)| (k, c.breakdown()))
        .collect()
}

/// The snapshots of every day with at least one counted call, computed in one plain pass
/// over final facts: group each call with an agent view under the local day of the agent's
/// `started_at`, then tally. This is the definition the incremental engine is held to.
pub fn batch_snapshots<'a, I>(zone: &TenantZone, tenant: &str, facts: I) -> BTreeMap<Date, Snapshot>
where
    I: IntoIterator<Item = (&'a CallKey, &'a CallFacts)>,
{
    let mut days: BTreeMap<Date, DayClasses> = BTreeMap::new();
    for (call, f) in facts {
        let Some(agent) = &f.agent else {
            continue; // ServiceTitan-only: not a call the agent handled.
        };
        let st = f.servicetitan.as_ref().and_then(|s| s.class);
        let day = days.entry(zone.local_date(agent.started_at)).or_default();
        day.all.push(agent.class, st);
        for (groups, value) in [
            (&mut day.by_agent, agent.agent.as_ref()),
            (&mut day.by_business_unit, agent.business_unit.as_ref()),
            (&mut day.by_campaign, agent.campaign.as_ref()),
        ] {
            groups
                .entry(label(value))
                .or_default()
                .push(agent.class, st);
        }
        if discrepancy_of(zone, call, f).is_some() {
            day.discrepancies += 1;
        }
    }
    days.into_iter()
        .map(|(date, d)| {
            let all = d.all.breakdown();
            let snapshot = Snapshot {
                tenant: tenant.to_owned(),
                date,
                timezone: zone.name().to_owned(),
                agent: all.agent,
                servicetitan: all.servicetitan,
                by_agent: into_breakdowns(d.by_agent),
                by_business_unit: into_breakdowns(d.by_business_unit),
                by_campaign: into_breakdowns(d.by_campaign),
                discrepancies: d.discrepancies,
            };
            (date, snapshot)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{AgentView, Facts, StView, Update};

    #[test]
    fn rate_excludes_excused_and_not_lead_and_abandoned() {
        use CallClass::*;
        let f = Figures::tally([
            Some(Booked),
            Some(Booked),
            Some(Unbooked),
            Some(Excused),
            Some(NotLead),
            Some(NotLead),
            Some(Abandoned),
            None,
        ]);
        assert_eq!(
            (
                f.booked,
                f.unbooked,
                f.excused,
                f.not_lead,
                f.abandoned,
                f.unclassified,
                f.calls
            ),
            (2, 1, 1, 2, 1, 1, 8)
        );
        assert_eq!(f.booking_rate, Some(2.0 / 3.0));
    }

    #[test]
    fn rate_is_none_without_leads() {
        use CallClass::*;
        assert_eq!(booking_rate(0, 0), None);
        assert_eq!(booking_rate(0, 3), Some(0.0));
        assert_eq!(booking_rate(4, 0), Some(1.0));
        let f = Figures::tally([Some(Excused), Some(NotLead), Some(Abandoned), None]);
        assert_eq!(f.booking_rate, None);
        assert_eq!(f.calls, 4);
        assert_eq!(Figures::tally([]).booking_rate, None);
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn snapshot_json_shape() {
        let zone = TenantZone::new("America/Chicago").expect("zone");
        let mut facts = Facts::new();
        facts.apply(Update::Agent {
            call: "c1".into(),
            view: AgentView {
                class: CallClass::Booked,
                reason: None,
                job_id: Some(7),
                agent: Some("ava".into()),
                business_unit: None,
                campaign: Some("spring".into()),
                started_at: ts("2026-06-16T04:30:00Z"),
                observed_at: ts("2026-06-16T04:40:00Z"),
            },
        });
        facts.apply(Update::ServiceTitan {
            call: "c1".into(),
            view: StView {
                class: Some(CallClass::Booked),
                started_at: ts("2026-06-16T04:30:00Z"),
                observed_at: ts("2026-06-16T05:00:00Z"),
            },
        });
        let snaps = batch_snapshots(&zone, "t1", &facts);
        let snap = snaps.values().next().expect("one day");
        let json = serde_json::to_value(snap).expect("serialise");
        assert_eq!(json["date"], "2026-06-15");
        assert_eq!(json["timezone"], "America/Chicago");
        assert_eq!(json["agent"]["booking_rate"], 1.0);
        assert_eq!(
            json["by_business_unit"]["(none)"]["servicetitan"]["booked"],
            1
        );
        let keys: Vec<&str> = json
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec![
            "tenant",
            "date",
            "timezone",
            "agent",
            "servicetitan",
            "by_agent",
            "by_business_unit",
            "by_campaign",
            "discrepancies",
        ];
        // serde_json's map is ordered by key unless `preserve_order`; check the text instead.
        let text = serde_json::to_string(snap).expect("serialise");
        let positions: Vec<usize> = expected
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).expect("field present"))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "field order: {text}"
        );
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        let back: Snapshot = serde_json::from_str(&text).expect("deserialise");
        assert_eq!(&back, snap);
    }
}
