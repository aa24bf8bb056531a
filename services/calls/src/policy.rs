//! Outcome policy: validated once at start-up, applied per event.

use std::collections::BTreeMap;
use switchboard_config::{CallClass, CallsPolicy};
use switchboard_events::OutcomeData;
use switchboard_servicetitan::models::{CallReason, CallType, ReasonInput, TagType};
use switchboard_servicetitan::{CallChange, CurrentCall};

/// A policy entry checked against ServiceTitan: the reason's lead flag comes from
/// ServiceTitan itself, so the worker can never send a lead flag that disagrees with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedOutcome {
    pub reason: ReasonInput,
    pub call_type: CallType,
    /// `CallInUpdateModelV2.tag` is one string: the first configured tag-type name.
    pub tag: Option<String>,
    pub excuse_memo: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedPolicy {
    pub outcomes: BTreeMap<CallClass, ResolvedOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "config key `tenants.{tenant}.calls.outcomes.{outcome}.reason`: ServiceTitan has no active call reason named `{name}` (it has: {known})"
    )]
    UnknownReason {
        tenant: String,
        outcome: &'static str,
        name: String,
        known: String,
    },
    #[error(
        "config key `tenants.{tenant}.calls.outcomes.{outcome}.tags`: ServiceTitan has no active tag type named `{name}` (it has: {known})"
    )]
    UnknownTag {
        tenant: String,
        outcome: &'static str,
        name: String,
        known: String,
    },
}

/// Checks `policy` against the tenant's call reasons and tag types (from the API).
pub fn resolve(
    tenant: &str,
    policy: &CallsPolicy,
    reasons: &[CallReason],
    tag_types: &[TagType],
) -> Result<ResolvedPolicy, PolicyError> {
    let known = |names: Vec<&str>| {
        let mut names = names;
        names.sort_unstable();
        names.join(", ")
    };
    let mut outcomes = BTreeMap::new();
    for (outcome, entry) in &policy.outcomes {
        let reason = reasons
            .iter()
            .find(|r| r.active && r.name == entry.reason)
            .ok_or_else(|| PolicyError::UnknownReason {
                tenant: tenant.to_owned(),
                outcome: outcome.as_str(),
                name: entry.reason.clone(),
                known: known(
                    reasons
                        .iter()
                        .filter(|r| r.active)
                        .map(|r| r.name.as_str())
                        .collect(),
                ),
            })?;
        for tag in &entry.tags {
            if !tag_types.iter().any(|t| t.active && &t.name == tag) {
                return Err(PolicyError::UnknownTag {
                    tenant: tenant.to_owned(),
                    outcome: outcome.as_str(),
                    name: tag.clone(),
                    known: known(
                        tag_types
                            .iter()
                            .filter(|t| t.active)
                            .map(|t| t.name.as_str())
                            .collect(),
                    ),
                });
            }
        }
        outcomes.insert(
            *outcome,
            ResolvedOutcome {
                reason: ReasonInput {
                    name: reason.name.clone(),
                    lead: reason.is_lead,
                },
                // By default the outcome's own class (booked → Booked, …).
                call_type: CallType::from(entry.call_type.unwrap_or(*outcome)),
                tag: entry.tags.first().cloned(),
                excuse_memo: entry.excuse_memo.clone(),
            },
        );
    }
    Ok(ResolvedPolicy { outcomes })
}

/// What to change so `current` reflects `outcome` under `policy`; `None` when it already
/// does (or the policy says nothing about this outcome) — then nothing is written.
pub fn desired_change(
    current: &CurrentCall,
    outcome: &OutcomeData,
    policy: &ResolvedPolicy,
) -> Option<CallChange> {
    let rule = policy.outcomes.get(&outcome.outcome)?;
    let mut change = CallChange::default();
    if current.call_type != Some(rule.call_type) {
        change.call_type = Some(Some(rule.call_type));
    }
    if current.reason.as_ref() != Some(&rule.reason) {
        change.reason = Some(rule.reason.clone());
    }
    if let Some(tag) = &rule.tag
        && &current.tag != tag
    {
        change.tag = Some(tag.clone());
    }
    if let Some(memo) = &rule.excuse_memo
        && &current.excuse_memo != memo
    {
        change.excuse_memo = Some(memo.clone());
    }
    // A booked call is linked to the job the agent booked (when the agent knows it).
    if let (CallType::Booked, Some(job)) = (rule.call_type, outcome.servicetitan.job_id)
        && current.job_id != Some(job)
    {
        change.job_id = Some(Some(job));
    }
    (change != CallChange::default()).then_some(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_config::OutcomePolicy;
    use switchboard_servicetitan::models::{AddressInput, PartyInput};

    fn reasons() -> Vec<CallReason> {
        [
            ("Service Call", true),
            ("Wrong Number", false),
            ("Old Reason", true),
        ]
        .iter()
        .enumerate()
        .map(|(i, (n, lead))| CallReason {
            id: i as i64 + 1,
            name: (*n).into(),
            is_lead: *lead,
            active: *n != "Old Reason",
            created_on: String::new(),
            modified_on: String::new(),
        })
        .collect()
    }

    fn tags() -> Vec<TagType> {
        vec![TagType {
            id: 11,
            name: "Booked by AI Agent".into(),
            color: String::new(),
            code: String::new(),
            is_conversion_opportunity: false,
            allow_to_use_on_timesheet_activity: false,
            is_visible_on_dispatch_board: true,
            active: true,
            created_on: String::new(),
            modified_on: String::new(),
        }]
    }

    fn policy() -> CallsPolicy {
        let mut p = CallsPolicy::default();
        p.outcomes.insert(
            CallClass::Booked,
            OutcomePolicy {
                reason: "Service Call".into(),
                call_type: None,
                tags: vec!["Booked by AI Agent".into()],
                excuse_memo: None,
            },
        );
        p.outcomes.insert(
            CallClass::NotLead,
            OutcomePolicy {
                reason: "Wrong Number".into(),
                call_type: None,
                tags: vec![],
                excuse_memo: None,
            },
        );
        p.outcomes.insert(
            CallClass::Excused,
            OutcomePolicy {
                reason: "Service Call".into(),
                call_type: None,
                tags: vec![],
                excuse_memo: Some("Agent: caller hung up quickly".into()),
            },
        );
        p
    }

    fn current() -> CurrentCall {
        let party = PartyInput {
            id: 1,
            name: "Ann".into(),
            address: AddressInput::default(),
            contacts: vec![],
        };
        CurrentCall {
            id: 9003,
            call_type: Some(CallType::Unbooked),
            excuse_memo: String::new(),
            campaign_id: Some(31),
            job_id: None,
            agent_id: Some(41),
            reason: Some(ReasonInput {
                name: "Service Call".into(),
                lead: true,
            }),
            customer: party.clone(),
            location: party,
            tag: String::new(),
        }
    }

    fn outcome(o: CallClass, job: Option<i64>) -> OutcomeData {
        let mut data = OutcomeData::new("agent".into(), "ag_1".into(), o);
        data.servicetitan.job_id = job;
        data
    }

    #[test]
    fn the_policy_is_checked_against_servicetitan_and_names_what_is_unknown() {
        let resolved = resolve("acme", &policy(), &reasons(), &tags()).unwrap();
        assert_eq!(
            resolved.outcomes[&CallClass::NotLead].reason,
            ReasonInput {
                name: "Wrong Number".into(),
                lead: false
            }
        );
        assert_eq!(
            resolved.outcomes[&CallClass::NotLead].call_type,
            CallType::NotLead
        );

        let mut bad = policy();
        bad.outcomes.get_mut(&CallClass::Booked).unwrap().reason = "Old Reason".into();
        let msg = resolve("acme", &bad, &reasons(), &tags())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("tenants.acme.calls.outcomes.booked.reason")
                && msg.contains("`Old Reason`"),
            "{msg}"
        );
        let mut bad = policy();
        bad.outcomes.get_mut(&CallClass::Booked).unwrap().tags = vec!["VIP".into()];
        let msg = resolve("acme", &bad, &reasons(), &tags())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("calls.outcomes.booked.tags")
                && msg.contains("`VIP`")
                && msg.contains("Booked by AI Agent"),
            "{msg}"
        );
    }

    #[test]
    fn booked_sets_type_tag_and_job_and_a_second_time_changes_nothing() {
        let resolved = resolve("acme", &policy(), &reasons(), &tags()).unwrap();
        let o = outcome(CallClass::Booked, Some(1004));
        let change = desired_change(&current(), &o, &resolved).unwrap();
        assert_eq!(change.call_type, Some(Some(CallType::Booked)));
        assert_eq!(change.job_id, Some(Some(1004)));
        assert_eq!(change.tag.as_deref(), Some("Booked by AI Agent"));
        assert_eq!(change.reason, None, "the reason already matches");
        let after = current().apply(&change).unwrap();
        assert_eq!(
            desired_change(&after, &o, &resolved),
            None,
            "already correct: write nothing"
        );
    }

    #[test]
    fn not_lead_and_excused_follow_the_policy_and_unmapped_outcomes_do_nothing() {
        let resolved = resolve("acme", &policy(), &reasons(), &tags()).unwrap();
        let change =
            desired_change(&current(), &outcome(CallClass::NotLead, None), &resolved).unwrap();
        assert_eq!(
            change.reason,
            Some(ReasonInput {
                name: "Wrong Number".into(),
                lead: false
            })
        );
        assert_eq!(change.call_type, Some(Some(CallType::NotLead)));
        let change =
            desired_change(&current(), &outcome(CallClass::Excused, None), &resolved).unwrap();
        assert_eq!(
            change.excuse_memo.as_deref(),
            Some("Agent: caller hung up quickly")
        );
        assert_eq!(
            desired_change(&current(), &outcome(CallClass::Abandoned, None), &resolved),
            None
        );
    }
}
