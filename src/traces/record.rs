//! A span recorded without the SDK: the HTTP layer writes a kept request's
//! attributes (masked where they come from the client) when it ends, then
//! the whole span is encoded and queued. No SDK span
//! object, no `KeyValue` per attribute, no copy of the request's strings.

use opentelemetry::trace::{SpanContext, SpanKind};

use super::held::HeldSpan;
use super::queue::{LAYER_KEYS, SpanQueue};
use super::scratch::with_scratch;
use super::wire::proto;
use super::wire::span::{self, SpanHead, unix_nanos};

/// A span in progress.
pub(crate) struct SpanRecord {
    queue: &'static SpanQueue,
    /// `attributes` fields, written as they came.
    attrs: Vec<u8>,
    start_unix_nanos: u64,
    parent_span_id: [u8; 8],
    parent_is_remote: bool,
}

impl SpanRecord {
    /// Starts now, as a child of `parent` (an invalid one: a root span).
    #[inline]
    pub(crate) fn start(queue: &'static SpanQueue, parent: &SpanContext) -> Self {
        let (parent_span_id, parent_is_remote) = if parent.is_valid() {
            (parent.span_id().to_bytes(), parent.is_remote())
        } else {
            ([0; 8], false)
        };
        Self {
            queue,
            attrs: Vec::new(),
            start_unix_nanos: unix_nanos(std::time::SystemTime::now()),
            parent_span_id,
            parent_is_remote,
        }
    }

    /// Room for `bytes` of attributes, so writing them allocates once.
    #[inline]
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.attrs.reserve(bytes);
    }

    /// Stops holding the spans of `sc`'s trace (see [`super::held`]) and
    /// returns them, if any were held.
    #[inline]
    pub(crate) fn release_held(&self, sc: &SpanContext) -> Option<Vec<HeldSpan>> {
        self.queue.held.release(sc.trace_id().to_bytes())
    }

    /// Queues spans that were held for this one, which is kept.
    pub(crate) fn push_held(&self, held: Option<Vec<HeldSpan>>) {
        for (scope, body) in held.into_iter().flatten() {
            self.queue.push_scoped(&scope, &body);
        }
    }

    /// Attributes already encoded (see [`SpanRecord::encode_safe`]).
    #[inline]
    pub(crate) fn encoded(&mut self, attributes: &[u8]) {
        self.attrs.extend_from_slice(attributes);
    }

    /// A safe string attribute, encoded for [`SpanRecord::encoded`].
    pub(crate) fn encode_safe(key: &str, value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        span::safe_str(&mut out, key, value);
        out
    }

    /// A string attribute known to be safe (a fixed name, a route template).
    #[inline]
    pub(crate) fn safe(&mut self, key: &str, value: &str) {
        span::safe_str(&mut self.attrs, key, value);
    }

    /// A string attribute from the client: masked, or `[REDACTED]` whole
    /// when the key names a secret. For the layer's own keys that answer
    /// was found once ([`SpanQueue::sensitive_keys`]).
    #[inline]
    pub(crate) fn masked(&mut self, key: &str, value: &str) {
        let q = self.queue;
        if LAYER_KEYS.contains(&key) {
            let value = if q.sensitive_keys.contains(&key) {
                std::borrow::Cow::Borrowed(crate::redact::REDACTED)
            } else {
                q.redactor.mask(value)
            };
            span::safe_str(&mut self.attrs, key, &value);
        } else {
            span::masked_str(&mut self.attrs, &q.redactor, key, value);
        }
    }

    /// An integer attribute.
    #[inline]
    pub(crate) fn int(&mut self, key: &str, value: i64) {
        span::int(&mut self.attrs, key, value);
    }

    /// Ends the span `elapsed_nanos` after its start and queues it.
    /// `status`: 0 unset, 2 error (with an empty message). The span's
    /// `tracestate` is `sc`'s (the caller's, client input): masked here,
    /// only for a span that is exported.
    pub(crate) fn finish(
        self,
        sc: &SpanContext,
        name: &str,
        kind: SpanKind,
        elapsed_nanos: u64,
        status: u8,
    ) {
        let q = self.queue;
        let header = sc.trace_state().header();
        let trace_state = proto::masked_trace_state(&q.redactor, &header);
        with_scratch(|body, _| {
            span::head(
                body,
                &SpanHead {
                    trace_id: sc.trace_id().to_bytes(),
                    span_id: sc.span_id().to_bytes(),
                    trace_state: &trace_state,
                    parent_span_id: self.parent_span_id,
                    parent_is_remote: self.parent_is_remote,
                    name,
                    kind,
                    trace_flags: sc.trace_flags().to_u8(),
                    start_unix_nanos: self.start_unix_nanos,
                    end_unix_nanos: self.start_unix_nanos.saturating_add(elapsed_nanos),
                },
            );
            body.extend_from_slice(&self.attrs);
            span::status(body, status, "");
            q.push(body);
        });
    }
}
