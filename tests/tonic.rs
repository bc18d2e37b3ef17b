//! The layer in front of a real tonic gRPC server (the OTLP trace service
//! from `opentelemetry-proto`), called by a real tonic client over loopback:
//! gRPC calls are measured under their method path as the route, and get a
//! server span that joins the client's trace.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use redline::http::RouteFn;

const EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[derive(Default)]
struct Accept;

#[tonic::async_trait]
impl TraceService for Accept {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_through_tonic_are_measured_and_traced() {
    // The receiver collects the spans of the server under test.
    let receiver = otlp::Receiver::start().await;
    let mut config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    config.traces.endpoint = Some(receiver.grpc_endpoint());
    config.traces.schedule_delay = Duration::from_millis(100);
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let layer = t
        .http_layer()
        .with_route_extractor(RouteFn(|uri: &http::Uri| {
            (uri.path() == EXPORT).then_some(EXPORT)
        }));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .layer(layer)
            .add_service(TraceServiceServer::new(Accept))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });

    let mut client = TraceServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    for _ in 0..3 {
        let mut request = tonic::Request::new(ExportTraceServiceRequest::default());
        request.metadata_mut().insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        client.export(request).await.unwrap();
    }

    let samples = common::parse(&t.render_metrics());
    let count = common::value(
        &samples,
        "http_server_request_duration_seconds_count",
        &[
            ("http_route", EXPORT),
            ("http_request_method", "POST"),
            ("http_response_status_code", "200"),
            ("url_scheme", "http"),
        ],
    );
    assert_eq!(count, Some(3.0), "three gRPC calls measured");

    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter()
                .filter(|r| r.span.name == format!("POST {EXPORT}"))
                .count()
                >= 3
        })
        .await;
    let server_spans: Vec<_> = spans
        .iter()
        .filter(|r| r.span.name == format!("POST {EXPORT}"))
        .collect();
    assert_eq!(server_spans.len(), 3);
    for s in server_spans {
        assert_eq!(s.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(s.parent_span_id(), "00f067aa0ba902b7");
        assert_eq!(s.attr("network.protocol.version").as_deref(), Some("2"));
    }
    server.abort();
    let _ = t.tracing().shutdown();
}
