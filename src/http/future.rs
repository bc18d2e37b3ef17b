//! The response future of [`HttpService`](super::HttpService): makes the
//! request's trace context current while the handler runs, turns a panic
//! into a 500, and hands the response body the request's state.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use super::body::{PANIC_BODY, into_response_body};
use super::labels::ErrorType;
use super::request::{FailedResponse, RequestState};
use crate::errors::{ErrorCause, UserKey};
use crate::headers::TRACEPARENT;

pin_project! {
    /// Response future of [`HttpService`].
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
        pub(super) inner: F,
        pub(super) state: Option<RequestState>,
        pub(super) catch_panics: bool,
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
                    state.decide_span();
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
                    if state.errors.is_some() {
                        // Taken out, so they go no further than the tracker.
                        let extensions = response.extensions_mut();
                        state.failed = Some(Box::new(FailedResponse {
                            error: extensions.remove::<ErrorCause>(),
                            body: Vec::new(),
                            peeked: false,
                            user: extensions.remove::<UserKey>(),
                        }));
                    }
                }
                state.decide_span();
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
