//! The JSON document of `GET /status/data`: what the page draws, and what
//! scripts can read (schema in `docs/OPERATIONS.md`, "Status page").
//! Every text in it was redacted or built by redline.

use serde::Serialize;

use super::history::{Counts, Kind, Pipeline, Ring, Snapshot};
use super::quantile::quantile;
use super::recent::Recent;

/// The windows of the route tables, in seconds.
pub(crate) const WINDOWS: [(&str, u64); 3] = [("1m", 60), ("5m", 300), ("15m", 900)];
/// Sparklines' step: six snapshots.
const SPARK_STEP: usize = 6;

/// Rate, error ratio and percentiles over one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub(crate) struct Window {
    pub(crate) rate: Option<f64>,
    pub(crate) error_ratio: Option<f64>,
    pub(crate) p50: Option<f64>,
    pub(crate) p95: Option<f64>,
    pub(crate) p99: Option<f64>,
}

/// A route's or operation's row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) windows: std::collections::BTreeMap<&'static str, Window>,
    pub(crate) spark: Series,
}

/// Values over time, oldest first, `null` where nothing was measured.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Series {
    pub(crate) step_seconds: u64,
    pub(crate) rate: Vec<Option<f64>>,
    pub(crate) error_ratio: Vec<Option<f64>>,
    pub(crate) p95: Vec<Option<f64>>,
}

/// The service-wide charts.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Chart {
    pub(crate) step_seconds: u64,
    pub(crate) end_ms: u64,
    pub(crate) rate: Vec<Option<f64>>,
    pub(crate) error_ratio: Vec<Option<f64>>,
    pub(crate) p50: Vec<Option<f64>>,
    pub(crate) p95: Vec<Option<f64>>,
    pub(crate) p99: Vec<Option<f64>>,
}

/// One entry of the recent-requests tables.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RecentRow {
    pub(crate) at_ms: u64,
    pub(crate) method: &'static str,
    pub(crate) route: String,
    pub(crate) status: u16,
    pub(crate) duration_ms: f64,
    pub(crate) request_id: Option<String>,
    pub(crate) trace_id: Option<String>,
    pub(crate) error: Option<&'static str>,
}

impl From<Recent> for RecentRow {
    fn from(r: Recent) -> Self {
        Self {
            at_ms: r.at_ms,
            method: r.method,
            route: r.route.into(),
            status: r.status,
            duration_ms: r.nanos as f64 / 1e6,
            request_id: r.request_id.map(Into::into),
            trace_id: r.trace_id.map(Into::into),
            error: r.error,
        }
    }
}

/// The process' readings.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ProcessDoc {
    /// CPU used over the last minute, in cores.
    pub(crate) cpu_cores: Option<f64>,
    pub(crate) memory_bytes: Option<f64>,
    pub(crate) memory_limit_bytes: Option<f64>,
    pub(crate) open_fds: Option<f64>,
    pub(crate) max_fds: Option<f64>,
    pub(crate) threads: Option<f64>,
}

/// What the history gives the document.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Measured {
    pub(crate) routes: Vec<Row>,
    pub(crate) operations: Vec<Row>,
    pub(crate) chart: Chart,
    pub(crate) pipeline: Pipeline,
    pub(crate) process: ProcessDoc,
}

pub(crate) fn delta(new: Option<&Counts>, old: Option<&Counts>) -> Option<Counts> {
    let new = new?;
    let Some(old) = old else {
        return Some(new.clone());
    };
    Some(Counts {
        count: new.count.saturating_sub(old.count),
        errors: new.errors.saturating_sub(old.errors),
        buckets: new
            .buckets
            .iter()
            .zip(old.buckets.iter().chain(std::iter::repeat(&0)))
            .map(|(n, o)| n.saturating_sub(*o))
            .collect(),
    })
}

pub(crate) fn window_of(d: Option<&Counts>, seconds: f64, bounds: &[f64]) -> Window {
    let Some(d) = d else {
        return Window {
            rate: (seconds > 0.0).then_some(0.0),
            ..Window::default()
        };
    };
    Window {
        rate: (seconds > 0.0).then(|| d.count as f64 / seconds),
        error_ratio: (d.count > 0).then(|| d.errors as f64 / d.count as f64),
        p50: quantile(0.5, bounds, &d.buckets, d.count),
        p95: quantile(0.95, bounds, &d.buckets, d.count),
        p99: quantile(0.99, bounds, &d.buckets, d.count),
    }
}

/// The sum of every HTTP series of a snapshot (the whole service).
pub(crate) fn service_total(ring: &Ring, s: &Snapshot) -> Option<Counts> {
    let mut total: Option<Counts> = None;
    for (id, c) in &s.series {
        if ring.table.names.get(usize::from(*id)).map(|n| n.0) != Some(Kind::Http) {
            continue;
        }
        match &mut total {
            None => total = Some(c.clone()),
            Some(t) => {
                t.count += c.count;
                t.errors += c.errors;
                for (a, b) in t.buckets.iter_mut().zip(c.buckets.iter()) {
                    *a += b;
                }
            }
        }
    }
    total
}

/// The snapshot `window_ms` before the newest (or the oldest one).
pub(crate) fn before(ring: &Ring, window_ms: u64) -> Option<&Snapshot> {
    let newest = ring.snapshots.back()?;
    let target = newest.at_ms.saturating_sub(window_ms);
    ring.snapshots
        .iter()
        .rev()
        .find(|s| s.at_ms <= target)
        .or_else(|| ring.snapshots.front())
}

pub(crate) fn seconds_between(old: &Snapshot, new: &Snapshot) -> f64 {
    new.at_ms.saturating_sub(old.at_ms) as f64 / 1000.0
}

/// Rows, charts and readings from the ring.
pub(crate) fn measure(ring: &Ring) -> Measured {
    let Some(newest) = ring.snapshots.back() else {
        return Measured::default();
    };
    let mut m = Measured::default();
    for (id, (kind, name)) in ring.table.names.iter().enumerate() {
        let id = id as u16;
        let bounds = ring.table.bounds.get(kind).map_or(&[][..], |b| &b[..]);
        let mut windows = std::collections::BTreeMap::new();
        for (label, seconds) in WINDOWS {
            let old = before(ring, seconds * 1000).unwrap_or(newest);
            let d = delta(newest.series.get(&id), old.series.get(&id));
            windows.insert(
                label,
                window_of(d.as_ref(), seconds_between(old, newest), bounds),
            );
        }
        let spark = series_of(ring, SPARK_STEP, |s| s.series.get(&id).cloned(), bounds);
        let row = Row {
            name: name.clone(),
            kind: match kind {
                Kind::Http => "http",
                Kind::Operation => "operation",
            },
            windows,
            spark: Series {
                step_seconds: spark.step_seconds,
                rate: spark.rate,
                error_ratio: spark.error_ratio,
                p95: spark.p95,
            },
        };
        match kind {
            Kind::Http => m.routes.push(row),
            Kind::Operation => m.operations.push(row),
        }
    }
    // Busiest first.
    let rate = |r: &Row| r.windows.get("5m").and_then(|w| w.rate).unwrap_or(0.0);
    m.routes
        .sort_by(|a, b| rate(b).total_cmp(&rate(a)).then(a.name.cmp(&b.name)));
    m.operations
        .sort_by(|a, b| rate(b).total_cmp(&rate(a)).then(a.name.cmp(&b.name)));
    let http_bounds = ring
        .table
        .bounds
        .get(&Kind::Http)
        .map_or(&[][..], |b| &b[..]);
    m.chart = series_of(ring, 1, |s| service_total(ring, s), http_bounds);
    m.chart.end_ms = newest.at_ms;
    m.pipeline = newest.pipeline;
    let minute_ago = before(ring, 60_000).unwrap_or(newest);
    let cpu = match (newest.process.cpu_seconds, minute_ago.process.cpu_seconds) {
        (Some(n), Some(o)) if newest.at_ms > minute_ago.at_ms => {
            Some((n - o).max(0.0) / seconds_between(minute_ago, newest))
        }
        _ => None,
    };
    let pr = newest.process;
    m.process = ProcessDoc {
        cpu_cores: cpu,
        memory_bytes: pr.memory_bytes,
        memory_limit_bytes: pr.memory_limit_bytes.filter(|l| *l > 0.0),
        open_fds: pr.open_fds,
        max_fds: pr.max_fds,
        threads: pr.threads,
    };
    m
}

/// Values between snapshots `step` apart, ending at the newest.
fn series_of(
    ring: &Ring,
    step: usize,
    counts: impl Fn(&Snapshot) -> Option<Counts>,
    bounds: &[f64],
) -> Chart {
    let n = ring.snapshots.len();
    let mut chart = Chart {
        step_seconds: super::history::INTERVAL.as_secs() * step as u64,
        ..Chart::default()
    };
    // Indices of the points, newest last.
    let points: Vec<usize> = (0..n).rev().step_by(step).collect::<Vec<_>>();
    for pair in points.windows(2).rev() {
        let (new, old) = (&ring.snapshots[pair[0]], &ring.snapshots[pair[1]]);
        let d = delta(counts(new).as_ref(), counts(old).as_ref());
        let w = window_of(d.as_ref(), seconds_between(old, new), bounds);
        chart.rate.push(w.rate);
        chart.error_ratio.push(w.error_ratio);
        chart.p50.push(w.p50);
        chart.p95.push(w.p95);
        chart.p99.push(w.p99);
    }
    chart
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn snapshot(at_ms: u64, count: u64, errors: u64, fast: u64) -> Snapshot {
        let mut series = HashMap::new();
        series.insert(
            0,
            Counts {
                count,
                errors,
                buckets: vec![fast, count].into(),
            },
        );
        Snapshot {
            at_ms,
            series,
            pipeline: Pipeline::default(),
            process: Default::default(),
            active: 0.0,
        }
    }

    fn ring() -> Ring {
        let mut ring = Ring::default();
        ring.table.names.push((Kind::Http, "GET /a".into()));
        ring.table
            .bounds
            .insert(Kind::Http, vec![0.1, 1.0].into_boxed_slice());
        // 10 requests a second, one in ten failing, 80% under 100 ms.
        for i in 0..=180u64 {
            ring.snapshots
                .push_back(snapshot(i * 5000, i * 50, i * 5, i * 40));
        }
        ring
    }

    #[test]
    fn windows_rates_ratios_and_percentiles() {
        let m = measure(&ring());
        let row = &m.routes[0];
        assert_eq!(row.name, "GET /a");
        for (label, _) in WINDOWS {
            let w = row.windows[label];
            assert_eq!(w.rate, Some(10.0), "{label}");
            assert_eq!(w.error_ratio, Some(0.1), "{label}");
            assert_eq!(w.p50, Some(0.0625), "{label}");
            assert!((w.p95.unwrap() - 0.775).abs() < 1e-9, "{label}");
        }
        assert_eq!(m.chart.rate.len(), 180);
        assert_eq!(m.chart.rate[179], Some(10.0));
        assert_eq!(row.spark.rate.len(), 30);
        assert_eq!(m.chart.end_ms, 900_000);
    }

    #[test]
    fn idle_and_empty() {
        assert!(measure(&Ring::default()).routes.is_empty());
        let mut ring = ring();
        // No requests in the last minute: a rate of zero, no percentiles.
        let last = ring.snapshots.back().unwrap().clone();
        for i in 1..=12 {
            let mut s = last.clone();
            s.at_ms += i * 5000;
            ring.snapshots.push_back(s);
        }
        let w = measure(&ring).routes[0].windows["1m"];
        assert_eq!((w.rate, w.error_ratio, w.p99), (Some(0.0), None, None));
    }
}
