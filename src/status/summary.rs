//! A one-line reading of the service, for terminals (the demo's live line).

use super::document::{before, delta, seconds_between, service_total, window_of};
use super::history::{Kind, Ring};

/// The whole service over a recent window, from the status page's history
/// (see [`Telemetry::status_summary`](crate::Telemetry::status_summary)).
///
/// ```
/// let s = redline::status::Summary::default();
/// assert_eq!(s.to_string(), "0.0 req/s  errors 0.0%  p95 –  active 0");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// HTTP requests per second.
    pub rate: f64,
    /// Failed requests over all requests (0 without requests).
    pub error_ratio: f64,
    /// The 95th percentile of request durations, in seconds.
    pub p95_seconds: Option<f64>,
    /// Requests in flight at the last snapshot.
    pub active: u64,
    /// The busiest route (`METHOD /template`) and its rate.
    pub top_route: Option<(String, f64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} req/s  errors {:.1}%  p95 ",
            self.rate,
            self.error_ratio * 100.0
        )?;
        match self.p95_seconds {
            Some(s) if s < 1.0 => write!(f, "{:.0} ms", s * 1e3)?,
            Some(s) => write!(f, "{s:.2} s")?,
            None => f.write_str("–")?,
        }
        write!(f, "  active {}", self.active)?;
        if let Some((route, rate)) = &self.top_route {
            write!(f, "  top {route} ({rate:.1}/s)")?;
        }
        Ok(())
    }
}

/// The summary over the last `window_ms` of `ring`; `None` before two
/// snapshots exist.
pub(crate) fn summarize(ring: &Ring, window_ms: u64) -> Option<Summary> {
    let newest = ring.snapshots.back()?;
    let old = before(ring, window_ms).filter(|o| o.at_ms < newest.at_ms)?;
    let seconds = seconds_between(old, newest);
    let bounds = ring
        .table
        .bounds
        .get(&Kind::Http)
        .map_or(&[][..], |b| &b[..]);
    let total = delta(
        service_total(ring, newest).as_ref(),
        service_total(ring, old).as_ref(),
    );
    let w = window_of(total.as_ref(), seconds, bounds);
    let top_route = ring
        .table
        .names
        .iter()
        .enumerate()
        .filter(|(_, (kind, _))| *kind == Kind::Http)
        .filter_map(|(id, (_, name))| {
            let id = id as u16;
            let d = delta(newest.series.get(&id), old.series.get(&id))?;
            (d.count > 0).then(|| (name.clone(), d.count as f64 / seconds))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    Some(Summary {
        rate: w.rate.unwrap_or(0.0),
        error_ratio: w.error_ratio.unwrap_or(0.0),
        p95_seconds: w.p95,
        active: newest.active.max(0.0) as u64,
        top_route,
    })
}
