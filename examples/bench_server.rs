//! A minimal axum server for load tests: `GET /hello`, bare, with a no-op
//! layer, or with the redline layer, on a single-threaded runtime (so the server is CPU-bound
//! on one core and the load generator has the other).
//!
//! `cargo run --release --example bench_server -- instrumented 127.0.0.1:8081`
//! (in instrumented mode `/metrics` is served on the port 100 above).

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
                // `/metrics` on its own listener (the port 100 above), so
                // the router under load has the same single route as the
                // others.
                let mut admin: std::net::SocketAddr = addr.parse().expect("address");
                admin.set_port(admin.port() + 100);
                let config = redline::Config {
                    admin_listen: Some(admin),
                    ..Default::default()
                };
                let telemetry = redline::Telemetry::builder()
                    .config(config)
                    .build()
                    .expect("telemetry");
                // Kept for the life of the process (dropping it stops the listener).
                std::mem::forget(telemetry.serve_admin().await.expect("admin listener"));
                app.layer(telemetry.http_layer())
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
