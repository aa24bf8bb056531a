//! RingCentral telephony session notifications: `{"uuid", "event":
//! "/restapi/v1.0/account/…/telephony/sessions", "timestamp", "body": {"telephonySessionId",
//! "eventTime", "parties": [{"direction", "from": {"phoneNumber"}, "to": {"phoneNumber"},
//! "status": {"code", "reason"}}]}}`. The status codes are `Setup`, `Proceeding`, `Answered`,
//! `Disconnected`, `Gone`, `Parked`, `Hold`, `VoiceMail`, `FaxReceive`, `Tds`,
//! `VoiceMailScreening`. Notifications carry no duration and no recording.
//! <https://developers.ringcentral.com/guide/voice/call-control/telephony-session-notifications>,
//! <https://developers.ringcentral.com/guide/notifications/event-filters/account-telephony-sessions>

use super::{Delivery, Draft, Problem, json, str_at, utc};
use crate::types::{CallData, EventType};

pub(crate) fn drafts(d: &Delivery<'_>) -> Result<Vec<Draft>, Problem> {
    let v = json(d)?;
    let event = str_at(&v, "/event").ok_or_else(|| Problem::Malformed("no event".into()))?;
    if !event.ends_with("/telephony/sessions") {
        return Err(Problem::Unrecognized(format!(
            "unhandled RingCentral event `{event}`"
        )));
    }
    let body = v
        .get("body")
        .ok_or_else(|| Problem::Malformed("no body".into()))?;
    let call_id = str_at(body, "/telephonySessionId")
        .or_else(|| str_at(body, "/sessionId"))
        .ok_or_else(|| Problem::Malformed("no body.telephonySessionId".into()))?;
    let party = body
        .pointer("/parties/0")
        .ok_or_else(|| Problem::Malformed("no body.parties".into()))?;
    let code = str_at(party, "/status/code")
        .ok_or_else(|| Problem::Malformed("no parties[0].status.code".into()))?;
    let time = str_at(body, "/eventTime")
        .or_else(|| str_at(&v, "/timestamp"))
        .and_then(|t| utc(&t));
    let inbound = str_at(party, "/direction").map(|d| d == "Inbound");
    let mut data = CallData::between(
        "ringcentral",
        &call_id,
        str_at(party, "/from/phoneNumber"),
        str_at(party, "/to/phoneNumber"),
        inbound,
    );
    let kind = match code.as_str() {
        // A party is set up, or rings (`Proceeding`); either may be the first a
        // subscription sees of the call, so both start it (a start seen twice is the same
        // start: consumers key calls on `provider_call_id`).
        "Setup" | "Proceeding" => EventType::CallStarted,
        "Answered" => {
            data.answered_at.clone_from(&time);
            EventType::CallAnswered
        }
        "Disconnected" => {
            data.ended_at.clone_from(&time);
            data.end_reason = str_at(party, "/status/reason");
            EventType::CallCompleted
        }
        // Mid-call states, and a party leaving a session that goes on (`Gone`).
        "Gone" | "Parked" | "Hold" | "VoiceMail" | "FaxReceive" | "Tds" | "VoiceMailScreening" => {
            return Ok(Vec::new());
        }
        other => {
            return Err(Problem::Unrecognized(format!(
                "unknown RingCentral status code `{other}`"
            )));
        }
    };
    if kind == EventType::CallStarted {
        data.started_at.clone_from(&time);
    }
    Ok(vec![Draft::new(kind, Some(call_id), time, &data)])
}
