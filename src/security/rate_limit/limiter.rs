//! The limiter: governor's keyed GCRA buckets per route group, the tower
//! layer that answers 429, and the bounded key memory (see the parent
//! module's docs).

use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use prometheus::{IntCounterVec, Opts, Registry};

use super::{RateKey, RateLimitConfig, RateQuota};
use crate::logs::{SecurityEvent, SecurityEvents};
struct Group {
    route: Option<String>,
    quota: RateQuota,
    limiter: DefaultKeyedRateLimiter<u64>,
}

/// The rate limiter of a service (see the module docs). Cheap to clone.
#[derive(Clone)]
pub(crate) struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    groups: Vec<Group>,
    config: RateLimitConfig,
    checks: AtomicU64,
    refused: IntCounterVec,
    security: SecurityEvents,
    hasher: foldhash::fast::RandomState,
}

/// The bucket new clients share once `max_keys` are tracked.
const OVERFLOW_KEY: u64 = u64::MAX;

impl RateLimiter {
    /// `None` when no quota is configured.
    pub(crate) fn new(
        config: &RateLimitConfig,
        registry: &Registry,
        security: SecurityEvents,
    ) -> prometheus::Result<Option<Self>> {
        let refused = IntCounterVec::new(
            Opts::new(
                "redline_rate_limited_total",
                "Requests refused with 429 by the rate limiter, by route template.",
            ),
            &["http_route"],
        )?;
        registry.register(Box::new(refused.clone()))?;
        let mut groups: Vec<Group> = config
            .routes
            .iter()
            .map(|(route, quota)| Group {
                route: Some(route.clone()),
                quota: *quota,
                limiter: limiter(*quota),
            })
            .collect();
        if let Some(quota) = config.default {
            groups.push(Group {
                route: None,
                quota,
                limiter: limiter(quota),
            });
        }
        if groups.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            inner: Arc::new(Inner {
                groups,
                config: config.clone(),
                checks: AtomicU64::new(0),
                refused,
                security,
                hasher: foldhash::fast::RandomState::default(),
            }),
        }))
    }

    fn client_key(&self, request: &Request) -> (u64, Option<IpAddr>) {
        let i = &self.inner;
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = match peer {
            Some(p) if i.config.trusted_proxies.contains(&p) => request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .rev()
                .find(|a| !i.config.trusted_proxies.contains(a))
                .or(Some(p)),
            other => other,
        };
        let mut h = i.hasher.build_hasher();
        match (&i.config.key, ip) {
            (RateKey::Header(name), _) if request.headers().contains_key(name) => {
                1u8.hash(&mut h);
                request.headers()[name].as_bytes().hash(&mut h);
            }
            (_, Some(ip)) => {
                2u8.hash(&mut h);
                ip.hash(&mut h);
            }
            (_, None) => 3u8.hash(&mut h),
        }
        // Never the overflow key by accident.
        (h.finish().min(OVERFLOW_KEY - 1), ip)
    }
}

/// governor's quota for ours: `burst` requests at once, then one every
/// `1/per_second` (GCRA).
fn quota(q: RateQuota) -> Quota {
    let per_second = NonZeroU32::new(q.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(q.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

fn limiter(q: RateQuota) -> DefaultKeyedRateLimiter<u64> {
    governor::RateLimiter::keyed(quota(q))
}

impl RateLimiter {
    /// Checks `key` against `group`'s bucket, keeping the number of keys
    /// bounded: every 1024 checks, buckets that have refilled (clients
    /// idle long enough) are dropped; past `max_keys` clients, new ones
    /// share one overflow bucket until the next purge makes room. (Known
    /// clients then share it too, for at most 1024 checks: governor's
    /// keyed limiter cannot tell whether a key is present.)
    fn check(
        &self,
        group: &Group,
        mut key: u64,
    ) -> Result<(), governor::NotUntil<governor::clock::QuantaInstant>> {
        let i = &self.inner;
        let n = i.checks.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(1024) {
            for g in &i.groups {
                g.limiter.retain_recent();
                g.limiter.shrink_to_fit();
            }
        }
        if group.limiter.len() >= i.config.max_keys {
            key = OVERFLOW_KEY;
        }
        group.limiter.check_key(&key)
    }
}

/// The middleware as a tower layer (applied by
/// [`crate::Telemetry::instrument`]). Hand-written rather than
/// `axum::middleware::from_fn`: the check is synchronous, and `from_fn`'s
/// boxed future and `Next` cost more than the check itself (measured in
/// `benches/redact.rs`, see docs/PERFORMANCE.md).
#[derive(Clone)]
pub(crate) struct RateLimitLayer(pub(crate) RateLimiter);

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            limiter: self.0.clone(),
        }
    }
}

/// See [`RateLimitLayer`].
#[derive(Clone)]
pub(crate) struct RateLimitService<S> {
    inner: S,
    limiter: RateLimiter,
}

impl<S> tower::Service<Request> for RateLimitService<S>
where
    S: tower::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.limiter.refusal(&request) {
            Some(response) => RateLimitFuture::Refused {
                response: Some(response),
            },
            None => RateLimitFuture::Allowed {
                future: self.inner.call(request),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of [`RateLimitService`]: the 429 at once, or the inner
    /// service's.
    #[project = RateLimitFutureProjection]
    pub(crate) enum RateLimitFuture<F> {
        Refused { response: Option<Response> },
        Allowed { #[pin] future: F },
    }
}

impl<F, E> std::future::Future for RateLimitFuture<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            RateLimitFutureProjection::Refused { response } => {
                std::task::Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
            RateLimitFutureProjection::Allowed { future } => future.poll(cx),
        }
    }
}

impl RateLimiter {
    /// The 429 answer when the client's bucket for this route is empty;
    /// `None` lets the request through.
    fn refusal(&self, request: &Request) -> Option<Response> {
        let rl = self;
        let i = &rl.inner;
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let group = i
            .groups
            .iter()
            .find(|g| g.route.is_some() && g.route.as_deref() == route)
            .or_else(|| i.groups.iter().find(|g| g.route.is_none()))?;
        let (key, ip) = rl.client_key(request);
        match rl.check(group, key) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let route_label = route.unwrap_or(crate::http::UNMATCHED_ROUTE);
                i.refused.with_label_values(&[route_label]).inc();
                // Logged at most once a second (the event's line budget).
                i.security
                    .record_lazy(SecurityEvent::ExcessRateLimitExceeded, || {
                        (
                            ip.map(|a| a.to_string()).unwrap_or_default(),
                            format!("rate limit of {route_label}"),
                        )
                    });
                let retry = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let retry = retry.max(1).to_string();
                let limit = group.quota.burst.to_string();
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    r#"{"error":"rate_limited","message":"too many requests; retry later"}"#,
                )
                    .into_response();
                let h = response.headers_mut();
                for (name, value) in [
                    ("retry-after", retry.as_str()),
                    ("ratelimit-limit", limit.as_str()),
                    ("ratelimit-remaining", "0"),
                    ("ratelimit-reset", retry.as_str()),
                ] {
                    if let Ok(v) = HeaderValue::from_str(value) {
                        h.insert(HeaderName::from_static(name), v);
                    }
                }
                Some(response)
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::SecurityEvents;
    use governor::clock::FakeRelativeClock;
    use governor::state::keyed::DefaultKeyedStateStore;
    use std::time::Duration;

    /// Burst, then exactly one request per period, with governor's fake
    /// clock: what `REDLINE_RATE_LIMIT=10/s:5` means to a client.
    #[test]
    fn burst_and_refill_are_exact() {
        let clock = FakeRelativeClock::default();
        let rl: governor::RateLimiter<
            u64,
            DefaultKeyedStateStore<u64>,
            FakeRelativeClock,
            governor::middleware::NoOpMiddleware<governor::nanos::Nanos>,
        > = governor::RateLimiter::new(
            quota(RateQuota {
                per_second: 10,
                burst: 5,
            }),
            DefaultKeyedStateStore::<u64>::default(),
            clock.clone(),
        );
        // The burst, at once; the sixth waits one period (100 ms).
        for n in 0..5 {
            assert!(rl.check_key(&1).is_ok(), "request {n} of the burst");
        }
        let refused = rl.check_key(&1).unwrap_err();
        assert_eq!(
            refused.wait_time_from(clock.now()),
            Duration::from_millis(100)
        );
        // Another client has its own bucket.
        assert!(rl.check_key(&2).is_ok());
        // 99 ms later: still refused; at 100 ms exactly one more.
        clock.advance(Duration::from_millis(99));
        assert!(rl.check_key(&1).is_err());
        clock.advance(Duration::from_millis(1));
        assert!(rl.check_key(&1).is_ok());
        assert!(rl.check_key(&1).is_err());
        // A steady 10/s is served forever; 11/s is not.
        for _ in 0..100 {
            clock.advance(Duration::from_millis(100));
            assert!(rl.check_key(&1).is_ok());
        }
        // Idle for half a second: the bucket refills to the burst, no more.
        clock.advance(Duration::from_millis(500));
        for _ in 0..5 {
            assert!(rl.check_key(&1).is_ok());
        }
        assert!(rl.check_key(&1).is_err());
    }

    #[test]
    fn key_memory_is_bounded_under_100000_distinct_clients() {
        let registry = prometheus::Registry::new();
        let security = SecurityEvents::register(&registry).unwrap();
        let config = RateLimitConfig {
            default: Some(RateQuota {
                per_second: 1000,
                burst: 1000,
            }),
            max_keys: 10_000,
            ..Default::default()
        };
        let rl = RateLimiter::new(&config, &registry, security)
            .unwrap()
            .unwrap();
        let group = &rl.inner.groups[0];
        let mut refused = 0;
        for key in 0..100_000u64 {
            if rl.check(group, key).is_err() {
                refused += 1;
            }
            assert!(group.limiter.len() <= config.max_keys + 1, "at key {key}");
        }
        // The overflow bucket (burst 1000) absorbed the clients past the
        // cap until purges made room; nothing grew past the cap.
        assert!(group.limiter.len() <= config.max_keys + 1);
        assert!(refused < 100_000);
    }
}
