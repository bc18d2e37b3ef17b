//! Which OTLP transports this build has: gRPC (tonic) with `otlp-grpc`,
//! HTTP/protobuf (reqwest) with `otlp-http`, and a refusal naming the
//! feature for a transport the build lacks.

use super::OtlpProtocol;

/// Why a protocol cannot export in this build, if it cannot.
///
/// ```
/// use redline::traces::{missing_feature, OtlpProtocol};
/// assert_eq!(missing_feature(OtlpProtocol::Grpc).is_some(), !cfg!(feature = "otlp-grpc"));
/// ```
pub fn missing_feature(protocol: OtlpProtocol) -> Option<&'static str> {
    match protocol {
        OtlpProtocol::Grpc if !cfg!(feature = "otlp-grpc") => Some(
            "this build of redline has no `otlp-grpc` feature (enable it, or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf with `otlp-http`)",
        ),
        OtlpProtocol::HttpProtobuf if !cfg!(feature = "otlp-http") => Some(
            "this build of redline has no `otlp-http` feature (enable it, or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc with `otlp-grpc`)",
        ),
        _ => None,
    }
}
