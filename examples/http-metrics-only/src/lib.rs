//! The service of `main.rs`, as functions its test calls.

use axum::{Router, routing::get};

/// redline, set up from `config`, reporting this crate's name and version.
pub fn telemetry(config: redline::Config) -> Result<redline::Telemetry, redline::Error> {
    redline::Telemetry::builder()
        .config(config)
        .build_info(redline::build_info!())
        .build()
}

/// The routes, instrumented by redline.
pub fn app(telemetry: &redline::Telemetry) -> Router {
    telemetry.instrument(Router::new().route("/users/{id}", get(|| async { "a user" })))
}
