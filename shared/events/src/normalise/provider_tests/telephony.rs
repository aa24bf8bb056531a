//! Telephony providers' call-lifecycle webhooks.

use super::*;

#[test]
fn plivo_callbacks() {
    let events = flow(
        Format::Plivo,
        &[
            fixture!("plivo/1-ringing.form"),
            fixture!("plivo/2-in-progress.form"),
            fixture!("plivo/3-completed.form"),
            fixture!("plivo/4-record.form"),
        ],
    );
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(started.to.as_deref(), Some("+14155550100"), "E.164");
    let done: CallData = payload(&events[2]);
    assert_eq!(done.provider, "plivo");
    assert_eq!(
        done.provider_call_id,
        "97ceeb52-58b6-11e1-86da-77300b68f8bb"
    );
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+14155550199"), Some("+14155550100"))
    );
    assert_eq!(done.direction, Some(Direction::Outbound));
    assert_eq!(done.duration_secs, Some(300));
    assert_eq!(done.end_reason.as_deref(), Some("NORMAL_CLEARING"));
    assert_eq!(
        events[2].time, "2026-11-23T15:00:00Z",
        "no time in the callback: received-at"
    );
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(rec.provider_call_id, done.provider_call_id);
    assert_eq!(rec.duration_secs, Some(295));
    assert_eq!(
        rec.recording_url,
        "https://media.plivo.com/v1/Account/MA2025RK4E639VJFZAGV/Recording/e4f1a3a0-58b6-11e1-86da-77300b68f8bb.mp3"
    );

    let no_answer = run(Format::Plivo, fixture!("plivo/no-answer.form"));
    let data: CallData = payload(&no_answer[0]);
    assert_eq!(
        (no_answer[0].kind.as_str(), data.end_reason.as_deref()),
        ("call.completed", Some("NO_ANSWER"))
    );

    assert_unrecognized(Format::Plivo, b"CallUUID=u&CallStatus=queued");
    assert_unrecognized(Format::Plivo, b"CallUUID=u&Digits=1");
    assert_malformed(Format::Plivo, b"CallStatus=completed&From=%2B14155550199");
}

#[test]
fn vonage_events() {
    let events = flow(
        Format::Vonage,
        &[
            fixture!("vonage/1-started.json"),
            fixture!("vonage/2-ringing.json"),
            fixture!("vonage/3-answered.json"),
            fixture!("vonage/4-completed.json"),
            fixture!("vonage/5-record.json"),
        ],
    );
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(started.started_at.as_deref(), Some("2020-01-01T12:00:00Z"));
    let answered: CallData = payload(&events[1]);
    assert_eq!(
        answered.answered_at.as_deref(),
        Some("2020-01-01T12:00:05Z")
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(
        done.provider_call_id,
        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    );
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+442079460000"), Some("+447700900000")),
        "international digits get their +"
    );
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.duration_secs, Some(300));
    assert_eq!(done.end_reason.as_deref(), Some("completed"));
    assert_eq!(done.started_at.as_deref(), Some("2020-01-01T12:00:05Z"));
    assert_eq!(done.ended_at.as_deref(), Some("2020-01-01T12:05:05Z"));
    assert_eq!(events[2].time, "2020-01-01T12:05:05Z");
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(
        rec.provider_call_id,
        "CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    );
    assert_eq!(rec.duration_secs, Some(300));
    assert_eq!(
        rec.recording_url,
        "https://api.nexmo.com/v1/files/bbbbbbbb-aaaa-cccc-dddd-0123456789ab"
    );

    let busy = run(Format::Vonage, fixture!("vonage/busy.json"));
    let data: CallData = payload(&busy[0]);
    assert_eq!(
        (busy[0].kind.as_str(), data.end_reason.as_deref()),
        ("call.completed", Some("busy"))
    );

    assert_unrecognized(
        Format::Vonage,
        br#"{"dtmf":"42","timed_out":true,"uuid":"u","conversation_uuid":"CON-c","timestamp":"2020-01-01T12:00:00.000Z"}"#,
    );
    assert_unrecognized(Format::Vonage, br#"{"uuid":"u","status":"transferring"}"#);
    assert_malformed(
        Format::Vonage,
        br#"{"status":"answered","from":"442079460000"}"#,
    );
    assert_malformed(Format::Vonage, b"{not json");
}

/// `claims` as Dialpad sends them with a webhook secret: an HS256 JWT (its signature is
/// checked by ingest, not here).
fn jwt(claims: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{}",
        b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(claims),
        b64.encode(b"signature checked by ingest")
    )
    .into_bytes()
}

#[test]
fn dialpad_call_events_signed_or_not() {
    let bodies = [
        fixture!("dialpad/1-ringing.json"),
        fixture!("dialpad/2-connected.json"),
        fixture!("dialpad/3-hangup.json"),
        fixture!("dialpad/4-recording.json"),
    ];
    let events = flow(Format::Dialpad, &bodies);
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let signed: Vec<Vec<u8>> = bodies.iter().map(|b| jwt(b)).collect();
    let signed: Vec<&[u8]> = signed.iter().map(Vec::as_slice).collect();
    let from_jwt = flow(Format::Dialpad, &signed);
    assert_eq!(
        from_jwt.iter().map(|e| &e.data).collect::<Vec<_>>(),
        events.iter().map(|e| &e.data).collect::<Vec<_>>(),
        "a JWT body is read as its claims"
    );

    let started: CallData = payload(&events[0]);
    assert_eq!(
        started.started_at.as_deref(),
        Some("2024-11-14T22:40:39.404Z")
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(done.provider_call_id, "6421977457180672");
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+15102609745"), Some("+15106666687"))
    );
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.answered_at.as_deref(), Some("2024-11-14T22:40:45Z"));
    assert_eq!(done.ended_at.as_deref(), Some("2024-11-14T22:45:45Z"));
    assert_eq!(done.duration_secs, Some(300), "milliseconds to seconds");
    assert_eq!(done.end_reason.as_deref(), Some("completed"));
    assert_eq!(events[2].time, "2024-11-14T22:45:46.994Z");
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(rec.recording_url, "https://dialpad.com/r/5096381742923776");

    // The real capture of a call nobody answered.
    let missed = run(Format::Dialpad, fixture!("dialpad/missed-hangup.json"));
    let data: CallData = payload(&missed[0]);
    assert_eq!(missed[0].kind, "call.completed");
    assert_eq!(
        (
            data.answered_at,
            data.end_reason.as_deref(),
            data.duration_secs
        ),
        (None, Some("no-answer"), Some(0))
    );
    assert_eq!(data.ended_at.as_deref(), Some("2024-11-14T22:40:48.355Z"));

    // Ids past 2^53 stay exact.
    let big = edited(fixture!("dialpad/1-ringing.json"), |v| {
        v["call_id"] = json!(9_007_199_254_740_993_u64);
    });
    let data: CallData = payload(&run(Format::Dialpad, &jwt(&big))[0]);
    assert_eq!(data.provider_call_id, "9007199254740993");

    assert!(run(Format::Dialpad, br#"{"call_id":1,"state":"hold"}"#).is_empty());
    assert_unrecognized(Format::Dialpad, br#"{"call_id":1,"state":"recap_outcome"}"#);
    assert_unrecognized(
        Format::Dialpad,
        &jwt(br#"{"call_id":1,"state":"teleport"}"#),
    );
    assert_malformed(Format::Dialpad, br#"{"state":"hangup"}"#);
    assert_malformed(Format::Dialpad, b"not-a-jwt");
    assert_malformed(Format::Dialpad, b"eyJhbGciOiJIUzI1NiJ9.!!!.sig");
}

#[test]
fn ringcentral_telephony_sessions() {
    let events = flow(
        Format::RingCentral,
        &[
            fixture!("ringcentral/1-setup.json"),
            fixture!("ringcentral/hold.json"),
            fixture!("ringcentral/2-answered.json"),
            fixture!("ringcentral/3-disconnected.json"),
        ],
    );
    assert_eq!(
        kinds(&events),
        ["call.started", "call.answered", "call.completed"]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(
        started.started_at.as_deref(),
        Some("2020-06-14T19:27:18.34Z")
    );
    let answered: CallData = payload(&events[1]);
    assert_eq!(
        answered.answered_at.as_deref(),
        Some("2020-06-14T19:27:24.12Z")
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(done.provider_call_id, "s-a6abd24ca6774373a8120a3390d3cbe8");
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+14083388064"), Some("+19043014558"))
    );
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.ended_at.as_deref(), Some("2020-06-14T19:32:01.877Z"));
    assert_eq!(done.end_reason.as_deref(), Some("CallFinished"));
    assert_eq!(events[2].time, "2020-06-14T19:32:01.877Z");

    let proceeding = edited(fixture!("ringcentral/1-setup.json"), |v| {
        v["body"]["parties"][0]["status"]["code"] = "Proceeding".into();
    });
    assert_eq!(
        kinds(&run(Format::RingCentral, &proceeding)),
        ["call.started"]
    );
    let other_topic = edited(fixture!("ringcentral/1-setup.json"), |v| {
        v["event"] = "/restapi/v1.0/account/~/extension/~/message-store".into();
    });
    assert_unrecognized(Format::RingCentral, &other_topic);
    let new_code = edited(fixture!("ringcentral/1-setup.json"), |v| {
        v["body"]["parties"][0]["status"]["code"] = "Teleported".into();
    });
    assert_unrecognized(Format::RingCentral, &new_code);
    let no_session = edited(fixture!("ringcentral/1-setup.json"), |v| {
        v["body"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k == "parties");
    });
    assert_malformed(Format::RingCentral, &no_session);
}

#[test]
fn bandwidth_voice_webhooks() {
    let events = flow(
        Format::Bandwidth,
        &[
            fixture!("bandwidth/1-initiate.json"),
            fixture!("bandwidth/2-answer.json"),
            fixture!("bandwidth/3-disconnect.json"),
            fixture!("bandwidth/4-recordingAvailable.json"),
        ],
    );
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(
        started.started_at.as_deref(),
        Some("2019-06-20T15:54:22.234Z")
    );
    assert_eq!(started.direction, Some(Direction::Inbound));
    let answered: CallData = payload(&events[1]);
    assert_eq!(
        answered.answered_at.as_deref(),
        Some("2019-06-20T15:54:25.432Z")
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(
        done.provider_call_id,
        "c-95ac8d6e-1a31c52e-b38f-4198-93c1-51633ec68f8d"
    );
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+15551112222"), Some("+15553334444"))
    );
    assert_eq!(done.duration_secs, Some(91), "endTime - startTime");
    assert_eq!(done.end_reason.as_deref(), Some("hangup"));
    assert_eq!(done.ended_at.as_deref(), Some("2019-06-20T15:55:54.123Z"));
    assert_eq!(events[2].time, "2019-06-20T15:55:55.533Z");
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(rec.duration_secs, Some(20), "PT20.056S");
    assert!(
        rec.recording_url
            .ends_with("/recordings/r-115da407-e3d9-4ea7-889f-5f4ad7386a80/media")
    );
    assert_eq!(
        events[3].time, "2019-09-13T16:49:40.5Z",
        "a time written without its zone is UTC"
    );

    let busy = run(
        Format::Bandwidth,
        fixture!("bandwidth/disconnect-busy.json"),
    );
    let data: CallData = payload(&busy[0]);
    assert_eq!(
        (data.answered_at, data.end_reason.as_deref()),
        (None, Some("busy"))
    );

    let longer = edited(fixture!("bandwidth/4-recordingAvailable.json"), |v| {
        v["duration"] = "PT1M5.6S".into();
    });
    let rec: RecordingData = payload(&run(Format::Bandwidth, &longer)[0]);
    assert_eq!(rec.duration_secs, Some(66));
    for (field, value) in [("status", "error"), ("eventType", "recordingComplete")] {
        let body = edited(fixture!("bandwidth/4-recordingAvailable.json"), |v| {
            v[field] = value.into();
        });
        assert!(run(Format::Bandwidth, &body).is_empty(), "{field}={value}");
    }

    assert_unrecognized(
        Format::Bandwidth,
        br#"{"eventType":"gather","callId":"c-1","digits":"1"}"#,
    );
    assert_malformed(Format::Bandwidth, br#"{"eventType":"answer"}"#);
}

#[test]
fn aircall_call_events() {
    let events = flow(
        Format::Aircall,
        &[
            fixture!("aircall/1-call.created.json"),
            fixture!("aircall/2-call.answered.json"),
            fixture!("aircall/3-call.hungup.json"),
            fixture!("aircall/4-call.ended.json"),
        ],
    );
    assert_eq!(
        kinds(&events),
        [
            "call.started",
            "call.answered",
            "call.completed",
            "call.recording.ready"
        ]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(started.started_at.as_deref(), Some("2024-11-26T12:08:15Z"));
    assert_eq!(
        (started.from.as_deref(), started.to.as_deref()),
        (Some("+33176360695"), Some("+18001234567")),
        "outbound: from the Aircall line to the formatted raw_digits, in E.164"
    );
    assert_eq!(started.direction, Some(Direction::Outbound));
    let answered: CallData = payload(&events[1]);
    assert_eq!(
        answered.answered_at.as_deref(),
        Some("2024-11-26T12:08:25Z")
    );
    let done: CallData = payload(&events[2]);
    assert_eq!(done.provider_call_id, "123");
    assert_eq!(done.ended_at.as_deref(), Some("2024-11-26T12:13:25Z"));
    assert_eq!(done.duration_secs, Some(310));
    assert_eq!(events[2].time, "2024-11-26T12:13:25Z");
    let rec: RecordingData = payload(&events[3]);
    assert_eq!(
        done.recording_url.as_deref(),
        Some(rec.recording_url.as_str())
    );
    assert!(rec.recording_url.starts_with("https://aircall-recordings."));

    let inbound = edited(fixture!("aircall/1-call.created.json"), |v| {
        v["data"]["direction"] = "inbound".into();
    });
    let data: CallData = payload(&run(Format::Aircall, &inbound)[0]);
    assert_eq!(
        (data.from.as_deref(), data.to.as_deref()),
        (Some("+18001234567"), Some("+33176360695"))
    );

    let tagged = edited(fixture!("aircall/4-call.ended.json"), |v| {
        v["event"] = "call.tagged".into();
    });
    assert!(run(Format::Aircall, &tagged).is_empty());
    let voicemail = edited(fixture!("aircall/4-call.ended.json"), |v| {
        v["event"] = "call.voicemail_left".into();
    });
    assert_unrecognized(Format::Aircall, &voicemail);
    assert_unrecognized(Format::Aircall, fixture!("aircall/number.closed.json"));
    assert_malformed(
        Format::Aircall,
        br#"{"resource":"call","event":"call.created","data":{"direction":"inbound"}}"#,
    );
}

#[test]
fn callrail_call_webhooks() {
    let events = flow(
        Format::CallRail,
        &[
            fixture!("callrail/1-pre-call.json"),
            fixture!("callrail/2-post-call.json"),
        ],
    );
    assert_eq!(
        kinds(&events),
        ["call.started", "call.completed", "call.recording.ready"]
    );
    let started: CallData = payload(&events[0]);
    assert_eq!(started.provider_call_id, "766970532");
    assert_eq!(
        started.started_at.as_deref(),
        Some("2018-02-19T18:41:00.236Z")
    );
    assert_eq!(events[0].time, "2018-02-19T18:41:00.236Z");
    let done: CallData = payload(&events[1]);
    assert_eq!(done.provider_call_id, "766970532");
    assert_eq!(
        (done.from.as_deref(), done.to.as_deref()),
        (Some("+12148654559"), Some("+14045558514"))
    );
    assert_eq!(done.direction, Some(Direction::Inbound));
    assert_eq!(done.duration_secs, Some(13), "a string of seconds");
    assert_eq!(done.ended_at.as_deref(), Some("2018-02-19T18:41:13.236Z"));
    assert_eq!(done.end_reason.as_deref(), Some("voicemail"));
    let rec: RecordingData = payload(&events[2]);
    assert_eq!(
        rec.recording_url,
        "https://app.callrail.com/calls/766970532/recording/redirect?access_key=aaaaccccddddeeee"
    );
    assert_eq!(rec.duration_secs, Some(8));

    let current = edited(fixture!("callrail/2-post-call.json"), |v| {
        v["resource_id"] = "CALb14811eb573645c6989000cf426b9772".into();
    });
    let data: CallData = payload(&run(Format::CallRail, &current)[0]);
    assert_eq!(data.provider_call_id, "CALb14811eb573645c6989000cf426b9772");

    let modified = |change: &str| {
        edited(fixture!("callrail/2-post-call.json"), |v| {
            v["changes"] = json!([change]);
        })
    };
    assert_eq!(
        kinds(&run(Format::CallRail, &modified("recording_duration"))),
        ["call.recording.ready"]
    );
    assert!(run(Format::CallRail, &modified("tags")).is_empty());

    assert_unrecognized(
        Format::CallRail,
        br#"{"resource_id":"FORb14811eb573645c6989000cf426b9772","form_data":{}}"#,
    );
    assert_malformed(Format::CallRail, br#"{"answered":false,"duration":0}"#);
}
