//! Sharded atomic counters and histograms for the hot path.
//!
//! Why not the `prometheus` crate's own types here: a pre-resolved
//! `prometheus::Histogram::observe` costs about 11 ns on one thread but about
//! 106 ns with two threads contending on the same series (measured on the
//! development machine, see `docs/PERFORMANCE.md`), because both cores write
//! the same cache lines. An HTTP request records three histograms and a gauge,
//! so the contended cost alone would exceed the 150 ns budget.
//!
//! These types keep one cache-line-aligned shard per *slot*. A thread leases a
//! slot of its own the first time it records and returns it when it exits;
//! while it holds the lease it is the only writer of that slot's cells in
//! every metric, so it updates them with a plain load and store instead of a
//! locked read-modify-write (`fetch_add` costs ~20 cycles even uncontended;
//! a request records six values). Threads beyond the number of slots share
//! one extra slot and use `fetch_add` there. Reads (at scrape time) sum the
//! slots with relaxed loads: each cell is an atomic, so a reader never sees a
//! torn value, only one that is a few increments old. Values are integers
//! (nanoseconds, bytes), so sums are exact; they are scaled to the exposed
//! unit at scrape.
//!
//! Lease hand-over goes through a mutex: a thread that leases a slot after
//! another released it sees every value the previous owner wrote.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Slots with a single writer: twice the CPUs (workers plus a few helper
/// threads), at least 2, at most 16 (beyond that, memory per series grows
/// faster than contention falls).
fn exclusive_slots() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        (cpus * 2).clamp(2, 16)
    })
}

/// All slots: the exclusive ones, then the shared one.
fn slot_count() -> usize {
    exclusive_slots() + 1
}

/// Where the current thread writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    index: usize,
    exclusive: bool,
}

impl Slot {
    const SHARED_MARK: usize = usize::MAX;

    #[inline]
    fn add_u64(self, cell: &AtomicU64, v: u64) {
        if self.exclusive {
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(v),
                Ordering::Relaxed,
            );
        } else {
            cell.fetch_add(v, Ordering::Relaxed);
        }
    }
}

/// Free exclusive slots.
fn free_slots() -> &'static Mutex<Vec<usize>> {
    static FREE: OnceLock<Mutex<Vec<usize>>> = OnceLock::new();
    FREE.get_or_init(|| Mutex::new((0..exclusive_slots()).rev().collect()))
}

/// A thread's lease on an exclusive slot, returned when the thread exits.
struct Lease(Cell<usize>);

impl Lease {
    fn acquire() -> Self {
        let index = free_slots()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or(Slot::SHARED_MARK);
        Lease(Cell::new(index))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let index = self.0.get();
        if index != Slot::SHARED_MARK {
            free_slots()
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(index);
        }
    }
}

/// The slot of the current thread (leased on first use).
#[inline]
pub(crate) fn slot() -> Slot {
    thread_local! {
        static LEASE: Lease = Lease::acquire();
    }
    // After the thread's lease was destroyed (recording from another
    // thread-local's destructor), fall back to the shared slot.
    let index = LEASE.try_with(|l| l.0.get()).unwrap_or(Slot::SHARED_MARK);
    if index == Slot::SHARED_MARK {
        Slot {
            index: exclusive_slots(),
            exclusive: false,
        }
    } else {
        Slot {
            index,
            exclusive: true,
        }
    }
}

/// Keeps a shard on cache lines of its own (128 bytes covers adjacent-line
/// prefetching on x86_64).
#[repr(align(128))]
struct Padded<T>(T);

/// A signed counter (used as a gauge) split across shards. Each shard holds
/// its running delta in two's complement, so increments and decrements are
/// the same wrapping add, and the shards' wrapping sum is the value.
pub(crate) struct ShardedGauge {
    shards: Box<[Padded<AtomicU64>]>,
}

impl ShardedGauge {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..slot_count())
                .map(|_| Padded(AtomicU64::new(0)))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn add(&self, delta: i64) {
        self.add_in(slot(), delta);
    }

    #[inline]
    pub(crate) fn add_in(&self, slot: Slot, delta: i64) {
        slot.add_u64(&self.shards[slot.index].0, delta as u64);
    }

    pub(crate) fn get(&self) -> i64 {
        self.shards
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed))) as i64
    }
}

/// Bucket upper bounds of a histogram, kept both as the exposed `f64` values
/// and as integer thresholds in the recording unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Buckets {
    /// Upper bounds in the exposed unit (seconds, bytes), strictly increasing,
    /// without `+Inf`.
    pub(crate) bounds: Vec<f64>,
    /// The same bounds in the recording unit, rounded down.
    thresholds: Vec<u64>,
    /// Exposed value of one recording unit (1e-9 for nanoseconds → seconds).
    pub(crate) scale: f64,
}

impl Buckets {
    /// `bounds` must be finite, strictly increasing, and non-negative;
    /// [`crate::config`] validates user input before it gets here.
    pub(crate) fn new(bounds: &[f64], scale: f64) -> Self {
        let thresholds = bounds
            .iter()
            .map(|b| {
                // 0.075 / 1e-9 is 74999999.99999999 in floating point: snap
                // values within rounding error of an integer to it, so an
                // observation of exactly 75 ms falls in the `le="0.075"` bucket.
                let t = b / scale;
                let nearest = t.round();
                let snapped = if (t - nearest).abs() <= 1e-9 * nearest.max(1.0) {
                    nearest
                } else {
                    t.floor()
                };
                snapped.max(0.0) as u64
            })
            .collect();
        Self {
            bounds: bounds.to_vec(),
            thresholds,
            scale,
        }
    }

    #[inline]
    pub(crate) fn index(&self, value: u64) -> usize {
        // Linear scan: bucket lists are short (≤ ~20), and this is branch-
        // predictable and beats a binary search at that size.
        self.thresholds
            .iter()
            .position(|&t| value <= t)
            .unwrap_or(self.thresholds.len())
    }
}

/// Atomic cells per cache-line pair.
const CELLS_PER_CHUNK: usize = 16;

/// A histogram over integer values, split across shards.
///
/// Every shard's cells (per-bucket counts, `+Inf` last, then the sum) lie
/// inline in 128-byte chunks of one allocation, so no two shards ever share
/// a cache line.
pub(crate) struct ShardedHistogram {
    chunks: Box<[Padded<[AtomicU64; CELLS_PER_CHUNK]>]>,
    /// Count cells per shard: buckets + `+Inf`.
    slots: usize,
    chunks_per_shard: usize,
}

/// A consistent-enough reading of a [`ShardedHistogram`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSnapshot {
    /// Non-cumulative count per bucket, `+Inf` last.
    pub(crate) counts: Vec<u64>,
    /// Sum of observed values in the recording unit.
    pub(crate) sum: u64,
}

impl HistogramSnapshot {
    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl ShardedHistogram {
    pub(crate) fn new(buckets: &Buckets) -> Self {
        let slots = buckets.thresholds.len() + 1;
        let chunks_per_shard = (slots + 1).div_ceil(CELLS_PER_CHUNK);
        Self {
            chunks: (0..slot_count() * chunks_per_shard)
                .map(|_| Padded(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
            slots,
            chunks_per_shard,
        }
    }

    #[inline]
    fn cell(&self, shard: usize, index: usize) -> &AtomicU64 {
        let chunk = shard * self.chunks_per_shard + index / CELLS_PER_CHUNK;
        &self.chunks[chunk].0[index % CELLS_PER_CHUNK]
    }

    #[inline]
    pub(crate) fn observe(&self, buckets: &Buckets, value: u64) {
        self.observe_in(slot(), buckets, value);
    }

    /// [`Self::observe`] with the slot already looked up (a request records
    /// several values).
    #[inline]
    pub(crate) fn observe_in(&self, slot: Slot, buckets: &Buckets, value: u64) {
        slot.add_u64(self.cell(slot.index, buckets.index(value)), 1);
        slot.add_u64(self.cell(slot.index, self.slots), value);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = vec![0u64; self.slots];
        let mut sum = 0u64;
        for shard in 0..slot_count() {
            for (i, total) in counts.iter_mut().enumerate() {
                *total += self.cell(shard, i).load(Ordering::Relaxed);
            }
            sum = sum.wrapping_add(self.cell(shard, self.slots).load(Ordering::Relaxed));
        }
        HistogramSnapshot { counts, sum }
    }

    /// Converts a snapshot into the `prometheus` crate's histogram model.
    pub(crate) fn to_proto(
        snapshot: &HistogramSnapshot,
        buckets: &Buckets,
    ) -> prometheus::proto::Histogram {
        let mut h = prometheus::proto::Histogram::default();
        let mut cumulative = 0u64;
        let mut out = Vec::with_capacity(buckets.bounds.len());
        for (bound, count) in buckets.bounds.iter().zip(snapshot.counts.iter()) {
            cumulative += count;
            let mut b = prometheus::proto::Bucket::default();
            b.set_upper_bound(*bound);
            b.set_cumulative_count(cumulative);
            out.push(b);
        }
        h.set_bucket(out);
        h.set_sample_count(snapshot.count());
        h.set_sample_sum(snapshot.sum as f64 * buckets.scale);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_survive_floating_point_division() {
        let b = Buckets::new(&crate::http::DEFAULT_DURATION_BUCKETS, 1e-9);
        for (bound, threshold) in b.bounds.iter().zip(&b.thresholds) {
            let nanos = (bound * 1e9).round() as u64;
            assert_eq!(*threshold, nanos, "bound {bound}");
            assert_eq!(
                b.bounds[b.index(nanos)],
                *bound,
                "exactly {bound}s is in its own bucket"
            );
        }
    }

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds() {
        let b = Buckets::new(&[0.005, 0.01, 1.0], 1e-9);
        let h = ShardedHistogram::new(&b);
        h.observe(&b, 5_000_000); // exactly 5 ms → first bucket (le is inclusive)
        h.observe(&b, 5_000_001);
        h.observe(&b, 2_000_000_000); // +Inf
        let s = h.snapshot();
        assert_eq!(s.counts, vec![1, 1, 0, 1]);
        assert_eq!(s.count(), 3);
        assert_eq!(s.sum, 2_010_000_001);
        let p = ShardedHistogram::to_proto(&s, &b);
        let cumulative: Vec<u64> = p
            .get_bucket()
            .iter()
            .map(|b| b.cumulative_count())
            .collect();
        assert_eq!(cumulative, vec![1, 2, 2]);
        assert!((p.get_sample_sum() - 2.010000001).abs() < 1e-12);
    }

    #[test]
    fn slots_are_exclusive_then_shared_and_reused() {
        // More threads than exclusive slots, all alive at once.
        let n = exclusive_slots() + 3;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let s = slot();
                    barrier.wait();
                    (s.index, s.exclusive)
                })
            })
            .collect();
        let slots: Vec<(usize, bool)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut exclusive: Vec<usize> = slots.iter().filter(|s| s.1).map(|s| s.0).collect();
        exclusive.sort();
        exclusive.dedup();
        assert_eq!(
            exclusive.len(),
            slots.iter().filter(|s| s.1).count(),
            "no exclusive slot held by two live threads"
        );
        assert!(
            slots
                .iter()
                .filter(|s| !s.1)
                .all(|s| s.0 == exclusive_slots())
        );
        // Leases came back: a new thread gets an exclusive slot again.
        assert!(std::thread::spawn(|| slot().exclusive).join().unwrap());
    }

    #[test]
    fn shards_sum_across_threads() {
        let g = std::sync::Arc::new(ShardedGauge::new());
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let g = g.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        g.add(if i % 2 == 0 { 2 } else { -1 });
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(g.get(), 20 * 2000 - 20 * 1000);
    }
}
