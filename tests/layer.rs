//! The layer on its own, around axum routers and plain tower services:
//! panics, handler errors, body errors, custom route extractors.

mod common;

use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use common::*;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use redline::Telemetry;
use redline::http::RouteFn;
use tower::{Layer, ServiceExt};

const COUNT: &str = "http_server_request_duration_seconds_count";

fn telemetry() -> Telemetry {
    let config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    Telemetry::builder().config(config).build().unwrap()
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_generic_500() {
    let t = telemetry();
    let app: Router = Router::new()
        .route(
            "/boom/{id}",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("secret internal detail");
                }
                "unreachable"
            }),
        )
        .layer(t.http_layer());
    let response = app
        .oneshot(Request::get("/boom/7").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(!body.contains("secret"), "{body}");
    assert!(body.contains("internal_error"));
    let m = parse(&t.render_metrics());
    let labels = [
        ("error_type", "panic"),
        ("http_request_method", "GET"),
        ("http_response_status_code", "500"),
        ("http_route", "/boom/{id}"),
        ("url_scheme", "http"),
    ];
    assert_eq!(value(&m, COUNT, &labels), Some(1.0));
}

#[tokio::test]
async fn handler_errors_and_plain_tower_services() {
    let t = telemetry();
    let failing = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Err::<Response<Full<Bytes>>, &'static str>("backend exploded")
    });
    let layer = t
        .http_layer()
        .with_route_extractor(RouteFn(|uri: &http::Uri| {
            (uri.path() == "/rpc").then_some("/rpc")
        }));
    let svc = layer.layer(failing);
    let err = svc
        .oneshot(
            Request::post("https://example.test/rpc")
                .body(Full::new(Bytes::from_static(b"abc")))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err, "backend exploded");

    let ok = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"pong"))))
    });
    let svc = t
        .http_layer()
        .with_route_extractor(RouteFn(|uri: &http::Uri| {
            (uri.path() == "/rpc").then_some("/rpc")
        }))
        .layer(ok);
    for path in ["/rpc", "/elsewhere"] {
        let response = svc
            .clone()
            .oneshot(Request::get(path).body(Full::new(Bytes::new())).unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"pong");
    }
    let m = parse(&t.render_metrics());
    let failed = [
        ("error_type", "handler_error"),
        ("http_request_method", "POST"),
        ("http_route", "/rpc"),
        ("url_scheme", "https"),
    ];
    assert_eq!(value(&m, COUNT, &failed), Some(1.0));
    assert_eq!(
        value(&m, "http_server_request_body_size_bytes_sum", &failed),
        Some(3.0)
    );
    let ok = |route| {
        [
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", route),
            ("url_scheme", "http"),
        ]
    };
    assert_eq!(value(&m, COUNT, &ok("/rpc")), Some(1.0));
    assert_eq!(value(&m, COUNT, &ok("unmatched")), Some(1.0));
    assert_eq!(
        value(&m, "http_server_response_body_size_bytes_sum", &ok("/rpc")),
        Some(4.0)
    );
}

#[tokio::test]
async fn a_failing_response_body_is_a_body_error() {
    let t = telemetry();
    let streaming = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        let frames = futures_stream();
        Ok::<_, Infallible>(Response::new(StreamBody::new(frames)))
    });
    let svc = t.http_layer().layer(streaming);
    let response = svc
        .oneshot(
            Request::get("/stream")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(response.into_body().collect().await.is_err());
    let m = parse(&t.render_metrics());
    let labels = [
        ("error_type", "body_error"),
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("http_route", "unmatched"),
        ("url_scheme", "http"),
    ];
    assert_eq!(value(&m, COUNT, &labels), Some(1.0));
    assert_eq!(
        value(&m, "http_server_response_body_size_bytes_sum", &labels),
        Some(5.0)
    );
}

type Frame = Result<http_body::Frame<Bytes>, std::io::Error>;

fn futures_stream() -> impl futures_core::Stream<Item = Frame> + Send {
    struct Frames(u8);
    impl futures_core::Stream for Frames {
        type Item = Frame;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Frame>> {
            self.0 += 1;
            std::task::Poll::Ready(match self.0 {
                1 => Some(Ok(http_body::Frame::data(Bytes::from_static(b"hello")))),
                2 => Some(Err(std::io::Error::other("disk gone"))),
                _ => None,
            })
        }
    }
    Frames(0)
}

#[tokio::test]
async fn a_body_dropped_before_the_end_counts_as_disconnected() {
    let t = telemetry();
    // Larger than the complete-body limit (64 KiB), so the body is wrapped
    // and its end observed.
    let app: Router = Router::new()
        .route("/big", get(|| async { "x".repeat(100_000) }))
        .route(
            "/stream",
            get(|| async { Body::from_stream(futures_stream_ok()) }),
        )
        .layer(t.http_layer());
    for path in ["/big", "/stream"] {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        // Response headers arrived; the client goes away before reading the body.
        drop(response);
    }
    let m = parse(&t.render_metrics());
    for route in ["/big", "/stream"] {
        let labels = [
            ("error_type", "client_disconnected"),
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", route),
            ("url_scheme", "http"),
        ];
        assert_eq!(value(&m, COUNT, &labels), Some(1.0), "{route}");
        assert_eq!(
            value(&m, "http_server_response_body_size_bytes_sum", &labels),
            Some(0.0)
        );
    }
    assert_eq!(
        value(
            &m,
            "http_server_active_requests",
            &[("http_request_method", "GET"), ("url_scheme", "http")]
        ),
        Some(0.0)
    );
}

fn futures_stream_ok() -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    struct Chunks(u8);
    impl futures_core::Stream for Chunks {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            self.0 += 1;
            std::task::Poll::Ready((self.0 <= 3).then(|| Ok(Bytes::from_static(b"chunk"))))
        }
    }
    Chunks(0)
}

#[tokio::test]
async fn streaming_and_large_bodies_are_measured_to_their_end() {
    let t = telemetry();
    let app: Router = Router::new()
        .route("/big", get(|| async { "y".repeat(100_000) }))
        .route("/small", get(|| async { "small" }))
        .route(
            "/stream",
            get(|| async { Body::from_stream(futures_stream_ok()) }),
        )
        .layer(t.http_layer());
    for path in ["/big", "/small", "/stream"] {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        // Until the body is read, a wrapped body's request is still active.
        let active = value(
            &parse(&t.render_metrics()),
            "http_server_active_requests",
            &[("http_request_method", "GET"), ("url_scheme", "http")],
        );
        let expect_active = if path == "/small" { 0.0 } else { 1.0 };
        assert_eq!(
            active,
            Some(expect_active),
            "{path}: complete small bodies finish at once"
        );
        response.into_body().collect().await.unwrap();
    }
    let m = parse(&t.render_metrics());
    let ok = |route| {
        [
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("http_route", route),
            ("url_scheme", "http"),
        ]
    };
    let sent = |route| value(&m, "http_server_response_body_size_bytes_sum", &ok(route));
    assert_eq!(sent("/big"), Some(100_000.0));
    assert_eq!(sent("/small"), Some(5.0));
    assert_eq!(sent("/stream"), Some(15.0));
    for route in ["/big", "/small", "/stream"] {
        assert_eq!(value(&m, COUNT, &ok(route)), Some(1.0), "{route}");
    }
}

#[tokio::test]
async fn a_propagated_panic_is_still_recorded_as_a_panic() {
    let t = telemetry();
    let app: Router = Router::new()
        .route(
            "/boom",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("propagates");
                }
                "unreachable"
            }),
        )
        .layer(t.http_layer().catch_panics(false));
    let joined =
        tokio::spawn(app.oneshot(Request::get("/boom").body(Body::empty()).unwrap())).await;
    assert!(joined.unwrap_err().is_panic());
    let m = parse(&t.render_metrics());
    let labels = [
        ("error_type", "panic"),
        ("http_request_method", "GET"),
        ("http_route", "/boom"),
        ("url_scheme", "http"),
    ];
    assert_eq!(value(&m, COUNT, &labels), Some(1.0));
}
