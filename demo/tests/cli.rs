//! The `redline` binary: the demo starts, serves, and stops cleanly on
//! SIGTERM; invalid configuration stops it at start with a clear message.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn redline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redline"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_and_stops_gracefully_on_sigterm() {
    let mut child = redline()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--load",
            "20",
        ])
        .env("REDLINE_SYSTEM_METRICS_INTERVAL", "1s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut api, mut metrics) = (None, None);
    for _ in 0..10 {
        let line = lines.next().expect("demo prints its URLs").unwrap();
        if let Some(rest) = line.trim().strip_prefix("API:") {
            api = Some(rest.split_whitespace().next().unwrap().to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("metrics:") {
            metrics = Some(rest.trim().to_owned());
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    let (api, metrics) = (api.expect("API URL"), metrics.expect("metrics URL"));
    let c = client();
    assert_eq!(get(&c, &api).await, (200, "hello\n".to_string()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, text) = get(&c, &metrics).await;
    assert_eq!(status, 200);
    assert!(text.contains("http_server_request_duration_seconds_count"));

    sigterm(&child);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "demo did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("load generator:")),
        "{rest:?}"
    );
}

#[test]
fn invalid_configuration_stops_the_start_with_the_variable_named() {
    let out = redline()
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("REDLINE_MAX_SERIES_PER_METRIC", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("REDLINE_MAX_SERIES_PER_METRIC") && err.contains("1 to 1000000"),
        "{err}"
    );

    let out = redline()
        .args(["demo", "--error-rate", "1.5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("from 0 to 1"));
}

#[test]
fn a_misspelled_variable_stops_the_start_naming_the_right_one() {
    let out = redline()
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("REDLINE_RATE_LIMT", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("REDLINE_RATE_LIMT") && err.contains("did you mean REDLINE_RATE_LIMIT?"),
        "{err}"
    );
}

#[test]
fn misspelled_variables_can_be_warnings_and_the_demo_s_own_are_known() {
    // REDLINE_LISTEN and REDLINE_DEMO_DURATION are the command line's.
    let out = redline()
        .args(["demo", "--admin-listen", "127.0.0.1:0"])
        .env("REDLINE_LISTEN", "127.0.0.1:0")
        .env("REDLINE_DEMO_DURATION", "1")
        .env("REDLINE_RATE_LIMT", "5")
        .env("REDLINE_UNKNOWN_VARIABLES", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "warning: unknown variable REDLINE_RATE_LIMT (did you mean REDLINE_RATE_LIMIT?)"
        ),
        "{err}"
    );
    assert!(
        !err.contains("REDLINE_LISTEN") && !err.contains("REDLINE_DEMO_DURATION"),
        "{err}"
    );
}

/// Under load, SIGTERM turns `/ready` to 503 first while the API still
/// serves; requests in flight when the server stops accepting all finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_fails_readiness_first_and_drains_in_flight_requests() {
    let (mut child, api, admin) = start_binary(
        &[
            ("REDLINE_SHUTDOWN_DELAY", "1s"),
            ("REDLINE_SHUTDOWN_GRACE", "10s"),
        ],
        &["--load", "50", "--latency-ms", "400"],
    );
    // New connection per request: a pooled one could be closed by the
    // server between requests, which is not an in-flight failure.
    let c: HttpClient =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
    assert_eq!(get(&c, &format!("{admin}/ready")).await.0, 200);

    // Slow requests in flight across the whole shutdown: started every
    // 50 ms for 1.2 s (bounded: 24 of them), each taking ~400 ms.
    let mut in_flight = Vec::new();
    let sender = {
        let c = c.clone();
        let api = api.clone();
        tokio::spawn(async move {
            let mut handles = Vec::new();
            for _ in 0..24 {
                let c = c.clone();
                let url = format!("{api}/hello");
                let sent = Instant::now();
                handles.push((
                    sent,
                    tokio::spawn(async move {
                        let request = hyper::Request::get(url)
                            .body(http_body_util::Full::new(bytes::Bytes::new()))
                            .unwrap();
                        match c.request(request).await {
                            Ok(r) => Ok(r.status().as_u16()),
                            Err(e) => Err(format!("{e:?}")),
                        }
                    }),
                ));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            handles
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let terminated = Instant::now();
    sigterm(&child);

    // Readiness fails within a moment, while the API still answers.
    let mut saw_not_ready = None;
    while terminated.elapsed() < Duration::from_millis(900) {
        let (status, _) = get(&c, &format!("{admin}/ready")).await;
        if status == 503 {
            saw_not_ready = Some(terminated.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let not_ready_after = saw_not_ready.expect("/ready turned 503 during the shutdown delay");
    assert!(not_ready_after < Duration::from_millis(900));
    let (status, _) = get(&c, &format!("{api}/hello")).await;
    assert_eq!(
        status, 200,
        "the API still serves while readiness is failing"
    );

    // The listener closes 1 s (the shutdown delay) after SIGTERM. A request
    // sent well before that was accepted and is in flight: it must finish
    // with 200. One sent around the close may be refused at connect, or
    // reset when its connection was still in the kernel's accept queue
    // (accepted by the kernel, never by the server): not in flight.
    let in_flight_until = terminated + Duration::from_millis(800);
    for (sent, h) in sender.await.unwrap() {
        let outcome = h.await.expect("the request task ends");
        if sent < in_flight_until {
            assert_eq!(
                outcome,
                Ok(200),
                "a request sent {:?} after SIGTERM, before the listener closed",
                sent.saturating_duration_since(terminated)
            );
        }
        in_flight.push(outcome);
    }
    let served = in_flight.iter().filter(|s| **s == Ok(200)).count();
    assert!(
        in_flight.iter().all(|s| s.is_err() || *s == Ok(200)),
        "{in_flight:?}"
    );
    assert!(
        served >= 15,
        "most requests were sent before the listener closed: {in_flight:?}"
    );

    let status = wait_exit(&mut child, Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}
