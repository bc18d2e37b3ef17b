//! OTLP export over TLS, to test receivers built on the official protobuf
//! types with an authority of their own (rcgen): spans over gRPC and
//! HTTP/protobuf with a client certificate the receiver requires (mTLS),
//! log records the same way, and an exporter that does not trust the
//! receiver's authority: an export error, counted, never a panic.

#[path = "common/certs.rs"]
mod certs;
mod common;
#[path = "common/otlp.rs"]
mod otlp;
#[path = "common/otlp_logs.rs"]
mod otlp_logs;

use std::time::{Duration, Instant};

use certs::Pki;
use otlp::{Receiver, ReceiverTls};
use otlp_logs::LogReceiver;
use redline::logs::{LogOutput, LogsExporter};
use redline::tls::OtlpTls;
use redline::traces::OtlpProtocol;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

/// The collector's authority and certificate, and the authority of the
/// clients it accepts.
struct Setup {
    collector: Pki,
    clients: Pki,
    receiver: ReceiverTls,
}

fn setup() -> Setup {
    let collector = Pki::new("collector CA");
    let clients = Pki::new("service clients CA");
    let server = collector.server("collector");
    let receiver = ReceiverTls {
        cert_pem: server.cert_pem,
        key_pem: server.key_pem,
        client_ca_pem: Some(clients.ca_pem.clone()),
    };
    Setup {
        collector,
        clients,
        receiver,
    }
}

impl Setup {
    /// What the service configures: the collector's authority and a client
    /// certificate from the clients' authority.
    fn client_tls(&self) -> OtlpTls {
        let (cert, key) = self
            .clients
            .files("service", &self.clients.client("checkout"));
        OtlpTls {
            certificate: Some(self.collector.ca_file()),
            client_certificate: Some(cert),
            client_key: Some(key),
        }
    }
}

fn trace_config(endpoint: String, protocol: OtlpProtocol, tls: OtlpTls) -> redline::Config {
    let mut c = redline::Config {
        service_name: "tls-export-test".into(),
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    c.traces.endpoint = Some(endpoint);
    c.traces.protocol = protocol;
    c.traces.tls = tls;
    c.traces.schedule_delay = Duration::from_millis(100);
    c.traces.timeout = Duration::from_secs(2);
    c.traces.shutdown_timeout = Duration::from_secs(3);
    c
}

async fn one_request(t: &redline::Telemetry) {
    let app = t.instrument(
        axum::Router::new().route("/orders/{id}", axum::routing::get(|| async { "order" })),
    );
    let request = http::Request::get("/orders/7")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), 200);
}

fn metric(t: &redline::Telemetry, name: &str) -> f64 {
    common::value(&common::parse(&t.render_metrics()), name, &[]).unwrap_or(0.0)
}

async fn spans_over_tls(protocol: OtlpProtocol) {
    let s = setup();
    let receiver = Receiver::start_with(Some(s.receiver.clone())).await;
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        OtlpProtocol::HttpProtobuf => receiver.http_endpoint(),
    };
    assert!(endpoint.starts_with("https://localhost:"), "{endpoint}");
    let t = redline::Telemetry::builder()
        .config(trace_config(endpoint, protocol, s.client_tls()))
        .build()
        .unwrap();
    one_request(&t).await;
    let spans = receiver
        .wait_for(Duration::from_secs(15), |spans| !spans.is_empty())
        .await;
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!(spans[0].attr("http.route").as_deref(), Some("/orders/{id}"));
    assert_eq!(metric(&t, "redline_trace_export_errors_total"), 0.0);
    let _ = t.tracing().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_tls_collector_over_grpc_with_a_client_certificate() {
    spans_over_tls(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_tls_collector_over_http_with_a_client_certificate() {
    spans_over_tls(OtlpProtocol::HttpProtobuf).await;
}

/// An exporter that trusts another authority, or presents no client
/// certificate: every export fails, is counted, and nothing panics.
async fn refused(protocol: OtlpProtocol, tls: impl Fn(&Setup) -> OtlpTls) {
    let s = setup();
    let receiver = Receiver::start_with(Some(s.receiver.clone())).await;
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        OtlpProtocol::HttpProtobuf => receiver.http_endpoint(),
    };
    let mut config = trace_config(endpoint, protocol, tls(&s));
    config.traces.timeout = Duration::from_millis(500);
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    one_request(&t).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&t, "redline_trace_export_errors_total") < 1.0 {
        assert!(Instant::now() < deadline, "no export error counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.spans().is_empty());
    let _ = t.tracing().shutdown();
}

fn wrong_authority(s: &Setup) -> OtlpTls {
    let stranger = Pki::new("not the collector's CA");
    let ca = s.clients.write("stranger-ca.pem", &stranger.ca_pem);
    OtlpTls {
        certificate: Some(ca),
        ..s.client_tls()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_authority_is_a_counted_export_error_over_grpc() {
    refused(OtlpProtocol::Grpc, wrong_authority).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_authority_is_a_counted_export_error_over_http() {
    refused(OtlpProtocol::HttpProtobuf, wrong_authority).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_certificate_is_a_counted_export_error() {
    refused(OtlpProtocol::HttpProtobuf, |s| OtlpTls {
        client_certificate: None,
        client_key: None,
        ..s.client_tls()
    })
    .await;
}

#[test]
fn unusable_client_files_are_start_up_errors() {
    let s = setup();
    let mut tls = s.client_tls();
    tls.client_key = None;
    let config = trace_config(
        "https://localhost:4318/v1/traces".into(),
        OtlpProtocol::HttpProtobuf,
        tls,
    );
    let e = redline::Telemetry::builder()
        .config(config)
        .build()
        .err()
        .unwrap();
    assert!(e.to_string().contains("needs its key"), "{e}");
    let mut tls = s.client_tls();
    tls.certificate = Some(s.clients.path().join("missing.pem"));
    let config = trace_config("https://localhost:4317".into(), OtlpProtocol::Grpc, tls);
    let e = redline::Telemetry::builder()
        .config(config)
        .build()
        .err()
        .unwrap();
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

/// Log records over TLS with a client certificate, both transports.
#[test]
fn log_records_reach_a_tls_collector() {
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        let s = setup();
        let servers = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let receiver = servers.block_on(LogReceiver::start_with(Some(s.receiver.clone())));
        let endpoint = match protocol {
            OtlpProtocol::Grpc => receiver.grpc_endpoint(),
            OtlpProtocol::HttpProtobuf => receiver.http_endpoint(),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut c = redline::Config {
            service_name: "tls-logs-test".into(),
            admin_listen: None,
            system_metrics: false,
            process_metrics: false,
            ..Default::default()
        };
        c.logs.output = LogOutput::File;
        c.logs.file = dir.path().join("app.log");
        c.logs.filter = "info".into();
        c.log_export.exporter = LogsExporter::Otlp;
        c.log_export.endpoint = Some(endpoint);
        c.log_export.protocol = protocol;
        c.log_export.tls = s.client_tls();
        c.log_export.schedule_delay = Duration::from_millis(100);
        let t = redline::Telemetry::builder().config(c).build().unwrap();
        let subscriber = tracing_subscriber::registry().with(t.logging_layer().unwrap());
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                tracing::info!(target: "app", i, "over tls {i}");
            }
        });
        t.flush_logs();
        let deadline = Instant::now() + Duration::from_secs(15);
        while receiver.records().len() < 5 {
            assert!(
                Instant::now() < deadline,
                "{protocol:?}: {} records",
                receiver.records().len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            metric(&t, "redline_log_export_errors_total"),
            0.0,
            "{protocol:?}"
        );
        drop(receiver);
        drop(servers);
    }
}
