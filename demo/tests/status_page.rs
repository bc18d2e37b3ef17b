//! The status page's login over real HTTP: the cookie's flags, CSRF on
//! every change made with the cookie, logout, expiry, cross-site logins,
//! failed logins counted and throttled, and a session store that stays
//! bounded under 100,000 logins. (The page itself is tested in a real
//! browser by `tests/browser/status_page.py`.)

mod common;

use std::time::Duration;

use common::*;
use http_body_util::{BodyExt, Full};
use redline::logs::SecurityEvent;

struct Answer {
    status: u16,
    set_cookie: Option<String>,
    body: String,
}

async fn call(
    c: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut b = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let response = c
        .request(
            b.body(Full::new(bytes::Bytes::from(body.to_owned())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        set_cookie,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// Logs in with `token`: the `Cookie` header value of the session.
async fn login(c: &HttpClient, admin: &str, token: &str) -> String {
    let a = call(
        c,
        "POST",
        &format!("{admin}/status/login"),
        &[FORM],
        &format!("token={token}"),
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    let set = a.set_cookie.expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

async fn data(c: &HttpClient, admin: &str, cookie: &str) -> Answer {
    call(
        c,
        "GET",
        &format!("{admin}/status/data"),
        &[("cookie", cookie)],
        "",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cookie_csrf_and_logout() {
    let demo = start_demo().await;
    let admin = format!("http://{}", demo.admin_addr().unwrap());
    let security = demo.telemetry().security().clone();
    let c = client();

    // The page is public and carries no data; its data needs a login.
    assert_eq!(
        call(&c, "GET", &format!("{admin}/status"), &[], "")
            .await
            .status,
        200
    );
    assert_eq!(data(&c, &admin, "").await.status, 401);

    // The cookie: HttpOnly, SameSite=Strict, scoped to the page, expiring,
    // not Secure over plain HTTP.
    let a = call(
        &c,
        "POST",
        &format!("{admin}/status/login"),
        &[FORM],
        &format!("token={ADMIN_TOKEN}"),
    )
    .await;
    assert_eq!(a.status, 204);
    let set = a.set_cookie.unwrap();
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/status",
        "Max-Age=28800",
    ] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    assert!(!set.contains(ADMIN_TOKEN), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    assert_eq!(security.count(SecurityEvent::AuthnLoginSuccess), 1);

    let d = data(&c, &admin, &cookie).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let doc: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(doc["viewer"]["principal"], "admin-token");
    let csrf = doc["viewer"]["csrf"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 64);
    assert_eq!(doc["panel"]["fields"][0]["name"], "error_rate");

    // A change with the cookie but without its CSRF token, or a wrong
    // one: refused, counted, nothing changed.
    let panel = format!("{admin}/status/panel");
    let change = r#"{"name":"error_rate","value":0.25}"#;
    let json = ("content-type", "application/json");
    let refused_before = security.count(SecurityEvent::AuthzFail);
    for headers in [
        vec![("cookie", cookie.as_str()), json],
        vec![("cookie", cookie.as_str()), json, ("x-csrf-token", "0000")],
    ] {
        let a = call(&c, "PUT", &panel, &headers, change).await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(a.body.contains("\"csrf\""), "{}", a.body);
    }
    assert_eq!(security.count(SecurityEvent::AuthzFail), refused_before + 2);
    assert_eq!(demo.faults().get().error_rate, Some(0.0));
    // With it: changed and audited.
    let audits = security.count(SecurityEvent::AuthzAdmin);
    let headers = [
        ("cookie", cookie.as_str()),
        json,
        ("x-csrf-token", csrf.as_str()),
    ];
    let a = call(&c, "PUT", &panel, &headers, change).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(demo.faults().get().error_rate, Some(0.25));
    assert_eq!(security.count(SecurityEvent::AuthzAdmin), audits + 1);
    // Values the panel refuses: a typed error that does not echo them.
    for (body, code) in [
        (r#"{"name":"error_rate","value":7.5}"#, "invalid_value"),
        (r#"{"name":"nope","value":1}"#, "unknown_field"),
        (r#"{"name":"error_rate","value":"x"}"#, "invalid_body"),
    ] {
        let a = call(&c, "PUT", &panel, &headers, body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        assert!(a.body.contains(code), "{}", a.body);
        assert!(
            !a.body.contains("7.5") && !a.body.contains("nope"),
            "{}",
            a.body
        );
    }

    // Logout: needs the CSRF token, then the cookie is worthless.
    let logout = format!("{admin}/status/logout");
    let a = call(&c, "POST", &logout, &[("cookie", cookie.as_str())], "").await;
    assert_eq!(a.status, 403);
    assert_eq!(data(&c, &admin, &cookie).await.status, 200);
    let a = call(
        &c,
        "POST",
        &logout,
        &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        "",
    )
    .await;
    assert_eq!(a.status, 204);
    assert!(a.set_cookie.unwrap().contains("Max-Age=0"));
    let invalid_before = security.count(SecurityEvent::AuthnTokenInvalid);
    assert_eq!(data(&c, &admin, &cookie).await.status, 401);
    assert_eq!(
        security.count(SecurityEvent::AuthnTokenInvalid),
        invalid_before + 1
    );

    // A login from another site is refused.
    let a = call(
        &c,
        "POST",
        &format!("{admin}/status/login"),
        &[FORM, ("origin", "http://evil.example")],
        &format!("token={ADMIN_TOKEN}"),
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(a.set_cookie.is_none());
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_and_throttled() {
    let demo = start_demo().await;
    let admin = format!("http://{}", demo.admin_addr().unwrap());
    let security = demo.telemetry().security().clone();
    let c = client();
    let url = format!("{admin}/status/login");
    let secret = "not-the-token-hunter2-0123456789";
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let a = call(&c, "POST", &url, &[FORM], &format!("token={secret}")).await;
        assert!(!a.body.contains("hunter2"), "{}", a.body);
        assert!(a.set_cookie.is_none());
        statuses.push(a.status);
    }
    assert_eq!(&statuses[..10], &[401; 10]);
    assert_eq!(&statuses[10..], &[429; 5]);
    assert_eq!(security.count(SecurityEvent::AuthnLoginFail), 10);
    assert_eq!(security.count(SecurityEvent::ExcessRateLimitExceeded), 5);
    // Throttled, even the right token waits: the address is what is
    // limited, not the guess.
    let a = call(&c, "POST", &url, &[FORM], &format!("token={ADMIN_TOKEN}")).await;
    assert_eq!(a.status, 429);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire() {
    let mut options = demo_options();
    options.config.status.session_ttl = Duration::from_secs(1);
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let admin = format!("http://{}", demo.admin_addr().unwrap());
    let c = client();
    let cookie = login(&c, &admin, ADMIN_TOKEN).await;
    assert_eq!(data(&c, &admin, &cookie).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(data(&c, &admin, &cookie).await.status, 401);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_store_stays_bounded_under_100000_logins() {
    let demo = start_demo().await;
    let admin = format!("http://{}", demo.admin_addr().unwrap());
    let c = client();
    let first = login(&c, &admin, ADMIN_TOKEN).await;
    // 100,000 logins over 4 keep-alive connections (bounded in count and
    // in time).
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (c, admin) = (client(), admin.clone());
            tokio::spawn(async move {
                let mut last = String::new();
                for _ in 0..25_000 {
                    last = login(&c, &admin, ADMIN_TOKEN).await;
                }
                last
            })
        })
        .collect();
    let mut last = Vec::new();
    for w in workers {
        last.push(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(240), "{elapsed:?}");
    let kept = demo.telemetry().status_sessions().unwrap();
    assert!(kept <= 1024, "{kept} sessions kept");
    // The newest work, the oldest was pushed out.
    for cookie in &last {
        assert_eq!(data(&c, &admin, cookie).await.status, 200);
    }
    assert_eq!(data(&c, &admin, &first).await.status, 401);
    eprintln!("100,000 logins in {elapsed:?}; {kept} sessions kept");
    demo.shutdown().await;
}
