//! A build without an OTLP transport samples nothing (its configuration
//! refuses an endpoint), so the export queue is never made and neither is
//! a span record: stand-ins with the same API keep the callers' code the
//! same in every build.

pub(crate) mod queue {
    /// Cannot be made (see the module docs).
    #[derive(Debug)]
    pub(crate) struct SpanQueue {
        pub(super) never: std::convert::Infallible,
    }
}

pub(crate) mod held {
    /// The mark of a tentative request's context.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct TentativeTrace;
}

pub(crate) mod record {
    use opentelemetry::trace::{SpanContext, SpanKind};

    use super::queue::SpanQueue;

    /// Never made: starting one needs a [`SpanQueue`].
    pub(crate) struct SpanRecord;

    /// Never made: only [`SpanRecord::finish`] would.
    pub(crate) struct Attributes<'a>(std::marker::PhantomData<&'a ()>);

    impl SpanRecord {
        pub(crate) fn start(queue: &'static SpanQueue, _: &SpanContext) -> Self {
            match queue.never {}
        }

        pub(crate) fn release_held(&self, _: &SpanContext) -> Option<Vec<()>> {
            None
        }

        pub(crate) fn push_held(&self, _: Option<Vec<()>>) {}

        pub(crate) fn mark_tentative(&self, _: &SpanContext) -> bool {
            false
        }

        pub(crate) fn unmark_tentative(&self, _: &SpanContext) {}

        pub(crate) fn encode_safe(_: &str, _: &str) -> Vec<u8> {
            Vec::new()
        }

        pub(crate) fn finish(
            self,
            _: &SpanContext,
            _: &str,
            _: SpanKind,
            _: u64,
            _: u8,
            _: impl FnOnce(&mut Attributes<'_>),
        ) {
        }
    }

    impl Attributes<'_> {
        pub(crate) fn encoded(&mut self, _: &[u8]) {}

        pub(crate) fn safe(&mut self, _: &str, _: &str) {}

        pub(crate) fn masked(&mut self, _: &str, _: &str) {}

        pub(crate) fn int(&mut self, _: &str, _: i64) {}
    }
}
