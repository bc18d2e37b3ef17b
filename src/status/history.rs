//! The in-process history behind the status page: a bounded ring of
//! snapshots of the registry, one every [`INTERVAL`], covering
//! [`SPAN`]. Each snapshot keeps, per route (`METHOD /template`) and per
//! timed operation, the request count, the error count and the cumulative
//! duration buckets, plus the telemetry pipeline's counters and the
//! process readings. Rates, error ratios and percentiles over any window
//! are differences of two snapshots.
//!
//! Nothing here runs on the request path: a background thread gathers the
//! registry (as a scrape would) every [`INTERVAL`].
//!
//! Memory: `8 × (2 + buckets)` bytes per series per snapshot. With the
//! default 14 HTTP buckets and 181 snapshots that is 23 KiB per route; the
//! ring holds at most [`MAX_SERIES`] series (2.3 MiB at most, 0.3 MiB for
//! the demo's 14).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::proto::{MetricFamily, MetricType};

/// Time between two snapshots.
pub(crate) const INTERVAL: Duration = Duration::from_secs(5);
/// What the ring covers: the longest window of the page.
pub(crate) const SPAN: Duration = Duration::from_secs(15 * 60);
/// Most routes and operations followed; further ones are left out of the
/// page (the metrics still count them).
pub(crate) const MAX_SERIES: usize = 100;

const HTTP_DURATION: &str = "http_server_request_duration_seconds";
const OPERATION_DURATION: &str = "redline_operation_duration_seconds";

/// What a series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// HTTP requests of one route.
    Http,
    /// One timed operation.
    Operation,
}

/// One route's or operation's cumulative counts at a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Counts {
    pub(crate) count: u64,
    pub(crate) errors: u64,
    /// Cumulative counts, one per bound of the kind's buckets.
    pub(crate) buckets: Box<[u64]>,
}

/// Cumulative counters of the telemetry pipeline (as the JSON document
/// gives them).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub(crate) struct Pipeline {
    pub(crate) spans_exported: f64,
    pub(crate) spans_dropped: f64,
    pub(crate) span_export_errors: f64,
    pub(crate) log_lines_written: f64,
    pub(crate) log_lines_dropped: f64,
    pub(crate) metric_overflow: f64,
}

/// The process readings of a snapshot (absent without the `system`
/// feature or off Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Process {
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) memory_bytes: Option<f64>,
    pub(crate) memory_limit_bytes: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) threads: Option<f64>,
}

/// One snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// Milliseconds since the epoch.
    pub(crate) at_ms: u64,
    /// By series id (see [`History::series`]).
    pub(crate) series: HashMap<u16, Counts>,
    pub(crate) pipeline: Pipeline,
    pub(crate) process: Process,
    /// HTTP requests in flight.
    pub(crate) active: f64,
}

/// The series followed: kind and name, by id.
#[derive(Debug, Default)]
pub(crate) struct SeriesTable {
    pub(crate) names: Vec<(Kind, String)>,
    ids: HashMap<(Kind, String), u16>,
    /// Bucket bounds by kind, in seconds.
    pub(crate) bounds: HashMap<Kind, Box<[f64]>>,
}

impl SeriesTable {
    fn id(&mut self, kind: Kind, name: &str) -> Option<u16> {
        if let Some(id) = self.ids.get(&(kind, name.to_owned())) {
            return Some(*id);
        }
        if self.names.len() >= MAX_SERIES {
            return None;
        }
        let id = u16::try_from(self.names.len()).ok()?;
        self.names.push((kind, name.to_owned()));
        self.ids.insert((kind, name.to_owned()), id);
        Some(id)
    }
}

/// The ring and its series table.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    pub(crate) table: SeriesTable,
    pub(crate) snapshots: VecDeque<Snapshot>,
}

/// Gathers the registry: what a scrape reads.
pub(crate) type Gather = dyn Fn() -> Vec<MetricFamily> + Send + Sync;

/// The history of one service. Cheap to clone.
#[derive(Clone)]
pub(crate) struct History {
    ring: Arc<Mutex<Ring>>,
    gather: Arc<Gather>,
    started: Arc<std::sync::Once>,
}

impl History {
    /// An empty history over `gather`; nothing is sampled before
    /// [`History::start`].
    pub(crate) fn new(gather: Arc<Gather>) -> Self {
        Self {
            ring: Arc::default(),
            gather,
            started: Arc::new(std::sync::Once::new()),
        }
    }

    /// Starts the sampling thread (once; later calls do nothing). It takes
    /// a first snapshot at once and stops when every clone of this history
    /// is gone.
    pub(crate) fn start(&self, every: Duration, on_tick: impl Fn() + Send + 'static) {
        self.started.call_once(|| {
            let ring = Arc::downgrade(&self.ring);
            let gather = Arc::downgrade(&self.gather);
            self.sample();
            let spawned = std::thread::Builder::new()
                .name("redline-status".into())
                .spawn(move || sample_loop(&ring, &gather, every, &on_tick));
            if let Err(e) = spawned {
                eprintln!("redline: the status page's history is off: no thread ({e})");
            }
        });
    }

    /// Takes one snapshot now.
    pub(crate) fn sample(&self) {
        let families = (self.gather)();
        record(&self.ring, &families, now_ms());
    }

    /// Reads the ring.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Ring) -> R) -> R {
        f(&self.ring.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn sample_loop(
    ring: &Weak<Mutex<Ring>>,
    gather: &Weak<Gather>,
    every: Duration,
    on_tick: &dyn Fn(),
) {
    loop {
        std::thread::sleep(every);
        let (Some(ring), Some(gather)) = (ring.upgrade(), gather.upgrade()) else {
            return;
        };
        let families = gather();
        record(&ring, &families, now_ms());
        on_tick();
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn label<'a>(m: &'a prometheus::proto::Metric, name: &str) -> &'a str {
    m.get_label()
        .iter()
        .find(|l| l.name() == name)
        .map_or("", |l| l.value())
}

/// Sum of a counter or gauge family's values (`None` when absent).
fn total(families: &[MetricFamily], name: &str) -> Option<f64> {
    let family = families.iter().find(|f| f.name() == name)?;
    Some(
        family
            .get_metric()
            .iter()
            .map(|m| match family.get_field_type() {
                MetricType::COUNTER => m.get_counter().get_value(),
                _ => m.get_gauge().get_value(),
            })
            .sum(),
    )
}

/// Adds a snapshot of `families` taken at `at_ms` to the ring, dropping
/// those older than [`SPAN`].
pub(crate) fn record(ring: &Mutex<Ring>, families: &[MetricFamily], at_ms: u64) {
    let mut ring = ring.lock().unwrap_or_else(PoisonError::into_inner);
    let ring = &mut *ring;
    let mut series: HashMap<u16, Counts> = HashMap::new();
    for family in families {
        let kind = match family.name() {
            HTTP_DURATION => Kind::Http,
            OPERATION_DURATION => Kind::Operation,
            _ => continue,
        };
        for m in family.get_metric() {
            let h = m.get_histogram();
            let (name, failed) = match kind {
                Kind::Http => {
                    let error = label(m, "error_type");
                    let route = label(m, "http_route");
                    let method = label(m, "http_request_method");
                    (
                        format!("{method} {route}"),
                        !error.is_empty() && error != "client_disconnected",
                    )
                }
                Kind::Operation => (
                    label(m, "operation").to_owned(),
                    matches!(label(m, "outcome"), "error" | "panic"),
                ),
            };
            let bounds: Box<[f64]> = h
                .get_bucket()
                .iter()
                .map(|b| b.upper_bound())
                .filter(|b| b.is_finite())
                .collect();
            ring.table
                .bounds
                .entry(kind)
                .or_insert_with(|| bounds.clone());
            let Some(id) = ring.table.id(kind, &name) else {
                continue;
            };
            let entry = series.entry(id).or_insert_with(|| Counts {
                count: 0,
                errors: 0,
                buckets: vec![0; bounds.len()].into(),
            });
            let count = h.get_sample_count();
            entry.count += count;
            if failed {
                entry.errors += count;
            }
            for (sum, b) in entry.buckets.iter_mut().zip(h.get_bucket()) {
                *sum += b.cumulative_count();
            }
        }
    }
    let get = |name: &str| total(families, name);
    let snapshot = Snapshot {
        at_ms,
        series,
        active: get("http_server_active_requests").unwrap_or(0.0),
        pipeline: Pipeline {
            spans_exported: get("redline_trace_spans_exported_total").unwrap_or(0.0),
            spans_dropped: get("redline_trace_spans_dropped_total").unwrap_or(0.0),
            span_export_errors: get("redline_trace_export_errors_total").unwrap_or(0.0),
            log_lines_written: get("redline_log_lines_written_total").unwrap_or(0.0),
            log_lines_dropped: get("redline_log_lines_dropped_total").unwrap_or(0.0),
            metric_overflow: get("redline_metric_overflow_total").unwrap_or(0.0),
        },
        process: Process {
            cpu_seconds: get("process_cpu_seconds_total"),
            memory_bytes: get("process_resident_memory_bytes"),
            memory_limit_bytes: get("redline_system_memory_limit_bytes"),
            open_fds: get("process_open_fds"),
            max_fds: get("process_max_fds"),
            threads: get("process_threads"),
        },
    };
    let oldest = at_ms.saturating_sub(SPAN.as_millis() as u64 + INTERVAL.as_millis() as u64);
    while ring.snapshots.front().is_some_and(|s| s.at_ms < oldest) {
        ring.snapshots.pop_front();
    }
    ring.snapshots.push_back(snapshot);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(ok: u64, failed: u64) -> Vec<MetricFamily> {
        let registry = prometheus::Registry::new();
        let opts = prometheus::HistogramOpts::new(HTTP_DURATION, "d").buckets(vec![0.1, 1.0]);
        let h = prometheus::HistogramVec::new(
            opts,
            &["http_request_method", "http_route", "error_type"],
        )
        .unwrap();
        registry.register(Box::new(h.clone())).unwrap();
        for _ in 0..ok {
            h.with_label_values(&["GET", "/a", ""]).observe(0.05);
        }
        for _ in 0..failed {
            h.with_label_values(&["GET", "/a", "500"]).observe(0.5);
        }
        // A client that left is not an error.
        h.with_label_values(&["GET", "/a", "client_disconnected"])
            .observe(0.05);
        registry.gather()
    }

    #[test]
    fn sums_label_sets_per_route_and_counts_errors() {
        let ring = Mutex::new(Ring::default());
        record(&ring, &families(8, 2), 1_000);
        let ring = ring.into_inner().unwrap();
        assert_eq!(ring.table.names, vec![(Kind::Http, "GET /a".to_owned())]);
        let counts = &ring.snapshots[0].series[&0];
        assert_eq!((counts.count, counts.errors), (11, 2));
        assert_eq!(&*counts.buckets, &[9, 11]);
        assert_eq!(&*ring.table.bounds[&Kind::Http], &[0.1, 1.0]);
    }

    #[test]
    fn keeps_only_the_span() {
        let ring = Mutex::new(Ring::default());
        let step = INTERVAL.as_millis() as u64;
        for i in 0..400 {
            record(&ring, &[], 1_000_000 + i * step);
        }
        let ring = ring.into_inner().unwrap();
        let expected = (SPAN.as_millis() as u64 / step + 2) as usize;
        assert!(ring.snapshots.len() <= expected, "{}", ring.snapshots.len());
        assert!(ring.snapshots.len() >= expected - 1);
    }
}
