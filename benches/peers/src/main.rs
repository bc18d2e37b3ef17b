//! `peer_server MODE ADDR`: `GET /hello` ("hello\n") on axum 0.8 and a
//! single-threaded tokio runtime, instrumented by redline or by one of its
//! peers (see [`modes::Mode`] for the list), so a load generator on the
//! other core measures what each costs a request.
//!
//! - `OTLP_SINK`: base URL of the OTLP/HTTP receiver the exporting modes
//!   send to (`/v1/traces` and `/v1/metrics` are appended; default
//!   `http://127.0.0.1:14318`, see the root's `examples/otlp_sink.rs`).
//! - `PEER_ERROR_EVERY=N`: every N-th `/hello` answers 500 (off by default).
//!
//! On SIGTERM or SIGINT it stops serving, flushes and shuts down the mode's
//! telemetry (exporters included), prints what it exported and exits.
//! Diagnostics go to stderr; stdout is the access log's (mode
//! `redline-access`).

mod hello;
mod modes;
mod otlp;

use modes::Mode;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(addr)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: peer_server MODE ADDR (modes: {})",
            Mode::NAMES.join(", ")
        );
        std::process::exit(2);
    };
    let Some(mode) = Mode::parse(&mode) else {
        eprintln!("unknown mode {mode}; one of {}", Mode::NAMES.join(", "));
        std::process::exit(2);
    };
    let error_every = hello::error_every_from_env();
    let sink = otlp::Sink::from_env();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let app = hello::router(error_every);
        let instrumented = mode.instrument(app, &sink).await;
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        eprintln!(
            "peer_server {} listening on http://{}/hello",
            mode.name(),
            listener.local_addr().expect("local address")
        );
        axum::serve(listener, instrumented.app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .expect("serve");
        eprintln!("peer_server {}: stopping, flushing telemetry", mode.name());
        (instrumented.flush)().await;
        eprintln!("peer_server {}: flushed", mode.name());
    });
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
