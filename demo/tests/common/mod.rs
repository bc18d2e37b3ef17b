//! The demo crate's test helpers: everything of the library's
//! (`tests/common/mod.rs`, shared) and how to start the demo, in-process or
//! as the `redline` binary.
#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod shared;

use std::time::Duration;

use redline_demo::{Demo, DemoOptions};
pub use shared::*;

pub mod principals;

/// Demo options on ephemeral loopback ports, with system metrics refreshed
/// often enough for short tests.
pub fn demo_options() -> DemoOptions {
    let mut options = DemoOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..DemoOptions::default()
    };
    options.config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    options.config.admin_token = admin_token();
    options.config.system_metrics_interval = Duration::from_millis(100);
    options
}

pub async fn start_demo() -> Demo {
    Demo::start(demo_options()).await.expect("demo starts")
}

/// The demo binary exporting spans over OTLP/gRPC to `otlp_endpoint` (a
/// test receiver, flushed every 100 ms) and writing JSON lines to
/// `log_file` at `log_filter`, with the test admin token: (child, API URL,
/// admin URL), both without a trailing `/`.
pub fn start_binary_observed(
    otlp_endpoint: &str,
    log_file: &std::path::Path,
    log_filter: &str,
) -> (std::process::Child, String, String) {
    let (child, api, admin) = start_binary(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("REDLINE_LOG_OUTPUT", "file"),
            ("REDLINE_LOG_FILE", log_file.to_str().unwrap()),
            ("REDLINE_LOG", log_filter),
            ("REDLINE_ADMIN_TOKEN", ADMIN_TOKEN),
        ],
        &[],
    );
    let api = api.trim_end_matches('/').to_owned();
    let admin = admin.trim_end_matches('/').to_owned();
    (child, api, admin)
}

/// Starts the demo binary and returns it with its API and admin base URLs.
pub fn start_binary(
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Child, String, String) {
    start_binary_in(None, extra_env, args)
}

/// As [`start_binary`], in the working directory `dir` (the demo's disk
/// health check measures the disk of its working directory).
pub fn start_binary_in(
    dir: Option<&std::path::Path>,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Child, String, String) {
    launch(
        std::process::Command::new(env!("CARGO_BIN_EXE_redline")),
        dir,
        extra_env,
        args,
    )
}

/// As [`start_binary`], with the process's open-file limit lowered to
/// `limit` (`ulimit -n` in bash, which then `exec`s the demo).
pub fn start_binary_with_open_files(
    limit: u32,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Child, String, String) {
    let mut cmd = std::process::Command::new("bash");
    cmd.args([
        "-c",
        &format!(r#"ulimit -n {limit} && exec "$0" "$@""#),
        env!("CARGO_BIN_EXE_redline"),
    ]);
    launch(cmd, None, extra_env, args)
}

/// Runs `cmd` (the demo binary, or what `exec`s it) with the demo's
/// arguments and returns it with its API and admin base URLs.
fn launch(
    mut cmd: std::process::Command,
    dir: Option<&std::path::Path>,
    extra_env: &[(&str, &str)],
    args: &[&str],
) -> (std::process::Child, String, String) {
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    ])
    .args(args)
    .env("REDLINE_SYSTEM_METRICS_INTERVAL", "1s")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let (mut api, mut admin) = (None, None);
    for _ in 0..12 {
        let line = lines.next().expect("demo prints its URLs").unwrap();
        if let Some(rest) = line.trim().strip_prefix("API:") {
            let hello = rest.split_whitespace().next().unwrap();
            api = Some(hello.trim_end_matches("/hello").to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("metrics:") {
            admin = Some(rest.trim().trim_end_matches("/metrics").to_owned());
        }
        if line.starts_with("Ctrl-C") {
            break;
        }
    }
    // Keep reading stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, api.expect("API URL"), admin.expect("admin URL"))
}
