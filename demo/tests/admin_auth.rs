//! Admin access by role. Every route of the admin router (from
//! `redline::admin::ROUTES`, the table the router is built from, so a new
//! endpoint cannot slip through), plus the demo's `/faults`, called by each
//! role (viewer, operator, the legacy `REDLINE_ADMIN_TOKEN`) with a valid
//! token, an expired one, a wrong one and none: the status, the
//! `WWW-Authenticate` header and the security event of each call. Then the
//! principals file reloaded while the demo runs, a principal expiring while
//! it runs, the audit line of a change, and the start-up errors.

mod common;

use std::time::{Duration, SystemTime};

use common::principals::{
    EXPIRED_OPERATOR, EXPIRED_VIEWER, OPERATOR, PrincipalsFile, VIEWER, entry, eventually, rfc3339,
    start_demo_with,
};
use http_body_util::{BodyExt, Full};
use redline::admin::{Access, ROUTES, Role};
use redline::logs::{SecurityEvent, SecurityEvents};

struct Answer {
    status: u16,
    authenticate: Option<String>,
    body: String,
}

async fn call(c: &common::HttpClient, method: &str, url: &str, token: Option<&str>) -> Answer {
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
        ("PUT", "panel") => r#"{"name":"error_rate","value":0.0}"#,
        _ => "",
    };
    let response = c
        .request(b.body(Full::new(bytes::Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        authenticate,
        body: String::from_utf8_lossy(&text).into_owned(),
    }
}

/// The demo's extra admin routes (merged with `serve_admin_with`).
const EXTRA: [(&str, &str); 2] = [("GET", "/faults"), ("PUT", "/faults")];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Viewer,
    Operator,
    /// `REDLINE_ADMIN_TOKEN`: the operator `admin-token`.
    Legacy,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Credential {
    Valid,
    Expired,
    Wrong,
    Missing,
}

impl Who {
    fn role(self) -> Role {
        match self {
            Who::Viewer => Role::Viewer,
            Who::Operator | Who::Legacy => Role::Operator,
        }
    }

    /// The token sent, `None` for a missing one and for an expired legacy
    /// token (the legacy token has no expiry).
    fn token(self, credential: Credential) -> Option<Option<&'static str>> {
        Some(match (credential, self) {
            (Credential::Valid, Who::Viewer) => Some(VIEWER),
            (Credential::Valid, Who::Operator) => Some(OPERATOR),
            (Credential::Valid, Who::Legacy) => Some(common::ADMIN_TOKEN),
            (Credential::Expired, Who::Viewer) => Some(EXPIRED_VIEWER),
            (Credential::Expired, Who::Operator) => Some(EXPIRED_OPERATOR),
            (Credential::Expired, Who::Legacy) => return None,
            (Credential::Wrong, _) => Some("not-the-token-not-the-token"),
            (Credential::Missing, _) => None,
        })
    }
}

/// What a call should get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// The endpoint's own answer (for `/health`, with the checks).
    Allowed,
    /// `/health` without the checks.
    Summary,
    /// 403: the role is too low.
    Forbidden,
    /// 401 for an expired or unknown token, or none.
    Unauthorized,
}

fn expected(access: Access, role_sent: Option<Role>) -> Outcome {
    match (access, role_sent) {
        (Access::PublicSummary, Some(_)) => Outcome::Allowed,
        (Access::PublicSummary, None) => Outcome::Summary,
        (access, sent) => match (access.needs(true), sent) {
            (None, _) => Outcome::Allowed,
            (Some(needed), Some(role)) if role.allows(needed) => Outcome::Allowed,
            (Some(_), Some(_)) => Outcome::Forbidden,
            (Some(_), None) => Outcome::Unauthorized,
        },
    }
}

const EVENTS: [SecurityEvent; 4] = [
    SecurityEvent::AuthnLoginFail,
    SecurityEvent::AuthnTokenInvalid,
    SecurityEvent::AuthzFail,
    SecurityEvent::AuthzAdmin,
];

fn counts(security: &SecurityEvents) -> [u64; 4] {
    EVENTS.map(|e| security.count(e))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_by_every_role_and_credential() {
    let file = PrincipalsFile::standard();
    let demo = start_demo_with(&file, true).await;
    let admin = demo.admin_addr().unwrap();
    let c = common::client();
    let security = demo.telemetry().security().clone();
    let routes: Vec<(&str, &str, Access)> = ROUTES
        .iter()
        .map(|r| (r.method, r.path, r.access))
        .chain(
            EXTRA
                .iter()
                .map(|(m, p)| (*m, *p, Access::Role(Role::Operator))),
        )
        .collect();
    let mut calls = 0;
    for &(method, path, access) in &routes {
        let url = format!("http://{admin}{path}");
        for who in [Who::Viewer, Who::Operator, Who::Legacy] {
            for credential in [
                Credential::Valid,
                Credential::Expired,
                Credential::Wrong,
                Credential::Missing,
            ] {
                let Some(token) = who.token(credential) else {
                    continue;
                };
                let case = format!("{method} {path} as {who:?} with a {credential:?} token");
                let role_sent = (credential == Credential::Valid).then(|| who.role());
                let outcome = expected(access, role_sent);
                let before = counts(&security);
                let answer = call(&c, method, &url, token).await;
                let after = counts(&security);
                calls += 1;
                let mut events = [0; 4];
                match outcome {
                    Outcome::Allowed => {
                        // The endpoint's own answer: probes may be 503, and
                        // the log level cannot change in-process, where
                        // logging was not installed (409).
                        let ok = match path {
                            "/ready" | "/health" => [200, 503].contains(&answer.status),
                            "/logs/level" => answer.status == 409,
                            // No token in the form (a bearer header is
                            // not a login), no session to end.
                            "/status/login" => answer.status == 400,
                            "/status/logout" => answer.status == 204,
                            _ => answer.status == 200,
                        };
                        assert!(ok, "{case}: {} {}", answer.status, answer.body);
                        if path == "/health" {
                            let doc: serde_json::Value =
                                serde_json::from_str(&answer.body).unwrap();
                            assert!(!doc["checks"].as_object().unwrap().is_empty(), "{case}");
                        }
                        // Each change of state let through is audited.
                        if method != "GET" && access.needs(true).is_some() {
                            events[3] = 1;
                        }
                    }
                    Outcome::Summary => {
                        assert!([200, 503].contains(&answer.status), "{case}");
                        let doc: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
                        assert!(doc["checks"].as_object().unwrap().is_empty(), "{case}");
                    }
                    Outcome::Forbidden => {
                        assert_eq!(answer.status, 403, "{case}: {}", answer.body);
                        events[2] = 1;
                    }
                    Outcome::Unauthorized => {
                        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
                        let header = if credential == Credential::Missing {
                            "Bearer"
                        } else {
                            r#"Bearer error="invalid_token""#
                        };
                        assert_eq!(answer.authenticate.as_deref(), Some(header), "{case}");
                    }
                }
                // Refused credentials are events on protected and public
                // (`/health`) routes alike: an expired token is an invalid
                // token, an unknown one or none a failed login.
                if matches!(outcome, Outcome::Unauthorized | Outcome::Summary) {
                    match credential {
                        Credential::Expired => events[1] = 1,
                        Credential::Wrong => events[0] = 1,
                        Credential::Missing if outcome == Outcome::Unauthorized => events[0] = 1,
                        _ => {}
                    }
                }
                let delta: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
                assert_eq!(delta, events, "{case}: events {EVENTS:?}");
                // Neither the token nor whether a name exists is revealed.
                let sent = token.into_iter();
                for secret in sent.chain(["viewer", "old-", "operator"]) {
                    assert!(
                        !answer.body.contains(secret) || outcome == Outcome::Allowed,
                        "{case}: {}",
                        answer.body
                    );
                }
            }
        }
    }
    assert_eq!(calls, (ROUTES.len() + EXTRA.len()) * 11);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_public_unless_metrics_auth() {
    let file = PrincipalsFile::standard();
    let demo = start_demo_with(&file, false).await;
    let url = format!("http://{}/metrics", demo.admin_addr().unwrap());
    let c = common::client();
    assert_eq!(call(&c, "GET", &url, None).await.status, 200);
    let scrape = call(&c, "GET", &url, Some(VIEWER)).await.body;
    // admin-token, viewer, operator and the two expired ones.
    assert!(scrape.contains("redline_admin_principals 5\n"), "{scrape}");
    assert!(!scrape.contains(VIEWER) && !scrape.contains(common::ADMIN_TOKEN));
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_credential_protected_routes_say_how_to_set_one() {
    let mut options = common::demo_options();
    options.config.admin_token = None;
    options.config.metrics_auth = false;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let admin = demo.admin_addr().unwrap();
    let c = common::client();
    let protected = ROUTES
        .iter()
        .filter(|r| matches!(r.access, Access::Role(_)))
        .map(|r| (r.method, r.path))
        .chain(EXTRA);
    for (method, path) in protected {
        let answer = call(
            &c,
            method,
            &format!("http://{admin}{path}"),
            Some("anything-anything-anything"),
        )
        .await;
        assert_eq!(answer.status, 403, "{method} {path}");
        assert!(
            answer.body.contains("REDLINE_ADMIN_PRINCIPALS_FILE"),
            "{}",
            answer.body
        );
    }
    assert_eq!(
        call(&c, "GET", &format!("http://{admin}/ready"), None)
            .await
            .status,
        200
    );
    assert!(demo.telemetry().security().count(SecurityEvent::AuthzFail) >= 6);
    demo.shutdown().await;
}

/// The value of the sample `name` (with its labels) in `scrape`.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_principals_file_is_reloaded_while_the_demo_runs() {
    let v1 = "first-viewer-token-0123456789";
    let v2 = "second-viewer-token-0123456789";
    let op = "the-operator-token-0123456789";
    let file = PrincipalsFile::new(&format!(
        "{}{}",
        entry("v1", "viewer", v1, None),
        entry("op", "operator", op, None)
    ));
    let demo = start_demo_with(&file, false).await;
    let admin = demo.admin_addr().unwrap();
    let c = common::client();
    let info = format!("http://{admin}/info");
    let faults = format!("http://{admin}/faults");
    let status = |method: &'static str, url: String, token: &'static str| {
        let c = c.clone();
        async move { call(&c, method, &url, Some(token)).await.status }
    };
    let wait = Duration::from_secs(5);
    assert_eq!(status("GET", info.clone(), v1).await, 200);
    assert_eq!(status("GET", info.clone(), v2).await, 401);
    assert_eq!(status("PUT", faults.clone(), v1).await, 403);

    // A principal added.
    file.write(&format!(
        "{}{}{}",
        entry("v1", "viewer", v1, None),
        entry("op", "operator", op, None),
        entry("v2", "viewer", v2, None)
    ));
    assert!(
        eventually(wait, || async {
            status("GET", info.clone(), v2).await == 200
        })
        .await
    );
    // A role changed.
    file.write(&format!(
        "{}{}{}",
        entry("v1", "operator", v1, None),
        entry("op", "operator", op, None),
        entry("v2", "viewer", v2, None)
    ));
    assert!(
        eventually(wait, || async {
            status("PUT", faults.clone(), v1).await == 200
        })
        .await
    );
    // A principal removed.
    file.write(&format!(
        "{}{}",
        entry("v1", "operator", v1, None),
        entry("v2", "viewer", v2, None)
    ));
    assert!(
        eventually(wait, || async {
            status("GET", info.clone(), op).await == 401
        })
        .await
    );
    let scrape = demo.telemetry().render_metrics();
    assert_eq!(
        sample(
            &scrape,
            r#"redline_admin_principals_reloads_total{result="ok"}"#
        ),
        Some(3.0),
        "{scrape}"
    );
    // admin-token, v1, v2.
    assert_eq!(sample(&scrape, "redline_admin_principals"), Some(3.0));

    // A broken file keeps the previous principals, and is counted once.
    file.write("[[principal]]\nname = \"v1\"\nrole = \"root\"\n");
    let telemetry = demo.telemetry().clone();
    assert!(
        eventually(wait, || async {
            sample(
                &telemetry.render_metrics(),
                r#"redline_admin_principals_reloads_total{result="error"}"#,
            ) == Some(1.0)
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let scrape = demo.telemetry().render_metrics();
    assert_eq!(
        sample(
            &scrape,
            r#"redline_admin_principals_reloads_total{result="error"}"#
        ),
        Some(1.0),
        "the same failure is counted once"
    );
    assert_eq!(sample(&scrape, "redline_admin_principals"), Some(3.0));
    assert_eq!(status("PUT", faults.clone(), v1).await, 200);
    assert_eq!(status("GET", info.clone(), v2).await, 200);
    assert_eq!(status("GET", info.clone(), common::ADMIN_TOKEN).await, 200);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_expiring_while_the_demo_runs_is_refused_at_once() {
    let token = "short-lived-token-0123456789";
    let at = SystemTime::now() + Duration::from_secs(3);
    let file = PrincipalsFile::new(&entry("short", "viewer", token, Some(&rfc3339(at))));
    let demo = start_demo_with(&file, false).await;
    let url = format!("http://{}/info", demo.admin_addr().unwrap());
    let c = common::client();
    assert_eq!(call(&c, "GET", &url, Some(token)).await.status, 200);
    // The expiry is rounded up to the second.
    let past = at + Duration::from_millis(1100);
    tokio::time::sleep(past.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let answer = call(&c, "GET", &url, Some(token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.authenticate.as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(answer.body, "expired or invalid admin credential\n");
    assert_eq!(
        demo.telemetry()
            .security()
            .count(SecurityEvent::AuthnTokenInvalid),
        1
    );
    demo.shutdown().await;
}

#[test]
fn a_change_of_state_is_audited_with_the_principal_s_name() {
    let file = PrincipalsFile::standard();
    let log = file.dir.path().join("demo.log");
    let (mut child, _api, admin) = common::start_binary(
        &[
            ("REDLINE_ADMIN_PRINCIPALS_FILE", file.path.to_str().unwrap()),
            ("REDLINE_LOG_OUTPUT", "file"),
            ("REDLINE_LOG_FILE", log.to_str().unwrap()),
        ],
        &[],
    );
    // The demo installs its logging after printing its URLs: wait for it.
    for _ in 0..200 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("sys_startup") {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let c = common::client();
    let url = format!("{}/faults", admin.trim_end_matches('/'));
    let status = runtime
        .block_on(call(&c, "PUT", &url, Some(OPERATOR)))
        .status;
    assert_eq!(status, 200);
    let refused = runtime.block_on(call(&c, "PUT", &url, Some(VIEWER))).status;
    assert_eq!(refused, 403);
    // Logs reach the file in full once the demo has stopped.
    assert!(common::terminate(&mut child, Duration::from_secs(15)).success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("authz_admin"))
        .unwrap_or_else(|| panic!("an authz_admin line: {text}"));
    let event: serde_json::Value = serde_json::from_str(line).unwrap();
    let fields = event.get("fields").unwrap_or(&event);
    assert_eq!(fields["principal"], "operator", "{line}");
    assert_eq!(fields["route"], "PUT /faults", "{line}");
    assert_eq!(fields["status"], 200, "{line}");
    for token in [OPERATOR, VIEWER] {
        assert!(!text.contains(token), "a token in the log: {text}");
    }
}

#[test]
fn start_up_errors_name_the_variable_and_the_principal_never_a_token() {
    let file = PrincipalsFile::new(&entry("ci-bot", "root", VIEWER, None));
    let path = file.path.to_str().unwrap().to_owned();
    let err = redline::Config::from_vars([("REDLINE_ADMIN_PRINCIPALS_FILE", path.as_str())], &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("REDLINE_ADMIN_PRINCIPALS_FILE"), "{err}");
    assert!(err.contains("\"ci-bot\""), "{err}");
    // A principal with REDLINE_ADMIN_TOKEN's token.
    file.write(&entry("ci-bot", "viewer", common::ADMIN_TOKEN, None));
    let err = redline::Config::from_vars(
        [
            ("REDLINE_ADMIN_PRINCIPALS_FILE", path.as_str()),
            ("REDLINE_ADMIN_TOKEN", common::ADMIN_TOKEN),
        ],
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("REDLINE_ADMIN_TOKEN's"), "{err}");
    assert!(!err.contains(common::ADMIN_TOKEN), "{err}");
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
    // The configuration's Debug output never shows the token (nor its
    // digest).
    let shown = format!("{config:?}");
    assert!(shown.contains("AdminToken(<redacted>)"), "{shown}");
    assert!(!shown.contains(common::ADMIN_TOKEN), "{shown}");
    assert!(config.admin_token.unwrap().verify(common::ADMIN_TOKEN));
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
