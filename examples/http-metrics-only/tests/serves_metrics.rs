//! The crate builds against redline's core alone and serves `/metrics` over
//! real HTTP; settings that need a left-out feature are refused.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request over a fresh connection; the whole response.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("the server answers within 10 s")
    .unwrap();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_metrics_with_no_default_feature() {
    let config = redline::Config::from_lookup(|name| match name {
        "REDLINE_ADMIN_LISTEN" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap();
    let telemetry = http_metrics_only::telemetry(config).unwrap();
    let admin = telemetry.serve_admin().await.unwrap();
    let admin_addr = admin.admin_addr().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = telemetry
        .serve(listener, http_metrics_only::app(&telemetry))
        .unwrap();
    let api = server.local_addr();

    for id in 0..3 {
        let response = get(api, &format!("/users/{id}")).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let metrics = get(admin_addr, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    let count = metrics
        .lines()
        .find(|l| {
            l.starts_with("http_server_request_duration_seconds_count{")
                && l.contains(r#"http_route="/users/{id}""#)
                && l.contains(r#"http_response_status_code="200""#)
        })
        .unwrap_or_else(|| panic!("no count for the route:\n{metrics}"));
    assert!(count.ends_with(" 3"), "{count}");
    // This crate's identity, and none of the left-out features' families.
    assert!(
        metrics.contains(r#"service_name="http-metrics-only""#),
        "{metrics}"
    );
    assert!(
        !metrics.contains("\nprocess_cpu_seconds_total"),
        "{metrics}"
    );
    assert!(!metrics.contains("\nredline_system_"), "{metrics}");
    assert!(
        !metrics.contains("\nredline_rate_limited_total"),
        "{metrics}"
    );

    server.shutdown().await;
    admin.shutdown().await;
}

/// The build really is the core: each left-out feature's setting is refused
/// with its name.
#[test]
fn settings_of_left_out_features_are_refused() {
    for (var, value, feature) in [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:4317",
            "otlp-grpc",
        ),
        ("REDLINE_RATE_LIMIT", "10/s", "rate-limit"),
        ("REDLINE_RATE_LIMIT_KEY", "ip", "rate-limit"),
        ("REDLINE_SYSTEM_METRICS_INTERVAL", "1s", "system"),
        ("REDLINE_SYSTEM_METRICS", "true", "system"),
        ("REDLINE_PROCESS_METRICS", "true", "system"),
        ("REDLINE_CONFIG_FILE", "/etc/redline.toml", "config-file"),
    ] {
        let err = redline::Config::from_lookup(|name| (name == var).then(|| value.to_owned()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(var), "{err}");
        assert!(err.contains(&format!("`{feature}` feature")), "{err}");
    }
}
