//! HTTP hardening on the demo over real HTTP: request ids, security
//! headers, body limit, timeout, CORS allow-list, header limits, and the
//! admin responses' headers.

mod common;

use std::time::Duration;

use http_body_util::{BodyExt, Full};

async fn request(
    c: &common::HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> http::Response<bytes::Bytes> {
    let mut b = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        c.request(b.body(Full::new(bytes::Bytes::from(body))).unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_security_headers_limits_and_cors() {
    let mut options = common::demo_options();
    options.config.hardening.request_timeout = Duration::from_millis(300);
    options.config.hardening.cors_origins = vec!["https://app.example.com".parse().unwrap()];
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let c = common::client();
    let hello = format!("http://{app}/hello");

    // Security headers and a generated request id.
    let r = request(&c, "GET", &hello, &[], vec![]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        r.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    // A valid incoming id is kept; an unacceptable one is replaced.
    let r = request(
        &c,
        "GET",
        &hello,
        &[("x-request-id", "client-req-7")],
        vec![],
    )
    .await;
    assert_eq!(r.headers()["x-request-id"], "client-req-7");
    let long = "x".repeat(200);
    for bad in ["has spaces", "quote\"d", long.as_str()] {
        let r = request(&c, "GET", &hello, &[("x-request-id", bad)], vec![]).await;
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36);
    }

    // Body limit: 413 from the announced length, before anything is read.
    // (Raw TCP: a client still sending a 2 MiB body may see the connection
    // closed under it, which is the point, but makes the test racy.)
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(app).await.unwrap();
        stream
            .write_all(
                b"POST /media HTTP/1.1\r\nhost: x\r\ncontent-length: 2097152\r\nconnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut response = Vec::new();
        let _ =
            tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response)).await;
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    }

    // Timeout: a handler slower than the limit gets 408.
    demo.faults()
        .set(redline_demo::FaultSettings {
            error_rate: Some(0.0),
            latency_ms: Some(1000),
        })
        .unwrap();
    let started = std::time::Instant::now();
    let r = request(&c, "GET", &hello, &[], vec![]).await;
    assert_eq!(r.status(), 408);
    assert!(started.elapsed() < Duration::from_millis(900));
    demo.faults()
        .set(redline_demo::FaultSettings {
            error_rate: Some(0.0),
            latency_ms: Some(0),
        })
        .unwrap();

    // CORS: only the listed origin.
    let preflight = |origin: &'static str| {
        let c = c.clone();
        let hello = hello.clone();
        async move {
            request(
                &c,
                "OPTIONS",
                &hello,
                &[("origin", origin), ("access-control-request-method", "GET")],
                vec![],
            )
            .await
        }
    };
    let allowed = preflight("https://app.example.com").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example").await;
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );

    // Too many headers: the server refuses with 431.
    let many: Vec<(String, String)> = (0..150).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let pairs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = request(&c, "GET", &hello, &pairs, vec![]).await;
    assert_eq!(r.status(), 431);

    // Admin responses: never cached, same security headers.
    let r = request(&c, "GET", &format!("http://{admin}/metrics"), &[], vec![]).await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_sanitized_in_production_and_detailed_in_development() {
    for development in [false, true] {
        let mut options = common::demo_options();
        options.config.hardening.development = development;
        options.error_rate = 1.0;
        let demo = redline_demo::Demo::start(options).await.unwrap();
        let c = common::client();
        let r = request(
            &c,
            "GET",
            &format!("http://{}/hello", demo.app_addr()),
            &[("x-request-id", "req-500")],
            vec![],
        )
        .await;
        assert_eq!(r.status(), 500);
        assert_eq!(r.headers()["x-request-id"], "req-500");
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        if development {
            assert_eq!(body["error"], "injected_fault", "{body}");
        } else {
            assert_eq!(
                body,
                serde_json::json!({"error": "internal_error", "message": "internal server error", "request_id": "req-500"})
            );
        }
        // The error tracker keeps the real story either way.
        let report = demo.telemetry().errors().report();
        assert_eq!(report.total, 1);
        demo.shutdown().await;
    }
}

/// A client trickling a request head (slowloris) is cut off at
/// `REDLINE_HEADER_READ_TIMEOUT`, on the API and on the admin listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut options = common::demo_options();
    options.config.hardening.header_read_timeout = Duration::from_millis(300);
    options.config.hardening.body_limit = 1024;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    for addr in [demo.app_addr(), demo.admin_addr().unwrap()] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        // The server closes (answering 408 or not); a trickle never ends.
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "{addr}: the connection was left open");
        let head = String::from_utf8_lossy(&buf);
        assert!(
            head.is_empty() || head.starts_with("HTTP/1.1 408"),
            "{head}"
        );
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
    }
    // The admin listener has the body limit too (on a connection of its
    // own: the server closes it after refusing the body unread).
    let c = common::client();
    let big = format!(r#"{{"latency_ms": 1, "pad": "{}"}}"#, "x".repeat(2048));
    let (status, body) = common::send(
        &common::client(),
        "PUT",
        &format!("http://{}/faults", demo.admin_addr().unwrap()),
        big.as_bytes(),
        Some("application/json"),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    // Normal requests are unaffected.
    let (status, _) = common::get(&c, &format!("http://{}/hello", demo.app_addr())).await;
    assert_eq!(status, 200);
    demo.shutdown().await;
}
