//! The OTLP log exporter of this build: gRPC (tonic) with `otlp-grpc`,
//! HTTP/protobuf (reqwest) with `otlp-http`, and a refusal naming the
//! feature for a transport the build lacks (as the span exporter's).

use super::{LogExportConfig, LogExportError};
use crate::traces::OtlpProtocol;

/// Builds the exporter for `endpoint`; call inside the pipeline's runtime
/// (the gRPC channel's tasks run there).
pub(super) fn build(
    config: &LogExportConfig,
    endpoint: &str,
) -> Result<opentelemetry_otlp::LogExporter, LogExportError> {
    let error = |e: &dyn std::fmt::Display| LogExportError::Exporter {
        endpoint: endpoint.to_owned(),
        reason: e.to_string(),
    };
    // Header names and values are checked whatever the transport.
    let mut headers = http::HeaderMap::new();
    for (name, value) in &config.headers.0 {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| error(&e))?;
        let value = http::HeaderValue::from_str(value).map_err(|e| error(&e))?;
        headers.insert(name, value);
    }
    match config.protocol {
        OtlpProtocol::Grpc => grpc(config, endpoint, headers),
        OtlpProtocol::HttpProtobuf => http(config, endpoint),
    }
    .map_err(|reason| error(&reason))
}

#[cfg(feature = "otlp-grpc")]
fn grpc(
    config: &LogExportConfig,
    endpoint: &str,
    headers: http::HeaderMap,
) -> Result<opentelemetry_otlp::LogExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers);
    let builder = opentelemetry_otlp::LogExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(config.request_timeout())
        .with_metadata(metadata);
    #[cfg(feature = "tls")]
    let builder = if crate::traces::is_https(endpoint) {
        builder.with_tls_config(
            crate::tls::grpc_tls(&config.tls, crate::tls::Signal::Logs)
                .map_err(|e| e.to_string())?,
        )
    } else {
        builder
    };
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc(
    _: &LogExportConfig,
    _: &str,
    _: http::HeaderMap,
) -> Result<opentelemetry_otlp::LogExporter, String> {
    Err(crate::traces::missing_feature(OtlpProtocol::Grpc)
        .unwrap_or_default()
        .to_owned())
}

#[cfg(feature = "otlp-http")]
fn http(
    config: &LogExportConfig,
    endpoint: &str,
) -> Result<opentelemetry_otlp::LogExporter, String> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let builder = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(config.request_timeout())
        .with_headers(config.headers.0.iter().cloned().collect());
    // reqwest's rustls backend has no process-wide provider to fall back
    // on: the client is redline's, for `http://` endpoints too.
    #[cfg(feature = "tls")]
    let builder = builder.with_http_client(
        crate::tls::http_client(
            &config.tls,
            crate::tls::Signal::Logs,
            config.request_timeout(),
            crate::traces::is_https(endpoint),
        )
        .map_err(|e| e.to_string())?,
    );
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-http"))]
fn http(_: &LogExportConfig, _: &str) -> Result<opentelemetry_otlp::LogExporter, String> {
    Err(crate::traces::missing_feature(OtlpProtocol::HttpProtobuf)
        .unwrap_or_default()
        .to_owned())
}
