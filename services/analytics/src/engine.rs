//! The per-tenant engine: facts in compact form, an index day → calls, and per-day figures
//! recomputed from the facts of that day on demand.

use crate::facts::{AgentView, CallFacts, CallKey, StView, Update};
use crate::rates::{
    Breakdown, Discrepancy, Figures, NONE_LABEL, Snapshot, booking_rate, sort_discrepancies,
};
use crate::store::{Interner, KeyIndex, class_code, class_of_code};
use crate::zone::TenantZone;
use jiff::Timestamp;
use jiff::civil::Date;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// Timestamp slots of a [`Call`].
const AGENT_STARTED: usize = 0;
const AGENT_OBSERVED: usize = 1;
const ST_STARTED: usize = 2;
const ST_OBSERVED: usize = 3;

/// Class code of a view that has not been seen.
const NO_VIEW: u8 = u8::MAX;
/// Class code (and tally slot) of "ServiceTitan has not classified it".
const UNCLASSIFIED: u8 = 5;
/// `Call::flags`: `job_id` holds a value.
const HAS_JOB: u8 = 1;

/// One call's facts, compact (80 bytes): timestamps split into seconds and nanoseconds,
/// strings interned, classes as codes.
#[derive(Clone)]
struct Call {
    secs: [i64; 4],
    job_id: i64,
    nanos: [i32; 4],
    reason: u32,
    agent: u32,
    business_unit: u32,
    campaign: u32,
    /// Local day of the agent view's start; meaningful only with an agent view.
    day: Date,
    /// [`class_code`] or [`NO_VIEW`].
    agent_class: u8,
    /// [`class_code`], [`UNCLASSIFIED`] or [`NO_VIEW`].
    st_class: u8,
    flags: u8,
}

impl Call {
    const EMPTY: Call = Call {
        secs: [0; 4],
        job_id: 0,
        nanos: [0; 4],
        reason: 0,
        agent: 0,
        business_unit: 0,
        campaign: 0,
        day: Date::ZERO,
        agent_class: NO_VIEW,
        st_class: NO_VIEW,
        flags: 0,
    };

    fn ts(&self, slot: usize) -> Timestamp {
        Timestamp::new(self.secs[slot], self.nanos[slot])
            .expect("parts of a valid timestamp make a valid timestamp")
    }

    fn set_ts(&mut self, slot: usize, at: Timestamp) {
        self.secs[slot] = at.as_second();
        self.nanos[slot] = at.subsec_nanosecond();
    }

    fn has_agent(&self) -> bool {
        self.agent_class != NO_VIEW
    }

    fn has_st(&self) -> bool {
        self.st_class != NO_VIEW
    }

    /// ServiceTitan tally slot: its class, or unclassified (also when not read yet).
    fn st_code(&self) -> u8 {
        if self.has_st() {
            self.st_class
        } else {
            UNCLASSIFIED
        }
    }
}

/// Counts per class code, the last slot being unclassified.
#[derive(Debug, Clone, Copy, Default)]
struct Tally([u64; 6]);

impl Tally {
    fn add(&mut self, other: &Tally) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    fn figures(&self) -> Figures {
        let [booked, unbooked, excused, not_lead, abandoned, unclassified] = self.0;
        Figures {
            booked,
            unbooked,
            excused,
            not_lead,
            abandoned,
            unclassified,
            calls: self.0.iter().sum(),
            booking_rate: booking_rate(booked, unbooked),
        }
    }
}

/// Both views' tallies.
type Pair = [Tally; 2];

fn breakdowns(names: &Interner, tallies: &[Pair]) -> BTreeMap<String, Breakdown> {
    let mut merged: BTreeMap<&str, Pair> = BTreeMap::new();
    for (id, pair) in tallies.iter().enumerate() {
        if pair[0].0.iter().all(|&n| n == 0) {
            continue;
        }
        let id = u32::try_from(id).expect("interner ids are u32");
        // A value literally spelled "(none)" shares the label of a missing one.
        let label = names.get(id).unwrap_or(NONE_LABEL);
        let entry = merged.entry(label).or_default();
        entry[0].add(&pair[0]);
        entry[1].add(&pair[1]);
    }
    merged
        .into_iter()
        .map(|(label, [agent, st])| {
            let breakdown = Breakdown {
                agent: agent.figures(),
                servicetitan: st.figures(),
            };
            (label.to_owned(), breakdown)
        })
        .collect()
}

/// One tenant's facts and figures.
///
/// [`apply`](Engine::apply) merges an update and says which local days it may have changed;
/// [`snapshot`](Engine::snapshot) recomputes a day from the facts of that day alone. No
/// figure is ever incremented, so redelivered, reordered or late updates cannot skew one.
pub struct Engine {
    tenant: String,
    zone: TenantZone,
    keys: KeyIndex,
    /// Indexed by key id.
    calls: Vec<Call>,
    agents: Interner,
    business_units: Interner,
    campaigns: Interner,
    reasons: Interner,
    /// Calls with an agent view, by local day of its start. Order within a day is arbitrary.
    days: BTreeMap<Date, Vec<u32>>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("tenant", &self.tenant)
            .field("zone", &self.zone.name())
            .field("calls", &self.calls.len())
            .field("days", &self.days.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine without facts for `tenant`, whose days are local to `zone`.
    pub fn new(tenant: impl Into<String>, zone: TenantZone) -> Engine {
        Engine {
            tenant: tenant.into(),
            zone,
            keys: KeyIndex::new(),
            calls: Vec::new(),
            agents: Interner::new(),
            business_units: Interner::new(),
            campaigns: Interner::new(),
            reasons: Interner::new(),
            days: BTreeMap::new(),
        }
    }

    /// The tenant id.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The tenant's time zone.
    pub fn zone(&self) -> &TenantZone {
        &self.zone
    }

    /// Calls known, including ServiceTitan-only ones.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call is known.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Merges one update. Returns the local days whose figures may have changed, ascending:
    /// the call's day, or its old and new day if the agent's start moved it; empty if the
    /// update changed nothing (a duplicate or an older version) or concerns a call that
    /// does not count (ServiceTitan-only).
    ///
    /// # Panics
    /// Past 2^32 calls or distinct strings per tenant.
    pub fn apply(&mut self, update: Update) -> Vec<Date> {
        match update {
            Update::Agent { call, view } => self.apply_agent(call.as_str(), &view),
            Update::ServiceTitan { call, view } => self.apply_servicetitan(call.as_str(), &view),
        }
    }

    fn call_id(&mut self, key: &str) -> usize {
        let (id, added) = self.keys.get_or_insert(key);
        if added {
            self.calls.push(Call::EMPTY);
        }
        id as usize
    }

    fn apply_agent(&mut self, key: &str, view: &AgentView) -> Vec<Date> {
        let id = self.call_id(key);
        let current = &self.calls[id];
        let old_day = current.has_agent().then_some(current.day);
        if current.has_agent() {
            let wins = match view.observed_at.cmp(&current.ts(AGENT_OBSERVED)) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => view.supersedes(&self.agent_view(current)),
            };
            if !wins {
                return Vec::new();
            }
        }
        let day = self.zone.local_date(view.started_at);
        let call = &mut self.calls[id];
        call.set_ts(AGENT_STARTED, view.started_at);
        call.set_ts(AGENT_OBSERVED, view.observed_at);
        call.agent_class = class_code(view.class);
        call.job_id = view.job_id.unwrap_or(0);
        call.flags = if view.job_id.is_some() {
            call.flags | HAS_JOB
        } else {
            call.flags & !HAS_JOB
        };
        call.reason = self.reasons.intern(view.reason.as_deref());
        call.agent = self.agents.intern(view.agent.as_deref());
        call.business_unit = self.business_units.intern(view.business_unit.as_deref());
        call.campaign = self.campaigns.intern(view.campaign.as_deref());
        call.day = day;
        let id = u32::try_from(id).expect("call ids are u32");
        match old_day {
            Some(old) if old == day => vec![day],
            Some(old) => {
                self.unindex(old, id);
                self.days.entry(day).or_default().push(id);
                vec![old.min(day), old.max(day)]
            }
            None => {
                self.days.entry(day).or_default().push(id);
                vec![day]
            }
        }
    }

    fn unindex(&mut self, day: Date, id: u32) {
        let Some(ids) = self.days.get_mut(&day) else {
            return;
        };
        if let Some(pos) = ids.iter().position(|&i| i == id) {
            ids.swap_remove(pos);
        }
        if ids.is_empty() {
            self.days.remove(&day);
        }
    }

    fn apply_servicetitan(&mut self, key: &str, view: &StView) -> Vec<Date> {
        let id = self.call_id(key);
        let current = &self.calls[id];
        if current.has_st() {
            let wins = match view.observed_at.cmp(&current.ts(ST_OBSERVED)) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => view.supersedes(&Self::st_view(current)),
            };
            if !wins {
                return Vec::new();
            }
        }
        let call = &mut self.calls[id];
        call.set_ts(ST_STARTED, view.started_at);
        call.set_ts(ST_OBSERVED, view.observed_at);
        call.st_class = view.class.map_or(UNCLASSIFIED, class_code);
        if call.has_agent() {
            vec![call.day]
        } else {
            Vec::new()
        }
    }

    fn agent_view(&self, call: &Call) -> AgentView {
        let text = |names: &Interner, id| names.get(id).map(str::to_owned);
        AgentView {
            class: class_of_code(call.agent_class).expect("an agent view has a class"),
            reason: text(&self.reasons, call.reason),
            job_id: (call.flags & HAS_JOB != 0).then_some(call.job_id),
            agent: text(&self.agents, call.agent),
            business_unit: text(&self.business_units, call.business_unit),
            campaign: text(&self.campaigns, call.campaign),
            started_at: call.ts(AGENT_STARTED),
            observed_at: call.ts(AGENT_OBSERVED),
        }
    }

    fn st_view(call: &Call) -> StView {
        StView {
            class: class_of_code(call.st_class),
            started_at: call.ts(ST_STARTED),
            observed_at: call.ts(ST_OBSERVED),
        }
    }

    fn call_facts(&self, call: &Call) -> CallFacts {
        CallFacts {
            agent: call.has_agent().then(|| self.agent_view(call)),
            servicetitan: call.has_st().then(|| Self::st_view(call)),
        }
    }

    /// The facts of one call.
    pub fn get(&self, call: &CallKey) -> Option<CallFacts> {
        let id = self.keys.get(call.as_str())?;
        Some(self.call_facts(&self.calls[id as usize]))
    }

    /// Every call's facts, materialised (for export and for checking against the batch
    /// computation), in order of first sight.
    pub fn facts(&self) -> impl Iterator<Item = (CallKey, CallFacts)> + '_ {
        self.calls.iter().enumerate().map(|(id, call)| {
            let id = u32::try_from(id).expect("call ids are u32");
            (CallKey::new(self.keys.key(id)), self.call_facts(call))
        })
    }

    /// Local days with at least one counted call, ascending.
    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        self.days.keys().copied()
    }

    /// The figures of one local day, from the facts of that day (an empty snapshot for a
    /// day without calls).
    pub fn snapshot(&self, day: Date) -> Snapshot {
        let Some(ids) = self.days.get(&day) else {
            return Snapshot::empty(&self.tenant, day, self.zone.name());
        };
        let mut all: Pair = Default::default();
        let mut by_agent: Vec<Pair> = vec![Pair::default(); self.agents.len()];
        let mut by_bu: Vec<Pair> = vec![Pair::default(); self.business_units.len()];
        let mut by_campaign: Vec<Pair> = vec![Pair::default(); self.campaigns.len()];
        let mut discrepancies = 0;
        for &id in ids {
            let call = &self.calls[id as usize];
            let (a, s) = (usize::from(call.agent_class), usize::from(call.st_code()));
            for pair in [
                &mut all,
                &mut by_agent[call.agent as usize],
                &mut by_bu[call.business_unit as usize],
                &mut by_campaign[call.campaign as usize],
            ] {
                pair[0].0[a] += 1;
                pair[1].0[s] += 1;
            }
            discrepancies += u64::from(a != s);
        }
        Snapshot {
            tenant: self.tenant.clone(),
            date: day,
            timezone: self.zone.name().to_owned(),
            agent: all[0].figures(),
            servicetitan: all[1].figures(),
            by_agent: breakdowns(&self.agents, &by_agent),
            by_business_unit: breakdowns(&self.business_units, &by_bu),
            by_campaign: breakdowns(&self.campaigns, &by_campaign),
            discrepancies,
        }
    }

    /// Snapshots of every day with calls.
    pub fn snapshots(&self) -> BTreeMap<Date, Snapshot> {
        self.days().map(|day| (day, self.snapshot(day))).collect()
    }

    fn day_discrepancies(&self, day: Date, ids: &[u32], out: &mut Vec<Discrepancy>) {
        for &id in ids {
            let call = &self.calls[id as usize];
            if call.agent_class == call.st_code() {
                continue;
            }
            let observed = call.ts(AGENT_OBSERVED);
            out.push(Discrepancy {
                call: CallKey::new(self.keys.key(id)),
                date: day,
                agent: class_of_code(call.agent_class).expect("indexed calls have an agent view"),
                servicetitan: class_of_code(call.st_class),
                since: if call.has_st() {
                    observed.max(call.ts(ST_OBSERVED))
                } else {
                    observed
                },
                job_id: (call.flags & HAS_JOB != 0).then_some(call.job_id),
                reason: self.reasons.get(call.reason).map(str::to_owned),
            });
        }
    }

    /// The day's discrepancies, sorted by (since, call).
    pub fn discrepancies(&self, day: Date) -> Vec<Discrepancy> {
        let mut out = Vec::new();
        if let Some(ids) = self.days.get(&day) {
            self.day_discrepancies(day, ids, &mut out);
        }
        sort_discrepancies(&mut out);
        out
    }

    /// All current discrepancies, sorted by (day, since, call).
    pub fn all_discrepancies(&self) -> Vec<Discrepancy> {
        let mut out = Vec::new();
        for (&day, ids) in &self.days {
            self.day_discrepancies(day, ids, &mut out);
        }
        sort_discrepancies(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_config::CallClass;

    #[test]
    fn compact() {
        assert_eq!(std::mem::size_of::<Call>(), 80);
    }

    #[test]
    fn compact_form_round_trips_exactly() {
        let zone = TenantZone::new("America/Chicago").expect("zone");
        let mut engine = Engine::new("t", zone);
        let view = AgentView {
            class: CallClass::NotLead,
            reason: Some(String::new()),
            job_id: Some(0),
            agent: Some("(none)".into()),
            business_unit: None,
            campaign: Some("c".into()),
            started_at: Timestamp::new(-1, -999_999_999).expect("valid"),
            observed_at: Timestamp::new(1_800_000_000, 123_456_789).expect("valid"),
        };
        let st = StView {
            class: None,
            started_at: Timestamp::MIN,
            observed_at: Timestamp::MAX,
        };
        engine.apply(Update::Agent {
            call: "k".into(),
            view: view.clone(),
        });
        engine.apply(Update::ServiceTitan {
            call: "k".into(),
            view: st.clone(),
        });
        let facts = engine.get(&"k".into()).expect("known");
        assert_eq!(facts.agent, Some(view));
        assert_eq!(facts.servicetitan, Some(st));
        assert_eq!(engine.get(&"other".into()), None);
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Engine>();
    }
}
