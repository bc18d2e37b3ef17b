//! What an export pipeline counts about itself (spans here; the OTLP log
//! pipeline registers the same kinds of counters under its own names):
//! spans exported, dropped by reason, failed requests, the queue's length
//! and capacity; and a warning throttle for failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// One metric family of an export pipeline: its name and help text.
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
}

/// The families of an export pipeline (spans here; the OTLP log pipeline
/// has its own names, see `crate::logs::otlp`).
pub(crate) struct PipelineNames {
    pub(crate) exported: Family,
    /// With the label `reason`: `queue_full`, `export_failed`, `shutdown`.
    pub(crate) dropped: Family,
    pub(crate) export_errors: Family,
    pub(crate) queue: Family,
    pub(crate) capacity: Family,
}

/// Names of the span pipeline's own metrics (see `docs/METRICS.md`).
pub(crate) const SPAN_NAMES: PipelineNames = PipelineNames {
    exported: Family {
        name: "redline_trace_spans_exported_total",
        help: "Spans the OTLP exporter delivered (the collector accepted the request).",
    },
    dropped: Family {
        name: "redline_trace_spans_dropped_total",
        help: "Spans lost before reaching the collector, by reason (queue_full, export_failed, shutdown).",
    },
    export_errors: Family {
        name: "redline_trace_export_errors_total",
        help: "OTLP export requests that failed (after the exporter's retries).",
    },
    queue: Family {
        name: "redline_trace_queue_spans",
        help: "Spans waiting in the export queue.",
    },
    capacity: Family {
        name: "redline_trace_queue_capacity_spans",
        help: "Capacity of the export queue (OTEL_BSP_MAX_QUEUE_SIZE).",
    },
};

/// Says yes at most once a minute (the first time at once): how the export
/// pipelines warn about failures without flooding the service's logs.
#[derive(Debug)]
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
pub(crate) struct OncePerMinute {
    /// Milliseconds since `started`, plus a minute, of the last yes.
    last_ms: AtomicU64,
    started: Instant,
}

#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
impl OncePerMinute {
    pub(crate) fn new() -> Self {
        Self {
            last_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Whether a minute has passed since the last yes (and claims it).
    pub(crate) fn ready(&self) -> bool {
        let now = self.started.elapsed().as_millis() as u64 + 60_000;
        let last = self.last_ms.load(Ordering::Relaxed);
        now.saturating_sub(last) >= 60_000
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Counters of an export pipeline, registered in the service's registry.
#[derive(Clone)]
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
pub(crate) struct PipelineMetrics {
    pub(crate) exported: IntCounter,
    pub(crate) dropped_queue_full: IntCounter,
    pub(crate) dropped_export_failed: IntCounter,
    pub(crate) dropped_shutdown: IntCounter,
    pub(crate) export_errors: IntCounter,
    pub(crate) queued: IntGauge,
    pub(crate) capacity: IntGauge,
}

impl PipelineMetrics {
    /// The span pipeline's metrics.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        Self::register_as(registry, &SPAN_NAMES)
    }

    /// A pipeline's metrics under `names`.
    pub(crate) fn register_as(
        registry: &Registry,
        names: &PipelineNames,
    ) -> prometheus::Result<Self> {
        let exported = IntCounter::new(names.exported.name, names.exported.help)?;
        let dropped = IntCounterVec::new(
            Opts::new(names.dropped.name, names.dropped.help),
            &["reason"],
        )?;
        let export_errors = IntCounter::new(names.export_errors.name, names.export_errors.help)?;
        let queued = IntGauge::new(names.queue.name, names.queue.help)?;
        let capacity = IntGauge::new(names.capacity.name, names.capacity.help)?;
        registry.register(Box::new(exported.clone()))?;
        registry.register(Box::new(dropped.clone()))?;
        registry.register(Box::new(export_errors.clone()))?;
        registry.register(Box::new(queued.clone()))?;
        registry.register(Box::new(capacity.clone()))?;
        Ok(Self {
            exported,
            dropped_queue_full: dropped.with_label_values(&["queue_full"]),
            dropped_export_failed: dropped.with_label_values(&["export_failed"]),
            dropped_shutdown: dropped.with_label_values(&["shutdown"]),
            export_errors,
            queued,
            capacity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_minute_says_yes_once_then_waits() {
        let once = OncePerMinute::new();
        assert!(once.ready());
        assert!(!once.ready() && !once.ready());
    }
}
