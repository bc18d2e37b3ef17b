//! Cost of the HTTP layer per request: the same trivial service with and
//! without it, on one thread and on two threads contending on one route.
//!
//! `cargo bench --bench layer`; figures go to docs/PERFORMANCE.md.

use std::convert::Infallible;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use redline::http::RouteFn;
use tower::{Layer, Service};

#[path = "support/mod.rs"]
mod support;
use support::ready;

/// Reads the body to its end, as a server would.
fn drain<B: Body + Unpin>(mut body: B) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    let mut n = 0;
    while let Poll::Ready(Some(Ok(frame))) = std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        if let Some(d) = frame.data_ref() {
            n += bytes::Buf::remaining(d);
        }
    }
    n
}

fn request() -> Request<Full<Bytes>> {
    Request::get("/hello")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

#[derive(Clone)]
struct Hello;

impl Service<Request<Full<Bytes>>> for Hello {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _req: Request<Full<Bytes>>) -> Self::Future {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"hello\n")))))
    }
}

fn one_request<S, B>(svc: &mut S) -> usize
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: Body + Unpin,
{
    let response = ready(svc.call(request())).unwrap();
    drain(response.into_body())
}

/// Traces as in `examples/callgrind_layer.rs`: `off` (metrics only),
/// `local` (trace context, nothing recorded) or `sampled` (every request
/// recorded and queued for export; the exporter fails fast against a
/// closed loopback port, on another thread).
fn telemetry_with(traces: &str) -> redline::Telemetry {
    let mut config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        ..Default::default()
    };
    match traces {
        "off" => config.traces.enabled = false,
        "local" => {}
        _ => {
            config.traces.endpoint = Some("http://127.0.0.1:9/v1/traces".into());
            config.traces.protocol = redline::traces::OtlpProtocol::HttpProtobuf;
            config.traces.sampler = redline::traces::SamplerConfig::AlwaysOn;
            config.traces.max_queue_size = 65_536;
        }
    }
    redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap()
}

/// Runs `iters` requests on each of `threads` threads at once, returning the
/// mean wall time per request per thread.
fn contended<S, B>(svc: &S, threads: usize, iters: u64) -> Duration
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: std::fmt::Debug,
    B: Body + Unpin,
{
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mut svc = svc.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(one_request(&mut svc));
                }
                start.elapsed()
            })
        })
        .collect();
    let total: Duration = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total / threads as u32
}

fn telemetry() -> redline::Telemetry {
    telemetry_with("off")
}

fn bench(c: &mut Criterion) {
    let t = telemetry();
    let layer = t
        .http_layer()
        .with_route_extractor(RouteFn(|uri: &http::Uri| {
            (uri.path() == "/hello").then_some("/hello")
        }));
    let bare = Hello;
    let instrumented = layer.layer(Hello);

    let mut group = c.benchmark_group("layer");
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("bare", threads), &threads, |b, &n| {
            b.iter_custom(|iters| contended(&bare, n, iters))
        });
        group.bench_with_input(
            BenchmarkId::new("instrumented", threads),
            &threads,
            |b, &n| b.iter_custom(|iters| contended(&instrumented, n, iters)),
        );
    }
    // Metrics plus traces: trace context only, and every request sampled.
    for traces in ["local", "sampled"] {
        let t = telemetry_with(traces);
        let svc = t
            .http_layer()
            .with_route_extractor(RouteFn(|uri: &http::Uri| {
                (uri.path() == "/hello").then_some("/hello")
            }))
            .layer(Hello);
        group.bench_function(BenchmarkId::new(format!("traces_{traces}"), 1), |b| {
            b.iter_custom(|iters| contended(&svc, 1, iters))
        });
    }
    group.finish();

    // axum: the same comparison through a Router, where the layer is added
    // per route with `Router::layer` (axum boxes the response body).
    let router_bare: axum::Router =
        axum::Router::new().route("/hello", axum::routing::get(|| async { "hello\n" }));
    let router_instrumented = router_bare.clone().layer(t.http_layer());
    // Reference point: a layer that only wraps the response body in a
    // pass-through type, i.e. what axum's boxing of a non-`Body` response
    // body costs by itself.
    #[derive(Debug)]
    struct Wrap(axum::body::Body);
    impl http_body::Body for Wrap {
        type Data = Bytes;
        type Error = axum::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
            std::pin::Pin::new(&mut self.0).poll_frame(cx)
        }
    }
    let router_wrap = router_bare
        .clone()
        .layer(tower::util::MapResponseLayer::new(
            |r: Response<axum::body::Body>| r.map(Wrap),
        ));
    let mut group = c.benchmark_group("axum");
    for t in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("wrap_only", t), &t, |b, &n| {
            b.iter_custom(|iters| contended(&router_wrap, n, iters))
        });
    }
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("bare", threads), &threads, |b, &n| {
            b.iter_custom(|iters| contended(&router_bare, n, iters))
        });
        group.bench_with_input(
            BenchmarkId::new("instrumented", threads),
            &threads,
            |b, &n| b.iter_custom(|iters| contended(&router_instrumented, n, iters)),
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
