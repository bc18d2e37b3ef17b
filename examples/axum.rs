//! The smallest complete integration: an axum app with redline's layer and
//! `/metrics` on the admin listener. `cargo run --example axum`, then
//! `curl localhost:3000/users/7` and `curl localhost:9464/metrics`.

use axum::{Router, routing::get};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let telemetry = redline::Telemetry::from_env()?; // OTEL_SERVICE_NAME, REDLINE_* …
    let app = Router::new()
        .route("/users/{id}", get(|| async { "a user" }))
        .layer(telemetry.http_layer()); // latency, sizes, in-flight, by route template
    let _admin = telemetry.serve_admin().await?; // GET /metrics on 127.0.0.1:9464
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
