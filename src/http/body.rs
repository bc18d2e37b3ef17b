//! The response body wrapper: counts bytes sent and finishes the request's
//! measurement when the body ends, errors, or is dropped unfinished.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::labels::ErrorType;
use super::request::{FailedResponse, RequestState};

/// Body of the 500 the layer answers when a handler panics. Deliberately
/// generic: no panic message or backtrace reaches the client.
pub(crate) const PANIC_BODY: &[u8] =
    br#"{"error":"internal_error","message":"internal server error"}"#;

/// Complete bodies up to this size are recorded when the response head is
/// ready instead of being wrapped (see [`into_response_body`]).
pub(crate) const COMPLETE_BODY_LIMIT: u64 = 64 * 1024;

/// Turns the inner response body into the layer's response body, finishing
/// the request's measurement at the right moment.
///
/// A body whose exact size is known and at most [`COMPLETE_BODY_LIMIT`]
/// (`String`, `Json`, `Bytes`… responses) is recorded now and passed on
/// untouched. Why: wrapping it would make axum box the response body once
/// more per request (~80 ns in `benches/layer.rs`, `axum/wrap_only`), and for
/// such a body "head ready" and "body sent" are the same moment as far as a
/// server can tell: hyper writes the head and the whole body in one `writev`
/// into the socket buffer. Streaming and larger bodies are wrapped, and
/// recorded when their last frame is handed over, fails, or is dropped.
pub(crate) fn into_response_body<B>(body: B, mut state: RequestState) -> axum::body::Body
where
    B: Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // A 5xx body is the cause the error tracker keeps.
    if let Some(failed) = state.failed.as_deref_mut()
        && failed.wants_body()
    {
        return axum::body::Body::new(ResponseBody::new(peek(body, failed), state));
    }
    match body.size_hint().exact() {
        Some(size) if size <= COMPLETE_BODY_LIMIT => {
            state.finish(size, None);
            axum::body::Body::new(body)
        }
        _ => axum::body::Body::new(ResponseBody::new(body, state)),
    }
}

/// Reads the first frame of a 5xx body now, if it is ready (a `String` or
/// `Json` body always is), and keeps its start as the failure's cause:
/// production mode replaces such a body without reading it, so it would
/// never be seen otherwise. A body that is not ready is kept as it streams.
fn peek<B>(body: B, failed: &mut FailedResponse) -> Peeked<B>
where
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<axum::BoxError>,
{
    let mut rest = Box::pin(body);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let first = match rest.as_mut().poll_frame(&mut cx) {
        Poll::Ready(Some(frame)) => {
            if let Ok(frame) = &frame
                && let Some(data) = frame.data_ref()
            {
                failed.keep(data);
            }
            failed.peeked = true;
            Some(frame.map_err(Into::into))
        }
        Poll::Ready(None) => {
            failed.peeked = true;
            None
        }
        Poll::Pending => None,
    };
    Peeked { first, rest }
}

/// A body whose first frame was read ahead by [`peek`] (its error boxed
/// at once, as axum's body would).
struct Peeked<B> {
    first: Option<Result<Frame<bytes::Bytes>, axum::BoxError>>,
    rest: Pin<Box<B>>,
}

impl<B> Body for Peeked<B>
where
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<axum::BoxError>,
{
    type Data = bytes::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match this.first.take() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => this
                .rest
                .as_mut()
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let first = match &self.first {
            Some(Ok(frame)) => frame
                .data_ref()
                .map_or(0, |d| bytes::Buf::remaining(d) as u64),
            _ => 0,
        };
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + first);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + first);
        }
        hint
    }
}

pin_project! {
    /// A streaming response body under measurement.
    ///
    /// It behaves exactly like the inner body `B`; when the last frame has
    /// been handed to the server (or the body is dropped early, which means
    /// the client went away) the request's duration, response size and
    /// outcome are recorded and the active-requests gauge comes back down.
    pub(crate) struct ResponseBody<B> {
        #[pin]
        inner: B,
        state: Option<RequestState>,
        sent: u64,
        // Whether the inner body reported its end (checked at creation and
        // after each frame), so drop can tell a finished body from an
        // abandoned one without needing the `Body` bound.
        ended: bool,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(state) = this.state.take() {
                let error = if *this.ended { None } else { Some(ErrorType::ClientDisconnected) };
                state.finish(*this.sent, error);
            }
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("sent", &self.sent)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, state: RequestState) -> Self
    where
        B: Body,
    {
        Self {
            ended: inner.is_end_stream(),
            inner,
            state: Some(state),
            sent: 0,
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.sent += bytes::Buf::remaining(data) as u64;
                    if let Some(failed) = this.state.as_mut().and_then(|s| s.failed.as_deref_mut())
                        && failed.wants_body()
                    {
                        failed.keep(bytes::Buf::chunk(data));
                    }
                }
                if inner.is_end_stream() {
                    *this.ended = true;
                    if let Some(state) = this.state.take() {
                        state.finish(*this.sent, None);
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(state) = this.state.take() {
                    state.finish(*this.sent, Some(ErrorType::BodyError));
                }
            }
            Poll::Ready(None) => {
                *this.ended = true;
                if let Some(state) = this.state.take() {
                    state.finish(*this.sent, None);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
