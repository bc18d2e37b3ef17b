//! The modes: which instrumentation wraps the application, one module per
//! crate compared.

mod axum_prometheus;
mod otel_tower;
mod redline;
mod tower_http_trace;

use std::future::Future;
use std::pin::Pin;

use axum::Router;

use crate::otlp::Sink;

/// One way of instrumenting the server.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// No layer.
    Bare,
    /// redline's layer, traces disabled.
    RedlineMetrics,
    /// redline's metrics and traces sampled at this ratio, exported over
    /// OTLP/HTTP.
    RedlineTraces(Ratio),
    /// Every failed or slow request traced, and 10% of the rest.
    RedlineTail,
    /// redline's metrics and its JSON access log of every request (stdout).
    RedlineAccess,
    /// axum-prometheus 0.10's layer (the `metrics` crate's Prometheus
    /// recorder).
    AxumPrometheus,
    /// opentelemetry-instrumentation-tower's layer, metrics only, exported
    /// over OTLP/HTTP.
    OtelTowerMetrics,
    /// opentelemetry-instrumentation-tower's layer, a span per request and
    /// metrics, both exported over OTLP/HTTP.
    OtelTowerSpans,
    /// tower-http's `TraceLayer` into `tracing-opentelemetry`, a span per
    /// request exported over OTLP/HTTP.
    TowerHttpTrace,
}

/// The sampling ratios measured.
#[derive(Clone, Copy, Debug)]
pub enum Ratio {
    /// Every request.
    All,
    /// One request in ten.
    Tenth,
}

impl Mode {
    /// Every mode's name, as given on the command line.
    pub const NAMES: [&'static str; 10] = [
        "bare",
        "redline-metrics",
        "redline-traces100",
        "redline-traces10",
        "redline-tail",
        "redline-access",
        "axum-prometheus",
        "otel-tower-metrics",
        "otel-tower-spans",
        "tower-http-trace",
    ];

    /// The mode named `name`.
    pub fn parse(name: &str) -> Option<Mode> {
        Some(match name {
            "bare" => Mode::Bare,
            "redline-metrics" => Mode::RedlineMetrics,
            "redline-traces100" => Mode::RedlineTraces(Ratio::All),
            "redline-traces10" => Mode::RedlineTraces(Ratio::Tenth),
            "redline-tail" => Mode::RedlineTail,
            "redline-access" => Mode::RedlineAccess,
            "axum-prometheus" => Mode::AxumPrometheus,
            "otel-tower-metrics" => Mode::OtelTowerMetrics,
            "otel-tower-spans" => Mode::OtelTowerSpans,
            "tower-http-trace" => Mode::TowerHttpTrace,
            _ => return None,
        })
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Bare => "bare",
            Mode::RedlineMetrics => "redline-metrics",
            Mode::RedlineTraces(Ratio::All) => "redline-traces100",
            Mode::RedlineTraces(Ratio::Tenth) => "redline-traces10",
            Mode::RedlineTail => "redline-tail",
            Mode::RedlineAccess => "redline-access",
            Mode::AxumPrometheus => "axum-prometheus",
            Mode::OtelTowerMetrics => "otel-tower-metrics",
            Mode::OtelTowerSpans => "otel-tower-spans",
            Mode::TowerHttpTrace => "tower-http-trace",
        }
    }

    /// Sets up the mode's telemetry (inside the runtime: some of it spawns
    /// tasks) and wraps `app` in its layer.
    pub async fn instrument(self, app: Router, sink: &Sink) -> Instrumented {
        match self {
            Mode::Bare => Instrumented::new(app, async {}),
            Mode::RedlineMetrics => redline::instrument(app, redline::Kind::Metrics, sink).await,
            Mode::RedlineTraces(ratio) => {
                let ratio = match ratio {
                    Ratio::All => 1.0,
                    Ratio::Tenth => 0.1,
                };
                redline::instrument(app, redline::Kind::Traces(ratio), sink).await
            }
            Mode::RedlineTail => redline::instrument(app, redline::Kind::Tail, sink).await,
            Mode::RedlineAccess => redline::instrument(app, redline::Kind::Access, sink).await,
            Mode::AxumPrometheus => axum_prometheus::instrument(app).await,
            Mode::OtelTowerMetrics => otel_tower::instrument(app, false, sink),
            Mode::OtelTowerSpans => otel_tower::instrument(app, true, sink),
            Mode::TowerHttpTrace => tower_http_trace::instrument(app, sink),
        }
    }
}

/// The application behind a mode's layer, and what flushes the mode's
/// telemetry when the server stops.
pub struct Instrumented {
    /// The router to serve.
    pub app: Router,
    /// Flushes and shuts down the telemetry (exporters included).
    pub flush: Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>>>,
}

impl Instrumented {
    fn new(app: Router, flush: impl Future<Output = ()> + 'static) -> Self {
        Instrumented {
            app,
            flush: Box::new(move || Box::pin(flush)),
        }
    }
}
