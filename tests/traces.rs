//! Traces end to end: the HTTP layer and the operation timer export spans
//! over real OTLP (gRPC and HTTP/protobuf) to a receiver built on the
//! official protobuf types; W3C propagation in and out; outages.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as OtlpStatus;
use otlp::{BlackHole, Received, Receiver};
use redline::Telemetry;
use redline::traces::{OtlpProtocol, SamplerConfig};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn config(endpoint: Option<String>, protocol: OtlpProtocol) -> redline::Config {
    let mut c = redline::Config {
        service_name: "trace-test".into(),
        resource_attributes: vec![("deployment.environment.name".into(), "test".into())],
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    c.traces.endpoint = endpoint;
    c.traces.protocol = protocol;
    c.traces.schedule_delay = Duration::from_millis(100);
    c.traces.shutdown_timeout = Duration::from_secs(2);
    c
}

/// The app under test: a route with two operations, a failing route and a
/// 404 route, served with the peer address available.
fn app(t: &Telemetry) -> Router {
    let ops = t.operations();
    Router::new()
        .route(
            "/users/{id}",
            get(move || async move {
                let _ = ops.time("load_user", || Ok::<_, String>(()));
                let _ = ops
                    .time_future("cache_lookup", async { Err::<(), _>("cache miss for 42") })
                    .await;
                "user"
            }),
        )
        .route(
            "/fail",
            get(|| async { http::StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/missing", get(|| async { http::StatusCode::NOT_FOUND }))
        .layer(t.http_layer())
}

async fn serve(t: &Telemetry) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(t);
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    (addr, task)
}

/// GET with extra headers; returns status and the response's traceparent.
async fn request(
    c: &common::HttpClient,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>) {
    let mut b = hyper::Request::get(url).header("user-agent", "trace-test/1.0");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        c.request(b.body(Full::new(Bytes::new())).unwrap()),
    )
    .await
    .expect("response within 10 s")
    .expect("request succeeds");
    let tp = response
        .headers()
        .get("traceparent")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    (status, tp)
}

fn find<'a>(spans: &'a [Received], name: &str) -> &'a Received {
    spans
        .iter()
        .find(|s| s.span.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[Received]) -> Vec<String> {
    spans.iter().map(|s| s.span.name.clone()).collect()
}

async fn exports_server_and_operation_spans(protocol: OtlpProtocol) {
    let receiver = Receiver::start().await;
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_endpoint(),
        OtlpProtocol::HttpProtobuf => receiver.http_endpoint(),
    };
    let t = Telemetry::builder()
        .config(config(Some(endpoint), protocol))
        .build()
        .unwrap();
    assert!(t.tracing().is_exporting());
    let (addr, server) = serve(&t).await;
    let c = common::client();
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let (status, tp) = request(
        &c,
        &format!("http://{addr}/users/7?token=abc"),
        &[
            ("traceparent", &traceparent),
            ("tracestate", "vendor=x"),
            ("baggage", "tenant=acme"),
            ("x-request-id", "req-123"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let tp = tp.expect("the response carries traceparent");
    assert!(tp.starts_with(&format!("00-{TRACE_ID}-")), "{tp}");
    assert!(tp.ends_with("-01"), "{tp}");
    assert_eq!(
        request(&c, &format!("http://{addr}/fail"), &[]).await.0,
        500
    );
    assert_eq!(
        request(&c, &format!("http://{addr}/missing"), &[]).await.0,
        404
    );

    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| s.len() >= 5)
        .await;
    assert_eq!(spans.len(), 5, "{:?}", names(&spans));
    let via = if protocol == OtlpProtocol::Grpc {
        "grpc"
    } else {
        "http"
    };
    assert!(spans.iter().all(|s| s.via == via));

    // The server span joined the caller's trace.
    let server_span = find(&spans, "GET /users/{id}");
    assert_eq!(server_span.span.kind, SpanKind::Server as i32);
    assert_eq!(server_span.trace_id(), TRACE_ID);
    assert_eq!(server_span.parent_span_id(), PARENT_ID);
    assert_eq!(tp, format!("00-{TRACE_ID}-{}-01", server_span.span_id()));
    assert_eq!(server_span.span.trace_state, "vendor=x");
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/users/{id}"),
        ("url.path", "/users/7"),
        ("url.scheme", "http"),
        ("http.response.status_code", "200"),
        ("client.address", "127.0.0.1"),
        ("user_agent.original", "trace-test/1.0"),
        ("network.protocol.version", "1.1"),
        ("http.request.header.x-request-id", "req-123"),
        ("baggage.tenant", "acme"),
    ] {
        assert_eq!(server_span.attr(key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(server_span.attr("error.type"), None);
    let status = server_span.span.status.clone().unwrap_or_default();
    assert_eq!(status.code, OtlpStatus::Unset as i32);
    // The query string (with its token) is not recorded.
    assert!(
        server_span
            .span
            .attributes
            .iter()
            .all(|kv| !format!("{:?}", kv.value).contains("token=abc"))
    );

    // Resource attributes.
    assert_eq!(server_span.resource["service.name"], "trace-test");
    assert_eq!(server_span.resource["deployment.environment.name"], "test");
    assert_eq!(server_span.resource["telemetry.sdk.language"], "rust");
    assert_eq!(server_span.scope, "redline");

    // Operations are children of the server span.
    let load = find(&spans, "load_user");
    assert_eq!(load.span.kind, SpanKind::Internal as i32);
    assert_eq!(load.trace_id(), TRACE_ID);
    assert_eq!(load.parent_span_id(), server_span.span_id());
    let cache = find(&spans, "cache_lookup");
    assert_eq!(cache.parent_span_id(), server_span.span_id());
    let cache_status = cache.span.status.clone().unwrap();
    assert_eq!(cache_status.code, OtlpStatus::Error as i32);
    assert!(
        cache_status.message.contains("cache miss for 42"),
        "{cache_status:?}"
    );
    assert_eq!(cache.attr("error.type").as_deref(), Some("error"));

    // 5xx is an error, 4xx is not; both are new root traces.
    let fail = find(&spans, "GET /fail");
    assert_eq!(
        fail.span.status.clone().unwrap().code,
        OtlpStatus::Error as i32
    );
    assert_eq!(fail.attr("error.type").as_deref(), Some("500"));
    assert!(fail.span.parent_span_id.is_empty());
    assert_ne!(fail.trace_id(), TRACE_ID);
    let missing = find(&spans, "GET /missing");
    assert_eq!(
        missing.span.status.clone().unwrap_or_default().code,
        OtlpStatus::Unset as i32
    );
    assert_eq!(
        missing.attr("http.response.status_code").as_deref(),
        Some("404")
    );

    // The pipeline counted what it delivered (the count follows the
    // collector's answer, a moment after the receiver stored the spans).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = t.render_metrics();
    while !text.contains("redline_trace_spans_exported_total 5") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        text = t.render_metrics();
    }
    assert!(
        text.contains("redline_trace_spans_exported_total 5"),
        "{text}"
    );
    assert!(text.contains("redline_trace_export_errors_total 0"));
    server.abort();
    let started = Instant::now();
    assert_eq!(
        t.tracing().shutdown(),
        redline::traces::ShutdownOutcome::Flushed
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_carries_semconv_spans_and_links() {
    exports_server_and_operation_spans(OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_export_carries_semconv_spans_and_links() {
    exports_server_and_operation_spans(OtlpProtocol::HttpProtobuf).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_trace_headers_start_a_new_root_and_never_fail_the_request() {
    let receiver = Receiver::start().await;
    let t = Telemetry::builder()
        .config(config(Some(receiver.grpc_endpoint()), OtlpProtocol::Grpc))
        .build()
        .unwrap();
    let (addr, server) = serve(&t).await;
    let c = common::client();
    let bad = [
        format!("ff-{TRACE_ID}-{PARENT_ID}-01"), // forbidden version
        format!("00-{}-{PARENT_ID}-01", "0".repeat(32)), // all-zero trace id
        format!("00-{TRACE_ID}-{}-01", "0".repeat(16)), // all-zero span id
        format!("00-{}-{PARENT_ID}-01", &TRACE_ID[..31]), // short trace id
        format!("00-{TRACE_ID}-{}-01", &PARENT_ID[..15]), // short span id
        format!("00-{TRACE_ID}-{PARENT_ID}-01-extra"), // v00 with more fields
        format!("00-{}-{PARENT_ID}-01", TRACE_ID.to_uppercase()), // uppercase
        "junk".to_string(),
        "00-abc-def-01".to_string(),
        "\u{7f}".to_string(),
    ];
    let mut ids = Vec::new();
    for header in &bad {
        let Ok(value) = http::HeaderValue::from_str(header) else {
            continue;
        };
        let (status, tp) = request(
            &c,
            &format!("http://{addr}/users/1"),
            &[("traceparent", value.to_str().unwrap())],
        )
        .await;
        assert_eq!(status, 200, "{header}");
        let tp = tp.expect("traceparent on the response");
        assert!(!tp.contains(TRACE_ID), "{header} → {tp}");
        ids.push(tp[3..35].to_string());
    }
    assert!(ids.len() >= 9);
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter()
                .filter(|r| r.span.name == "GET /users/{id}")
                .count()
                >= ids.len()
        })
        .await;
    let servers: Vec<&Received> = spans
        .iter()
        .filter(|r| r.span.name == "GET /users/{id}")
        .collect();
    assert_eq!(servers.len(), ids.len());
    for s in servers {
        assert!(s.span.parent_span_id.is_empty(), "a new root trace");
        assert!(ids.contains(&s.trace_id()));
    }
    server.abort();
    let _ = t.tracing().shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_context_stays_local_and_disabled_means_none() {
    // Local: trace context without recording. By default responses carry
    // `traceparent` only for recorded traces, so none here.
    let t = Telemetry::builder()
        .config(config(None, OtlpProtocol::Grpc))
        .build()
        .unwrap();
    assert!(t.tracing().is_enabled() && !t.tracing().is_exporting());
    let (addr, server) = serve(&t).await;
    let c = common::client();
    let (status, tp) = request(&c, &format!("http://{addr}/users/1"), &[]).await;
    assert_eq!((status, tp), (200, None));
    server.abort();
    // `always`: the ids anyway (flags 00: not recorded).
    let mut cfg = config(None, OtlpProtocol::Grpc);
    cfg.traces.response_traceparent = redline::traces::ResponseTraceparent::Always;
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let (addr, server) = serve(&t).await;
    let (_, tp) = request(&c, &format!("http://{addr}/users/1"), &[]).await;
    let tp = tp.expect("local mode still answers with a traceparent");
    assert!(tp.ends_with("-00"), "{tp}");
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let (_, tp) = request(
        &c,
        &format!("http://{addr}/users/1"),
        &[("traceparent", &traceparent)],
    )
    .await;
    assert!(
        tp.unwrap().contains(TRACE_ID),
        "the caller's trace continues"
    );
    assert!(
        t.render_metrics()
            .contains("redline_trace_spans_exported_total 0")
    );
    assert_eq!(
        t.tracing().shutdown(),
        redline::traces::ShutdownOutcome::NothingToFlush
    );
    server.abort();

    // Disabled: no trace context at all.
    let mut cfg = config(None, OtlpProtocol::Grpc);
    cfg.traces.enabled = false;
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let (addr, server) = serve(&t).await;
    let (status, tp) = request(&c, &format!("http://{addr}/users/1"), &[]).await;
    assert_eq!((status, tp), (200, None));
    server.abort();
}

/// Sends `n` requests and returns the slowest latency.
async fn load(c: &common::HttpClient, addr: SocketAddr, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for _ in 0..n {
        let started = Instant::now();
        assert_eq!(
            request(c, &format!("http://{addr}/users/1"), &[]).await.0,
            200
        );
        worst = worst.max(started.elapsed());
    }
    worst
}

async fn outage(endpoint: String, protocol: OtlpProtocol) {
    let mut cfg = config(Some(endpoint), protocol);
    cfg.traces.sampler = SamplerConfig::AlwaysOn;
    cfg.traces.max_queue_size = 64;
    cfg.traces.max_export_batch_size = 16;
    cfg.traces.timeout = Duration::from_millis(500);
    cfg.traces.shutdown_timeout = Duration::from_secs(1);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let (addr, server) = serve(&t).await;
    let c = common::client();
    // 400 requests = 1200 spans through a 64-span queue.
    let worst = load(&c, addr, 400).await;
    assert!(
        worst < Duration::from_millis(250),
        "requests stay fast while the collector is down (worst {worst:?})"
    );
    let samples = common::parse(&t.render_metrics());
    let v = |name: &str, labels: &[(&str, &str)]| common::value(&samples, name, labels).unwrap();
    // A collector that refuses connections fails each export at once (the
    // queue drains: `export_failed`); one that never answers holds the
    // exporter (the queue fills: `queue_full`). Either way, counted.
    let dropped = v(
        "redline_trace_spans_dropped_total",
        &[("reason", "queue_full")],
    ) + v(
        "redline_trace_spans_dropped_total",
        &[("reason", "export_failed")],
    );
    assert!(dropped > 0.0, "lost spans are counted");
    assert!(
        v("redline_trace_queue_spans", &[]) <= 64.0 + 4.0,
        "memory stays bounded"
    );
    assert_eq!(v("redline_trace_queue_capacity_spans", &[]), 64.0);
    assert_eq!(v("redline_trace_spans_exported_total", &[]), 0.0);
    server.abort();
    let started = Instant::now();
    let outcome = t.tracing().shutdown();
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1600),
        "shutdown returns within its bound ({took:?}, {outcome:?})"
    );
    assert_ne!(outcome, redline::traces::ShutdownOutcome::Flushed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_down_requests_stay_fast_drops_are_counted_shutdown_is_bounded() {
    let port = common::free_port();
    outage(format!("http://127.0.0.1:{port}"), OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_that_never_answers_grpc() {
    let hole = BlackHole::start().await;
    outage(format!("http://{}", hole.addr), OtlpProtocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_that_never_answers_http() {
    let hole = BlackHole::start().await;
    outage(
        format!("http://{}/v1/traces", hole.addr),
        OtlpProtocol::HttpProtobuf,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_errors_are_counted_when_the_collector_is_down() {
    let port = common::free_port();
    let mut cfg = config(
        Some(format!("http://127.0.0.1:{port}/v1/traces")),
        OtlpProtocol::HttpProtobuf,
    );
    cfg.traces.timeout = Duration::from_millis(300);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let (addr, server) = serve(&t).await;
    let c = common::client();
    load(&c, addr, 5).await;
    // Wait for at least one export attempt (schedule delay 100 ms + retries).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let samples = common::parse(&t.render_metrics());
        let errors = common::value(&samples, "redline_trace_export_errors_total", &[]).unwrap();
        if errors >= 1.0 {
            let lost = common::value(
                &samples,
                "redline_trace_spans_dropped_total",
                &[("reason", "export_failed")],
            )
            .unwrap();
            assert!(lost >= 1.0);
            break;
        }
        assert!(Instant::now() < deadline, "no export error counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.abort();
    let _ = t.tracing().shutdown();
}

#[test]
fn tracing_spans_inside_a_handler_join_the_request_trace() {
    use tower::ServiceExt;
    use tracing_subscriber::layer::SubscriberExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let receiver = Receiver::start().await;
        let t = Telemetry::builder()
            .config(config(Some(receiver.grpc_endpoint()), OtlpProtocol::Grpc))
            .build()
            .unwrap();
        let subscriber = tracing_subscriber::registry().with(t.tracing().tracing_layer());
        let _default = tracing::subscriber::set_default(subscriber);
        let app: Router = Router::new()
            .route(
                "/work",
                get(|| async {
                    let span = tracing::info_span!("render_page", page = 3);
                    let _e = span.enter();
                    "done"
                }),
            )
            .layer(t.http_layer());
        let response = app
            .oneshot(
                http::Request::get("/work")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let spans = receiver
            .wait_for(Duration::from_secs(10), |s| s.len() >= 2)
            .await;
        let server_span = find(&spans, "GET /work");
        let child = find(&spans, "render_page");
        assert_eq!(child.trace_id(), server_span.trace_id());
        assert_eq!(child.parent_span_id(), server_span.span_id());
        assert_eq!(child.attr("page").as_deref(), Some("3"));
        let _ = t.tracing().shutdown();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_follows_the_parent_and_the_ratio() {
    let receiver = Receiver::start().await;
    let mut cfg = config(Some(receiver.grpc_endpoint()), OtlpProtocol::Grpc);
    cfg.traces.sampler = SamplerConfig::ParentBasedTraceIdRatio(0.25);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let (addr, server) = serve(&t).await;
    let c = common::client();
    // A sampled parent is followed whatever the ratio; an unsampled one too
    // (and its operations are not recorded either).
    let sampled_parent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let other_trace = "0af7651916cd43dd8448eb211c80319c";
    let unsampled_parent = format!("00-{other_trace}-{PARENT_ID}-00");
    let (_, tp) = request(
        &c,
        &format!("http://{addr}/users/1"),
        &[("traceparent", &sampled_parent)],
    )
    .await;
    assert!(tp.unwrap().contains(TRACE_ID));
    let (_, tp) = request(
        &c,
        &format!("http://{addr}/users/2"),
        &[("traceparent", &unsampled_parent)],
    )
    .await;
    assert_eq!(
        tp, None,
        "unsampled: no traceparent on the response by default"
    );
    // New traces: about a quarter of 400 are recorded, and each recorded one
    // is exported under the trace id its response announced.
    let mut announced = Vec::new();
    for _ in 0..400 {
        if let (404, Some(tp)) = request(&c, &format!("http://{addr}/missing"), &[]).await {
            announced.push(tp[3..35].to_string());
        }
    }
    assert!(
        (60..=140).contains(&announced.len()),
        "about 25% of 400 sampled: {}",
        announced.len()
    );
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().filter(|r| r.span.name == "GET /missing").count() >= announced.len()
        })
        .await;
    let missing: Vec<String> = spans
        .iter()
        .filter(|r| r.span.name == "GET /missing")
        .map(Received::trace_id)
        .collect();
    assert_eq!(missing.len(), announced.len());
    for id in &announced {
        assert!(
            missing.contains(id),
            "trace {id} announced but not exported"
        );
    }
    let users: Vec<&Received> = spans
        .iter()
        .filter(|r| r.span.name == "GET /users/{id}")
        .collect();
    assert_eq!(users.len(), 1, "only the sampled parent's request");
    assert_eq!(users[0].trace_id(), TRACE_ID);
    assert!(
        spans.iter().all(|r| r.trace_id() != other_trace),
        "nothing of the unsampled trace is exported"
    );
    server.abort();
    let _ = t.tracing().shutdown();
}
