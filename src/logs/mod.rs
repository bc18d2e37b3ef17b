//! Structured logging: JSON lines ([`JsonLines`]) carrying the request's
//! trace and span ids, to stdout and/or a rotating file
//! ([`rotation::RotatingFile`]), written through a bounded non-blocking
//! buffer (lines dropped under back-pressure are counted, never silently
//! lost), with statistics ([`LogStats`]) and a filter that can change at
//! run time.
//!
//! ```no_run
//! let telemetry = redline::Telemetry::from_env().unwrap();
//! telemetry.install_logging().unwrap();   // global subscriber: JSON, stats, traces
//! tracing::info!(user = 7, "signed in");  // {"timestamp":…,"level":"INFO",…}
//! ```

mod config;
mod filter;
mod format;
pub mod rotation;
mod security;
mod stats;

use std::sync::{Mutex, PoisonError};

pub(crate) use config::FILE_KEYS;
pub use config::{LogConfig, LogOutput};
pub(crate) use format::push_json_str;
pub use format::{JsonLines, SpanFields};
pub use security::{SecurityEvent, SecurityEvents};
pub use stats::{LogSnapshot, LogStats, LogStatsLayer};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// Why logging could not be set up or changed.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let err = t.set_log_filter("info,[[[").unwrap_err();
/// assert!(matches!(err, redline::logs::LogError::Filter(_)));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter directives do not parse.
    #[error("invalid log filter: {0}")]
    Filter(String),
    /// The log file cannot be opened.
    #[error("cannot open log file {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A global subscriber is already installed (by this or other code).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
    /// The filter would silence the `redline::security` events (audit).
    #[error("log filter refused: {0}")]
    HidesAudit(String),
    /// The filter names no level (a typo such as `wran`).
    #[error("log filter refused: {0}")]
    NoLevel(String),
    /// The filter cannot change: logging was not installed by redline.
    #[error("logging was not installed by redline (Telemetry::install_logging)")]
    NotInstalled,
}

/// What redline keeps of an installed subscriber.
#[derive(Default)]
pub(crate) struct LogControl {
    reload: Mutex<Option<reload::Handle<EnvFilter, Registry>>>,
    filter: Mutex<String>,
    /// Flush the non-blocking buffers when dropped (with the `Telemetry`).
    guards: Mutex<Vec<tracing_appender::non_blocking::WorkerGuard>>,
}

impl LogControl {
    pub(crate) fn current_filter(&self) -> String {
        self.filter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn set_filter(&self, directives: &str) -> Result<(), LogError> {
        let directives = filter::with_audit_floor(directives)?;
        let filter =
            EnvFilter::try_new(&directives).map_err(|e| LogError::Filter(e.to_string()))?;
        let reload = self.reload.lock().unwrap_or_else(PoisonError::into_inner);
        let handle = reload.as_ref().ok_or(LogError::NotInstalled)?;
        handle
            .reload(filter)
            .map_err(|e| LogError::Filter(e.to_string()))?;
        *self.filter.lock().unwrap_or_else(PoisonError::into_inner) = directives;
        Ok(())
    }

    /// Flushes and stops the writer threads (at shutdown).
    pub(crate) fn flush(&self) {
        self.guards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A JSON-lines fmt layer writing to `w`.
fn json_layer<S>(
    w: tracing_appender::non_blocking::NonBlocking,
    redactor: &crate::redact::Redactor,
) -> tracing_subscriber::fmt::Layer<
    S,
    SpanFields,
    JsonLines,
    tracing_appender::non_blocking::NonBlocking,
>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(SpanFields::new(redactor.clone()))
        .event_format(JsonLines::new(redactor.clone()))
        .with_writer(w)
}

/// Builds and installs the global subscriber for `config`.
pub(crate) fn install(
    config: &LogConfig,
    stats: &LogStats,
    control: &LogControl,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
    redactor: crate::redact::Redactor,
) -> Result<(), LogError> {
    let directives = filter::with_audit_floor(&config.filter)?;
    let filter = EnvFilter::try_new(&directives).map_err(|e| LogError::Filter(e.to_string()))?;
    let (filter, handle) = reload::Layer::new(filter);
    let mut guards = Vec::new();
    let non_blocking = |writer: Box<dyn std::io::Write + Send>, name: &str| {
        let (w, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(config.buffer_lines)
            .thread_name(name)
            .finish(writer);
        stats
            .inner
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(w.error_counter());
        (w, guard)
    };
    let stdout = if matches!(config.output, LogOutput::Stdout | LogOutput::Both) {
        let (w, g) = non_blocking(
            Box::new(stats::CountingStdout::new(stats.clone())),
            "redline-log-stdout",
        );
        guards.push(g);
        Some(json_layer(w, &redactor))
    } else {
        None
    };
    let file = if matches!(config.output, LogOutput::File | LogOutput::Both) {
        let rotating = rotation::RotatingFile::open(&config.file, config.rotation.clone())
            .map_err(|source| LogError::File {
                path: config.file.clone(),
                source,
            })?;
        *stats
            .inner
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(rotating.clone());
        // Buffered like stdout (see `CountingStdout`): the worker flushes
        // when its queue is empty, and a rotation never splits a write.
        let (w, g) = non_blocking(
            Box::new(std::io::BufWriter::with_capacity(64 * 1024, rotating)),
            "redline-log-file",
        );
        guards.push(g);
        Some(json_layer(w, &redactor))
    } else {
        None
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stdout)
        .with(file)
        .with(stats.layer())
        .with(tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t)))
        .try_init()
        .map_err(|_| LogError::AlreadyInstalled)?;
    *control
        .reload
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle);
    *control
        .filter
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = directives;
    control
        .guards
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extend(guards);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Barrier, Condvar};

    /// (entered, released, lines written)
    type GateState = (Mutex<(bool, bool, u64)>, Condvar);

    /// A writer that blocks inside `write` until released, and counts lines.
    #[derive(Clone, Default)]
    struct Gate {
        state: Arc<GateState>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, cv) = &*self.state;
            let mut s = lock.lock().unwrap();
            s.0 = true;
            cv.notify_all();
            while !s.1 {
                s = cv.wait(s).unwrap();
            }
            s.2 += buf.iter().filter(|b| **b == b'\n').count() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// With the writer stuck, the buffer fills and every further line is
    /// dropped and counted: written + dropped == sent, exactly.
    #[test]
    fn the_drop_counter_is_exact_when_the_buffer_is_full() {
        let stats = LogStats::new();
        let gate = Gate::default();
        let (mut writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(16)
            .finish(gate.clone());
        stats
            .inner
            .dropped
            .lock()
            .unwrap()
            .push(writer.error_counter());
        // The first line reaches the writer, which then blocks.
        writer.write_all(b"line 0\n").unwrap();
        {
            let (lock, cv) = &*gate.state;
            let mut s = lock.lock().unwrap();
            while !s.0 {
                s = cv.wait(s).unwrap();
            }
        }
        let start = Arc::new(Barrier::new(4));
        let sent_per_thread = 50;
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..sent_per_thread {
                        let _ = w.write_all(format!("t{t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let dropped = stats.snapshot().lines_dropped;
        assert_eq!(
            dropped,
            200 - 16,
            "16 lines fit in the buffer, the rest are counted"
        );
        // Release the writer and flush.
        {
            let (lock, cv) = &*gate.state;
            lock.lock().unwrap().1 = true;
            cv.notify_all();
        }
        drop(guard);
        let written = gate.state.0.lock().unwrap().2;
        assert_eq!(written + dropped, 201, "nothing lost without being counted");
    }
}
