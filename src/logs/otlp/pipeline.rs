//! The export pipeline of log records: the SDK's `SdkLoggerProvider` and
//! batch log processor over `opentelemetry_otlp::LogExporter`, with two
//! thin wrappers that count what happens to records, because the SDK keeps
//! those numbers to itself (as the span pipeline's, `crate::traces`):
//!
//! - [`GatedProcessor`] bounds the queue itself, so a full queue is seen
//!   and counted (`queue_full`) instead of dropped silently inside the SDK,
//!   keeps the queue-length gauge, and counts records that arrive after
//!   shutdown (`shutdown`);
//! - [`CountingExporter`] counts records exported, failed export requests
//!   and the records lost with them (`export_failed`).
//!
//! Every record is counted once: exported, or dropped with one reason.
//! When shutdown gives up waiting, what is still queued is counted as
//! `shutdown` and the exporter no longer counts it ([`Accounting`]).

use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, LogBatch, LogExporter, LogProcessor, SdkLogRecord,
    SdkLoggerProvider,
};

use super::sink::LogSink;
use super::{LogExportConfig, LogExportError, RUNTIME_THREAD};
use crate::traces::pipeline::{OncePerMinute, PipelineMetrics};

/// A running pipeline: the provider, the sink the layer writes to, and the
/// exporter's runtime.
pub(super) struct Pipeline {
    pub(super) provider: SdkLoggerProvider,
    pub(super) sink: LogSink,
    pub(super) accounting: std::sync::Arc<Accounting>,
    /// The exporter's own runtime (gRPC needs Tokio; a runtime of our own
    /// keeps exports running while the application's runtime shuts down).
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Some(rt) = self
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            // Dropping a runtime inside another one panics; this never blocks.
            rt.shutdown_background();
        }
    }
}

/// Starts the pipeline for `config`, exporting to `endpoint`.
pub(super) fn start(
    config: &LogExportConfig,
    endpoint: &str,
    resource: Resource,
    metrics: &PipelineMetrics,
    shutdown_timeout: Duration,
) -> Result<Pipeline, LogExportError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(RUNTIME_THREAD)
        .enable_all()
        .build()
        .map_err(LogExportError::Runtime)?;
    let exporter = {
        let _entered = runtime.enter();
        super::exporter::build(config, endpoint)?
    };
    metrics.capacity.set(config.max_queue_size as i64);
    let accounting = std::sync::Arc::new(Accounting {
        metrics: metrics.clone(),
        abandoned: Mutex::new(false),
    });
    let exporter = CountingExporter {
        inner: exporter,
        accounting: accounting.clone(),
        endpoint: endpoint.to_owned(),
        warning: OncePerMinute::new(),
    };
    let batch = BatchConfigBuilder::default()
        // Headroom over our own gate (see `GatedProcessor`).
        .with_max_queue_size(config.max_queue_size + 256)
        .with_scheduled_delay(config.schedule_delay)
        .with_max_export_batch_size(config.max_export_batch_size)
        .build();
    let processor = BatchLogProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(GatedProcessor {
            inner: processor,
            max: config.max_queue_size as i64,
            accounting: accounting.clone(),
            shut: RwLock::new(false),
            bound: shutdown_timeout,
        })
        .build();
    let scope = InstrumentationScope::builder("redline")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let logger = provider.logger_with_scope(scope);
    Ok(Pipeline {
        provider,
        sink: LogSink { logger },
        accounting,
        runtime: Mutex::new(Some(runtime)),
    })
}

/// The pipeline's counters, and whether shutdown gave up on the queue.
pub(super) struct Accounting {
    metrics: PipelineMetrics,
    /// Set when shutdown gave up waiting: what was queued is counted as
    /// `shutdown`, so the exporter counts nothing more.
    abandoned: Mutex<bool>,
}

impl std::fmt::Debug for Accounting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounting")
    }
}

impl Accounting {
    /// `n` records leave the queue for the exporter; `false` when they
    /// were counted as `shutdown` already.
    fn take(&self, n: usize) -> bool {
        let abandoned = self
            .abandoned
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *abandoned {
            return false;
        }
        self.metrics.queued.sub(n as i64);
        true
    }

    /// Shutdown gave up waiting: what is still queued is lost.
    pub(super) fn abandon(&self) {
        let mut abandoned = self
            .abandoned
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *abandoned = true;
        let queued = self.metrics.queued.get().max(0);
        self.metrics.dropped_shutdown.inc_by(queued as u64);
        self.metrics.queued.sub(queued);
    }
}

/// Drops (and counts) records once `max` are waiting, before they reach
/// the batch processor, and those that arrive after shutdown.
#[derive(Debug)]
struct GatedProcessor<P> {
    inner: P,
    max: i64,
    accounting: std::sync::Arc<Accounting>,
    /// Set at shutdown. Emitters hold the read side (uncontended but at
    /// shutdown), so no record slips into a processor that is stopping.
    shut: RwLock<bool>,
    /// The longest a shutdown waits (`REDLINE_TRACES_SHUTDOWN_TIMEOUT`),
    /// whoever asks: the SDK asks for 5 s when the provider is dropped.
    bound: Duration,
}

impl<P: LogProcessor> LogProcessor for GatedProcessor<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let m = &self.accounting.metrics;
        let shut = self.shut.read().unwrap_or_else(PoisonError::into_inner);
        if *shut {
            m.dropped_shutdown.inc();
            return;
        }
        // Check, then add: concurrent emitters can overshoot `max` by the
        // number of threads, which is why the inner queue has headroom.
        if m.queued.get() >= self.max {
            m.dropped_queue_full.inc();
            return;
        }
        m.queued.inc();
        // A non-blocking `try_send` into the batch processor's channel.
        self.inner.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        *self.shut.write().unwrap_or_else(PoisonError::into_inner) = true;
        let result = self.inner.shutdown_with_timeout(timeout.min(self.bound));
        if matches!(result, Err(OTelSdkError::Timeout(_))) {
            self.accounting.abandon();
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts export outcomes around the OTLP exporter, and warns about
/// failures at most once a minute (a dead collector must not flood the
/// service's own logs; the warning is written to the JSON lines, and not
/// exported: the batch thread's context is suppressed).
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    accounting: std::sync::Arc<Accounting>,
    endpoint: String,
    warning: OncePerMinute,
}

impl<E> CountingExporter<E> {
    fn warn_throttled(&self, error: &dyn std::fmt::Display, records: usize) {
        if self.warning.ready() {
            tracing::warn!(
                target: "redline::logs",
                endpoint = %self.endpoint,
                records,
                error = %error,
                "OTLP log export failed; records are counted in redline_log_records_dropped_total{{reason=\"export_failed\"}} (this warning repeats at most once a minute)"
            );
        }
    }
}

impl<E: LogExporter> LogExporter for CountingExporter<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let n = batch.iter().count();
        // The batch has left the queue (or shutdown counted it already).
        let counted = self.accounting.take(n);
        let result = self.inner.export(batch).await;
        if counted {
            let m = &self.accounting.metrics;
            match &result {
                Ok(()) => m.exported.inc_by(n as u64),
                Err(e) => {
                    m.export_errors.inc();
                    m.dropped_export_failed.inc_by(n as u64);
                    self.warn_throttled(e, n);
                }
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
