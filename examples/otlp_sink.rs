//! A cheap OTLP/HTTP receiver for load tests: accepts `POST` on any path (`/v1/traces`, `/v1/metrics`, `/v1/logs`),
//! reads and discards the body without decoding it, and answers with an
//! empty `ExportTraceServiceResponse` (zero bytes of protobuf). It costs the
//! benchmark as little CPU as a receiver can, so a wrk comparison measures
//! the service's tracing cost, not the collector's.
//!
//! `cargo run --release --example otlp_sink -- 127.0.0.1:14318`
//! On Ctrl-C (or SIGTERM) it prints the requests and bytes it received.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:14318".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        let requests = Arc::new(AtomicU64::new(0));
        let bytes_in = Arc::new(AtomicU64::new(0));
        println!("OTLP/HTTP sink on http://{addr} (any path: /v1/traces, /v1/metrics, /v1/logs)");
        let accept = {
            let (requests, bytes_in) = (requests.clone(), bytes_in.clone());
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (requests, bytes_in) = (requests.clone(), bytes_in.clone());
                    tokio::spawn(async move {
                        let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let (requests, bytes_in) = (requests.clone(), bytes_in.clone());
                            async move {
                                let body = req.into_body().collect().await.map(|b| b.to_bytes());
                                requests.fetch_add(1, Ordering::Relaxed);
                                let n = body.map(|b| b.len()).unwrap_or(0);
                                bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                                let mut response = hyper::Response::new(Full::new(Bytes::new()));
                                response.headers_mut().insert(
                                    "content-type",
                                    hyper::header::HeaderValue::from_static(
                                        "application/x-protobuf",
                                    ),
                                );
                                Ok::<_, Infallible>(response)
                            }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            }
        };
        tokio::select! {
            _ = accept => {}
            _ = redline::shutdown_signal() => {}
        }
        println!(
            "received {} export requests, {} bytes",
            requests.load(Ordering::Relaxed),
            bytes_in.load(Ordering::Relaxed)
        );
    });
}
