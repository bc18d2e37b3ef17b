//! The tower [`Layer`]: what a service adds to instrument its HTTP server.

use tower::Layer;

use super::access::AccessLog;
use super::metrics::HttpMetrics;
use super::route::{AxumMatchedPath, RouteExtractor};
use super::service::HttpService;
use crate::errors::ErrorTracker;
use crate::traces::TraceHot;

/// Records the HTTP server metrics of every request that passes through.
///
/// Get one from [`Telemetry::http_layer`](crate::Telemetry::http_layer). With
/// axum, add it with `Router::layer` so that axum has already matched the
/// route (and set `MatchedPath`) when the layer runs:
///
/// ```
/// use axum::{Router, routing::get};
/// let telemetry = redline::Telemetry::builder().build().unwrap();
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "hi" }))
///     .layer(telemetry.http_layer());
/// ```
///
/// For plain hyper or tonic, pick a [`RouteExtractor`] with
/// [`HttpLayer::with_route_extractor`].
#[derive(Clone)]
pub struct HttpLayer<E = AxumMatchedPath> {
    metrics: HttpMetrics,
    trace: Option<&'static TraceHot>,
    access: Option<&'static AccessLog>,
    errors: Option<&'static ErrorTracker>,
    extractor: E,
    catch_panics: bool,
}

impl HttpLayer<AxumMatchedPath> {
    pub(crate) fn new(
        metrics: HttpMetrics,
        trace: Option<&'static TraceHot>,
        access: Option<&'static AccessLog>,
        errors: Option<&'static ErrorTracker>,
    ) -> Self {
        Self {
            metrics,
            trace,
            access,
            errors,
            extractor: AxumMatchedPath,
            catch_panics: true,
        }
    }
}

impl<E> HttpLayer<E> {
    /// Uses `extractor` to find route templates (for hyper or tonic).
    ///
    /// ```
    /// use redline::http::RouteFn;
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let layer = telemetry
    ///     .http_layer()
    ///     .with_route_extractor(RouteFn(|uri: &http::Uri| match uri.path() {
    ///         "/hello" => Some("/hello"),
    ///         _ => None,
    ///     }));
    /// # let _ = layer;
    /// ```
    pub fn with_route_extractor<E2: RouteExtractor>(self, extractor: E2) -> HttpLayer<E2> {
        HttpLayer {
            metrics: self.metrics,
            trace: self.trace,
            access: self.access,
            errors: self.errors,
            extractor,
            catch_panics: self.catch_panics,
        }
    }

    /// Whether a panicking handler is turned into a `500` with a generic JSON
    /// body (the default, recorded with `error_type="panic"`). With `false`
    /// the panic propagates (the server then drops the connection); the
    /// request is still recorded with `error_type="panic"`, and no status.
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let layer = telemetry.http_layer().catch_panics(false);
    /// # let _ = layer;
    /// ```
    pub fn catch_panics(mut self, enabled: bool) -> Self {
        self.catch_panics = enabled;
        self
    }

    /// Whether the layer opens a server span per request (the default when
    /// tracing is enabled). With `false` it records metrics only.
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let metrics_only = telemetry.http_layer().traces(false);
    /// # let _ = metrics_only;
    /// ```
    pub fn traces(mut self, enabled: bool) -> Self {
        if !enabled {
            self.trace = None;
        }
        self
    }

    /// Whether the layer writes the access log (the default unless
    /// `REDLINE_ACCESS_LOG=off`).
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let quiet = telemetry.http_layer().access_log(false);
    /// # let _ = quiet;
    /// ```
    pub fn access_log(mut self, enabled: bool) -> Self {
        if !enabled {
            self.access = None;
        }
        self
    }
}

impl<S, E: Clone> Layer<S> for HttpLayer<E> {
    type Service = HttpService<S, E>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpService {
            inner,
            metrics: self.metrics.inner,
            trace: self.trace,
            access: self.access,
            errors: self.errors,
            extractor: self.extractor.clone(),
            catch_panics: self.catch_panics,
        }
    }
}

impl<E> std::fmt::Debug for HttpLayer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpLayer").finish_non_exhaustive()
    }
}
