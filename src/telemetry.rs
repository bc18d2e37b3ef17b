//! The one entry point: configuration in; HTTP layer, operation timer, admin
//! router and shutdown guard out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, UrlScheme};
use crate::http::{HttpLayer, HttpMetrics};
#[cfg(feature = "system")]
use crate::metrics::system;
use crate::metrics::{BuildInfo, OVERFLOW_METRIC, OperationTimer, build_info};
use crate::traces::Tracing;

/// Why redline could not start.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let first = redline::Telemetry::builder().registry(registry.clone()).build();
/// assert!(first.is_ok());
/// // The same families cannot be registered twice in one registry.
/// let second = redline::Telemetry::builder().registry(registry).build();
/// assert!(matches!(second, Err(redline::Error::Registry(_))));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A metric could not be registered (for example, a collector of the
    /// same name is already in a registry passed to the builder).
    #[error("cannot register metrics: {0}")]
    Registry(RegistryError),
    /// The admin listener could not bind its address.
    #[error(
        "cannot listen on {addr} (set REDLINE_ADMIN_LISTEN to another address, or off): {source}"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The trace pipeline could not start.
    #[error(transparent)]
    Traces(#[from] crate::traces::TraceError),
    /// A redaction pattern of the configuration is invalid.
    #[error(transparent)]
    Redact(#[from] crate::redact::RedactError),
}

/// Why a metric family could not be registered (the registry's own
/// message: a duplicate name, an inconsistent label set...). Opaque, so the
/// `prometheus` crate's error type stays out of redline's API.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let _first = redline::Telemetry::builder().registry(registry.clone()).build().unwrap();
/// let Err(redline::Error::Registry(e)) = redline::Telemetry::builder().registry(registry).build() else {
///     panic!("registered twice");
/// };
/// assert!(e.to_string().contains("Duplicate"), "{e}");
/// ```
#[derive(Debug)]
pub struct RegistryError(prometheus::Error);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RegistryError {}

// For `?` on the registry's results inside the crate; hidden from the docs
// so the `prometheus` type does not read as part of the API.
#[doc(hidden)]
impl From<prometheus::Error> for Error {
    fn from(e: prometheus::Error) -> Self {
        Error::Registry(RegistryError(e))
    }
}

struct Inner {
    /// Size of the last rendered `/metrics`, to size the next buffer.
    last_render: AtomicUsize,
    config: Config,
    registry: Registry,
    http: HttpMetrics,
    operations: OperationTimer,
    tracing: Tracing,
    health: crate::health::HealthRegistry,
    log_stats: crate::logs::LogStats,
    log_control: crate::logs::LogControl,
    access_log: Option<&'static crate::http::AccessLog>,
    security: crate::logs::SecurityEvents,
    errors: &'static crate::errors::ErrorTracker,
    rate_limiter: Option<crate::security::rate_limit::RateLimiter>,
    server: crate::server::ServerMetrics,
    redactor: crate::redact::Redactor,
    build_info: BuildInfo,
    started: std::time::SystemTime,
}

/// Owns all of redline's instrumentation for one service. Cheap to clone.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use axum::{Router, routing::get};
/// let mut config = redline::Config::default();
/// config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
/// let telemetry = redline::Telemetry::builder().config(config).build().unwrap();
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .layer(telemetry.http_layer());
/// let guard = telemetry.serve_admin().await.unwrap(); // GET /metrics
/// assert!(guard.admin_addr().is_some());
/// guard.shutdown().await;
/// # let _ = app;
/// # });
/// ```
#[derive(Clone)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

/// Builds a [`Telemetry`] (see [`Telemetry::builder`]).
///
/// ```
/// let config = redline::Config { service_name: "checkout".into(), admin_listen: None, ..Default::default() };
/// let t = redline::Telemetry::builder()
///     .config(config)
///     .build_info(redline::BuildInfo::new("1.4.0", "abc1234"))
///     .build()
///     .unwrap();
/// assert_eq!(t.config().service_name, "checkout");
/// ```
#[derive(Default)]
pub struct TelemetryBuilder {
    config: Option<Config>,
    build_info: Option<BuildInfo>,
    registry: Option<Registry>,
}

impl TelemetryBuilder {
    /// Uses `config` instead of the defaults.
    ///
    /// ```
    /// let t = redline::Telemetry::builder()
    ///     .config(redline::Config::default())
    ///     .build()
    ///     .unwrap();
    /// # let _ = t;
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// What `build_info` and `/info` report (default: redline's own
    /// version). Pass [`redline::build_info!()`](crate::build_info!) for your
    /// crate's. Its [`BuildInfo::service_name`] also becomes the service name
    /// when the configuration names none (`OTEL_SERVICE_NAME` unset).
    ///
    /// ```
    /// let t = redline::Telemetry::builder()
    ///     .build_info(redline::BuildInfo::new("2.0.1", "deadbeef").with_service_name("billing"))
    ///     .build()
    ///     .unwrap();
    /// assert!(t.render_metrics().contains(r#"version="2.0.1""#));
    /// assert_eq!(t.config().service_name, "billing");
    /// ```
    pub fn build_info(mut self, info: BuildInfo) -> Self {
        self.build_info = Some(info);
        self
    }

    /// Registers into an existing registry (so metrics you define with the
    /// `prometheus` crate appear on the same `/metrics`).
    ///
    /// ```
    /// let registry = prometheus::Registry::new();
    /// let jobs = prometheus::IntCounter::new("jobs_total", "Jobs.").unwrap();
    /// registry.register(Box::new(jobs.clone())).unwrap();
    /// let t = redline::Telemetry::builder().registry(registry).build().unwrap();
    /// assert!(t.render_metrics().contains("jobs_total 0"));
    /// ```
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Creates the metric families and registers them.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.render_metrics().contains("build_info"));
    /// ```
    pub fn build(self) -> Result<Telemetry, Error> {
        let mut config = self.config.unwrap_or_default();
        let build = self.build_info.unwrap_or_else(BuildInfo::redline);
        if let Some(name) = &build.service_name
            && config.service_name == crate::config::DEFAULT_SERVICE_NAME
        {
            config.service_name.clone_from(name);
        }
        // Calibrate the request clock now rather than on the first request.
        let _ = quanta::Instant::now();
        let registry = self.registry.unwrap_or_default();
        let overflow = IntCounterVec::new(
            Opts::new(
                OVERFLOW_METRIC,
                "Observations folded into a metric's overflow series because it reached its label-set cap.",
            ),
            &["metric"],
        )?;
        registry.register(Box::new(overflow.clone()))?;
        let cap = config.max_series_per_metric;
        let scheme = match config.url_scheme {
            UrlScheme::Http => 0,
            UrlScheme::Https => 1,
        };
        let redactor = crate::redact::Redactor::new(&config.redact)?;
        let tracing = Tracing::new(&config, &registry, redactor.clone())?;
        let http = HttpMetrics::new(
            &config.http_duration_buckets,
            cap,
            scheme,
            overflow.with_label_values(&[crate::http::DURATION]),
        );
        registry.register(Box::new(http))?;
        let operations = OperationTimer::new(
            &config.operation_duration_buckets,
            cap,
            overflow.with_label_values(&["redline_operation_duration_seconds"]),
            tracing.hot(),
        );
        registry.register(Box::new(operations))?;
        if config.process_metrics && cfg!(target_os = "linux") {
            registry.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        #[cfg(feature = "system")]
        if config.system_metrics {
            registry.register(Box::new(system::SystemCollector::new(
                config.system_metrics_interval,
            )))?;
        }
        build_info::register(
            &registry,
            &build,
            &config.service_name,
            &config.resource_attributes,
        )?;
        let health = crate::health::HealthRegistry::new();
        registry.register(Box::new(health.clone()))?;
        let access_log = crate::http::AccessLog::new(&config.logs).map(crate::metrics::leak);
        let security = crate::logs::SecurityEvents::register(&registry)?;
        let rate_limiter = crate::security::rate_limit::RateLimiter::new(
            &config.rate_limit,
            &registry,
            security.clone(),
        )?;
        let errors = crate::errors::ErrorTracker::new(crate::errors::ErrorTrackerConfig {
            redactor: redactor.clone(),
            ..Default::default()
        });
        errors.register(&registry)?;
        // 'static like the other hot-path handles: the layer captures 5xx
        // responses and panics without reference counting.
        let errors: &'static crate::errors::ErrorTracker = crate::metrics::leak(errors);
        let log_stats = crate::logs::LogStats::new();
        registry.register(Box::new(log_stats.clone()))?;
        let server = crate::server::ServerMetrics::register(&registry)?;
        // Process checks only: liveness must not depend on other systems.
        // Non-critical, so they warn rather than get the process restarted.
        #[cfg(feature = "system")]
        health.register(
            "memory:utilization",
            crate::health::CheckOptions::liveness()
                .critical(false)
                .component("process", "system"),
            crate::health::checks::memory(0.85, 0.95),
        );
        #[cfg(feature = "system")]
        health.register(
            "cpu:load",
            crate::health::CheckOptions::liveness()
                .critical(false)
                .component("host", "system"),
            crate::health::checks::cpu(1.5, 3.0),
        );
        Ok(Telemetry {
            inner: Arc::new(Inner {
                last_render: AtomicUsize::new(64 * 1024),
                config,
                registry,
                http,
                operations,
                tracing,
                health,
                log_stats,
                log_control: crate::logs::LogControl::default(),
                access_log,
                security,
                errors,
                rate_limiter,
                server,
                redactor,
                build_info: build,
                started: std::time::SystemTime::now(),
            }),
        })
    }
}

impl Telemetry {
    /// A builder with default configuration.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// # let _ = t;
    /// ```
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// Builds from the environment ([`Config::from_env`]), reporting
    /// redline's own build info. For your service's version, revision and
    /// default name: `Telemetry::builder().config(Config::from_env()?)
    /// .build_info(redline::build_info!()).build()`.
    ///
    /// ```
    /// let t = redline::Telemetry::from_env().unwrap();
    /// # let _ = t;
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().config(Config::from_env()?).build()
    }

    /// The configuration in force.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.config().max_series_per_metric, 2000);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The tower layer that records HTTP server metrics.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "ok" }))
    ///     .layer(t.http_layer());
    /// # let _ = app;
    /// ```
    pub fn http_layer(&self) -> HttpLayer {
        HttpLayer::new(
            self.inner.http,
            self.inner.tracing.hot(),
            self.inner.access_log,
            Some(self.inner.errors),
        )
    }

    /// Instruments an axum router completely, in the right order: the
    /// limits of [`crate::security::limit`] (body size, time) innermost,
    /// then the rate limiter (when a quota is configured), then
    /// [`Telemetry::http_layer`] (metrics, spans, access log, error
    /// capture: so refused requests are measured too), then
    /// [`crate::security::harden`] (request ids, security headers, CORS)
    /// outermost. Add your routes first.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let app: Router = t.instrument(Router::new().route("/users/{id}", get(|| async { "user" })));
    /// # let _ = app;
    /// ```
    pub fn instrument(&self, router: axum::Router) -> axum::Router {
        let hardening = &self.inner.config.hardening;
        // Innermost: what the input extractors read.
        let input = crate::security::input::InputContext::new(
            crate::security::JsonLimits {
                max_bytes: hardening.body_limit,
                max_depth: hardening.json_max_depth,
            },
            self.inner.security.clone(),
        )
        .development(hardening.development);
        let router = router.layer(axum::Extension(input));
        let mut router = crate::security::limit(router, hardening);
        if let Some(rl) = &self.inner.rate_limiter {
            router = router.layer(crate::security::rate_limit::RateLimitLayer(rl.clone()));
        }
        crate::security::harden(router.layer(self.http_layer()), hardening)
    }

    /// The HTTP metric families (for inspection, e.g. the series count).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.http_metrics().series_count(), 0);
    /// ```
    pub fn http_metrics(&self) -> &HttpMetrics {
        &self.inner.http
    }

    /// The timer for non-HTTP operations.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.operations().time("warmup", || ());
    /// assert!(t.render_metrics().contains(r#"operation="warmup""#));
    /// ```
    pub fn operations(&self) -> OperationTimer {
        self.inner.operations
    }

    /// The registry everything is registered in.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(!t.registry().gather().is_empty());
    /// ```
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The metrics of the servers redline runs (admin listener, demo API).
    pub(crate) fn server_metrics(&self) -> &crate::server::ServerMetrics {
        &self.inner.server
    }

    /// The health checks and lifecycle behind `/health`, `/ready` and
    /// `/alive` (two process checks are registered by default:
    /// `memory:utilization` and `cpu:load`, both non-critical).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.health().names().contains(&"memory:utilization".to_string()));
    /// ```
    pub fn health(&self) -> &crate::health::HealthRegistry {
        &self.inner.health
    }

    /// Installs the global `tracing` subscriber from the configuration
    /// (`REDLINE_LOG*`): a `Registry` with [`Telemetry::logging_layer`]
    /// (JSON lines with request and trace ids to stdout and/or a rotating
    /// file through a non-blocking buffer, log statistics, and `tracing`
    /// spans into the trace pipeline). Call once, early; lines still
    /// buffered are flushed when the last `Telemetry` clone drops.
    ///
    /// A service with a subscriber of its own adds
    /// [`Telemetry::logging_layer`] to it instead. If another global
    /// subscriber is already installed this fails with
    /// [`LogError::AlreadyInstalled`](crate::logs::LogError::AlreadyInstalled)
    /// and builds nothing, so `logging_layer` can still be used.
    ///
    /// ```no_run
    /// let t = redline::Telemetry::from_env().unwrap();
    /// t.install_logging().unwrap();
    /// tracing::info!("ready");
    /// ```
    pub fn install_logging(&self) -> Result<(), crate::logs::LogError> {
        crate::logs::install(
            &self.inner.config.logs,
            &self.inner.log_stats,
            &self.inner.log_control,
            self.inner.tracing.tracer().cloned(),
            &self.inner.redactor,
        )
    }

    /// redline's logging as a [`Layer`](tracing_subscriber::Layer) for a
    /// subscriber you build: the JSON-lines outputs of the configuration
    /// (`REDLINE_LOG_OUTPUT`, redacted, with request and trace ids), the
    /// log statistics, and `tracing` spans into the trace pipeline when
    /// traces are enabled, all behind redline's filter (`REDLINE_LOG` with
    /// the audit floor). That filter is per-layer: it decides what redline
    /// writes and nothing of what your other layers see. It changes with
    /// [`Telemetry::set_log_filter`] and `PUT /logs/level`, and
    /// `/logs/info` reports on it, as with [`Telemetry::install_logging`].
    ///
    /// Build it once per `Telemetry` (a second call, or a call after
    /// `install_logging`, answers
    /// [`LogError::AlreadyBuilt`](crate::logs::LogError::AlreadyBuilt)); the
    /// `Telemetry` keeps the buffers' guards, so lines are flushed when
    /// its last clone drops or at [`Telemetry::flush_logs`].
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let subscriber = tracing_subscriber::registry()
    ///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)) // yours
    ///     .with(t.logging_layer().unwrap()); // redline's JSON lines, stats, spans
    /// tracing::subscriber::with_default(subscriber, || {
    ///     t.set_log_filter("warn").unwrap(); // redline's output only
    ///     tracing::info!("your layer writes this; redline's does not");
    /// });
    /// assert_eq!(t.log_filter().as_deref(), Some("warn,redline::security=warn"));
    /// assert_eq!(t.log_stats().snapshot().events["INFO"], 0);
    /// ```
    pub fn logging_layer<S>(&self) -> Result<crate::logs::LogLayer<S>, crate::logs::LogError>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        crate::logs::build_layer(
            &self.inner.config.logs,
            &self.inner.log_stats,
            &self.inner.log_control,
            self.inner.tracing.tracer().cloned(),
            &self.inner.redactor,
        )
    }

    /// Changes the log filter at run time (`warn`, `info,redline=debug`) of
    /// redline's logging layer, whether [`Telemetry::install_logging`]
    /// installed it or it was added to your subscriber
    /// ([`Telemetry::logging_layer`]). The audit floor
    /// (`redline::security=warn`) is appended unless named.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(matches!(t.set_log_filter("debug"), Err(redline::logs::LogError::NotInstalled)));
    /// ```
    pub fn set_log_filter(&self, directives: &str) -> Result<(), crate::logs::LogError> {
        self.inner.log_control.set_filter(directives)
    }

    /// The current filter of redline's logging layer (`None` before
    /// [`Telemetry::install_logging`] or [`Telemetry::logging_layer`]).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.log_filter(), None);
    /// ```
    pub fn log_filter(&self) -> Option<String> {
        let f = self.inner.log_control.current_filter();
        (!f.is_empty()).then_some(f)
    }

    /// Writes out what the non-blocking log buffers still hold and stops
    /// their writer threads; call last, at shutdown (later lines are
    /// counted as dropped).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.flush_logs(); // nothing installed: nothing to do
    /// ```
    pub fn flush_logs(&self) {
        self.inner.log_control.flush();
    }

    /// Security and audit events (OWASP vocabulary; logged on
    /// `redline::security` and counted in `redline_security_events_total`).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.security().record(redline::logs::SecurityEvent::AuthnLoginFail, "10.0.0.9", "bad token");
    /// ```
    pub fn security(&self) -> &crate::logs::SecurityEvents {
        &self.inner.security
    }

    /// The error tracker (what `/errors/report` serves). The HTTP layer
    /// captures 5xx responses, handler errors and panics by itself; capture
    /// other errors with [`crate::errors::ErrorTracker::capture`].
    ///
    /// ```
    /// use redline::errors::{ErrorCategory, ErrorContext};
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.errors().capture(&std::io::Error::other("queue 7 is full"), ErrorContext::new(ErrorCategory::Dependency));
    /// assert_eq!(t.errors().report().total, 1);
    /// ```
    pub fn errors(&self) -> &crate::errors::ErrorTracker {
        self.inner.errors
    }

    /// The masker of secrets and personal data this service's logs, error
    /// samples and spans go through (built from [`Config::redact`]); use
    /// it for text you write elsewhere.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.redactor().redact("card 4242424242424242"), "card ************4242");
    /// ```
    pub fn redactor(&self) -> &crate::redact::Redactor {
        &self.inner.redactor
    }

    /// Log statistics (what `/logs/info` serves).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.log_stats().snapshot().lines_dropped, 0);
    /// ```
    pub fn log_stats(&self) -> &crate::logs::LogStats {
        &self.inner.log_stats
    }

    /// What the service was built from.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.build_info().version, env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn build_info(&self) -> &BuildInfo {
        &self.inner.build_info
    }

    /// When this `Telemetry` was built (about when the service started).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.started() <= std::time::SystemTime::now());
    /// ```
    pub fn started(&self) -> std::time::SystemTime {
        self.inner.started
    }

    /// The trace pipeline: tracer, `tracing` layer, flush and shutdown.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.tracing().is_enabled());
    /// ```
    pub fn tracing(&self) -> &Tracing {
        &self.inner.tracing
    }

    /// Renders every metric in the Prometheus text format (what `/metrics`
    /// answers).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.render_metrics().contains("# TYPE build_info gauge"));
    /// ```
    pub fn render_metrics(&self) -> String {
        let hint = self.inner.last_render.load(Ordering::Relaxed);
        // A little headroom so a slightly larger scrape does not regrow.
        let text = crate::metrics::exposition::render_text_with_capacity(
            &self.inner.registry,
            hint + hint / 8,
        );
        self.inner.last_render.store(text.len(), Ordering::Relaxed);
        text
    }

    /// Renders every metric in the OpenMetrics text format 1.0.0, with
    /// exemplars (trace ids of recent sampled requests) on the HTTP latency
    /// buckets: what `/metrics` answers a scraper that asks for
    /// `application/openmetrics-text`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let text = t.render_openmetrics();
    /// assert!(text.contains("# TYPE build_info gauge"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_openmetrics(&self) -> String {
        let families = self.inner.registry.gather();
        let mut exemplars = crate::metrics::Exemplars::default();
        self.inner.http.inner.collect_exemplars(&mut exemplars);
        let hint = self.inner.last_render.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 4);
        crate::metrics::encode_openmetrics(&families, &exemplars, &mut out);
        out
    }

    /// Renders in the format a scraper's `Accept` header asks for (see
    /// [`crate::metrics::ExpositionFormat::negotiate`]); returns the body
    /// and its `Content-Type`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let (_, content_type) = t.render_for(Some("application/openmetrics-text;version=1.0.0"));
    /// assert_eq!(content_type, redline::metrics::OPENMETRICS_CONTENT_TYPE);
    /// let (_, content_type) = t.render_for(None);
    /// assert_eq!(content_type, redline::metrics::PROMETHEUS_TEXT_CONTENT_TYPE);
    /// ```
    pub fn render_for(&self, accept: Option<&str>) -> (String, &'static str) {
        let format = crate::metrics::ExpositionFormat::negotiate(accept);
        let body = match format {
            crate::metrics::ExpositionFormat::OpenMetrics => self.render_openmetrics(),
            crate::metrics::ExpositionFormat::PrometheusText => self.render_metrics(),
        };
        (body, format.content_type())
    }

    /// The admin router (`/metrics`), to serve yourself or merge into the
    /// application's router.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let app: axum::Router = axum::Router::new().merge(t.admin_router());
    /// # let _ = app;
    /// ```
    pub fn admin_router(&self) -> axum::Router {
        crate::admin::router(self)
    }

    /// Serves `router` on `listener` with redline's server, as the admin
    /// listener is served: `REDLINE_HEADER_READ_TIMEOUT` (slow heads and idle
    /// connections of every protocol), HTTP/2 limits, the connection cap
    /// (`REDLINE_MAX_CONNECTIONS`), and the peer address for spans. The
    /// [`Server`](crate::Server) it returns drains with
    /// `REDLINE_SHUTDOWN_DELAY` and `REDLINE_SHUTDOWN_GRACE`
    /// ([`Server::shutdown`](crate::Server::shutdown)). Pass the router
    /// through [`Telemetry::instrument`] first. Call inside a tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let app = telemetry.instrument(axum::Router::new());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let server = telemetry.serve(listener, app).unwrap();
    /// # drop(server);
    /// # });
    /// ```
    pub fn serve(
        &self,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> std::io::Result<crate::Server> {
        // Fails only if the listener's address cannot be read.
        crate::Server::start(self, listener, router)
    }

    /// Starts the admin listener on `admin_listen` (if configured) and returns
    /// the guard that stops it. Call from within a Tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = None;
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let guard = t.serve_admin().await.unwrap();
    /// assert_eq!(guard.admin_addr(), None);
    /// guard.shutdown().await;
    /// # });
    /// ```
    pub async fn serve_admin(&self) -> Result<ShutdownGuard, Error> {
        self.serve_admin_with(axum::Router::new()).await
    }

    /// Like [`Telemetry::serve_admin`], with extra routes merged into the
    /// admin router (the demo adds `/faults` this way). They need the admin
    /// token, like the protected admin endpoints.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let extra = axum::Router::new().route("/version", axum::routing::get(|| async { "1" }));
    /// let guard = t.serve_admin_with(extra).await.unwrap();
    /// guard.shutdown().await;
    /// # });
    /// ```
    pub async fn serve_admin_with(&self, extra: axum::Router) -> Result<ShutdownGuard, Error> {
        let Some(addr) = self.inner.config.admin_listen else {
            return Ok(ShutdownGuard {
                admin_addr: None,
                stop: None,
                task: None,
                tracing: Some(self.inner.tracing.clone()),
            });
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let (stop, stopped) = watch::channel(false);
        let task = crate::server::serve_until(
            listener,
            // The body limit and request timeout of the API apply here too.
            crate::security::limit(
                self.admin_router()
                    .merge(crate::admin::protect(self, extra)),
                &self.inner.config.hardening,
            ),
            stopped,
            crate::server::ServerSettings::new(
                self,
                crate::server::Listener::Admin,
                "admin listener",
            ),
        );
        Ok(ShutdownGuard {
            admin_addr: Some(local),
            stop: Some(stop),
            task: Some(task),
            tracing: Some(self.inner.tracing.clone()),
        })
    }
}

/// Stops what [`Telemetry::serve_admin`] started. Call
/// [`ShutdownGuard::shutdown`] for a graceful, bounded stop; dropping the
/// guard stops the listener without waiting.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let config = redline::Config { admin_listen: Some("127.0.0.1:0".parse().unwrap()), ..Default::default() };
/// let t = redline::Telemetry::builder().config(config).build().unwrap();
/// let guard: redline::ShutdownGuard = t.serve_admin().await.unwrap();
/// let addr = guard.admin_addr().unwrap();
/// guard.shutdown().await;
/// assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped");
/// # });
/// ```
#[must_use = "dropping the guard stops the admin listener"]
pub struct ShutdownGuard {
    admin_addr: Option<SocketAddr>,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
    tracing: Option<Tracing>,
}

/// How long [`ShutdownGuard::shutdown`] waits for in-flight admin requests.
const ADMIN_DRAIN: Duration = Duration::from_secs(5);

impl ShutdownGuard {
    /// The address the admin listener is bound to (useful with port 0).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut config = redline::Config::default();
    /// config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    /// let t = redline::Telemetry::builder().config(config).build().unwrap();
    /// let guard = t.serve_admin().await.unwrap();
    /// assert_ne!(guard.admin_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Stops the admin listener, letting in-flight scrapes finish (at most
    /// 5 seconds), then flushes pending spans (at most
    /// `REDLINE_TRACES_SHUTDOWN_TIMEOUT`, default 3 s, even when the
    /// collector is down or hangs).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let mut config = redline::Config::default();
    /// config.admin_listen = None;
    /// let guard = redline::Telemetry::builder().config(config).build().unwrap()
    ///     .serve_admin().await.unwrap();
    /// guard.shutdown().await;
    /// # let _ = t;
    /// # });
    /// ```
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(ADMIN_DRAIN, &mut task).await.is_err()
        {
            task.abort();
        }
        if let Some(tracing) = self.tracing.take() {
            // The flush blocks (bounded): keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || tracing.shutdown()).await;
        }
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ShutdownGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownGuard").finish_non_exhaustive()
    }
}
