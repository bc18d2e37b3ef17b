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
//!
//! The parts, one job each (as tower-http's middlewares are laid out):
//! `layer.rs` ([`HttpLayer`], what a service adds), `service.rs`
//! ([`HttpService`]: starts a request's state: route, method, request id,
//! server span), `future.rs` ([`ResponseFuture`]: the request's trace
//! context current while the handler runs, panics turned into a 500),
//! `body.rs` (counts the bytes sent, finishes the request when the body
//! ends), and `request.rs`, the one place where a request finishes and is
//! recorded, once, by each recorder: the metrics (`metrics.rs`), the error
//! tracker, the access log (`access.rs`) and the server span (`span.rs`).

mod access;
mod body;
mod future;
mod labels;
mod layer;
mod metrics;
mod request;
mod route;
mod service;
mod span;

pub(crate) use access::AccessLog;
pub use future::ResponseFuture;
pub use labels::{ErrorType, SecureConnection};
pub use layer::HttpLayer;
pub(crate) use metrics::DURATION;
pub use metrics::{DEFAULT_DURATION_BUCKETS, HttpMetrics, UNMATCHED_ROUTE};
pub use route::{AxumMatchedPath, RouteExtractor, RouteFn};
pub use service::HttpService;
