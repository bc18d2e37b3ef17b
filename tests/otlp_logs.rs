//! OTLP log export (`OTEL_LOGS_EXPORTER=otlp`) end to end, against a
//! receiver built on the official protobuf types (`opentelemetry-proto`)
//! over real gRPC and real HTTP/protobuf on 127.0.0.1:
//!
//! - events logged inside a traced request and a `tracing` span arrive as
//!   records whose time, severity, body, attributes and trace and span ids
//!   are those of the JSON lines of the same events, one record a line;
//! - a corpus of secrets and personal data (plain, percent-encoded, inside
//!   JSON text, as an integer) is masked in both;
//! - the records' resource is the spans' resource;
//! - with the collector down, records are counted as `export_failed`;
//! - with the collector hung, a full queue drops and counts (`queue_full`)
//!   without the caller ever waiting, shutdown is bounded, and every record
//!   is counted exactly once.
//!
//! Each test installs redline's layer as its thread's default subscriber
//! and serves its requests on that thread; the receivers run on a runtime
//! of their own, so the blocking flushes can reach them.
#![cfg(all(feature = "otlp-grpc", feature = "otlp-http"))]

mod common;
#[path = "common/otlp.rs"]
mod otlp;
#[path = "common/otlp_logs.rs"]
mod otlp_logs;
#[path = "common/pii.rs"]
mod pii;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::routing::get;
use otlp_logs::{LogReceiver, ReceivedLog, expected_from_line};
use pii::{API_KEY, CARD, CARD_DIGITS, EMAIL, IBAN, JWT, PASSWORD, PHONE, SESSION, SSN};
use redline::Telemetry;
use redline::logs::{LogOutput, LogsExporter};
use redline::traces::OtlpProtocol;
use serde_json::Value;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

// The corpus (`tests/common/pii.rs`): none may reach a line or a record.
const EMAIL_ENCODED: &str = "jane.doe%40example.com";
/// The card number as an integer field.
const CARD_NUMBER: u64 = 4_242_424_242_424_242;

/// Every text that must not leak (the email's local part covers its
/// encoded forms).
const SECRETS: [&str; 11] = [
    "jane.doe",
    PHONE,
    CARD,
    CARD_DIGITS,
    SSN,
    IBAN,
    PASSWORD,
    API_KEY,
    JWT,
    SESSION,
    "eyJhbGciOiJIUzI1NiJ9",
];

fn leaks(haystack: &str) -> Vec<&'static str> {
    pii::leaks(&SECRETS, haystack)
}

/// The receivers' runtime (their tasks run while the test thread blocks).
fn servers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config(file: &Path, logs_endpoint: String, protocol: OtlpProtocol) -> redline::Config {
    let mut c = redline::Config {
        service_name: "logs-test".into(),
        resource_attributes: vec![("deployment.environment.name".into(), "test".into())],
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    c.logs.output = LogOutput::File;
    c.logs.file = file.to_owned();
    c.logs.filter = "info".into();
    c.log_export.exporter = LogsExporter::Otlp;
    c.log_export.endpoint = Some(logs_endpoint);
    c.log_export.protocol = protocol;
    c.log_export.schedule_delay = Duration::from_millis(100);
    c.traces.protocol = protocol;
    c.traces.schedule_delay = Duration::from_millis(100);
    c.traces.shutdown_timeout = Duration::from_secs(5);
    c
}

fn metric(t: &Telemetry, name: &str, labels: &[(&str, &str)]) -> f64 {
    common::value(&common::parse(&t.render_metrics()), name, labels)
        .unwrap_or_else(|| panic!("no {name}{labels:?}"))
}

fn dropped(t: &Telemetry, reason: &str) -> f64 {
    metric(
        t,
        "redline_log_records_dropped_total",
        &[("reason", reason)],
    )
}

fn json_lines(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// A handler that logs the corpus: in the request's server span, then in a
/// `tracing` span of its own (with fields, one recorded later).
fn app() -> Router {
    Router::new().route(
        "/pay/{who}",
        get(|UrlPath(who): UrlPath<String>| async move {
            tracing::info!(target: "app", step = "start", "payment for {who}");
            let span = tracing::info_span!(
                "charge",
                customer = %who,
                card = CARD,
                later = tracing::field::Empty
            );
            let _entered = span.enter();
            span.record("later", format!("password={PASSWORD}").as_str());
            tracing::info!(
                target: "app",
                amount = 12,
                ok = true,
                ratio = 0.25,
                card_number = CARD_NUMBER,
                note = %format!("call {PHONE}, ssn {SSN}, iban {IBAN}"),
                "charging {EMAIL} with {CARD}"
            );
            tracing::warn!(
                target: "app",
                password = PASSWORD,
                authorization = %format!("Bearer {API_KEY}"),
                body = %format!("{{\"password\": \"{PASSWORD}\", \"email\": \"{EMAIL_ENCODED}\"}}"),
                "retry with jwt {JWT}"
            );
            tracing::error!(
                target: "app",
                cookie = %format!("session={SESSION}"),
                "declined: token={API_KEY} user={EMAIL_ENCODED}"
            );
            "ok"
        }),
    )
}

fn sorted(mut values: Vec<Value>) -> Vec<Value> {
    values.sort_by_key(|v| v.to_string());
    values
}

fn find<'a>(records: &'a [ReceivedLog], body_start: &str) -> &'a ReceivedLog {
    records
        .iter()
        .find(|r| {
            r.body()
                .and_then(|b| b.as_str().map(|s| s.starts_with(body_start)))
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("no record {body_start:?}"))
}

fn records_carry_what_the_json_lines_carry(protocol: OtlpProtocol) {
    let servers = servers();
    let logs = servers.block_on(LogReceiver::start());
    let spans = servers.block_on(otlp::Receiver::start());
    let (logs_endpoint, spans_endpoint) = match protocol {
        OtlpProtocol::Grpc => (logs.grpc_endpoint(), spans.grpc_endpoint()),
        OtlpProtocol::HttpProtobuf => (logs.http_endpoint(), spans.http_endpoint()),
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    let mut cfg = config(&file, logs_endpoint.clone(), protocol);
    cfg.traces.endpoint = Some(spans_endpoint);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    assert!(t.log_export().is_exporting());
    assert_eq!(t.log_export().endpoint(), Some(logs_endpoint.as_str()));

    let subscriber = tracing_subscriber::registry().with(t.logging_layer().unwrap());
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let response = t
                .instrument(app())
                .oneshot(
                    http::Request::get(format!("/pay/{EMAIL_ENCODED}"))
                        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
                        .header("x-request-id", "req-7")
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        });
        // Outside any request and span: no ids.
        tracing::info!(target: "app", phase = "after", "request done");
    });
    t.flush_logs();
    assert_eq!(
        t.tracing().shutdown(),
        redline::traces::ShutdownOutcome::Flushed
    );

    let lines = json_lines(&file);
    assert!(lines.len() >= 6, "{lines:?}");
    let records = logs.wait_for(Duration::from_secs(10), |r| r.len() >= lines.len());
    assert!(records.iter().all(|r| r.via
        == match protocol {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http",
        }));

    // One record a line, carrying what the line carries.
    let expected = sorted(lines.iter().map(expected_from_line).collect());
    let received = sorted(records.iter().map(ReceivedLog::canonical).collect());
    assert_eq!(
        received, expected,
        "records != JSON lines\nrecords: {received:#?}\nlines: {expected:#?}"
    );
    assert_eq!(
        metric(&t, "redline_log_records_exported_total", &[]),
        records.len() as f64
    );
    for reason in ["queue_full", "export_failed", "shutdown"] {
        assert_eq!(dropped(&t, reason), 0.0, "{reason}");
    }
    assert_eq!(metric(&t, "redline_log_export_queue_records", &[]), 0.0);
    assert_eq!(
        metric(&t, "redline_log_export_queue_capacity_records", &[]),
        2048.0
    );

    // Beyond equality with the lines: what each record must be.
    let exported_spans = servers.block_on(spans.wait_for(Duration::from_secs(10), |s| {
        s.iter().any(|s| s.span.name == "charge")
            && s.iter().any(|s| s.span.name == "GET /pay/{who}")
    }));
    let span_id = |name: &str| {
        exported_spans
            .iter()
            .find(|s| s.span.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
            .span_id()
    };
    let start = find(&records, "payment for");
    assert_eq!(start.trace_id(), TRACE_ID);
    assert_eq!(
        start.span_id(),
        span_id("GET /pay/{who}"),
        "the server span"
    );
    assert_eq!(start.record.severity_number, 9);
    assert_eq!(start.record.severity_text, "INFO");
    assert_eq!(start.attr("target"), Some(Value::from("app")));
    assert_eq!(start.attr("step"), Some(Value::from("start")));
    let request_id = start.attr("request_id").expect("the request id");
    assert_eq!(request_id, "req-7", "the client's request id");
    let charging = find(&records, "charging");
    assert_eq!(charging.trace_id(), TRACE_ID);
    assert_eq!(charging.span_id(), span_id("charge"), "the tracing span");
    assert_eq!(charging.attr("span.name"), Some(Value::from("charge")));
    assert_eq!(charging.attr("amount"), Some(Value::from(12)));
    assert_eq!(charging.attr("ok"), Some(Value::from(true)));
    assert_eq!(charging.attr("ratio"), Some(Value::from(0.25)));
    assert_eq!(
        charging.attr("card_number"),
        Some(Value::from("************4242"))
    );
    assert_eq!(find(&records, "retry").record.severity_number, 13);
    let declined = find(&records, "declined");
    assert_eq!(declined.record.severity_number, 17);
    assert_eq!(declined.record.severity_text, "ERROR");
    assert_eq!(declined.attr("cookie"), Some(Value::from("[REDACTED]")));
    let access = records
        .iter()
        .find(|r| r.attr("target") == Some(Value::from("redline::access")))
        .expect("the access log line");
    assert_eq!(access.trace_id(), TRACE_ID);
    assert_eq!(access.attr("http.route"), Some(Value::from("/pay/{who}")));
    let after = find(&records, "request done");
    assert_eq!(after.trace_id(), "", "no trace outside a request");
    assert!(records.iter().all(|r| r.scope == "redline"));

    // The corpus is masked in both, and its masked forms got through.
    let file_text = std::fs::read_to_string(&file).unwrap();
    let exported: String = records
        .iter()
        .map(|r| format!("{:?}\n", r.record))
        .collect();
    assert_eq!(leaks(&file_text), Vec::<&str>::new(), "{file_text}");
    assert_eq!(leaks(&exported), Vec::<&str>::new(), "{exported}");
    for masked in [
        "j***@example.com",
        "**** **** **** 4242",
        "***-**-6789",
        "[REDACTED]",
    ] {
        assert!(file_text.contains(masked), "{masked} in {file_text}");
        assert!(exported.contains(masked), "{masked} in {exported}");
    }

    // Logs and traces come from one resource.
    let resource: BTreeMap<String, String> = exported_spans[0]
        .resource
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(resource["service.name"], "logs-test");
    assert_eq!(resource["deployment.environment.name"], "test");
    for r in &records {
        assert_eq!(r.resource, resource);
    }
}

#[test]
fn grpc_records_carry_what_the_json_lines_carry() {
    records_carry_what_the_json_lines_carry(OtlpProtocol::Grpc);
}

#[test]
fn http_records_carry_what_the_json_lines_carry() {
    records_carry_what_the_json_lines_carry(OtlpProtocol::HttpProtobuf);
}

/// Waits (at most `limit`) until `done` holds.
fn eventually(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn with_the_collector_down_records_are_counted_as_export_failed() {
    let port = common::free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    let mut cfg = config(
        &file,
        format!("http://127.0.0.1:{port}"),
        OtlpProtocol::Grpc,
    );
    cfg.log_export.timeout = Duration::from_millis(500);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(t.logging_layer().unwrap());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..20 {
            tracing::info!(target: "app", i, "event {i}");
        }
    });
    eventually(Duration::from_secs(15), "20 records counted", || {
        dropped(&t, "export_failed") == 20.0
    });
    assert!(metric(&t, "redline_log_export_errors_total", &[]) >= 1.0);
    assert_eq!(metric(&t, "redline_log_records_exported_total", &[]), 0.0);
    assert_eq!(metric(&t, "redline_log_export_queue_records", &[]), 0.0);
    let started = Instant::now();
    t.flush_logs();
    assert!(started.elapsed() < Duration::from_secs(6));
    assert_eq!(dropped(&t, "export_failed"), 20.0, "counted once");
    assert_eq!(json_lines(&file).len(), 20, "the JSON lines are all there");
}

#[test]
fn a_full_queue_drops_and_counts_and_never_blocks_the_caller() {
    let servers = servers();
    let hole = servers.block_on(otlp::BlackHole::start());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.log");
    let mut cfg = config(
        &file,
        format!("http://{}/v1/logs", hole.addr),
        OtlpProtocol::HttpProtobuf,
    );
    // Each export request hangs 3 s; the queue holds 16.
    cfg.log_export.timeout = Duration::from_secs(3);
    cfg.log_export.max_queue_size = 16;
    cfg.log_export.max_export_batch_size = 16;
    cfg.traces.shutdown_timeout = Duration::from_millis(500);
    let t = Telemetry::builder().config(cfg).build().unwrap();
    let sent = 1000;
    let dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(t.logging_layer().unwrap()));
    let (took, worst) = tracing::dispatcher::with_default(&dispatch, || {
        let started = Instant::now();
        let mut worst = Duration::ZERO;
        for i in 0..sent {
            let event = Instant::now();
            tracing::info!(target: "app", i, "event {i}");
            worst = worst.max(event.elapsed());
        }
        (started.elapsed(), worst)
    });
    // Waiting for the exporter would take its 3 s request at least.
    assert!(
        worst < Duration::from_secs(1) && took < Duration::from_secs(10),
        "{sent} events took {took:?}, the slowest {worst:?}: the caller waited"
    );
    let queue_full = dropped(&t, "queue_full");
    assert!(queue_full >= (sent - 3 * 16) as f64, "{queue_full}");
    assert!(metric(&t, "redline_log_export_queue_records", &[]) <= 16.0);
    assert_eq!(
        metric(&t, "redline_log_export_queue_capacity_records", &[]),
        16.0
    );

    let started = Instant::now();
    t.flush_logs();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "bounded shutdown: {took:?}");
    // Every record is counted once: the batch in flight fails when its
    // request times out; what shutdown gave up on counts as `shutdown`.
    let accounted = || {
        metric(&t, "redline_log_records_exported_total", &[])
            + dropped(&t, "queue_full")
            + dropped(&t, "export_failed")
            + dropped(&t, "shutdown")
    };
    eventually(
        Duration::from_secs(15),
        "every record accounted for",
        || accounted() == sent as f64,
    );
    assert!(dropped(&t, "shutdown") >= 1.0);
    assert!(dropped(&t, "export_failed") >= 1.0);
    assert_eq!(metric(&t, "redline_log_records_exported_total", &[]), 0.0);
    assert_eq!(
        json_lines(&file).len(),
        sent,
        "the JSON lines are all there"
    );
    // Logged after shutdown: counted, not lost silently.
    let before = dropped(&t, "shutdown");
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..5 {
            tracing::info!(target: "app", i, "too late {i}");
        }
    });
    assert_eq!(dropped(&t, "shutdown"), before + 5.0);
    drop(hole);
}
