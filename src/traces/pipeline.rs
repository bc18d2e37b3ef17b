//! The export pipeline: OTLP exporter (gRPC or HTTP/protobuf) behind the
//! SDK's batch span processor, with two thin wrappers that count what
//! happens to spans, because the SDK keeps those numbers to itself:
//!
//! - [`GatedProcessor`] bounds the queue itself, so a full queue is seen
//!   (and counted) here instead of inside the SDK, and exposes its length;
//! - [`CountingExporter`] counts spans exported, failed export requests and
//!   the spans lost with them, and masks secrets and personal data in each
//!   span (name, attributes, events, links, status message) before it
//!   leaves: on the export thread, so requests do not pay for it, and for
//!   every span, whether redline's layer, a `tracing` span (through
//!   `tracing-opentelemetry`) or the SDK's API made it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceState};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// One metric family of an export pipeline: its name and help text.
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
}

/// The families of an export pipeline (spans here; the OTLP log pipeline
/// has its own names, see `crate::logs::otlp`).
pub(crate) struct PipelineNames {
    pub(crate) exported: Family,
    /// With the label `reason`: `queue_full`, `export_failed`, `shutdown`.
    pub(crate) dropped: Family,
    pub(crate) export_errors: Family,
    pub(crate) queue: Family,
    pub(crate) capacity: Family,
}

/// Names of the span pipeline's own metrics (see `docs/METRICS.md`).
pub(crate) const SPAN_NAMES: PipelineNames = PipelineNames {
    exported: Family {
        name: "redline_trace_spans_exported_total",
        help: "Spans the OTLP exporter delivered (the collector accepted the request).",
    },
    dropped: Family {
        name: "redline_trace_spans_dropped_total",
        help: "Spans lost before reaching the collector, by reason (queue_full, export_failed, shutdown).",
    },
    export_errors: Family {
        name: "redline_trace_export_errors_total",
        help: "OTLP export requests that failed (after the exporter's retries).",
    },
    queue: Family {
        name: "redline_trace_queue_spans",
        help: "Spans waiting in the export queue.",
    },
    capacity: Family {
        name: "redline_trace_queue_capacity_spans",
        help: "Capacity of the export queue (OTEL_BSP_MAX_QUEUE_SIZE).",
    },
};

/// Says yes at most once a minute (the first time at once): how the export
/// pipelines warn about failures without flooding the service's logs.
#[derive(Debug)]
pub(crate) struct OncePerMinute {
    /// Milliseconds since `started`, plus a minute, of the last yes.
    last_ms: AtomicU64,
    started: Instant,
}

impl OncePerMinute {
    pub(crate) fn new() -> Self {
        Self {
            last_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Whether a minute has passed since the last yes (and claims it).
    pub(crate) fn ready(&self) -> bool {
        let now = self.started.elapsed().as_millis() as u64 + 60_000;
        let last = self.last_ms.load(Ordering::Relaxed);
        now.saturating_sub(last) >= 60_000
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Counters of an export pipeline, registered in the service's registry.
#[derive(Clone)]
pub(crate) struct PipelineMetrics {
    pub(crate) exported: IntCounter,
    pub(crate) dropped_queue_full: IntCounter,
    pub(crate) dropped_export_failed: IntCounter,
    pub(crate) dropped_shutdown: IntCounter,
    pub(crate) export_errors: IntCounter,
    pub(crate) queued: IntGauge,
    pub(crate) capacity: IntGauge,
}

impl PipelineMetrics {
    /// The span pipeline's metrics.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        Self::register_as(registry, &SPAN_NAMES)
    }

    /// A pipeline's metrics under `names`.
    pub(crate) fn register_as(
        registry: &Registry,
        names: &PipelineNames,
    ) -> prometheus::Result<Self> {
        let exported = IntCounter::new(names.exported.name, names.exported.help)?;
        let dropped = IntCounterVec::new(
            Opts::new(names.dropped.name, names.dropped.help),
            &["reason"],
        )?;
        let export_errors = IntCounter::new(names.export_errors.name, names.export_errors.help)?;
        let queued = IntGauge::new(names.queue.name, names.queue.help)?;
        let capacity = IntGauge::new(names.capacity.name, names.capacity.help)?;
        registry.register(Box::new(exported.clone()))?;
        registry.register(Box::new(dropped.clone()))?;
        registry.register(Box::new(export_errors.clone()))?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(capacity.clone()))?;
        Ok(Self {
            exported,
            dropped_queue_full: dropped.with_label_values(&["queue_full"]),
            dropped_export_failed: dropped.with_label_values(&["export_failed"]),
            dropped_shutdown: dropped.with_label_values(&["shutdown"]),
            export_errors,
            queued,
            capacity,
        })
    }
}

/// Drops (and counts) spans once `max` are waiting, before they reach the
/// inner processor, and keeps the queue-length gauge.
#[derive(Debug)]
pub(crate) struct GatedProcessor<P> {
    pub(crate) inner: P,
    pub(crate) max: i64,
    pub(crate) metrics: MetricsHandle,
}

/// `Debug` for the metrics (the SDK requires processors to be `Debug`).
#[derive(Clone)]
pub(crate) struct MetricsHandle(pub(crate) PipelineMetrics);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipelineMetrics")
    }
}

impl<P: SpanProcessor> SpanProcessor for GatedProcessor<P> {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let m = &self.metrics.0;
        // Check, then add: concurrent enders can overshoot `max` by the
        // number of threads, which is why the inner queue has headroom.
        if m.queued.get() >= self.max {
            m.dropped_queue_full.inc();
            return;
        }
        m.queued.inc();
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts export outcomes around the OTLP exporter, and warns about
/// failures at most once a minute (a dead collector must not flood the
/// service's own logs).
#[derive(Debug)]
pub(crate) struct CountingExporter<E> {
    pub(crate) inner: E,
    pub(crate) metrics: MetricsHandle,
    pub(crate) endpoint: String,
    redactor: crate::redact::Redactor,
    warning: OncePerMinute,
}

impl<E> CountingExporter<E> {
    pub(crate) fn new(
        inner: E,
        metrics: MetricsHandle,
        endpoint: String,
        redactor: crate::redact::Redactor,
    ) -> Self {
        Self {
            inner,
            metrics,
            endpoint,
            redactor,
            warning: OncePerMinute::new(),
        }
    }

    fn warn_throttled(&self, error: &dyn std::fmt::Display, spans: usize) {
        if self.warning.ready() {
            tracing::warn!(
                target: "redline::traces",
                endpoint = %self.endpoint,
                spans,
                error = %error,
                "OTLP span export failed; spans are counted in redline_trace_spans_dropped_total{{reason=\"export_failed\"}} (this warning repeats at most once a minute)"
            );
        }
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, mut batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        for span in &mut batch {
            redact_span(&self.redactor, span);
        }
        let m = &self.metrics.0;
        // The batch has left the queue.
        m.queued.sub(n as i64);
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => m.exported.inc_by(n as u64),
            Err(e) => {
                m.export_errors.inc();
                m.dropped_export_failed.inc_by(n as u64);
                self.warn_throttled(e, n);
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Masks what a span carries (see [`crate::redact`]): attribute values
/// (whole when the key names a secret, such as
/// `http.request.header.authorization`), event names (`tracing` events
/// become span events named by their message) and attributes, link
/// attributes, the status message and the name. Control characters are
/// kept: the OTLP encoding escapes them.
pub(crate) fn redact_span(r: &crate::redact::Redactor, span: &mut SpanData) {
    mask_cow(r, &mut span.name);
    mask_trace_state(r, &mut span.span_context);
    redact_attributes(r, &mut span.attributes);
    for event in span.events.events.iter_mut() {
        mask_cow(r, &mut event.name);
        redact_attributes(r, &mut event.attributes);
    }
    for link in span.links.links.iter_mut() {
        mask_trace_state(r, &mut link.span_context);
        redact_attributes(r, &mut link.attributes);
    }
    if let opentelemetry::trace::Status::Error { description } = &mut span.status {
        mask_cow(r, description);
    }
}

/// Masks the values of a span context's `tracestate` (the caller's header:
/// client input). A masked value that is no longer a valid list-member
/// value drops its entry; nothing is exported as the client sent it.
fn mask_trace_state(r: &crate::redact::Redactor, sc: &mut SpanContext) {
    let header = sc.trace_state().header();
    if header.is_empty() {
        return;
    }
    let mut changed = false;
    let mut entries: Vec<(String, String)> = Vec::new();
    for member in header.split(',') {
        let Some((key, value)) = member.split_once('=') else {
            changed = true;
            continue;
        };
        let masked = r.mask_value(key, value);
        if masked != value {
            changed = true;
            let masked = masked.into_owned();
            let valid = !masked.is_empty()
                && masked.len() <= 256
                && !masked.ends_with(' ')
                && masked
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
            if valid {
                entries.push((key.to_owned(), masked));
            }
        } else {
            entries.push((key.to_owned(), value.to_owned()));
        }
    }
    if !changed {
        return;
    }
    let state = TraceState::from_key_value(entries).unwrap_or_default();
    *sc = SpanContext::new(
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags(),
        sc.is_remote(),
        state,
    );
}

fn mask_cow(r: &crate::redact::Redactor, text: &mut std::borrow::Cow<'static, str>) {
    if let std::borrow::Cow::Owned(masked) = r.mask(text) {
        *text = masked.into();
    }
}

fn redact_attributes(r: &crate::redact::Redactor, attributes: &mut [opentelemetry::KeyValue]) {
    use opentelemetry::{Array, StringValue, Value};
    for kv in attributes {
        if r.is_sensitive_key(kv.key.as_str()) {
            if !matches!(kv.value, Value::Bool(_)) {
                kv.value = Value::String(crate::redact::REDACTED.into());
            }
            continue;
        }
        match &mut kv.value {
            Value::String(s) => {
                if let std::borrow::Cow::Owned(masked) = r.mask(s.as_str()) {
                    *s = StringValue::from(masked);
                }
            }
            Value::Array(Array::String(items)) => {
                for s in items {
                    if let std::borrow::Cow::Owned(masked) = r.mask(s.as_str()) {
                        *s = StringValue::from(masked);
                    }
                }
            }
            // A card number recorded as an integer.
            Value::I64(n) if n.unsigned_abs() >= 1_000_000_000_000 => {
                let digits = n.to_string();
                if let std::borrow::Cow::Owned(masked) = r.mask(&digits) {
                    kv.value = Value::String(masked.into());
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry::{KeyValue, Value};

    #[test]
    fn once_per_minute_says_yes_once_then_waits() {
        let once = OncePerMinute::new();
        assert!(once.ready());
        assert!(!once.ready() && !once.ready());
    }

    #[test]
    fn spans_are_masked_before_export() {
        let mut span = SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: opentelemetry::trace::SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "send to jane@example.com".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![
                KeyValue::new("url.path", "/users/jane@example.com/cards/4242424242424242"),
                KeyValue::new("http.request.header.authorization", "Bearer abc"),
                KeyValue::new("user.pin_token", 1234),
                KeyValue::new("card", 4_242_424_242_424_242_i64),
                KeyValue::new("ok", true),
                KeyValue::new("n", 7),
            ],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::error("declined for 123-45-6789"),
            instrumentation_scope: Default::default(),
        };
        span.events.events.push(opentelemetry::trace::Event::new(
            "charged +1 415-555-2671",
            std::time::SystemTime::now(),
            vec![KeyValue::new("iban", "DE89370400440532013000")],
            0,
        ));
        redact_span(&crate::redact::Redactor::default(), &mut span);
        assert_eq!(span.name, "send to j***@example.com");
        let value = |k: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
                .unwrap()
        };
        assert_eq!(
            value("url.path"),
            Value::from("/users/j***@example.com/cards/************4242")
        );
        assert_eq!(
            value("http.request.header.authorization"),
            Value::from("[REDACTED]")
        );
        assert_eq!(value("user.pin_token"), Value::from("[REDACTED]"));
        assert_eq!(value("card"), Value::from("************4242"));
        assert_eq!(value("ok"), Value::from(true));
        assert_eq!(value("n"), Value::from(7));
        assert_eq!(span.events.events[0].name, "charged +* ***-***-**71");
        assert_eq!(
            span.events.events[0].attributes[0].value,
            Value::from("DE****************3000")
        );
        assert_eq!(span.status, Status::error("declined for ***-**-6789"));
    }

    /// Issue 11: percent-encoded paths and the caller's `tracestate` were
    /// exported as sent.
    #[test]
    fn encoded_paths_and_trace_state_are_masked() {
        use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
        let state = TraceState::from_key_value([
            ("v", "078-05-1120"),
            ("vendor", "abc"),
            ("token", "s3cr3t"),
            ("m", "jane%40example.com"),
            ("c", "4242%2C4242"),
        ])
        .unwrap();
        let mut span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(2u64),
                TraceFlags::SAMPLED,
                false,
                state,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "GET /users/{id}".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: vec![KeyValue::new(
                "url.path",
                "/users/maria.gonzalez%2Bbank%40example.co.uk/profile",
            )],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        };
        redact_span(&crate::redact::Redactor::default(), &mut span);
        assert_eq!(
            span.attributes[0].value,
            Value::from("/users/m***@example.co.uk/profile")
        );
        assert_eq!(
            span.span_context.trace_state().header(),
            "v=***-**-1120,vendor=abc,token=[REDACTED],m=j***@example.com,c=4242%2C4242"
        );
        assert_eq!(span.span_context.trace_id(), TraceId::from(1u128));
        assert!(span.span_context.is_sampled());
    }
}
