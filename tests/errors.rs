//! The error tracker through the HTTP layer and `/errors/report`: 5xx
//! responses and panics are captured with route and request id, grouped
//! when they differ only in ids, and reported.

mod common;

use axum::Router;
use axum::routing::get;
use http_body_util::Full;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_captured_grouped_and_reported() {
    let config = redline::Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        system_metrics: false,
        admin_token: common::admin_token(),
        ..Default::default()
    };
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let guard = t.serve_admin().await.unwrap();
    let admin = guard.admin_addr().unwrap();
    let c = common::client();
    let send = |path: String, id: &str| {
        hyper::Request::get(format!("http://{addr}{path}"))
            .header("x-request-id", id)
            .body(Full::new(bytes::Bytes::new()))
            .unwrap()
    };
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
