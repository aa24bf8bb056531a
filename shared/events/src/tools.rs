//! The voice agent's tool calls: Switchboard's own `agent` tool format (docs/booking.md),
//! which is also what ingest sends the booking service over NATS request-reply on
//! `tools.{tenant}.{tool}`. Vapi's and Retell's tool calls are translated into it at
//! ingest, and the reply back into theirs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The tools the booking service answers.
pub const TOOLS: [&str; 6] = [
    "find_customer",
    "create_customer",
    "find_availability",
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
];

/// `tools.{tenant}.{tool}`.
pub fn tools_subject(tenant: &str, tool: &str) -> String {
    format!("tools.{tenant}.{tool}")
}

/// The call the agent is on when it uses a tool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The agent's (provider's) call id.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// One tool call: `{"tool", "request_id", "call", "arguments"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRequest {
    pub tool: String,
    /// The idempotency key: the same id and tool give the first answer again.
    pub request_id: String,
    #[serde(default)]
    pub call: ToolCall,
    #[serde(default)]
    pub arguments: Value,
}

/// A domain error's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArguments,
    NotFound,
    UnknownTool,
    WindowFull,
    ServicetitanUnavailable,
}

/// `{"code", "message", "alternatives"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    /// With `window_full`: windows that do have room, as `find_availability` gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternatives: Option<Vec<Value>>,
}

impl ToolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ToolError {
            code,
            message: message.into(),
            alternatives: None,
        }
    }
}

/// The answer: `{"request_id", "result"}` or `{"request_id", "error"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReply {
    pub request_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ToolError>,
}

impl ToolReply {
    pub fn ok(request_id: &str, result: Value) -> Self {
        ToolReply {
            request_id: request_id.to_owned(),
            result: Some(result),
            error: None,
        }
    }

    pub fn err(request_id: &str, error: ToolError) -> Self {
        ToolReply {
            request_id: request_id.to_owned(),
            result: None,
            error: Some(error),
        }
    }
}
