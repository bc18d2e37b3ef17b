//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>) and W3C
//! Baggage (<https://www.w3.org/TR/baggage/>) on HTTP headers.
//!
//! Why our own `traceparent` parser: the SDK's `TraceContextPropagator`
//! parses ids with `from_str_radix`, which accepts ids of the wrong length
//! (`-abc-` becomes trace id `0x…abc`) and a leading `+`; the spec says such
//! a header must be ignored. Anything malformed here yields `None`, and the
//! request starts a new root trace; it never fails the request.

use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::BaggagePropagator;

/// Parses a `traceparent` header value into a remote span context.
///
/// ```
/// use redline::traces::parse_traceparent;
/// let sc = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(sc.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(sc.is_sampled() && sc.is_remote());
/// assert!(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7").is_none());
/// assert!(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
/// ```
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let b = value.trim().as_bytes();
    // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2.
    if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
        return None;
    }
    let version = hex_u128(&b[0..2])? as u8;
    // Version ff is forbidden; version 00 has exactly four fields; a later
    // version may append fields after another '-' (parse what we know).
    if version == 0xff || (version == 0 && b.len() != 55) || (b.len() > 55 && b[55] != b'-') {
        return None;
    }
    let trace_id = hex_u128(&b[3..35])?;
    let span_id = hex_u128(&b[36..52])? as u64;
    let flags = hex_u128(&b[53..55])? as u8;
    if trace_id == 0 || span_id == 0 {
        return None;
    }
    Some(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        // Only the sampled bit is defined; others are zeroed (spec: "other flags").
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// Lowercase hex only (the spec forbids uppercase), at most 32 digits.
fn hex_u128(digits: &[u8]) -> Option<u128> {
    let mut v: u128 = 0;
    for &d in digits {
        let n = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        v = (v << 4) | n as u128;
    }
    Some(v)
}

/// Formats a `traceparent` value (version 00) for `span_context`.
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
/// let sc = SpanContext::new(TraceId::from(1u128), SpanId::from(2u64), TraceFlags::SAMPLED, false, TraceState::default());
/// assert_eq!(redline::traces::format_traceparent(&sc),
///            "00-00000000000000000000000000000001-0000000000000002-01");
/// ```
pub fn format_traceparent(span_context: &SpanContext) -> String {
    let bytes = traceparent_bytes(span_context);
    // Only ASCII hex digits and dashes.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The `traceparent` value as bytes. Why by hand: `write!` with `{:032x}`
/// cost ~1,600 instructions per request (callgrind, `TRACES=local`), more
/// than all of the layer's metrics; this is a table lookup per byte.
#[inline]
pub(crate) fn traceparent_bytes(sc: &SpanContext) -> [u8; 55] {
    let mut out = [b'-'; 55];
    out[0] = b'0';
    out[1] = b'0';
    let mut put = |at: usize, bytes: &[u8]| {
        for (i, &b) in bytes.iter().enumerate() {
            out[at + 2 * i..at + 2 * i + 2].copy_from_slice(&HEX_PAIRS[b as usize]);
        }
    };
    put(3, &sc.trace_id().to_bytes());
    put(36, &sc.span_id().to_bytes());
    put(53, &[sc.trace_flags().to_u8()]);
    out
}

/// Each byte's two lower-case hex digits: one lookup a byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0; 2]; 256];
    let mut b = 0;
    while b < 256 {
        pairs[b] = [HEX[b >> 4], HEX[b & 0x0f]];
        b += 1;
    }
    pairs
};

/// Reads `traceparent`, `tracestate` and `baggage` from request headers into
/// a parent context. Without a valid `traceparent` the context has no span
/// (a new root trace starts) but still carries the baggage.
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
/// let cx = redline::traces::extract_context(&headers);
/// assert!(cx.span().span_context().is_valid());
/// ```
pub fn extract_context(headers: &http::HeaderMap) -> Context {
    let mut cx = Context::new();
    if let Some(sc) = headers
        .get(crate::headers::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_traceparent)
    {
        let state = headers
            .get(crate::headers::TRACESTATE)
            .and_then(|v| v.to_str().ok())
            // An invalid tracestate is dropped; the traceparent stays valid
            // (spec: "vendors MUST NOT … fail the request").
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        let sc = SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), true, state);
        cx = cx.with_remote_span_context(sc);
    }
    if headers.contains_key(crate::headers::BAGGAGE) {
        cx = BaggagePropagator::new().extract_with_context(&cx, &HeaderExtractor(headers));
    }
    cx
}

/// Up to `max` baggage entries of `cx`, values cut to 256 bytes, for span
/// attributes. Keys are client input too: a key that holds data (a card
/// number...) or is longer than 64 bytes is left out; values are masked
/// with the other attributes at export.
pub(crate) fn baggage_attributes(cx: &Context, max: usize) -> Vec<opentelemetry::KeyValue> {
    cx.baggage()
        .iter()
        .filter(|(k, _)| k.as_str().len() <= 64 && !crate::redact::looks_like_data(k.as_str()))
        .take(max)
        .map(|(k, (v, _))| {
            let mut s = v.as_str().to_owned();
            if s.len() > 256 {
                let mut end = 256;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.truncate(end);
            }
            opentelemetry::KeyValue::new(format!("baggage.{}", k.as_str()), s)
        })
        .collect()
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn formats_every_byte_as_two_lower_case_hex_digits() {
        for b in 0..=255u8 {
            let trace = u128::from_be_bytes([b; 16]) ^ 0x0102;
            let span = u64::from_be_bytes([b; 8]) ^ 0x0304;
            let sc = SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            );
            assert_eq!(
                format_traceparent(&sc),
                format!("00-{trace:032x}-{span:016x}-01")
            );
        }
    }

    #[test]
    fn accepts_the_spec_example_and_round_trips() {
        let sc = parse_traceparent(GOOD).unwrap();
        assert_eq!(format_traceparent(&sc), GOOD);
        let unsampled = parse_traceparent(&GOOD.replace("-01", "-00")).unwrap();
        assert!(!unsampled.is_sampled());
        // Unknown flags are zeroed.
        assert!(
            parse_traceparent(&GOOD.replace("-01", "-ff"))
                .unwrap()
                .is_sampled()
        );
    }

    #[test]
    fn future_versions_may_append_fields() {
        let v = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
        assert!(parse_traceparent(v).is_some());
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x").is_none()
        );
    }

    #[test]
    fn rejects_every_malformed_shape() {
        for bad in [
            "",
            "junk",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-abc-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn extraction_keeps_tracestate_and_baggage() {
        let mut h = http::HeaderMap::new();
        h.insert("traceparent", GOOD.parse().unwrap());
        h.insert("tracestate", "vendor=abc,other=1".parse().unwrap());
        h.insert("baggage", "tenant=acme,user.tier=gold".parse().unwrap());
        let cx = extract_context(&h);
        let sc = cx.span().span_context().clone();
        assert!(sc.is_remote());
        assert_eq!(sc.trace_state().get("vendor"), Some("abc"));
        let attrs = baggage_attributes(&cx, 8);
        assert!(
            attrs
                .iter()
                .any(|kv| kv.key.as_str() == "baggage.tenant" && kv.value.as_str() == "acme")
        );
        // A broken tracestate does not invalidate the parent.
        h.insert("tracestate", "=,,,==".parse().unwrap());
        assert!(extract_context(&h).span().span_context().is_valid());
    }
}
