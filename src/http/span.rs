//! The server span of one request: started by the layer with the caller's
//! W3C context as parent, current while the handler runs, ended with the
//! measurement (same moment, same outcome).
//!
//! Attributes follow the OpenTelemetry HTTP server span conventions
//! (<https://opentelemetry.io/docs/specs/semconv/http/http-spans/>). They are
//! only built for sampled (recording) spans: an unsampled request pays for
//! ids and context, not for strings.

use std::borrow::Cow;
use std::net::SocketAddr;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use super::labels::{ErrorType, METHOD_NAMES, METHOD_OTHER, SCHEME_NAMES};
use super::metrics::HttpMetricsInner;
use crate::headers::{BAGGAGE, TRACEPARENT};
use crate::traces::propagation::{baggage_attributes, extract_context, traceparent_bytes};
use crate::traces::{ResponseTraceparent, TraceHot, sampling};

/// Baggage entries copied onto a span, at most (baggage is caller input).
const MAX_BAGGAGE_ATTRIBUTES: usize = 8;
/// Longest `x-request-id` the layer keeps (the hardening layer validates
/// ids fully; this bounds what a bare layer stores).
pub(crate) const MAX_REQUEST_ID: usize = 128;

use crate::headers::RequestId;

/// A request's trace context: the server span inside it.
pub(crate) struct ServerSpan {
    pub(crate) cx: Context,
    recording: bool,
    response_header: ResponseTraceparent,
}

impl ServerSpan {
    /// Starts the span for `req`; `request_id` is its `x-request-id`, already
    /// looked up (UTF-8, at most [`MAX_REQUEST_ID`] bytes).
    #[inline]
    pub(crate) fn start<B>(
        hot: &'static TraceHot,
        metrics: &'static HttpMetricsInner,
        req: &http::Request<B>,
        request_id: Option<&http::HeaderValue>,
        method: u8,
        scheme: u8,
        route: u32,
    ) -> Self {
        let headers = req.headers();
        let mut parent = if !headers.is_empty()
            && (headers.contains_key(&TRACEPARENT) || headers.contains_key(&BAGGAGE))
        {
            extract_context(headers)
        } else {
            Context::new()
        };
        // The request id travels in the context too, so every log line
        // written while the request is served carries it (an allocation
        // only when the header is there).
        let request_id = request_id.and_then(|v| v.to_str().ok());
        if let Some(id) = request_id.filter(|id| !id.is_empty()) {
            parent = parent.with_value(RequestId(std::sync::Arc::from(id)));
        }
        let parent_sc = parent.span().span_context().clone();
        let trace_id = if parent_sc.is_valid() {
            parent_sc.trace_id()
        } else {
            sampling::new_trace_id()
        };
        if !hot.decider.sampled(&parent_sc, trace_id) {
            // No SDK span: ids and context only (see `traces::sampling`).
            return Self {
                cx: sampling::unsampled_context(parent, &parent_sc, trace_id),
                recording: false,
                response_header: hot.response_traceparent,
            };
        }
        // Sampled: the name (cached per route) and the attributes go into
        // the builder, so the SDK takes them as they are.
        let method_name: &'static str = if method == METHOD_OTHER {
            "HTTP"
        } else {
            METHOD_NAMES[method as usize]
        };
        let (name, route) = match metrics.span_name(method, method_name, route) {
            Some((name, route)) => (name, Some(route)),
            None => (Cow::Borrowed(method_name), None),
        };
        let mut attrs = Vec::with_capacity(16);
        attrs.push(KeyValue::new(
            "http.request.method",
            if method == METHOD_OTHER {
                "_OTHER"
            } else {
                METHOD_NAMES[method as usize]
            },
        ));
        if method == METHOD_OTHER {
            attrs.push(KeyValue::new(
                "http.request.method_original",
                truncate(req.method().as_str(), 64),
            ));
        }
        if let Some(route) = route {
            attrs.push(KeyValue::new("http.route", route));
        }
        attrs.push(KeyValue::new("url.path", truncate(req.uri().path(), 1024)));
        attrs.push(KeyValue::new("url.scheme", SCHEME_NAMES[scheme as usize]));
        attrs.push(KeyValue::new(
            "network.protocol.version",
            protocol_version(req.version()),
        ));
        if let Some(peer) = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
        {
            attrs.push(KeyValue::new("client.address", peer.0.ip().to_string()));
            attrs.push(KeyValue::new("client.port", peer.0.port() as i64));
        }
        if let Some(ua) = headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
        {
            attrs.push(KeyValue::new("user_agent.original", truncate(ua, 512)));
        }
        if let Some(id) = request_id {
            attrs.push(KeyValue::new(
                "http.request.header.x-request-id",
                id.to_owned(),
            ));
        }
        attrs.extend(baggage_attributes(&parent, MAX_BAGGAGE_ATTRIBUTES));
        let builder = hot
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attrs);
        let span = sampling::build_sampled(trace_id, || {
            builder.start_with_context(&hot.tracer, &parent)
        });
        // False only if the provider was shut down meanwhile.
        let recording = opentelemetry::trace::Span::is_recording(&span);
        Self {
            cx: parent.with_span(span),
            recording,
            response_header: hot.response_traceparent,
        }
    }

    /// The `traceparent` to put on the response, as configured.
    #[inline]
    pub(crate) fn traceparent(&self) -> Option<http::HeaderValue> {
        let span = self.cx.span();
        let sc = span.span_context();
        let wanted = match self.response_header {
            ResponseTraceparent::Sampled => sc.is_sampled(),
            ResponseTraceparent::Always => true,
            ResponseTraceparent::Never => false,
        };
        if !wanted || !sc.is_valid() {
            return None;
        }
        http::HeaderValue::from_bytes(&traceparent_bytes(sc)).ok()
    }

    /// The span's ids formatted as a `traceparent` (for the access log).
    #[inline]
    pub(crate) fn ids(&self) -> Option<[u8; 55]> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| traceparent_bytes(sc))
    }

    /// Trace and span id of a sampled span, for exemplars.
    #[inline]
    pub(crate) fn exemplar_ids(&self) -> Option<(u128, u64)> {
        if !self.recording {
            return None;
        }
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_sampled().then(|| {
            (
                u128::from_be_bytes(sc.trace_id().to_bytes()),
                u64::from_be_bytes(sc.span_id().to_bytes()),
            )
        })
    }

    /// Ends the span with the request's outcome.
    #[inline]
    pub(crate) fn end(self, status: u16, error: ErrorType) {
        let span = self.cx.span();
        if self.recording {
            if status != 0 {
                span.set_attribute(KeyValue::new("http.response.status_code", status as i64));
            }
            if let Some(e) = error.label(status) {
                span.set_attribute(KeyValue::new("error.type", e));
            }
            // Server spans: 5xx and failures are errors, 4xx are not (the
            // client's mistake), nor a client that left.
            let failed = matches!(
                error,
                ErrorType::ServerStatus
                    | ErrorType::HandlerError
                    | ErrorType::Panic
                    | ErrorType::BodyError
            );
            if failed {
                span.set_status(Status::Error {
                    description: Cow::Borrowed(""),
                });
            }
        }
        span.end();
    }
}

fn protocol_version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_11 => "1.1",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "unknown",
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
