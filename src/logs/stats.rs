//! Log statistics: events per level and per target (counted by a
//! `tracing` layer), and what the writers did (lines and bytes written,
//! lines dropped under back-pressure, rotations, the current file).
//! Served by `GET /logs/info` and exported as `redline_log_*` metrics.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};
use serde::Serialize;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::rotation::RotatingFile;
use crate::metrics::proto;
use crate::metrics::table::InsertOnlyMap;

/// Targets counted one by one; further targets count under `_other`.
const MAX_TARGETS: usize = 256;

const LEVELS: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

fn level_index(level: &Level) -> usize {
    LEVELS.iter().position(|l| l == level).unwrap_or(4)
}

/// Counters of one writer (stdout or the file).
#[derive(Default)]
pub(crate) struct WriterCounters {
    pub(crate) lines: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) errors: AtomicU64,
}

pub(crate) struct Inner {
    levels: [AtomicU64; 5],
    targets: InsertOnlyMap<&'static str, AtomicU64>,
    other_targets: AtomicU64,
    pub(crate) stdout: WriterCounters,
    /// The file writer, once file output is installed.
    pub(crate) file: Mutex<Option<RotatingFile>>,
    /// Lines dropped because a non-blocking buffer was full, per writer.
    pub(crate) dropped: Mutex<Vec<tracing_appender::non_blocking::ErrorCounter>>,
    descs: Vec<Desc>,
}

/// Shared log statistics. Cheap to clone.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let stats = redline::logs::LogStats::new();
/// let subscriber = tracing_subscriber::registry().with(stats.layer());
/// tracing::subscriber::with_default(subscriber, || tracing::warn!("disk almost full"));
/// assert_eq!(stats.snapshot().events["WARN"], 1);
/// ```
#[derive(Clone)]
pub struct LogStats {
    pub(crate) inner: Arc<Inner>,
}

impl Default for LogStats {
    fn default() -> Self {
        Self::new()
    }
}

/// What `GET /logs/info` answers.
///
/// ```
/// let snap = redline::logs::LogStats::new().snapshot();
/// assert_eq!(snap.events["ERROR"], 0);
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct LogSnapshot {
    /// Events per level (all five levels present).
    pub events: BTreeMap<&'static str, u64>,
    /// Events per target (at most 256 targets; the rest under `_other`).
    pub targets: BTreeMap<String, u64>,
    /// Lines written (stdout and file).
    pub lines_written: u64,
    /// Bytes written (stdout and file).
    pub bytes_written: u64,
    /// Lines dropped because the non-blocking buffer was full.
    pub lines_dropped: u64,
    /// Write errors (disk full, closed stdout…).
    pub write_errors: u64,
    /// File rotations.
    pub rotations: u64,
    /// The file being written, if file output is on.
    pub current_file: Option<String>,
    /// Its size.
    pub current_file_bytes: Option<u64>,
}

impl LogStats {
    /// Empty statistics.
    ///
    /// ```
    /// let stats = redline::logs::LogStats::new();
    /// assert_eq!(stats.snapshot().lines_written, 0);
    /// ```
    pub fn new() -> Self {
        let descs = vec![
            proto::desc(
                EVENTS,
                "Log events by level (before output filtering by writers).",
                &["level"],
            ),
            proto::desc(LINES, "Log lines written, by output.", &["output"]),
            proto::desc(BYTES, "Log bytes written, by output.", &["output"]),
            proto::desc(
                DROPPED,
                "Log lines dropped because the non-blocking buffer was full.",
                &[],
            ),
            proto::desc(ROTATIONS, "Log file rotations.", &[]),
            proto::desc(ERRORS, "Log write errors, by output.", &["output"]),
        ];
        Self {
            inner: Arc::new(Inner {
                levels: Default::default(),
                targets: InsertOnlyMap::with_capacity(MAX_TARGETS),
                other_targets: AtomicU64::new(0),
                stdout: WriterCounters::default(),
                file: Mutex::new(None),
                dropped: Mutex::new(Vec::new()),
                descs,
            }),
        }
    }

    /// The counting layer to add to a subscriber.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// let stats = redline::logs::LogStats::new();
    /// let _subscriber = tracing_subscriber::registry().with(stats.layer());
    /// ```
    pub fn layer(&self) -> LogStatsLayer {
        LogStatsLayer {
            stats: self.clone(),
        }
    }

    /// A snapshot of every counter.
    ///
    /// ```
    /// let snap = redline::logs::LogStats::new().snapshot();
    /// assert!(snap.current_file.is_none());
    /// ```
    pub fn snapshot(&self) -> LogSnapshot {
        let i = &self.inner;
        let events = self.events().into_iter().collect();
        let mut targets: BTreeMap<String, u64> = i
            .targets
            .iter()
            .map(|(t, n)| ((*t).to_owned(), n.load(Ordering::Relaxed)))
            .collect();
        let other = i.other_targets.load(Ordering::Relaxed);
        if other > 0 {
            targets.insert("_other".into(), other);
        }
        let file = self.file_stats();
        let dropped = self.dropped();
        LogSnapshot {
            events,
            targets,
            lines_written: i.stdout.lines.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.lines_written),
            bytes_written: i.stdout.bytes.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.bytes_written),
            lines_dropped: dropped,
            write_errors: i.stdout.errors.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.write_errors),
            rotations: file.as_ref().map_or(0, |f| f.rotations),
            current_file: file.as_ref().map(|f| f.current_file.display().to_string()),
            current_file_bytes: file.as_ref().map(|f| f.current_bytes),
        }
    }

    /// Events per level, in `LEVELS` order.
    fn events(&self) -> [(&'static str, u64); 5] {
        std::array::from_fn(|k| {
            (
                LEVELS[k].as_str(),
                self.inner.levels[k].load(Ordering::Relaxed),
            )
        })
    }

    /// The file writer's statistics (one lock of its state).
    fn file_stats(&self) -> Option<super::rotation::RotationStats> {
        self.inner
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(RotatingFile::stats)
    }

    /// Lines dropped by every non-blocking buffer.
    fn dropped(&self) -> u64 {
        self.inner
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|c| c.dropped_lines() as u64)
            .sum()
    }
}

/// The `tracing` layer of [`LogStats`]: counts every event it sees.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let stats = redline::logs::LogStats::new();
/// let layer: redline::logs::LogStatsLayer = stats.layer();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::error!(target: "billing", "declined"));
/// assert_eq!(stats.snapshot().targets["billing"], 1);
/// ```
pub struct LogStatsLayer {
    stats: LogStats,
}

impl<S: Subscriber> Layer<S> for LogStatsLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let i = &self.stats.inner;
        i.levels[level_index(meta.level())].fetch_add(1, Ordering::Relaxed);
        let target = meta.target();
        match i.targets.get(target) {
            Some(n) => {
                n.fetch_add(1, Ordering::Relaxed);
            }
            None => match i
                .targets
                .get_or_insert(target, || (target, AtomicU64::new(0)))
            {
                Some((n, _)) => {
                    n.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    i.other_targets.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }
}

/// Stdout, counted, behind a 64 KiB buffer. The non-blocking worker writes
/// every line it has queued, then flushes when its queue is empty, so under
/// load many lines share one `write(2)`. Why: `Stdout` is line-buffered,
/// and one system call per line made the full access log cost 0.58 of
/// bare throughput in `benches/wrk_access.sh` (see `docs/PERFORMANCE.md`).
pub(crate) struct CountingStdout {
    stats: LogStats,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl CountingStdout {
    pub(crate) fn new(stats: LogStats) -> Self {
        Self {
            stats,
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        }
    }
}

impl Write for CountingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let c = &self.stats.inner.stdout;
        match self.out.write_all(buf) {
            Ok(()) => {
                c.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                let lines = buf.iter().filter(|b| **b == b'\n').count();
                c.lines.fetch_add(lines as u64, Ordering::Relaxed);
                Ok(buf.len())
            }
            Err(e) => {
                c.errors.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().inspect_err(|_| {
            self.stats
                .inner
                .stdout
                .errors
                .fetch_add(1, Ordering::Relaxed);
        })
    }
}

pub(crate) const EVENTS: &str = "redline_log_events_total";
pub(crate) const LINES: &str = "redline_log_lines_written_total";
pub(crate) const BYTES: &str = "redline_log_bytes_written_total";
pub(crate) const DROPPED: &str = "redline_log_lines_dropped_total";
pub(crate) const ROTATIONS: &str = "redline_log_rotations_total";
pub(crate) const ERRORS: &str = "redline_log_write_errors_total";

impl Collector for LogStats {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Not `snapshot()`: a scrape needs neither the per-target map nor a
        // second look at the file writer.
        let i = &self.inner;
        let help = |n: usize| i.descs[n].help.as_str();
        let counter = |name, h, samples: Vec<(Vec<prometheus::proto::LabelPair>, u64)>| {
            let mut f = proto::family(name, h, MetricType::COUNTER);
            f.set_metric(
                samples
                    .into_iter()
                    .map(|(l, v)| proto::counter(l, v as f64))
                    .collect(),
            );
            f
        };
        let file = self.file_stats();
        let per_output = |stdout: u64, file_value: Option<u64>| {
            let mut v = vec![(proto::labels(&[("output", "stdout")]), stdout)];
            if let Some(f) = file_value {
                v.push((proto::labels(&[("output", "file")]), f));
            }
            v
        };
        vec![
            counter(
                EVENTS,
                help(0),
                self.events()
                    .iter()
                    .map(|(l, n)| (proto::labels(&[("level", &l.to_ascii_lowercase())]), *n))
                    .collect(),
            ),
            counter(
                LINES,
                help(1),
                per_output(
                    i.stdout.lines.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.lines_written),
                ),
            ),
            counter(
                BYTES,
                help(2),
                per_output(
                    i.stdout.bytes.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.bytes_written),
                ),
            ),
            counter(DROPPED, help(3), vec![(Vec::new(), self.dropped())]),
            counter(
                ROTATIONS,
                help(4),
                vec![(Vec::new(), file.as_ref().map_or(0, |f| f.rotations))],
            ),
            counter(
                ERRORS,
                help(5),
                per_output(
                    i.stdout.errors.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.write_errors),
                ),
            ),
        ]
    }
}

impl std::fmt::Debug for LogStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStats").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LogStatsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStatsLayer").finish_non_exhaustive()
    }
}
