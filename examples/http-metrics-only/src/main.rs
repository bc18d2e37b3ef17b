//! HTTP metrics and nothing else: an axum app with redline's layer, and
//! `/metrics` on the admin listener (`REDLINE_ADMIN_LISTEN`, default
//! `127.0.0.1:9464`). Built with `default-features = false`: no span export,
//! no rate limiter, no process or system metrics, no TOML file.
//!
//! `cargo run` here, then `curl localhost:3000/users/7` and
//! `curl localhost:9464/metrics`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = http_metrics_only::telemetry(redline::Config::from_env()?)?;
    let admin = telemetry.serve_admin().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    let server = telemetry.serve(listener, http_metrics_only::app(&telemetry))?;
    redline::shutdown_signal().await;
    server.shutdown().await;
    admin.shutdown().await;
    Ok(())
}
