//! The layer in front of a plain hyper server (no axum router): a tower
//! service with a `RouteFn` extractor, served by hyper's HTTP/1 connection
//! builder on loopback.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use redline::http::RouteFn;
use tower::Layer;

/// The application's own routing: two templates, everything else 404.
fn route(uri: &http::Uri) -> Option<&'static str> {
    let path = uri.path();
    if path == "/hello" {
        Some("/hello")
    } else if path.starts_with("/items/") && path[7..].chars().all(|c| c.is_ascii_digit()) {
        Some("/items/{id}")
    } else {
        None
    }
}

async fn app(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match route(req.uri()) {
        Some("/hello") => (StatusCode::OK, "hello\n"),
        Some(_) => (StatusCode::OK, "an item\n"),
        None => (StatusCode::NOT_FOUND, "no\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_hyper_server_with_route_fn() {
    let config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        ..Default::default()
    };
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let layer = t.http_layer().with_route_extractor(RouteFn(route));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        // Bounded: the test sends 5 connections' worth of requests.
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(layer.layer(tower::service_fn(app)));
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let c = client();
    assert_eq!(
        get(&c, &format!("http://{addr}/hello")).await,
        (200, "hello\n".into())
    );
    assert_eq!(get(&c, &format!("http://{addr}/items/42")).await.0, 200);
    assert_eq!(get(&c, &format!("http://{addr}/items/43")).await.0, 200);
    assert_eq!(get(&c, &format!("http://{addr}/items/x")).await.0, 404);
    assert_eq!(
        send(&c, "POST", &format!("http://{addr}/hello"), b"abcd", None)
            .await
            .0,
        200
    );
    server.abort();

    let m = parse(&t.render_metrics());
    let labels = |method, route, status| {
        vec![
            ("http_request_method", method),
            ("http_response_status_code", status),
            ("http_route", route),
            ("url_scheme", "http"),
        ]
    };
    let count = "http_server_request_duration_seconds_count";
    assert_eq!(value(&m, count, &labels("GET", "/hello", "200")), Some(1.0));
    assert_eq!(
        value(&m, count, &labels("GET", "/items/{id}", "200")),
        Some(2.0)
    );
    assert_eq!(
        value(&m, count, &labels("GET", "unmatched", "404")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "http_server_request_body_size_bytes_sum",
            &labels("POST", "/hello", "200")
        ),
        Some(4.0),
        "Content-Length of a hyper Incoming body"
    );
    assert_eq!(
        value(
            &m,
            "http_server_response_body_size_bytes_sum",
            &labels("GET", "/items/{id}", "200")
        ),
        Some(16.0)
    );
}
