//! Exemplars: the trace of a recent sampled observation, kept per histogram
//! bucket so a latency spike on a dashboard links to a trace that shows it.
//!
//! The `prometheus` crate's data model has no exemplars, so they travel
//! beside the gathered families: collectors fill an [`Exemplars`] set keyed by
//! family name and label set, and the OpenMetrics encoder
//! ([`crate::metrics::encode_openmetrics`]) looks them up per bucket.
//!
//! Recording is cheap and never blocks: a bucket's exemplar is replaced at
//! most once per [`MIN_REPLACE_INTERVAL_MS`] (a relaxed load decides), and a
//! writer that finds the cell locked skips instead of waiting.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::proto::LabelPair;

/// A bucket's exemplar is replaced at most this often: scrapes come every
/// 10–60 s, so this keeps exemplars fresh while sparing the hot path.
pub(crate) const MIN_REPLACE_INTERVAL_MS: u64 = 100;

/// One exemplar: an observed value with the ids of the span that observed it.
///
/// Rendered in OpenMetrics as
/// `# {trace_id="<32 hex>",span_id="<16 hex>"} <value> <timestamp>`.
///
/// ```
/// let e = redline::metrics::Exemplar { trace_id: 1, span_id: 2, value: 0.25, timestamp_ms: 1_700_000_000_123 };
/// assert_eq!(e.trace_id_hex(), "00000000000000000000000000000001");
/// assert_eq!(e.span_id_hex(), "0000000000000002");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    /// W3C trace id (never 0 for a real trace).
    pub trace_id: u128,
    /// W3C span id.
    pub span_id: u64,
    /// The observed value, in the family's unit (seconds for durations).
    pub value: f64,
    /// Wall-clock time of the observation, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
}

impl Exemplar {
    /// The trace id as 32 lowercase hex digits.
    ///
    /// ```
    /// let e = redline::metrics::Exemplar { trace_id: 0xab, span_id: 1, value: 1.0, timestamp_ms: 0 };
    /// assert!(e.trace_id_hex().ends_with("ab"));
    /// ```
    pub fn trace_id_hex(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// The span id as 16 lowercase hex digits.
    ///
    /// ```
    /// let e = redline::metrics::Exemplar { trace_id: 1, span_id: 0xcd, value: 1.0, timestamp_ms: 0 };
    /// assert_eq!(e.span_id_hex(), "00000000000000cd");
    /// ```
    pub fn span_id_hex(&self) -> String {
        format!("{:016x}", self.span_id)
    }
}

/// Exemplars of gathered histogram series, per bucket, looked up by family
/// name and label set.
///
/// ```
/// use redline::metrics::{Exemplar, Exemplars};
/// let mut set = Exemplars::default();
/// let e = Exemplar { trace_id: 7, span_id: 8, value: 0.2, timestamp_ms: 1 };
/// set.insert("wait_seconds", &[("queue", "a")], vec![None, Some(e)]);
/// assert_eq!(set.get("wait_seconds", &[("queue", "a")]).unwrap()[1], Some(e));
/// ```
#[derive(Debug, Default, Clone)]
pub struct Exemplars {
    by_series: HashMap<String, Vec<Option<Exemplar>>>,
}

impl Exemplars {
    /// Records the exemplars of one series: `buckets[i]` belongs to the
    /// `i`-th bucket in ascending order, `+Inf` last. Series without any
    /// exemplar are not stored.
    ///
    /// ```
    /// let mut set = redline::metrics::Exemplars::default();
    /// set.insert("x_seconds", &[], vec![None, None]);
    /// assert!(set.is_empty());
    /// ```
    pub fn insert(
        &mut self,
        family: &str,
        labels: &[(&str, &str)],
        buckets: Vec<Option<Exemplar>>,
    ) {
        if buckets.iter().all(Option::is_none) {
            return;
        }
        let key = series_key(family, labels.iter().map(|(n, v)| (*n, *v)));
        self.by_series.insert(key, buckets);
    }

    /// [`Exemplars::insert`] with the label pairs of a gathered series.
    pub(crate) fn insert_proto(
        &mut self,
        family: &str,
        labels: &[LabelPair],
        buckets: Vec<Option<Exemplar>>,
    ) {
        if buckets.iter().all(Option::is_none) {
            return;
        }
        let key = series_key(family, labels.iter().map(|p| (p.name(), p.value())));
        self.by_series.insert(key, buckets);
    }

    /// The exemplars of a series, by bucket, given its labels as
    /// [`Exemplars::insert`] takes them.
    ///
    /// ```
    /// let mut set = redline::metrics::Exemplars::default();
    /// assert!(set.get("x_seconds", &[("route", "/a")]).is_none());
    /// let exemplar = redline::metrics::Exemplar { trace_id: 0xab, span_id: 1, value: 0.25, timestamp_ms: 0 };
    /// set.insert("x_seconds", &[("route", "/a")], vec![Some(exemplar)]);
    /// assert_eq!(set.get("x_seconds", &[("route", "/a")]).unwrap().len(), 1);
    /// ```
    pub fn get(&self, family: &str, labels: &[(&str, &str)]) -> Option<&[Option<Exemplar>]> {
        if self.by_series.is_empty() {
            return None;
        }
        let key = series_key(family, labels.iter().map(|(n, v)| (*n, *v)));
        self.by_series.get(&key).map(Vec::as_slice)
    }

    /// [`Exemplars::get`] with the label pairs of a gathered series.
    pub(crate) fn get_proto(
        &self,
        family: &str,
        labels: &[LabelPair],
    ) -> Option<&[Option<Exemplar>]> {
        if self.by_series.is_empty() {
            return None;
        }
        let key = series_key(family, labels.iter().map(|p| (p.name(), p.value())));
        self.by_series.get(&key).map(Vec::as_slice)
    }

    /// Number of series with at least one exemplar.
    ///
    /// ```
    /// assert_eq!(redline::metrics::Exemplars::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.by_series.len()
    }

    /// Whether no series has an exemplar.
    ///
    /// ```
    /// assert!(redline::metrics::Exemplars::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }
}

/// Family name and label pairs sorted by name, joined with separators that
/// cannot occur in names (`\0`) so distinct label sets never collide.
fn series_key<'a>(family: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = labels.collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut key = String::with_capacity(64);
    key.push_str(family);
    for (name, value) in pairs {
        key.push('\0');
        key.push_str(name);
        key.push('\0');
        key.push_str(value);
    }
    key
}

/// The latest exemplar of one bucket.
#[derive(Default)]
struct Cell {
    /// Wall-clock milliseconds of the last replacement (0: never).
    updated_ms: AtomicU64,
    latest: Mutex<Option<Exemplar>>,
}

/// Per-bucket exemplar cells of one histogram series (`+Inf` last).
pub(crate) struct ExemplarCells {
    cells: Box<[Cell]>,
}

impl ExemplarCells {
    /// Cells for `buckets` finite bounds plus `+Inf`.
    pub(crate) fn new(buckets: usize) -> Self {
        Self {
            cells: (0..=buckets).map(|_| Cell::default()).collect(),
        }
    }

    /// Offers an exemplar for bucket `index`; kept if the bucket's last one
    /// is older than [`MIN_REPLACE_INTERVAL_MS`] and nobody else is writing.
    #[inline]
    pub(crate) fn offer(&self, index: usize, trace_id: u128, span_id: u64, value: f64) {
        let Some(cell) = self.cells.get(index) else {
            return;
        };
        let now = now_ms();
        let last = cell.updated_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < MIN_REPLACE_INTERVAL_MS {
            return;
        }
        if let Ok(mut latest) = cell.latest.try_lock() {
            *latest = Some(Exemplar {
                trace_id,
                span_id,
                value,
                timestamp_ms: now,
            });
            cell.updated_ms.store(now.max(1), Ordering::Relaxed);
        }
    }

    /// The current exemplar of every bucket.
    pub(crate) fn snapshot(&self) -> Vec<Option<Exemplar>> {
        self.cells
            .iter()
            .map(|c| match c.latest.lock() {
                Ok(g) => *g,
                Err(poisoned) => *poisoned.into_inner(),
            })
            .collect()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> LabelPair {
        let mut p = LabelPair::default();
        p.set_name(name.into());
        p.set_value(value.into());
        p
    }

    #[test]
    fn lookup_ignores_label_order_and_separates_similar_sets() {
        let mut set = Exemplars::default();
        let e = Exemplar {
            trace_id: 1,
            span_id: 2,
            value: 0.5,
            timestamp_ms: 3,
        };
        set.insert("f", &[("b", "2"), ("a", "1")], vec![Some(e)]);
        assert!(
            set.get_proto("f", &[pair("a", "1"), pair("b", "2")])
                .is_some()
        );
        assert!(
            set.get_proto("f", &[pair("b", "2"), pair("a", "1")])
                .is_some()
        );
        assert!(set.get_proto("f", &[pair("a", "12")]).is_none());
        assert!(
            set.get_proto("f", &[pair("a", "1\0b"), pair("", "2")])
                .is_none()
        );
        assert!(
            set.get_proto("g", &[pair("a", "1"), pair("b", "2")])
                .is_none()
        );
        // The public form, with plain pairs, finds the same series.
        assert!(set.get("f", &[("a", "1"), ("b", "2")]).is_some());
        assert!(set.get("f", &[("a", "12")]).is_none());
    }

    #[test]
    fn cells_keep_the_first_offer_then_replace_after_the_interval() {
        let cells = ExemplarCells::new(2);
        cells.offer(1, 10, 11, 0.1);
        cells.offer(1, 20, 21, 0.2); // within the interval: ignored
        cells.offer(9, 30, 31, 0.3); // out of range: ignored
        let snap = cells.snapshot();
        assert_eq!(snap.len(), 3);
        assert_eq!(snap[1].map(|e| e.trace_id), Some(10));
        assert!(snap[0].is_none() && snap[2].is_none());
        cells.cells[1].updated_ms.store(1, Ordering::Relaxed); // long ago
        cells.offer(1, 40, 41, 0.4);
        assert_eq!(cells.snapshot()[1].map(|e| e.trace_id), Some(40));
    }
}
