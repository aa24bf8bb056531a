//! The tools, each a function from a request's arguments to a result or a domain error
//! (docs/booking.md has the contract). ServiceTitan is read through the tenant's catalog
//! and capacity cache and written through `switchboard-servicetitan`'s enumerated writes.
//!
//! This file holds the dispatch and the argument readers; `customers` finds and creates
//! callers, `availability` offers and holds windows, `jobs` books, reschedules, cancels.

mod availability;
mod customers;
mod jobs;

use crate::service::Inner;
use crate::tenant::{Catalog, Tenant};
use jiff::Timestamp;
use serde_json::Value;
use switchboard_events::tools::{ErrorCode, ToolError, ToolRequest};
use switchboard_servicetitan::{ErrorKind, StError};

pub(crate) type ToolResult = Result<Value, ToolError>;

/// The external-data key a job carries its request id under.
pub const REQUEST_ID_KEY: &str = "switchboard_request_id";

pub(crate) async fn run(
    inner: &Inner,
    tenant: &Tenant,
    tool: &str,
    request: &ToolRequest,
) -> ToolResult {
    let args = &request.arguments;
    match tool {
        "find_customer" => customers::find_customer(tenant, args).await,
        "create_customer" => customers::create_customer(tenant, args).await,
        "find_availability" => availability::find_availability(inner, tenant, args).await,
        "book_appointment" => jobs::book(inner, tenant, request).await,
        "reschedule_appointment" => jobs::reschedule(inner, tenant, request).await,
        "cancel_appointment" => jobs::cancel(inner, tenant, request).await,
        other => Err(ToolError::new(
            ErrorCode::UnknownTool,
            format!(
                "there is no tool `{other}`; the tools are {}",
                switchboard_events::tools::TOOLS.join(", ")
            ),
        )),
    }
}

pub(super) fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::new(ErrorCode::InvalidArguments, message)
}

/// ServiceTitan's refusal or failure as the agent hears it.
pub(super) fn st_error(e: StError) -> ToolError {
    match (e.kind, e.status) {
        (ErrorKind::Permanent, Some(404)) => ToolError::new(ErrorCode::NotFound, e.to_string()),
        (ErrorKind::Permanent, Some(400)) => invalid(e.to_string()),
        _ => ToolError::new(
            ErrorCode::ServicetitanUnavailable,
            format!("ServiceTitan did not answer: {e}; ask again in a moment"),
        ),
    }
}

pub(super) fn text<'a>(args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("`{name}` is required (text)")))
}

pub(super) fn optional<'a>(args: &'a Value, name: &str) -> Option<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A number, or an id written as text.
pub(super) fn id(args: &Value, name: &str) -> Result<i64, ToolError> {
    match args.get(name) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| invalid(format!("`{name}` is required (a ServiceTitan id)")))
}

/// A name or an id, as text either way.
pub(super) fn name_or_id(args: &Value, name: &str) -> Option<String> {
    match args.get(name) {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

pub(super) fn e164(args: &Value, name: &str) -> Result<String, ToolError> {
    let raw = text(args, name)?;
    let number = switchboard_events::e164::normalise(raw);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if number.starts_with('+') && (8..=15).contains(&digits) {
        Ok(number)
    } else {
        Err(invalid(format!(
            "`{name}` must be a phone number in E.164 (like +15125550101), not `{raw}`"
        )))
    }
}

pub(super) fn instant(args: &Value, name: &str) -> Result<Timestamp, ToolError> {
    let raw = text(args, name)?;
    switchboard_events::normalise::parse_rfc3339(raw)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            invalid(format!(
                "`{name}` must be an RFC 3339 time like 2026-12-03T08:00:00-06:00, not `{raw}`"
            ))
        })
}

pub(super) async fn catalog(tenant: &Tenant) -> Result<std::sync::Arc<Catalog>, ToolError> {
    tenant.catalog().await.map_err(st_error)
}
