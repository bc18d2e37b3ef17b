//! The smallest complete integration: an axum app with redline's layer,
//! `/metrics` on the admin listener, and traces when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. `cargo run --example axum`, then
//! `curl localhost:3000/users/7` and `curl localhost:9464/metrics`.

use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = redline::Telemetry::builder()
        .config(redline::Config::from_env()?) // OTEL_* and REDLINE_* variables
        .build_info(redline::build_info!()) // this crate's name, version, revision
        .build()?;
    telemetry.install_logging()?; // JSON lines with trace ids
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .layer(telemetry.http_layer()); // metrics and a server span, by route template
    let admin = telemetry.serve_admin().await?; // GET /metrics on 127.0.0.1:9464
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    // With the peer address, so spans carry `client.address`.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    admin.shutdown().await; // stops /metrics, flushes pending spans (bounded)
    telemetry.flush_logs();
    Ok(())
}
