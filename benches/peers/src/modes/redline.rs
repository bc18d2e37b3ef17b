//! redline, configured as the root's `examples/bench_server.rs` does:
//! `/metrics` (and the status page) on an admin listener of its own, so the
//! router under load has the single route the others have.

use axum::Router;

use super::Instrumented;
use crate::otlp::Sink;

/// What redline does besides metrics.
pub enum Kind {
    /// Nothing: traces disabled.
    Metrics,
    /// Traces sampled at this ratio, exported over OTLP/HTTP.
    Traces(f64),
    /// Errors, slow requests (100 ms) and 10% of the rest traced: the
    /// decision at the end of each request.
    Tail,
    /// The JSON access log of every request, to stdout; traces disabled.
    Access,
}

/// redline's layer around `app`; the flush stops the admin listener and
/// flushes pending spans and log lines.
pub async fn instrument(app: Router, kind: Kind, sink: &Sink) -> Instrumented {
    let mut config = redline::Config {
        // An ephemeral port: the scripts choose only the served one.
        admin_listen: Some(([127, 0, 0, 1], 0).into()),
        ..Default::default()
    };
    config.logs.access_log = None;
    let access = matches!(kind, Kind::Access);
    match kind {
        Kind::Metrics => config.traces.enabled = false,
        Kind::Access => {
            config.traces.enabled = false;
            config.logs.access_log = Some(tracing::Level::INFO);
            config.logs.access_log_sample = 1.0;
        }
        Kind::Tail => {
            config.traces.endpoint = Some(sink.traces());
            config.traces.protocol = redline::traces::OtlpProtocol::HttpProtobuf;
            config.traces.sampler = redline::traces::SamplerConfig::ParentBasedTraceIdRatio(0.1);
            config.traces.keep_errors = true;
            config.traces.slow_threshold = Some(std::time::Duration::from_millis(100));
        }
        Kind::Traces(ratio) => {
            config.traces.endpoint = Some(sink.traces());
            config.traces.protocol = redline::traces::OtlpProtocol::HttpProtobuf;
            config.traces.sampler = redline::traces::SamplerConfig::ParentBasedTraceIdRatio(ratio);
        }
    }
    let telemetry = redline::Telemetry::builder()
        .config(config)
        .build()
        .expect("telemetry");
    if access {
        telemetry.install_logging().expect("logging");
    }
    let guard = telemetry.serve_admin().await.expect("admin listener");
    if let Some(admin) = guard.admin_addr() {
        eprintln!("redline admin (/metrics) on http://{admin}");
    }
    let app = app.layer(telemetry.http_layer());
    Instrumented::new(app, async move {
        guard.shutdown().await;
        telemetry.flush_logs();
    })
}
