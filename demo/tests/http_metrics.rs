//! The demo, driven over real HTTP on loopback, scraped, and checked for
//! exact counts and label values.

mod common;

use std::time::Duration;

use common::*;
use redline_demo::FaultSettings;
use tokio::io::AsyncWriteExt;

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

fn labels<'a>(method: &'a str, route: &'a str, status: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("http_request_method", method),
        ("http_response_status_code", status),
        ("http_route", route),
        ("url_scheme", "http"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_counts_and_labels_across_routes() {
    let demo = start_demo().await;
    let app = demo.app_addr();
    let admin = demo.admin_addr().unwrap();
    let c = client();
    let json = Some("application/json");

    for _ in 0..3 {
        assert_eq!(
            get(&c, &format!("http://{app}/hello")).await,
            (200, "hello\n".into())
        );
    }
    let (s, body) = send(
        &c,
        "POST",
        &format!("http://{app}/messages"),
        br#"{"chat_id":5,"text":"hi there"}"#,
        json,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // The chat's first message: its token, for reading it back.
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    let chat_token = reply["token"].as_str().unwrap().to_owned();
    let (s, _) = send(
        &c,
        "POST",
        &format!("http://{app}/messages"),
        br#"{"chat_id":5,"text":"/echo x"}"#,
        json,
    )
    .await;
    assert_eq!(s, 200);
    let (s, body) = send(
        &c,
        "POST",
        &format!("http://{app}/messages"),
        b"{oops",
        json,
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.contains(r#""error":"invalid_json""#), "{body}");
    let (s, body) = send(
        &c,
        "POST",
        &format!("http://{app}/messages"),
        br#"{"chat_id":5,"text":"/nope"}"#,
        json,
    )
    .await;
    assert_eq!((s, body.contains("unknown_command")), (400, true));
    let conversation = format!("http://{app}/conversations/5");
    assert_eq!(
        send_as(&c, "GET", &conversation, b"", None, Some(&chat_token))
            .await
            .0,
        200
    );
    assert_eq!(
        get(&c, &format!("http://{app}/conversations/999")).await.0,
        404
    );
    assert_eq!(
        get(&c, &format!("http://{app}/conversations/abc")).await.0,
        400
    );
    assert_eq!(
        get(&c, &format!("http://{app}/groups/3/members")).await.0,
        200
    );
    assert_eq!(
        send(
            &c,
            "POST",
            &format!("http://{app}/media"),
            &[0x89, b'P', b'N', b'G', 1, 2, 3],
            None
        )
        .await
        .0,
        200
    );
    let big = vec![0u8; redline_demo::MAX_BODY_BYTES + 1];
    // On a connection of its own: the server refuses before reading the
    // body and closes the connection, which a pooled client could reuse.
    let (s, body) = send(
        &client(),
        "POST",
        &format!("http://{app}/media"),
        &big,
        None,
    )
    .await;
    assert_eq!(s, 413);
    assert!(body.contains("body_too_large"), "{body}");
    for path in ["/nope", "/hello/extra"] {
        assert_eq!(get(&c, &format!("http://{app}{path}")).await.0, 404);
    }
    assert_eq!(
        send(&c, "PROPFIND", &format!("http://{app}/hello"), b"", None)
            .await
            .0,
        405
    );
    assert_eq!(
        send(&c, "DELETE", &format!("http://{app}/hello"), b"", None)
            .await
            .0,
        405
    );

    let response = c
        .get(format!("http://{admin}/metrics").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = scrape(&c, admin).await;
    let m = parse(&text);
    let count = |method, route, status| value(&m, DURATION_COUNT, &labels(method, route, status));
    assert_eq!(count("GET", "/hello", "200"), Some(3.0));
    assert_eq!(count("POST", "/messages", "200"), Some(2.0));
    assert_eq!(count("POST", "/messages", "400"), Some(2.0));
    assert_eq!(count("GET", "/conversations/{id}", "200"), Some(1.0));
    assert_eq!(count("GET", "/conversations/{id}", "404"), Some(1.0));
    assert_eq!(count("GET", "/conversations/{id}", "400"), Some(1.0));
    assert_eq!(count("GET", "/groups/{id}/members", "200"), Some(1.0));
    assert_eq!(count("POST", "/media", "200"), Some(1.0));
    assert_eq!(count("POST", "/media", "413"), Some(1.0));
    assert_eq!(
        count("GET", "unmatched", "404"),
        Some(2.0),
        "raw paths never become labels"
    );
    assert_eq!(
        count("_OTHER", "/hello", "405"),
        Some(1.0),
        "unknown methods become _OTHER"
    );
    assert_eq!(count("DELETE", "/hello", "405"), Some(1.0));
    assert!(
        !text.contains("/nope") && !text.contains("/hello/extra") && !text.contains("PROPFIND")
    );

    // Sizes: /hello answers 6 bytes; the media upload sent 7.
    let hello = labels("GET", "/hello", "200");
    assert_eq!(
        value(&m, "http_server_response_body_size_bytes_sum", &hello),
        Some(18.0)
    );
    assert_eq!(
        value(&m, "http_server_request_body_size_bytes_sum", &hello),
        Some(0.0)
    );
    let media = labels("POST", "/media", "200");
    assert_eq!(
        value(&m, "http_server_request_body_size_bytes_sum", &media),
        Some(7.0)
    );
    // Every request is finished, so nothing is in flight.
    for s in m.iter().filter(|s| s.name == "http_server_active_requests") {
        assert_eq!(s.value, 0.0, "{s:?}");
    }
    assert!(
        value(
            &m,
            "http_server_active_requests",
            &[("http_request_method", "GET"), ("url_scheme", "http")]
        )
        .is_some()
    );

    // The operations behind the routes.
    let op = |operation, outcome| {
        value(
            &m,
            "redline_operation_duration_seconds_count",
            &[("operation", operation), ("outcome", outcome)],
        )
    };
    assert_eq!(op("conversation_engine", "success"), Some(1.0));
    assert_eq!(op("command_executor", "success"), Some(1.0));
    assert_eq!(op("command_executor", "error"), Some(1.0));
    assert_eq!(op("media_handler", "success"), Some(1.0));
    assert_eq!(op("group_manager", "success"), Some(1.0));
    assert_eq!(
        value(
            &m,
            "redline_operations_active",
            &[("operation", "media_handler")]
        ),
        Some(0.0)
    );

    // Standard families.
    let build = m
        .iter()
        .find(|s| s.name == "build_info")
        .expect("build_info");
    assert_eq!(build.value, 1.0);
    assert_eq!(build.labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(build.labels["redline_version"], redline::REDLINE_VERSION);
    assert!(build.labels.contains_key("revision") && build.labels.contains_key("rustc"));
    assert!(value(&m, "process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(value(&m, "redline_system_memory_total_bytes", &[]).unwrap() > 0.0);
    assert!(value(&m, "redline_system_load_average", &[("period", "1m")]).is_some());
    let target = m.iter().find(|s| s.name == "target_info").unwrap();
    assert_eq!(target.labels["service_name"], "redline-demo");
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_requests_and_dropped_clients() {
    let demo = start_demo().await;
    let app = demo.app_addr();
    let admin = demo.admin_addr().unwrap();
    let c = client();
    demo.faults()
        .set(FaultSettings {
            error_rate: None,
            latency_ms: Some(400),
        })
        .unwrap();

    // A slow request in flight shows up in the gauge.
    let slow = {
        let c = c.clone();
        tokio::spawn(async move { get(&c, &format!("http://{app}/hello")).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let m = parse(&scrape(&c, admin).await);
    let active = [("http_request_method", "GET"), ("url_scheme", "http")];
    assert_eq!(value(&m, "http_server_active_requests", &active), Some(1.0));
    assert_eq!(slow.await.unwrap().0, 200);

    // A client that sends a request and hangs up before the answer.
    let mut stream = tokio::net::TcpStream::connect(app).await.unwrap();
    stream
        .write_all(b"GET /groups/1/members HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(stream);

    // Wait (bounded) for the server to notice.
    let dropped = labels_with_error("GET", "/groups/{id}/members", "", "client_disconnected");
    let mut seen = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = parse(&scrape(&c, admin).await);
        if let Some(v) = value(&m, DURATION_COUNT, &dropped) {
            seen = Some((v, value(&m, "http_server_active_requests", &active)));
            break;
        }
    }
    assert_eq!(
        seen,
        Some((1.0, Some(0.0))),
        "dropped request recorded and gauge back to 0"
    );
    demo.shutdown().await;
}

fn labels_with_error<'a>(
    method: &'a str,
    route: &'a str,
    status: &'a str,
    error: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut l = vec![("error_type", error), ("http_request_method", method)];
    if !status.is_empty() {
        l.push(("http_response_status_code", status));
    }
    l.push(("http_route", route));
    l.push(("url_scheme", "http"));
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_are_5xx_with_error_type() {
    let demo = start_demo().await;
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let c = client();
    // Change faults at run time through the admin endpoint.
    let (s, body) = send(
        &c,
        "PUT",
        &format!("http://{admin}/faults"),
        br#"{"error_rate":1.0}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = send(
        &c,
        "PUT",
        &format!("http://{admin}/faults"),
        br#"{"error_rate":2}"#,
        Some("application/json"),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    for _ in 0..4 {
        assert_eq!(get(&c, &format!("http://{app}/hello")).await.0, 500);
    }
    let m = parse(&scrape(&c, admin).await);
    assert_eq!(
        value(
            &m,
            DURATION_COUNT,
            &labels_with_error("GET", "/hello", "500", "500")
        ),
        Some(4.0)
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_requests_are_measured_like_http1() {
    let demo = start_demo().await;
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    // HTTP/2 with prior knowledge (h2c), as gRPC clients speak it.
    let h2: HttpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    for _ in 0..3 {
        let response = h2
            .get(format!("http://{app}/hello").parse().unwrap())
            .await
            .unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
    }
    let m = parse(&scrape(&client(), admin).await);
    assert_eq!(
        value(&m, DURATION_COUNT, &labels("GET", "/hello", "200")),
        Some(3.0)
    );
    demo.shutdown().await;
}
