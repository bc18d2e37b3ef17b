//! The tower [`Layer`] and [`Service`] that instrument HTTP servers.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
// A TSC clock where the CPU has a reliable one (two reads per request;
// `clock_gettime` was ~0.7% of server CPU under wrk load here).
use quanta::Instant;

use http::{Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The response header that tells a client which trace served it.
const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

use super::access::{AccessLog, Finished};
use super::body::{PANIC_BODY, into_response_body};
use super::labels::{ErrorType, method_id, scheme_id};
use super::metrics::{HttpKey, HttpMetrics, HttpMetricsInner};
use super::route::{AxumMatchedPath, RouteExtractor};
use super::span::{MAX_REQUEST_ID, ServerSpan};
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
/// [`HttpMetricsLayer::with_route_extractor`].
#[derive(Clone)]
pub struct HttpMetricsLayer<E = AxumMatchedPath> {
    metrics: HttpMetrics,
    trace: Option<&'static TraceHot>,
    access: Option<&'static AccessLog>,
    errors: Option<&'static ErrorTracker>,
    extractor: E,
    catch_panics: bool,
}

impl HttpMetricsLayer<AxumMatchedPath> {
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

impl<E> HttpMetricsLayer<E> {
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
    pub fn with_route_extractor<E2: RouteExtractor>(self, extractor: E2) -> HttpMetricsLayer<E2> {
        HttpMetricsLayer {
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

impl<S, E: Clone> Layer<S> for HttpMetricsLayer<E> {
    type Service = HttpMetricsService<S, E>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
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

/// The service made by [`HttpMetricsLayer`].
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::{Layer, ServiceExt};
/// # let t = redline::Telemetry::builder().build().unwrap();
/// let pong = tower::service_fn(|_req: http::Request<axum::body::Body>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("pong")))
/// });
/// let svc: redline::http::HttpMetricsService<_> = t.http_layer().layer(pong);
/// let response = svc.oneshot(http::Request::new(axum::body::Body::empty())).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert!(t.render_metrics().contains(r#"http_route="unmatched""#));
/// # });
/// ```
#[derive(Clone)]
pub struct HttpMetricsService<S, E = AxumMatchedPath> {
    inner: S,
    metrics: &'static HttpMetricsInner,
    trace: Option<&'static TraceHot>,
    access: Option<&'static AccessLog>,
    errors: Option<&'static ErrorTracker>,
    extractor: E,
    catch_panics: bool,
}

/// The response body is always an [`axum::body::Body`] (a type-erased
/// `Bytes` body that hyper, axum and tonic all serve): it lets the layer pass
/// complete bodies through untouched, so axum does not box them again.
impl<S, E, ReqBody, ResBody> Service<Request<ReqBody>> for HttpMetricsService<S, E>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    E: RouteExtractor,
    ReqBody: Body,
    ResBody: Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Response = Response<axum::body::Body>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        let metrics = self.metrics;
        let method = method_id(req.method());
        let scheme = scheme_id(req.uri(), metrics.default_scheme);
        let route = if self.extractor.uses_matched_path() {
            // One extension lookup; no `MatchedPath` means the fallback.
            match req.extensions().get::<axum::extract::MatchedPath>() {
                Some(path) => metrics.matched_path_id(path),
                None => metrics.route_id(None),
            }
        } else {
            metrics.route_id(self.extractor.route(req.uri(), req.extensions()))
        };
        let request_size = req.body().size_hint().exact();
        let mut state = RequestState::start(metrics, method, scheme, route, request_size, start);
        state.errors = self.errors;
        if let Some(access) = self.access
            && access.wanted()
        {
            state.access = Some(access);
        }
        // One lookup of the request id serves the access line, the error
        // tracker (5xx and panics are captured with it) and the span.
        // An id that holds data (a card number, an SSN...) is not kept: a
        // client must not get its own data written as an id.
        let request_id = req.headers().get(&REQUEST_ID).filter(|v| {
            v.len() <= MAX_REQUEST_ID
                && v.to_str()
                    .is_ok_and(|id| !crate::redact::looks_like_data(id))
        });
        if state.access.is_some() || state.errors.is_some() {
            state.request_id = request_id.map(|v| Box::new(v.clone()));
        }
        if let Some(hot) = self.trace {
            state.span = Some(Box::new(ServerSpan::start(
                hot, metrics, &req, request_id, method, scheme, route,
            )));
        }
        ResponseFuture {
            inner: self.inner.call(req),
            state: Some(state),
            catch_panics: self.catch_panics,
        }
    }
}

/// What the layer knows about one request until its response is sent.
///
/// Created when the request arrives (incrementing the active gauge) and
/// finished exactly once: when the body ends, or on drop (client gone).
pub(crate) struct RequestState {
    metrics: &'static HttpMetricsInner,
    start: Instant,
    request_size: Option<u64>,
    route: u32,
    status: u16,
    method: u8,
    scheme: u8,
    error: ErrorType,
    finished: bool,
    /// Boxed: a request's state is moved with its future, and the span
    /// inline made metrics-only requests pay for copying it (~300
    /// instructions of `memcpy`, callgrind).
    pub(crate) span: Option<Box<ServerSpan>>,
    access: Option<&'static AccessLog>,
    errors: Option<&'static ErrorTracker>,
    /// `x-request-id`, for the access log and the error tracker (boxed: rarely present, and the
    /// state is moved with the future).
    request_id: Option<Box<http::HeaderValue>>,
}

impl RequestState {
    fn start(
        metrics: &'static HttpMetricsInner,
        method: u8,
        scheme: u8,
        route: u32,
        request_size: Option<u64>,
        start: Instant,
    ) -> Self {
        metrics.active(method, scheme, 1);
        Self {
            metrics,
            start,
            request_size,
            route,
            status: 0,
            method,
            scheme,
            error: ErrorType::None,
            finished: false,
            span: None,
            access: None,
            errors: None,
            request_id: None,
        }
    }

    /// Records the request. `error` overrides the outcome known so far only
    /// when nothing failed before (a 5xx stays a 5xx even if the client then
    /// leaves).
    pub(crate) fn finish(mut self, response_size: u64, error: Option<ErrorType>) {
        self.record(response_size, error);
    }

    fn record(&mut self, response_size: u64, error: Option<ErrorType>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(e) = error
            && self.error == ErrorType::None
        {
            self.error = e;
        }
        let elapsed = self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        let key = HttpKey {
            method: self.method,
            route: self.route,
            status: self.status,
            scheme: self.scheme,
            error: self.error as u8,
        };
        let span = self.span.take();
        let exemplar = span.as_ref().and_then(|s| s.exemplar_ids());
        // Also brings the active-requests gauge back down.
        self.metrics
            .record(&key, elapsed, self.request_size, response_size, exemplar);
        if let Some(errors) = self.errors
            && matches!(
                self.error,
                ErrorType::ServerStatus | ErrorType::HandlerError
            )
        {
            let ids = span.as_ref().and_then(|s| s.ids());
            self.capture(errors, ids.as_ref(), None);
        }
        if let Some(access) = self.access {
            access.record(
                self.metrics,
                &Finished {
                    method: self.method,
                    route: self.route,
                    status: self.status,
                    error: self.error,
                    nanos: elapsed,
                    response_size,
                    request_id: self.request_id.as_deref().and_then(|v| v.to_str().ok()),
                    span: span.as_deref(),
                },
            );
        }
        if let Some(span) = span {
            span.end(self.status, self.error);
        }
    }
}

impl RequestState {
    /// Hands a failed request to the error tracker, with its route, request
    /// id and trace id (a panic also with its message).
    #[cold]
    fn capture(&self, errors: &ErrorTracker, ids: Option<&[u8; 55]>, panic: Option<&str>) {
        use crate::errors::{ErrorCategory, ErrorContext};
        let method = super::labels::METHOD_NAMES[self.method as usize];
        let route = self
            .metrics
            .span_name(self.method, method, self.route)
            .map(|(_, r)| r.into_owned())
            .unwrap_or_else(|| super::UNMATCHED_ROUTE.to_owned());
        let (category, kind, message) = match (panic, self.error) {
            (Some(payload), _) => (
                ErrorCategory::Panic,
                "panic".to_owned(),
                format!("handler panicked: {payload}"),
            ),
            (None, ErrorType::HandlerError) => (
                ErrorCategory::Handler,
                "handler_error".to_owned(),
                format!("{method} {route}: the service returned an error"),
            ),
            _ => (
                ErrorCategory::Http5xx,
                format!("http_{}", self.status),
                format!("{method} {route} answered {}", self.status),
            ),
        };
        let mut context = ErrorContext::new(category).route(route);
        if let Some(id) = self.request_id.as_deref().and_then(|v| v.to_str().ok()) {
            context = context.request_id(id);
        }
        if let Some(tp) = ids
            && let Ok(trace) = std::str::from_utf8(&tp[3..35])
        {
            context = context.trace_id(trace);
        }
        errors.capture_message(&kind, &message, context);
    }
}

impl Drop for RequestState {
    fn drop(&mut self) {
        // Reached only when nobody called `finish`: the future or the body
        // was dropped before the response was complete, or a panic is
        // unwinding through it (with `catch_panics(false)`).
        let error = if std::thread::panicking() {
            ErrorType::Panic
        } else {
            ErrorType::ClientDisconnected
        };
        self.record(0, Some(error));
    }
}

pin_project! {
    /// Response future of [`HttpMetricsService`].
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower::{Layer, Service, ServiceExt};
    /// # let t = redline::Telemetry::builder().build().unwrap();
    /// let pong = tower::service_fn(|_req: http::Request<axum::body::Body>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("pong")))
    /// });
    /// let mut svc = t.http_layer().layer(pong);
    /// let request = http::Request::new(axum::body::Body::empty());
    /// let future: redline::http::ResponseFuture<_> = svc.ready().await.unwrap().call(request);
    /// assert_eq!(future.await.unwrap().status(), 200);
    /// # });
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<RequestState>,
        catch_panics: bool,
    }
}

impl<F, ResBody, Err> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, Err>>,
    ResBody: Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<axum::BoxError>,
{
    type Output = Result<Response<axum::body::Body>, Err>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The request's trace context is current while the handler runs, so
        // its spans (and `tracing` spans) become children of the server span.
        let _attached = this
            .state
            .as_ref()
            .and_then(|s| s.span.as_ref())
            .map(|span| span.cx.clone().attach());
        let polled = if *this.catch_panics {
            let inner = this.inner;
            match std::panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
                Ok(polled) => polled,
                Err(panic) => {
                    let Some(mut state) = this.state.take() else {
                        panic!("ResponseFuture polled after completion");
                    };
                    state.status = 500;
                    state.error = ErrorType::Panic;
                    if let Some(errors) = state.errors {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(no message)".to_owned());
                        let ids = state.span.as_ref().and_then(|s| s.ids());
                        state.capture(errors, ids.as_ref(), Some(&message));
                    }
                    let traceparent = state.span.as_ref().and_then(|s| s.traceparent());
                    state.finish(PANIC_BODY.len() as u64, None);
                    let mut response = Response::new(axum::body::Body::from(PANIC_BODY));
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    if let Some(value) = traceparent {
                        response.headers_mut().insert(TRACEPARENT, value);
                    }
                    response.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    return Poll::Ready(Ok(response));
                }
            }
        } else {
            this.inner.poll(cx)
        };
        let result = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let Some(mut state) = this.state.take() else {
            panic!("ResponseFuture polled after completion");
        };
        Poll::Ready(match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                state.status = status;
                if status >= 500 {
                    state.error = ErrorType::ServerStatus;
                }
                if let Some(value) = state.span.as_ref().and_then(|s| s.traceparent()) {
                    response.headers_mut().insert(TRACEPARENT, value);
                }
                Ok(response.map(|body| into_response_body(body, state)))
            }
            Err(err) => {
                state.error = ErrorType::HandlerError;
                state.finish(0, None);
                Err(err)
            }
        })
    }
}
