//! Traces: the OpenTelemetry SDK behind redline's HTTP layer and operation
//! timer, exporting over OTLP (gRPC or HTTP/protobuf), with W3C context
//! propagation.
//!
//! Version set: `opentelemetry`, `opentelemetry_sdk`, `opentelemetry-otlp`
//! and `opentelemetry-proto` 0.33 with `tracing-opentelemetry` 0.34 (CI
//! fails if two versions of an opentelemetry crate end up in the build).
//!
//! Three modes, from the configuration ([`TraceConfig`]):
//! - **exporting** (an OTLP endpoint is set): spans are sampled, recorded
//!   and exported in batches; the pipeline counts its own losses;
//! - **local** (no endpoint): trace ids are still created and propagated
//!   (responses carry `traceparent`, logs can carry ids), but nothing is
//!   recorded or sent, and nothing complains;
//! - **disabled** (`OTEL_SDK_DISABLED=true`): no trace work at all.

mod bounded;
pub(crate) mod config;
mod exporter;
pub(crate) mod pipeline;
pub(crate) mod propagation;
mod resource;
pub(crate) mod sampling;
pub(crate) mod transport;

// The lean export path (issue 17): spans encoded straight to OTLP protobuf
// and sent by redline's own exporter thread. Only with a transport: without
// one nothing is ever sampled (see `lean_stub`).
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod export;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod held;
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
mod lean_stub;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod processor;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod queue;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod record;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod scratch;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod send;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod wire;
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) use lean_stub::{held, queue, record};

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};
use prometheus::Registry;

pub(crate) use bounded::run_bounded;
pub use config::{OtlpHeaders, OtlpProtocol, ResponseTraceparent, SamplerConfig, TraceConfig};
pub use exporter::missing_feature;
pub use propagation::{extract_context, format_traceparent, parse_traceparent};
pub(crate) use resource::{ResourceIdentity, resource};

use pipeline::PipelineMetrics;

/// Why the trace pipeline could not start.
///
/// ```
/// let mut config = redline::Config::default();
/// config.traces.endpoint = Some("http://127.0.0.1:1".into());
/// config.traces.headers = redline::traces::OtlpHeaders(vec![("bad header".into(), "x".into())]);
/// let err = redline::Telemetry::builder().config(config).build().err().unwrap();
/// assert!(err.to_string().contains("OTLP"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The OTLP exporter rejected its settings.
    #[error("cannot build the OTLP span exporter for {endpoint}: {reason}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// The exporter's reason.
        reason: String,
    },
    /// The exporter's background runtime could not start.
    #[error("cannot start the OTLP exporter runtime: {0}")]
    Runtime(std::io::Error),
    /// The pipeline's own metric families could not be registered (a
    /// collector of the same names is already in the registry).
    #[error("cannot register the trace pipeline's metrics: {0}")]
    Metrics(String),
}

/// What [`Tracing::shutdown`] achieved.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// assert_eq!(t.tracing().shutdown(), redline::traces::ShutdownOutcome::NothingToFlush);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Pending spans were handed to the collector.
    Flushed,
    /// The bound elapsed first (collector unreachable or not answering);
    /// spans still queued are lost and were counted as dropped.
    TimedOut,
    /// The exporter reported an error while flushing.
    Failed,
    /// Not exporting (local or disabled mode), or already shut down.
    NothingToFlush,
}

/// The hot-path part, shared by the HTTP layer and the operation timer
/// without reference counting (see [`crate::leak::leak`]).
pub(crate) struct TraceHot {
    pub(crate) tracer: SdkTracer,
    /// Spans are recorded and exported (an endpoint is configured).
    pub(crate) exporting: bool,
    pub(crate) response_traceparent: ResponseTraceparent,
    /// The sampling rules, applied by the layer before the SDK.
    pub(crate) decider: sampling::Decider,
    /// Where sampled spans go (`None`: not exporting).
    pub(crate) queue: Option<&'static queue::SpanQueue>,
}

// The tracer holds trait objects (sampler, processors) that are not marked
// `RefUnwindSafe`. Observing them after a panic is fine: the SDK keeps no
// invariant across a panic that a later span could break, and its locks
// recover from poisoning. Without this, the operation timer and the layer
// could not be used inside `catch_unwind`, as they could before.
impl std::panic::RefUnwindSafe for TraceHot {}
impl std::panic::UnwindSafe for TraceHot {}

struct Inner {
    hot: Option<&'static TraceHot>,
    provider: Option<SdkTracerProvider>,
    metrics: PipelineMetrics,
    shutdown_timeout: Duration,
    endpoint: Option<String>,
    /// The exporter's own runtime (gRPC needs Tokio; a runtime of our own
    /// keeps exports running while the application's runtime shuts down).
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(mut rt) = self.runtime.lock()
            && let Some(rt) = rt.take()
        {
            // Dropping a runtime inside another one panics; this never blocks.
            rt.shutdown_background();
        }
    }
}

/// The trace pipeline of a [`crate::Telemetry`]. Cheap to clone.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let tracing = t.tracing();
/// assert!(tracing.is_enabled());
/// assert!(!tracing.is_exporting(), "no endpoint configured: local only");
/// ```
#[derive(Clone)]
pub struct Tracing {
    inner: Arc<Inner>,
}

impl Tracing {
    pub(crate) fn new(
        tc: &TraceConfig,
        resource: Resource,
        registry: &Registry,
        redactor: crate::redact::Redactor,
    ) -> Result<Self, TraceError> {
        let metrics =
            PipelineMetrics::register(registry).map_err(|e| TraceError::Metrics(e.to_string()))?;
        let mut inner = Inner {
            hot: None,
            provider: None,
            metrics: metrics.clone(),
            shutdown_timeout: tc.shutdown_timeout,
            endpoint: tc.endpoint.clone(),
            runtime: Mutex::new(None),
        };
        if !tc.enabled {
            return Ok(Self {
                inner: Arc::new(inner),
            });
        }
        let scope = InstrumentationScope::builder("redline")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let exporting = tc.endpoint.is_some();
        let mut builder = SdkTracerProvider::builder().with_sampler(sampler(tc.sampler));
        #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
        let queue: Option<&'static queue::SpanQueue> = match &tc.endpoint {
            Some(endpoint) => {
                return Err(TraceError::Exporter {
                    endpoint: endpoint.clone(),
                    reason: missing_feature(tc.protocol)
                        .unwrap_or("no OTLP transport in this build")
                        .to_owned(),
                });
            }
            None => {
                let _ = redactor;
                None
            }
        };
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        let queue = match &tc.endpoint {
            Some(endpoint) => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("redline-otlp")
                    .enable_all()
                    .build()
                    .map_err(TraceError::Runtime)?;
                let (queue, processor) = start_export(
                    tc, endpoint, &runtime, &resource, &scope, &metrics, redactor,
                )?;
                *inner.runtime.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(runtime);
                builder = builder.with_span_processor(processor);
                Some(queue)
            }
            None => None,
        };
        if !exporting {
            // Local mode: ids and propagation, nothing recorded.
            builder = builder.with_sampler(Sampler::AlwaysOff);
        }
        let provider = builder.with_resource(resource).build();
        let tracer = provider.tracer_with_scope(scope);
        inner.hot = Some(crate::leak::leak(TraceHot {
            tracer,
            exporting,
            response_traceparent: tc.response_traceparent,
            decider: sampling::Decider::with_tail(
                tc.sampler,
                exporting,
                tc.keep_errors,
                tc.slow_threshold,
            ),
            queue,
        }));
        inner.provider = Some(provider);
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub(crate) fn hot(&self) -> Option<&'static TraceHot> {
        self.inner.hot
    }

    /// Whether trace context is created at all (`OTEL_SDK_DISABLED` unset).
    ///
    /// ```
    /// let mut config = redline::Config::default();
    /// config.traces.enabled = false;
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// assert!(!t.tracing().is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.inner.hot.is_some()
    }

    /// Whether spans are recorded and exported (an endpoint is configured).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(!t.tracing().is_exporting());
    /// ```
    pub fn is_exporting(&self) -> bool {
        self.inner.hot.is_some_and(|h| h.exporting)
    }

    /// The tracer, for spans of your own (they join the request's trace when
    /// started from within a handler: the layer makes the request's context
    /// current). `None` when tracing is disabled.
    ///
    /// ```
    /// use opentelemetry::trace::{Tracer, Span};
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let mut span = t.tracing().tracer().unwrap().start("reindex");
    /// span.end();
    /// ```
    pub fn tracer(&self) -> Option<&SdkTracer> {
        self.inner.hot.map(|h| &h.tracer)
    }

    /// A `tracing-opentelemetry` layer over this pipeline, so `tracing` spans
    /// become OpenTelemetry spans; inside a request they are children of its
    /// server span. `None` when tracing is disabled.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let subscriber = tracing_subscriber::registry().with(t.tracing().tracing_layer());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::info_span!("work").in_scope(|| ());
    /// });
    /// ```
    pub fn tracing_layer<S>(
        &self,
    ) -> Option<tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let tracer = self.tracer()?.clone();
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    /// Exports what is queued now, waiting at most the shutdown timeout.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.tracing().force_flush(), redline::traces::ShutdownOutcome::NothingToFlush);
    /// ```
    pub fn force_flush(&self) -> ShutdownOutcome {
        self.bounded(|p, _| p.force_flush())
    }

    /// Flushes pending spans and stops the exporter. Returns within the
    /// configured bound (`REDLINE_TRACES_SHUTDOWN_TIMEOUT`, default 3 s) even
    /// when the collector is unreachable or never answers; spans still
    /// queued then are counted as dropped. Blocking: from async code call
    /// it through `spawn_blocking` (as [`crate::ShutdownGuard::shutdown`]
    /// does).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.tracing().shutdown(), redline::traces::ShutdownOutcome::NothingToFlush);
    /// ```
    pub fn shutdown(&self) -> ShutdownOutcome {
        let outcome = self.bounded(|p, timeout| p.shutdown_with_timeout(timeout));
        if outcome == ShutdownOutcome::TimedOut {
            // What has not left the queue is given up on. (The gauge keeps
            // its value: the abandoned flush may still take spans off it.)
            let m = &self.inner.metrics;
            m.dropped_shutdown.inc_by(m.queued.get().max(0) as u64);
        }
        outcome
    }

    /// Runs `op` on the provider, bounded by the shutdown timeout (see
    /// [`run_bounded`]).
    fn bounded(
        &self,
        op: impl FnOnce(&SdkTracerProvider, Duration) -> opentelemetry_sdk::error::OTelSdkResult
        + Send
        + 'static,
    ) -> ShutdownOutcome {
        let (Some(provider), Some(hot)) = (&self.inner.provider, self.inner.hot) else {
            return ShutdownOutcome::NothingToFlush;
        };
        if !hot.exporting {
            return ShutdownOutcome::NothingToFlush;
        }
        run_bounded(provider.clone(), self.inner.shutdown_timeout, op)
    }

    /// The configured OTLP endpoint, if any.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.tracing().endpoint(), None);
    /// ```
    pub fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint.as_deref()
    }
}

/// The export queue, its exporter thread and the SDK's processor feeding it.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn start_export(
    tc: &TraceConfig,
    endpoint: &str,
    runtime: &tokio::runtime::Runtime,
    resource: &Resource,
    scope: &InstrumentationScope,
    metrics: &PipelineMetrics,
    redactor: crate::redact::Redactor,
) -> Result<(&'static queue::SpanQueue, processor::QueueProcessor), TraceError> {
    let sender = send::Sender::new(tc, endpoint, runtime)?;
    let queue = crate::leak::leak(queue::SpanQueue::new(
        queue::QueueSettings {
            max_spans: tc.max_queue_size,
            batch: tc.max_export_batch_size,
            delay: tc.schedule_delay,
            flush_timeout: tc.shutdown_timeout,
        },
        scope,
        metrics.clone(),
        redactor,
    ));
    export::spawn(
        queue,
        sender,
        wire::request::resource_fields(resource),
        endpoint.to_owned(),
    )
    .map_err(TraceError::Runtime)?;
    Ok((queue, processor::QueueProcessor { queue }))
}

fn sampler(config: SamplerConfig) -> Sampler {
    match config {
        SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
        SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
        SamplerConfig::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerConfig::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

impl std::fmt::Debug for Tracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracing").finish_non_exhaustive()
    }
}
