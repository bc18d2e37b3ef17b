//! The settings both OTLP exporters (spans and log records) give their
//! transport: endpoint, timeout, headers and TLS, on whichever builder
//! opentelemetry-otlp hands out for the signal (`SpanExporter`'s or
//! `LogExporter`'s), so the two exporters configure them one way.

use std::time::Duration;

use super::OtlpHeaders;

/// What an exporter's transport is given.
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
pub(crate) struct Transport<'a> {
    pub(crate) endpoint: &'a str,
    /// Per export request.
    pub(crate) timeout: Duration,
    pub(crate) headers: &'a OtlpHeaders,
    /// Read with feature `tls` only; a build without it refuses
    /// `https://` endpoints when it reads its settings.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) tls: &'a crate::tls::OtlpTls,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) signal: crate::tls::Signal,
}

/// `headers` as an HTTP header map. Each transport converts its headers
/// through it, so a bad name or value is a start-up error for both.
#[cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(dead_code)
)]
pub(crate) fn header_map(headers: &OtlpHeaders) -> Result<http::HeaderMap, String> {
    let mut map = http::HeaderMap::new();
    for (name, value) in &headers.0 {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?;
        let value = http::HeaderValue::from_str(value).map_err(|e| e.to_string())?;
        map.insert(name, value);
    }
    Ok(map)
}

/// Whether an endpoint is reached over TLS.
#[cfg(all(feature = "tls", any(feature = "otlp-grpc", feature = "otlp-http")))]
pub(crate) fn is_https(endpoint: &str) -> bool {
    endpoint
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
}

/// HTTP/2 pings on the gRPC exporter's connection: one is sent when a
/// request is open and nothing has been received for this long (a
/// collector that answers its exports never sees one)...
#[cfg(feature = "otlp-grpc")]
pub(crate) const GRPC_KEEP_ALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// ...and the connection is closed when the ping is not answered within
/// this.
#[cfg(feature = "otlp-grpc")]
pub(crate) const GRPC_KEEP_ALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A gRPC (tonic) exporter builder with the transport's settings: the
/// headers as metadata, TLS for an `https://` endpoint, and a channel of
/// redline's with HTTP/2 keep-alive. Without keep-alive, a collector that
/// accepts and never answers keeps the one connection open for ever, and
/// every timed-out export leaves its stream in that connection's h2 stream
/// store (h2 0.4 frees a reset stream waiting for connection window only
/// when the peer grants window or the connection closes): 328 bytes per
/// failed export, never freed.
#[cfg(feature = "otlp-grpc")]
pub(crate) fn tonic<B>(builder: B, t: &Transport<'_>) -> Result<B, String>
where
    B: opentelemetry_otlp::WithExportConfig + opentelemetry_otlp::WithTonicConfig,
{
    let metadata = opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(
        header_map(t.headers)?,
    );
    let endpoint = tonic::transport::Endpoint::from_shared(t.endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .timeout(t.timeout)
        .http2_keep_alive_interval(GRPC_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(GRPC_KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(false);
    #[cfg(feature = "tls")]
    let endpoint = if is_https(t.endpoint) {
        endpoint
            .tls_config(crate::tls::grpc_tls(t.tls, t.signal).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?
    } else {
        endpoint
    };
    let builder = builder
        .with_endpoint(t.endpoint)
        .with_timeout(t.timeout)
        .with_metadata(metadata)
        .with_channel(endpoint.connect_lazy());
    Ok(builder)
}

/// An HTTP/protobuf exporter builder with the transport's settings. With
/// `tls` the HTTP client is redline's, for `http://` endpoints too:
/// reqwest's rustls backend has no process-wide provider to fall back on.
#[cfg(feature = "otlp-http")]
pub(crate) fn http<B>(builder: B, t: &Transport<'_>) -> Result<B, String>
where
    B: opentelemetry_otlp::WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    header_map(t.headers)?;
    let builder = builder
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(t.endpoint)
        .with_timeout(t.timeout)
        .with_headers(t.headers.0.iter().cloned().collect());
    #[cfg(feature = "tls")]
    let builder = builder.with_http_client(
        crate::tls::http_client(t.tls, t.signal, t.timeout, is_https(t.endpoint))
            .map_err(|e| e.to_string())?,
    );
    Ok(builder)
}
