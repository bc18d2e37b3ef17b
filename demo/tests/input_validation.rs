//! Input validation and robustness over real HTTP: every malformed input
//! gets its status and a JSON error, counts as an `input_validation_fail`
//! event, and the server keeps serving. Panics, oversized bodies (with and
//! without a length), deep JSON, bad UTF-8 and huge headers included.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn error_code(body: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"].as_str().unwrap_or_default().to_owned()
}

/// Sends raw bytes and returns the status line's code (0 if the server
/// closed the connection without answering).
async fn raw(addr: &str, request: &[u8]) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before reading everything.
    let _ = s.write_all(request).await;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .expect("an answer within 10 s")
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_refuses_bad_messages_with_typed_json_errors() {
    let demo = start_demo().await;
    let (app, admin) = (demo.app_addr(), demo.admin_addr().unwrap());
    let c = client();
    let url = format!("http://{app}/messages");
    let json = Some("application/json");
    let deep = format!(
        "{{\"chat_id\":1,\"text\":\"hi\",\"x\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let long = serde_json::json!({"chat_id": 1, "text": "x".repeat(4097)}).to_string();
    // (case, body, content type, status, error code)
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no content type",
            br#"{"chat_id":1,"text":"hi"}"#.to_vec(),
            None,
            415,
            "unsupported_media_type",
        ),
        (
            "text/plain",
            br#"{"chat_id":1,"text":"hi"}"#.to_vec(),
            Some("text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            "malformed",
            br#"{"chat_id":1,"#.to_vec(),
            json,
            400,
            "invalid_json",
        ),
        (
            "bad UTF-8",
            b"{\"chat_id\":1,\"text\":\"\xff\xfe\"}".to_vec(),
            json,
            400,
            "invalid_utf8",
        ),
        ("deep", deep.into_bytes(), json, 400, "json_too_deep"),
        (
            "wrong type",
            br#"{"chat_id":"seven","text":"hi"}"#.to_vec(),
            json,
            422,
            "invalid_input",
        ),
        (
            "unknown field",
            br#"{"chat_id":1,"text":"hi","admin":true}"#.to_vec(),
            json,
            422,
            "invalid_input",
        ),
        (
            "empty text",
            br#"{"chat_id":1,"text":""}"#.to_vec(),
            json,
            422,
            "invalid_message",
        ),
        ("long text", long.into_bytes(), json, 422, "invalid_message"),
        (
            "escape sequence",
            br#"{"chat_id":1,"text":"hi\u001b[2J"}"#.to_vec(),
            json,
            422,
            "invalid_message",
        ),
        (
            "bidi override",
            "{\"chat_id\":1,\"text\":\"abc\u{202e}fed\"}"
                .as_bytes()
                .to_vec(),
            json,
            422,
            "invalid_message",
        ),
        (
            "command name",
            br#"{"chat_id":1,"text":"/Start"}"#.to_vec(),
            json,
            400,
            "invalid_command",
        ),
        (
            "unknown command",
            br#"{"chat_id":1,"text":"/nope"}"#.to_vec(),
            json,
            400,
            "unknown_command",
        ),
        (
            "arguments",
            br#"{"chat_id":1,"text":"/roll 1"}"#.to_vec(),
            json,
            422,
            "invalid_message",
        ),
        (
            "extra arguments",
            br#"{"chat_id":1,"text":"/start now"}"#.to_vec(),
            json,
            422,
            "invalid_message",
        ),
    ];
    // Unknown commands and wrong arguments are user mistakes, not security
    // events; the rest are.
    let refused = (cases.len() - 3) as f64;
    for (name, body, content_type, status, code) in cases {
        let (got, text) = send(&c, "POST", &url, &body, content_type).await;
        assert_eq!(
            (got, error_code(&text).as_str()),
            (status, code),
            "{name}: {text}"
        );
    }
    // Batches are parsed the same way.
    let (got, text) = send(
        &c,
        "POST",
        &format!("http://{app}/batch"),
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        json,
    )
    .await;
    assert_eq!((got, error_code(&text).as_str()), (400, "json_too_deep"));
    // Valid input still works, and every refusal was counted.
    let (got, text) = send(
        &c,
        "POST",
        &url,
        br#"{"chat_id":1,"text":"/roll 20"}"#,
        json,
    )
    .await;
    assert_eq!(got, 200, "{text}");
    let samples = parse(&scrape(&c, admin).await);
    assert_eq!(
        value(
            &samples,
            "redline_security_events_total",
            &[("event", "input_validation_fail")]
        ),
        Some(refused + 1.0)
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_oversized_bodies_and_huge_headers_leave_the_server_serving() {
    use axum::routing::{get, post};
    use redline::security::ValidJson;

    let mut config = redline::Config {
        admin_listen: None,
        ..Default::default()
    };
    config.hardening.body_limit = 64 * 1024;
    let telemetry = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let app = telemetry.instrument(
        axum::Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/panic",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("secret internal state: password=hunter2");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/echo",
                post(|ValidJson(v): ValidJson<serde_json::Value>| async move { v.to_string() }),
            ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let c = client();
    let base = format!("http://{addr}");
    let json = Some("application/json");

    // A panic: a sanitized 500, nothing of the message.
    let (status, body) = get_url(&c, &format!("{base}/panic")).await;
    assert_eq!(status, 500);
    assert_eq!(error_code(&body), "internal_error");
    assert!(
        !body.contains("hunter2") && !body.contains("secret"),
        "{body}"
    );

    // Oversized with a length: refused before the body is read.
    let big = vec![b' '; 65 * 1024];
    // On a connection of its own: the server refuses before reading the
    // body and closes the connection, which a pooled client could reuse.
    let (status, body) = send(&client(), "POST", &format!("{base}/echo"), &big, json).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (413, "body_too_large")
    );
    // Oversized without one (chunked): refused while reading.
    let mut chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..80 {
        chunked.extend_from_slice(b"400\r\n");
        chunked.extend_from_slice(&[b' '; 1024]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw(&addr, &chunked).await, 413);

    // Deep JSON and bad UTF-8.
    let deep = "[".repeat(20_000) + &"]".repeat(20_000);
    let (status, body) = send(&c, "POST", &format!("{base}/echo"), deep.as_bytes(), json).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "json_too_deep"));
    let (status, body) = send(&c, "POST", &format!("{base}/echo"), b"\"\xc3\x28\"", json).await;
    assert_eq!((status, error_code(&body).as_str()), (400, "invalid_utf8"));

    // A huge header, and a flood of them: 431 from hyper.
    let huge = format!(
        "GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    assert_eq!(raw(&addr, huge.as_bytes()).await, 431);
    let mut many = String::from("GET /ok HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(raw(&addr, many.as_bytes()).await, 431);

    // Still serving, and the refusals counted.
    let (status, body) = get_url(&c, &format!("{base}/ok")).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(
        telemetry
            .security()
            .count(redline::logs::SecurityEvent::InputValidationFail),
        3,
        "chunked 413, deep JSON and bad UTF-8 (the length-checked 413 is the body limit's)"
    );
    server.abort();
}

async fn get_url(c: &HttpClient, url: &str) -> (u16, String) {
    get(c, url).await
}
