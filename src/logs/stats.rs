//! Log statistics: events per level and per target (counted by a
//! `tracing` layer), and what the writers did (lines and bytes written,
//! lines dropped under back-pressure, rotations, the current file).
//! Served by `GET /logs/info` and exported as `redline_log_*` metrics.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::Desc;
use serde::Serialize;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

mod collect;

use super::output::{LineBuffer, OutputCounters};
use super::rotation::{ArchiveStats, RotatingFile};
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

pub(crate) struct Inner {
    levels: [AtomicU64; 5],
    targets: InsertOnlyMap<&'static str, AtomicU64>,
    other_targets: AtomicU64,
    pub(crate) stdout: Arc<OutputCounters>,
    /// The file output's buffer (lines lost); written lines and errors
    /// come from the file writer.
    pub(crate) file_output: Arc<OutputCounters>,
    /// The file writer, once file output is installed.
    pub(crate) file: Mutex<Option<RotatingFile>>,
    /// Lines dropped because a non-blocking buffer was full, per output
    /// (`stdout`, `file`).
    pub(crate) dropped: Mutex<Vec<(&'static str, super::queue::DroppedLines)>>,
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
    /// Lines dropped because the non-blocking buffer was full (the same as
    /// `lines_lost["queue_full"]`).
    pub lines_dropped: u64,
    /// Lines lost, by reason: `queue_full` (the non-blocking buffer was
    /// full), `no_space` (the volume was full, and deleting old files did
    /// not make room), `write_failed` (any other write error). Every line
    /// is written or counted here.
    pub lines_lost: BTreeMap<&'static str, u64>,
    /// Write errors (disk full, closed stdout…).
    pub write_errors: u64,
    /// File rotations.
    pub rotations: u64,
    /// The file being written, if file output is on.
    pub current_file: Option<String>,
    /// Its size.
    pub current_file_bytes: Option<u64>,
    /// The old files, if file output is on: count, size, compression and
    /// deletions by retention.
    pub archives: Option<ArchiveStats>,
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
            proto::desc(
                LOST,
                "Log lines lost, by output and reason (queue_full, no_space, write_failed): every line is written or counted here.",
                &["output", "reason"],
            ),
            proto::desc(
                ARCHIVES,
                "Old log files on disk (compressed or waiting for compression).",
                &[],
            ),
            proto::desc(ARCHIVE_BYTES, "Total size of the old log files.", &[]),
            proto::desc(
                ARCHIVES_DELETED,
                "Old log files deleted, by reason (count, size, age: retention; no_space: to make room on a full volume).",
                &["reason"],
            ),
            proto::desc(
                COMPRESSIONS,
                "Rotated log files compressed, by result (ok, error: retried later).",
                &["result"],
            ),
            proto::desc(
                COMPRESSED_BYTES,
                "Bytes through log compression, by direction (in: rotated files, out: gzip).",
                &["direction"],
            ),
        ];
        Self {
            inner: Arc::new(Inner {
                levels: Default::default(),
                targets: InsertOnlyMap::with_capacity(MAX_TARGETS),
                other_targets: AtomicU64::new(0),
                stdout: Arc::default(),
                file_output: Arc::default(),
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
        let mut lines_lost = BTreeMap::new();
        for (_, reason, n) in self.lost() {
            *lines_lost.entry(reason).or_insert(0) += n;
        }
        LogSnapshot {
            events,
            targets,
            lines_written: i.stdout.lines.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.lines_written),
            bytes_written: i.stdout.bytes.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.bytes_written),
            lines_dropped: dropped,
            lines_lost,
            write_errors: i.stdout.errors.load(Ordering::Relaxed)
                + file.as_ref().map_or(0, |f| f.write_errors),
            rotations: file.as_ref().map_or(0, |f| f.rotations),
            current_file: file.as_ref().map(|f| f.current_file.display().to_string()),
            current_file_bytes: file.as_ref().map(|f| f.current_bytes),
            archives: file.map(|f| f.archives),
        }
    }

    /// Lines lost as (output, reason, count), every output and reason of
    /// the outputs in use (stdout always).
    fn lost(&self) -> Vec<(&'static str, &'static str, u64)> {
        let i = &self.inner;
        let queue_full = |output: &str| -> u64 {
            i.dropped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|(o, _)| *o == output)
                .map(|(_, c)| c.get())
                .sum()
        };
        let mut outputs = vec![("stdout", &i.stdout)];
        if self.file().is_some() {
            outputs.push(("file", &i.file_output));
        }
        let mut lost = Vec::new();
        for (output, c) in outputs {
            lost.push((output, "queue_full", queue_full(output)));
            lost.push((output, "no_space", c.lost_no_space.load(Ordering::Relaxed)));
            lost.push((
                output,
                "write_failed",
                c.lost_write_failed.load(Ordering::Relaxed),
            ));
        }
        lost
    }

    /// The file writer, once file output is installed.
    pub(crate) fn file(&self) -> Option<RotatingFile> {
        self.inner
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The writer of the file output: lines gathered in front of `file`,
    /// every line lost counted (see `output`).
    pub(crate) fn file_writer(&self, file: RotatingFile) -> impl std::io::Write + Send + 'static {
        LineBuffer::new(file, self.inner.file_output.clone())
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
            .map(|(_, c)| c.get())
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

/// Stdout, counted, behind a 64 KiB buffer of whole lines (see `output`).
/// The non-blocking queue's worker writes every line of the batch it took,
/// then flushes, so under load many lines share one `write(2)`.
/// Why: `Stdout` is line-buffered, and one system call per line made the
/// full access log cost 0.58 of bare throughput in `benches/wrk_access.sh`
/// (see `docs/PERFORMANCE.md`).
pub(crate) struct CountingStdout(LineBuffer<std::io::Stdout>);

impl CountingStdout {
    pub(crate) fn new(stats: LogStats) -> Self {
        Self(LineBuffer::new(
            std::io::stdout(),
            stats.inner.stdout.clone(),
        ))
    }
}

impl Write for CountingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

pub(crate) const EVENTS: &str = "redline_log_events_total";
pub(crate) const LINES: &str = "redline_log_lines_written_total";
pub(crate) const BYTES: &str = "redline_log_bytes_written_total";
pub(crate) const DROPPED: &str = "redline_log_lines_dropped_total";
pub(crate) const ROTATIONS: &str = "redline_log_rotations_total";
pub(crate) const ERRORS: &str = "redline_log_write_errors_total";
pub(crate) const LOST: &str = "redline_log_lines_lost_total";
pub(crate) const ARCHIVES: &str = "redline_log_archives";
pub(crate) const ARCHIVE_BYTES: &str = "redline_log_archive_bytes";
pub(crate) const ARCHIVES_DELETED: &str = "redline_log_archives_deleted_total";
pub(crate) const COMPRESSIONS: &str = "redline_log_compressions_total";
pub(crate) const COMPRESSED_BYTES: &str = "redline_log_compressed_bytes_total";

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
