//! The acceptance tests of the ServiceTitan client, against st-sim over real HTTP.

use crate::helpers::{TENANT_ID, spawn_sim};
use std::time::{Duration, Instant};
use switchboard_servicetitan::models::{CallType, CapacityRequest, ReasonInput};
use switchboard_servicetitan::{CallChange, ErrorKind, all_pages, export_all, export_all_calls};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_serves_1000_calls_from_50_tasks() {
    let sim = spawn_sim(|s| s.settings.rate_limit_per_sec = 0).await;
    let client = sim.client(100_000);
    let mut tasks = Vec::new();
    for task in 0..50 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let id = 9001 + (task + i) % 10;
                client.get_call(id).await.expect("call");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.token_fetches(), 1);
    assert_eq!(sim.count("token").await, 1);
    assert_eq!(sim.count("get call").await, 1000);
}

#[tokio::test]
async fn tokens_are_refreshed_on_expiry_and_after_a_401() {
    let sim = spawn_sim(|s| s.settings.token_ttl_secs = 1).await;
    let client = sim.client(1000);
    client.get_call(9001).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.get_call(9001).await.unwrap();
    assert_eq!(
        client.token_fetches(),
        2,
        "refreshed before use once expired"
    );
    assert_eq!(
        sim.count("get call").await,
        2,
        "no 401 round trip: the expired token was never used"
    );

    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(1000);
    client.get_call(9001).await.unwrap();
    sim.admin_post("/_sim/tokens/expire", serde_json::json!({}))
        .await;
    client
        .get_call(9002)
        .await
        .expect("a 401 forces one refresh and one retry");
    assert_eq!(client.token_fetches(), 2);
    assert_eq!(sim.count("get call").await, 3, "the 401 and its retry");
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_permanent_error_naming_the_tenant() {
    let sim = spawn_sim(|_| {}).await;
    let mut settings = sim.settings(1000);
    settings.client_secret = "wrong-secret-value".to_owned().into();
    let client = switchboard_servicetitan::TenantClient::new(settings).unwrap();
    let err = client.get_call(9001).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    let msg = err.to_string();
    assert!(
        msg.contains("tenant demo") && msg.contains("client_secret"),
        "{msg}"
    );
    assert!(
        !msg.contains("wrong-secret-value"),
        "secrets never appear in errors: {msg}"
    );
    assert_eq!(sim.count("token").await, 1, "not retried");
    assert_eq!(sim.count("get call").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_ends_with_every_call_succeeding_and_the_limit_respected() {
    // The client paces at 18/s; st-sim enforces 20/s and counts every time it had to refuse.
    let sim = spawn_sim(|s| s.settings.rate_limit_per_sec = 20).await;
    let client = sim.client(18);
    sim.admin_post(
        "/_sim/faults",
        serde_json::json!({"force_status": 429, "force_count": 25, "retry_after_secs": 1}),
    )
    .await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..10 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..6 {
                client
                    .get_call(9001 + (task + i) % 10)
                    .await
                    .expect("succeeds after the storm");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // 60 successes + 25 forced 429s went through the sim's gate; its own 20/s limiter
    // never tripped, so the client never exceeded the rate.
    assert_eq!(sim.count("get call").await, 85);
    assert_eq!(
        sim.rate_limited().await,
        0,
        "the client exceeded the configured rate"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "85 requests at 18/s take over 4.5 s"
    );
}

#[tokio::test]
async fn a_500_burst_is_retried_and_a_400_is_not() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(1000);
    sim.admin_post(
        "/_sim/faults",
        serde_json::json!({"force_status": 500, "force_count": 3}),
    )
    .await;
    client
        .get_job(1001)
        .await
        .expect("retried through the burst");
    assert_eq!(sim.count("get job").await, 4);

    let export = export_all_calls(&client, None).await.unwrap().0;
    let record = export.iter().find(|c| c.id == 9003).unwrap();
    let current = client.current_call(record).await.unwrap();
    let change = CallChange {
        reason: Some(ReasonInput {
            name: "No Such Reason".into(),
            lead: true,
        }),
        ..CallChange::default()
    };
    let before = sim.count("update call").await;
    let err = client.update_call(&current, &change).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ErrorKind::Permanent, Some(400)));
    assert!(
        err.api_error
            .as_ref()
            .is_some_and(|e| e.errors.contains_key("reason.name")),
        "{err}"
    );
    assert_eq!(
        sim.count("update call").await,
        before + 1,
        "a 400 is not retried"
    );
}

#[tokio::test]
async fn a_call_update_keeps_every_field_it_did_not_mean_to_change() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(1000);
    let before_state = sim.admin_get("/_sim/state").await;
    // Call 9009 has an excuse memo, a tag-free record, a location with contacts.
    let before = sim
        .admin_get(&format!("/_sim/tenants/{TENANT_ID}/calls/9009"))
        .await;
    let export = export_all_calls(&client, None).await.unwrap().0;
    let current = client
        .current_call(export.iter().find(|c| c.id == 9009).unwrap())
        .await
        .unwrap();
    let change = CallChange {
        call_type: Some(Some(CallType::Unbooked)),
        tag: Some("Reviewed".into()),
        ..CallChange::default()
    };
    let updated = client.update_call(&current, &change).await.unwrap();
    assert_eq!(updated.call_type, Some(CallType::Unbooked));

    let after = sim
        .admin_get(&format!("/_sim/tenants/{TENANT_ID}/calls/9009"))
        .await;
    let mut expected = before.clone();
    expected["call_type"] = "Unbooked".into();
    expected["tag"] = "Reviewed".into();
    expected["modified_on"] = after["modified_on"].clone();
    expected["version"] = after["version"].clone();
    assert_eq!(
        after, expected,
        "only the changed fields (and modifiedOn) differ"
    );
    assert_eq!(
        before["excuse_memo"], "Caller dialed wrong business",
        "the memo survived"
    );
    assert_ne!(after["modified_on"], before["modified_on"]);

    // The customer and location written back are exactly what was there.
    let after_state = sim.admin_get("/_sim/state").await;
    let strip = |v: &serde_json::Value, key: &str| {
        let mut list = v["tenants"][0][key].clone();
        for item in list.as_array_mut().unwrap() {
            // modifiedOn and st-sim's export order change on every write.
            item.as_object_mut().unwrap().remove("modified_on");
            item.as_object_mut().unwrap().remove("version");
        }
        list
    };
    assert_eq!(
        strip(&before_state, "customers"),
        strip(&after_state, "customers")
    );
    assert_eq!(
        strip(&before_state, "locations"),
        strip(&after_state, "locations")
    );
}

#[tokio::test]
async fn export_follows_continue_from_to_the_end_and_resumes_from_a_saved_cursor() {
    let sim = spawn_sim(|s| s.settings.export_page_size = 3).await;
    let client = sim.client(1000);
    let (all, cursor) = export_all_calls(&client, None).await.unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(
        sim.count("export calls").await,
        4,
        "10 records in pages of 3"
    );
    let ids: std::collections::HashSet<i64> = all.iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 10, "each call once");

    let response = sim
        .admin_post(
            &format!("/_sim/tenants/{TENANT_ID}/calls"),
            serde_json::json!({"from": "+15125550999", "to": "+15125550000", "duration_secs": 130}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let (new, next_cursor) = export_all_calls(&client, Some(cursor.clone()))
        .await
        .unwrap();
    assert_eq!(new.len(), 1, "only what changed since the cursor");
    assert_eq!(new[0].from, "+15125550999");
    assert_eq!(
        new[0].call_type,
        Some(CallType::Unbooked),
        "classified like ServiceTitan: >= 60 s, no job"
    );
    assert_ne!(next_cursor, cursor);
    let (none, _) = export_all_calls(&client, Some(next_cursor)).await.unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_read_endpoints_and_appointment_confirmation() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(1000);
    let reasons = all_pages(2, |p, s| client.call_reasons(p, s))
        .await
        .unwrap();
    assert_eq!(reasons.len(), 7);
    assert!(
        reasons
            .iter()
            .any(|r| r.name == "Billing Question" && !r.is_lead)
    );
    assert_eq!(client.tag_types(1, 50).await.unwrap().data.len(), 4);
    assert_eq!(client.business_units(1, 50).await.unwrap().data.len(), 4);
    let job = client.get_job(1001).await.unwrap();
    assert_eq!(job.partner_lead_call_id, Some(9001));
    let jobs = client
        .list_jobs(vec![("ids", "1001,1003".into())])
        .await
        .unwrap();
    assert_eq!(jobs.data.len(), 2);
    let calls = client
        .list_calls(vec![("callerPhoneNumber", "+15125550101".into())])
        .await
        .unwrap();
    assert!(
        calls
            .data
            .iter()
            .all(|c| c.lead_call.from == "+15125550101")
            && !calls.data.is_empty()
    );

    client.confirm_appointment(5001).await.unwrap();
    let state = sim.admin_get("/_sim/state").await;
    assert_eq!(state["tenants"][0]["appointments"][0]["confirmed"], true);
    client.unconfirm_appointment(5001).await.unwrap();
    let state = sim.admin_get("/_sim/state").await;
    assert_eq!(state["tenants"][0]["appointments"][0]["confirmed"], false);
    let missing = client.confirm_appointment(999).await.unwrap_err();
    assert_eq!(
        (missing.kind, missing.status),
        (ErrorKind::Permanent, Some(404))
    );

    let capacity = client
        .capacity(&CapacityRequest {
            starts_on_or_after: "2026-11-24T00:00:00Z".into(),
            ends_on_or_before: "2026-11-25T00:00:00Z".into(),
            business_unit_ids: None,
            job_type_id: None,
            skill_based_availability: false,
        })
        .await
        .unwrap();
    assert_eq!(capacity.availabilities.len(), 5);
    // The seed's own shifts for technician 51 (the demo also generates daily shifts from
    // the day st-sim starts, outside this week).
    let shifts = client
        .technician_shifts(vec![
            ("technicianId", "51".into()),
            ("startsOnOrAfter", "2026-11-23T00:00:00Z".into()),
            ("endsOnOrBefore", "2026-11-28T00:00:00Z".into()),
        ])
        .await
        .unwrap();
    assert_eq!(shifts.data.len(), 5);
}

#[tokio::test]
async fn an_update_from_a_stale_export_is_refused_and_a_fresh_one_keeps_the_new_job() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(1000);
    let (export, _) = export_all_calls(&client, None).await.unwrap();
    let stale = export.iter().find(|c| c.id == 9003).unwrap().clone();
    // A CSR books a job from the call after our export was taken.
    let response = sim
        .admin_post(
            &format!("/_sim/tenants/{TENANT_ID}/jobs"),
            serde_json::json!({"customer_id": 103, "location_id": 203, "business_unit_id": 21, "job_type_id": 301,
                "campaign_id": 31, "lead_call_id": 9003}),
        )
        .await;
    let job: serde_json::Value = response.json().await.unwrap();
    let err = client.current_call(&stale).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "re-export and retry: {err}");
    assert!(err.to_string().contains("export"), "{err}");

    let (fresh, _) = export_all_calls(&client, None).await.unwrap();
    let current = client
        .current_call(fresh.iter().find(|c| c.id == 9003).unwrap())
        .await
        .unwrap();
    assert_eq!(current.job_id, job["id"].as_i64());
    let change = CallChange {
        tag: Some("Reviewed".into()),
        ..CallChange::default()
    };
    client.update_call(&current, &change).await.unwrap();
    let stored = sim
        .admin_get(&format!("/_sim/tenants/{TENANT_ID}/calls/9003"))
        .await;
    assert_eq!(
        stored["job_id"], job["id"],
        "the new job link survived the update"
    );
    assert_eq!(stored["call_type"], "Booked");
}

#[tokio::test]
async fn the_crm_exports_show_every_location_then_only_what_changed_with_removed_contacts() {
    let sim = spawn_sim(|s| s.settings.export_page_size = 4).await;
    let client = sim.client(1000);
    let fetch_locations = |c: Option<String>| {
        let client = client.clone();
        async move { client.export_locations(c.as_deref()).await }
    };
    let fetch_contacts = |c: Option<String>| {
        let client = client.clone();
        async move { client.export_location_contacts(c.as_deref()).await }
    };
    let (locations, cursor) = export_all(None, fetch_locations, |l| l.id).await.unwrap();
    assert_eq!(locations.len(), 6, "every seeded location, across pages");
    let (contacts, contacts_cursor) = export_all(None, fetch_contacts, |c| c.id).await.unwrap();
    assert_eq!(contacts.len(), 6);
    assert!(contacts.iter().all(|c| c.active));

    // A call update that drops location 203's contact: both exports show the change.
    let (export, _) = export_all_calls(&client, None).await.unwrap();
    let current = client
        .current_call(export.iter().find(|c| c.id == 9003).unwrap())
        .await
        .unwrap();
    let mut without_contacts = current.clone();
    without_contacts.location.contacts.clear();
    client
        .update_call(&without_contacts, &CallChange::default())
        .await
        .unwrap();
    let (changed, _) = export_all(Some(cursor), fetch_locations, |l| l.id)
        .await
        .unwrap();
    assert_eq!(
        changed.iter().map(|l| l.id).collect::<Vec<_>>(),
        [203],
        "only what changed"
    );
    let (changed, _) = export_all(Some(contacts_cursor), fetch_contacts, |c| c.id)
        .await
        .unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].location_id, 203);
    assert!(!changed[0].active, "a removed contact shows as inactive");
}
