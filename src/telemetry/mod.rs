//! The one entry point: configuration in; HTTP layer, operation timer, admin
//! router and shutdown guard out. One job per file: `builder.rs` wires the
//! components from the configuration, `mod.rs` is the handle services keep
//! (what they instrument with, what the admin endpoints read), `guard.rs`
//! stops the admin listener and flushes, `error.rs` says why a start failed.

mod builder;
mod error;
mod guard;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus::Registry;
use tokio::sync::watch;

use crate::config::Config;
use crate::http::{HttpLayer, HttpMetrics};
use crate::metrics::{BuildInfo, OperationTimer};
use crate::traces::Tracing;

pub use builder::TelemetryBuilder;
pub use error::{Error, RegistryError};
pub use guard::ShutdownGuard;

pub(super) struct Inner {
    /// Size of the last rendered `/metrics`, to size the next buffer.
    pub(super) last_render: AtomicUsize,
    pub(super) config: Config,
    pub(super) registry: Registry,
    pub(super) http: HttpMetrics,
    pub(super) operations: OperationTimer,
    pub(super) tracing: Tracing,
    pub(super) health: crate::health::HealthRegistry,
    pub(super) log_stats: crate::logs::LogStats,
    pub(super) log_control: std::sync::Arc<crate::logs::LogControl>,
    pub(super) access_log: Option<&'static crate::http::AccessLog>,
    pub(super) security: crate::logs::SecurityEvents,
    pub(super) errors: &'static crate::errors::ErrorTracker,
    #[cfg(feature = "rate-limit")]
    pub(super) rate_limiter: Option<crate::security::rate_limit::RateLimiter>,
    pub(super) server: crate::server::ServerMetrics,
    pub(super) redactor: crate::redact::Redactor,
    pub(super) build_info: BuildInfo,
    pub(super) started: std::time::SystemTime,
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
    pub(super) inner: Arc<Inner>,
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
        #[cfg_attr(not(feature = "rate-limit"), allow(unused_mut))]
        let mut router = crate::security::limit(router, hardening);
        #[cfg(feature = "rate-limit")]
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
        crate::admin::router(&self.admin_state())
    }

    /// What the admin endpoints need of this `Telemetry`, and no more.
    fn admin_state(&self) -> crate::admin::AdminState {
        let inner = &self.inner;
        let telemetry = self.clone();
        crate::admin::AdminState::new(crate::admin::AdminParts {
            admin_token: inner.config.admin_token.clone(),
            metrics_auth: inner.config.metrics_auth,
            service_name: inner.config.service_name.clone(),
            logs: inner.config.logs.clone(),
            build_info: inner.build_info.clone(),
            started: inner.started,
            health: inner.health.clone(),
            security: inner.security.clone(),
            errors: inner.errors,
            log_stats: inner.log_stats.clone(),
            log_control: inner.log_control.clone(),
            tracing: inner.tracing.clone(),
            render_metrics: Box::new(move |accept| telemetry.render_for(accept)),
        })
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
        let config = &self.inner.config;
        let settings = crate::server::ServerSettings::new(
            &config.hardening,
            &self.inner.server,
            crate::server::Listener::Api,
            "service listener",
        );
        let shutdown = crate::server::Shutdown {
            health: self.inner.health.clone(),
            delay: config.shutdown_delay,
            grace: config.shutdown_grace,
        };
        // Fails only if the listener's address cannot be read.
        crate::Server::start(settings, shutdown, listener, router)
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
                    .merge(crate::admin::protect(&self.admin_state(), extra)),
                &self.inner.config.hardening,
            ),
            stopped,
            crate::server::ServerSettings::new(
                &self.inner.config.hardening,
                &self.inner.server,
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

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}
