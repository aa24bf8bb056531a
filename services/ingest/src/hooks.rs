//! `POST /v1/hooks/{tenant}/{source}`: the whole life of one delivery.
//!
//! resolve route → bounded body read → verify raw bytes → publish to JetStream → wait for
//! the PubAck → answer. A 2xx is only ever sent after the ack; anything transient (NATS
//! down, ack timeout, overload) is a 503 with `Retry-After` so the provider retries, and
//! the dedup id makes that retry safe.

use crate::IngestState;
use crate::rejected::{Refused, SeenBody};
use crate::routes::SourceRoute;
use axum::body::Body;
use axum::extract::{FromRequestParts as _, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_bus::retry::{self, Retryable as _};
use switchboard_signatures::{Delivery, Rejection, Verified, sha256_hex};

/// Seconds a provider should wait before retrying after a 503.
const RETRY_AFTER_SECS: &str = "5";

#[derive(Serialize)]
struct Accepted<'a> {
    status: &'static str,
    id: &'a str,
    stream_seq: u64,
    duplicate: bool,
}

/// A JSON error response: `{"error": code, "message": message}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = switchboard_telemetry::json_error(status, code, message);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// Decrements the in-flight gauge however the request ends (including client disconnects).
pub(crate) struct InFlight<'a>(pub(crate) &'a switchboard_telemetry::Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The trace a request belongs to: the provider's `traceparent` when it sends a valid one.
pub(crate) fn trace_parent(request: &Request) -> Option<switchboard_telemetry::trace::TraceParent> {
    const TRACEPARENT: header::HeaderName =
        header::HeaderName::from_static(switchboard_telemetry::trace::TRACEPARENT);
    request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(switchboard_telemetry::trace::TraceParent::parse)
}

pub(crate) async fn receive(State(state): State<Arc<IngestState>>, request: Request) -> Response {
    let parent = trace_parent(&request);
    switchboard_telemetry::trace::hop("ingest", parent)
        .run(receive_traced(state, request))
        .await
}

async fn receive_traced(state: Arc<IngestState>, request: Request) -> Response {
    let admitted = match admit(&state, request).await {
        Ok(a) => a,
        Err(response) => return response,
    };
    match store(
        &state,
        &admitted.route,
        &admitted.headers,
        admitted.body,
        &admitted.verified,
        None,
    )
    .await
    {
        Ok((id, ack)) => {
            let body = Accepted {
                status: "accepted",
                id: &id,
                stream_seq: ack.sequence,
                duplicate: ack.duplicate,
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                json,
            )
                .into_response()
        }
        Err(response) => response,
    }
}

/// A delivery that passed: its route, its headers and raw body, what its verifier proved,
/// its place among the requests handled at once, and its count in the in-flight gauge
/// (dropped however the request ends, client disconnects included).
pub(crate) struct Admitted<'s> {
    pub route: Arc<SourceRoute>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub verified: Verified,
    _permit: tokio::sync::SemaphorePermit<'s>,
    _in_flight: InFlight<'s>,
}

/// Everything before storing: route (unknown names are 404), method, load shedding,
/// bounded body read, and verification of the raw bytes (401/415/400).
pub(crate) async fn admit(state: &IngestState, request: Request) -> Result<Admitted<'_>, Response> {
    state.metrics.in_flight.inc();
    let in_flight = InFlight(&state.metrics.in_flight);
    let (mut parts, body) = request.into_parts();
    let path = Path::<(String, String)>::from_request_parts(&mut parts, &()).await;
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    // A path axum cannot decode (e.g. invalid UTF-8 escapes) names no configured tenant.
    let Ok(Path((tenant, source))) = path else {
        state.metrics.unknown_tenant.inc();
        return Err(error(
            StatusCode::NOT_FOUND,
            "unknown_tenant",
            "no such tenant is configured",
        ));
    };

    // The table as it is now: a live reload swaps in a new one, and this request keeps
    // the one it started with.
    let table = state.routes.get();
    let route = table
        .tenants
        .get(&tenant)
        .map(|t| (t, t.sources.get(&source)));
    if *method != Method::POST {
        if let Some((_, Some(route))) = &route {
            route.metrics.method_not_allowed.inc();
        }
        return Err(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "use POST to deliver webhooks",
        ));
    }
    let route = match route {
        None => {
            state.metrics.unknown_tenant.inc();
            return Err(error(
                StatusCode::NOT_FOUND,
                "unknown_tenant",
                "no such tenant is configured",
            ));
        }
        Some((t, None)) => {
            t.metrics.unknown_source.inc();
            return Err(error(
                StatusCode::NOT_FOUND,
                "unknown_source",
                "no such source is configured for this tenant",
            ));
        }
        Some((_, Some(route))) => route.clone(),
    };
    let route = &route;

    // Load shedding: a bounded number of requests hold bodies and wait for acks at once.
    let Ok(permit) = state.in_flight_limit.try_acquire() else {
        route.metrics.unavailable.inc();
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "ingest is at capacity; retry later",
        ));
    };

    let refuse = |refused: Refused, body: SeenBody<'_>| {
        let request = crate::rejected::Request {
            path: uri.path(),
            query: uri.query(),
            headers,
            body,
        };
        refuse(state, route, request, &refused)
    };
    let body = match read_body(headers, body, state.max_body_bytes, state.body_timeout).await {
        Ok(body) => body,
        Err((refused, size)) => {
            let counter = match refused.status {
                StatusCode::PAYLOAD_TOO_LARGE => &route.metrics.payload_too_large,
                StatusCode::SERVICE_UNAVAILABLE => &route.metrics.unavailable,
                _ => &route.metrics.bad_request,
            };
            counter.inc();
            return Err(refuse(refused, SeenBody::Unread(size)));
        }
    };

    let url = match uri.query() {
        Some(q) => format!("{}{}?{q}", state.public_url, uri.path()),
        None => format!("{}{}", state.public_url, uri.path()),
    };
    let delivery = Delivery {
        headers,
        body: &body,
        url: &url,
        query: uri.query(),
    };
    let verified = match route.verifier.verify(&delivery, (state.clock)()) {
        Ok(v) => v,
        Err(rejection) => {
            // A provider's set-up request (RingCentral's validation) that is not also a
            // verified notification is answered, not stored: a real notification is never
            // taken for one.
            if let Some(handshake) = route.verifier.handshake(&delivery) {
                tracing::info!(tenant = %route.tenant, source = %route.source, header = handshake.header,
                    "answered the provider's webhook handshake (nothing stored)");
                return Err(answer_handshake(&handshake));
            }
            return Err(refuse(reject(route, rejection), SeenBody::Read(&body)));
        }
    };
    Ok(Admitted {
        route: route.clone(),
        headers: parts.headers,
        body,
        verified,
        _permit: permit,
        _in_flight: in_flight,
    })
}

/// Reads at most `limit` bytes within `timeout`. Declared and chunked bodies over the
/// limit are 413 alike; a body that does not arrive in time is a 503 (transient: the
/// provider retries), not a 4xx. A refusal comes with the body's size as far as known.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, (Refused, u64)> {
    let too_large = || {
        Refused::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("body exceeds {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        return Err((too_large(), n));
    }
    let unread = declared.unwrap_or(0);
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err((too_large(), limit as u64 + 1))
        }
        Ok(Err(_)) => Err((
            Refused::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request body could not be read",
            ),
            unread,
        )),
        Err(_) => Err((
            Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs()
                ),
            ),
            unread,
        )),
    }
}

/// The answer to a refused delivery, recorded on REJECTED (a 400/401/413/415 within the
/// source's cap).
pub(crate) fn refuse(
    state: &IngestState,
    route: &SourceRoute,
    request: crate::rejected::Request<'_>,
    refused: &Refused,
) -> Response {
    let challenge = route
        .verifier
        .challenge()
        .filter(|_| refused.status == StatusCode::UNAUTHORIZED);
    // HTTP Basic senders (Bandwidth) send no credentials until challenged: that first
    // request is the protocol, not a rejection worth a REJECTED record (it is counted).
    if !(challenge.is_some() && refused.reason == "missing_header") {
        state
            .rejected
            .record(route, (state.clock)(), request, refused);
    }
    let mut response = error(refused.status, refused.code, &refused.message);
    if let Some(challenge) = challenge {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

/// `200` echoing the handshake's header, with an empty JSON body (RingCentral wants the
/// answer small and `application/json`).
fn answer_handshake(handshake: &switchboard_signatures::Handshake) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{}",
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&handshake.value) {
        response.headers_mut().insert(handshake.header, value);
    }
    response
}

fn reject(route: &SourceRoute, rejection: Rejection) -> Refused {
    match rejection {
        Rejection::Unauthorized(failure) => {
            route.metrics.verification_failed(failure.reason());
            tracing::info!(tenant = %route.tenant, source = %route.source, reason = failure.reason(), "webhook rejected");
            Refused {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_signature",
                reason: failure.reason(),
                message: failure.to_string(),
            }
        }
        Rejection::UnsupportedMediaType(message) => {
            route.metrics.unsupported_media_type.inc();
            Refused::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                message,
            )
        }
        Rejection::BadRequest(message) => {
            route.metrics.bad_request.inc();
            Refused::new(StatusCode::BAD_REQUEST, "bad_request", message)
        }
    }
}

/// `{tenant}:{source}:{key}` — the provider's delivery id when it has one that is safe in
/// a header, otherwise the SHA-256 of that id (odd characters) or of the body (no id).
pub fn dedup_id(tenant: &str, source: &str, provider_id: Option<&str>, body: &[u8]) -> String {
    let key = match provider_id {
        Some(id) if id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic()) => id.to_owned(),
        Some(id) => sha256_hex(id.as_bytes()),
        None => sha256_hex(body),
    };
    format!("{tenant}:{source}:{key}")
}

/// INBOUND's header names, made once: a name given as `&str` is validated and copied on
/// every insert, and ingest writes seven or eight per request.
mod names {
    use switchboard_bus::async_nats::HeaderName;
    use switchboard_bus::headers as h;

    pub const MSG_ID: HeaderName = HeaderName::from_static(h::MSG_ID);
    pub const TENANT: HeaderName = HeaderName::from_static(h::TENANT);
    pub const SOURCE: HeaderName = HeaderName::from_static(h::SOURCE);
    pub const SCHEME: HeaderName = HeaderName::from_static(h::SCHEME);
    pub const RECEIVED_AT: HeaderName = HeaderName::from_static(h::RECEIVED_AT);
    pub const CONTENT_TYPE: HeaderName = HeaderName::from_static(h::CONTENT_TYPE);
    pub const TOOL: HeaderName = HeaderName::from_static(h::TOOL);
    pub const TRACEPARENT: HeaderName =
        HeaderName::from_static(switchboard_telemetry::trace::TRACEPARENT);
}

/// Stores a verified delivery on INBOUND and waits for JetStream's ack: its dedup id and
/// the ack, or the answer to give (503 when it could not be stored, 413 when NATS refuses
/// its size). `tool`: a tool call's tool names, in a `Switchboard-Tool` header, which
/// tells the router the delivery is kept for audit only.
pub(crate) async fn store(
    state: &IngestState,
    route: &SourceRoute,
    headers: &HeaderMap,
    body: Bytes,
    verified: &Verified,
    tool: Option<&str>,
) -> Result<
    (
        String,
        switchboard_bus::async_nats::jetstream::publish::PublishAck,
    ),
    Response,
> {
    let id = dedup_id(&route.tenant, &route.source, verified.provider_id(), &body);
    let received_at = switchboard_bus::rfc3339_millis(switchboard_signatures::system_now_ms());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let traceparent = switchboard_telemetry::trace::current().map(|t| t.header());
    // Built per attempt (a repeat is rare), so the first one costs no copy.
    let message = || {
        let mut nats_headers = switchboard_bus::async_nats::HeaderMap::new();
        nats_headers.insert(names::MSG_ID, id.as_str());
        nats_headers.insert(names::TENANT, route.tenant.as_str());
        nats_headers.insert(names::SOURCE, route.source.as_str());
        nats_headers.insert(names::SCHEME, route.verifier.scheme());
        nats_headers.insert(names::RECEIVED_AT, received_at.as_str());
        if let Some(ct) = content_type {
            nats_headers.insert(names::CONTENT_TYPE, ct);
        }
        if let Some(tool) = tool {
            nats_headers.insert(names::TOOL, tool);
        }
        if let Some(t) = &traceparent {
            nats_headers.insert(names::TRACEPARENT, t.as_str());
        }
        switchboard_bus::async_nats::jetstream::message::PublishMessage::build()
            .payload(body.clone())
            .headers(nats_headers)
            .expected_stream(switchboard_bus::INBOUND_STREAM)
    };

    let started = Instant::now();
    // Within `publish_timeout`, a publish that fails fast ("no stream found": INBOUND is
    // between leaders after a cluster node died, or being re-created) is tried again, so a
    // provider that does not retry is not answered 503 for a few seconds of election. The
    // same Nats-Msg-Id makes a repeat that did land a duplicate, never a second copy.
    let mut last_failure = None;
    let attempt = {
        let (state, route, message) = (&state, &route, &message);
        move || async move {
            let pending = state
                .jetstream
                .send_publish(route.subject.clone(), message())
                .await
                .map_err(PublishFailure::from)?;
            pending.await.map_err(PublishFailure::from)
        }
    };
    let ack = tokio::time::timeout(
        state.publish_timeout,
        attempt
            .retry(retry::doubling(
                Duration::from_millis(50),
                Duration::from_millis(500),
            ))
            .when(|e| matches!(e, PublishFailure::Nats(_)))
            .notify(|e, _| {
                if last_failure.is_none() {
                    // Have the keeper check the stream (and re-create it if gone).
                    state.streams.stream_missing();
                }
                last_failure = Some(e.to_string());
            }),
    )
    .await;
    let ack = match ack {
        Ok(Ok(ack)) => Ok(ack),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(last_failure.map_or(PublishFailure::Timeout, PublishFailure::Nats)),
    };
    match ack {
        Ok(ack) => {
            state
                .metrics
                .publish_ack_seconds
                .observe(started.elapsed().as_secs_f64());
            let counter = if ack.duplicate {
                &route.metrics.duplicate
            } else {
                &route.metrics.accepted
            };
            counter.inc();
            tracing::debug!(tenant = %route.tenant, source = %route.source, id = %id, seq = ack.sequence,
                duplicate = ack.duplicate, "webhook accepted");
            Ok((id, ack))
        }
        Err(PublishFailure::TooLarge(reason)) => {
            route.metrics.payload_too_large.inc();
            tracing::error!(tenant = %route.tenant, source = %route.source, %reason,
                "body fits ingest.max_body_bytes but not NATS max_payload: lower one or raise the other");
            let path = format!(
                "/v1/{}/{}/{}",
                if tool.is_some() { "tools" } else { "hooks" },
                route.tenant,
                route.source
            );
            let request = crate::rejected::Request {
                path: &path,
                query: None,
                headers,
                body: SeenBody::Read(&body),
            };
            let refused = Refused::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "body exceeds the message bus's maximum payload",
            );
            Err(refuse(state, route, request, &refused))
        }
        Err(failure) => {
            route.metrics.unavailable.inc();
            let reason = failure.to_string();
            tracing::warn!(tenant = %route.tenant, source = %route.source, %reason, "publish not acknowledged; answering 503");
            Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the delivery could not be stored durably; retry later",
            ))
        }
    }
}

#[derive(Debug)]
enum PublishFailure {
    Timeout,
    TooLarge(String),
    Nats(String),
}

impl std::fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("no acknowledgement within the publish timeout"),
            Self::TooLarge(s) | Self::Nats(s) => f.write_str(s),
        }
    }
}

impl From<switchboard_bus::async_nats::jetstream::context::PublishError> for PublishFailure {
    fn from(err: switchboard_bus::async_nats::jetstream::context::PublishError) -> Self {
        use switchboard_bus::async_nats::jetstream::context::PublishErrorKind;
        match err.kind() {
            PublishErrorKind::MaxPayloadExceeded => Self::TooLarge(err.to_string()),
            PublishErrorKind::TimedOut => Self::Timeout,
            _ => Self::Nats(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dedup_id;

    #[test]
    fn dedup_ids_use_provider_ids_when_safe() {
        assert_eq!(dedup_id("acme", "sw", Some("msg_1"), b"x"), "acme:sw:msg_1");
        let odd = dedup_id("acme", "tx", Some("has space"), b"x");
        assert!(odd.starts_with("acme:tx:") && odd.len() == "acme:tx:".len() + 64);
        assert_eq!(
            dedup_id("acme", "st", None, b"hello"),
            "acme:st:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }
}
