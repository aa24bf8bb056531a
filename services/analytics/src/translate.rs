//! Events and ServiceTitan records → fact changes. Pure: a function of the event only.
//!
//! Calls are keyed by the agent's call id (`provider_call_id`), because the agent's view is
//! what counts a call. ServiceTitan's view always lands on `st:{ServiceTitan call id}`; the
//! link between the two (an outcome carrying `servicetitan.call_id`, or the calls worker's
//! `call.confirmed` / `call.reclassified`) is recorded on the agent's key, and the service
//! copies ServiceTitan's view across it (see `service/projection.rs`). That way neither side has to
//! arrive first.

use crate::facts::{AgentView, CallFacts, StView};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use switchboard_config::CallClass;
use switchboard_events::{
    BookingData, CallData, CallSyncData, CloudEvent, EventType, OutcomeData, StChangeData,
};
use switchboard_servicetitan::models::ExportCall;

/// The facts of one call as stored in the `ANALYTICS_FACTS` bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFacts {
    /// The call key (`provider_call_id`, or `st:{id}` for ServiceTitan's side of a call).
    pub call: String,
    /// The ServiceTitan call, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub st_call_id: Option<i64>,
    #[serde(flatten)]
    pub facts: CallFacts,
}

/// What one event says about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactChange {
    pub call: String,
    pub st_call_id: Option<i64>,
    pub agent: Option<AgentView>,
    pub servicetitan: Option<StView>,
}

impl FactChange {
    /// Merges into `stored`; true if anything changed. Commutative and idempotent, like
    /// the views' own merge.
    pub fn merge_into(&self, stored: &mut StoredFacts) -> bool {
        let mut changed = false;
        if stored.call.is_empty() {
            stored.call.clone_from(&self.call);
            changed = true;
        }
        if let Some(id) = self.st_call_id
            && stored.st_call_id.is_none_or(|cur| id > cur)
        {
            // Two ids for one agent call is a data error upstream; the greater wins so
            // that every replica picks the same one.
            stored.st_call_id = Some(id);
            changed = true;
        }
        if let Some(view) = &self.agent {
            changed |= stored.facts.merge_agent(view.clone());
        }
        if let Some(view) = &self.servicetitan {
            changed |= stored.facts.merge_servicetitan(view.clone());
        }
        changed
    }
}

/// Why an event could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// The key of ServiceTitan's side of call `id`.
pub fn st_key(id: i64) -> String {
    format!("st:{id}")
}

/// RFC 3339, or ServiceTitan's offset-less form (UTC).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::DateTime>()
            .ok()
            .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

fn time_of(event: &CloudEvent) -> Result<Timestamp, Malformed> {
    parse_time(&event.time)
        .ok_or_else(|| Malformed(format!("time `{}` is not RFC 3339", event.time)))
}

fn data<T: serde::de::DeserializeOwned>(event: &CloudEvent) -> Result<T, Malformed> {
    serde_json::from_value(event.data.clone())
        .map_err(|e| Malformed(format!("{} data: {e}", event.kind)))
}

/// What `event` says about calls: nothing for the types analytics does not use, one
/// change for most, two for the calls worker's answers (the link on the agent's call, and
/// ServiceTitan's state on `st:{id}`). The event's data is parsed once.
pub fn changes(event: &CloudEvent) -> Result<Vec<FactChange>, Malformed> {
    let Ok(kind) =
        serde_json::from_value::<EventType>(serde_json::Value::String(event.kind.clone()))
    else {
        return Ok(Vec::new());
    };
    match kind {
        EventType::CallOutcome => {
            let o: OutcomeData = data(event)?;
            let observed_at = time_of(event)?;
            let started_at = o
                .started_at
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(observed_at);
            Ok(vec![FactChange {
                call: o.provider_call_id,
                st_call_id: o.servicetitan.call_id,
                agent: Some(AgentView {
                    class: o.outcome,
                    reason: o.reason,
                    job_id: o.servicetitan.job_id,
                    agent: o.agent,
                    business_unit: o.business_unit,
                    campaign: o.campaign,
                    started_at,
                    observed_at,
                }),
                servicetitan: None,
            }])
        }
        // The AI agent's own report of a call nobody answered is its verdict: abandoned.
        // (Telephony providers' ids differ from the agent's, so their reports would count
        // the same call twice; only the agent's own are used.)
        EventType::CallCompleted => {
            let c: CallData = data(event)?;
            let unanswered = c.answered_at.is_none()
                && matches!(
                    c.end_reason.as_deref(),
                    Some("no-answer" | "busy" | "canceled" | "failed" | "abandoned")
                );
            if c.provider != "agent" || !unanswered {
                return Ok(Vec::new());
            }
            let observed_at = time_of(event)?;
            Ok(vec![FactChange {
                call: c.provider_call_id,
                st_call_id: None,
                agent: Some(AgentView {
                    class: CallClass::Abandoned,
                    reason: c.end_reason,
                    job_id: None,
                    agent: None,
                    business_unit: None,
                    campaign: None,
                    started_at: c
                        .started_at
                        .as_deref()
                        .and_then(parse_time)
                        .unwrap_or(observed_at),
                    observed_at,
                }),
                servicetitan: None,
            }])
        }
        // The calls worker's answer: the link between the agent's call and ServiceTitan's
        // (on the agent's key), and ServiceTitan's state after its write (on `st:{id}`,
        // ordered by the `modifiedOn` the worker reports).
        EventType::CallConfirmed | EventType::CallReclassified => {
            let d: CallSyncData = data(event)?;
            let observed_at = d
                .st_modified_on
                .as_deref()
                .and_then(parse_time)
                .map_or_else(|| time_of(event), Ok)?;
            let class = d
                .after
                .call_type
                .as_deref()
                .and_then(CallClass::from_servicetitan_name);
            Ok(vec![
                FactChange {
                    call: d.provider_call_id,
                    st_call_id: Some(d.st_call_id),
                    agent: None,
                    servicetitan: None,
                },
                FactChange {
                    call: st_key(d.st_call_id),
                    st_call_id: Some(d.st_call_id),
                    agent: None,
                    servicetitan: Some(StView {
                        class,
                        started_at: observed_at,
                        observed_at,
                    }),
                },
            ])
        }
        EventType::StCallChanged => Ok(st_call_changed(event)?.into_iter().collect()),
        // A job the booking service booked during an agent's call: that call counts as
        // booked on the agent's side, on the day of the booking, even if the agent never
        // reports an outcome. Its weight is the least of any report (observed at the
        // epoch), so the agent's own outcome, whenever its clock says it came, replaces it.
        EventType::JobBooked => {
            let b: BookingData = data(event)?;
            let Some(call) = b.provider_call_id else {
                return Ok(Vec::new());
            };
            Ok(vec![FactChange {
                call,
                st_call_id: None,
                agent: Some(AgentView {
                    job_id: Some(b.job_id),
                    ..AgentView::new(CallClass::Booked, time_of(event)?, Timestamp::UNIX_EPOCH)
                }),
                servicetitan: None,
            }])
        }
        _ => Ok(Vec::new()),
    }
}

/// `st.call.changed`: ServiceTitan's webhook shapes are undocumented, so the record is used
/// only when it has what we need (id, type, modifiedOn); the export sweep covers the rest.
fn st_call_changed(event: &CloudEvent) -> Result<Option<FactChange>, Malformed> {
    let d: StChangeData = data(event)?;
    let r = &d.record;
    let id = d.id.or_else(|| r.get("id").and_then(|v| v.as_i64()));
    let modified = r
        .get("modifiedOn")
        .and_then(|v| v.as_str())
        .and_then(parse_time);
    let (Some(id), Some(modified)) = (id, modified) else {
        return Ok(None);
    };
    // No type field at all: the payload does not say (not "unclassified").
    let Some(kind) = ["type", "callType"].iter().find_map(|k| r.get(*k)) else {
        return Ok(None);
    };
    // ServiceTitan's spelling (`Booked`, `NotLead`, …); anything else: unclassified.
    let class = kind.as_str().and_then(CallClass::from_servicetitan_name);
    let created = ["createdOn", "receivedOn"]
        .iter()
        .find_map(|k| r.get(*k).and_then(|v| v.as_str()))
        .and_then(parse_time)
        .unwrap_or(modified);
    Ok(Some(FactChange {
        call: st_key(id),
        st_call_id: Some(id),
        agent: None,
        servicetitan: Some(StView {
            class,
            started_at: created,
            observed_at: modified,
        }),
    }))
}

/// One record of ServiceTitan's call export.
pub fn from_export(call: &ExportCall) -> Option<FactChange> {
    let observed_at = parse_time(&call.modified_on)?;
    Some(FactChange {
        call: st_key(call.id),
        st_call_id: Some(call.id),
        agent: None,
        servicetitan: Some(StView {
            class: call.call_type.map(CallClass::from),
            started_at: parse_time(&call.created_on).unwrap_or(observed_at),
            observed_at,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, time: &str, data: serde_json::Value) -> CloudEvent {
        CloudEvent {
            specversion: "1.0".into(),
            id: "e1".into(),
            source: "/switchboard/demo/agent".into(),
            kind: kind.into(),
            subject: None,
            time: time.into(),
            datacontenttype: "application/json".into(),
            tenant: "demo".into(),
            inboundid: String::new(),
            data,
        }
    }

    #[test]
    fn an_outcome_is_the_agents_view_keyed_by_its_call_id() {
        let e = event(
            "call.outcome",
            "2026-11-20T17:30:00Z",
            serde_json::json!({"provider": "agent", "provider_call_id": "ag_1", "outcome": "booked",
                "servicetitan": {"call_id": 9003, "job_id": 1004}, "started_at": "2026-11-20T17:21:00Z",
                "agent": "ava", "campaign": "Google"}),
        );
        let all = changes(&e).unwrap();
        assert_eq!(all.len(), 1, "no ServiceTitan side");
        let change = all[0].clone();
        assert_eq!(change.call, "ag_1");
        assert_eq!(change.st_call_id, Some(9003));
        let view = change.agent.unwrap();
        assert_eq!(view.class, CallClass::Booked);
        assert_eq!(view.job_id, Some(1004));
        assert_eq!(view.agent.as_deref(), Some("ava"));
        assert_eq!(view.started_at.to_string(), "2026-11-20T17:21:00Z");
        assert_eq!(view.observed_at.to_string(), "2026-11-20T17:30:00Z");
    }

    #[test]
    fn a_job_booked_during_a_call_counts_until_the_agent_reports() {
        let booked = event(
            "job.booked",
            "2026-11-20T17:25:00Z",
            serde_json::json!({"request_id": "req_1", "provider_call_id": "ag_1", "job_id": 1004}),
        );
        let change = changes(&booked).unwrap().remove(0);
        assert_eq!(change.call, "ag_1");
        let view = change.agent.clone().unwrap();
        assert_eq!((view.class, view.job_id), (CallClass::Booked, Some(1004)));
        assert_eq!(view.started_at.to_string(), "2026-11-20T17:25:00Z");
        // The agent's outcome wins in either order, even with a clock behind the booking's.
        let outcome = event(
            "call.outcome",
            "2026-11-20T17:20:00Z",
            serde_json::json!({"provider": "agent", "provider_call_id": "ag_1", "outcome": "unbooked"}),
        );
        let outcome = changes(&outcome).unwrap().remove(0);
        for order in [[&change, &outcome], [&outcome, &change]] {
            let mut stored = StoredFacts::default();
            for c in order {
                c.merge_into(&mut stored);
            }
            assert_eq!(stored.facts.agent.unwrap().class, CallClass::Unbooked);
        }
        // A booking the agent made outside any call says nothing about calls.
        let anonymous = event(
            "job.booked",
            "2026-11-20T17:25:00Z",
            serde_json::json!({"request_id": "req_2", "job_id": 1005}),
        );
        assert!(changes(&anonymous).unwrap().is_empty());
    }

    #[test]
    fn the_calls_workers_answer_links_and_carries_servicetitans_state() {
        let e = event(
            "call.reclassified",
            "2026-11-20T17:30:00Z",
            serde_json::json!({"outcome_event_id": "x", "provider_call_id": "ag_1", "st_call_id": 9003,
                "before": {"call_type": "Unbooked", "tag": "", "excuse_memo": ""},
                "after": {"call_type": "Booked", "tag": "", "excuse_memo": ""},
                "st_modified_on": "2026-11-20T17:31:00.5Z"}),
        );
        let all = changes(&e).unwrap();
        let link = all[0].clone();
        assert_eq!((link.call.as_str(), link.st_call_id), ("ag_1", Some(9003)));
        assert!(link.agent.is_none() && link.servicetitan.is_none());
        let st = all[1].clone();
        assert_eq!(st.call, "st:9003");
        let view = st.servicetitan.unwrap();
        assert_eq!(view.class, Some(CallClass::Booked));
        assert_eq!(view.observed_at.to_string(), "2026-11-20T17:31:00.5Z");
    }

    #[test]
    fn other_events_are_ignored_and_bad_data_is_malformed() {
        let e = event(
            "call.started",
            "2026-11-20T17:30:00Z",
            serde_json::json!({}),
        );
        assert_eq!(changes(&e).unwrap(), []);
        let e = event(
            "call.outcome",
            "2026-11-20T17:30:00Z",
            serde_json::json!({"outcome": "booked"}),
        );
        assert!(changes(&e).is_err());
        let e = event("future.type", "not a time", serde_json::json!(null));
        assert_eq!(changes(&e).unwrap(), []);
    }

    #[test]
    fn an_unanswered_agent_call_is_abandoned_and_telephony_reports_are_not_counted() {
        let data = |provider: &str| {
            serde_json::json!({"provider": provider, "provider_call_id": "c1", "end_reason": "no-answer",
                "started_at": "2026-11-20T17:00:00Z"})
        };
        let e = event("call.completed", "2026-11-20T17:01:00Z", data("agent"));
        let change = changes(&e).unwrap().remove(0);
        assert_eq!(change.agent.unwrap().class, CallClass::Abandoned);
        let e = event("call.completed", "2026-11-20T17:01:00Z", data("twilio"));
        assert_eq!(changes(&e).unwrap(), []);
    }

    #[test]
    fn merging_changes_is_order_independent() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let agent = FactChange {
            call: "ag_1".into(),
            st_call_id: Some(5),
            agent: Some(AgentView::new(
                CallClass::Booked,
                t("2026-11-20T17:00:00Z"),
                t("2026-11-20T17:05:00Z"),
            )),
            servicetitan: None,
        };
        let st = FactChange {
            call: "ag_1".into(),
            st_call_id: None,
            agent: None,
            servicetitan: Some(StView {
                class: Some(CallClass::Unbooked),
                started_at: t("2026-11-20T17:00:00Z"),
                observed_at: t("2026-11-20T17:06:00Z"),
            }),
        };
        let mut a = StoredFacts::default();
        assert!(agent.merge_into(&mut a));
        assert!(st.merge_into(&mut a));
        assert!(!st.merge_into(&mut a), "idempotent");
        let mut b = StoredFacts::default();
        st.merge_into(&mut b);
        agent.merge_into(&mut b);
        assert_eq!(a, b);
        assert_eq!(a.st_call_id, Some(5));
    }

    #[test]
    fn a_servicetitan_webhook_without_a_type_says_nothing_about_the_class() {
        let record = |r: serde_json::Value| {
            event(
                "st.call.changed",
                "2026-11-20T17:30:00Z",
                serde_json::json!({"st_event": "CallUpdated", "id": 9003, "record": r}),
            )
        };
        let e = record(serde_json::json!({"modifiedOn": "2026-11-20T17:31:00Z"}));
        assert_eq!(changes(&e).unwrap(), [], "unknown, not unclassified");
        let e = record(serde_json::json!({"modifiedOn": "2026-11-20T17:31:00Z", "type": null}));
        let view = changes(&e).unwrap().remove(0).servicetitan.unwrap();
        assert_eq!(view.class, None, "explicitly unclassified");
        let e = record(
            serde_json::json!({"modifiedOn": "2026-11-20T17:31:00Z", "callType": "NotLead"}),
        );
        let view = changes(&e).unwrap().remove(0).servicetitan.unwrap();
        assert_eq!(view.class, Some(CallClass::NotLead));
    }

    #[test]
    fn servicetitan_times_parse_with_or_without_an_offset() {
        assert_eq!(
            parse_time("2026-11-20T17:00:00").unwrap(),
            parse_time("2026-11-20T17:00:00Z").unwrap()
        );
        assert!(parse_time("yesterday").is_none());
    }
}
