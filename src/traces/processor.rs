//! The SDK's span processor: every sampled span the SDK ends (a `tracing`
//! span through `tracing-opentelemetry`, the operation timer's, a span of
//! the application's own) is masked and encoded on the thread that ends it,
//! then queued ([`SpanQueue`]); the HTTP layer's server spans skip the SDK
//! and reach the same queue (see `crate::http::span`).

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};

use super::held::{Holding, TentativeTrace};
use super::queue::{Drained, SpanQueue};
use super::scratch::with_scratch;
use super::wire::span::sdk_span;

/// Queues the SDK's sampled spans.
#[derive(Debug)]
pub(crate) struct QueueProcessor {
    pub(crate) queue: &'static SpanQueue,
}

impl SpanProcessor for QueueProcessor {
    /// A span started inside a tentative request: its trace's spans are
    /// held from now on (see [`super::held`]).
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        let held = &self.queue.held;
        let trace_id = span.span_context().trace_id().to_bytes();
        if held.marks.is_marked(trace_id) || cx.get::<TentativeTrace>().is_some() {
            held.watch(trace_id);
        }
    }

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        let q = self.queue;
        with_scratch(|body, inner| {
            sdk_span(body, inner, &q.redactor, &span);
            let trace_id = span.span_context.trace_id().to_bytes();
            match q.held.hold(trace_id, &span.instrumentation_scope, body) {
                Holding::NotHeld => q.push_scoped(&span.instrumentation_scope, body),
                Holding::Held => {}
                Holding::Full => q.metrics.dropped_queue_full.inc(),
            }
        });
    }

    fn force_flush(&self) -> OTelSdkResult {
        outcome(
            self.queue.flush(self.queue.flush_timeout),
            self.queue.flush_timeout,
        )
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        outcome(self.queue.close(timeout), timeout)
    }
}

/// A flush's or shutdown's outcome, as the SDK reports them.
fn outcome(drained: Drained, timeout: Duration) -> OTelSdkResult {
    match drained {
        Drained::Delivered => Ok(()),
        Drained::Failed => Err(OTelSdkError::InternalFailure(
            "an OTLP export failed".into(),
        )),
        Drained::TimedOut => Err(OTelSdkError::Timeout(timeout)),
    }
}
