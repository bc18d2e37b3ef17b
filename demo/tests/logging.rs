//! Structured logging end to end, through the demo binary: every line is
//! JSON, and the access line of a request carries the trace and span ids of
//! the server span exported over OTLP; the admin endpoints report and change
//! logging.

mod common;
#[path = "../../tests/common/otlp.rs"]
mod otlp;

use std::time::Duration;

use common::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TOKEN: &str = ADMIN_TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_carry_the_ids_of_the_exported_span() {
    let receiver = otlp::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("logs/demo.log");
    let (mut child, api, admin) = start_binary(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.grpc_endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("REDLINE_LOG_OUTPUT", "file"),
            ("REDLINE_LOG_FILE", log_file.to_str().unwrap()),
            ("REDLINE_LOG", "info,redline::demo=debug"),
            ("REDLINE_ADMIN_TOKEN", TOKEN),
        ],
        &[],
    );
    let api = api.trim_end_matches('/').to_owned();
    let c = client();
    // Logging is installed right after the banner.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A request joined to a known trace, with a request id.
    let request = hyper::Request::get(format!("{api}/hello"))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .header("x-request-id", "req-42")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(c.request(request).await.unwrap().status(), 200);

    // /logs/info counts, /logs/level needs the token.
    let (status, body) = get(&c, &format!("{admin}/logs/info")).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["output"], "file");
    assert!(info["events"]["INFO"].as_u64().unwrap() >= 1, "{info}");
    let put = |token: Option<&str>, body: &str| {
        let mut b = hyper::Request::put(format!("{admin}/logs/level"));
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_owned(),
        )))
        .unwrap()
    };
    assert_eq!(c.request(put(None, "debug")).await.unwrap().status(), 401);
    assert_eq!(
        c.request(put(Some("wrong-token-wrong-token"), "debug"))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.request(put(Some(TOKEN), "info,[[["))
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.request(put(Some(TOKEN), "warn")).await.unwrap().status(),
        200
    );
    let (_, body) = get(&c, &format!("{admin}/logs/info")).await;
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The audit floor is part of every filter installed.
    assert_eq!(info["filter"], "warn,redline::security=info");
    let (_, metrics) = get(&c, &format!("{admin}/metrics")).await;
    assert!(
        metrics.contains(r#"redline_security_events_total{event="authn_login_fail"} 2"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"redline_log_events_total{level="info"}"#));
    // At warn, a successful request no longer logs.
    assert_eq!(get(&c, &format!("{api}/hello")).await.0, 200);

    // Stop, so every line is flushed.
    assert!(terminate(&mut child, Duration::from_secs(15)).success());

    let text = std::fs::read_to_string(&log_file).unwrap();
    let parsed: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!parsed.is_empty());
    for l in &parsed {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    let access: Vec<&serde_json::Value> = parsed
        .iter()
        .filter(|l| l["target"] == "redline::access" && l["request_id"] == "req-42")
        .collect();
    assert_eq!(access.len(), 1, "one access line for the request");
    let line = access[0];
    assert_eq!(line["trace_id"], TRACE_ID);
    assert_eq!(line["http.route"], "/hello");
    assert_eq!(line["http.response.status_code"], 200);
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
    // A line written by the handler itself carries the same ids.
    let inside: Vec<&serde_json::Value> = parsed
        .iter()
        .filter(|l| l["target"] == "redline::demo" && l["request_id"] == "req-42")
        .collect();
    assert_eq!(inside.len(), 1, "the handler's own line");
    assert_eq!(inside[0]["trace_id"], TRACE_ID);
    assert_eq!(inside[0]["span_id"], line["span_id"]);
    // The span it names was exported.
    let spans = receiver
        .wait_for(Duration::from_secs(5), |s| {
            s.iter().any(|r| r.trace_id() == TRACE_ID)
        })
        .await;
    let server = spans
        .iter()
        .find(|r| r.trace_id() == TRACE_ID && r.span.name == "GET /hello")
        .expect("the request's server span was exported");
    assert_eq!(line["span_id"].as_str().unwrap(), server.span_id());
    // Security events went to their target, and the level change was audited.
    assert!(
        parsed
            .iter()
            .any(|l| l["target"] == "redline::security" && l["event"] == "authn_login_fail")
    );
    assert!(parsed.iter().any(|l| l["event"] == "authz_admin"));
    // The second `/hello`, sent after the filter moved to `warn`, did not
    // log: one access line in all.
    let hello = parsed
        .iter()
        .filter(|l| l["target"] == "redline::access" && l["http.route"] == "/hello")
        .count();
    assert_eq!(hello, 1);
}
