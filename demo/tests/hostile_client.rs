//! Issue 11, as a hostile client: personal data spelled so the masker
//! would not see it (percent-encoded paths and queries, JSON escaped inside
//! JSON, `tracestate`, baggage, `x-request-id`), texts built to break the
//! JSON log format, a log filter that would silence the audit trail, and a
//! lowercase bearer scheme; against the demo binary over real HTTP, with
//! OTLP export to a test receiver and a log file. Every log line is parsed;
//! the exported spans, the error report and the responses are searched for
//! every secret in every spelling it was sent in.

mod common;
#[path = "../../tests/common/otlp.rs"]
mod otlp;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

/// What must never leave the process, in every spelling sent.
const LEAKS: [&str; 24] = [
    // maria.gonzalez+bank@example.co.uk, percent-encoded, in a path.
    "maria.gonzalez",
    "gonzalez%2Bbank",
    // +1 415-555-2671 and 4242 4242 4242 4242 with encoded separators.
    "415-555-2671",
    "415%2D555",
    "4242 4242 4242 4242",
    "4242%204242",
    "4242424242424242",
    // DE89 3704 0044 0532 0130 00, encoded spaces.
    "3704 0044 0532",
    "3704%200044",
    "DE89370400440532013000",
    // An SSN in tracestate, in a path and as a request id.
    "078-05-1120",
    "078%2D05",
    // Secrets after keys, in paths, queries and JSON-in-JSON.
    "Hunter2Hunter2",
    "Tr0ub4dor",
    "sk_live_9fQ2xLm8Zt",
    "s3ss10nB7x2Qk",
    "CookieValue123",
    "TokenValue456",
    // A card and a JWT sent as request ids; an e-mail in baggage.
    "5500-0000-0000-0004",
    "5500000000000004",
    "eyJhbGciOiJIUzI1NiJ9",
    "jane.doe",
    "jane.doe%40",
    "BearerSecret789",
];

fn leaks(haystack: &str) -> Vec<&'static str> {
    LEAKS
        .iter()
        .copied()
        .filter(|s| haystack.contains(s))
        .collect()
}

async fn request(
    c: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let mut b = hyper::Request::builder()
        .method(hyper::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        c.request(b.body(Full::new(Bytes::from(body.to_owned()))).unwrap()),
    )
    .await
    .expect("answer within 30 s")
    .expect("request succeeds");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_client_gets_no_data_out_and_cannot_break_the_logs() {
    let receiver = otlp::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("demo.log");
    // At the default level: what a production service writes.
    let (mut child, api, admin) =
        start_binary_observed(&receiver.grpc_endpoint(), &log_file, "info");
    let c = client();
    let auth = format!("Bearer {ADMIN_TOKEN}");

    // 1. Percent-encoded personal data in paths and queries; an SSN in the
    //    caller's tracestate, an e-mail in its baggage.
    let paths = [
        "/users/maria.gonzalez%2Bbank%40example.co.uk/profile",
        "/call/%2B1%20415%2D555%2D2671",
        "/cards/4242%204242%204242%204242",
        "/iban/DE89%203704%200044%200532%200130%2000",
        "/ssn/078%2D05%2D1120",
        "/q/password%3DHunter2Hunter2",
        "/t/Bearer%20BearerSecret789",
        "/hello?next=%2Fsettings%3Fapi_key%3Dsk_live_9fQ2xLm8Zt&session_id=s3ss10nB7x2Qk",
        "/hello?card=4242+4242+4242+4242",
    ];
    for path in paths {
        let (status, _, body) = request(
            &c,
            "GET",
            &format!("{api}{path}"),
            &[
                (
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                ),
                ("tracestate", "v=078-05-1120,vendor=ok"),
                ("baggage", "user=jane.doe%40example.com,tier=gold"),
            ],
            "",
        )
        .await;
        assert!(status == 200 || status == 404, "{path}: {status}");
        assert_eq!(leaks(&body), Vec::<&str>::new(), "{path}: {body}");
    }

    // 2 and 3. Texts with a quoted secret key, quotes that would break a
    //    masker working on escaped text, and characters that reorder or
    //    split lines; each with a control character, so it is refused and
    //    its security line (inside the `bot.message` span, whose fields
    //    carry the text) is written at the default level.
    let texts = [
        "\"password\": \"Tr0ub4dor&3-correct-horse\"\u{1}",
        "password=\"Hunter2Hunter2\u{1}",
        "token=\",secret=\"TokenValue456\u{1}",
        "cookie: CookieValue123\u{1}",
        "authorization: Bearer BearerSecret789\u{1}",
        "line\u{2028}sep\u{2029}bidi\u{202e}iso\u{2066}\u{2069}c1\u{85}\u{9b}del\u{7f}",
        "{\\\"password\\\":\\\"Tr0ub4dor\\\"}\u{1}",
    ];
    for text in texts {
        let body = serde_json::json!({ "chat_id": 1, "text": text }).to_string();
        let (status, _, answer) = request(
            &c,
            "POST",
            &format!("{api}/messages"),
            &[("content-type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(status, 422, "{text:?}: {answer}");
        assert_eq!(leaks(&answer), Vec::<&str>::new(), "{answer}");
    }

    // 4. Data sent as a request id: replaced by a generated id wherever it
    //    would be written (the response, log lines inside the request, the
    //    error tracker's samples); an ordinary id is kept.
    let faults = |rate: &'static str| {
        let (c, admin, auth) = (c.clone(), admin.clone(), auth.clone());
        async move {
            let body = format!(r#"{{"error_rate": {rate}}}"#);
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
            ];
            let (status, _, _) =
                request(&c, "PUT", &format!("{admin}/faults"), &headers, &body).await;
            assert_eq!(status, 200);
        }
    };
    faults("1.0").await;
    for id in [
        "5500-0000-0000-0004",
        "078-05-1120",
        "DE89370400440532013000",
        JWT,
    ] {
        let (status, headers, _) = request(
            &c,
            "GET",
            &format!("{api}/hello"),
            &[("x-request-id", id)],
            "",
        )
        .await;
        assert_eq!(status, 500);
        let echoed = headers["x-request-id"].to_str().unwrap();
        assert_ne!(echoed, id);
        assert_eq!(echoed.len(), 36, "a generated UUID: {echoed}");
    }
    // The 500s' sample carries the generated id, not the data.
    let (_, report) = get(&c, &format!("{admin}/errors/report")).await;
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let sample = report["most_recent"][0]["sample"].clone();
    assert_eq!(sample["message"], "GET /hello answered 500", "{report}");
    assert_eq!(sample["request_id"].as_str().unwrap().len(), 36, "{report}");
    let (_, headers, _) = request(
        &c,
        "GET",
        &format!("{api}/hello"),
        &[("x-request-id", "req-2026-12-01-a")],
        "",
    )
    .await;
    assert_eq!(headers["x-request-id"], "req-2026-12-01-a", "an id stays");
    faults("0.0").await;

    // 9. The bearer scheme is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let (status, _, _) = request(
            &c,
            "GET",
            &format!("{admin}/info"),
            &[("authorization", &format!("{scheme} {ADMIN_TOKEN}"))],
            "",
        )
        .await;
        assert_eq!(status, 200, "{scheme}");
    }

    // 8. The audit trail cannot be switched off: `off` is installed with
    //    the security floor (its own audit event is written), a filter that
    //    names the security target below warn, or no level at all, is
    //    refused without repeating the request's text.
    for (filter, expected) in [
        ("redline::security=off", 400),
        ("info,redline::security=error", 400),
        ("wranzzz", 400),
        ("off", 200),
    ] {
        let (status, _, answer) = request(
            &c,
            "PUT",
            &format!("{admin}/logs/level"),
            &[("authorization", auth.as_str())],
            filter,
        )
        .await;
        assert_eq!(status, expected, "{filter}: {answer}");
        if expected == 400 {
            assert!(!answer.contains(filter), "echoed: {answer}");
            assert!(
                answer.contains("refused") || answer.contains("invalid"),
                "{answer}"
            );
        } else {
            assert!(answer.contains("redline::security=info"), "{answer}");
        }
    }
    // After `off`: failed logins are still written, not only counted.
    let (status, _, _) = request(
        &c,
        "GET",
        &format!("{admin}/info"),
        &[("authorization", "Bearer wrong-token-after-off")],
        "",
    )
    .await;
    assert_eq!(status, 401);

    // The error report.
    let (status, report) = get(&c, &format!("{admin}/errors/report")).await;
    assert_eq!(status, 200);
    assert_eq!(leaks(&report), Vec::<&str>::new(), "error report: {report}");

    // The spans: every field of every span, trace state included.
    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            spans
                .iter()
                .any(|s| s.attr("url.path").is_some_and(|p| p.starts_with("/users/")))
                && spans.iter().any(|s| s.span.name == "bot.message")
        })
        .await;
    let exported: String = spans.iter().map(|s| format!("{:?}\n", s.span)).collect();
    assert_eq!(leaks(&exported), Vec::<&str>::new(), "spans: {exported}");
    let users = spans
        .iter()
        .find_map(|s| s.attr("url.path").filter(|p| p.starts_with("/users/")))
        .unwrap();
    assert_eq!(users, "/users/m***@example.co.uk/profile");
    let traced = spans
        .iter()
        .find(|s| s.attr("url.path").is_some_and(|p| p.starts_with("/users/")))
        .unwrap();
    assert_eq!(traced.span.trace_state, "v=***-**-1120,vendor=ok");

    // The log file: every line is one JSON object, with no raw separator,
    // bidi or C1 control, nothing leaked, the security lines of the
    // refused texts and the audit events after `off` all there.
    assert!(terminate(&mut child, Duration::from_secs(15)).success());
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert_eq!(leaks(&log), Vec::<&str>::new(), "log file: {log}");
    let raw = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    assert!(!log.chars().any(raw), "raw control in the log");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let events = |name: &str| {
        lines
            .iter()
            .filter(|l| l["target"] == "redline::security" && l["event"] == name)
            .count()
    };
    assert!(events("input_validation_fail") >= 1, "{log}");
    let in_span = lines
        .iter()
        .filter(|l| l["event"] == "input_validation_fail" && l["span"]["name"] == "bot.message")
        .count();
    assert!(in_span >= 1, "the security line carries the span: {log}");
    assert!(
        events("authz_admin") >= 1,
        "the change to `off` is audited: {log}"
    );
    let after_off = lines
        .iter()
        .skip_while(|l| {
            !(l["event"] == "authz_admin"
                && l["detail"].as_str().is_some_and(|d| d.contains("off,")))
        })
        .filter(|l| l["target"] == "redline::security" && l["event"] != "authz_admin")
        .count();
    assert!(
        after_off >= 1,
        "a failed login after `off` is written: {log}"
    );
}
