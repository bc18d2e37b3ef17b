//! Every route of the admin router (from `redline::admin::ROUTES`, the table
//! the router is built from, so a new endpoint cannot slip through), plus
//! the demo's `/faults`, called with no token, a wrong token and the right
//! one; and with no token configured at all.

mod common;

use http_body_util::{BodyExt, Full};
use redline::admin::{Access, ROUTES};
use redline::logs::SecurityEvent;

async fn call(
    c: &common::HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    // Valid bodies for the PUT endpoints, so "allowed" means 200.
    let body = match (method, url.rsplit('/').next().unwrap_or("")) {
        ("PUT", "level") => "info",
        ("PUT", "faults") => r#"{"error_rate":0.0}"#,
        _ => "",
    };
    let response = c
        .request(b.body(Full::new(bytes::Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned())
}

/// The demo's extra admin routes (merged with `serve_admin_with`).
const EXTRA: [(&str, &str); 2] = [("GET", "/faults"), ("PUT", "/faults")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_with_no_wrong_and_right_token() {
    let demo = common::start_demo().await;
    let admin = demo.admin_addr().unwrap();
    let c = common::client();
    let security = demo.telemetry().security().clone();
    let routes = ROUTES
        .iter()
        .map(|r| (r.method, r.path, r.access))
        .chain(EXTRA.iter().map(|(m, p)| (*m, *p, Access::Token)));
    let mut failures_expected = 0;
    for (method, path, access) in routes {
        let url = format!("http://{admin}{path}");
        let right = call(&c, method, &url, Some(common::ADMIN_TOKEN)).await;
        // Allowed: the endpoint's own answer (probes may be 503, and the
        // log level cannot change in-process, where logging was not
        // installed: 409), never 401 or 403.
        let allowed = match path {
            "/ready" | "/health" => [200, 503].contains(&right.0),
            "/logs/level" => right.0 == 409,
            _ => right.0 == 200,
        };
        assert!(allowed, "{method} {path} with the token: {right:?}");
        let none = call(&c, method, &url, None).await;
        let wrong = call(&c, method, &url, Some("not-the-token-not-the-token")).await;
        match access {
            Access::Token => {
                assert_eq!(none.0, 401, "{method} {path} without a token");
                assert_eq!(wrong.0, 401, "{method} {path} with a wrong token");
                assert!(!wrong.1.contains("not-the-token"), "never echoed");
                failures_expected += 2;
            }
            // Metrics auth is off by default; probes are public.
            Access::Public | Access::Metrics => {
                assert_eq!(none.0, right.0, "{method} {path} is public");
            }
            Access::PublicSummary => {
                // `/health`: the status for anyone, the checks with the token.
                let full: serde_json::Value = serde_json::from_str(&right.1).unwrap();
                let summary: serde_json::Value = serde_json::from_str(&none.1).unwrap();
                assert!(!full["checks"].as_object().unwrap().is_empty());
                assert!(
                    summary["checks"].as_object().unwrap().is_empty(),
                    "{summary}"
                );
                assert_eq!(full["status"], summary["status"]);
                // A wrong credential on a public endpoint still counts.
                failures_expected += 1;
            }
        }
    }
    assert_eq!(
        security.count(SecurityEvent::AuthnLoginFail),
        failures_expected
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_token_protected_routes_say_how_to_set_one() {
    let mut options = common::demo_options();
    options.config.admin_token = None;
    options.config.metrics_auth = false;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let admin = demo.admin_addr().unwrap();
    let c = common::client();
    for r in ROUTES.iter().filter(|r| r.access == Access::Token) {
        let (status, body) = call(
            &c,
            r.method,
            &format!("http://{admin}{}", r.path),
            Some("anything-anything-anything"),
        )
        .await;
        assert_eq!(status, 403, "{} {}", r.method, r.path);
        assert!(body.contains("REDLINE_ADMIN_TOKEN"), "{body}");
    }
    assert_eq!(
        call(&c, "GET", &format!("http://{admin}/ready"), None)
            .await
            .0,
        200
    );
    assert!(demo.telemetry().security().count(SecurityEvent::AuthzFail) >= 4);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_the_token() {
    let mut options = common::demo_options();
    options.config.metrics_auth = true;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let url = format!("http://{}/metrics", demo.admin_addr().unwrap());
    let c = common::client();
    assert_eq!(call(&c, "GET", &url, None).await.0, 401);
    assert_eq!(
        call(&c, "GET", &url, Some(common::ADMIN_TOKEN)).await.0,
        200
    );
    demo.shutdown().await;
}

#[test]
fn a_token_file_is_read_and_short_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{}\n", common::ADMIN_TOKEN)).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let config = redline::Config::from_lookup(|name| {
        (name == "REDLINE_ADMIN_TOKEN_FILE").then(|| path.clone())
    })
    .unwrap();
    // The configuration's Debug output, which holds the token, never shows it.
    let shown = format!("{config:?}");
    assert!(shown.contains("AdminToken(<redacted>)"), "{shown}");
    assert!(!shown.contains(common::ADMIN_TOKEN), "{shown}");
    assert_eq!(config.admin_token.unwrap().expose(), common::ADMIN_TOKEN);
    let err = redline::Config::from_lookup(|name| {
        (name == "REDLINE_ADMIN_TOKEN").then(|| "short".to_string())
    })
    .unwrap_err();
    assert!(
        !err.to_string().contains("short"),
        "the value is never echoed: {err}"
    );
    let err = redline::Config::from_lookup(|name| {
        (name == "REDLINE_ADMIN_TOKEN_FILE").then(|| "/nonexistent/token".to_string())
    })
    .unwrap_err();
    assert!(err.to_string().contains("REDLINE_ADMIN_TOKEN_FILE"));
}
