//! `Telemetry::serve`: the library's server honours `REDLINE_SHUTDOWN_DELAY`
//! (`/ready` answers 503 while requests are still served) and
//! `REDLINE_SHUTDOWN_GRACE` (in-flight requests finish within it, and are
//! cut beyond it), over real HTTP on loopback.

mod common;

use std::time::{Duration, Instant};

use axum::Router;
use common::*;

async fn started(delay: Duration, grace: Duration) -> (redline::Telemetry, redline::ShutdownGuard) {
    let config = redline::Config::from_lookup(|name| match name {
        // The default is 0s (no delay); the variable takes 10ms and up.
        "REDLINE_SHUTDOWN_DELAY" if !delay.is_zero() => Some(format!("{}ms", delay.as_millis())),
        "REDLINE_SHUTDOWN_GRACE" => Some(format!("{}ms", grace.as_millis())),
        "REDLINE_ADMIN_LISTEN" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap();
    let telemetry = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let admin = telemetry.serve_admin().await.unwrap();
    (telemetry, admin)
}

fn app(telemetry: &redline::Telemetry, handler_time: Duration) -> Router {
    telemetry.instrument(
        Router::new()
            .route("/fast", axum::routing::get(|| async { "fast" }))
            .route(
                "/slow",
                axum::routing::get(move || async move {
                    tokio::time::sleep(handler_time).await;
                    "slow"
                }),
            ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_for_the_delay_then_lets_requests_finish() {
    let (telemetry, admin) = started(Duration::from_millis(600), Duration::from_secs(5)).await;
    let admin_url = format!("http://{}", admin.admin_addr().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = telemetry
        .serve(listener, app(&telemetry, Duration::from_millis(1200)))
        .unwrap();
    let api = format!("http://{}", server.local_addr());
    let c = client();
    assert_eq!(get(&c, &format!("{admin_url}/ready")).await.0, 200);

    let slow = tokio::spawn({
        let (c, api) = (c.clone(), api.clone());
        async move { get(&c, &format!("{api}/slow")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let began = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Within the delay: not ready, still serving.
    assert_eq!(get(&c, &format!("{admin_url}/ready")).await.0, 503);
    assert_eq!(get(&c, &format!("{api}/fast")).await, (200, "fast".into()));
    // The slow request, in flight across the delay, finishes.
    assert_eq!(slow.await.unwrap(), (200, "slow".into()));
    shutdown.await.unwrap();
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(600),
        "the delay was honoured: {took:?}"
    );
    assert!(
        took < Duration::from_secs(4),
        "no longer than needed: {took:?}"
    );
    let refused = tokio::net::TcpStream::connect(api.trim_start_matches("http://")).await;
    assert!(refused.is_err(), "no longer listening");
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_grace_period_are_cut() {
    let (telemetry, admin) = started(Duration::ZERO, Duration::from_millis(300)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = telemetry
        .serve(listener, app(&telemetry, Duration::from_secs(20)))
        .unwrap();
    let api = format!("http://{}/slow", server.local_addr());
    let c = client();
    let slow = tokio::spawn(async move {
        let request = hyper::Request::get(api)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        c.request(request).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let began = Instant::now();
    server.shutdown().await;
    let took = began.elapsed();
    assert!(
        (Duration::from_millis(250)..Duration::from_secs(3)).contains(&took),
        "bounded by the grace period: {took:?}"
    );
    let outcome = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the client hears of it")
        .unwrap();
    assert!(outcome.is_err(), "the request was cut: {outcome:?}");
    admin.shutdown().await;
}
