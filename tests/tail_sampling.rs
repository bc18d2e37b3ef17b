//! Sampling decided at the end of a request (`REDLINE_TRACES_KEEP_ERRORS`,
//! `REDLINE_TRACES_SLOW_THRESHOLD`) over real OTLP/HTTP: every failed and
//! every slow request's trace reaches the receiver, with its children; the
//! others arrive at the configured ratio (binomial bounds); the response's
//! `traceparent` says which, and nothing it calls unsampled is exported.

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use otlp::Receiver;
use redline::Telemetry;
use redline::traces::{OtlpProtocol, ResponseTraceparent, SamplerConfig};

const REQUESTS: u64 = 1500;
const RATIO: f64 = 0.1;

/// Every 100th request fails (1%), every 50th (offset 25) is slow.
fn outcome(n: u64) -> (bool, bool) {
    (n.is_multiple_of(100), n % 50 == 25)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_slow_requests_are_always_traced_the_rest_at_the_ratio() {
    let receiver = Receiver::start().await;
    let mut c = redline::Config {
        service_name: "tail-test".into(),
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        ..Default::default()
    };
    c.traces.endpoint = Some(receiver.http_endpoint());
    c.traces.protocol = OtlpProtocol::HttpProtobuf;
    c.traces.schedule_delay = Duration::from_millis(100);
    c.traces.sampler = SamplerConfig::ParentBasedTraceIdRatio(RATIO);
    c.traces.keep_errors = true;
    c.traces.slow_threshold = Some(Duration::from_millis(40));
    // Unsampled responses too, so their flag (00) can be checked.
    c.traces.response_traceparent = ResponseTraceparent::Always;
    let t = Telemetry::builder().config(c).build().unwrap();
    let ops = t.operations();
    let app = Router::new()
        .route(
            "/work/{n}",
            get(move |Path(n): Path<u64>| {
                async move {
                    // A child span in every request: it must leave with a
                    // kept server span and never without one.
                    let _ = ops.time("step", || Ok::<_, String>(()));
                    let (fails, slow) = outcome(n);
                    if slow {
                        tokio::time::sleep(Duration::from_millis(60)).await;
                    }
                    if fails {
                        http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        http::StatusCode::OK
                    }
                }
            }),
        )
        .layer(t.http_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let client = common::client();
    // trace id -> (request number, response says sampled)
    let mut responses: HashMap<String, (u64, bool)> = HashMap::new();
    for n in 1..=REQUESTS {
        let req = hyper::Request::get(format!("http://{addr}/work/{n}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = client.request(req).await.unwrap();
        let (fails, _) = outcome(n);
        assert_eq!(response.status().as_u16(), if fails { 500 } else { 200 });
        let tp = response.headers()["traceparent"]
            .to_str()
            .unwrap()
            .to_owned();
        let _ = response.into_body().collect().await;
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts.len(), 4, "{tp}");
        let sampled = match parts[3] {
            "01" => true,
            "00" => false,
            other => panic!("flags {other}"),
        };
        responses.insert(parts[1].to_owned(), (n, sampled));
    }
    assert_eq!(
        t.tracing().shutdown(),
        redline::traces::ShutdownOutcome::Flushed
    );
    server.abort();
    let spans = receiver.spans();

    let mut servers: HashMap<String, String> = HashMap::new();
    let mut children: HashSet<String> = HashSet::new();
    for s in &spans {
        if s.span.kind == SpanKind::Server as i32 {
            let reason = s.attr("sampling.reason").expect("sampling.reason");
            assert!(
                servers.insert(s.trace_id(), reason).is_none(),
                "one server span per trace"
            );
        } else {
            children.insert(s.trace_id());
        }
    }
    let (mut failed, mut slow, mut others, mut others_kept) = (0, 0, 0u64, 0u64);
    for (trace, &(n, sampled)) in &responses {
        let (fails, is_slow) = outcome(n);
        let exported = servers.get(trace);
        assert_eq!(
            exported.is_some(),
            sampled,
            "request {n}: the response's flag says whether it was exported"
        );
        assert_eq!(
            children.contains(trace),
            sampled,
            "request {n}: its child span leaves with it, and only then"
        );
        let reason = exported.map(String::as_str);
        if fails {
            failed += 1;
            assert!(
                matches!(reason, Some("error" | "ratio")),
                "failed {n}: {reason:?}"
            );
        } else if is_slow {
            slow += 1;
            assert!(
                matches!(reason, Some("slow" | "ratio")),
                "slow {n}: {reason:?}"
            );
        } else {
            others += 1;
            if let Some(reason) = reason {
                assert_eq!(reason, "ratio", "request {n}");
                others_kept += 1;
            }
        }
    }
    assert_eq!((failed, slow), (15, 30));
    assert_eq!(servers.len(), responses.values().filter(|r| r.1).count());
    // The rest: Binomial(others, 0.1); 5 standard deviations either side
    // (a false failure about once in 1.7 million runs).
    let mean = others as f64 * RATIO;
    let sd = (others as f64 * RATIO * (1.0 - RATIO)).sqrt();
    let (low, high) = ((mean - 5.0 * sd).floor(), (mean + 5.0 * sd).ceil());
    assert!(
        (low..=high).contains(&(others_kept as f64)),
        "{others_kept} of {others} kept; expected {mean:.0} ({low}..={high})"
    );
}
