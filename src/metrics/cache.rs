//! Cache efficiency for the service's own caches: lookups by result (hit
//! or miss), evictions, entries held, and how long a load on a miss took,
//! per named cache.
//!
//! The families are the `prometheus` crate's vectors: a cache's handles are
//! resolved once (by name, under a lock) and then cost an atomic add each.
//! Why not redline's sharded families: a cache lookup is already a hash-map
//! access and a lock or two in the service, so one uncontended atomic is
//! lost in it; the sharded families exist for the HTTP layer's hot path.
//!
//! The `cache` label is capped ([`MAX_CACHES`]): names beyond the cap share
//! the `_OVERFLOW` series and count in `redline_metric_overflow_total`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use super::family::OVERFLOW_LABEL;

/// Most cache names with series of their own.
pub const MAX_CACHES: usize = 32;

/// The metric names (see docs/METRICS.md).
pub(crate) const REQUESTS: &str = "redline_cache_requests_total";
const EVICTIONS: &str = "redline_cache_evictions_total";
const ENTRIES: &str = "redline_cache_entries";
const LOAD: &str = "redline_cache_load_duration_seconds";

/// The cache families of a [`Telemetry`](crate::Telemetry); get one cache's
/// handle with [`cache`](Self::cache). Cheap to clone.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let thumbnails = t.caches().cache("thumbnails");
/// thumbnails.miss();
/// thumbnails.hit();
/// let text = t.render_metrics();
/// assert!(text.contains(r#"redline_cache_requests_total{cache="thumbnails",result="hit"} 1"#));
/// ```
#[derive(Clone)]
pub struct CacheMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    requests: IntCounterVec,
    evictions: IntCounterVec,
    entries: IntGaugeVec,
    load: HistogramVec,
    caches: Mutex<HashMap<Box<str>, Cache>>,
    overflow: IntCounter,
}

impl CacheMetrics {
    /// Registers the four families in `registry`; load durations in
    /// `buckets` (seconds); names beyond [`MAX_CACHES`] count in `overflow`.
    pub(crate) fn register(
        registry: &Registry,
        buckets: &[f64],
        overflow: IntCounter,
    ) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(REQUESTS, "Cache lookups, by cache and result (hit, miss)."),
            &["cache", "result"],
        )?;
        let evictions = IntCounterVec::new(
            Opts::new(
                EVICTIONS,
                "Entries evicted from a cache to stay within its bound.",
            ),
            &["cache"],
        )?;
        let entries = IntGaugeVec::new(Opts::new(ENTRIES, "Entries a cache holds."), &["cache"])?;
        let load = HistogramVec::new(
            HistogramOpts::new(LOAD, "Time to load a value on a cache miss.")
                .buckets(buckets.to_vec()),
            &["cache"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(evictions.clone()))?;
        registry.register(Box::new(entries.clone()))?;
        registry.register(Box::new(load.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                requests,
                evictions,
                entries,
                load,
                caches: Mutex::new(HashMap::new()),
                overflow,
            }),
        })
    }

    /// The handles of the cache called `name` (resolved once: keep it with
    /// the cache). Beyond [`MAX_CACHES`] names, the `_OVERFLOW` series.
    pub fn cache(&self, name: &str) -> Cache {
        let inner = &*self.inner;
        let mut caches = inner.caches.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cache) = caches.get(name) {
            return cache.clone();
        }
        let (label, overflow) = if caches.len() < MAX_CACHES {
            (name, None)
        } else {
            (OVERFLOW_LABEL, Some(inner.overflow.clone()))
        };
        let cache = Cache {
            handles: Arc::new(Handles {
                hit: inner.requests.with_label_values(&[label, "hit"]),
                miss: inner.requests.with_label_values(&[label, "miss"]),
                evictions: inner.evictions.with_label_values(&[label]),
                entries: inner.entries.with_label_values(&[label]),
                load: inner.load.with_label_values(&[label]),
                overflow,
            }),
        };
        if cache.handles.overflow.is_none() {
            caches.insert(name.into(), cache.clone());
        }
        cache
    }
}

impl std::fmt::Debug for CacheMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheMetrics").finish_non_exhaustive()
    }
}

/// One cache's handles: count each lookup as a hit or a miss, time the load
/// on a miss, count evictions, report the size. Cheap to clone.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let cache = t.caches().cache("users");
/// let mut store = std::collections::HashMap::new();
/// for id in [1, 2, 1] {
///     if store.contains_key(&id) {
///         cache.hit();
///     } else {
///         let user = cache.load(|| format!("user {id}")); // a miss, timed
///         store.insert(id, user);
///         cache.set_entries(store.len());
///     }
/// }
/// let text = t.render_metrics();
/// assert!(text.contains(r#"redline_cache_requests_total{cache="users",result="miss"} 2"#));
/// assert!(text.contains(r#"redline_cache_entries{cache="users"} 2"#));
/// assert!(text.contains(r#"redline_cache_load_duration_seconds_count{cache="users"} 2"#));
/// ```
#[derive(Clone)]
pub struct Cache {
    handles: Arc<Handles>,
}

struct Handles {
    hit: IntCounter,
    miss: IntCounter,
    evictions: IntCounter,
    entries: IntGauge,
    load: Histogram,
    /// Set when this name went to the overflow series: each use counts.
    overflow: Option<IntCounter>,
}

impl Cache {
    fn counted(&self) -> &Handles {
        if let Some(overflow) = &self.handles.overflow {
            overflow.inc();
        }
        &self.handles
    }

    /// A lookup found its value.
    pub fn hit(&self) {
        self.counted().hit.inc();
    }

    /// A lookup did not find its value.
    pub fn miss(&self) {
        self.counted().miss.inc();
    }

    /// A miss whose value `load` computes, timed
    /// (`redline_cache_load_duration_seconds`).
    pub fn load<T>(&self, load: impl FnOnce() -> T) -> T {
        self.miss();
        let start = Instant::now();
        let value = load();
        self.handles.load.observe(start.elapsed().as_secs_f64());
        value
    }

    /// Entries evicted to stay within the cache's bound.
    pub fn evicted(&self, entries: u64) {
        self.counted().evictions.inc_by(entries);
    }

    /// How many entries the cache holds now.
    pub fn set_entries(&self, entries: usize) {
        self.handles
            .entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caches() -> (Registry, CacheMetrics, IntCounter) {
        let registry = Registry::new();
        let overflow = IntCounter::new("overflow", "test").unwrap();
        let caches = CacheMetrics::register(&registry, &[0.001, 0.1], overflow.clone()).unwrap();
        (registry, caches, overflow)
    }

    #[test]
    fn names_beyond_the_cap_share_the_overflow_series_and_count() {
        let (registry, caches, overflow) = caches();
        for i in 0..MAX_CACHES + 10 {
            caches.cache(&format!("c{i}")).hit();
        }
        // A name over the cap, used again: counted each time.
        caches.cache("c40").miss();
        let text = crate::metrics::render_text(&registry);
        let series = text
            .lines()
            .filter(|l| l.starts_with("redline_cache_requests_total{") && l.contains("hit"))
            .count();
        assert_eq!(series, MAX_CACHES + 1, "{text}");
        assert!(
            text.contains(r#"redline_cache_requests_total{cache="_OVERFLOW",result="hit"} 10"#)
        );
        assert_eq!(overflow.get(), 11);
        // A name within the cap keeps its own series.
        caches.cache("c0").hit();
        assert!(text.contains(r#"cache="c0",result="hit"} 1"#));
    }

    #[test]
    fn loads_are_timed_misses_and_evictions_count() {
        let (registry, caches, _) = caches();
        let c = caches.cache("media");
        assert_eq!(c.load(|| 7), 7);
        c.evicted(3);
        c.set_entries(12);
        let text = crate::metrics::render_text(&registry);
        assert!(text.contains(r#"redline_cache_requests_total{cache="media",result="miss"} 1"#));
        assert!(text.contains(r#"redline_cache_load_duration_seconds_count{cache="media"} 1"#));
        assert!(text.contains(r#"redline_cache_evictions_total{cache="media"} 3"#));
        assert!(text.contains(r#"redline_cache_entries{cache="media"} 12"#));
    }
}
