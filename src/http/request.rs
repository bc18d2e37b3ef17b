//! One request under measurement, and the one place where it finishes:
//! [`RequestState::finish`] (or its `Drop`, when the response never
//! completes) records it once, calling each recorder in turn: the metrics,
//! the error tracker, the access log, the server span.

// The TSC clock of the service (see `service.rs`).
use quanta::Instant;

use super::access::{AccessLog, Finished};
use super::labels::ErrorType;
use super::metrics::{HttpKey, HttpMetricsInner};
use super::span::ServerSpan;
use crate::errors::{ErrorCause, ErrorTracker, UserKey};

/// Most bytes of a 5xx body kept as its cause when the response carries no
/// [`ErrorCause`].
pub(crate) const MAX_CAUSE_BODY: usize = 2 * 1024;

/// What a 5xx response said about its failure, before production mode
/// replaced its body: the handler's [`ErrorCause`], or the start of its
/// body, and the user it reached.
#[derive(Default)]
pub(crate) struct FailedResponse {
    pub(crate) error: Option<ErrorCause>,
    /// The first [`MAX_CAUSE_BODY`] bytes of the body (filled while it is
    /// sent, when there is no `error`).
    pub(crate) body: Vec<u8>,
    /// The body was read ahead: its start is kept, the frames that follow
    /// are not wanted.
    pub(crate) peeked: bool,
    pub(crate) user: Option<UserKey>,
}

impl FailedResponse {
    /// Keeps the start of a body frame.
    pub(crate) fn keep(&mut self, data: &[u8]) {
        let room = MAX_CAUSE_BODY.saturating_sub(self.body.len());
        self.body.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// Whether the body is still wanted.
    pub(crate) fn wants_body(&self) -> bool {
        self.error.is_none() && !self.peeked && self.body.len() < MAX_CAUSE_BODY
    }
}

/// What the layer knows about one request until its response is sent.
///
/// Created when the request arrives (incrementing the active gauge) and
/// finished exactly once: when the body ends, or on drop (client gone).
pub(crate) struct RequestState {
    pub(super) metrics: &'static HttpMetricsInner,
    pub(super) start: Instant,
    pub(super) request_size: Option<u64>,
    pub(super) route: u32,
    pub(super) status: u16,
    pub(super) method: u8,
    pub(super) scheme: u8,
    pub(super) error: ErrorType,
    pub(super) finished: bool,
    /// Boxed: a request's state is moved with its future, and the span
    /// inline made metrics-only requests pay for copying it (~300
    /// instructions of `memcpy`, callgrind).
    pub(super) span: Option<Box<ServerSpan>>,
    pub(super) access: Option<&'static AccessLog>,
    pub(super) errors: Option<&'static ErrorTracker>,
    /// `x-request-id`, for the access log and the error tracker (boxed: rarely present, and the
    /// state is moved with the future).
    pub(super) request_id: Option<Box<http::HeaderValue>>,
    /// A 5xx response's cause and user, for the error tracker (boxed:
    /// failures only).
    pub(crate) failed: Option<Box<FailedResponse>>,
}

impl RequestState {
    pub(super) fn start(
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
            failed: None,
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
        let mut span = self.span.take();
        if let Some(s) = span.as_mut() {
            // A tentative span not decided when the response started (the
            // handler failed, or the client left): decided now, before
            // the exemplar, which must point at an exported trace.
            s.decide(self.error, elapsed);
        }
        let exemplar = span.as_ref().and_then(|s| s.exemplar_ids());
        // Also brings the active-requests gauge back down.
        self.metrics
            .record(&key, elapsed, self.request_size, response_size, exemplar);
        // The status page's recent requests: one relaxed load unless kept.
        let failed = self.error.is_server_failure();
        if self.metrics.recent.wants(elapsed, failed) {
            self.offer_recent(elapsed, failed, span.as_deref());
        }
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
            span.end(self.status, self.error, elapsed);
        }
    }
}

impl RequestState {
    /// Decides a tentative server span as its response starts (see
    /// [`ServerSpan::decide`]): one clock read, only for such spans.
    #[inline]
    pub(super) fn decide_span(&mut self) {
        if let Some(span) = self.span.as_mut()
            && span.undecided()
        {
            let elapsed = self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            span.decide(self.error, elapsed);
        }
    }

    /// Builds the status page's entry for this request and offers it.
    #[cold]
    fn offer_recent(&self, nanos: u64, failed: bool, span: Option<&ServerSpan>) {
        let method = super::labels::METHOD_NAMES[self.method as usize];
        let route = self
            .metrics
            .span_name(self.method, method, self.route)
            .map_or_else(|| super::UNMATCHED_ROUTE.into(), |(_, r)| r.into());
        let trace_id = span
            .and_then(ServerSpan::ids)
            .and_then(|tp| std::str::from_utf8(&tp[3..35]).ok().map(Into::into));
        self.metrics.recent.offer(
            crate::status::recent::Recent {
                at_ms: crate::status::history::now_ms(),
                method,
                route,
                status: self.status,
                nanos,
                // Checked by the layer (length, characters, no data).
                request_id: self
                    .request_id
                    .as_deref()
                    .and_then(|v| v.to_str().ok())
                    .map(Into::into),
                trace_id,
                error: self.error.label(self.status),
            },
            failed,
        );
    }

    /// Hands a failed request to the error tracker, with its route, request
    /// id and trace id (a panic also with its message).
    #[cold]
    pub(super) fn capture(
        &self,
        errors: &ErrorTracker,
        ids: Option<&[u8; 55]>,
        panic: Option<&str>,
    ) {
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
        if let Some(failed) = self.failed.as_deref() {
            context.user = failed.user;
            match &failed.error {
                Some(cause) => {
                    context.cause = Some(cause.message().to_owned());
                    context.chain = cause.chain().to_vec();
                }
                None if !failed.body.is_empty() => {
                    context.cause = Some(String::from_utf8_lossy(&failed.body).into_owned());
                }
                None => {}
            }
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
