//! The pure core of `switchboard trace`: which events belong to a key, which identifiers
//! they bring along, and the trail as one time-ordered list.
//!
//! A key is untyped (the operator pastes what they have: a provider call id, a ServiceTitan
//! call or job id, a phone number, an event or request id), but the identifiers the events
//! carry are typed: ServiceTitan numbers calls, jobs and appointments separately, so job
//! 1002 and call 1002 are different things. The key matches an identifier of any type; what
//! a matched event brings along keeps its type, so following a call to its job never
//! pulls in the call that happens to share the job's number. Phone numbers match the key
//! but are never followed: a caller's number would pull in every call they ever made.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// What an identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Event,
    Inbound,
    ProviderCall,
    StCall,
    Job,
    Appointment,
    Request,
}

/// A typed identifier.
pub type Id = (IdKind, String);

/// Every typed identifier a CloudEvent carries (from the fields docs/events.md lists).
pub fn event_ids(event: &Value) -> BTreeSet<Id> {
    let mut ids = BTreeSet::new();
    let mut add = |kind: IdKind, v: Option<&Value>| {
        if let Some(s) = v.and_then(id_text) {
            ids.insert((kind, s));
        }
    };
    add(IdKind::Event, event.get("id"));
    add(IdKind::Inbound, event.get("inboundid"));
    let data = event.get("data").unwrap_or(&Value::Null);
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    add(IdKind::ProviderCall, data.get("provider_call_id"));
    add(IdKind::StCall, data.get("st_call_id"));
    add(IdKind::Event, data.get("outcome_event_id"));
    add(IdKind::Request, data.get("request_id"));
    for job in [
        data.get("job_id"),
        data.pointer("/servicetitan/job_id"),
        data.pointer("/after/job_id"),
    ] {
        add(IdKind::Job, job);
    }
    for appointment in [
        data.get("appointment_id"),
        data.pointer("/servicetitan/appointment_id"),
    ] {
        add(IdKind::Appointment, appointment);
    }
    // ServiceTitan's own webhooks: the record's id, by the record's kind.
    match kind {
        "st.call.changed" => add(IdKind::StCall, data.get("id")),
        "st.job.changed" => add(IdKind::Job, data.get("id")),
        "st.appointment.changed" => add(IdKind::Appointment, data.get("id")),
        _ => {}
    }
    ids
}

/// The phone numbers an event names (matched against the key, never followed).
pub fn event_phones(event: &Value) -> Vec<String> {
    let data = event.get("data").unwrap_or(&Value::Null);
    ["from", "to"]
        .iter()
        .filter_map(|f| data.get(*f).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The key as the events would spell it: itself, and for something that looks like a
/// North American phone number, its E.164 form (`(512) 555-0101` → `+15125550101`).
pub fn key_forms(key: &str) -> Vec<String> {
    let mut forms = vec![key.trim().to_owned()];
    let digits: String = key.chars().filter(char::is_ascii_digit).collect();
    let phoneish = key
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phoneish {
        let e164 = match digits.len() {
            10 => Some(format!("+1{digits}")),
            11 if digits.starts_with('1') => Some(format!("+{digits}")),
            12..=15 if key.trim_start().starts_with('+') => Some(format!("+{digits}")),
            _ => None,
        };
        forms.extend(e164.filter(|f| f != &forms[0]));
    }
    forms
}

/// The events (indexes into `events`) that belong to `key`, and every identifier they
/// carry: the events that name the key, then, until nothing new turns up (at most four
/// rounds), the events that share a typed identifier with those.
pub fn select(events: &[Value], key: &str) -> (BTreeSet<usize>, BTreeSet<Id>) {
    let forms = key_forms(key);
    let ids: Vec<BTreeSet<Id>> = events.iter().map(event_ids).collect();
    let mut chosen: BTreeSet<usize> = events
        .iter()
        .enumerate()
        .filter(|(i, e)| {
            ids[*i].iter().any(|(_, v)| forms.contains(v))
                || e.get("subject")
                    .and_then(Value::as_str)
                    .is_some_and(|s| forms.iter().any(|f| f == s))
                || event_phones(e).iter().any(|p| forms.contains(p))
        })
        .map(|(i, _)| i)
        .collect();
    let mut known: BTreeSet<Id> = chosen.iter().flat_map(|i| ids[*i].clone()).collect();
    for _ in 0..4 {
        let more: Vec<usize> = (0..events.len())
            .filter(|i| !chosen.contains(i) && ids[*i].iter().any(|id| known.contains(id)))
            .collect();
        if more.is_empty() {
            break;
        }
        for i in more {
            known.extend(ids[i].iter().cloned());
            chosen.insert(i);
        }
    }
    (chosen, known)
}

/// The identifiers of `kind` in `ids`.
pub fn of_kind(ids: &BTreeSet<Id>, kind: IdKind) -> Vec<&str> {
    ids.iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// One thing that happened, for the trail.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// When it was recorded (RFC 3339, UTC): the stream's time for stream messages, the
    /// revision's time for KV entries.
    pub at: String,
    /// `inbound`, `event`, `dead_letter`, `ledger`, `booking_answer`, `servicetitan_call`,
    /// `fact`, `discrepancy`.
    pub kind: &'static str,
    /// Where it is: `INBOUND #12`, `EVENTS #40`, `CALLS_LEDGER evt_…`.
    pub at_ref: String,
    /// One line for a human.
    pub summary: String,
    /// The record itself.
    pub detail: Value,
}

/// `entries` in time order; within one millisecond, a delivery before its events and
/// those before what was done about them.
pub fn in_order(mut entries: Vec<Entry>) -> Vec<Entry> {
    let rank = |kind: &str| match kind {
        "inbound" => 0,
        "event" => 1,
        "dead_letter" => 2,
        _ => 3,
    };
    entries.sort_by(|a, b| a.at.cmp(&b.at).then(rank(a.kind).cmp(&rank(b.kind))));
    entries
}

/// One line saying what an event is: its type and what it carries that matters.
pub fn event_summary(event: &Value) -> String {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("?");
    let data = event.get("data").unwrap_or(&Value::Null);
    let field = |name: &str| data.get(name).and_then(id_text);
    let mut parts = vec![kind.to_owned()];
    match kind {
        "call.reclassified" | "call.confirmed" => {
            let side = |which: &str| {
                let s = data.get(which).unwrap_or(&Value::Null);
                let g = |f: &str| s.get(f).and_then(id_text).unwrap_or_default();
                format!("{} / {} / tag {:?}", g("call_type"), g("reason"), g("tag"))
            };
            if let Some(call) = field("st_call_id") {
                parts.push(format!("ServiceTitan call {call}"));
            }
            if kind == "call.reclassified" {
                parts.push(format!("{} → {}", side("before"), side("after")));
            } else {
                parts.push(format!("already {}", side("before")));
            }
        }
        "call.outcome" => parts.extend(field("outcome")),
        "job.booked" | "appointment.rescheduled" | "job.canceled" | "booking.overbooked" => {
            parts.extend(field("job_id").map(|j| format!("job {j}")));
            parts.extend(field("start").map(|s| format!("from {s}")));
        }
        "webhook.unrecognized" => parts.extend(field("reason")),
        _ => {
            parts.extend(field("from").map(|f| format!("from {f}")));
            parts.extend(field("end_reason"));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str, kind: &str, pcid: &str, from: &str) -> Value {
        json!({"id": id, "type": kind, "subject": pcid, "inboundid": format!("in:{id}"),
               "data": {"provider_call_id": pcid, "from": from, "to": "+15125550000"}})
    }

    #[test]
    fn a_phone_number_finds_its_calls_and_what_followed_but_not_other_callers() {
        let events = vec![
            call("e1", "call.completed", "CA1", "+15125550101"),
            json!({"id": "e2", "type": "call.outcome", "inboundid": "in:e2",
                   "data": {"provider_call_id": "CA1", "outcome": "booked", "servicetitan": {"job_id": 1002}}}),
            json!({"id": "e3", "type": "call.reclassified",
                   "data": {"outcome_event_id": "e2", "st_call_id": 9003, "provider_call_id": "CA1",
                            "before": {"call_type": "Unbooked"}, "after": {"call_type": "Booked", "job_id": 1002}}}),
            // Another caller's call, whose ServiceTitan call id happens to be 1002.
            json!({"id": "e4", "type": "call.reclassified", "data": {"st_call_id": 1002, "provider_call_id": "CA9"}}),
            call("e5", "call.completed", "CA2", "+15125550199"),
        ];
        let (chosen, ids) = select(&events, "(512) 555-0101");
        assert_eq!(chosen, BTreeSet::from([0, 1, 2]));
        assert!(ids.contains(&(IdKind::Job, "1002".into())));
        assert!(ids.contains(&(IdKind::StCall, "9003".into())));
        // The job id as a key finds the call through the job, not the other call 1002…
        let (by_job, _) = select(&events, "1002");
        // …except that an untyped key matches the other call's id too: both are shown.
        assert_eq!(by_job, BTreeSet::from([0, 1, 2, 3]));
        assert_eq!(select(&events, "CA2").0, BTreeSet::from([4]));
        assert!(select(&events, "nothing").0.is_empty());
    }

    #[test]
    fn phone_keys_take_e164_form() {
        assert_eq!(key_forms("5125550101"), ["5125550101", "+15125550101"]);
        assert_eq!(
            key_forms("+1 512-555-0101"),
            ["+1 512-555-0101", "+15125550101"]
        );
        assert_eq!(key_forms("+15125550101"), ["+15125550101"]);
        assert_eq!(key_forms("9003"), ["9003"]);
        assert_eq!(key_forms("evt_abc"), ["evt_abc"]);
    }

    #[test]
    fn summaries_say_what_changed() {
        let e = json!({"type": "call.reclassified", "data": {"st_call_id": 9003,
            "before": {"call_type": "Unbooked", "reason": "Service Call", "tag": ""},
            "after": {"call_type": "Booked", "reason": "Service Call", "tag": "Booked by AI Agent"}}});
        assert_eq!(
            event_summary(&e),
            "call.reclassified, ServiceTitan call 9003, Unbooked / Service Call / tag \"\" → Booked / Service Call / tag \"Booked by AI Agent\""
        );
    }
}
