//! HTTP server instrumentation: a tower [`Layer`](tower::Layer) that records
//! the OpenTelemetry HTTP server metrics in Prometheus form.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_server_request_duration_seconds` | histogram | method, route, status, scheme, error type |
//! | `http_server_active_requests` | gauge | method, scheme |
//! | `http_server_request_body_size_bytes` | histogram | as duration |
//! | `http_server_response_body_size_bytes` | histogram | as duration |
//!
//! Label values are bounded: methods outside the semantic-conventions list
//! become `_OTHER`, routes are templates (requests no route matched get
//! [`UNMATCHED_ROUTE`]), and each family caps its label sets
//! (see [`crate::Config::max_series_per_metric`]).
//!
//! ```
//! use axum::{Router, routing::get};
//! let telemetry = redline::Telemetry::builder().build().unwrap();
//! let app: Router = Router::new()
//!     .route("/hello", get(|| async { "hello" }))
//!     .layer(telemetry.http_layer());
//! # let _ = app;
//! ```

mod access;
mod body;
mod labels;
mod layer;
mod metrics;
mod route;
mod span;

pub(crate) use access::AccessLog;
pub use labels::ErrorType;
pub use layer::{HttpMetricsLayer, HttpMetricsService, ResponseFuture};
pub(crate) use metrics::DURATION;
pub use metrics::{DEFAULT_DURATION_BUCKETS, HttpMetrics, UNMATCHED_ROUTE};
pub use route::{AxumMatchedPath, RouteExtractor, RouteFn};
pub(crate) use span::RequestId;
