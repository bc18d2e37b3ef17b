//! A minimal axum server for load tests: `GET /hello` on a single-threaded
//! runtime (so the server is CPU-bound on one core and the load generator
//! has the other), in one of these modes:
//!
//! - `bare`: no layer;
//! - `noop`: a pass-through layer (what axum's per-route layering costs);
//! - `metrics`: redline's layer with traces disabled (`OTEL_SDK_DISABLED`);
//! - `instrumented`: redline's layer with the default configuration: metrics
//!   and local trace context (ids, `traceparent` on responses, no export);
//! - `access`, `access10`: metrics plus the JSON access log (traces
//!   disabled) written to stdout through the non-blocking buffer, every
//!   request / 10% of successful ones (run with stdout to `/dev/null` or a
//!   file, as `benches/wrk_access.sh` does);
//! - `traces10`, `traces100`: metrics plus traces sampled at 10% / 100%,
//!   exported over OTLP/HTTP to `$OTLP_SINK` (default
//!   `http://127.0.0.1:14318/v1/traces`, see `examples/otlp_sink.rs`).
//!
//! `cargo run --release --example bench_server -- instrumented 127.0.0.1:8081`
//! (with redline, `/metrics` is served on the port 100 above).

use axum::Router;
use axum::routing::get;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "instrumented".into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let app: Router = Router::new().route("/hello", get(|| async { "hello\n" }));
        let app = match mode.as_str() {
            "bare" => app,
            // A pass-through layer added the same way: what axum's per-route
            // `Router::layer` costs by itself (it boxes and clones the route
            // service per request), whatever the layer does.
            "noop" => app.layer(tower::layer::layer_fn(|inner| inner)),
            "metrics" | "instrumented" | "traces10" | "traces100" | "access" | "access10" => {
                // `/metrics` on its own listener (the port 100 above), so
                // the router under load has the same single route as the
                // others.
                let mut admin: std::net::SocketAddr = addr.parse().expect("address");
                admin.set_port(admin.port() + 100);
                let mut config = redline::Config {
                    admin_listen: Some(admin),
                    ..Default::default()
                };
                let sink = std::env::var("OTLP_SINK")
                    .unwrap_or_else(|_| "http://127.0.0.1:14318/v1/traces".into());
                // The access log only where it is measured.
                config.logs.access_log = None;
                match mode.as_str() {
                    "metrics" => config.traces.enabled = false,
                    "access" | "access10" => {
                        config.traces.enabled = false;
                        config.logs.access_log = Some(tracing::Level::INFO);
                        config.logs.access_log_sample = if mode == "access10" { 0.1 } else { 1.0 };
                    }
                    "traces10" | "traces100" => {
                        config.traces.endpoint = Some(sink);
                        config.traces.protocol = redline::traces::OtlpProtocol::HttpProtobuf;
                        config.traces.sampler = redline::traces::SamplerConfig::ParentBasedTraceIdRatio(
                            if mode == "traces10" { 0.1 } else { 1.0 },
                        );
                    }
                    _ => {}
                }
                let telemetry = redline::Telemetry::builder()
                    .config(config)
                    .build()
                    .expect("telemetry");
                if mode.starts_with("access") {
                    telemetry.install_logging().expect("logging");
                }
                // Kept for the life of the process (dropping it stops the listener).
                std::mem::forget(telemetry.serve_admin().await.expect("admin listener"));
                app.layer(telemetry.http_layer())
            }
            other => {
                eprintln!(
                    "mode must be bare, noop, metrics, instrumented, access, access10, traces10 or traces100, got {other}"
                );
                std::process::exit(2);
            }
        };
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        println!("{mode} server on http://{addr}/hello");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .expect("serve");
    });
}
