//! Sends an encoded `ExportTraceServiceRequest`: a POST of the bytes over
//! OTLP/HTTP (reqwest's blocking client, redline's TLS settings), or the
//! bytes as the message of a unary gRPC call (tonic, with a codec that
//! passes them through), with the endpoint, headers, timeout and TLS of
//! the configuration.

#[cfg(feature = "otlp-grpc")]
use std::time::Duration;

use super::transport::Transport;
use super::{OtlpProtocol, TraceConfig, TraceError};

/// One configured transport.
pub(crate) enum Sender {
    #[cfg(feature = "otlp-http")]
    Http {
        client: reqwest::blocking::Client,
        endpoint: String,
        headers: http::HeaderMap,
    },
    #[cfg(feature = "otlp-grpc")]
    Grpc {
        channel: tonic::transport::Channel,
        metadata: tonic::metadata::MetadataMap,
        handle: tokio::runtime::Handle,
        timeout: Duration,
    },
}

impl Sender {
    /// The transport of `tc` to `endpoint`; gRPC's channel lives on
    /// `runtime` (connected lazily, on the first export).
    pub(crate) fn new(
        tc: &TraceConfig,
        endpoint: &str,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<Self, TraceError> {
        let t = Transport {
            endpoint,
            timeout: tc.timeout.min(tc.export_timeout),
            headers: &tc.headers,
            tls: &tc.tls,
            signal: crate::tls::Signal::Traces,
        };
        let _ = runtime;
        match tc.protocol {
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => http(&t),
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => grpc(&t, runtime),
            #[allow(unreachable_patterns)]
            protocol => Err(super::missing_feature(protocol)
                .unwrap_or_default()
                .to_owned()),
        }
        .map_err(|reason| TraceError::Exporter {
            endpoint: endpoint.to_owned(),
            reason,
        })
    }

    /// Sends one request; the error says why it failed.
    pub(crate) fn send(&self, body: Vec<u8>) -> Result<(), String> {
        match self {
            #[cfg(feature = "otlp-http")]
            Sender::Http {
                client,
                endpoint,
                headers,
            } => {
                let response = client
                    .post(endpoint)
                    .headers(headers.clone())
                    .header(http::header::CONTENT_TYPE, "application/x-protobuf")
                    .body(body)
                    .send()
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("the collector answered HTTP {}", status.as_u16()))
                }
            }
            #[cfg(feature = "otlp-grpc")]
            Sender::Grpc {
                channel,
                metadata,
                handle,
                timeout,
            } => handle.block_on(grpc_export(
                channel.clone(),
                metadata.clone(),
                body,
                *timeout,
            )),
        }
    }
}

#[cfg(feature = "otlp-http")]
fn http(t: &Transport<'_>) -> Result<Sender, String> {
    let headers = super::transport::header_map(t.headers)?;
    #[cfg(feature = "tls")]
    let client = crate::tls::http_client(
        t.tls,
        t.signal,
        t.timeout,
        super::transport::is_https(t.endpoint),
    )
    .map_err(|e| e.to_string())?;
    #[cfg(not(feature = "tls"))]
    let client = {
        let timeout = t.timeout;
        // reqwest's blocking client must not be built inside a runtime.
        std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .build()
        })
        .join()
        .map_err(|_| "the thread building the HTTP client panicked".to_owned())?
        .map_err(|e| e.to_string())?
    };
    Ok(Sender::Http {
        client,
        endpoint: t.endpoint.to_owned(),
        headers,
    })
}

#[cfg(feature = "otlp-grpc")]
fn grpc(t: &Transport<'_>, runtime: &tokio::runtime::Runtime) -> Result<Sender, String> {
    let metadata =
        tonic::metadata::MetadataMap::from_headers(super::transport::header_map(t.headers)?);
    // HTTP/2 keep-alive: see `transport::GRPC_KEEP_ALIVE_INTERVAL` (a
    // collector that never answers otherwise keeps every timed-out
    // export's stream in the connection's h2 store, for ever).
    let endpoint = tonic::transport::Endpoint::from_shared(t.endpoint.to_owned())
        .map_err(|e| e.to_string())?
        .timeout(t.timeout)
        .http2_keep_alive_interval(super::transport::GRPC_KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(super::transport::GRPC_KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(false);
    #[cfg(feature = "tls")]
    let endpoint = if super::transport::is_https(t.endpoint) {
        endpoint
            .tls_config(crate::tls::grpc_tls(t.tls, t.signal).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?
    } else {
        endpoint
    };
    let channel = {
        let _entered = runtime.enter();
        endpoint.connect_lazy()
    };
    Ok(Sender::Grpc {
        channel,
        metadata,
        handle: runtime.handle().clone(),
        timeout: t.timeout,
    })
}

/// The `Export` call of OTLP's trace service, with the request already
/// encoded.
#[cfg(feature = "otlp-grpc")]
async fn grpc_export(
    channel: tonic::transport::Channel,
    metadata: tonic::metadata::MetadataMap,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(), String> {
    let call = async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| e.to_string())?;
        let request = tonic::Request::from_parts(
            metadata,
            tonic::Extensions::default(),
            bytes::Bytes::from(body),
        );
        let path = http::uri::PathAndQuery::from_static(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        );
        grpc.unary(request, path, raw::Passthrough)
            .await
            .map(|_| ())
            .map_err(|status| format!("{}: {}", status.code(), status.message()))
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

/// A gRPC codec that sends bytes as they are and ignores the answer's
/// body (an `ExportTraceServiceResponse`; its partial-success counts are
/// not read, as the SDK's exporter did not read them either).
#[cfg(feature = "otlp-grpc")]
mod raw {
    use bytes::{Buf, BufMut, Bytes};
    use tonic::Status;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    #[derive(Debug, Clone, Copy, Default)]
    pub(super) struct Passthrough;

    impl Codec for Passthrough {
        type Encode = Bytes;
        type Decode = ();
        type Encoder = Passthrough;
        type Decoder = Passthrough;

        fn encoder(&mut self) -> Self::Encoder {
            Passthrough
        }

        fn decoder(&mut self) -> Self::Decoder {
            Passthrough
        }
    }

    impl Encoder for Passthrough {
        type Item = Bytes;
        type Error = Status;

        fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
            dst.put_slice(&item);
            Ok(())
        }
    }

    impl Decoder for Passthrough {
        type Item = ();
        type Error = Status;

        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
            src.advance(src.remaining());
            Ok(Some(()))
        }
    }
}
