//! Spans of tentative traces, held until their request decides (see
//! `REDLINE_TRACES_KEEP_ERRORS` and `REDLINE_TRACES_SLOW_THRESHOLD`): a
//! request the sampler left out is recorded anyway, with its children, and
//! exported only if it fails or is slow. Its children end before it does;
//! they wait here, keyed by trace id, and leave with the server span or are
//! forgotten with it.
//!
//! A trace is watched only once a child starts in it, so a request without
//! children costs nothing here. A child knows its request is tentative by
//! its trace id, marked in a small table ([`Marks`]) while the request
//! runs; when the table's slot is taken by another request, by a value of
//! the request's context ([`TentativeTrace`]) instead. Bounded: at most
//! [`MAX_TRACES`] traces and [`MAX_SPANS`] spans each; beyond, spans are
//! dropped and counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use opentelemetry::InstrumentationScope;

/// Most tentative traces with children at once.
pub(crate) const MAX_TRACES: usize = 1024;
/// Most spans held per trace.
pub(crate) const MAX_SPANS: usize = 128;

/// The mark of a tentative request's context (a value of the context),
/// when its trace id could not be marked in [`Marks`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct TentativeTrace;

/// Slots in [`Marks`] (a power of two; 32 KiB).
const MARK_SLOTS: usize = 4096;

/// The trace ids of tentative requests in flight, one per slot, chosen by
/// the id: marking, unmarking and asking are an atomic operation each.
///
/// Why not only [`TentativeTrace`] in the context: a context value costs a
/// map, two `Arc`s and their frees per request (about 1,000 instructions
/// a tentative request, callgrind, `redline-tail` in `benches/peers`), and
/// most tentative requests are left out. A slot holds the id's last
/// 8 bytes (the random part; 0 means free): a request whose slot is taken
/// falls back to the context value, so a mark is never lost. Two traces in
/// flight with the same last 8 bytes would share a mark (a chance of 2^-64
/// a pair): a child of the other would then be held, and dropped with it.
pub(crate) struct Marks {
    slots: Box<[AtomicU64]>,
}

impl Default for Marks {
    fn default() -> Self {
        Self {
            slots: (0..MARK_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Marks {
    /// The value kept for `trace_id` and its slot.
    #[inline]
    fn slot(&self, trace_id: [u8; 16]) -> (u64, &AtomicU64) {
        let mut low = [0; 8];
        low.copy_from_slice(&trace_id[8..]);
        let key = u64::from_le_bytes(low);
        let index = (key ^ (key >> 32)) as usize & (MARK_SLOTS - 1);
        (key, &self.slots[index])
    }

    /// Marks `trace_id` as tentative; `false` when its slot is taken (or
    /// the id's last 8 bytes are zero): mark the context instead.
    #[inline]
    pub(crate) fn mark(&self, trace_id: [u8; 16]) -> bool {
        let (key, slot) = self.slot(trace_id);
        key != 0
            && slot
                .compare_exchange(0, key, Ordering::Release, Ordering::Relaxed)
                .is_ok()
    }

    /// Removes the mark [`Marks::mark`] made.
    #[inline]
    pub(crate) fn unmark(&self, trace_id: [u8; 16]) {
        let (key, slot) = self.slot(trace_id);
        let _ = slot.compare_exchange(key, 0, Ordering::Release, Ordering::Relaxed);
    }

    /// Whether `trace_id` is marked.
    #[inline]
    pub(crate) fn is_marked(&self, trace_id: [u8; 16]) -> bool {
        let (key, slot) = self.slot(trace_id);
        key != 0 && slot.load(Ordering::Acquire) == key
    }
}

/// One held span: its scope and its encoded body.
pub(crate) type HeldSpan = (InstrumentationScope, Vec<u8>);

/// The held spans, by trace id.
#[derive(Default)]
pub(crate) struct Held {
    traces: Mutex<HashMap<[u8; 16], Vec<HeldSpan>>>,
    /// Traces watched: the fast path (zero) takes no lock.
    watched: AtomicUsize,
    /// Tentative requests in flight.
    pub(crate) marks: Marks,
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

    #[test]
    fn marks_are_exact_and_a_taken_slot_refuses() {
        let marks = Marks::default();
        let id = |high: u64, low: u64| ((high as u128) << 64 | low as u128).to_be_bytes();
        let a = id(1, 0x1234_5678_9abc_def0);
        assert!(!marks.is_marked(a));
        assert!(marks.mark(a));
        assert!(marks.is_marked(a));
        // The same slot, another id: refused (the caller marks its
        // context), and neither is mistaken for the other.
        let b = id(1, 0x1234_5678_9abc_def0 + MARK_SLOTS as u64 * (1 << 32 | 1));
        assert_eq!(marks.slot(a).1 as *const _, marks.slot(b).1 as *const _);
        assert!(!marks.mark(b));
        assert!(!marks.is_marked(b));
        marks.unmark(b);
        assert!(marks.is_marked(a), "another id's unmark leaves the mark");
        marks.unmark(a);
        assert!(!marks.is_marked(a));
        assert!(marks.mark(b));
        // Ids whose last 8 bytes are zero are never marked.
        assert!(!marks.mark(id(7, 0)));
        assert!(!marks.is_marked(id(7, 0)));
        // Only the last 8 bytes count (the documented 2^-64 sharing).
        assert!(marks.is_marked(id(
            2,
            0x1234_5678_9abc_def0 + MARK_SLOTS as u64 * (1 << 32 | 1)
        )));
    }
}
