//! The smallest complete integration: an axum app instrumented by redline
//! (metrics, traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, request ids,
//! limits, rate limit, sanitized errors, as configured), `/metrics` on the
//! admin listener, and redline's server with a graceful, bounded shutdown.
//! `cargo run --example axum`, then `curl localhost:3000/users/7` and
//! `curl localhost:9464/metrics`.

use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = redline::Telemetry::builder()
        .config(redline::Config::from_env()?) // OTEL_* and REDLINE_* variables
        .build_info(redline::build_info!()) // this crate's name, version, revision
        .build()?;
    telemetry.install_logging()?; // JSON lines with trace ids
    let app = telemetry.instrument(
        // Every setting the configuration enables, on the routes.
        Router::new().route("/users/{id}", get(|| async { "a user" })),
    );
    let admin = telemetry.serve_admin().await?; // GET /metrics on 127.0.0.1:9464
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let server = telemetry.serve(listener, app)?; // timeouts, connection cap
    redline::shutdown_signal().await; // Ctrl-C or SIGTERM
    server.shutdown().await; // /ready 503 for REDLINE_SHUTDOWN_DELAY, then drain
    admin.shutdown().await; // stops /metrics, flushes pending spans (bounded)
    telemetry.flush_logs();
    Ok(())
}
