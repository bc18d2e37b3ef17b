//! Sharded atomic counters and histograms for the hot path.
//!
//! Why not the `prometheus` crate's own types here: a pre-resolved
//! `prometheus::Histogram::observe` costs about 11 ns on one thread but about
//! 106 ns with two threads contending on the same series (measured on the
//! development machine, see `docs/PERFORMANCE.md`), because both cores write
//! the same cache lines. An HTTP request records three histograms and a gauge,
//! so the contended cost alone would exceed the 150 ns budget.
//!
//! These types keep one cache-line-aligned shard per "slot"; each thread is
//! pinned to one slot the first time it records, so two worker threads never
//! write the same line. Reads (at scrape time) sum the shards. Values are kept
//! as integers (nanoseconds, bytes), so sums are exact and a single
//! `fetch_add` records them; they are scaled to the exposed unit at scrape.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Number of shards per metric, a power of two: the number of CPUs rounded up,
/// capped at 16 (beyond that, memory grows faster than contention falls).
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .next_power_of_two()
            .min(16)
    })
}

/// The shard this thread writes to, assigned round-robin on first use.
#[inline]
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|slot| {
        let current = slot.get();
        if current != usize::MAX {
            return current;
        }
        let assigned = NEXT.fetch_add(1, Ordering::Relaxed) & (shard_count() - 1);
        slot.set(assigned);
        assigned
    })
}

/// Keeps a shard on cache lines of its own (128 bytes covers adjacent-line
/// prefetching on x86_64).
#[repr(align(128))]
struct Padded<T>(T);

/// A signed counter (used as a gauge) split across shards.
pub(crate) struct ShardedGauge {
    shards: Box<[Padded<AtomicI64>]>,
}

impl ShardedGauge {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..shard_count())
                .map(|_| Padded(AtomicI64::new(0)))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn add(&self, delta: i64) {
        self.shards[shard_index()]
            .0
            .fetch_add(delta, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> i64 {
        self.shards
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
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
            .map(|b| (b / scale).floor().max(0.0) as u64)
            .collect();
        Self {
            bounds: bounds.to_vec(),
            thresholds,
            scale,
        }
    }

    #[inline]
    fn index(&self, value: u64) -> usize {
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
            chunks: (0..shard_count() * chunks_per_shard)
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
        let shard = shard_index();
        self.cell(shard, buckets.index(value))
            .fetch_add(1, Ordering::Relaxed);
        self.cell(shard, self.slots)
            .fetch_add(value, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = vec![0u64; self.slots];
        let mut sum = 0u64;
        for shard in 0..shard_count() {
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
    fn shards_sum_across_threads() {
        let g = std::sync::Arc::new(ShardedGauge::new());
        let handles: Vec<_> = (0..8)
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
        assert_eq!(g.get(), 4 * 2000 - 4 * 1000);
    }
}
