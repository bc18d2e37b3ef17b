//! The OTLP log exporter of this build: gRPC (tonic) with `otlp-grpc`,
//! HTTP/protobuf (reqwest) with `otlp-http`, and a refusal naming the
//! feature for a transport the build lacks (as the span exporter's).

use super::{LogExportConfig, LogExportError};
use crate::traces::OtlpProtocol;
use crate::traces::transport::Transport;

/// Builds the exporter for `endpoint`; call inside the pipeline's runtime
/// (the gRPC channel's tasks run there).
pub(super) fn build(
    config: &LogExportConfig,
    endpoint: &str,
) -> Result<opentelemetry_otlp::LogExporter, LogExportError> {
    let transport = Transport {
        endpoint,
        timeout: config.request_timeout(),
        headers: &config.headers,
        tls: &config.tls,
        signal: crate::tls::Signal::Logs,
    };
    match config.protocol {
        OtlpProtocol::Grpc => grpc(&transport),
        OtlpProtocol::HttpProtobuf => http(&transport),
    }
    .map_err(|reason| LogExportError::Exporter {
        endpoint: endpoint.to_owned(),
        reason,
    })
}

#[cfg(feature = "otlp-grpc")]
fn grpc(t: &Transport<'_>) -> Result<opentelemetry_otlp::LogExporter, String> {
    crate::traces::transport::tonic(opentelemetry_otlp::LogExporter::builder().with_tonic(), t)?
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc(_: &Transport<'_>) -> Result<opentelemetry_otlp::LogExporter, String> {
    Err(crate::traces::missing_feature(OtlpProtocol::Grpc)
        .unwrap_or_default()
        .to_owned())
}

#[cfg(feature = "otlp-http")]
fn http(t: &Transport<'_>) -> Result<opentelemetry_otlp::LogExporter, String> {
    crate::traces::transport::http(opentelemetry_otlp::LogExporter::builder().with_http(), t)?
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-http"))]
fn http(_: &Transport<'_>) -> Result<opentelemetry_otlp::LogExporter, String> {
    Err(crate::traces::missing_feature(OtlpProtocol::HttpProtobuf)
        .unwrap_or_default()
        .to_owned())
}
