//! Spans of tentative traces, held until their request decides (see
//! `REDLINE_TRACES_KEEP_ERRORS` and `REDLINE_TRACES_SLOW_THRESHOLD`): a
//! request the sampler left out is recorded anyway, with its children, and
//! exported only if it fails or is slow. Its children end before it does;
//! they wait here, keyed by trace id, and leave with the server span or are
//! forgotten with it.
//!
//! A trace is watched only once a child starts in it (the context of a
//! tentative request carries [`TentativeTrace`]), so a request without
//! children costs nothing here. Bounded: at most [`MAX_TRACES`] traces and
//! [`MAX_SPANS`] spans each; beyond, spans are dropped and counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::InstrumentationScope;

/// Most tentative traces with children at once.
pub(crate) const MAX_TRACES: usize = 1024;
/// Most spans held per trace.
pub(crate) const MAX_SPANS: usize = 128;

/// The mark of a tentative request's context (a value of the context).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TentativeTrace;

/// One held span: its scope and its encoded body.
pub(crate) type HeldSpan = (InstrumentationScope, Vec<u8>);

/// The held spans, by trace id.
#[derive(Default)]
pub(crate) struct Held {
    traces: Mutex<HashMap<[u8; 16], Vec<HeldSpan>>>,
    /// Traces watched: the fast path (zero) takes no lock.
    watched: AtomicUsize,
}

/// What [`Held::hold`] did with a span.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Holding {
    /// Not a watched trace: export it now.
    NotHeld,
    Held,
    /// A watched trace, but its share is used up: dropped.
    Full,
}

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 16], Vec<HeldSpan>>> {
        self.traces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts holding the spans of `trace_id`. `false` when too many
    /// traces are held already (its spans are then exported as they end).
    pub(crate) fn watch(&self, trace_id: [u8; 16]) -> bool {
        let mut traces = self.lock();
        if traces.contains_key(&trace_id) {
            return true;
        }
        if traces.len() >= MAX_TRACES {
            return false;
        }
        traces.insert(trace_id, Vec::new());
        self.watched.store(traces.len(), Ordering::Relaxed);
        true
    }

    /// Holds a span if its trace is watched.
    pub(crate) fn hold(
        &self,
        trace_id: [u8; 16],
        scope: &InstrumentationScope,
        body: &[u8],
    ) -> Holding {
        if self.watched.load(Ordering::Relaxed) == 0 {
            return Holding::NotHeld;
        }
        let mut traces = self.lock();
        match traces.get_mut(&trace_id) {
            None => Holding::NotHeld,
            Some(spans) if spans.len() >= MAX_SPANS => Holding::Full,
            Some(spans) => {
                spans.push((scope.clone(), body.to_vec()));
                Holding::Held
            }
        }
    }

    /// Stops watching `trace_id`; its held spans, if any.
    pub(crate) fn release(&self, trace_id: [u8; 16]) -> Option<Vec<HeldSpan>> {
        if self.watched.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut traces = self.lock();
        let spans = traces.remove(&trace_id);
        self.watched.store(traces.len(), Ordering::Relaxed);
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_only_watched_traces_within_bounds() {
        let held = Held::default();
        let scope = InstrumentationScope::builder("app").build();
        assert_eq!(held.hold([1; 16], &scope, b"x"), Holding::NotHeld);
        assert!(held.watch([1; 16]));
        for _ in 0..MAX_SPANS {
            assert_eq!(held.hold([1; 16], &scope, b"x"), Holding::Held);
        }
        assert_eq!(held.hold([1; 16], &scope, b"x"), Holding::Full);
        assert_eq!(held.hold([2; 16], &scope, b"x"), Holding::NotHeld);
        assert_eq!(held.release([1; 16]).unwrap().len(), MAX_SPANS);
        assert!(held.release([1; 16]).is_none());
        for i in 0..MAX_TRACES {
            assert!(held.watch((i as u128).to_be_bytes()));
        }
        assert!(!held.watch([0xff; 16]), "bounded in traces");
    }
}
