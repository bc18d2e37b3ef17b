//! A test OTLP receiver on the official protobuf types (`opentelemetry-proto`):
//! a real gRPC server (tonic, `TraceService`) and a real HTTP/protobuf
//! endpoint (`POST /v1/traces`), both on loopback ephemeral ports, keeping
//! every span they decode. Plus a "black hole" listener that accepts
//! connections and never answers, for outage tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// A span as received, with its resource and scope.
#[derive(Debug, Clone)]
pub struct Received {
    pub resource: HashMap<String, String>,
    pub scope: String,
    pub span: Span,
    /// "grpc" or "http".
    pub via: &'static str,
}

impl Received {
    pub fn attr(&self, key: &str) -> Option<String> {
        attr(&self.span.attributes, key)
    }
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(value_text)
}

fn value_text(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

#[derive(Clone, Default)]
struct Store {
    spans: Arc<Mutex<Vec<Received>>>,
    requests: Arc<Mutex<usize>>,
}

impl Store {
    fn add(&self, request: ExportTraceServiceRequest, via: &'static str) {
        let mut spans = self.spans.lock().unwrap();
        *self.requests.lock().unwrap() += 1;
        for rs in request.resource_spans {
            let resource: HashMap<String, String> = rs
                .resource
                .map(|r| {
                    r.attributes
                        .iter()
                        .filter_map(|kv| kv.value.as_ref().map(|v| (kv.key.clone(), value_text(v))))
                        .collect()
                })
                .unwrap_or_default();
            for ss in rs.scope_spans {
                let scope = ss.scope.map(|s| s.name).unwrap_or_default();
                for span in ss.spans {
                    spans.push(Received {
                        resource: resource.clone(),
                        scope: scope.clone(),
                        span,
                        via,
                    });
                }
            }
        }
    }
}

#[tonic::async_trait]
impl TraceService for Store {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.add(request.into_inner(), "grpc");
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// The receiver: gRPC and HTTP listeners sharing one span store.
pub struct Receiver {
    served: Served,
    store: Store,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A receiver over TLS (`https://localhost:<port>` endpoints).
    pub async fn start_with(tls: Option<ReceiverTls>) -> Self {
        let store = Store::default();
        let svc = TraceServiceServer::new(store.clone());
        let http_store = store.clone();
        let served = serve_otlp_with(
            tls,
            |server| server.add_service(svc),
            "/v1/traces",
            move |body| {
                let req = ExportTraceServiceRequest::decode(body).ok()?;
                http_store.add(req, "http");
                Some(ExportTraceServiceResponse::default().encode_to_vec())
            },
        )
        .await;
        Self { served, store }
    }

    pub fn grpc_endpoint(&self) -> String {
        self.served.grpc_endpoint()
    }

    pub fn http_endpoint(&self) -> String {
        self.served.http_endpoint()
    }

    pub fn spans(&self) -> Vec<Received> {
        self.store.spans.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        *self.store.requests.lock().unwrap()
    }

    /// Waits (at most `timeout`) until `done` holds for the spans received.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || Instant::now() > deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A listener that accepts connections and never reads or answers.
pub struct BlackHole {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BlackHole {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            // Bounded: a test opens a handful of connections.
            while held.len() < 1000 {
                match listener.accept().await {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => break,
                }
            }
            std::future::pending::<()>().await;
        });
        Self { addr, task }
    }
}

/// An OTLP receiver's listeners (see [`serve_otlp`]); they stop when it is
/// dropped.
pub struct Served {
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    tls: bool,
    path: &'static str,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Served {
    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    pub fn grpc_endpoint(&self) -> String {
        // `localhost`: the name the test certificates carry.
        match self.tls {
            true => format!("https://localhost:{}", self.grpc.port()),
            false => format!("http://{}", self.grpc),
        }
    }

    pub fn http_endpoint(&self) -> String {
        match self.tls {
            true => format!(
                "{}://localhost:{}{}",
                self.scheme(),
                self.http.port(),
                self.path
            ),
            false => format!("http://{}{}", self.http, self.path),
        }
    }
}

/// A receiver's TLS: its certificate and key, and the authorities whose
/// client certificates it requires (mTLS), all PEM.
#[derive(Clone)]
pub struct ReceiverTls {
    pub cert_pem: String,
    pub key_pem: String,
    pub client_ca_pem: Option<String>,
}

fn rustls_config(tls: &ReceiverTls) -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<_> = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match &tls.client_ca_pem {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            builder.with_client_cert_verifier(
                rustls::server::WebPkiClientVerifier::builder_with_provider(
                    std::sync::Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap(),
            )
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    std::sync::Arc::new(config)
}

impl Drop for Served {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Serves an OTLP receiver on 127.0.0.1: gRPC (the router `grpc` makes of
/// a tonic server) and HTTP (protobuf `POST`s to `path`, answered with the
/// body `http` returns, or 400 when it returns `None`).
pub async fn serve_otlp(
    grpc: impl FnOnce(&mut tonic::transport::Server) -> tonic::transport::server::Router,
    path: &'static str,
    http: impl Fn(bytes::Bytes) -> Option<Vec<u8>> + Clone + Send + Sync + 'static,
) -> Served {
    serve_otlp_with(None, grpc, path, http).await
}

/// [`serve_otlp`], over TLS when `tls` is given.
pub async fn serve_otlp_with(
    tls: Option<ReceiverTls>,
    grpc: impl FnOnce(&mut tonic::transport::Server) -> tonic::transport::server::Router,
    path: &'static str,
    http: impl Fn(bytes::Bytes) -> Option<Vec<u8>> + Clone + Send + Sync + 'static,
) -> Served {
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc_listener.local_addr().unwrap();
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = &tls {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
        if let Some(ca) = &tls.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        server = server.tls_config(config).unwrap();
    }
    let router = grpc(&mut server);
    let grpc_task = tokio::spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
        let _ = router.serve_with_incoming(incoming).await;
    });
    let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = http_listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        path,
        axum::routing::post(move |headers: http::HeaderMap, body: bytes::Bytes| {
            let http = http.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if ct != "application/x-protobuf" {
                    return (http::StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
                }
                match http(body) {
                    Some(response) => (http::StatusCode::OK, response),
                    None => (http::StatusCode::BAD_REQUEST, Vec::new()),
                }
            }
        }),
    );
    let http_task = match &tls {
        None => tokio::spawn(async move {
            let _ = axum::serve(http_listener, app).await;
        }),
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(rustls_config(tls));
            tokio::spawn(async move {
                // Bounded: a test sends a handful of exports.
                for _ in 0..10_000 {
                    let Ok((stream, _)) = http_listener.accept().await else {
                        break;
                    };
                    let (acceptor, app) = (acceptor.clone(), app.clone());
                    tokio::spawn(async move {
                        // A client that does not trust us fails here.
                        let Ok(stream) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service = hyper_util::service::TowerToHyperService::new(app);
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                    });
                }
            })
        }
    };
    Served {
        grpc: grpc_addr,
        http: http_addr,
        tls: tls.is_some(),
        path,
        tasks: vec![grpc_task, http_task],
    }
}
