//! End to end: messages, paths, query strings and headers full of personal
//! data and secrets, sent to the demo binary, never appear in its log file,
//! its error report, its status page, or the spans it exports over OTLP;
//! their masked forms do (so the text did reach them).

mod common;
#[path = "../../tests/common/otlp.rs"]
mod otlp;
#[path = "../../tests/common/pii.rs"]
mod pii;

use std::time::Duration;

use common::*;
use pii::{API_KEY, CARD, CARD_DIGITS, EMAIL, IBAN, JWT, PASSWORD, PHONE, SESSION, SSN};

/// Every string that must not leak, and the masked forms that show the
/// text got through.
const SECRETS: [&str; 10] = [
    EMAIL,
    PHONE,
    CARD,
    CARD_DIGITS,
    SSN,
    IBAN,
    PASSWORD,
    API_KEY,
    JWT,
    SESSION,
];

fn leaks(haystack: &str) -> Vec<&'static str> {
    pii::leaks(&SECRETS, haystack)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_never_reaches_logs_error_reports_or_spans() {
    let receiver = otlp::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log_file = dir.path().join("demo.log");
    let (mut child, api, admin) = start_binary_observed(
        &receiver.grpc_endpoint(),
        &log_file,
        "debug,h2=info,hyper=info,tonic=info,tower=info",
    );
    let c = client();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let everything = format!(
        "hi, I am {EMAIL}, call {PHONE}, card {CARD}, ssn {SSN}, iban {IBAN}, \
         password={PASSWORD}, Bearer {API_KEY}, jwt {JWT}"
    );
    let messages = [
        // Accepted: a conversation and a command.
        (everything.clone(), 200),
        (format!("/echo {everything}"), 200),
        // Refused: bad arguments, a control character, a bad command
        // name; each becomes an error-tracker sample with the text.
        (format!("/roll {EMAIL} {CARD_DIGITS} {SSN}"), 422),
        (format!("note {everything}\u{1b}[31m"), 422),
        (format!("/Pay {IBAN} {PHONE} password={PASSWORD}"), 400),
    ];
    for (text, expected) in &messages {
        let body = serde_json::json!({ "chat_id": 7, "text": text }).to_string();
        let request = hyper::Request::post(format!("{api}/messages"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {API_KEY}"))
            .header("cookie", format!("session={SESSION}"))
            .header("x-api-key", API_KEY)
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .unwrap();
        let status = c.request(request).await.unwrap().status();
        assert_eq!(status, *expected, "{text}");
    }
    // A path and a query string with personal data.
    let (status, _) = get(&c, &format!("{api}/conversations/{EMAIL}")).await;
    assert_eq!(status, 400);
    let (status, _) = get(
        &c,
        &format!("{api}/hello?api_key={API_KEY}&email={EMAIL}&card={CARD_DIGITS}"),
    )
    .await;
    assert_eq!(status, 200);

    // The error report (the token is sent by `get`).
    let (status, report) = get(&c, &format!("{admin}/errors/report")).await;
    assert_eq!(status, 200);
    assert_eq!(leaks(&report), Vec::<&str>::new(), "error report: {report}");
    assert!(report.contains("j***@example.com"), "{report}");
    assert!(report.contains("**** **** **** 4242"), "{report}");

    // The status page's data and the page itself, after a request whose
    // id is personal data (the layer refuses such ids) and a slow one.
    let request = hyper::Request::get(format!("{api}/hello?email={EMAIL}"))
        .header("x-request-id", EMAIL)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(c.request(request).await.unwrap().status(), 200);
    let (status, data) = get(&c, &format!("{admin}/status/data")).await;
    assert_eq!(status, 200);
    assert_eq!(leaks(&data), Vec::<&str>::new(), "status data: {data}");
    // The text got there: the error groups, the recent requests.
    assert!(data.contains("BotError"), "{data}");
    assert!(data.contains("\"slowest\":[{"), "{data}");
    let (status, page) = get(&c, &format!("{admin}/status")).await;
    assert_eq!(status, 200);
    assert_eq!(leaks(&page), Vec::<&str>::new(), "status page: {page}");

    // The spans: every field of every span (names, attributes, events,
    // status) as the receiver decoded them.
    let spans = receiver
        .wait_for(Duration::from_secs(10), |spans| {
            spans.iter().any(|s| s.span.name == "bot.message")
                && spans.iter().any(|s| {
                    s.attr("url.path")
                        .is_some_and(|p| p.starts_with("/conversations/"))
                })
        })
        .await;
    let exported: String = spans.iter().map(|s| format!("{:?}\n", s.span)).collect();
    assert_eq!(leaks(&exported), Vec::<&str>::new(), "spans: {exported}");
    assert!(exported.contains("j***@example.com"), "{exported}");
    assert!(exported.contains("**** **** **** 4242"), "{exported}");

    // The log file, once everything is flushed.
    assert!(terminate(&mut child, Duration::from_secs(15)).success());
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert_eq!(leaks(&log), Vec::<&str>::new(), "log file: {log}");
    assert!(log.contains("message received"), "{log}");
    assert!(log.contains("j***@example.com"), "{log}");
    assert!(log.contains("***-**-6789"), "{log}");
}
