//! `POST /v1/tools/{tenant}/{source}`: the voice agent's tool calls, answered while the
//! caller is on the line.
//!
//! The delivery is verified exactly as a webhook is (same route, scheme and secrets: an
//! unknown name is 404, a bad signature 401), kept on INBOUND for audit (marked so the
//! router only acknowledges it), and then each tool call in it is asked of the booking
//! service over NATS request-reply on `tools.{tenant}.{tool}`, waiting at most
//! `ingest.tools_timeout_ms`. The answer is written in the source's format:
//!
//! - `agent` (Switchboard's own, docs/booking.md): the booking service's reply as is, HTTP
//!   200; with no booking service or no reply in time, 503 with `Retry-After`.
//! - `vapi` (Vapi's `tool-calls` server message): `{"results": [{"toolCallId", "name",
//!   "result" | "error"}]}`, always HTTP 200 (Vapi ignores other bodies); a missing answer is
//!   an `error` the assistant can say, asking the caller to hold on or be called back.
//! - `retell` (Retell's custom function): the reply as JSON, HTTP 200; a missing answer is
//!   a JSON message the agent reads as a graceful failure.

use crate::IngestState;
use crate::hooks::{admit, error, refuse, store};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard_config::{PayloadFormat, SourceConfig};
use switchboard_events::tools::{
    ErrorCode, TOOLS, ToolCall, ToolError, ToolReply, ToolRequest, tools_subject,
};
use switchboard_signatures::sha256_hex;

/// How a source writes its tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolFormat {
    Agent,
    Vapi,
    Retell,
}

impl ToolFormat {
    /// The source's `format` when it names one of these, else its scheme's.
    pub(crate) fn of(source: &SourceConfig) -> ToolFormat {
        match (source.format(), source.scheme_name()) {
            (Some(PayloadFormat::Vapi), _) | (None, "vapi") => ToolFormat::Vapi,
            (Some(PayloadFormat::Retell), _) | (None, "retell") => ToolFormat::Retell,
            _ => ToolFormat::Agent,
        }
    }
}

pub(crate) async fn receive(State(state): State<Arc<IngestState>>, request: Request) -> Response {
    let parent = crate::hooks::trace_parent(&request);
    switchboard_telemetry::trace::hop("ingest.tools", parent)
        .run(receive_traced(state, request))
        .await
}

async fn receive_traced(state: Arc<IngestState>, request: Request) -> Response {
    let admitted = match admit(&state, request).await {
        Ok(a) => a,
        Err(response) => return response,
    };
    let route = &*admitted.route;
    let calls = match parse(route.tools, &admitted.body) {
        Ok(calls) => calls,
        Err(message) => {
            route.metrics.bad_request.inc();
            let path = format!("/v1/tools/{}/{}", route.tenant, route.source);
            let request = crate::rejected::Request {
                path: &path,
                query: None,
                headers: &admitted.headers,
                body: crate::rejected::SeenBody::Read(&admitted.body),
            };
            let refused =
                crate::rejected::Refused::new(StatusCode::BAD_REQUEST, "bad_request", message);
            return refuse(&state, route, request, &refused);
        }
    };
    let names: Vec<&str> = calls.iter().map(|(_, r)| r.tool.as_str()).collect();
    let names = names.join(",");
    if let Err(response) = store(
        &state,
        route,
        &admitted.headers,
        admitted.body.clone(),
        &admitted.verified,
        Some(&names),
    )
    .await
    {
        return response;
    }
    let replies = futures_util::future::join_all(
        calls
            .iter()
            .map(|(_, request)| ask(&state, &route.tenant, request)),
    )
    .await;
    answer(route.tools, &calls, replies)
}

/// One tool call of the delivery: the provider's own id for it (Vapi's `toolCallId`),
/// and the request in the agent format.
type Call = (Option<String>, ToolRequest);

/// The tool calls in a body, in the agent format; a clear message when there are none.
fn parse(format: ToolFormat, body: &[u8]) -> Result<Vec<Call>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}); send the tool call as JSON"))?;
    let calls = match format {
        ToolFormat::Agent => {
            let request: ToolRequest = serde_json::from_value(v).map_err(|e| {
                format!("not an agent tool call ({e}): send {{\"tool\", \"request_id\", \"call\", \"arguments\"}}")
            })?;
            vec![(None, request)]
        }
        ToolFormat::Vapi => vapi(&v)?,
        ToolFormat::Retell => vec![(None, retell(&v)?)],
    };
    for (_, request) in &calls {
        if request.tool.trim().is_empty() {
            return Err("the tool call names no tool".into());
        }
        if !request
            .tool
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!("`{}` is not a tool name", request.tool));
        }
        if request.request_id.trim().is_empty() {
            return Err("the tool call has no request_id (the idempotency key)".into());
        }
    }
    Ok(calls)
}

/// Vapi's `tool-calls` server message: `message.toolCallList[]` (or
/// `toolWithToolCallList[].toolCall`), each `{id, function: {name, arguments}}` where
/// `arguments` is an object (or, in older payloads, a JSON string).
fn vapi(v: &Value) -> Result<Vec<Call>, String> {
    let m = v.get("message").unwrap_or(v);
    if m.get("type").and_then(Value::as_str) != Some("tool-calls") {
        return Err("not a Vapi tool-calls message (message.type must be \"tool-calls\")".into());
    }
    let list: Vec<&Value> = match m.get("toolCallList").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => m
            .get("toolWithToolCallList")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(|t| t.get("toolCall")).collect())
            .unwrap_or_default(),
    };
    if list.is_empty() {
        return Err("the Vapi message has no tool calls (message.toolCallList)".into());
    }
    let call = m.get("call").cloned().unwrap_or(Value::Null);
    let customer = m
        .pointer("/customer/number")
        .or_else(|| call.pointer("/customer/number"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    list.into_iter()
        .map(|c| {
            let id = c.get("id").and_then(Value::as_str).unwrap_or_default();
            let f = c.get("function").unwrap_or(&Value::Null);
            let arguments = match f.get("arguments") {
                Some(Value::String(s)) => serde_json::from_str(s)
                    .map_err(|e| format!("tool call {id}: arguments are not JSON ({e})"))?,
                Some(other) => other.clone(),
                None => json!({}),
            };
            Ok((
                Some(id.to_owned()),
                ToolRequest {
                    tool: f
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    request_id: id.to_owned(),
                    call: ToolCall {
                        id: call.get("id").and_then(Value::as_str).map(str::to_owned),
                        from: customer.clone(),
                        to: None,
                    },
                    arguments,
                },
            ))
        })
        .collect()
}

/// Retell's custom function call: `{name, args, call: {call_id, from_number, to_number}}`.
/// Retell sends no id per call: `args.request_id` when the agent passes one, otherwise
/// one derived from the call, the tool and its arguments (so Retell's retries of the same
/// call are answered once).
fn retell(v: &Value) -> Result<ToolRequest, String> {
    let tool = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or("not a Retell function call: `name` is missing")?;
    let mut arguments = v.get("args").cloned().unwrap_or(json!({}));
    let call = v.get("call").cloned().unwrap_or(Value::Null);
    let call_id = call.get("call_id").and_then(Value::as_str);
    let request_id = match arguments
        .as_object_mut()
        .and_then(|a| a.remove("request_id"))
    {
        Some(Value::String(id)) => id,
        _ => format!(
            "retell-{}",
            &sha256_hex(format!("{}|{tool}|{arguments}", call_id.unwrap_or_default()).as_bytes())
                [..32]
        ),
    };
    Ok(ToolRequest {
        tool: tool.to_owned(),
        request_id,
        call: ToolCall {
            id: call_id.map(str::to_owned),
            from: call
                .get("from_number")
                .and_then(Value::as_str)
                .map(str::to_owned),
            to: call
                .get("to_number")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
        arguments,
    })
}

/// The booking service's reply, or `None` when none came in time (or none is running).
async fn ask(state: &IngestState, tenant: &str, request: &ToolRequest) -> Option<ToolReply> {
    // No service answers a tool that does not exist: say so here, as the contract says.
    if !TOOLS.contains(&request.tool.as_str()) {
        return Some(ToolReply::err(
            &request.request_id,
            ToolError::new(
                ErrorCode::UnknownTool,
                format!(
                    "there is no tool `{}`; the tools are {}",
                    request.tool,
                    TOOLS.join(", ")
                ),
            ),
        ));
    }
    let payload = serde_json::to_vec(request).ok()?;
    let subject = tools_subject(tenant, &request.tool);
    let mut headers = switchboard_bus::async_nats::HeaderMap::new();
    if let Some(t) = switchboard_telemetry::trace::current() {
        headers.insert(
            switchboard_telemetry::trace::TRACEPARENT,
            t.header().as_str(),
        );
    }
    match tokio::time::timeout(
        state.tools_timeout,
        state
            .client
            .request_with_headers(subject, headers, payload.into()),
    )
    .await
    {
        Ok(Ok(message)) => match serde_json::from_slice(&message.payload) {
            Ok(reply) => Some(reply),
            Err(e) => {
                tracing::error!(tenant, tool = %request.tool, error = %e, "the booking service's reply is not a tool reply");
                None
            }
        },
        Ok(Err(e)) => {
            tracing::warn!(tenant, tool = %request.tool, error = %e, "no answer from the booking service");
            None
        }
        Err(_) => {
            tracing::warn!(tenant, tool = %request.tool, timeout_ms = state.tools_timeout.as_millis() as u64,
                "the booking service did not answer in time");
            None
        }
    }
}

const NO_ANSWER: &str = "The booking system is not answering right now. Apologise, and offer to have the office call back to book.";

fn answer(format: ToolFormat, calls: &[Call], replies: Vec<Option<ToolReply>>) -> Response {
    let ok = |body: Value| {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    match format {
        ToolFormat::Agent => match replies.into_iter().next().flatten() {
            Some(reply) => ok(serde_json::to_value(reply).unwrap_or_default()),
            None => {
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the booking service did not answer in time; retry with the same request_id",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response
            }
        },
        ToolFormat::Vapi => {
            let results: Vec<Value> = calls
                .iter()
                .zip(replies)
                .map(|((id, request), reply)| {
                    let mut r = json!({"toolCallId": id, "name": request.tool});
                    match reply {
                        Some(ToolReply {
                            result: Some(result),
                            ..
                        }) => r["result"] = result.to_string().into(),
                        Some(ToolReply { error: Some(e), .. }) => {
                            r["error"] = serde_json::to_string(&e).unwrap_or_default().into()
                        }
                        _ => r["error"] = NO_ANSWER.into(),
                    }
                    r
                })
                .collect();
            ok(json!({ "results": results }))
        }
        ToolFormat::Retell => match replies.into_iter().next().flatten() {
            Some(reply) => ok(serde_json::to_value(reply).unwrap_or_default()),
            None => {
                ok(json!({"error": {"code": "servicetitan_unavailable", "message": NO_ANSWER}}))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_call_needs_a_tool_and_a_request_id() {
        let ok = br#"{"tool":"find_availability","request_id":"req_1","arguments":{"job_type":"AC Repair"}}"#;
        assert_eq!(
            parse(ToolFormat::Agent, ok).unwrap()[0].1.tool,
            "find_availability"
        );
        for (body, says) in [
            (&b"{not json"[..], "not JSON"),
            (br#"{"request_id":"r"}"#, "not an agent tool call"),
            (br#"{"tool":"","request_id":"r"}"#, "names no tool"),
            (br#"{"tool":"x.y","request_id":"r"}"#, "not a tool name"),
            (br#"{"tool":"x","request_id":" "}"#, "no request_id"),
        ] {
            let err = parse(ToolFormat::Agent, body).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn vapi_tool_calls_become_agent_requests_with_their_own_ids() {
        let body = br#"{"message":{"type":"tool-calls","call":{"id":"call_1"},"customer":{"number":"+15125550101"},
            "toolCallList":[{"id":"tc_1","type":"function","function":{"name":"find_customer","arguments":{"phone":"+15125550101"}}},
                            {"id":"tc_2","type":"function","function":{"name":"find_availability","arguments":"{\"job_type\":\"AC Repair\"}"}}]}}"#;
        let calls = parse(ToolFormat::Vapi, body).unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].0.as_deref(), Some("tc_1"));
        assert_eq!(calls[0].1.request_id, "tc_1");
        assert_eq!(calls[0].1.call.id.as_deref(), Some("call_1"));
        assert_eq!(calls[0].1.call.from.as_deref(), Some("+15125550101"));
        assert_eq!(calls[1].1.arguments["job_type"], "AC Repair");
        let reply = ToolReply::ok("tc_1", json!({"customers": []}));
        let response = answer(ToolFormat::Vapi, &calls, vec![Some(reply), None]);
        assert_eq!(response.status(), 200);
    }

    #[test]
    fn a_retell_call_without_a_request_id_gets_a_stable_one() {
        let body = br#"{"name":"find_availability","args":{"job_type":"AC Repair"},"call":{"call_id":"c1","from_number":"+15125550101"}}"#;
        let a = parse(ToolFormat::Retell, body).unwrap();
        let b = parse(ToolFormat::Retell, body).unwrap();
        assert_eq!(
            a[0].1.request_id, b[0].1.request_id,
            "a retry is the same request"
        );
        assert!(a[0].1.request_id.starts_with("retell-"));
        let named = br#"{"name":"book_appointment","args":{"request_id":"r9","start":"x"},"call":{"call_id":"c1"}}"#;
        let c = parse(ToolFormat::Retell, named).unwrap();
        assert_eq!(c[0].1.request_id, "r9");
        assert!(c[0].1.arguments.get("request_id").is_none());
    }

    #[test]
    fn no_answer_is_503_for_the_agent_and_a_graceful_message_for_the_platforms() {
        let request = ToolRequest {
            tool: "find_customer".into(),
            request_id: "r".into(),
            call: ToolCall::default(),
            arguments: json!({}),
        };
        let calls = vec![(Some("tc".to_owned()), request)];
        let agent = answer(ToolFormat::Agent, &calls, vec![None]);
        assert_eq!(agent.status(), 503);
        assert!(agent.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(answer(ToolFormat::Vapi, &calls, vec![None]).status(), 200);
        assert_eq!(answer(ToolFormat::Retell, &calls, vec![None]).status(), 200);
    }
}
