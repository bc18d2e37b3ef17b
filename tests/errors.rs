//! The error tracker through the HTTP layer and `/errors/report`: 5xx
//! responses and panics are captured with route and request id, grouped
//! when they differ only in ids, and reported.

mod common;

use axum::Router;
use axum::routing::get;
use http_body_util::Full;

/// Telemetry with an admin listener on an ephemeral port and the test token.
fn telemetry() -> redline::Telemetry {
    let config = redline::Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        system_metrics: false,
        admin_token: common::admin_token(),
        ..Default::default()
    };
    redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap()
}

/// Serves `app` on an ephemeral loopback port: its address and the task.
async fn serve(app: Router) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}

/// `GET http://{addr}{path}` with `x-request-id: {id}`.
fn get_with_id(
    addr: std::net::SocketAddr,
    path: &str,
    id: &str,
) -> hyper::Request<Full<bytes::Bytes>> {
    hyper::Request::get(format!("http://{addr}{path}"))
        .header("x-request-id", id)
        .body(Full::new(bytes::Bytes::new()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_captured_grouped_and_reported() {
    let t = telemetry();
    let app: Router = Router::new()
        .route(
            "/orders/{id}",
            get(|| async { http::StatusCode::BAD_GATEWAY }),
        )
        .route(
            "/boom/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                    if id > 0 {
                        panic!("order {id} is corrupt; contact jane@example.com");
                    }
                    "fine"
                },
            ),
        )
        .route("/missing", get(|| async { http::StatusCode::NOT_FOUND }))
        .layer(t.http_layer());
    let (addr, server) = serve(app).await;
    let guard = t.serve_admin().await.unwrap();
    let admin = guard.admin_addr().unwrap();
    let c = common::client();
    let send = |path: String, id: &str| get_with_id(addr, &path, id);
    for i in 1..=3 {
        let r = c
            .request(send(format!("/orders/{i}"), &format!("req-{i}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 502);
    }
    for i in [11, 12] {
        let r = c
            .request(send(format!("/boom/{i}"), &format!("boom-{i}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
    }
    // 4xx are the client's mistakes, not errors of the service.
    assert_eq!(
        c.request(send("/missing".into(), "x"))
            .await
            .unwrap()
            .status(),
        404
    );

    let (status, body) = common::get(&c, &format!("http://{admin}/errors/report")).await;
    assert_eq!(status, 200);
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["total"], 5);
    assert_eq!(report["groups"], 2, "{report:#}");
    assert_eq!(report["by_category"]["http_5xx"], 3);
    assert_eq!(report["by_category"]["panic"], 2);
    let top = &report["top_by_count"][0];
    assert_eq!(top["count"], 3);
    assert_eq!(top["kind"], "http_502");
    assert_eq!(top["sample"]["route"], "/orders/{id}");
    assert_eq!(top["sample"]["request_id"], "req-3", "the latest sample");
    let panic = &report["top_by_count"][1];
    assert_eq!(panic["kind"], "panic");
    assert_eq!(
        panic["count"], 2,
        "ids in the message do not split the group"
    );
    let message = panic["sample"]["message"].as_str().unwrap();
    assert!(message.contains("order 12 is corrupt"), "{message}");
    assert!(!message.contains("jane@example.com"), "redacted: {message}");
    assert_eq!(report["most_recent"][0]["kind"], "panic");

    let text = t.render_metrics();
    assert!(
        text.contains(r#"redline_errors_total{category="http_5xx"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"redline_errors_total{category="panic"} 2"#));
    assert!(text.contains("redline_error_groups 2"));
    server.abort();
    guard.shutdown().await;
}

/// A handler's 500 in production mode: the client gets the fixed body, and
/// the tracker keeps the cause (the body it wrote, or its `ErrorCause` with
/// the source chain), masked, with the request id and the user it reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cause_of_a_500_is_kept_masked_before_the_body_is_sanitized() {
    #[derive(Debug)]
    struct LoadError(std::io::Error);
    impl std::fmt::Display for LoadError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("could not load the order")
        }
    }
    impl std::error::Error for LoadError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    let t = telemetry();
    let app = t.instrument(
        Router::new()
            .route(
                "/boom",
                get(|| async {
                    (
                        http::StatusCode::INTERNAL_SERVER_ERROR,
                        "db error: password=hunter2 at 10.0.0.5:5432",
                    )
                }),
            )
            .route(
                "/orders/{id}",
                get(
                    |axum::extract::Path(id): axum::extract::Path<u64>| async move {
                        use axum::response::IntoResponse;
                        let error = LoadError(std::io::Error::other(
                            "connect to postgres://app:s3cret-pw@10.0.0.5/orders refused",
                        ));
                        let mut response =
                            (http::StatusCode::SERVICE_UNAVAILABLE, "try later").into_response();
                        response
                            .extensions_mut()
                            .insert(redline::errors::ErrorCause::from_error(&error));
                        response
                            .extensions_mut()
                            .insert(redline::errors::UserKey::new(&format!("customer-{id}")));
                        response
                    },
                ),
            ),
    );
    let (addr, server) = serve(app).await;
    let guard = t.serve_admin().await.unwrap();
    let admin = guard.admin_addr().unwrap();
    let c = common::client();
    let request = |path: &str, id: &str| get_with_id(addr, path, id);

    let response = c.request(request("/boom", "req-boom-1")).await.unwrap();
    assert_eq!(response.status(), 500);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        !body.contains("hunter2") && !body.contains("10.0.0.5"),
        "{body}"
    );
    assert!(body.contains("internal server error"), "{body}");
    for id in 1..=5 {
        let response = c
            .request(request(
                &format!("/orders/{id}"),
                &format!("req-order-{id}"),
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
    }

    let (status, body) = common::get(&c, &format!("http://{admin}/errors/report")).await;
    assert_eq!(status, 200);
    assert!(
        !body.contains("hunter2") && !body.contains("s3cret-pw"),
        "{body}"
    );
    assert!(!body.contains("customer-"), "no user key: {body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    let group = |kind: &str| {
        report["most_recent"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} group: {report:#}"))
            .clone()
    };
    let boom = group("http_500");
    assert_eq!(boom["sample"]["request_id"], "req-boom-1");
    assert_eq!(
        boom["sample"]["cause"],
        "db error: password=[REDACTED] at 10.0.0.5:5432"
    );
    assert_eq!(boom["severity"], "high");
    let orders = group("http_503");
    assert_eq!(orders["sample"]["request_id"], "req-order-5");
    assert_eq!(orders["sample"]["cause"], "could not load the order");
    let chain = orders["sample"]["chain"][0].as_str().unwrap();
    assert!(chain.starts_with("connect to postgres://app:"), "{chain}");
    assert_eq!(orders["users_affected"], 5);
    assert_eq!(orders["hints"]["route"]["value"], "/orders/{id}");
    assert_eq!(orders["hints"]["chain"]["value"], chain);
    assert_eq!(
        report["top_by_impact"][0]["kind"], "http_503",
        "5 users first"
    );

    let text = t.render_metrics();
    assert!(text.contains("redline_error_groups_new_total 2"), "{text}");
    assert!(
        text.contains("redline_error_group_users_affected_max 5"),
        "{text}"
    );
    server.abort();
    guard.shutdown().await;
}
