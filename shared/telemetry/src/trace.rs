//! Traces across hops: one webhook is one trace, from ingest through the router and the
//! workers into the ServiceTitan request it caused.
//!
//! The context is W3C Trace Context (`traceparent: 00-{trace id}-{span id}-{flags}`):
//! ingest takes it from the provider's request when it sends a valid one, or starts a trace;
//! it travels in the `traceparent` header of every NATS message (INBOUND, EVENTS, tool
//! requests) and of every request to ServiceTitan. Each hop runs in a [`hop`] span that
//! carries `trace_id` as a field, so every log line written inside names its trace.
//!
//! Export is separate: with `[telemetry] otlp_endpoint` set, [`init`] installs an OTLP
//! exporter and the hops become spans of one trace (the `tracing-opentelemetry` layer).
//! Without it nothing is installed, and a hop costs one `tracing` span and a random id.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use std::future::Future;
use std::sync::OnceLock;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header, on HTTP requests and NATS messages alike.
pub const TRACEPARENT: &str = "traceparent";

/// A W3C trace context: which trace, and which span is the parent of the next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// Parses a `traceparent` value: version `00` (or a later version's first four
    /// fields, as the spec asks), lower-case hex, ids not all zero. Anything else is `None`
    /// (and the hop starts a new trace).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let later = version != "00";
        if version.len() != 2 || version == "ff" || (!later && parts.next().is_some()) {
            return None;
        }
        let trace_id: [u8; 16] = hex(trace)?.try_into().ok()?;
        let span_id: [u8; 8] = hex(span)?.try_into().ok()?;
        let flags: [u8; 1] = hex(flags)?.try_into().ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] || !lower_hex(version) {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// A new trace.
    pub fn root() -> Self {
        TraceParent {
            trace_id: nonzero(|| fastrand::u128(..).to_be_bytes()),
            span_id: new_span_id(),
            sampled: true,
        }
    }

    /// The same trace, a new span id (the next hop when nothing exports spans).
    pub fn child(&self) -> Self {
        TraceParent {
            span_id: new_span_id(),
            ..*self
        }
    }

    /// The header value, formatted without allocating (ingest writes one per request).
    pub fn header(&self) -> HeaderText {
        let mut out = *b"00-00000000000000000000000000000000-0000000000000000-00";
        write_hex(&mut out[3..35], &self.trace_id);
        write_hex(&mut out[36..52], &self.span_id);
        if self.sampled {
            out[54] = b'1';
        }
        HeaderText(out)
    }

    pub fn trace_id_hex(&self) -> String {
        TraceIdHex(&self.trace_id).to_string()
    }
}

fn new_span_id() -> [u8; 8] {
    nonzero(|| fastrand::u64(..).to_be_bytes())
}

fn nonzero<const N: usize>(make: impl Fn() -> [u8; N]) -> [u8; N] {
    loop {
        let v = make();
        if v != [0; N] {
            return v;
        }
    }
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !lower_hex(s) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Lower-case hex of `bytes` into `out` (twice as long).
fn write_hex(out: &mut [u8], bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

/// A formatted `traceparent` value (55 ASCII bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderText([u8; 55]);

impl HeaderText {
    pub fn as_str(&self) -> &str {
        // Only ever ASCII digits, hex and dashes (written by `TraceParent::header`).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl std::fmt::Debug for HeaderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for HeaderText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether spans are exported (set once by [`init`]).
static EXPORTING: OnceLock<opentelemetry_sdk::trace::SdkTracerProvider> = OnceLock::new();

/// One hop of a trace: the span to run it in, and the context to pass on from inside it.
#[derive(Debug, Clone)]
pub struct Hop {
    pub span: tracing::Span,
    pub context: TraceParent,
}

impl Hop {
    /// Runs `work` inside this hop: its span is entered and [`current`] is this hop's
    /// context, so what it publishes or asks of ServiceTitan carries the trace on.
    pub async fn run<F: Future>(self, work: F) -> F::Output {
        use tracing::Instrument as _;
        if self.span.is_disabled() {
            // Below the log level and not exported: entering it on every poll would only
            // cost (ingest runs one hop per request).
            return CURRENT.scope(self.context, work).await;
        }
        CURRENT
            .scope(self.context, work.instrument(self.span))
            .await
    }
}

/// The hop `name` of the trace `parent` (a new trace when there is none).
pub fn hop(name: &str, parent: Option<TraceParent>) -> Hop {
    if EXPORTING.get().is_none() {
        // Nothing exports spans: the span only puts the trace id on log lines, so it is
        // made with it, formatted once (ingest makes one per request).
        let context = parent.map_or_else(TraceParent::root, |p| p.child());
        let span = tracing::info_span!("hop", trace_id = %TraceIdHex(&context.trace_id));
        return Hop { span, context };
    }
    let span = tracing::info_span!("hop", otel.name = %name, trace_id = tracing::field::Empty);
    if let Some(p) = parent {
        let remote = SpanContext::new(
            TraceId::from_bytes(p.trace_id),
            SpanId::from_bytes(p.span_id),
            if p.sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            },
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let sc = span.context().span().span_context().clone();
    let context = if sc.is_valid() {
        TraceParent {
            trace_id: sc.trace_id().to_bytes(),
            span_id: sc.span_id().to_bytes(),
            sampled: sc.is_sampled(),
        }
    } else {
        parent.map_or_else(TraceParent::root, |p| p.child())
    };
    if !span.is_disabled() {
        span.record("trace_id", context.trace_id_hex());
    }
    Hop { span, context }
}

/// A trace id as hex, written straight into the log line.
struct TraceIdHex<'a>(&'a [u8; 16]);

impl std::fmt::Display for TraceIdHex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut buf = [0u8; 32];
        write_hex(&mut buf, self.0);
        f.write_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

tokio::task_local! {
    static CURRENT: TraceParent;
}

/// The context of the hop running now, if any: what to put in `traceparent` of a message
/// published or a request made from here.
pub fn current() -> Option<TraceParent> {
    CURRENT.try_with(|c| *c).ok()
}

/// Installs the OTLP exporter for `service` when `endpoint` is set, with `filter` and the
/// log format of [`crate::init_tracing`]. Call [`shutdown`] before the process exits so the
/// last spans are sent.
pub fn init(service: &'static str, endpoint: Option<&str>) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let Some(endpoint) = endpoint else {
        crate::init_tracing();
        return Ok(());
    };
    crate::install_crypto_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpJson)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_timeout(std::time::Duration::from_secs(10))
        .with_headers(std::collections::HashMap::new())
        .build()
        .with_context(|| {
            format!("cannot set up the OTLP exporter for telemetry.otlp_endpoint `{endpoint}`")
        })?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    let tracer = provider.tracer(service);
    let _ = EXPORTING.set(provider);
    crate::init_tracing_with(Some(Box::new(
        tracing_opentelemetry::layer().with_tracer(tracer),
    )));
    Ok(())
}

/// Sends the spans still buffered (at shutdown, or in a test before it looks).
pub fn flush() {
    if let Some(provider) = EXPORTING.get() {
        let _ = provider.force_flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_the_w3c_header() {
        let v = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::parse(v).unwrap();
        assert_eq!(p.header(), v);
        assert!(p.sampled);
        assert_eq!(p.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        // A later version's first four fields are read; version ff and junk are not.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra")
                .is_some()
        );
        for bad in [
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_child_keeps_the_trace_and_gets_its_own_span() {
        let root = TraceParent::root();
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        assert_eq!(TraceParent::parse(child.header().as_str()), Some(child));
    }

    #[tokio::test]
    async fn the_current_context_is_the_hops() {
        assert_eq!(current(), None);
        let parent = TraceParent::root();
        let h = hop("test", Some(parent));
        let context = h.context;
        assert_eq!(context.trace_id, parent.trace_id);
        let seen = h.run(async { current() }).await;
        assert_eq!(seen, Some(context));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_header(s in ".{0,80}") {
            let _ = TraceParent::parse(&s);
        }
    }
}
