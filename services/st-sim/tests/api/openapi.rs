//! Every answer st-sim serves validates against ServiceTitan's own OpenAPI schema.
//!
//! `tests/openapi/servicetitan.json` holds, per endpoint st-sim imitates, the schema of its
//! success answer and everything that schema refers to, cut from ServiceTitan's published
//! documents by `scripts/openapi-subset` (formats such as `date-time` are asserted). The
//! test walks every endpoint with a real request and validates each body. Where st-sim
//! departs from a schema on purpose, docs/st-sim.md says so; nothing is skipped here.

use crate::helpers::{APP_KEY, TENANT_ID, spawn_sim};
use serde_json::{Value, json};

fn subset() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/servicetitan.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// ServiceTitan's documents declare its .NET `TimeSpan`s (call durations, arrival
/// windows) as `format: duration`, which JSON Schema reads as ISO 8601 (`PT5M12S`);
/// ServiceTitan writes them `[d.]hh:mm:ss[.fffffff]` (`00:05:12`), as .NET does. That is
/// the format asserted here (docs/st-sim.md).
fn is_timespan(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let s = s.strip_prefix('-').unwrap_or(s);
    let (days, rest) = match s.split_once('.') {
        Some((d, rest)) if !d.contains(':') => (Some(d), rest),
        _ => (None, s),
    };
    let (clock, fraction) = rest
        .split_once('.')
        .map_or((rest, None), |(c, f)| (c, Some(f)));
    let in_range =
        |p: &str, max: u32| p.len() == 2 && digits(p) && p.parse::<u32>().is_ok_and(|n| n <= max);
    let parts: Vec<&str> = clock.split(':').collect();
    days.is_none_or(digits)
        && fraction.is_none_or(|f| f.len() <= 7 && digits(f))
        && parts.len() == 3
        && in_range(parts[0], 23)
        && in_range(parts[1], 59)
        && in_range(parts[2], 59)
}

/// Where ServiceTitan's documents call a field required and not nullable but ServiceTitan
/// answers `null` because the record has none: a call with no job has no job number,
/// business unit or job type; a call no ServiceTitan user took has no agent; a call with no
/// campaign, customer or reason has none. st-sim answers `null` there, as ServiceTitan does
/// (docs/st-sim.md); a `null` anywhere else, or a wrong shape here, is still a failure.
const NULL_WHEN_ABSENT: [&str; 7] = [
    "jobNumber",
    "businessUnit",
    "type",
    "agent",
    "campaign",
    "customer",
    "reason",
];

fn documented_null(error: &jsonschema::ValidationError<'_>, body: &Value) -> bool {
    let path = error.instance_path().to_string();
    let field = path.rsplit('/').next().unwrap_or_default();
    NULL_WHEN_ABSENT.contains(&field) && body.pointer(&path).is_some_and(Value::is_null)
}

/// What is wrong with `body` as `endpoint`'s answer, one line per problem.
fn problems(spec: &Value, endpoint: &str, body: &Value) -> Vec<String> {
    let schema = spec["endpoints"].get(endpoint).unwrap_or_else(|| {
        panic!("{endpoint} is not in the OpenAPI subset (scripts/openapi-subset)")
    });
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": spec["$defs"],
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_format("duration", is_timespan)
        .build(&root)
        .unwrap_or_else(|e| panic!("{endpoint}'s schema does not compile: {e}"));
    validator
        .iter_errors(body)
        .filter(|e| !documented_null(e, body))
        .map(|e| format!("{endpoint}: at `{}`: {e}", e.instance_path()))
        .collect()
}

struct Walk {
    sim: crate::helpers::TestSim,
    token: String,
    spec: Value,
    problems: Vec<String>,
}

impl Walk {
    /// Sends `method path` (with `body`), which must succeed, validates its answer against
    /// the schema of `method route`, and returns the answer.
    async fn call(&mut self, method: &str, route: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "{}{}",
            self.sim.address,
            path.replace("{tenant}", &TENANT_ID.to_string())
        );
        let mut request = self
            .sim
            .http
            .request(method.parse().unwrap(), &url)
            .header("ST-App-Key", APP_KEY)
            .bearer_auth(&self.token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "{method} {path} {body:?}: {status} {text}"
        );
        let answer = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        let endpoint = format!("{method} {route}");
        if !text.is_empty() {
            self.problems
                .extend(problems(&self.spec, &endpoint, &answer));
        }
        answer
    }

    /// `GET route`, with the route's placeholders filled in and `query` appended.
    async fn get(&mut self, route: &str, fill: &[(&str, &str)], query: &str) -> Value {
        let mut path = route.to_owned();
        for (name, value) in fill {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        self.call("GET", route, &format!("{path}{query}"), None)
            .await
    }
}

#[tokio::test]
async fn every_answer_validates_against_servicetitans_openapi_schema() {
    let sim = spawn_sim(|_| {}).await;
    let token = sim.token().await;
    let mut w = Walk {
        sim,
        token,
        spec: subset(),
        problems: Vec::new(),
    };
    let t = "/tenant/{tenant}";

    // Telecom.
    w.get(
        &format!("/telecom/v3{t}/calls"),
        &[],
        "?createdOnOrAfter=2026-11-01T00:00:00Z",
    )
    .await;
    let call = format!("/telecom/v2{t}/calls/{{id}}");
    for id in ["9001", "9003", "9006"] {
        w.get(&call, &[("id", id)], "").await;
    }
    let party = json!({"id": 101, "name": "Maria Gonzalez",
        "address": {"street": "4812 Ridgeview Dr", "unit": "", "country": "USA", "city": "Austin", "state": "TX", "zip": "78745"}, "contacts": []});
    let mut location = party.clone();
    location["id"] = 201.into();
    let update = json!({"excuseMemo": "", "reason": {"name": "Service Call", "lead": true},
        "customer": party, "location": location, "tag": "", "callType": "Booked", "jobId": 1001});
    w.call("PUT", &call, &call.replace("{id}", "9001"), Some(update))
        .await;
    w.get(&format!("/telecom/v2{t}/export/calls"), &[], "")
        .await;

    // Settings, call reasons.
    w.get(&format!("/jbce/v2{t}/call-reasons"), &[], "").await;
    w.get(&format!("/settings/v2{t}/tag-types"), &[], "").await;
    w.get(&format!("/settings/v2{t}/business-units"), &[], "")
        .await;

    // Dispatch.
    w.get(&format!("/dispatch/v2{t}/arrival-windows"), &[], "")
        .await;
    w.get(&format!("/dispatch/v2{t}/business-hours"), &[], "")
        .await;
    w.get(&format!("/dispatch/v2{t}/technician-shifts"), &[], "")
        .await;
    let capacity = format!("/dispatch/v2{t}/capacity");
    let ask = json!({"startsOnOrAfter": "2026-11-24T00:00:00Z", "endsOnOrBefore": "2026-11-25T00:00:00Z",
        "businessUnitIds": [21], "jobTypeId": 301, "skillBasedAvailability": false});
    w.call("POST", &capacity, &capacity, Some(ask)).await;

    // CRM.
    let customers = format!("/crm/v2{t}/customers");
    w.get(&customers, &[], "?phone=%2B15125550101").await;
    let address = json!({"street": "1 Congress Ave", "city": "Austin", "state": "TX", "zip": "78701", "country": "USA"});
    let new_customer = json!({"name": "Pat Caller", "type": "Residential", "address": address,
        "locations": [{"name": "Home", "address": address}],
        "contacts": [{"type": "MobilePhone", "value": "+15125550199"}]});
    w.call("POST", &customers, &customers, Some(new_customer))
        .await;
    let locations = format!("/crm/v2{t}/locations");
    w.get(&locations, &[], "").await;
    w.get(&format!("{locations}/{{id}}"), &[("id", "201")], "")
        .await;
    w.get(
        &format!("{locations}/{{id}}/contacts"),
        &[("id", "201")],
        "",
    )
    .await;
    w.get(&format!("/crm/v2{t}/export/locations"), &[], "")
        .await;
    w.get(&format!("/crm/v2{t}/export/locations/contacts"), &[], "")
        .await;

    // JPM: a job booked, read, its appointment moved, confirmed, un-confirmed, canceled.
    w.get(&format!("/jpm/v2{t}/job-types"), &[], "").await;
    let reasons = w
        .get(&format!("/jpm/v2{t}/job-cancel-reasons"), &[], "")
        .await;
    let jobs = format!("/jpm/v2{t}/jobs");
    w.get(&jobs, &[], "").await;
    let new_job = json!({"customerId": 101, "locationId": 201, "businessUnitId": 21, "jobTypeId": 301,
        "priority": "Normal", "campaignId": 31,
        "appointments": [{"start": "2026-11-24T14:00:00Z", "end": "2026-11-24T16:00:00Z"}]});
    let job = w.call("POST", &jobs, &jobs, Some(new_job)).await;
    let job_id = job["id"].to_string();
    let appointment = job["firstAppointmentId"].to_string();
    w.get(&format!("{jobs}/{{id}}"), &[("id", &job_id)], "")
        .await;
    let appointments = format!("/jpm/v2{t}/appointments/{{id}}");
    w.get(&appointments, &[("id", &appointment)], "").await;
    let reschedule = format!("{appointments}/reschedule");
    let moved = json!({"start": "2026-11-24T15:00:00Z", "end": "2026-11-24T17:00:00Z"});
    w.call(
        "PATCH",
        &reschedule,
        &reschedule.replace("{id}", &appointment),
        Some(moved),
    )
    .await;
    let confirmation = format!("{appointments}/confirmation");
    let confirmed = confirmation.replace("{id}", &appointment);
    w.call("PUT", &confirmation, &confirmed, None).await;
    w.call("DELETE", &confirmation, &confirmed, None).await;
    let cancel = format!("{jobs}/{{id}}/cancel");
    let why = json!({"reasonId": reasons["data"][0]["id"], "memo": "Caller canceled"});
    w.call("PUT", &cancel, &cancel.replace("{id}", &job_id), Some(why))
        .await;
    // The appointments export, from a date (as ServiceTitan takes it) and then from the
    // token it gave: the canceled job's appointment is there, marked Canceled.
    let export = format!("/jpm/v2{t}/export/appointments");
    let page = w.get(&export, &[], "?from=2020-01-01").await;
    let moved = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == job["firstAppointmentId"])
        .cloned()
        .unwrap_or_else(|| panic!("appointment {appointment} is not in the export: {page}"));
    assert_eq!(moved["status"], "Canceled");
    let next = format!(
        "?from={}",
        page["continueFrom"].as_str().unwrap().replace('+', "%2B")
    );
    let rest = w.get(&export, &[], &next).await;
    assert_eq!(rest["data"], json!([]), "nothing changed since");

    assert!(
        w.problems.is_empty(),
        "{} answers do not match ServiceTitan's schema:\n{}",
        w.problems.len(),
        w.problems.join("\n")
    );
}

#[test]
fn timespans_are_dotnets_not_iso_8601() {
    for ok in [
        "00:05:12",
        "23:59:59",
        "-00:00:01",
        "1.02:00:00",
        "00:00:01.1234567",
        "3.00:00:00.5",
    ] {
        assert!(is_timespan(ok), "{ok}");
    }
    for bad in [
        "PT5M12S",
        "5:12",
        "00:60:00",
        "24:00:00",
        "00:00:00.",
        "x.00:00:00",
        "",
    ] {
        assert!(!is_timespan(bad), "{bad}");
    }
}
