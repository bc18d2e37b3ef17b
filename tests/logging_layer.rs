//! redline's logging as a layer of a subscriber the service builds itself
//! (`Telemetry::logging_layer`), served over real HTTP: redline's JSON
//! lines (with request and trace ids, redacted) reach its log file, the
//! service's own layer still gets every event, `PUT /logs/level` changes
//! redline's output and not the service's, and `/logs/info` counts.
//!
//! The subscriber is the global default (the server's worker threads need
//! it), which a process can set once: this binary holds one test.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::routing::get as route_get;
use common::*;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// The service's own log output: an in-memory buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn app() -> Router {
    Router::new().route(
        "/hello/{name}",
        route_get(|Path(name): Path<String>| async move {
            let span = tracing::info_span!("lookup", user = %name);
            let _entered = span.enter();
            tracing::info!(target: "app", name = %name, contact = "ann@example.com", "hello handler");
            format!("hello {name}")
        }),
    )
}

async fn get_with(c: &HttpClient, url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut b = hyper::Request::get(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let request = b
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    c.request(request).await.unwrap().status().as_u16()
}

async fn log_info(c: &HttpClient, admin: SocketAddr) -> serde_json::Value {
    let (status, body) = get(c, &format!("http://{admin}/logs/info")).await;
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redline_logs_through_a_layer_of_the_services_own_subscriber() {
    let receiver = otlp::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("logs/service.log");
    let mut config = redline::Config {
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        admin_token: admin_token(),
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    config.logs.output = redline::logs::LogOutput::File;
    config.logs.file = log_file.clone();
    config.logs.filter = "info".into();
    config.traces.endpoint = Some(receiver.grpc_endpoint());
    config.traces.schedule_delay = Duration::from_millis(100);
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();

    // The service's subscriber: its own layer, plus redline's.
    let own = Buffer::default();
    let own_writer = own.clone();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || own_writer.clone()),
        )
        .with(t.logging_layer().expect("the layer builds"))
        .init();
    assert!(matches!(
        t.install_logging(),
        Err(redline::logs::LogError::AlreadyBuilt)
    ));

    // With a global subscriber in place, `install_logging` fails and keeps
    // nothing: the layer can still be built for another subscriber.
    let other = redline::Telemetry::builder()
        .config(redline::Config {
            admin_listen: None,
            system_metrics: false,
            process_metrics: false,
            ..Default::default()
        })
        .build()
        .unwrap();
    assert!(matches!(
        other.install_logging(),
        Err(redline::logs::LogError::AlreadyInstalled)
    ));
    assert_eq!(other.log_filter(), None);
    assert!(matches!(
        other.set_log_filter("info"),
        Err(redline::logs::LogError::NotInstalled)
    ));
    let layer = other.logging_layer::<tracing_subscriber::Registry>();
    assert!(layer.is_ok(), "{:?}", layer.err());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    let router = t.instrument(app());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let guard = t.serve_admin().await.unwrap();
    let admin = guard.admin_addr().unwrap();
    let c = client();

    // A request joined to a known trace, with a request id.
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let status = get_with(
        &c,
        &format!("http://{api}/hello/first"),
        &[("traceparent", &traceparent), ("x-request-id", "req-7")],
    )
    .await;
    assert_eq!(status, 200);

    // `/logs/info` counts the lines (written by a background thread).
    let deadline = Instant::now() + Duration::from_secs(10);
    let info = loop {
        let info = log_info(&c, admin).await;
        if info["lines_written"].as_u64().unwrap() >= 2 {
            break info;
        }
        assert!(Instant::now() < deadline, "no lines counted: {info}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(info["filter"], "info,redline::security=info");
    assert_eq!(info["output"], "file");
    assert!(info["events"]["INFO"].as_u64().unwrap() >= 2, "{info}");

    // `PUT /logs/level` answers 200 (not 409) and changes redline's filter.
    let url = format!("http://{admin}/logs/level");
    assert_eq!(send_as(&c, "PUT", &url, b"warn", None, None).await.0, 401);
    let (status, body) = send(&c, "PUT", &url, b"warn", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "log filter: warn,redline::security=info\n");
    assert_eq!(
        send(&c, "PUT", &url, b"redline::security=off", None)
            .await
            .0,
        400
    );
    // At warn, redline writes nothing of a successful request; the
    // service's own layer still gets its events.
    let status = get_with(
        &c,
        &format!("http://{api}/hello/second"),
        &[("x-request-id", "req-8")],
    )
    .await;
    assert_eq!(status, 200);
    let info = log_info(&c, admin).await;
    assert_eq!(info["filter"], "warn,redline::security=info");

    // The handler's `tracing` span went into the request's trace.
    let spans = receiver
        .wait_for(Duration::from_secs(10), |s| {
            s.iter().any(|r| r.span.name == "lookup")
                && s.iter().any(|r| r.span.name == "GET /hello/{name}")
        })
        .await;
    let server_span = spans
        .iter()
        .find(|r| r.span.name == "GET /hello/{name}" && r.trace_id() == TRACE_ID)
        .expect("the server span was exported");
    let lookup = spans
        .iter()
        .find(|r| r.span.name == "lookup")
        .expect("the handler's span was exported");
    assert_eq!(lookup.trace_id(), TRACE_ID);
    assert_eq!(lookup.parent_span_id(), server_span.span_id());

    // Stop everything, and flush redline's buffers.
    let _ = stop.send(());
    server.await.unwrap();
    guard.shutdown().await;
    t.flush_logs();

    let text = std::fs::read_to_string(&log_file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(
        t.log_stats().snapshot().lines_written,
        lines.len() as u64,
        "/logs/info counts every line of the file"
    );
    let access: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "redline::access")
        .collect();
    assert_eq!(
        access.len(),
        1,
        "one access line, before the filter moved: {text}"
    );
    assert_eq!(access[0]["request_id"], "req-7");
    assert_eq!(access[0]["trace_id"], TRACE_ID);
    assert_eq!(access[0]["http.route"], "/hello/{name}");
    let handler: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "app").collect();
    assert_eq!(handler.len(), 1, "{text}");
    let handler = handler[0];
    assert_eq!(handler["name"], "first");
    assert_eq!(handler["request_id"], "req-7");
    assert_eq!(handler["trace_id"], TRACE_ID);
    assert_eq!(access[0]["span_id"], server_span.span_id());
    // Inside the handler's `tracing` span, the ids are that span's.
    assert_eq!(handler["span_id"], lookup.span_id());
    assert_eq!(handler["span"]["name"], "lookup");
    assert_ne!(handler["contact"], "ann@example.com", "redacted: {handler}");
    assert!(!text.contains("ann@example.com"));
    assert!(!text.contains("second"), "nothing of the request at warn");
    // Security and audit events reach redline's output.
    assert!(
        lines
            .iter()
            .any(|l| l["target"] == "redline::security" && l["event"] == "authn_login_fail"),
        "{text}"
    );
    assert!(lines.iter().any(|l| l["event"] == "authz_admin"), "{text}");

    // The service's own layer got everything, unfiltered and unmasked.
    let own = own.text();
    let own_handler: Vec<serde_json::Value> = own
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["target"] == "app")
        .collect();
    assert_eq!(own_handler.len(), 2, "{own}");
    assert_eq!(own_handler[0]["fields"]["name"], "first");
    assert_eq!(own_handler[1]["fields"]["name"], "second");
    assert_eq!(own_handler[1]["fields"]["contact"], "ann@example.com");
    assert!(
        own.contains("redline::access"),
        "the access events are events like any other: {own}"
    );
}
