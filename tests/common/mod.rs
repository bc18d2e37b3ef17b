//! Shared helpers for the integration tests of the library and of the demo
//! crate (which includes this file and adds how to start the demo): send
//! requests, scrape and parse `/metrics`, find the real Prometheus binaries,
//! stop processes.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The admin token the tests configure; [`send`] and [`get`] always send it
/// (the demo's API ignores it; admin endpoints need it).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// [`ADMIN_TOKEN`] as configuration.
pub fn admin_token() -> Option<redline::config::AdminToken> {
    Some(redline::config::AdminToken::new(ADMIN_TOKEN))
}

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends a request and returns the status and body text.
pub async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: &[u8],
    content_type: Option<&str>,
) -> (u16, String) {
    send_as(client, method, url, body, content_type, Some(ADMIN_TOKEN)).await
}

/// As [`send`], with `Authorization: Bearer <bearer>` instead of the admin
/// token (no `Authorization` with `None`).
pub async fn send_as(
    client: &HttpClient,
    method: &str,
    url: &str,
    body: &[u8],
    content_type: Option<&str>,
    bearer: Option<&str>,
) -> (u16, String) {
    let mut builder = hyper::Request::builder()
        .method(hyper::Method::from_bytes(method.as_bytes()).unwrap())
        .uri(url);
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    let request = builder
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .expect("response within 30 s")
        .expect("request succeeds");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub async fn get(client: &HttpClient, url: &str) -> (u16, String) {
    send(client, "GET", url, b"", None).await
}

pub async fn scrape(client: &HttpClient, admin: SocketAddr) -> String {
    let (status, text) = get(client, &format!("http://{admin}/metrics")).await;
    assert_eq!(status, 200);
    text
}

/// One sample of the text format: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text format (label values with `\"`, `\\`, `\n`).
pub fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name_end, mut labels) = match line.find('{') {
            Some(brace) => (brace, BTreeMap::new()),
            None => (line.find(' ').expect("sample has a value"), BTreeMap::new()),
        };
        let name = line[..name_end].to_owned();
        let mut rest = &line[name_end..];
        if rest.starts_with('{') {
            let mut chars = rest[1..].char_indices();
            let mut key = String::new();
            let mut consumed = 0;
            loop {
                let (i, c) = chars.next().expect("closing brace");
                match c {
                    '}' => {
                        consumed = i + 2;
                        break;
                    }
                    ',' | ' ' => {}
                    '=' => {
                        let (_, quote) = chars.next().unwrap();
                        assert_eq!(quote, '"');
                        let mut value = String::new();
                        loop {
                            let (_, c) = chars.next().unwrap();
                            match c {
                                '\\' => match chars.next().unwrap().1 {
                                    'n' => value.push('\n'),
                                    other => value.push(other),
                                },
                                '"' => break,
                                other => value.push(other),
                            }
                        }
                        labels.insert(std::mem::take(&mut key), value);
                    }
                    other => key.push(other),
                }
                let _ = consumed;
            }
            rest = &rest[consumed..];
        }
        let value_text = rest.split_whitespace().next().expect("value");
        let value = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// The value of the sample with exactly these labels.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

/// Number of samples of a metric name.
pub fn count_series(samples: &[Sample], name: &str) -> usize {
    samples.iter().filter(|s| s.name == name).count()
}

/// Finds a Prometheus tool on PATH, or fails the test with how to get it.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "`{name}` is not installed; the README's test command installs it \
         (apt-get install prometheus prometheus-alertmanager)"
    );
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports. Every listener stays bound until all
/// are picked: binding and dropping one at a time can hand back the same
/// port twice (it did, in CI).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Sends SIGTERM to `child` and waits (at most `limit`) for it to exit;
/// returns its exit status.
pub fn terminate(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    sigterm(child);
    wait_exit(child, limit)
}

/// Sends SIGTERM to `child` (without waiting).
pub fn sigterm(child: &std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits (at most `limit`) for `child` to exit.
pub fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "the process did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
