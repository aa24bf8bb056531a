//! st-sim rejects what ServiceTitan would reject.

use crate::helpers::{APP_KEY, TENANT_ID, spawn_sim};
use switchboard_servicetitan::models::CallType;

#[tokio::test]
async fn rejects_like_servicetitan() {
    let sim = spawn_sim(|_| {}).await;
    let token = sim.token().await;
    let url = |tenant: u64| format!("{}/telecom/v2/tenant/{tenant}/calls/9001", sim.address);
    let get = |url: String, key: Option<&'static str>, token: Option<String>| {
        let mut r = sim.http.get(url);
        if let Some(k) = key {
            r = r.header("ST-App-Key", k);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(
        get(url(TENANT_ID), Some(APP_KEY), Some(token.clone()))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get(url(TENANT_ID), None, Some(token.clone()))
            .await
            .unwrap()
            .status(),
        401,
        "missing app key"
    );
    assert_eq!(
        get(url(TENANT_ID), Some("ak1.wrong"), Some(token.clone()))
            .await
            .unwrap()
            .status(),
        401,
        "wrong app key"
    );
    assert_eq!(
        get(url(TENANT_ID), Some(APP_KEY), None)
            .await
            .unwrap()
            .status(),
        401,
        "no token"
    );
    assert_eq!(
        get(url(999), Some(APP_KEY), Some(token.clone()))
            .await
            .unwrap()
            .status(),
        404,
        "unknown tenant"
    );

    // Unknown and missing fields in a call update are 400, with problem details.
    let put = |body: serde_json::Value| {
        sim.http
            .put(url(TENANT_ID))
            .header("ST-App-Key", APP_KEY)
            .bearer_auth(token.clone())
            .json(&body)
            .send()
    };
    let party = serde_json::json!({"id": 101, "name": "Maria Gonzalez",
        "address": {"street": "4812 Ridgeview Dr", "unit": "", "country": "USA", "city": "Austin", "state": "TX", "zip": "78745"}, "contacts": []});
    let mut location = party.clone();
    location["id"] = 201.into();
    let valid = serde_json::json!({"excuseMemo": "", "reason": {"name": "Service Call", "lead": true},
        "customer": party, "location": location, "tag": "", "callType": "Booked", "jobId": 1001});
    assert_eq!(put(valid.clone()).await.unwrap().status(), 200);
    let mut unknown = valid.clone();
    unknown["priority"] = "High".into();
    let response = put(unknown).await.unwrap();
    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(
        problem["errors"]["body"][0]
            .as_str()
            .unwrap()
            .contains("priority"),
        "{problem}"
    );
    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("tag");
    assert_eq!(put(missing).await.unwrap().status(), 400);
    let mut nested = valid;
    nested["customer"]["address"]["county"] = "Travis".into();
    assert_eq!(put(nested).await.unwrap().status(), 400);

    // An expired token is refused.
    sim.admin_post("/_sim/tokens/expire", serde_json::json!({}))
        .await;
    let response = get(url(TENANT_ID), Some(APP_KEY), Some(token))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert!(problem["title"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn bad_client_credentials_get_no_token() {
    let sim = spawn_sim(|_| {}).await;
    let response = sim
        .http
        .post(format!("{}/connect/token", sim.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cid.demo-hvac"),
            ("client_secret", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let sim = spawn_sim(|s| s.settings.rate_limit_per_sec = 5).await;
    let token = sim.token().await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = sim
            .http
            .get(format!(
                "{}/jbce/v2/tenant/{TENANT_ID}/call-reasons",
                sim.address
            ))
            .header("ST-App-Key", APP_KEY)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        statuses.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 5);
    assert!(
        statuses
            .iter()
            .filter(|(s, _)| *s == 429)
            .all(|(_, retry_after)| *retry_after)
    );
    assert_eq!(sim.rate_limited().await, 3);
}

#[tokio::test]
async fn booking_a_job_from_a_call_links_them() {
    let sim = spawn_sim(|_| {}).await;
    let response = sim
        .admin_post(
            &format!("/_sim/tenants/{TENANT_ID}/jobs"),
            serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301,
                "campaign_id": 31, "partner_lead_call_id": 9003,
                "appointment": {"start": "2026-11-26T15:00:00Z", "end": "2026-11-26T17:00:00Z"}}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let job: serde_json::Value = response.json().await.unwrap();
    let call = sim
        .admin_get(&format!("/_sim/tenants/{TENANT_ID}/calls/9003"))
        .await;
    assert_eq!(call["job_id"], job["id"]);
    assert_eq!(call["call_type"], "Booked");
    assert_eq!(job["partnerLeadCallId"], 9003);
    assert_eq!(job["appointmentCount"], 1);
}

#[tokio::test]
async fn a_csr_reclassifying_a_call_changes_what_servicetitan_answers() {
    let sim = spawn_sim(|_| {}).await;
    let before = sim.admin.call(TENANT_ID, 9001).await;
    assert_eq!(before["call_type"], "Booked");
    // The status of a CSR's edit of call `id`'s type in tenant `tenant`.
    let edit = async |tenant: u64, id: i64, call_type: &str| {
        let body = serde_json::json!({ "call_type": call_type });
        sim.admin.patch_call(tenant, id, &body).await.0
    };
    assert_eq!(edit(TENANT_ID, 9001, "Unbooked").await, 200);
    let after = sim.admin.call(TENANT_ID, 9001).await;
    assert_eq!(after["call_type"], "Unbooked");
    assert!(after["version"].as_i64() > before["version"].as_i64());
    assert_ne!(after["modified_on"], before["modified_on"]);

    // What ServiceTitan's API reads back is the CSR's change.
    let call = sim.client(100).get_call(9001).await.unwrap();
    assert_eq!(call.lead_call.call_type, Some(CallType::Unbooked));

    let unknown_call = edit(TENANT_ID, 424242, "Unbooked").await;
    assert_eq!(unknown_call, 404);
    let unknown_tenant = edit(1, 9001, "Unbooked").await;
    assert_eq!(unknown_tenant, 404);
    let bad = edit(TENANT_ID, 9001, "Maybe").await;
    assert!(bad.is_client_error());
}

#[tokio::test]
async fn a_withheld_scope_leaves_the_token_and_refuses_its_operations() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(100);
    let all = client.granted_scopes().await.unwrap().unwrap();
    assert!(all.iter().any(|s| s == "tn.stt.tagtypes:r"), "{all:?}");
    assert_eq!(
        sim.admin
            .withhold_scopes(TENANT_ID, &["tn.stt.tagtypes:r"])
            .await,
        204
    );
    // Refused at once, whatever token is held; a fresh token no longer names it.
    let err = client.tag_types(1, 10).await.unwrap_err();
    assert_eq!(err.status, Some(403), "{err}");
    assert!(client.call_reasons(1, 10).await.is_ok());
    let fresh = sim.client(100).granted_scopes().await.unwrap().unwrap();
    assert!(!fresh.iter().any(|s| s == "tn.stt.tagtypes:r"), "{fresh:?}");
    assert_eq!(
        sim.admin.withhold_scopes(TENANT_ID, &["tn.nope:r"]).await,
        400,
        "an unknown scope is refused"
    );
}
