//! The admin router: `GET /metrics` (more endpoints join it as they are
//! built). Serve it on its own listener with
//! [`Telemetry::serve_admin`](crate::Telemetry::serve_admin), or merge it into
//! the application's router.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Telemetry;
use crate::metrics::PROMETHEUS_TEXT_CONTENT_TYPE;

/// Builds the admin router over `telemetry`.
///
/// ```
/// let telemetry = redline::Telemetry::builder().build().unwrap();
/// let app: axum::Router = axum::Router::new().merge(redline::admin::router(&telemetry));
/// # let _ = app;
/// ```
pub fn router(telemetry: &Telemetry) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(telemetry.clone())
}

async fn metrics(State(telemetry): State<Telemetry>) -> Response {
    // Rendering walks every series: keep it off the async workers.
    let rendered = tokio::task::spawn_blocking(move || telemetry.render_metrics()).await;
    match rendered {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(PROMETHEUS_TEXT_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics rendering failed\n",
        )
            .into_response(),
    }
}
