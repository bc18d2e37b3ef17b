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

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanKind, TraceContextExt, TraceFlags};

use super::labels::{ErrorType, METHOD_NAMES, METHOD_OTHER, SCHEME_NAMES};
use super::metrics::HttpMetricsInner;
use crate::headers::{BAGGAGE, TRACEPARENT};
use crate::traces::held::TentativeTrace;
use crate::traces::propagation::{baggage_attributes, extract_context, traceparent_bytes};
use crate::traces::record::{Attributes, SpanRecord};
use crate::traces::sampling::{Head, Tail};
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
    /// The span being recorded (sampled or tentative, and exporting):
    /// redline records the server span itself, not through the SDK (see
    /// `crate::traces::record`).
    recorded: Option<Recorded>,
    response_header: ResponseTraceparent,
}

/// A recorded server span: what it will be written from, and whether it
/// is kept.
struct Recorded {
    rec: SpanRecord,
    inputs: Inputs,
    keep: Keep,
    /// What a tentative span is kept for.
    tail: Option<Tail>,
    /// Its trace id is marked tentative (see `traces::held::Marks`), until
    /// it ends.
    marked: bool,
}

/// Whether a recorded span is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Yes, for this `sampling.reason`.
    Yes(&'static str),
    /// Decided when the response starts (or the request ends).
    Undecided,
    No,
}

/// What the span's attributes are written from, when it ends and only if
/// it is kept: the request's own values (the URI and headers are shared
/// buffers: cloning them copies no text), nothing encoded or masked before
/// the span is known to be exported.
struct Inputs {
    name: Cow<'static, str>,
    route: Option<Cow<'static, str>>,
    method: u8,
    method_original: Option<http::Method>,
    scheme: u8,
    version: http::Version,
    uri: http::Uri,
    peer: Option<SocketAddr>,
    user_agent: Option<http::HeaderValue>,
    request_id: Option<http::HeaderValue>,
    baggage: Vec<opentelemetry::KeyValue>,
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
        let seen = Propagation::of(headers);
        let mut parent = if seen.traceparent || seen.baggage {
            extract_context(headers)
        } else {
            Context::new()
        };
        // The request id travels in the context too, so every log line
        // written while the request is served carries it (an allocation
        // only when the header is there).
        let request_id_text = request_id.and_then(|v| v.to_str().ok());
        if let Some(id) = request_id_text.filter(|id| !id.is_empty()) {
            parent = parent.with_value(RequestId(std::sync::Arc::from(id)));
        }
        let parent_sc = parent.span().span_context().clone();
        let trace_id = if parent_sc.is_valid() {
            parent_sc.trace_id()
        } else {
            sampling::new_trace_id()
        };
        let head = hot.decider.head(&parent_sc, trace_id);
        let queue = match hot.queue {
            Some(queue) if head != Head::Drop => queue,
            _ => {
                // Not recorded: ids and context only (see `traces::sampling`).
                return Self {
                    cx: sampling::unsampled_context(parent, &parent_sc, trace_id),
                    recorded: None,
                    response_header: hot.response_traceparent,
                };
            }
        };
        let method_name: &'static str = if method == METHOD_OTHER {
            "HTTP"
        } else {
            METHOD_NAMES[method as usize]
        };
        let (name, route) = match metrics.span_name(method, method_name, route) {
            Some((name, route)) => (name, Some(route)),
            None => (Cow::Borrowed(method_name), None),
        };
        let inputs = Inputs {
            name,
            route,
            method,
            method_original: (method == METHOD_OTHER).then(|| req.method().clone()),
            scheme,
            version: req.version(),
            uri: req.uri().clone(),
            peer: req
                .extensions()
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            user_agent: seen.user_agent.cloned(),
            request_id: request_id.filter(|_| request_id_text.is_some()).cloned(),
            baggage: if seen.baggage {
                baggage_attributes(&parent, MAX_BAGGAGE_ATTRIBUTES)
            } else {
                Vec::new()
            },
        };
        let rec = SpanRecord::start(queue, &parent_sc);
        // Sampled in this process, also when tentative: its children are
        // recorded (and held, see `traces::held`) until the decision.
        let sc = SpanContext::new(
            trace_id,
            sampling::new_span_id(),
            TraceFlags::SAMPLED,
            false,
            parent_sc.trace_state().clone(),
        );
        let tentative = head == Head::Tentative;
        let marked = tentative && rec.mark_tentative(&sc);
        let mut cx = parent.with_remote_span_context(sc);
        let keep = if tentative {
            if !marked {
                cx = cx.with_value(TentativeTrace);
            }
            Keep::Undecided
        } else {
            Keep::Yes(head.reason())
        };
        Self {
            cx,
            recorded: Some(Recorded {
                rec,
                inputs,
                keep,
                tail: hot.decider.tail,
                marked,
            }),
            response_header: hot.response_traceparent,
        }
    }

    /// Decides a tentative span when its response starts: kept if it failed
    /// or was slow. The `traceparent` of the response then says what
    /// happens to it. No effect on a span already decided.
    #[inline]
    pub(crate) fn decide(&mut self, error: ErrorType, elapsed_nanos: u64) {
        let Some(r) = self.recorded.as_mut() else {
            return;
        };
        if r.keep != Keep::Undecided {
            return;
        }
        let Some(tail) = r.tail else {
            r.keep = Keep::No;
            return;
        };
        r.keep = if tail.keep_errors && error.is_server_failure() {
            Keep::Yes("error")
        } else if elapsed_nanos >= tail.slow_nanos {
            Keep::Yes("slow")
        } else {
            Keep::No
        };
    }

    /// Whether the span is still to be decided (the layer then reads the
    /// clock for [`ServerSpan::decide`]).
    #[inline]
    pub(crate) fn undecided(&self) -> bool {
        self.recorded
            .as_ref()
            .is_some_and(|r| r.keep == Keep::Undecided)
    }

    /// Whether the span is exported (decided and kept).
    #[inline]
    fn kept(&self) -> bool {
        self.recorded
            .as_ref()
            .is_some_and(|r| matches!(r.keep, Keep::Yes(_)))
    }

    /// The `traceparent` to put on the response, as configured. Its sampled
    /// flag says whether the span is exported: a tentative span left out
    /// answers `00`.
    #[inline]
    pub(crate) fn traceparent(&self) -> Option<http::HeaderValue> {
        let span = self.cx.span();
        let sc = span.span_context();
        let sampled = sc.is_sampled() && (self.recorded.is_none() || self.kept());
        let wanted = match self.response_header {
            ResponseTraceparent::Sampled => sampled,
            ResponseTraceparent::Always => true,
            ResponseTraceparent::Never => false,
        };
        if !wanted || !sc.is_valid() {
            return None;
        }
        let mut bytes = traceparent_bytes(sc);
        if !sampled {
            // The flags, `-00` at the end.
            bytes[53] = b'0';
            bytes[54] = b'0';
        }
        http::HeaderValue::from_bytes(&bytes).ok()
    }

    /// The span's ids formatted as a `traceparent` (for the access log).
    #[inline]
    pub(crate) fn ids(&self) -> Option<[u8; 55]> {
        let span = self.cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| traceparent_bytes(sc))
    }

    /// Trace and span id of an exported span, for exemplars (which must
    /// point at traces that exist).
    #[inline]
    pub(crate) fn exemplar_ids(&self) -> Option<(u128, u64)> {
        if !self.kept() {
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

    /// Ends the span with the request's outcome, `elapsed_nanos` after it
    /// started: written and queued if kept, with the children held for it.
    #[inline]
    pub(crate) fn end(mut self, status: u16, error: ErrorType, elapsed_nanos: u64) {
        self.decide(error, elapsed_nanos);
        let Some(Recorded {
            rec,
            inputs,
            keep,
            marked,
            ..
        }) = self.recorded.take()
        else {
            return;
        };
        let span = self.cx.span();
        let sc = span.span_context();
        if marked {
            rec.unmark_tentative(sc);
        }
        let held = rec.release_held(sc);
        let Keep::Yes(reason) = keep else {
            return;
        };
        rec.push_held(held);
        // Server spans: 5xx and failures are errors, 4xx are not (the
        // client's mistake), nor a client that left.
        rec.finish(
            sc,
            &inputs.name,
            SpanKind::Server,
            elapsed_nanos,
            if error.is_server_failure() { 2 } else { 0 },
            |attrs| {
                inputs.write(attrs);
                attrs.encoded(FixedAttributes::get().reason(reason));
                if status != 0 {
                    attrs.int("http.response.status_code", status as i64);
                }
                if let Some(e) = error.label(status) {
                    attrs.safe("error.type", e);
                }
            },
        );
    }
}

/// The headers the span reads, found in one pass over the request's
/// headers: cheaper than a lookup for each (each hashes the name, about 130
/// instructions; a pass compares a few names, callgrind), also for the
/// usual dozen headers; hyper bounds their number.
#[derive(Default)]
struct Propagation<'h> {
    traceparent: bool,
    baggage: bool,
    /// The first `user-agent`.
    user_agent: Option<&'h http::HeaderValue>,
}

impl<'h> Propagation<'h> {
    #[inline]
    fn of(headers: &'h http::HeaderMap) -> Self {
        let mut seen = Self::default();
        for (name, value) in headers {
            if name == TRACEPARENT {
                seen.traceparent = true;
            } else if name == BAGGAGE {
                seen.baggage = true;
            } else if name == http::header::USER_AGENT && seen.user_agent.is_none() {
                seen.user_agent = Some(value);
            }
        }
        seen
    }
}

impl Drop for ServerSpan {
    /// A span dropped without [`ServerSpan::end`] (a panic on the way)
    /// leaves no mark behind.
    fn drop(&mut self) {
        if let Some(r) = self.recorded.as_ref().filter(|r| r.marked) {
            r.rec.unmark_tentative(self.cx.span().span_context());
        }
    }
}

impl Inputs {
    /// The HTTP server span's attributes (semantic conventions), masked
    /// where they come from the client.
    fn write(&self, rec: &mut Attributes<'_>) {
        let fixed = FixedAttributes::get();
        rec.encoded(&fixed.method[self.method as usize]);
        if let Some(m) = &self.method_original {
            rec.masked("http.request.method_original", truncate(m.as_str(), 64));
        }
        if let Some(route) = &self.route {
            rec.safe("http.route", route);
        }
        rec.masked("url.path", truncate(self.uri.path(), 1024));
        rec.encoded(&fixed.scheme[self.scheme as usize]);
        rec.encoded(&fixed.version[version_index(self.version)]);
        if let Some(peer) = self.peer {
            let mut ip = IpText::default();
            rec.safe("client.address", ip.format(peer.ip()));
            rec.int("client.port", peer.port() as i64);
        }
        if let Some(ua) = self.user_agent.as_ref().and_then(|v| v.to_str().ok()) {
            rec.masked("user_agent.original", truncate(ua, 512));
        }
        if let Some(id) = self.request_id.as_ref().and_then(|v| v.to_str().ok()) {
            rec.masked("http.request.header.x-request-id", id);
        }
        for kv in &self.baggage {
            if let opentelemetry::Value::String(v) = &kv.value {
                rec.masked(kv.key.as_str(), v.as_str());
            }
        }
    }
}

/// An IP address as text, on the stack.
struct IpText {
    buf: [u8; 48],
    len: usize,
}

impl Default for IpText {
    fn default() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl IpText {
    fn format(&mut self, ip: std::net::IpAddr) -> &str {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut self.buf[..]);
        // 48 bytes hold any IPv6 text form (at most 45).
        let _ = write!(cursor, "{ip}");
        self.len = cursor.position() as usize;
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// `network.protocol.version` values, by [`version_index`].
const VERSIONS: [&str; 6] = ["0.9", "1.0", "1.1", "2", "3", "unknown"];

fn version_index(v: http::Version) -> usize {
    match v {
        http::Version::HTTP_09 => 0,
        http::Version::HTTP_10 => 1,
        http::Version::HTTP_11 => 2,
        http::Version::HTTP_2 => 3,
        http::Version::HTTP_3 => 4,
        _ => 5,
    }
}

/// `sampling.reason` values.
const REASONS: [&str; 4] = ["parent", "ratio", "error", "slow"];

/// The attributes whose key and value come from small fixed sets, encoded
/// once: each is then one copy into the span instead of a field-by-field
/// write (~100 instructions saved per attribute, callgrind).
struct FixedAttributes {
    method: Vec<Vec<u8>>,
    scheme: Vec<Vec<u8>>,
    version: Vec<Vec<u8>>,
    reason: Vec<Vec<u8>>,
}

impl FixedAttributes {
    fn get() -> &'static Self {
        static FIXED: std::sync::OnceLock<FixedAttributes> = std::sync::OnceLock::new();
        FIXED.get_or_init(|| {
            let all = |key: &str, values: &[&str]| -> Vec<Vec<u8>> {
                values
                    .iter()
                    .map(|v| SpanRecord::encode_safe(key, v))
                    .collect()
            };
            Self {
                method: all("http.request.method", &METHOD_NAMES),
                scheme: all("url.scheme", &SCHEME_NAMES),
                version: all("network.protocol.version", &VERSIONS),
                reason: all("sampling.reason", &REASONS),
            }
        })
    }

    fn reason(&self, reason: &str) -> &[u8] {
        let i = REASONS.iter().position(|r| *r == reason).unwrap_or(1);
        &self.reason[i]
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
