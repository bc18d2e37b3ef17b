//! The real Prometheus tools against the demo: `promtool check metrics` on
//! the scraped output, and a Prometheus server scraping the demo and
//! answering PromQL over its histograms.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_exposition() {
    let mut options = demo_options();
    options.load_rps = 200;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let c = client();
    // Exercise every family: operations, errors, overflow, all routes.
    let _ = demo
        .telemetry()
        .operations()
        .time("check", || Err::<(), _>("x"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let text = scrape(&c, demo.admin_addr().unwrap()).await;
    demo.shutdown().await;
    assert!(text.contains("http_server_request_duration_seconds_bucket"));

    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool failed:\n{report}");
    assert_eq!(report.trim(), "", "promtool reported problems");
}

#[path = "common/stack.rs"]
mod stack;

/// A real Prometheus scraping `target` every second, as job `redline-demo`.
fn start_prometheus(target: std::net::SocketAddr, extra: &[&str]) -> stack::Server {
    stack::prometheus(
        &format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: redline-demo\n    static_configs:\n      - targets: ['{target}']\n"
        ),
        &[],
        extra,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_scrapes_and_queries_the_demo() {
    let mut options = demo_options();
    options.load_rps = 100;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let prometheus = start_prometheus(demo.admin_addr().unwrap(), &[]);
    let c = client();

    // Ready, then the target is up.
    prometheus.wait_ready(&c).await;
    let up = stack::wait_for_series(&c, &prometheus, "up == 1", Duration::from_secs(30)).await;
    assert_eq!(up[0]["metric"]["job"], "redline-demo");

    // Request rate per route over the duration histogram's _count.
    let rates = stack::wait_for_series(
        &c,
        &prometheus,
        "sum by (http_route) (rate(http_server_request_duration_seconds_count[5s])) > 0",
        Duration::from_secs(30),
    )
    .await;
    let routes: Vec<&str> = rates
        .iter()
        .filter_map(|r| r["metric"]["http_route"].as_str())
        .collect();
    for route in ["/hello", "/messages", "/groups/{id}/members"] {
        assert!(routes.contains(&route), "{route} missing from {routes:?}");
    }
    // p95 latency of /hello from the buckets: a finite, small number of seconds.
    let p95 = stack::wait_for_series(&c, &prometheus,
            r#"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{http_route="/hello"}[5s])))"#,
            Duration::from_secs(30),
        )
        .await;
    let seconds: f64 = p95[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(
        seconds.is_finite() && seconds > 0.0 && seconds <= 0.1,
        "p95 = {seconds}"
    );
    // Operations and system metrics arrive too.
    stack::wait_for_series(
        &c,
        &prometheus,
        r#"redline_operation_duration_seconds_count{operation="conversation_engine"}"#,
        Duration::from_secs(10),
    )
    .await;
    stack::wait_for_series(&c, &prometheus, "build_info == 1", Duration::from_secs(10)).await;
    drop(prometheus);
    demo.shutdown().await;
}

#[path = "../../tests/common/otlp.rs"]
mod otlp;

/// Prometheus with exemplar storage scrapes the demo in OpenMetrics; the
/// exemplars it returns name traces the OTLP receiver really received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_reach_prometheus_and_name_exported_traces() {
    let receiver = otlp::Receiver::start().await;
    let mut options = demo_options();
    options.load_rps = 50;
    options.config.traces.endpoint = Some(receiver.grpc_endpoint());
    options.config.traces.schedule_delay = Duration::from_millis(200);
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let c = client();

    // Content negotiation on /metrics.
    let admin = demo.admin_addr().unwrap();
    let om = c
        .request(
            hyper::Request::get(format!("http://{admin}/metrics"))
                .header(
                    "accept",
                    "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
                )
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        om.headers()["content-type"],
        redline::metrics::OPENMETRICS_CONTENT_TYPE
    );

    let prometheus = start_prometheus(admin, &["--enable-feature=exemplar-storage"]);
    prometheus.wait_ready(&c).await;
    stack::wait_for_series(&c, &prometheus, "up == 1", Duration::from_secs(30)).await;

    // Exemplars of the latency histogram.
    let start = Instant::now();
    let exemplars = loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (status, body) = get(
            &c,
            &format!(
                "http://127.0.0.1:{}/api/v1/query_exemplars?query=http_server_request_duration_seconds_bucket&start={}&end={}",
                prometheus.port,
                now - 600,
                now + 60
            ),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut ids = Vec::new();
        for series in v["data"].as_array().cloned().unwrap_or_default() {
            for e in series["exemplars"].as_array().cloned().unwrap_or_default() {
                if let Some(id) = e["labels"]["trace_id"].as_str() {
                    ids.push(id.to_owned());
                }
            }
        }
        if !ids.is_empty() {
            break ids;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no exemplars after 30 s: {body}\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Every exemplar's trace was exported to the receiver.
    let spans = receiver
        .wait_for(Duration::from_secs(15), |spans| {
            exemplars
                .iter()
                .all(|id| spans.iter().any(|s| &s.trace_id() == id))
        })
        .await;
    for id in &exemplars {
        assert!(
            spans
                .iter()
                .any(|s| &s.trace_id() == id && s.span.kind == 2),
            "exemplar trace {id} has no server span among {} received",
            spans.len()
        );
    }
    drop(prometheus);
    demo.shutdown().await;
}
