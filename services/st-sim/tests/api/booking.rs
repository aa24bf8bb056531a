//! What booking needs of st-sim, through the real client: capacity in hours per arrival
//! window (technician shift hours less job-type durations, the ideal booking percentage),
//! and a job create as strict as ServiceTitan's.

use crate::helpers::spawn_sim;
use switchboard_servicetitan::ErrorKind;
use switchboard_servicetitan::models::{CapacityRequest, CreateJob, NewAppointment};

fn create(start: &str, end: &str) -> CreateJob {
    CreateJob {
        customer_id: 101,
        location_id: 201,
        business_unit_id: 21,
        job_type_id: 301,
        priority: "Normal".into(),
        campaign_id: 31,
        appointments: vec![NewAppointment {
            start: start.into(),
            end: end.into(),
            arrival_window_start: None,
            arrival_window_end: None,
            technician_ids: None,
        }],
        summary: None,
        partner_lead_call_id: None,
        external_data: None,
    }
}

#[tokio::test]
async fn capacity_is_hours_per_arrival_window_and_a_booking_takes_its_job_types_duration() {
    // 2026-11-24: three technicians on shift 14:00–23:00 UTC (the seed's own week).
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(100);
    let ask = CapacityRequest {
        starts_on_or_after: "2026-11-24T00:00:00Z".into(),
        ends_on_or_before: "2026-11-25T00:00:00Z".into(),
        business_unit_ids: Some(vec![21]),
        job_type_id: Some(301),
        skill_based_availability: false,
    };
    let before = client.capacity(&ask).await.unwrap();
    // The arrival windows start at 08:00 … 16:00 (here UTC): 14:00–16:00 has every
    // technician for 2 h; 08:00–10:00 nobody.
    let slot = |c: &switchboard_servicetitan::models::CapacityResponse, start: &str| {
        c.availabilities
            .iter()
            .find(|a| a.start_utc.starts_with(start))
            .cloned()
            .unwrap()
    };
    let afternoon = slot(&before, "2026-11-24T14:00");
    assert_eq!(afternoon.total_availability, 6.0);
    assert!(afternoon.is_available);
    assert_eq!(afternoon.technicians.len(), 3);
    let morning = slot(&before, "2026-11-24T08:00");
    assert_eq!(morning.total_availability, 0.0);
    assert!(!morning.is_available && morning.is_exceeding_ideal_booking_percentage);

    // An AC Repair (2 h) booked there takes 2 h; a second one goes past the ideal 80 %.
    let job = client
        .create_job(&create("2026-11-24T14:00:00Z", "2026-11-24T16:00:00Z"))
        .await
        .unwrap();
    assert!(job.first_appointment_id > 0);
    let after = slot(&client.capacity(&ask).await.unwrap(), "2026-11-24T14:00");
    let taken = afternoon.open_availability - after.open_availability;
    assert!((taken - 2.0).abs() < 1e-9, "took {taken} h");
    assert!(after.is_available);
    assert!(
        after.is_exceeding_ideal_booking_percentage,
        "4 of 6 h after one more: {after:?}"
    );
}

#[tokio::test]
async fn a_job_create_is_as_strict_as_servicetitans() {
    let sim = spawn_sim(|_| {}).await;
    let client = sim.client(100);
    let refused = |job: CreateJob| {
        let client = client.clone();
        async move { client.create_job(&job).await.unwrap_err() }
    };
    let mut unknown_location = create("2026-11-24T14:00:00Z", "2026-11-24T16:00:00Z");
    unknown_location.location_id = 999;
    let e = refused(unknown_location).await;
    assert_eq!((e.kind, e.status), (ErrorKind::Permanent, Some(400)));
    assert!(e.to_string().contains("locationId"), "{e}");
    let mut no_appointment = create("2026-11-24T14:00:00Z", "2026-11-24T16:00:00Z");
    no_appointment.appointments.clear();
    assert!(
        refused(no_appointment)
            .await
            .to_string()
            .contains("appointments")
    );
    let mut bad_priority = create("2026-11-24T14:00:00Z", "2026-11-24T16:00:00Z");
    bad_priority.priority = "ASAP".into();
    assert!(refused(bad_priority).await.to_string().contains("priority"));
    // A field the schema does not have is refused, as ServiceTitan does.
    let body = serde_json::json!({"customerId": 101, "locationId": 201, "businessUnitId": 21,
        "jobTypeId": 301, "priority": "Normal", "campaignId": 31, "color": "red",
        "appointments": [{"start": "2026-11-24T14:00:00Z", "end": "2026-11-24T16:00:00Z"}]});
    let token = sim.token().await;
    let response = sim
        .http
        .post(format!(
            "{}/jpm/v2/tenant/{}/jobs",
            sim.address,
            crate::helpers::TENANT_ID
        ))
        .bearer_auth(token)
        .header("ST-App-Key", crate::helpers::APP_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(sim.count("create job").await, 4);
    let jobs = sim.admin_get("/_sim/state").await["tenants"][0]["jobs"].clone();
    assert_eq!(jobs.as_array().unwrap().len(), 3, "nothing was created");
}
