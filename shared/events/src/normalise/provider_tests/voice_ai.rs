//! Voice-AI platforms' post-call reports and the agent's verdict.

use super::*;

#[test]
fn bland_post_call_report_and_the_agents_verdict() {
    let events = run(Format::Bland, fixture!("bland/post-call.json"));
    assert_eq!(
        kinds(&events),
        ["call.completed", "call.recording.ready", "call.outcome"]
    );
    let done: CallData = payload(&events[0]);
    assert_eq!(
        done.provider_call_id,
        "f26b85a8-e979-4a91-9070-cbc161d0e856"
    );
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+15619565858"), Some("+16284444907"))
    );
    assert_eq!(done.direction, Some(Direction::Outbound));
    assert_eq!(done.duration_secs, Some(196));
    assert_eq!(done.end_reason.as_deref(), Some("completed"));
    assert_eq!(done.started_at.as_deref(), Some("2026-10-08T13:56:44Z"));
    assert_eq!(done.ended_at.as_deref(), Some("2026-10-08T14:00:00Z"));
    let rec: RecordingData = payload(&events[1]);
    assert_eq!(
        done.recording_url.as_deref(),
        Some(rec.recording_url.as_str())
    );
    let outcome: OutcomeData = payload(&events[2]);
    assert_eq!(
        (outcome.outcome, outcome.servicetitan.job_id),
        (CallClass::Booked, Some(1003))
    );
    assert_eq!(outcome.reason.as_deref(), Some("Furnace diagnostic"));
    assert!(outcome.summary.unwrap_or_default().contains("furnace"));

    // call_length is in minutes; the verdict may come from the pathway's variables.
    let body = edited(fixture!("bland/post-call.json"), |v| {
        let call = v.as_object_mut().unwrap();
        call.remove("corrected_duration");
        call.remove("analysis");
        call.remove("recording_url");
        v["variables"]["outcome"] = "unbooked".into();
    });
    let events = run(Format::Bland, &body);
    assert_eq!(kinds(&events), ["call.completed", "call.outcome"]);
    let done: CallData = payload(&events[0]);
    assert_eq!(done.duration_secs, Some(196), "3.27 minutes");
    assert_eq!(events[1].data["outcome"], "unbooked");

    assert_unrecognized(
        Format::Bland,
        br#"{"call_id":"x","category":"latency","message":"LLM 420ms"}"#,
    );
    assert_malformed(Format::Bland, br#"{"status":"completed"}"#);
}

#[test]
fn elevenlabs_post_call_webhooks() {
    let events = run(
        Format::ElevenLabs,
        fixture!("elevenlabs/post_call_transcription.json"),
    );
    assert_eq!(kinds(&events), ["call.completed", "call.outcome"]);
    let done: CallData = payload(&events[0]);
    assert_eq!(done.provider_call_id, "abc");
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+15125550101"), Some("+15125550000"))
    );
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.started_at.as_deref(), Some("2025-02-14T12:48:17Z"));
    assert_eq!(done.answered_at.as_deref(), Some("2025-02-14T12:48:17Z"));
    assert_eq!(done.ended_at.as_deref(), Some("2025-02-14T12:48:39Z"));
    assert_eq!(done.duration_secs, Some(22));
    assert_eq!(
        done.end_reason.as_deref(),
        Some("Call ended by remote party")
    );
    let outcome: OutcomeData = payload(&events[1]);
    assert_eq!(
        (outcome.outcome, outcome.servicetitan.job_id),
        (CallClass::Booked, Some(1004))
    );
    assert_eq!(outcome.reason.as_deref(), Some("AC not cooling"));
    assert!(
        outcome
            .summary
            .unwrap_or_default()
            .contains("AC stopped cooling")
    );

    // A web call: no phone numbers, no verdict collected.
    let web = edited(fixture!("elevenlabs/post_call_transcription.json"), |v| {
        v["data"]["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("phone_call");
        v["data"]["analysis"]["data_collection_results"] = json!({});
    });
    let events = run(Format::ElevenLabs, &web);
    assert_eq!(kinds(&events), ["call.completed"]);
    let data: CallData = payload(&events[0]);
    assert_eq!((data.from, data.to, data.direction), (None, None, None));

    assert!(
        run(
            Format::ElevenLabs,
            fixture!("elevenlabs/post_call_audio.json")
        )
        .is_empty()
    );

    for (body, from, to) in [
        (
            fixture!("elevenlabs/call_initiation_failure-twilio.json"),
            "+11111111111",
            "+441111111111",
        ),
        (
            fixture!("elevenlabs/call_initiation_failure-sip.json"),
            "+441111111111",
            "+11111111111",
        ),
    ] {
        let events = run(Format::ElevenLabs, body);
        assert_eq!(kinds(&events), ["call.completed"]);
        let data: CallData = payload(&events[0]);
        assert_eq!(
            (data.from.as_deref(), data.to.as_deref()),
            (Some(from), Some(to))
        );
        assert_eq!(data.end_reason.as_deref(), Some("busy"));
        assert_eq!(data.ended_at.as_deref(), Some("2025-10-08T13:54:12Z"));
        assert_eq!(data.direction, Some(Direction::Outbound));
    }

    assert_unrecognized(
        Format::ElevenLabs,
        br#"{"type":"post_call_summary","event_timestamp":1739537297,"data":{"conversation_id":"abc"}}"#,
    );
    assert_malformed(
        Format::ElevenLabs,
        br#"{"type":"post_call_transcription","data":{"agent_id":"xyz"}}"#,
    );
}

#[test]
fn synthflow_post_call_webhook_and_the_agents_verdict() {
    let events = run(Format::Synthflow, fixture!("synthflow/post-call.json"));
    assert_eq!(kinds(&events), ["call.completed", "call.outcome"]);
    let done: CallData = payload(&events[0]);
    assert_eq!(done.provider_call_id, "1711646262471x768387119913843100");
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (None, Some("+1234334546")),
        "the lead is the number the agent called"
    );
    assert_eq!(done.duration_secs, Some(32));
    assert_eq!(
        done.started_at.as_deref(),
        Some("2024-03-28T17:17:46.205134Z")
    );
    assert_eq!(
        done.ended_at.as_deref(),
        Some("2024-03-28T17:18:18.205134Z")
    );
    assert_eq!(done.end_reason.as_deref(), Some("completed"));
    let outcome: OutcomeData = payload(&events[1]);
    assert_eq!(outcome.outcome, CallClass::NotLead);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("Wants to buy a car, not sell a property")
    );

    // The verdict from the analysis or an information extractor; a recording when sent.
    for (edit, want) in [
        (json!({"analysis": {"outcome": "booked"}}), "booked"),
        (
            json!({"executed_actions": {"extract_outcome": {"return_value": {"outcome": "unbooked"}}}}),
            "unbooked",
        ),
    ] {
        let body = edited(fixture!("synthflow/post-call.json"), |v| {
            let call = v.as_object_mut().unwrap();
            call.remove("collected_variables");
            call.extend(edit.as_object().cloned().unwrap_or_default());
            v["call"]["recording_url"] = "https://recordings.synthflow.ai/c.wav".into();
        });
        let events = run(Format::Synthflow, &body);
        assert_eq!(
            kinds(&events),
            ["call.completed", "call.recording.ready", "call.outcome"]
        );
        assert_eq!(events[2].data["outcome"], want);
    }

    let live = edited(fixture!("synthflow/post-call.json"), |v| {
        v["call"]["status"] = "in-progress".into();
    });
    assert_unrecognized(Format::Synthflow, &live);
    assert_unrecognized(
        Format::Synthflow,
        br#"{"call_id":"c1","from_number":"+15125550101","to_number":"+15125550000"}"#,
    );
    assert_malformed(Format::Synthflow, br#"{"call":{"status":"completed"}}"#);
}
