//! The response body wrapper: counts bytes sent and finishes the request's
//! measurement when the body ends, errors, or is dropped unfinished.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::labels::ErrorType;
use super::layer::RequestState;

/// Body of the 500 the layer answers when a handler panics. Deliberately
/// generic: no panic message or backtrace reaches the client.
pub(crate) const PANIC_BODY: &[u8] =
    br#"{"error":"internal_error","message":"internal server error"}"#;

pin_project! {
    /// The body of an instrumented response.
    ///
    /// It behaves exactly like the inner body `B`; when the last frame has
    /// been handed to the server (or the body is dropped early, which means
    /// the client went away) the request's duration, response size and
    /// outcome are recorded and the active-requests gauge comes back down.
    pub struct ResponseBody<B> {
        #[pin]
        inner: Option<B>,
        fixed: Option<&'static [u8]>,
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
            inner: Some(inner),
            fixed: None,
            state: Some(state),
            sent: 0,
        }
    }

    pub(crate) fn fixed(bytes: &'static [u8], state: RequestState) -> Self {
        Self {
            inner: None,
            fixed: Some(bytes),
            state: Some(state),
            sent: 0,
            ended: false,
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body,
    B::Data: From<&'static [u8]>,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(mut inner) = this.inner.as_pin_mut() else {
            *this.ended = true;
            let frame = this.fixed.take().map(|bytes| {
                *this.sent += bytes.len() as u64;
                Ok(Frame::data(B::Data::from(bytes)))
            });
            if let Some(state) = this.state.take() {
                state.finish(*this.sent, None);
            }
            return Poll::Ready(frame);
        };
        let polled = inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.sent += bytes::Buf::remaining(data) as u64;
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
        match &self.inner {
            Some(inner) => inner.is_end_stream(),
            None => self.fixed.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.inner, self.fixed) {
            (Some(inner), _) => inner.size_hint(),
            (None, Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            (None, None) => SizeHint::with_exact(0),
        }
    }
}
