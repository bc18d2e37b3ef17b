//! A span as OTLP's `Span` message body, from the SDK's [`SpanData`] or
//! from the fields the HTTP layer keeps ([`SpanHead`] and attributes it
//! wrote itself), masked as it is written.

use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

use super::proto::{self, Scalar};
use crate::redact::Redactor;

/// `Span` field numbers (`trace/v1/trace.proto`).
pub(crate) mod field {
    pub(crate) const ATTRIBUTES: u32 = 9;
}

/// `SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`, and the bit saying
/// the parent was remote (as `opentelemetry-proto` sets them).
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// What every span starts with.
pub(crate) struct SpanHead<'a> {
    pub(crate) trace_id: [u8; 16],
    pub(crate) span_id: [u8; 8],
    /// Already masked.
    pub(crate) trace_state: &'a str,
    /// All zero for a root span.
    pub(crate) parent_span_id: [u8; 8],
    pub(crate) parent_is_remote: bool,
    /// Already masked (or a route template).
    pub(crate) name: &'a str,
    pub(crate) kind: SpanKind,
    pub(crate) trace_flags: u8,
    pub(crate) start_unix_nanos: u64,
    pub(crate) end_unix_nanos: u64,
}

/// Writes the head's fields of a `Span` body.
pub(crate) fn head(out: &mut Vec<u8>, h: &SpanHead<'_>) {
    proto::bytes(out, 1, &h.trace_id);
    proto::bytes(out, 2, &h.span_id);
    proto::bytes(out, 3, h.trace_state.as_bytes());
    if h.parent_span_id != [0; 8] {
        proto::bytes(out, 4, &h.parent_span_id);
    }
    proto::bytes(out, 5, h.name.as_bytes());
    proto::varint(out, 6, kind(&h.kind));
    proto::fixed64(out, 7, h.start_unix_nanos);
    proto::fixed64(out, 8, h.end_unix_nanos);
    let remote = if h.parent_is_remote { IS_REMOTE } else { 0 };
    proto::fixed32(out, 16, h.trace_flags as u32 | HAS_IS_REMOTE | remote);
}

/// Writes the `status` field (15): `code` 0 unset, 1 ok, 2 error.
pub(crate) fn status(out: &mut Vec<u8>, code: u8, message: &str) {
    let mut body = [0u8; 2];
    if message.is_empty() {
        let len = if code == 0 {
            0
        } else {
            body = [3 << 3, code];
            2
        };
        proto::nested(out, 15, &body[..len]);
        return;
    }
    let mut buf = Vec::with_capacity(message.len() + 8);
    proto::bytes(&mut buf, 2, message.as_bytes());
    proto::varint(&mut buf, 3, code as u64);
    proto::nested(out, 15, &buf);
}

fn kind(k: &SpanKind) -> u64 {
    match k {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// Nanoseconds since the Unix epoch (0 before it, as the SDK's exporter).
pub(crate) fn unix_nanos(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Writes an SDK span's `Span` body into `out`, every text masked (name,
/// attributes, events, links, status message, `tracestate`). `scratch`
/// holds an event's or link's body while it is measured.
pub(crate) fn sdk_span(out: &mut Vec<u8>, scratch: &mut Vec<u8>, r: &Redactor, span: &SpanData) {
    let sc = &span.span_context;
    let state = sc.trace_state().header();
    let state = proto::masked_trace_state(r, &state);
    let name = r.mask(&span.name);
    let parent = if span.parent_span_id == SpanId::INVALID {
        [0; 8]
    } else {
        span.parent_span_id.to_bytes()
    };
    head(
        out,
        &SpanHead {
            trace_id: sc.trace_id().to_bytes(),
            span_id: sc.span_id().to_bytes(),
            trace_state: &state,
            parent_span_id: parent,
            parent_is_remote: span.parent_span_is_remote,
            name: &name,
            kind: span.span_kind.clone(),
            trace_flags: sc.trace_flags().to_u8(),
            start_unix_nanos: unix_nanos(span.start_time),
            end_unix_nanos: unix_nanos(span.end_time),
        },
    );
    for kv in &span.attributes {
        proto::attribute(out, Some(r), field::ATTRIBUTES, kv);
    }
    proto::varint(out, 10, span.dropped_attributes_count as u64);
    for event in span.events.iter() {
        scratch.clear();
        proto::fixed64(scratch, 1, unix_nanos(event.timestamp));
        proto::bytes(scratch, 2, r.mask(&event.name).as_bytes());
        for kv in &event.attributes {
            proto::attribute(scratch, Some(r), 3, kv);
        }
        proto::varint(scratch, 4, event.dropped_attributes_count as u64);
        proto::nested(out, 11, scratch);
    }
    proto::varint(out, 12, span.events.dropped_count as u64);
    for link in span.links.iter() {
        scratch.clear();
        let lsc = &link.span_context;
        proto::bytes(scratch, 1, &lsc.trace_id().to_bytes());
        proto::bytes(scratch, 2, &lsc.span_id().to_bytes());
        let state = lsc.trace_state().header();
        proto::bytes(scratch, 3, proto::masked_trace_state(r, &state).as_bytes());
        for kv in &link.attributes {
            proto::attribute(scratch, Some(r), 4, kv);
        }
        proto::varint(scratch, 5, link.dropped_attributes_count as u64);
        let remote = if lsc.is_remote() { IS_REMOTE } else { 0 };
        proto::fixed32(
            scratch,
            6,
            lsc.trace_flags().to_u8() as u32 | HAS_IS_REMOTE | remote,
        );
        proto::nested(out, 13, scratch);
    }
    proto::varint(out, 14, span.links.dropped_count as u64);
    match &span.status {
        Status::Unset => status(out, 0, ""),
        Status::Ok => status(out, 1, ""),
        Status::Error { description } => status(out, 2, &r.mask(description)),
    }
}

/// A string attribute known to be safe (a fixed name, a route template):
/// written without a masking pass.
#[inline]
pub(crate) fn safe_str(out: &mut Vec<u8>, key: &str, value: &str) {
    proto::key_value(out, field::ATTRIBUTES, key, Scalar::Str(value));
}

/// An integer attribute.
#[inline]
pub(crate) fn int(out: &mut Vec<u8>, key: &str, value: i64) {
    proto::key_value(out, field::ATTRIBUTES, key, Scalar::Int(value));
}

/// A string attribute from the client or otherwise unknown: masked.
#[inline]
pub(crate) fn masked_str(out: &mut Vec<u8>, r: &Redactor, key: &str, value: &str) {
    proto::masked_str(out, r, field::ATTRIBUTES, key, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_proto::tonic::trace::v1 as pb;
    use prost::Message;
    use std::time::{Duration, SystemTime};

    fn data(name: &str, attributes: Vec<KeyValue>, status: Status) -> SpanData {
        let state = TraceState::from_key_value([("vendor", "abc")]).unwrap();
        let mut span = SpanData {
            span_context: SpanContext::new(
                TraceId::from(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128),
                SpanId::from(0x1112_1314_1516_1718u64),
                TraceFlags::SAMPLED,
                false,
                state.clone(),
            ),
            parent_span_id: SpanId::from(7u64),
            parent_span_is_remote: true,
            span_kind: SpanKind::Client,
            name: name.to_owned().into(),
            start_time: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789),
            end_time: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_223_456_789),
            attributes,
            dropped_attributes_count: 2,
            events: Default::default(),
            links: Default::default(),
            status,
            instrumentation_scope: Default::default(),
        };
        span.events.events.push(Event::new(
            "retry",
            SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_150_000_000),
            vec![KeyValue::new("attempt", 2)],
            1,
        ));
        span.links.links.push(Link::new(
            SpanContext::new(
                TraceId::from(9u128),
                SpanId::from(10u64),
                TraceFlags::default(),
                true,
                state,
            ),
            vec![KeyValue::new("kind", "follows")],
            0,
        ));
        span
    }

    fn ours(span: &SpanData) -> pb::Span {
        let mut body = Vec::new();
        sdk_span(&mut body, &mut Vec::new(), &Redactor::default(), span);
        pb::Span::decode(&body[..]).unwrap()
    }

    /// With nothing to mask, what is written decodes to exactly what
    /// `opentelemetry-proto`'s own conversion (the SDK exporter's) makes.
    #[test]
    fn matches_the_sdk_exporters_encoding() {
        use opentelemetry::{Array, StringValue};
        let span = data(
            "GET /users/{id}",
            vec![
                KeyValue::new("s", "text"),
                KeyValue::new("b", true),
                KeyValue::new("i", -42),
                KeyValue::new("zero", 0),
                KeyValue::new("f", 1.5),
                KeyValue::new("empty", ""),
                KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
                KeyValue::new("ints", Value::Array(Array::I64(vec![1, -2]))),
                KeyValue::new("floats", Value::Array(Array::F64(vec![0.25]))),
                KeyValue::new(
                    "strings",
                    Value::Array(Array::String(vec![StringValue::from("a"), "".into()])),
                ),
            ],
            Status::error("failed"),
        );
        assert_eq!(ours(&span), pb::Span::from(span.clone()));
        for status in [Status::Unset, Status::Ok] {
            let mut s = span.clone();
            s.status = status;
            s.parent_span_id = SpanId::INVALID;
            s.parent_span_is_remote = false;
            assert_eq!(ours(&s), pb::Span::from(s.clone()));
        }
    }

    fn attr(span: &pb::Span, key: &str) -> String {
        let v = span.attributes.iter().find(|kv| kv.key == key).unwrap();
        format!("{:?}", v.value.as_ref().unwrap().value.as_ref().unwrap())
    }

    #[test]
    fn spans_are_masked_as_they_are_written() {
        let mut span = data(
            "send to jane@example.com",
            vec![
                KeyValue::new("url.path", "/users/jane@example.com/cards/4242424242424242"),
                KeyValue::new("http.request.header.authorization", "Bearer abc"),
                KeyValue::new("user.pin_token", 1234),
                KeyValue::new("card", 4_242_424_242_424_242_i64),
                KeyValue::new("ok", true),
                KeyValue::new("n", 7),
            ],
            Status::error("declined for 123-45-6789"),
        );
        span.events.events[0] = Event::new(
            "charged +1 415-555-2671",
            SystemTime::now(),
            vec![KeyValue::new("iban", "DE89370400440532013000")],
            0,
        );
        let got = ours(&span);
        assert_eq!(got.name, "send to j***@example.com");
        assert!(attr(&got, "url.path").contains("/users/j***@example.com/cards/************4242"));
        assert!(attr(&got, "http.request.header.authorization").contains("[REDACTED]"));
        assert!(attr(&got, "user.pin_token").contains("[REDACTED]"));
        assert!(attr(&got, "card").contains("************4242"));
        assert_eq!(attr(&got, "ok"), "BoolValue(true)");
        assert_eq!(attr(&got, "n"), "IntValue(7)");
        assert_eq!(got.events[0].name, "charged +* ***-***-**71");
        assert!(format!("{:?}", got.events[0].attributes[0]).contains("DE****************3000"));
        assert_eq!(got.status.unwrap().message, "declined for ***-**-6789");
    }

    /// Issue 11: percent-encoded paths and the caller's `tracestate` were
    /// exported as sent.
    #[test]
    fn encoded_paths_and_trace_state_are_masked() {
        let state = TraceState::from_key_value([
            ("v", "078-05-1120"),
            ("vendor", "abc"),
            ("token", "s3cr3t"),
            ("m", "jane%40example.com"),
            ("c", "4242%2C4242"),
        ])
        .unwrap();
        let mut span = data(
            "GET /users/{id}",
            vec![KeyValue::new(
                "url.path",
                "/users/maria.gonzalez%2Bbank%40example.co.uk/profile",
            )],
            Status::Unset,
        );
        span.span_context = SpanContext::new(
            TraceId::from(1u128),
            SpanId::from(2u64),
            TraceFlags::SAMPLED,
            false,
            state,
        );
        let got = ours(&span);
        assert!(attr(&got, "url.path").contains("\"/users/m***@example.co.uk/profile\""));
        assert_eq!(
            got.trace_state,
            "v=***-**-1120,vendor=abc,token=[REDACTED],m=j***@example.com,c=4242%2C4242"
        );
        assert_eq!(got.trace_id, TraceId::from(1u128).to_bytes());
        assert_eq!(got.flags & 0xff, 1, "sampled");
    }
}
