//! axum-prometheus as its README sets it up: `PrometheusMetricLayer::pair()`
//! installs the `metrics` crate's global Prometheus recorder (and spawns
//! its upkeep task, every 5 s). `/metrics` is served on an ephemeral
//! listener of its own, as redline's is.

use axum::Router;
use axum::routing::get;
use axum_prometheus::PrometheusMetricLayer;

use super::Instrumented;

/// axum-prometheus's layer around `app`; nothing to flush (pull-based).
pub async fn instrument(app: Router) -> Instrumented {
    let (layer, handle) = PrometheusMetricLayer::pair();
    let metrics = Router::new().route("/metrics", get(move || async move { handle.render() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind /metrics");
    eprintln!(
        "axum-prometheus /metrics on http://{}",
        listener.local_addr().expect("local address")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, metrics).await;
    });
    Instrumented::new(app.layer(layer), async {})
}
