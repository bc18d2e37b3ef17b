//! The admin router:
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /metrics` | Prometheus text format, or OpenMetrics with exemplars when the scraper's `Accept` header asks for it |
//! | `GET /health` | every check, in the IETF health draft's `application/health+json`; 200 pass/warn, 503 fail |
//! | `GET /ready` | readiness (lifecycle + readiness checks): 200 `ready` / 503 `not ready` |
//! | `GET /alive` | liveness (process checks only): 200 `alive` / 503 `not alive` |
//! | `GET /info` | service, build and process facts as JSON |
//! | `GET /errors/report` | error groups by count and by recency, totals, rate over the last minutes |
//! | `GET /logs/info` | log statistics (events per level and target, lines written and dropped, rotations) and settings |
//! | `PUT /logs/level` | new log filter as the body; needs `Authorization: Bearer $REDLINE_ADMIN_TOKEN` | Serve it on its own listener with
//! [`Telemetry::serve_admin`](crate::Telemetry::serve_admin), or merge it into
//! the application's router.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Telemetry;

mod auth;
mod health;
mod info;
mod logs;

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
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route("/alive", get(health::alive))
        .route("/info", get(info::info))
        .route("/errors/report", get(errors_report))
        .route("/logs/info", get(logs::info))
        .route("/logs/level", axum::routing::put(logs::set_level))
        .with_state(telemetry.clone())
}

async fn errors_report(
    State(telemetry): State<Telemetry>,
) -> axum::Json<crate::errors::ErrorReport> {
    axum::Json(telemetry.errors().report())
}

async fn metrics(State(telemetry): State<Telemetry>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Rendering walks every series: keep it off the async workers.
    let rendered =
        tokio::task::spawn_blocking(move || telemetry.render_for(accept.as_deref())).await;
    match rendered {
        Ok((text, content_type)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
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
