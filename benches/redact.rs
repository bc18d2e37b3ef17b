//! Cost of masking and of the rate limiter.
//!
//! - `mask/*`: throughput of `Redactor::mask` on realistic log lines, in
//!   bytes per second (criterion prints MiB/s);
//! - `access_line/*`: one access-log-like event formatted by the JSON line
//!   format's general path, which masks every field, and the fields masked
//!   alone (`json_masked`, `fields_mask_only`);
//! - `access_line/request/*`: a request through redline's layer (traces
//!   on, with an `x-request-id`) with the access log off, with its line
//!   formatted by `JsonLines` to a sink (`sink`: the formatting and
//!   `tracing`'s dispatch), and through redline's logging layer to a file
//!   (`logging_layer`: also the non-blocking buffer's channel). Subtract
//!   `off` for the cost of one line to the request's thread;
//! - the rate limiter's cost per request, measured side by side: the same
//!   axum router through `Telemetry::instrument`, without and with a quota
//!   that never refuses, in interleaved rounds (printed first: the median
//!   of the paired differences and ratios).
//!
//! `cargo bench --bench redact`; figures go to docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use redline::redact::Redactor;
use tower::Service;
use tracing_subscriber::layer::SubscriberExt;

/// Log lines as services write them: most carry nothing to mask.
const LINES: [(&str, &str); 5] = [
    (
        "plain",
        "request completed method=GET route=/users/{id} status=200 duration_ms=3.2 request_id=01JD8Z6Q0V2M4K7T9X3B5N8C1E",
    ),
    (
        "error_chain",
        "failed to refresh token: connection refused (os error 111) while calling inventory-service at 10.0.3.7:8080 after 3 retries",
    ),
    (
        "email_and_card",
        "payment declined for jane.doe@example.com using card 4242 4242 4242 4242 (order 100234987, amount 129.99 EUR)",
    ),
    (
        "json_payload",
        r#"{"user":"jdoe","password":"hunter2hunter2","remember":true,"device":{"os":"linux","agent":"Mozilla/5.0 (X11; Linux x86_64)"},"items":[1,2,3]}"#,
    ),
    (
        "query_and_headers",
        "GET /search?q=rust+tower&api_key=sk_live_51HxYz&page=2 authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc cookie: sid=9f8e",
    ),
];

#[path = "support/mod.rs"]
mod support;
use support::ready;

fn router(rate_limit: bool) -> axum::Router {
    let mut config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        ..Default::default()
    };
    config.traces.enabled = false;
    if rate_limit {
        config.rate_limit.default = Some(redline::security::RateQuota {
            per_second: 1_000_000,
            burst: 1_000_000,
        });
    }
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let t = Box::leak(Box::new(t));
    t.instrument(axum::Router::new().route("/hello", axum::routing::get(|| async { "hello\n" })))
}

fn one(router: &mut axum::Router, peer: std::net::SocketAddr) {
    let mut request = http::Request::get("/hello")
        .body(axum::body::Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let response = ready(router.call(request)).unwrap();
    black_box(response.status());
}

/// Median of paired per-request times: (bare ns, limited ns, ratio).
fn rate_limiter_paired(rounds: usize, per_round: u32) -> (f64, f64, f64) {
    // The request timeout's timer needs a runtime to register with.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut bare = router(false);
    let mut limited = router(true);
    let peers: Vec<std::net::SocketAddr> = (0..256u32)
        .map(|i| std::net::SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 40000)))
        .collect();
    let time = |r: &mut axum::Router| {
        let started = Instant::now();
        for i in 0..per_round {
            one(r, peers[i as usize % peers.len()]);
        }
        started.elapsed().as_nanos() as f64 / f64::from(per_round)
    };
    // Warm up both.
    time(&mut bare);
    time(&mut limited);
    let mut pairs = Vec::new();
    for round in 0..rounds {
        // Alternate which goes first.
        let (b, l) = if round % 2 == 0 {
            let b = time(&mut bare);
            (b, time(&mut limited))
        } else {
            let l = time(&mut limited);
            (time(&mut bare), l)
        };
        pairs.push((b, l, l / b));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(pairs.iter().map(|p| p.0).collect()),
        median(pairs.iter().map(|p| p.1).collect()),
        median(pairs.iter().map(|p| p.2).collect()),
    )
}

/// One request through `svc`, its body read to the end.
fn request_through<S, B>(svc: &mut S)
where
    S: Service<http::Request<http_body_util::Full<bytes::Bytes>>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body + Unpin,
{
    let request = http::Request::get("/hello")
        .header("x-request-id", "01JD8Z6Q0V2M4K7T9X3B5N8C1E")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let mut body = ready(svc.call(request)).unwrap().into_body();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    while let std::task::Poll::Ready(Some(Ok(frame))) =
        std::pin::Pin::new(&mut body).poll_frame(&mut cx)
    {
        black_box(frame);
    }
}

/// `access_line/request/*` (see the module docs).
fn access_requests(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("redline-bench-access-{}", std::process::id()));
    let mut config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    config.logs.output = redline::logs::LogOutput::File;
    config.logs.file = dir.join("access.log");
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let hello = tower::service_fn(
        |_req: http::Request<http_body_util::Full<bytes::Bytes>>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(b"hello\n"),
            )))
        },
    );
    let layer = t
        .http_layer()
        .with_route_extractor(redline::http::RouteFn(|uri: &http::Uri| {
            (uri.path() == "/hello").then_some("/hello")
        }));
    let mut off = tower::Layer::layer(&layer.clone().access_log(false), hello);
    let mut on = tower::Layer::layer(&layer, hello);
    let mut group = c.benchmark_group("access_line/request");
    // The same subscriber for `off` and `sink`: JSON lines to a sink.
    let sink = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .fmt_fields(redline::logs::SpanFields::default())
            .event_format(redline::logs::JsonLines::default())
            .with_writer(std::io::sink),
    );
    tracing::subscriber::with_default(sink, || {
        group.bench_function("off", |b| b.iter(|| request_through(&mut off)));
        group.bench_function("sink", |b| b.iter(|| request_through(&mut on)));
    });
    let logging = tracing_subscriber::registry().with(t.logging_layer().unwrap());
    tracing::subscriber::with_default(logging, || {
        group.bench_function("logging_layer", |b| b.iter(|| request_through(&mut on)));
    });
    group.finish();
    t.flush_logs();
    let snap = t.log_stats().snapshot();
    println!(
        "access_line/request/logging_layer: {} lines written, {} dropped",
        snap.lines_written, snap.lines_dropped
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn bench(c: &mut Criterion) {
    access_requests(c);

    let (bare, limited, ratio) = rate_limiter_paired(21, 20_000);
    println!(
        "rate limiter, 21 interleaved rounds of 20000 requests (256 clients): \
         bare {bare:.0} ns, limited {limited:.0} ns per request; \
         median paired ratio {ratio:.3} (+{:.0} ns)",
        limited - bare
    );

    let r = Redactor::default();
    let mut group = c.benchmark_group("mask");
    for (name, line) in LINES {
        group.throughput(Throughput::Bytes(line.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), line, |b, line| {
            b.iter(|| black_box(r.mask(black_box(line))).len())
        });
    }
    let all: String = LINES.iter().map(|l| l.1).collect::<Vec<_>>().join("\n");
    group.throughput(Throughput::Bytes(all.len() as u64));
    group.bench_function("mixed", |b| {
        b.iter(|| black_box(r.mask(black_box(&all))).len())
    });
    group.finish();

    // An access-log line through the JSON format, to a sink.
    let layer = tracing_subscriber::fmt::layer()
        .fmt_fields(redline::logs::SpanFields::default())
        .event_format(redline::logs::JsonLines::default())
        .with_writer(std::io::sink);
    let subscriber = tracing_subscriber::registry().with(layer);
    let mut group = c.benchmark_group("access_line");
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("json_masked", |b| {
            b.iter(|| {
                tracing::info!(
                    target: "redline::access",
                    method = "GET",
                    route = "/users/{id}",
                    path = "/users/1234",
                    status = 200u64,
                    duration_ms = 3.2,
                    request_id = "01JD8Z6Q0V2M4K7T9X3B5N8C1E",
                    user_agent = "curl/8.5.0",
                    client = "127.0.0.1",
                    "request"
                )
            })
        });
    });
    // The same fields, masked alone: the share of the line's cost.
    let fields = [
        "GET",
        "/users/{id}",
        "/users/1234",
        "01JD8Z6Q0V2M4K7T9X3B5N8C1E",
        "curl/8.5.0",
        "127.0.0.1",
        "request",
    ];
    group.bench_function("fields_mask_only", |b| {
        b.iter(|| {
            fields
                .iter()
                .map(|f| r.mask_value("k", black_box(f)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
