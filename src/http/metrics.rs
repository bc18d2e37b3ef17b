//! The HTTP server metric families (OpenTelemetry HTTP semantic conventions
//! mapped to Prometheus names), stored in sharded series and exported through
//! the `prometheus` crate's [`Collector`] interface.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};

use prometheus::IntCounter;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use super::labels::{ErrorType, METHOD_NAMES, SCHEME_NAMES, status_label};
use crate::metrics::exemplar::{ExemplarCells, Exemplars};
use crate::metrics::family::{Interner, LabelSets, OVERFLOW_LABEL};
use crate::metrics::proto;
use crate::metrics::sharded::{Buckets, ShardedGauge, ShardedHistogram, Slot, slot};
use crate::metrics::table::InsertOnlyMap;

pub(crate) const DURATION: &str = "http_server_request_duration_seconds";
pub(crate) const ACTIVE: &str = "http_server_active_requests";
pub(crate) const REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
pub(crate) const RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";

/// The `http_route` value of requests no route matched.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let app: axum::Router = axum::Router::new()
///     .route("/hello", axum::routing::get(|| async { "hello" }))
///     .layer(t.http_layer());
/// app.oneshot(http::Request::get("/nope").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// let label = format!(r#"http_route="{}""#, redline::http::UNMATCHED_ROUTE);
/// assert!(t.render_metrics().contains(&label));
/// # });
/// ```
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Default duration buckets, in seconds (OpenTelemetry HTTP semantic
/// conventions' advice).
///
/// ```
/// use redline::http::DEFAULT_DURATION_BUCKETS;
/// assert_eq!(redline::Config::default().http_duration_buckets, DEFAULT_DURATION_BUCKETS);
/// assert_eq!((DEFAULT_DURATION_BUCKETS[0], DEFAULT_DURATION_BUCKETS[13]), (0.005, 10.0));
/// ```
pub const DEFAULT_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Body size buckets, in bytes: 0 (no body), then powers of four from 64 B to
/// 16 MiB.
pub(crate) const SIZE_BUCKETS: [f64; 11] = [
    0.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
];

/// One label set: every field is a small id into a fixed table or the route
/// interner, so hashing and comparing are cheap and allocation-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HttpKey {
    pub(crate) method: u8,
    pub(crate) route: u32,
    pub(crate) status: u16,
    pub(crate) scheme: u8,
    pub(crate) error: u8,
}

impl std::hash::Hash for HttpKey {
    /// One 64-bit write instead of five (the derived impl feeds each field
    /// to the hasher separately; this is on every request's path).
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(
            u64::from(self.route) << 32
                | u64::from(self.status) << 16
                | u64::from(self.method) << 8
                | u64::from(self.scheme) << 4
                | u64::from(self.error & 0xF),
        );
    }
}

const OVERFLOW_KEY: HttpKey = HttpKey {
    method: u8::MAX,
    route: u32::MAX,
    status: u16::MAX,
    scheme: u8::MAX,
    error: u8::MAX,
};

/// The three histograms of one label set.
pub(crate) struct HttpSeries {
    duration: ShardedHistogram,
    /// Trace ids of recent sampled requests, per duration bucket.
    exemplars: ExemplarCells,
    request_size: ShardedHistogram,
    response_size: ShardedHistogram,
}

pub(crate) struct HttpMetricsInner {
    duration_buckets: Buckets,
    size_buckets: Buckets,
    routes: Interner,
    /// Route ids of axum `MatchedPath`s by the address of their shared
    /// string; each entry keeps a clone, so the address cannot be reused by
    /// another string while it is cached.
    matched_paths: InsertOnlyMap<usize, (axum::extract::MatchedPath, u32)>,
    unmatched: u32,
    /// Span names (`{method} {route}`) and route strings by method and
    /// route id, built once: formatting the name per sampled request cost
    /// ~770 instructions (callgrind, `TRACES=sampled`).
    span_names: InsertOnlyMap<(u8, u32), (Box<str>, Box<str>)>,
    series: LabelSets<HttpKey, HttpSeries>,
    /// Active requests by `[method][scheme]`: fixed, so no lookup at all.
    active: Box<[[ShardedGauge; 2]; 10]>,
    /// Bit `method * 2 + scheme` is set once such a request was seen, so
    /// idle method/scheme pairs stay out of the output.
    active_seen: AtomicU32,
    pub(crate) default_scheme: u8,
    descs: Vec<Desc>,
    /// The status page's slowest and failed recent requests (off unless
    /// the page is on).
    pub(crate) recent: crate::status::recent::RecentRequests,
}

/// The HTTP server metrics: shared by every clone of the HTTP layer.
///
/// The storage is allocated once and lives until the process exits (see
/// `leak::leak` in the source for why), so the layer, its services and
/// every in-flight request refer to it without reference counting.
///
/// ```
/// use prometheus::core::Collector;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let metrics: redline::http::HttpMetrics = *t.http_metrics(); // `Copy`, shared storage
/// let names: Vec<String> = metrics.desc().iter().map(|d| d.fq_name.clone()).collect();
/// assert_eq!(names.len(), 4);
/// assert!(names.contains(&"http_server_request_duration_seconds".to_string()));
/// ```
#[derive(Clone, Copy)]
pub struct HttpMetrics {
    pub(crate) inner: &'static HttpMetricsInner,
}

impl HttpMetrics {
    /// Creates the families. `duration_buckets` are in seconds; `cap` is the
    /// maximum number of label sets per family; `overflow` counts
    /// observations folded into the overflow series.
    pub(crate) fn new(
        duration_buckets: &[f64],
        cap: usize,
        default_scheme: u8,
        overflow: IntCounter,
    ) -> Self {
        let routes = Interner::new(cap, overflow.clone());
        let unmatched = routes.id(UNMATCHED_ROUTE);
        let labels = [
            "error_type",
            "http_request_method",
            "http_response_status_code",
            "http_route",
            "url_scheme",
        ];
        let descs = vec![
            proto::desc(
                DURATION,
                "Duration of HTTP server requests, until the response body has been sent.",
                &labels,
            ),
            proto::desc(
                ACTIVE,
                "Number of HTTP server requests in flight.",
                &["http_request_method", "url_scheme"],
            ),
            proto::desc(
                REQUEST_SIZE,
                "Size of HTTP server request bodies (when known from Content-Length or an empty body).",
                &labels,
            ),
            proto::desc(
                RESPONSE_SIZE,
                "Size of HTTP server response bodies as sent.",
                &labels,
            ),
        ];
        Self {
            inner: crate::leak::leak(HttpMetricsInner {
                duration_buckets: Buckets::new(duration_buckets, 1e-9),
                size_buckets: Buckets::new(&SIZE_BUCKETS, 1.0),
                routes,
                matched_paths: InsertOnlyMap::with_capacity(cap),
                unmatched,
                span_names: InsertOnlyMap::with_capacity(cap),
                series: LabelSets::new(cap, OVERFLOW_KEY, overflow),
                active: Box::new(std::array::from_fn(|_| {
                    [ShardedGauge::new(), ShardedGauge::new()]
                })),
                active_seen: AtomicU32::new(0),
                default_scheme,
                descs,
                recent: crate::status::recent::RecentRequests::default(),
            }),
        }
    }

    /// Number of label sets currently held by the duration family.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use tower::ServiceExt;
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "ok" }))
    ///     .layer(t.http_layer());
    /// assert_eq!(t.http_metrics().series_count(), 0);
    /// app.oneshot(http::Request::get("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(t.http_metrics().series_count(), 1);
    /// # });
    /// ```
    pub fn series_count(&self) -> usize {
        self.inner.series.len()
    }
}

impl HttpMetricsInner {
    /// The route id for a matched template, or the unmatched id.
    #[inline]
    pub(crate) fn route_id(&self, route: Option<&str>) -> u32 {
        match route {
            Some(r) => self.routes.id(r),
            None => self.unmatched,
        }
    }

    /// The span name (`{method} {route}`) and route template of a request;
    /// `None` for unmatched requests and the overflow id.
    pub(crate) fn span_name(
        &'static self,
        method: u8,
        method_name: &str,
        route: u32,
    ) -> Option<(Cow<'static, str>, Cow<'static, str>)> {
        if route == self.unmatched || route == crate::metrics::family::OVERFLOW_ID {
            return None;
        }
        let key = (method, route);
        if let Some((name, route)) = self.span_names.get(&key) {
            return Some((Cow::Borrowed(&**name), Cow::Borrowed(&**route)));
        }
        let template = self.routes.name(route);
        let name = format!("{method_name} {template}");
        match self
            .span_names
            .get_or_insert(&key, || (key, (name.as_str().into(), (*template).into())))
        {
            Some(((name, route), _)) => Some((Cow::Borrowed(&**name), Cow::Borrowed(&**route))),
            // Full (as many pairs as label sets allowed): correct, not cached.
            None => Some((Cow::Owned(name), Cow::Owned(template.to_string()))),
        }
    }

    /// The route id of an axum `MatchedPath`.
    ///
    /// Why not hash the template: axum clones the `Arc<str>` inside
    /// `MatchedPath` for every request, so with two cores on one route the
    /// cache line holding its count *and* its first bytes bounces between
    /// them; reading the string cost ~150 ns per request in
    /// `benches/layer.rs` (axum, 2 threads). The address alone is in the
    /// request's own extension and costs nothing to read.
    #[inline]
    pub(crate) fn matched_path_id(&self, path: &axum::extract::MatchedPath) -> u32 {
        let address = path.as_str().as_ptr() as usize;
        if let Some((_, id)) = self.matched_paths.get(&address) {
            return *id;
        }
        let id = self.routes.id(path.as_str());
        // When the cache is full the id is still right, just not cached.
        let _ = self
            .matched_paths
            .get_or_insert(&address, || (address, (path.clone(), id)));
        id
    }

    /// The label pairs of a series, sorted by name.
    fn labels(
        &self,
        key: &HttpKey,
        routes: &[std::sync::Arc<str>],
    ) -> Vec<prometheus::proto::LabelPair> {
        if *key == OVERFLOW_KEY {
            proto::labels(&[
                ("error_type", OVERFLOW_LABEL),
                ("http_request_method", OVERFLOW_LABEL),
                ("http_response_status_code", OVERFLOW_LABEL),
                ("http_route", OVERFLOW_LABEL),
                ("url_scheme", OVERFLOW_LABEL),
            ])
        } else {
            let route = routes
                .get(key.route as usize)
                .map(|r| &**r)
                .unwrap_or(OVERFLOW_LABEL);
            let method = METHOD_NAMES[key.method as usize];
            let status = status_label(key.status);
            let scheme = SCHEME_NAMES[key.scheme as usize];
            // Sorted by label name; `error_type` only on failures and the
            // status only when a response was produced.
            let mut pairs: [(&str, &str); 5] = [("", ""); 5];
            let mut n = 0;
            let error = ErrorType::from_u8(key.error).label(key.status);
            for (name, value) in [
                ("error_type", error.unwrap_or("")),
                ("http_request_method", method),
                ("http_response_status_code", status),
                ("http_route", route),
                ("url_scheme", scheme),
            ] {
                if !value.is_empty() {
                    pairs[n] = (name, value);
                    n += 1;
                }
            }
            proto::labels(&pairs[..n])
        }
    }

    /// Adds the duration histogram's exemplars to `out`.
    pub(crate) fn collect_exemplars(&self, out: &mut Exemplars) {
        let routes = self.routes.names();
        for (key, series) in self.series.iter() {
            let buckets = series.exemplars.snapshot();
            if buckets.iter().any(Option::is_some) {
                out.insert_proto(DURATION, &self.labels(key, &routes), buckets);
            }
        }
    }

    #[inline]
    pub(crate) fn active(&self, method: u8, scheme: u8, delta: i64) {
        self.active_in(slot(), method, scheme, delta);
    }

    #[inline]
    fn active_in(&self, slot: Slot, method: u8, scheme: u8, delta: i64) {
        let bit = 1u32 << (method as u32 * 2 + scheme as u32);
        // A plain load first: after warm-up the line is only read, so both
        // cores keep it cached and no write contends.
        if self.active_seen.load(Ordering::Relaxed) & bit == 0 {
            self.active_seen.fetch_or(bit, Ordering::Relaxed);
        }
        self.active[method as usize][scheme as usize].add_in(slot, delta);
    }

    /// Records a finished request and takes it off the active-requests gauge.
    #[inline]
    pub(crate) fn record(
        &self,
        key: &HttpKey,
        duration_nanos: u64,
        request_size: Option<u64>,
        response_size: u64,
        exemplar: Option<(u128, u64)>,
    ) {
        let make = || HttpSeries {
            duration: ShardedHistogram::new(&self.duration_buckets),
            exemplars: ExemplarCells::new(self.duration_buckets.bounds.len()),
            request_size: ShardedHistogram::new(&self.size_buckets),
            response_size: ShardedHistogram::new(&self.size_buckets),
        };
        let slot = slot();
        self.series.with(key, make, |s| {
            s.duration
                .observe_in(slot, &self.duration_buckets, duration_nanos);
            if let Some((trace_id, span_id)) = exemplar {
                s.exemplars.offer(
                    self.duration_buckets.index(duration_nanos),
                    trace_id,
                    span_id,
                    // Divided, not multiplied by 1e-9: 75 ms must read
                    // 0.075 exactly, or the exemplar falls outside its
                    // `le="0.075"` bucket and the encoder drops it.
                    duration_nanos as f64 / 1e9,
                );
            }
            if let Some(size) = request_size {
                s.request_size.observe_in(slot, &self.size_buckets, size);
            }
            s.response_size
                .observe_in(slot, &self.size_buckets, response_size);
        });
        self.active_in(slot, key.method, key.scheme, -1);
    }
}

impl Collector for HttpMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let inner = self.inner;
        let routes = inner.routes.names();
        let help = |i: usize| inner.descs[i].help.as_str();
        let mut duration = proto::family(DURATION, help(0), MetricType::HISTOGRAM);
        let mut request = proto::family(REQUEST_SIZE, help(2), MetricType::HISTOGRAM);
        let mut response = proto::family(RESPONSE_SIZE, help(3), MetricType::HISTOGRAM);
        let n = inner.series.len();
        let mut d = Vec::with_capacity(n);
        let mut rq = Vec::with_capacity(n);
        let mut rs = Vec::with_capacity(n);
        for (key, series) in inner.series.iter() {
            let labels = inner.labels(key, &routes);
            let request_snapshot = series.request_size.snapshot();
            if request_snapshot.count() > 0 {
                rq.push(proto::histogram(
                    labels.clone(),
                    ShardedHistogram::to_proto(&request_snapshot, &inner.size_buckets),
                ));
            }
            rs.push(proto::histogram(
                labels.clone(),
                ShardedHistogram::to_proto(&series.response_size.snapshot(), &inner.size_buckets),
            ));
            d.push(proto::histogram(
                labels,
                ShardedHistogram::to_proto(&series.duration.snapshot(), &inner.duration_buckets),
            ));
        }
        duration.set_metric(d);
        request.set_metric(rq);
        response.set_metric(rs);

        let mut active = proto::family(ACTIVE, help(1), MetricType::GAUGE);
        let mut a = Vec::new();
        for (m, per_scheme) in inner.active.iter().enumerate() {
            for (s, gauge) in per_scheme.iter().enumerate() {
                let value = gauge.get();
                // Methods never seen stay out of the output; a method seen
                // once keeps its series (at 0) so `rate`/`max_over_time`
                // queries see it drop back down.
                if value != 0 || inner.active_seen.load(Ordering::Relaxed) & (1 << (m * 2 + s)) != 0
                {
                    a.push(proto::gauge(
                        proto::labels(&[
                            ("http_request_method", METHOD_NAMES[m]),
                            ("url_scheme", SCHEME_NAMES[s]),
                        ]),
                        value as f64,
                    ));
                }
            }
        }
        active.set_metric(a);
        vec![duration, active, request, response]
    }
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An observation exactly on a bucket bound gets an exemplar the
    /// OpenMetrics encoder keeps (its value must not exceed `le`).
    #[test]
    fn exemplar_on_a_bucket_bound_stays_in_its_bucket() {
        let overflow = IntCounter::new("x_total", "x").unwrap();
        let m = HttpMetrics::new(&[0.05, 0.075, 0.1], 10, 0, overflow);
        let key = HttpKey {
            method: 2,
            route: m.inner.route_id(Some("/a")),
            status: 200,
            scheme: 0,
            error: 0,
        };
        m.inner.active(2, 0, 1);
        m.inner
            .record(&key, 75_000_000, None, 0, Some((0xabc, 0xdef)));
        let registry = prometheus::Registry::new();
        registry.register(Box::new(m)).unwrap();
        let mut exemplars = Exemplars::default();
        m.inner.collect_exemplars(&mut exemplars);
        let mut out = String::new();
        crate::metrics::encode_openmetrics(&registry.gather(), &exemplars, &mut out);
        let line = out
            .lines()
            .find(|l| l.contains(r#"le="0.075""#))
            .expect("the 0.075 bucket");
        assert!(
            line.contains("trace_id=\"00000000000000000000000000000abc\""),
            "{line}"
        );
        assert!(line.contains("} 0.075"), "{line}");
    }
}
