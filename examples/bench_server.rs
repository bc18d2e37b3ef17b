//! A minimal axum server for load tests: `GET /hello`, bare, with a no-op
//! layer, or with the redline layer, on a single-threaded runtime (so the server is CPU-bound
//! on one core and the load generator has the other).
//!
//! `cargo run --release --example bench_server -- instrumented 127.0.0.1:8081`
//! (`/metrics` is also served on the same port in instrumented mode).

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
            "instrumented" => {
                let config = redline::Config {
                    admin_listen: None,
                    ..Default::default()
                };
                let telemetry = redline::Telemetry::builder()
                    .config(config)
                    .build()
                    .expect("telemetry");
                app.layer(telemetry.http_layer())
                    .merge(telemetry.admin_router())
            }
            other => {
                eprintln!("mode must be bare, noop or instrumented, got {other}");
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
