//! Rate limiting over real HTTP: per-route quotas, 429 with the retry
//! headers, keys by IP, by trusted-proxy `X-Forwarded-For` and by API key,
//! and the counters.

mod common;

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use redline::security::{RateKey, RateQuota};

async fn get_with(
    c: &common::HttpClient,
    url: &str,
    headers: &[(&str, &str)],
) -> http::Response<bytes::Bytes> {
    let mut b = hyper::Request::get(url);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        c.request(b.body(Full::new(bytes::Bytes::new())).unwrap()),
    )
    .await
    .unwrap()
    .unwrap();
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

async fn statuses(
    c: &common::HttpClient,
    url: &str,
    headers: &[(&str, &str)],
    n: usize,
) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get_with(c, url, headers).await.status().as_u16());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_route_quotas_refuse_with_retry_headers_and_count() {
    let mut options = common::demo_options();
    // 1 a second with a burst of 3 on /hello; generous elsewhere.
    options.config.rate_limit.routes = vec![(
        "/hello".into(),
        RateQuota {
            per_second: 1,
            burst: 3,
        },
    )];
    options.config.rate_limit.default = Some(RateQuota {
        per_second: 1000,
        burst: 1000,
    });
    options.config.rate_limit.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let app = demo.app_addr();
    let c = common::client();
    let hello = format!("http://{app}/hello");

    // The client behind the trusted proxy (loopback) is the XFF address.
    let a = [("x-forwarded-for", "203.0.113.5")];
    assert_eq!(
        statuses(&c, &hello, &a, 5).await,
        vec![200, 200, 200, 429, 429]
    );
    let refused = get_with(&c, &hello, &a).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(refused.headers()["ratelimit-limit"], "3");
    assert_eq!(refused.headers()["ratelimit-remaining"], "0");
    let body: serde_json::Value = serde_json::from_slice(refused.body()).unwrap();
    assert_eq!(body["error"], "rate_limited");

    // Another client has its own bucket; another route its own quota.
    let b = [("x-forwarded-for", "203.0.113.6, 127.0.0.1")];
    assert_eq!(statuses(&c, &hello, &b, 3).await, vec![200, 200, 200]);
    let groups = format!("http://{app}/groups/1/members");
    assert!(
        statuses(&c, &groups, &a, 10)
            .await
            .iter()
            .all(|s| *s == 200)
    );

    // After a second, one more request for the first client.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get_with(&c, &hello, &a).await.status(), 200);

    let text = demo.telemetry().render_metrics();
    assert!(
        text.contains(r#"redline_rate_limited_total{http_route="/hello"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_request_method="GET",http_response_status_code="429",http_route="/hello""#
        ),
        "refusals are measured by the HTTP layer"
    );
    assert_eq!(
        demo.telemetry()
            .security()
            .count(redline::logs::SecurityEvent::ExcessRateLimitExceeded),
        3
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_forwarded_for_is_ignored_and_api_keys_have_their_own_buckets() {
    let mut options = common::demo_options();
    options.config.rate_limit.default = Some(RateQuota {
        per_second: 1,
        burst: 2,
    });
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let hello = format!("http://{}/hello", demo.app_addr());
    let c = common::client();
    // No trusted proxy: spoofed X-Forwarded-For values share the peer's bucket.
    let s1 = statuses(&c, &hello, &[("x-forwarded-for", "198.51.100.1")], 2).await;
    let s2 = statuses(&c, &hello, &[("x-forwarded-for", "198.51.100.2")], 1).await;
    assert_eq!((s1, s2), (vec![200, 200], vec![429]));
    demo.shutdown().await;

    let mut options = common::demo_options();
    options.config.rate_limit.default = Some(RateQuota {
        per_second: 1,
        burst: 2,
    });
    options.config.rate_limit.key = RateKey::Header("x-api-key".parse().unwrap());
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let hello = format!("http://{}/hello", demo.app_addr());
    let one = statuses(&c, &hello, &[("x-api-key", "key-one")], 3).await;
    let two = statuses(&c, &hello, &[("x-api-key", "key-two")], 2).await;
    assert_eq!(one, vec![200, 200, 429]);
    assert_eq!(two, vec![200, 200]);
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_bounded_by_max_keys() {
    let mut options = common::demo_options();
    options.config.rate_limit.default = Some(RateQuota {
        per_second: 1,
        burst: 1,
    });
    options.config.rate_limit.max_keys = 4;
    options.config.rate_limit.key = RateKey::Header("x-api-key".parse().unwrap());
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let hello = format!("http://{}/hello", demo.app_addr());
    let c = common::client();
    // Four clients fill the table; the next ones share one bucket.
    let mut statuses_seen = Vec::new();
    for i in 0..8 {
        let key = format!("k{i}");
        statuses_seen.push(
            get_with(&c, &hello, &[("x-api-key", key.as_str())])
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses_seen[..4], &[200, 200, 200, 200]);
    // Newcomers beyond the bound: the first takes the shared bucket's one
    // token, the rest are refused.
    assert_eq!(&statuses_seen[4..], &[200, 429, 429, 429]);
    demo.shutdown().await;
}
