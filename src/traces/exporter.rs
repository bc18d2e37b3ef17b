//! The OTLP span exporter of this build: gRPC (tonic) with `otlp-grpc`,
//! HTTP/protobuf (reqwest) with `otlp-http`, and a refusal naming the
//! feature for a transport the build lacks.

use super::transport::Transport;
use super::{OtlpProtocol, TraceConfig, TraceError};

/// The span exporter this build has: OTLP's, when a transport feature is on.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(super) type OtlpExporter = opentelemetry_otlp::SpanExporter;

/// A build without a transport has no exporter: [`build_exporter`] can
/// only refuse, so this type is never made; it keeps the pipeline's code
/// the same in every build.
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
#[derive(Debug)]
#[allow(dead_code)]
pub(super) struct OtlpExporter;

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
impl opentelemetry_sdk::trace::SpanExporter for OtlpExporter {
    async fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
            "no OTLP transport in this build".into(),
        ))
    }
}

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

pub(super) fn build_exporter(tc: &TraceConfig, endpoint: &str) -> Result<OtlpExporter, TraceError> {
    let transport = Transport {
        endpoint,
        timeout: tc.timeout,
        headers: &tc.headers,
        tls: &tc.tls,
        signal: crate::tls::Signal::Traces,
    };
    match tc.protocol {
        OtlpProtocol::Grpc => grpc_exporter(&transport),
        OtlpProtocol::HttpProtobuf => http_exporter(&transport),
    }
    .map_err(|reason| TraceError::Exporter {
        endpoint: endpoint.to_owned(),
        reason,
    })
}

#[cfg(feature = "otlp-grpc")]
fn grpc_exporter(t: &Transport<'_>) -> Result<OtlpExporter, String> {
    super::transport::tonic(opentelemetry_otlp::SpanExporter::builder().with_tonic(), t)?
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc_exporter(_: &Transport<'_>) -> Result<OtlpExporter, String> {
    Err(missing_feature(OtlpProtocol::Grpc)
        .unwrap_or_default()
        .to_owned())
}

#[cfg(feature = "otlp-http")]
fn http_exporter(t: &Transport<'_>) -> Result<OtlpExporter, String> {
    super::transport::http(opentelemetry_otlp::SpanExporter::builder().with_http(), t)?
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-http"))]
fn http_exporter(_: &Transport<'_>) -> Result<OtlpExporter, String> {
    Err(missing_feature(OtlpProtocol::HttpProtobuf)
        .unwrap_or_default()
        .to_owned())
}
