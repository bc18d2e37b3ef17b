//! The OpenTelemetry SDK pipelines the peers export through, set up as
//! their documentation shows: a batch span processor (the SDK's defaults:
//! queue of 2,048, batches of 512, every 5 s) and a periodic metric reader
//! (every 60 s, `OTEL_METRIC_EXPORT_INTERVAL`), each with the OTLP exporter
//! over HTTP/protobuf. The span exporter is wrapped to count what reaches
//! it, so a run can tell exported spans from dropped ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};

/// Where the exporting modes send: an OTLP/HTTP receiver's base URL.
pub struct Sink {
    base: String,
}

impl Sink {
    /// `OTLP_SINK`, default `http://127.0.0.1:14318`. A URL ending in
    /// `/v1/traces` (as the root's `bench_server` takes it) is accepted too.
    pub fn from_env() -> Self {
        let url = std::env::var("OTLP_SINK").unwrap_or_else(|_| "http://127.0.0.1:14318".into());
        let base = url.trim_end_matches('/').trim_end_matches("/v1/traces");
        Sink {
            base: base.to_owned(),
        }
    }

    /// The traces endpoint, a full URL.
    pub fn traces(&self) -> String {
        format!("{}/v1/traces", self.base)
    }

    /// The metrics endpoint, a full URL.
    pub fn metrics(&self) -> String {
        format!("{}/v1/metrics", self.base)
    }
}

fn resource() -> Resource {
    Resource::builder()
        .with_service_name("redline-peers")
        .build()
}

/// A tracer provider with the SDK's default sampler (parent-based, always
/// on: every request here is sampled) and a batch processor exporting to
/// the sink. The returned counter holds the spans handed to the exporter.
pub fn tracer_provider(sink: &Sink) -> (SdkTracerProvider, Arc<SpanCount>) {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(sink.traces())
        .build()
        .expect("OTLP span exporter");
    let count = Arc::new(SpanCount::default());
    let exporter = Counted {
        inner: exporter,
        count: count.clone(),
    };
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build();
    (provider, count)
}

/// A meter provider whose periodic reader exports to the sink.
pub fn meter_provider(sink: &Sink) -> SdkMeterProvider {
    let exporter = MetricExporter::builder()
        .with_http()
        .with_endpoint(sink.metrics())
        .build()
        .expect("OTLP metric exporter");
    SdkMeterProvider::builder()
        .with_resource(resource())
        .with_reader(PeriodicReader::builder(exporter).build())
        .build()
}

/// Shuts the providers down (each flushes first); blocking, so off the
/// runtime's thread. Prints the span count when there is one.
pub async fn shutdown(
    tracer: Option<(SdkTracerProvider, Arc<SpanCount>)>,
    meter: Option<SdkMeterProvider>,
) {
    tokio::task::spawn_blocking(move || {
        if let Some((provider, count)) = tracer {
            if let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(10)) {
                eprintln!("tracer provider shutdown: {e}");
            }
            count.report();
        }
        if let Some(provider) = meter
            && let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(10))
        {
            eprintln!("meter provider shutdown: {e}");
        }
    })
    .await
    .expect("shutdown task");
}

/// Spans handed to the exporter, and failed exports.
#[derive(Debug, Default)]
pub struct SpanCount {
    spans: AtomicU64,
    failed_exports: AtomicU64,
}

impl SpanCount {
    fn report(&self) {
        eprintln!(
            "spans exported: {} (failed exports: {})",
            self.spans.load(Ordering::Relaxed),
            self.failed_exports.load(Ordering::Relaxed)
        );
    }
}

/// A span exporter that counts, then forwards.
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    count: Arc<SpanCount>,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Counted<E>
{
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.count
            .spans
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let result = self.inner.export(batch).await;
        if result.is_err() {
            self.count.failed_exports.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
