//! Runs N requests through a trivial service, bare or with the redline layer,
//! for instruction counting under `valgrind --tool=callgrind` (see
//! `benches/callgrind.sh`, which counts only inside the request loop).
//!
//! `cargo run --release --example callgrind_layer -- instrumented 100000`
//! (modes: `bare`, `instrumented`, `axum-bare`, `axum-noop`, `axum-instrumented`)
//!
//! `TRACES` picks the trace setting of the instrumented modes: `off` (the
//! default: metrics only), `local` (trace context without export), or
//! `sampled` (every request recorded; the export queue is made large and
//! the export delay long, so the count is the request path, not the
//! exporter).
//!
//! `ACCESS=on` adds the JSON access log of every request: redline's logging
//! layer installed as the global subscriber, lines to stdout through the
//! non-blocking buffer (made large enough that none is dropped; the lines
//! written and dropped are printed to stderr at the end), and each request
//! carries an `x-request-id`. `ACCESS=off` is the same with the access log
//! off. The difference is what one access line costs the request's thread
//! (the writer thread's work is not counted: `--toggle-collect` counts the
//! thread that runs the loop).

use std::convert::Infallible;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use redline::http::RouteFn;
use tower::{Layer, Service, service_fn};

#[path = "../benches/support/mod.rs"]
mod support;
use support::ready;

/// The measured loop: `benches/callgrind.sh` counts instructions inside
/// this function only (`--toggle-collect`), so start-up work, whose count
/// varies run to run (the TSC clock's calibration), stays out.
#[inline(never)]
fn run<S, B>(mut svc: S, n: u64, request_id: Option<&'static str>)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body + Unpin,
{
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..n {
        let mut req = Request::get("/hello");
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        let req = req.body(Full::new(Bytes::new())).unwrap();
        let mut body = ready(svc.call(req)).unwrap().into_body();
        while let Poll::Ready(Some(Ok(frame))) = std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            black_box(frame);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "instrumented".into());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let hello = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
    });
    let mut config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    // `STATUS=off`: without the status page (its recent-requests check is
    // the only cost it adds to a request).
    config.status.enabled = std::env::var("STATUS").as_deref() != Ok("off");
    match std::env::var("TRACES").as_deref().unwrap_or("off") {
        "off" => config.traces.enabled = false,
        "local" => {}
        "sampled" => {
            config.traces.endpoint = Some("http://127.0.0.1:9/v1/traces".into());
            config.traces.protocol = redline::traces::OtlpProtocol::HttpProtobuf;
            config.traces.sampler = redline::traces::SamplerConfig::AlwaysOn;
            config.traces.max_queue_size = 1_000_000;
            config.traces.schedule_delay = std::time::Duration::from_secs(3600);
            config.traces.max_export_batch_size = 1_000_000;
        }
        other => {
            eprintln!("TRACES must be off, local or sampled, got {other}");
            std::process::exit(2);
        }
    }
    let access = std::env::var("ACCESS").ok();
    let request_id = access.as_ref().map(|_| "01JD8Z6Q0V2M4K7T9X3B5N8C1E");
    if let Some(access) = &access {
        config.logs.access_log = (access == "on").then_some(tracing::Level::INFO);
        config.logs.output = redline::logs::LogOutput::Stdout;
        config.logs.buffer_lines = (n as usize + 16).max(65_536);
    }
    let telemetry = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    if access.is_some() {
        telemetry.install_logging().unwrap();
    }
    match mode.as_str() {
        "bare" => run(hello, n, request_id),
        "instrumented" => {
            let layer = telemetry
                .http_layer()
                .with_route_extractor(RouteFn(|uri: &http::Uri| {
                    (uri.path() == "/hello").then_some("/hello")
                }));
            // One warm-up request creates the series (the cold path), so the
            // measured requests are all "label values already seen".
            let svc = layer.layer(hello);
            run(svc, n, request_id)
        }
        "axum-bare" | "axum-noop" | "axum-instrumented" => {
            let router: axum::Router =
                axum::Router::new().route("/hello", axum::routing::get(|| async { "hello\n" }));
            match mode.as_str() {
                "axum-bare" => run(router, n, request_id),
                // A pass-through layer: what axum's per-route layering costs.
                "axum-noop" => run(
                    router.layer(tower::layer::layer_fn(|inner| inner)),
                    n,
                    request_id,
                ),
                _ => run(router.layer(telemetry.http_layer()), n, request_id),
            }
        }
        other => {
            eprintln!(
                "mode must be bare, instrumented, axum-bare or axum-instrumented, got {other}"
            );
            std::process::exit(2);
        }
    }
    if access.is_some() {
        telemetry.flush_logs();
        let snap = telemetry.log_stats().snapshot();
        eprintln!(
            "access lines: {} written, {} dropped",
            snap.lines_written, snap.lines_dropped
        );
    }
}
