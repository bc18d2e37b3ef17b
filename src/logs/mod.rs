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
//!
//! All of it is one `tracing_subscriber` layer, [`LogLayer`], in the style
//! of `tracing_subscriber::fmt::Layer`: `install_logging` puts it on a
//! `Registry` and installs that globally; a service with a subscriber of
//! its own adds it there instead, with
//! [`Telemetry::logging_layer`](crate::Telemetry::logging_layer):
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! let telemetry = redline::Telemetry::builder().build().unwrap();
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)) // the service's own
//!     .with(telemetry.logging_layer().unwrap());                        // redline's
//! tracing::subscriber::with_default(subscriber, || {
//!     telemetry.set_log_filter("error").unwrap(); // as PUT /logs/level: redline's output only
//!     tracing::warn!("the service's layer still gets this");
//! });
//! assert_eq!(telemetry.log_stats().snapshot().events["WARN"], 0);
//! ```
//!
//! Inside the layer, one per-layer filter (the reloadable `EnvFilter` of
//! `REDLINE_LOG`; every filter installed keeps the audit floor
//! `redline::security=info`) governs redline's outputs: the JSON lines to
//! stdout and/or the file, the statistics, and the `tracing-opentelemetry`
//! bridge when traces are enabled (so do not add
//! `Tracing::tracing_layer` beside it). The service's other layers are not
//! filtered by it; a global filter of the service's (a filter added with
//! `.with(filter)`) does filter redline's layer too, so it should let
//! `redline::access` and `redline::security` through. The `Telemetry`
//! keeps the reload handle and the buffers' guards, whichever way the layer
//! was installed: `Telemetry::set_log_filter`, `PUT /logs/level`,
//! `GET /logs/info` and `Telemetry::flush_logs` work either way.

#[cfg(test)]
pub(crate) mod capture;
mod config;
mod filter;
mod format;
mod layer;
pub mod otlp;
mod output;
mod queue;
pub mod rotation;
mod security;
mod stats;
mod timestamp;

use std::sync::{Mutex, PoisonError};

pub use config::{LogConfig, LogOutput};
#[cfg(test)]
pub(crate) use format::ACCESS_MODULE;
pub(crate) use format::{ACCESS_TARGET, push_json_str};
pub use format::{JsonLines, SpanFields};
pub use layer::LogLayer;
pub use otlp::{LogExport, LogExportConfig, LogExportError, LogsExporter};
pub use security::{SecurityEvent, SecurityEvents};
pub use stats::{LogSnapshot, LogStats, LogStatsLayer};

use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    /// The filter cannot change: redline's logging layer is not in use
    /// (neither [`Telemetry::install_logging`](crate::Telemetry::install_logging)
    /// nor [`Telemetry::logging_layer`](crate::Telemetry::logging_layer)
    /// was called, or the subscriber holding the layer was dropped).
    #[error(
        "redline's logging layer is not in use (call Telemetry::install_logging, or add Telemetry::logging_layer to your subscriber)"
    )]
    NotInstalled,
    /// The logging layer was built already for this `Telemetry` (by
    /// [`Telemetry::install_logging`](crate::Telemetry::install_logging) or
    /// [`Telemetry::logging_layer`](crate::Telemetry::logging_layer)); it
    /// owns the log file and the filter, so there is one.
    #[error(
        "redline's logging layer was already built for this Telemetry (install_logging or logging_layer): build it once"
    )]
    AlreadyBuilt,
}

/// What redline keeps of its built [`LogLayer`]: how to change its
/// filter, the filter installed, the guards of the non-blocking buffers.
#[derive(Default)]
pub(crate) struct LogControl {
    reload: Mutex<Option<layer::Reload>>,
    filter: Mutex<String>,
    /// Flush the non-blocking buffers when dropped (with the `Telemetry`).
    guards: Mutex<Vec<queue::QueueGuard>>,
}

impl LogControl {
    pub(crate) fn current_filter(&self) -> String {
        self.filter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether a layer was built (its filter is the one to change).
    pub(crate) fn is_built(&self) -> bool {
        self.reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    pub(crate) fn set_filter(&self, directives: &str) -> Result<(), LogError> {
        let (filter, directives) = filter::installable(directives)?;
        let reload = self.reload.lock().unwrap_or_else(PoisonError::into_inner);
        let reload = reload.as_ref().ok_or(LogError::NotInstalled)?;
        reload(filter).map_err(|e| {
            if e.is_dropped() {
                // The subscriber holding the layer is gone (a scoped
                // default that ended).
                LogError::NotInstalled
            } else {
                LogError::Filter(e.to_string())
            }
        })?;
        *self.filter.lock().unwrap_or_else(PoisonError::into_inner) = directives;
        Ok(())
    }

    /// Keeps what a built layer needs kept, and registers its writers in
    /// `stats`; refused if a layer was built already.
    pub(crate) fn commit(&self, parts: layer::Parts, stats: &LogStats) -> Result<(), LogError> {
        let mut reload = self.reload.lock().unwrap_or_else(PoisonError::into_inner);
        if reload.is_some() {
            return Err(LogError::AlreadyBuilt);
        }
        *reload = Some(parts.reload);
        *self.filter.lock().unwrap_or_else(PoisonError::into_inner) = parts.directives;
        self.guards
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(parts.guards);
        if let Some(file) = parts.file {
            *stats
                .inner
                .file
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(file);
        }
        stats
            .inner
            .dropped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(parts.dropped);
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

/// Builds redline's [`LogLayer`] for `config` (once per `Telemetry`).
pub(crate) fn build_layer<S>(
    config: &LogConfig,
    stats: &LogStats,
    control: &LogControl,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
    redactor: &crate::redact::Redactor,
    otlp: Option<otlp::LogSink>,
) -> Result<LogLayer<S>, LogError>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    if control.is_built() {
        return Err(LogError::AlreadyBuilt);
    }
    let (layer, parts) = layer::build(config, stats, tracer, redactor, otlp)?;
    control.commit(parts, stats)?;
    Ok(layer)
}

/// Builds redline's [`LogLayer`] and installs it, on a `Registry`, as the
/// global subscriber.
pub(crate) fn install(
    config: &LogConfig,
    stats: &LogStats,
    control: &LogControl,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
    redactor: &crate::redact::Redactor,
    otlp: Option<otlp::LogSink>,
) -> Result<(), LogError> {
    if control.is_built() {
        return Err(LogError::AlreadyBuilt);
    }
    let (layer, parts) = layer::build::<Registry>(config, stats, tracer, redactor, otlp)?;
    // On failure the layer, its writers and its file are dropped here, and
    // nothing was registered: `logging_layer` can still be used.
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|_| LogError::AlreadyInstalled)?;
    control.commit(parts, stats)
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
        let (mut writer, lost, guard) =
            queue::start(Box::new(gate.clone()), 16, "redline-log-test");
        stats.inner.dropped.lock().unwrap().push(("stdout", lost));
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
