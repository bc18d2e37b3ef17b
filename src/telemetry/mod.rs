//! The one entry point: configuration in; HTTP layer, operation timer, admin
//! router and shutdown guard out. One job per file: `builder.rs` wires the
//! components from the configuration, `mod.rs` is the handle services keep
//! (what they instrument with, what the admin endpoints read), `guard.rs`
//! stops the admin listener and flushes, `error.rs` says why a start failed.

mod builder;
mod error;
mod guard;
mod render;
mod serve;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use prometheus::Registry;

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
    pub(super) log_export: crate::logs::LogExport,
    pub(super) health: crate::health::HealthRegistry,
    pub(super) log_stats: crate::logs::LogStats,
    pub(super) log_control: std::sync::Arc<crate::logs::LogControl>,
    pub(super) access_log: Option<&'static crate::http::AccessLog>,
    pub(super) security: crate::logs::SecurityEvents,
    /// The admin principals in force.
    pub(super) principals: crate::admin::principals::Principals,
    /// Re-reads `REDLINE_ADMIN_PRINCIPALS_FILE`; stops when dropped.
    #[cfg(feature = "config-file")]
    pub(super) _principals_watch: Option<crate::admin::principals::Watcher>,
    pub(super) errors: &'static crate::errors::ErrorTracker,
    #[cfg(feature = "rate-limit")]
    pub(super) rate_limiter: Option<crate::security::rate_limit::RateLimiter>,
    pub(super) server: crate::server::ServerMetrics,
    pub(super) caches: crate::metrics::CacheMetrics,
    pub(super) redactor: crate::redact::Redactor,
    pub(super) build_info: BuildInfo,
    pub(super) started: std::time::SystemTime,
    /// The status page's state, unless `REDLINE_STATUS_PAGE=false`.
    pub(super) status: Option<crate::admin::status::StatusState>,
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

    /// The metrics of the service's own caches (hits, misses, evictions,
    /// entries, load time), per named cache.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let sessions = t.caches().cache("sessions");
    /// sessions.hit();
    /// assert!(t.render_metrics().contains(r#"redline_cache_requests_total{cache="sessions",result="hit"} 1"#));
    /// ```
    pub fn caches(&self) -> &crate::metrics::CacheMetrics {
        &self.inner.caches
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
    /// file through a non-blocking buffer, the same records over OTLP with
    /// `OTEL_LOGS_EXPORTER=otlp`, log statistics, and `tracing` spans into
    /// the trace pipeline). Call once, early; lines still buffered are
    /// flushed when the last `Telemetry` clone drops, or at
    /// [`Telemetry::flush_logs`].
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
            self.inner.log_export.sink(),
        )?;
        self.watch_log_file();
        Ok(())
    }

    /// Records `sys_monitor_disabled` when the log file's writes start
    /// failing (its lines are lost, audit lines included) and
    /// `sys_monitor_enabled` when they work again.
    fn watch_log_file(&self) {
        let Some(file) = self.inner.log_stats.file() else {
            return;
        };
        let security = self.inner.security.clone();
        file.on_outage(std::sync::Arc::new(move |failing| {
            use crate::logs::SecurityEvent;
            let (event, detail) = if failing {
                (
                    SecurityEvent::SysMonitorDisabled,
                    "log file writes fail: its lines are lost (and counted) until they work again",
                )
            } else {
                (
                    SecurityEvent::SysMonitorEnabled,
                    "log file writes work again",
                )
            };
            security.record(event, "redline", detail);
        }));
    }

    /// redline's logging as a [`Layer`](tracing_subscriber::Layer) for a
    /// subscriber you build: the JSON-lines outputs of the configuration
    /// (`REDLINE_LOG_OUTPUT`, redacted, with request and trace ids), the
    /// same records over OTLP when `OTEL_LOGS_EXPORTER=otlp` (see
    /// [`crate::logs::otlp`]), the log statistics, and `tracing` spans into
    /// the trace pipeline when traces are enabled, all behind redline's
    /// filter (`REDLINE_LOG` with the audit floor). That filter is
    /// per-layer: it decides what redline writes and nothing of what your
    /// other layers see. It changes with
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
    /// assert_eq!(t.log_filter().as_deref(), Some("warn,redline::security=info"));
    /// assert_eq!(t.log_stats().snapshot().events["INFO"], 0);
    /// ```
    pub fn logging_layer<S>(&self) -> Result<crate::logs::LogLayer<S>, crate::logs::LogError>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let layer = crate::logs::build_layer(
            &self.inner.config.logs,
            &self.inner.log_stats,
            &self.inner.log_control,
            self.inner.tracing.tracer().cloned(),
            &self.inner.redactor,
            self.inner.log_export.sink(),
        )?;
        self.watch_log_file();
        Ok(layer)
    }

    /// Changes the log filter at run time (`warn`, `info,redline=debug`) of
    /// redline's logging layer, whether [`Telemetry::install_logging`]
    /// installed it or it was added to your subscriber
    /// ([`Telemetry::logging_layer`]). The audit floor
    /// (`redline::security=info`) is appended unless named.
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
    /// their writer threads, then exports the OTLP log records still
    /// queued and stops that pipeline (within
    /// `REDLINE_TRACES_SHUTDOWN_TIMEOUT`, even with the collector down);
    /// call last, at shutdown (later lines and records are counted as
    /// dropped). Blocking: from async code call it through
    /// `spawn_blocking`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.flush_logs(); // nothing installed: nothing to do
    /// ```
    pub fn flush_logs(&self) {
        self.inner.log_control.flush();
        self.inner.log_export.shutdown();
    }

    /// The OTLP log pipeline (`OTEL_LOGS_EXPORTER=otlp`): whether it
    /// exports, where, flush and shutdown.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(!t.log_export().is_exporting());
    /// ```
    pub fn log_export(&self) -> &crate::logs::LogExport {
        &self.inner.log_export
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

    /// Status page sessions kept now (at most 1024), `None` with the page
    /// off (`REDLINE_STATUS_PAGE=false`).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.status_sessions(), Some(0));
    /// ```
    pub fn status_sessions(&self) -> Option<usize> {
        self.inner.status.as_ref().map(|s| s.sessions.len())
    }

    /// The whole service over about the last `window` (a multiple of the
    /// history's 5-second step), from the status page's history: request
    /// rate, error ratio, p95, requests in flight, the busiest route. `None`
    /// with the page off, or until the history has two snapshots (it starts
    /// with the admin router).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.status_summary(std::time::Duration::from_secs(10)), None);
    /// ```
    pub fn status_summary(&self, window: std::time::Duration) -> Option<crate::status::Summary> {
        let status = self.inner.status.as_ref()?;
        let window_ms = window.as_millis().min(u128::from(u64::MAX)) as u64;
        status
            .history
            .read(|ring| crate::status::summary::summarize(ring, window_ms))
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
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}
