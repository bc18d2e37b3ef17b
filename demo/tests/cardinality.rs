//! The cardinality guard under attack: random paths and bogus methods add a
//! handful of series, and a route extractor that leaks raw paths is capped.

mod common;

use std::sync::Arc;

use axum::body::Body;
use common::*;
use http::Request;
use rand::Rng;
use tower::{Layer, ServiceExt};

const COUNT: &str = "http_server_request_duration_seconds_count";

fn random_token(rng: &mut impl Rng, len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_adds_only_a_handful_of_series() {
    let demo = start_demo().await;
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let c = client();
    // Normal traffic first.
    assert_eq!(get(&c, &format!("http://{app}/hello")).await.0, 200);
    let before = parse(&scrape(&c, admin).await);
    let series_before = count_series(&before, COUNT);

    // 10,000 random paths and 1,000 bogus methods, 16 at a time.
    let mut rng = rand::rng();
    let lower = b"abcdefghijklmnopqrstuvwxyz0123456789-_.";
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut requests: Vec<(String, String)> = (0..10_000)
        .map(|_| {
            let len = rng.random_range(1..40);
            (
                "GET".to_string(),
                format!("/{}", random_token(&mut rng, len, lower)),
            )
        })
        .collect();
    requests.extend((0..1_000).map(|i| {
        let len = rng.random_range(3..12);
        let path = if i % 2 == 0 {
            "/hello".to_string()
        } else {
            format!("/x{i}")
        };
        (random_token(&mut rng, len, upper), path)
    }));
    let requests = Arc::new(requests);
    let mut workers = Vec::new();
    for w in 0..16 {
        let (c, requests) = (c.clone(), requests.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for (method, path) in requests.iter().skip(w).step_by(16) {
                statuses.push(
                    send(&c, method, &format!("http://{app}{path}"), b"", None)
                        .await
                        .0,
                );
            }
            statuses
        }));
    }
    let mut answered = 0;
    for w in workers {
        answered += w.await.unwrap().len();
    }
    assert_eq!(answered, 11_000);

    let after = parse(&scrape(&c, admin).await);
    let series_after = count_series(&after, COUNT);
    // New series: unmatched GET 404, unmatched _OTHER 404, /hello _OTHER 405.
    assert_eq!(
        series_after - series_before,
        3,
        "series before {series_before}, after {series_after}"
    );
    let total: f64 = after
        .iter()
        .filter(|s| s.name == COUNT)
        .map(|s| s.value)
        .sum();
    assert_eq!(total, 11_001.0, "no request lost");
    assert_eq!(
        value(
            &after,
            "redline_metric_overflow_total",
            &[("metric", "http_server_request_duration_seconds")]
        ),
        Some(0.0),
        "no overflow needed: bounded labels absorbed the attack"
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn a_leaky_route_extractor_is_capped_and_overflow_is_counted() {
    let config = redline::Config {
        admin_listen: None,
        max_series_per_metric: 50,
        ..Default::default()
    };
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();

    /// Deliberately wrong: returns the raw path as the route.
    #[derive(Clone)]
    struct RawPath;
    impl redline::http::RouteExtractor for RawPath {
        fn route<'r>(&self, uri: &'r http::Uri, _: &'r http::Extensions) -> Option<&'r str> {
            Some(uri.path())
        }
    }
    let svc = t
        .http_layer()
        .with_route_extractor(RawPath)
        .layer(tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        }));
    for i in 0..1_000 {
        let response = svc
            .clone()
            .oneshot(
                Request::get(format!("/user/{i}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        drop(response);
    }
    let m = parse(&t.render_metrics());
    // The unmatched route takes one slot of the route table, so 49 raw paths
    // get their own series; the rest fold into one overflow route.
    assert_eq!(count_series(&m, COUNT), 50);
    let overflow_route = [
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("http_route", "_OVERFLOW"),
        ("url_scheme", "http"),
    ];
    assert_eq!(value(&m, COUNT, &overflow_route), Some(951.0));
    assert_eq!(
        value(
            &m,
            "redline_metric_overflow_total",
            &[("metric", "http_server_request_duration_seconds")]
        ),
        Some(951.0)
    );
    let total: f64 = m.iter().filter(|s| s.name == COUNT).map(|s| s.value).sum();
    assert_eq!(total, 1_000.0, "overflow keeps every observation");
    assert_eq!(t.http_metrics().series_count(), 50);
}
