//! Facts: what each side said about a call, merged so that order, duplication and lateness
//! of the updates do not matter.
//!
//! Each call has two independent views, the agent's and ServiceTitan's. Each view is a
//! last-writer-wins register: the version with the greatest `observed_at` wins, and on equal
//! `observed_at` the greater version under a total order over the whole content wins (see
//! [`AgentView::supersedes`]). Merging is therefore taking a maximum, which is commutative,
//! associative and idempotent: any permutation of the same updates, with any duplicates,
//! yields the same facts.
//!
//! A view's class is [`CallClass`], Switchboard's one classification vocabulary (the
//! agent's outcome, the calls policy's key, ServiceTitan's call type).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use switchboard_config::CallClass;

/// Opaque identifier of a call. The service decides how agent and ServiceTitan ids are
/// joined into one key; this crate only keys by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallKey(String);

impl CallKey {
    /// Wraps an identifier.
    pub fn new(id: impl Into<String>) -> Self {
        CallKey(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CallKey {
    fn from(id: &str) -> Self {
        CallKey(id.to_owned())
    }
}

impl From<String> for CallKey {
    fn from(id: String) -> Self {
        CallKey(id)
    }
}

impl AsRef<str> for CallKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the AI agent reported about a call.
///
/// The derived `Ord` (field order) is only the tie-break of [`AgentView::supersedes`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AgentView {
    /// The agent's classification.
    pub class: CallClass,
    /// Why, in the agent's words or as a reason code.
    pub reason: Option<String>,
    /// The ServiceTitan job the agent booked, if any.
    pub job_id: Option<i64>,
    /// Which agent handled the call.
    pub agent: Option<String>,
    /// ServiceTitan business unit.
    pub business_unit: Option<String>,
    /// Marketing campaign.
    pub campaign: Option<String>,
    /// When the call started.
    pub started_at: Timestamp,
    /// When this report was made (the event's time): the last-writer-wins clock.
    pub observed_at: Timestamp,
}

impl AgentView {
    /// The agent's `class` for a call started at `started_at`, reported at `observed_at`,
    /// with no reason, job or breakdown.
    pub fn new(class: CallClass, started_at: Timestamp, observed_at: Timestamp) -> Self {
        Self {
            class,
            reason: None,
            job_id: None,
            agent: None,
            business_unit: None,
            campaign: None,
            started_at,
            observed_at,
        }
    }

    /// Whether this version replaces `other`: a later `observed_at` wins; on equal
    /// `observed_at` the greater content wins (a total order, so the choice does not depend
    /// on arrival order). Equal views do not supersede each other.
    pub fn supersedes(&self, other: &AgentView) -> bool {
        (self.observed_at, self) > (other.observed_at, other)
    }
}

/// What ServiceTitan says about a call.
///
/// The derived `Ord` (field order) is only the tie-break of [`StView::supersedes`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StView {
    /// ServiceTitan's classification; `None` when it has not classified the call.
    pub class: Option<CallClass>,
    /// ServiceTitan `createdOn`.
    pub started_at: Timestamp,
    /// ServiceTitan `modifiedOn`: the last-writer-wins clock.
    pub observed_at: Timestamp,
}

impl StView {
    /// Same rule as [`AgentView::supersedes`].
    pub fn supersedes(&self, other: &StView) -> bool {
        (self.observed_at, self) > (other.observed_at, other)
    }
}

/// One fact update, from either side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Update {
    /// The agent reported (or re-reported) a call.
    Agent {
        /// The call.
        call: CallKey,
        /// The report.
        view: AgentView,
    },
    /// ServiceTitan's record of a call was read.
    #[serde(rename = "servicetitan")]
    ServiceTitan {
        /// The call.
        call: CallKey,
        /// The record.
        view: StView,
    },
}

impl Update {
    /// The call the update is about.
    pub fn call(&self) -> &CallKey {
        match self {
            Update::Agent { call, .. } | Update::ServiceTitan { call, .. } => call,
        }
    }
}

/// Everything known about one call: the winning version of each view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFacts {
    /// The agent's view, if it has reported the call.
    pub agent: Option<AgentView>,
    /// ServiceTitan's view, if it has been read.
    pub servicetitan: Option<StView>,
}

impl CallFacts {
    /// Merges an agent view; `true` if it replaced the current one.
    pub fn merge_agent(&mut self, view: AgentView) -> bool {
        match &self.agent {
            Some(current) if !view.supersedes(current) => false,
            _ => {
                self.agent = Some(view);
                true
            }
        }
    }

    /// Merges a ServiceTitan view; `true` if it replaced the current one.
    pub fn merge_servicetitan(&mut self, view: StView) -> bool {
        match &self.servicetitan {
            Some(current) if !view.supersedes(current) => false,
            _ => {
                self.servicetitan = Some(view);
                true
            }
        }
    }
}

/// A plain, ordered fact store: the reference merge, used by the batch computation and the
/// tests. The [`Engine`](crate::Engine) keeps the same facts in compact form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    calls: BTreeMap<CallKey, CallFacts>,
}

impl Facts {
    /// No facts.
    pub fn new() -> Self {
        Facts::default()
    }

    /// Merges an update; `true` if the facts changed.
    pub fn apply(&mut self, update: Update) -> bool {
        match update {
            Update::Agent { call, view } => self.calls.entry(call).or_default().merge_agent(view),
            Update::ServiceTitan { call, view } => {
                self.calls.entry(call).or_default().merge_servicetitan(view)
            }
        }
    }

    /// The facts of one call.
    pub fn get(&self, call: &CallKey) -> Option<&CallFacts> {
        self.calls.get(call)
    }

    /// All calls, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&CallKey, &CallFacts)> {
        self.calls.iter()
    }

    /// Number of calls (with at least one view).
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether there are no calls.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

impl FromIterator<Update> for Facts {
    fn from_iter<I: IntoIterator<Item = Update>>(updates: I) -> Self {
        let mut facts = Facts::new();
        for update in updates {
            facts.apply(update);
        }
        facts
    }
}

impl<'a> IntoIterator for &'a Facts {
    type Item = (&'a CallKey, &'a CallFacts);
    type IntoIter = std::collections::btree_map::Iter<'a, CallKey, CallFacts>;

    fn into_iter(self) -> Self::IntoIter {
        self.calls.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("valid")
    }

    fn agent(class: CallClass, observed: i64) -> AgentView {
        AgentView {
            class,
            reason: None,
            job_id: None,
            agent: Some("a".into()),
            business_unit: None,
            campaign: None,
            started_at: ts(0),
            observed_at: ts(observed),
        }
    }

    #[test]
    fn later_wins_older_is_ignored() {
        let mut f = CallFacts::default();
        assert!(f.merge_agent(agent(CallClass::Unbooked, 10)));
        assert!(f.merge_agent(agent(CallClass::Booked, 20)));
        assert!(
            !f.merge_agent(agent(CallClass::Excused, 15)),
            "late, older correction"
        );
        assert!(!f.merge_agent(agent(CallClass::Booked, 20)), "duplicate");
        assert_eq!(f.agent.map(|a| a.class), Some(CallClass::Booked));
    }

    #[test]
    fn equal_timestamps_break_ties_by_content_in_either_order() {
        let a = agent(CallClass::Booked, 10);
        let b = agent(CallClass::Abandoned, 10);
        let mut x = CallFacts::default();
        x.merge_agent(a.clone());
        x.merge_agent(b.clone());
        let mut y = CallFacts::default();
        y.merge_agent(b);
        y.merge_agent(a);
        assert_eq!(x, y);
        assert_eq!(x.agent.map(|a| a.class), Some(CallClass::Abandoned));
    }

    #[test]
    fn st_unclassified_then_classified() {
        let mut f = CallFacts::default();
        let v = |class, s| StView {
            class,
            started_at: ts(0),
            observed_at: ts(s),
        };
        assert!(f.merge_servicetitan(v(Some(CallClass::Booked), 5)));
        assert!(!f.merge_servicetitan(v(None, 4)));
        assert!(f.merge_servicetitan(v(None, 6)));
        assert_eq!(f.servicetitan.map(|s| s.class), Some(None));
    }

    #[test]
    fn serde_names() {
        let json = serde_json::to_string(&CallClass::NotLead).expect("serialise");
        assert_eq!(json, "\"not_lead\"");
        let u = Update::ServiceTitan {
            call: "c1".into(),
            view: StView {
                class: None,
                started_at: ts(0),
                observed_at: ts(1),
            },
        };
        let json = serde_json::to_value(&u).expect("serialise");
        assert_eq!(json["source"], "servicetitan");
        assert_eq!(json["call"], "c1");
        let back: Update = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, u);
    }
}
