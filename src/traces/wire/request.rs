//! `ExportTraceServiceRequest`: one `ResourceSpans` (the service's
//! resource, encoded once) holding a `ScopeSpans` per instrumentation scope,
//! whose spans were encoded as they ended.

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::Resource;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::proto;

/// The `resource` field (1) of `ResourceSpans`, and its schema URL (3),
/// written once.
pub(crate) fn resource_fields(resource: &Resource) -> Vec<u8> {
    let mut body = Vec::new();
    // Resource attributes are the service's configuration, not client
    // input: written as they are.
    for (key, value) in resource.iter() {
        let kv = opentelemetry::KeyValue::new(key.clone(), value.clone());
        proto::attribute(&mut body, None, 1, &kv);
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    proto::nested(&mut out, 1, &body);
    if let Some(url) = resource.schema_url() {
        proto::bytes(&mut out, 3, url.as_bytes());
    }
    out
}

/// The `scope` field (1) of `ScopeSpans`, and its schema URL (3).
pub(crate) fn scope_fields(scope: &InstrumentationScope) -> Vec<u8> {
    let mut body = Vec::new();
    proto::bytes(&mut body, 1, scope.name().as_bytes());
    if let Some(v) = scope.version() {
        proto::bytes(&mut body, 2, v.as_bytes());
    }
    for kv in scope.attributes() {
        proto::attribute(&mut body, None, 3, kv);
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    proto::nested(&mut out, 1, &body);
    if let Some(url) = scope.schema_url() {
        proto::bytes(&mut out, 3, url.as_bytes());
    }
    out
}

/// Writes the request into `out` (cleared first): `resource` from
/// [`resource_fields`], and per scope its fields from [`scope_fields`] and
/// its spans, each already a `spans` field (2) of `ScopeSpans`.
pub(crate) fn export_request<'a>(
    out: &mut Vec<u8>,
    resource: &[u8],
    scopes: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
) {
    out.clear();
    let scope_len = |(fields, spans): (&[u8], &[u8])| fields.len() + spans.len();
    let resource_spans_len: usize = resource.len()
        + scopes
            .clone()
            .map(|s| {
                let len = scope_len(s);
                key_len(2) + encoded_len_varint(len as u64) + len
            })
            .sum::<usize>();
    out.reserve(resource_spans_len + 8);
    encode_key(1, WireType::LengthDelimited, out);
    encode_varint(resource_spans_len as u64, out);
    out.extend_from_slice(resource);
    for (fields, spans) in scopes {
        encode_key(2, WireType::LengthDelimited, out);
        encode_varint((fields.len() + spans.len()) as u64, out);
        out.extend_from_slice(fields);
        out.extend_from_slice(spans);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    #[test]
    fn a_request_carries_the_resource_and_each_scope_with_its_spans() {
        let resource = Resource::builder_empty()
            .with_service_name("checkout")
            .with_attribute(opentelemetry::KeyValue::new(
                "deployment.environment",
                "prod",
            ))
            .build();
        let redline = InstrumentationScope::builder("redline")
            .with_version("0.1.0")
            .build();
        let other = InstrumentationScope::builder("app").build();
        let span = |name: &str| {
            let mut body = Vec::new();
            proto::bytes(&mut body, 5, name.as_bytes());
            let mut field = Vec::new();
            proto::nested(&mut field, 2, &body);
            field
        };
        let first = [span("a"), span("b")].concat();
        let second = span("c");
        let (rf, of) = (scope_fields(&redline), scope_fields(&other));
        let mut out = vec![1, 2, 3];
        export_request(
            &mut out,
            &resource_fields(&resource),
            [(&rf[..], &first[..]), (&of[..], &second[..])].into_iter(),
        );
        let got = ExportTraceServiceRequest::decode(&out[..]).unwrap();
        assert_eq!(got.resource_spans.len(), 1);
        let rs = &got.resource_spans[0];
        let attrs = &rs.resource.as_ref().unwrap().attributes;
        assert!(attrs.iter().any(|kv| kv.key == "service.name"));
        assert!(attrs.iter().any(|kv| kv.key == "deployment.environment"));
        let scopes: Vec<_> = rs
            .scope_spans
            .iter()
            .map(|s| {
                let scope = s.scope.as_ref().unwrap();
                let names: Vec<_> = s.spans.iter().map(|s| s.name.as_str()).collect();
                (scope.name.as_str(), scope.version.as_str(), names)
            })
            .collect();
        assert_eq!(
            scopes,
            [("redline", "0.1.0", vec!["a", "b"]), ("app", "", vec!["c"])]
        );
    }
}
