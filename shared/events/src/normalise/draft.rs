//! Drafts: events before their envelope (`normalise` gives them ids, times and the
//! source), and the two shapes every call-lifecycle normaliser builds the same way.

use crate::types::{CallData, EventType, RecordingData};

/// An event before its envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Draft {
    pub kind: EventType,
    pub subject: Option<String>,
    pub time: Option<String>,
    pub data: serde_json::Value,
}

impl Draft {
    pub(crate) fn new<T: serde::Serialize>(
        kind: EventType,
        subject: Option<String>,
        time: Option<String>,
        data: &T,
    ) -> Self {
        Self {
            kind,
            subject,
            time,
            data: serde_json::to_value(data).expect("event data serializes"),
        }
    }
}

impl Draft {
    /// `call.recording.ready` for `provider`'s call `call_id`, at `time`.
    pub(crate) fn recording(
        provider: &str,
        call_id: &str,
        url: String,
        duration_secs: Option<u64>,
        time: Option<String>,
    ) -> Self {
        let data = RecordingData {
            provider: provider.to_owned(),
            provider_call_id: call_id.to_owned(),
            recording_url: url,
            duration_secs,
        };
        Self::new(
            EventType::CallRecordingReady,
            Some(call_id.to_owned()),
            time,
            &data,
        )
    }
}

/// `call.completed` for `data` at its end, then `call.recording.ready` when it names a
/// recording (`recording_secs` long, where known): what a post-call report gives.
pub(crate) fn completed_with_recording(data: &CallData, recording_secs: Option<u64>) -> Vec<Draft> {
    let mut drafts = vec![Draft::new(
        EventType::CallCompleted,
        Some(data.provider_call_id.clone()),
        data.ended_at.clone(),
        data,
    )];
    if let Some(url) = data.recording_url.clone() {
        drafts.push(Draft::recording(
            &data.provider,
            &data.provider_call_id,
            url,
            recording_secs,
            data.ended_at.clone(),
        ));
    }
    drafts
}
