//! The OTLP span exporter of this build: gRPC (tonic) with `otlp-grpc`,
//! HTTP/protobuf (reqwest) with `otlp-http`, and a refusal naming the
//! feature for a transport the build lacks.

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

/// Whether an endpoint is reached over TLS.
#[cfg(all(feature = "tls", any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

pub(super) fn build_exporter(tc: &TraceConfig, endpoint: &str) -> Result<OtlpExporter, TraceError> {
    let error = |e: &dyn std::fmt::Display| TraceError::Exporter {
        endpoint: endpoint.to_owned(),
        reason: e.to_string(),
    };
    // Header names and values are checked whatever the transport.
    let mut headers = http::HeaderMap::new();
    for (name, value) in &tc.headers.0 {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| error(&e))?;
        let value = http::HeaderValue::from_str(value).map_err(|e| error(&e))?;
        headers.insert(name, value);
    }
    match tc.protocol {
        OtlpProtocol::Grpc => grpc_exporter(tc, endpoint, headers),
        OtlpProtocol::HttpProtobuf => http_exporter(tc, endpoint),
    }
    .map_err(|reason| error(&reason))
}

#[cfg(feature = "otlp-grpc")]
fn grpc_exporter(
    tc: &TraceConfig,
    endpoint: &str,
    headers: http::HeaderMap,
) -> Result<OtlpExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
    let builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(tc.timeout)
        .with_metadata(metadata);
    #[cfg(feature = "tls")]
    let builder = if crate::traces::is_https(endpoint) {
        builder.with_tls_config(
            crate::tls::grpc_tls(&tc.tls, crate::tls::Signal::Traces).map_err(|e| e.to_string())?,
        )
    } else {
        builder
    };
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc_exporter(_: &TraceConfig, _: &str, _: http::HeaderMap) -> Result<OtlpExporter, String> {
    Err(missing_feature(OtlpProtocol::Grpc)
        .unwrap_or_default()
        .to_owned())
}

#[cfg(feature = "otlp-http")]
fn http_exporter(tc: &TraceConfig, endpoint: &str) -> Result<OtlpExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(tc.timeout)
        .with_headers(tc.headers.0.iter().cloned().collect());
    // reqwest's rustls backend has no process-wide provider to fall back
    // on: the client is redline's, for `http://` endpoints too.
    #[cfg(feature = "tls")]
    let builder = builder.with_http_client(
        crate::tls::http_client(
            &tc.tls,
            crate::tls::Signal::Traces,
            tc.timeout,
            crate::traces::is_https(endpoint),
        )
        .map_err(|e| e.to_string())?,
    );
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-http"))]
fn http_exporter(_: &TraceConfig, _: &str) -> Result<OtlpExporter, String> {
    Err(missing_feature(OtlpProtocol::HttpProtobuf)
        .unwrap_or_default()
        .to_owned())
}
