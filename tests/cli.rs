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

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
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
