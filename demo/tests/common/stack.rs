//! The monitoring stack for end-to-end tests, from Debian's packages: a real
//! Prometheus and a real Alertmanager on loopback ports, each in a temporary
//! directory and killed on drop, and a webhook receiver that records every
//! notification Alertmanager sends. Plus `scale_durations`, which makes a
//! test copy of the shipped rules and Alertmanager configuration with every
//! window and wait divided by a factor.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::common::{HttpClient, free_port, get, tool};

/// The repository root.
pub fn repo() -> PathBuf {
    // The demo crate is `demo/` of the repository.
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn millis(value: u64, unit: &str) -> u64 {
    value
        * match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => unreachable!("unit {unit}"),
        }
}

/// `text` (a rules or Alertmanager file) with every duration divided by
/// `factor`: range windows (`[5m]`), `for:`, `keep_firing_for:`, rule
/// group `interval:`, the Alertmanager waits and intervals, and the
/// durations written as seconds (the `predict_linear` horizon, `time() -
/// 3600`). Nothing else
/// changes, so the copy tests the shipped expressions, labels and routing.
pub fn scale_durations(text: &str, factor: u64) -> String {
    let scale = |v: u64, unit: &str| format!("{}ms", (millis(v, unit) / factor).max(1));
    let window = regex::Regex::new(r"\[(\d+)(ms|s|m|h|d|w)\]").unwrap();
    let text = window.replace_all(text, |c: &regex::Captures| {
        format!("[{}]", scale(c[1].parse().unwrap(), &c[2]))
    });
    let key = regex::Regex::new(
        r"(?m)^(\s*(?:for|keep_firing_for|interval|group_wait|group_interval|repeat_interval|resolve_timeout):\s*)(\d+)(ms|s|m|h|d|w)\s*$",
    )
    .unwrap();
    let text = key.replace_all(&text, |c: &regex::Captures| {
        format!("{}{}", &c[1], scale(c[2].parse().unwrap(), &c[3]))
    });
    // The durations written as seconds (marked SCALE in the rules): the
    // predict_linear horizon and the restart window's `time() - 3600`.
    let seconds = regex::Regex::new(r"(predict_linear\([^\n]*\], |time\(\) - )(\d+)").unwrap();
    seconds
        .replace_all(&text, |c: &regex::Captures| {
            let seconds: u64 = c[2].parse().unwrap();
            format!("{}{}", &c[1], (seconds / factor).max(1))
        })
        .into_owned()
}

/// A finished command's stdout then stderr, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Percent-encodes a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A server process in a temporary directory, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    name: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Waits until `/-/ready` answers 200 (at most 30 s).
    pub async fn wait_ready(&self, c: &HttpClient) {
        let start = Instant::now();
        loop {
            let ready = tokio::time::timeout(
                Duration::from_secs(2),
                c.get(format!("{}/-/ready", self.url()).parse().unwrap()),
            )
            .await;
            if matches!(ready, Ok(Ok(ref r)) if r.status() == 200) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{} not ready:\n{}",
                self.name,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn spawn(
        name: &'static str,
        binary: &Path,
        args: Vec<String>,
        dir: tempfile::TempDir,
        port: u16,
    ) -> Self {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(binary)
            .args(&args)
            .current_dir(dir.path())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Self {
            child,
            port,
            dir,
            name,
        }
    }
}

/// Starts Prometheus with `config` (`prometheus.yml`) and more files
/// written next to it (rule files), scraping and evaluating as configured.
pub fn prometheus(config: &str, files: &[(&str, &str)], extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let port = free_port();
    let mut args = vec![
        format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Server::spawn("prometheus", &tool("prometheus"), args, dir, port)
}

/// Starts Alertmanager (Debian's `prometheus-alertmanager`, or
/// `alertmanager`) with `config`, clustering off.
pub fn alertmanager(config: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
    let port = free_port();
    // Debian names it prometheus-alertmanager; upstream, alertmanager.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let binary = ["prometheus-alertmanager", "alertmanager"]
        .iter()
        .flat_map(|name| {
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/bin")])
                .map(move |dir| dir.join(name))
        })
        .find(|p| p.is_file())
        .unwrap_or_else(|| tool("prometheus-alertmanager"));
    let args = vec![
        format!(
            "--config.file={}",
            dir.path().join("alertmanager.yml").display()
        ),
        format!("--storage.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_string(),
    ];
    Server::spawn("alertmanager", &binary, args, dir, port)
}

/// Runs an instant query; the `data.result` array.
pub async fn query(c: &HttpClient, prometheus: &Server, promql: &str) -> Vec<serde_json::Value> {
    let (status, body) = get(
        c,
        &format!("{}/api/v1/query?query={}", prometheus.url(), encode(promql)),
    )
    .await;
    assert_eq!(status, 200, "{promql}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// Polls `promql` until it returns at least one series (at most `limit`).
pub async fn wait_for_series(
    c: &HttpClient,
    prometheus: &Server,
    promql: &str,
    limit: Duration,
) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let result = query(c, prometheus, promql).await;
        if !result.is_empty() {
            return result;
        }
        assert!(
            start.elapsed() < limit,
            "no result for {promql} after {limit:?}:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The alerts Prometheus evaluates (`/api/v1/alerts`).
pub async fn prometheus_alerts(c: &HttpClient, prometheus: &Server) -> Vec<serde_json::Value> {
    let (_, body) = get(c, &format!("{}/api/v1/alerts", prometheus.url())).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["data"]["alerts"].as_array().cloned().unwrap_or_default()
}

/// The alerts Alertmanager holds, with their state (`/api/v2/alerts`).
pub async fn alertmanager_alerts(c: &HttpClient, am: &Server) -> Vec<serde_json::Value> {
    let (_, body) = get(c, &format!("{}/api/v2/alerts", am.url())).await;
    serde_json::from_str(&body).unwrap_or_default()
}

/// One alert of a notification the webhook received.
#[derive(Debug, Clone)]
pub struct Notified {
    /// The path the receiver posted to (`/pager`, `/ticket`).
    pub receiver: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub labels: serde_json::Map<String, serde_json::Value>,
    pub annotations: serde_json::Map<String, serde_json::Value>,
    pub at: Instant,
}

impl Notified {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).and_then(|v| v.as_str()).unwrap_or("")
    }
}

/// A webhook receiver on a loopback port, recording every alert of every
/// notification, with the time it arrived.
pub struct Webhook {
    pub addr: std::net::SocketAddr,
    received: Arc<Mutex<Vec<Notified>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Notified>>> = Arc::default();
        let store = received.clone();
        let app = axum::Router::new().route(
            "/{receiver}",
            axum::routing::post(
                move |axum::extract::Path(receiver): axum::extract::Path<String>,
                      body: bytes::Bytes| {
                    let store = store.clone();
                    async move {
                        let at = Instant::now();
                        let v: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let mut store = store.lock().unwrap();
                        for alert in v["alerts"].as_array().cloned().unwrap_or_default() {
                            store.push(Notified {
                                receiver: format!("/{receiver}"),
                                status: alert["status"].as_str().unwrap_or("").to_owned(),
                                labels: alert["labels"].as_object().cloned().unwrap_or_default(),
                                annotations: alert["annotations"]
                                    .as_object()
                                    .cloned()
                                    .unwrap_or_default(),
                                at,
                            });
                        }
                        "ok"
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            received,
            task,
        }
    }

    pub fn received(&self) -> Vec<Notified> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) for a firing alert matching `pred`; returns
    /// it, or `None` on timeout.
    pub async fn wait_for(
        &self,
        limit: Duration,
        pred: impl Fn(&Notified) -> bool,
    ) -> Option<Notified> {
        let start = Instant::now();
        loop {
            if let Some(n) = self
                .received()
                .into_iter()
                .find(|n| n.status == "firing" && pred(n))
            {
                return Some(n);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
