//! A span recorded without the SDK: the HTTP layer writes a kept request's
//! attributes (masked where they come from the client) when it ends,
//! straight into this thread's encoding buffer after the span's head, and
//! the span is queued. No SDK span object, no `KeyValue` per attribute, no
//! copy of the request's strings, no buffer of its own.

use opentelemetry::trace::{SpanContext, SpanKind};

use super::held::HeldSpan;
use super::queue::{LAYER_KEYS, SpanQueue};
use super::scratch::with_scratch;
use super::wire::proto;
use super::wire::span::{self, SpanHead, unix_nanos};

/// A span in progress.
pub(crate) struct SpanRecord {
    queue: &'static SpanQueue,
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
            start_unix_nanos: unix_nanos(std::time::SystemTime::now()),
            parent_span_id,
            parent_is_remote,
        }
    }

    /// Stops holding the spans of `sc`'s trace (see [`super::held`]) and
    /// returns them, if any were held.
    #[inline]
    pub(crate) fn release_held(&self, sc: &SpanContext) -> Option<Vec<HeldSpan>> {
        self.queue.held.release(sc.trace_id().to_bytes())
    }

    /// Marks `sc`'s trace as tentative for the spans that start in it
    /// (see [`super::held::Marks`]); `false` when the context must carry
    /// the mark instead.
    #[inline]
    pub(crate) fn mark_tentative(&self, sc: &SpanContext) -> bool {
        self.queue.held.marks.mark(sc.trace_id().to_bytes())
    }

    /// Removes the mark [`SpanRecord::mark_tentative`] made.
    #[inline]
    pub(crate) fn unmark_tentative(&self, sc: &SpanContext) {
        self.queue.held.marks.unmark(sc.trace_id().to_bytes());
    }

    /// Queues spans that were held for this one, which is kept.
    pub(crate) fn push_held(&self, held: Option<Vec<HeldSpan>>) {
        for (scope, body) in held.into_iter().flatten() {
            self.queue.push_scoped(&scope, &body);
        }
    }

    /// A safe string attribute, encoded for [`Attributes::encoded`].
    pub(crate) fn encode_safe(key: &str, value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        span::safe_str(&mut out, key, value);
        out
    }

    /// Ends the span `elapsed_nanos` after its start and queues it, with
    /// the attributes `attributes` writes. `status`: 0 unset, 2 error (with
    /// an empty message). The span's `tracestate` is `sc`'s (the caller's,
    /// client input): masked here, only for a span that is exported.
    pub(crate) fn finish(
        self,
        sc: &SpanContext,
        name: &str,
        kind: SpanKind,
        elapsed_nanos: u64,
        status: u8,
        attributes: impl FnOnce(&mut Attributes<'_>),
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
            attributes(&mut Attributes {
                out: body,
                queue: q,
            });
            span::status(body, status, "");
            q.push(body);
        });
    }
}

/// Writes a span's attributes into its encoding (see
/// [`SpanRecord::finish`]).
pub(crate) struct Attributes<'a> {
    out: &'a mut Vec<u8>,
    queue: &'static SpanQueue,
}

impl Attributes<'_> {
    /// Attributes already encoded (see [`SpanRecord::encode_safe`]).
    #[inline]
    pub(crate) fn encoded(&mut self, attributes: &[u8]) {
        self.out.extend_from_slice(attributes);
    }

    /// A string attribute known to be safe (a fixed name, a route template).
    #[inline]
    pub(crate) fn safe(&mut self, key: &str, value: &str) {
        span::safe_str(self.out, key, value);
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
            span::safe_str(self.out, key, &value);
        } else {
            span::masked_str(self.out, &q.redactor, key, value);
        }
    }

    /// An integer attribute.
    #[inline]
    pub(crate) fn int(&mut self, key: &str, value: i64) {
        span::int(self.out, key, value);
    }
}
