//! The tower [`Service`] made by [`HttpLayer`](super::HttpLayer): starts a
//! request's [`RequestState`] (route, method, request id, server span) and
//! hands the response future the rest.

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
// A TSC clock where the CPU has a reliable one (two reads per request;
// `clock_gettime` was ~0.7% of server CPU under wrk load here).
use quanta::Instant;
use tower::Service;

use super::access::AccessLog;
use super::future::ResponseFuture;
use super::labels::{method_id, scheme_id};
use super::metrics::HttpMetricsInner;
use super::request::RequestState;
use super::route::{AxumMatchedPath, RouteExtractor};
use super::span::{MAX_REQUEST_ID, ServerSpan};
use crate::errors::ErrorTracker;
use crate::headers::X_REQUEST_ID;
use crate::traces::TraceHot;

/// The service made by [`HttpLayer`](super::HttpLayer).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::{Layer, ServiceExt};
/// # let t = redline::Telemetry::builder().build().unwrap();
/// let pong = tower::service_fn(|_req: http::Request<axum::body::Body>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("pong")))
/// });
/// let svc: redline::http::HttpService<_> = t.http_layer().layer(pong);
/// let response = svc.oneshot(http::Request::new(axum::body::Body::empty())).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert!(t.render_metrics().contains(r#"http_route="unmatched""#));
/// # });
/// ```
#[derive(Clone)]
pub struct HttpService<S, E = AxumMatchedPath> {
    pub(super) inner: S,
    pub(super) metrics: &'static HttpMetricsInner,
    pub(super) trace: Option<&'static TraceHot>,
    pub(super) access: Option<&'static AccessLog>,
    pub(super) errors: Option<&'static ErrorTracker>,
    pub(super) extractor: E,
    pub(super) catch_panics: bool,
}

/// The response body is always an [`axum::body::Body`] (a type-erased
/// `Bytes` body that hyper, axum and tonic all serve): it lets the layer pass
/// complete bodies through untouched, so axum does not box them again.
impl<S, E, ReqBody, ResBody> Service<Request<ReqBody>> for HttpService<S, E>
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
        let scheme = scheme_id(&req, metrics.default_scheme);
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
        let request_id = req.headers().get(&X_REQUEST_ID).filter(|v| {
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

impl<S, E> std::fmt::Debug for HttpService<S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpService").finish_non_exhaustive()
    }
}
