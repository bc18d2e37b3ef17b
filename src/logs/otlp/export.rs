//! [`LogExport`]: the OTLP log pipeline of a `Telemetry`, its metrics,
//! flush and shutdown.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::Resource;
use prometheus::Registry;

use super::sink::LogSink;
use super::{LogExportConfig, LogsExporter};
use crate::traces::ShutdownOutcome;
use crate::traces::pipeline::{Family, PipelineMetrics, PipelineNames};

/// Names of the log pipeline's own metrics (see `docs/METRICS.md`), in the
/// pattern of the span pipeline's.
pub(crate) const LOG_NAMES: PipelineNames = PipelineNames {
    exported: Family {
        name: "redline_log_records_exported_total",
        help: "Log records the OTLP exporter delivered (the collector accepted the request).",
    },
    dropped: Family {
        name: "redline_log_records_dropped_total",
        help: "Log records lost before reaching the collector, by reason (queue_full, export_failed, shutdown).",
    },
    export_errors: Family {
        name: "redline_log_export_errors_total",
        help: "OTLP log export requests that failed (after the exporter's retries).",
    },
    queue: Family {
        name: "redline_log_export_queue_records",
        help: "Log records waiting in the OTLP export queue.",
    },
    capacity: Family {
        name: "redline_log_export_queue_capacity_records",
        help: "Capacity of the OTLP log export queue (OTEL_BLRP_MAX_QUEUE_SIZE).",
    },
};

/// Why the OTLP log pipeline could not start.
///
/// ```
/// let mut config = redline::Config { admin_listen: None, ..Default::default() };
/// config.log_export.exporter = redline::logs::LogsExporter::Otlp;
/// config.log_export.headers = redline::traces::OtlpHeaders(vec![("bad header".into(), "x".into())]);
/// let err = redline::Telemetry::builder().config(config).build().err().unwrap();
/// assert!(err.to_string().contains("OTLP log exporter"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum LogExportError {
    /// The OTLP exporter rejected its settings, or this build has no
    /// transport for them.
    #[error("cannot build the OTLP log exporter for {endpoint}: {reason}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// The exporter's reason.
        reason: String,
    },
    /// The exporter's background runtime could not start.
    #[error("cannot start the OTLP log exporter runtime: {0}")]
    Runtime(std::io::Error),
    /// The pipeline's own metric families could not be registered (a
    /// collector of the same names is already in the registry).
    #[error("cannot register the OTLP log pipeline's metrics: {0}")]
    Metrics(String),
}

struct Inner {
    endpoint: Option<String>,
    #[cfg(feature = "otlp-logs")]
    shutdown_timeout: Duration,
    #[cfg(feature = "otlp-logs")]
    pipeline: Option<super::pipeline::Pipeline>,
}

/// The OTLP log pipeline of a [`crate::Telemetry`] (`OTEL_LOGS_EXPORTER=otlp`):
/// every event redline's logging layer writes is also exported as an OTLP
/// log record, through a bounded queue that never blocks the caller. Its
/// metrics (`redline_log_records_*`, `redline_log_export_*`) are registered
/// whether it exports or not. Cheap to clone.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// assert!(!t.log_export().is_exporting(), "OTEL_LOGS_EXPORTER defaults to none");
/// assert!(t.render_metrics().contains("redline_log_records_exported_total 0"));
/// ```
#[derive(Clone)]
pub struct LogExport {
    inner: Arc<Inner>,
}

impl LogExport {
    /// Registers the metrics, and starts the pipeline when `config` asks
    /// for it and the SDK is enabled (`OTEL_SDK_DISABLED` turns every
    /// signal off). `resource` is the one the spans carry.
    #[cfg_attr(not(feature = "otlp-logs"), allow(unused_variables))]
    pub(crate) fn new(
        config: &LogExportConfig,
        sdk_enabled: bool,
        resource: Resource,
        registry: &Registry,
        shutdown_timeout: Duration,
    ) -> Result<Self, LogExportError> {
        let metrics = PipelineMetrics::register_as(registry, &LOG_NAMES)
            .map_err(|e| LogExportError::Metrics(e.to_string()))?;
        let exporting = config.exporter == LogsExporter::Otlp && sdk_enabled;
        let endpoint = exporting.then(|| config.endpoint());
        #[cfg(feature = "otlp-logs")]
        let pipeline = match &endpoint {
            Some(endpoint) => Some(super::pipeline::start(
                config,
                endpoint,
                resource,
                &metrics,
                shutdown_timeout,
            )?),
            None => None,
        };
        #[cfg(not(feature = "otlp-logs"))]
        if let Some(endpoint) = &endpoint {
            return Err(LogExportError::Exporter {
                endpoint: endpoint.clone(),
                reason: crate::traces::missing_feature(config.protocol)
                    .unwrap_or("this build of redline has no OTLP transport")
                    .to_owned(),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint,
                #[cfg(feature = "otlp-logs")]
                shutdown_timeout,
                #[cfg(feature = "otlp-logs")]
                pipeline,
            }),
        })
    }

    /// Whether log records are exported (`OTEL_LOGS_EXPORTER=otlp`).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(!t.log_export().is_exporting());
    /// ```
    pub fn is_exporting(&self) -> bool {
        self.inner.endpoint.is_some()
    }

    /// Where records are exported to, when they are.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.log_export().endpoint(), None);
    /// ```
    pub fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint.as_deref()
    }

    /// Exports what is queued now, waiting at most the shutdown timeout
    /// (`REDLINE_TRACES_SHUTDOWN_TIMEOUT`); records still queued then stay
    /// queued. Blocking: from async code call it through `spawn_blocking`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.log_export().force_flush(), redline::traces::ShutdownOutcome::NothingToFlush);
    /// ```
    pub fn force_flush(&self) -> ShutdownOutcome {
        #[cfg(feature = "otlp-logs")]
        if let Some(p) = &self.inner.pipeline {
            return crate::traces::run_bounded(
                p.provider.clone(),
                self.inner.shutdown_timeout,
                |p, _| p.force_flush(),
            );
        }
        ShutdownOutcome::NothingToFlush
    }

    /// Exports what is queued and stops the pipeline, within the shutdown
    /// timeout (`REDLINE_TRACES_SHUTDOWN_TIMEOUT`, default 3 s) even when
    /// the collector is down or never answers; records still queued then,
    /// and records logged afterwards, are counted as dropped (`shutdown`).
    /// [`Telemetry::flush_logs`](crate::Telemetry::flush_logs) calls it.
    /// Blocking: from async code call it through `spawn_blocking`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.log_export().shutdown(), redline::traces::ShutdownOutcome::NothingToFlush);
    /// ```
    pub fn shutdown(&self) -> ShutdownOutcome {
        #[cfg(feature = "otlp-logs")]
        if let Some(p) = &self.inner.pipeline {
            let outcome = crate::traces::run_bounded(
                p.provider.clone(),
                self.inner.shutdown_timeout,
                |p, timeout| p.shutdown_with_timeout(timeout),
            );
            if outcome == ShutdownOutcome::TimedOut {
                // The processor does this when the SDK's own bound
                // elapses; this is for an exporter stuck beyond it.
                p.accounting.abandon();
            }
            return outcome;
        }
        ShutdownOutcome::NothingToFlush
    }

    /// The sink redline's logging layer writes to, when exporting.
    pub(crate) fn sink(&self) -> Option<LogSink> {
        #[cfg(feature = "otlp-logs")]
        if let Some(p) = &self.inner.pipeline {
            return Some(p.sink.clone());
        }
        None
    }
}

impl std::fmt::Debug for LogExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogExport")
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}
