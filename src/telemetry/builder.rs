//! [`TelemetryBuilder`]: builds every component from the configuration and
//! wires them together.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use prometheus::{IntCounterVec, Opts, Registry};

use super::{Error, Inner, Telemetry};
use crate::config::{Config, UrlScheme};
use crate::http::HttpMetrics;
#[cfg(feature = "system")]
use crate::metrics::system;
use crate::metrics::{BuildInfo, OVERFLOW_METRIC, OperationTimer, build_info};
use crate::traces::Tracing;

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
    status_panel: Option<Arc<dyn crate::status::StatusPanel>>,
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

    /// Puts `panel`'s controls on the status page, for operators (the
    /// demo's fault injection). See [`crate::status::StatusPanel`].
    ///
    /// ```
    /// use redline::status::{PanelField, StatusPanel};
    /// struct Nothing;
    /// impl StatusPanel for Nothing {
    ///     fn title(&self) -> String { "Nothing".into() }
    ///     fn fields(&self) -> Vec<PanelField> { Vec::new() }
    ///     fn apply(&self, _: &str, _: f64) -> Result<(), String> { Err("no fields".into()) }
    /// }
    /// let t = redline::Telemetry::builder().status_panel(Nothing).build().unwrap();
    /// # let _ = t;
    /// ```
    pub fn status_panel(mut self, panel: impl crate::status::StatusPanel) -> Self {
        self.status_panel = Some(Arc::new(panel));
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
        // One resource for every signal.
        let resource = crate::traces::resource(crate::traces::ResourceIdentity {
            service_name: &config.service_name,
            attributes: &config.resource_attributes,
        });
        let tracing = Tracing::new(
            &config.traces,
            resource.clone(),
            &registry,
            redactor.clone(),
        )?;
        let log_export = crate::logs::LogExport::new(
            &config.log_export,
            config.traces.enabled,
            resource,
            &registry,
            config.traces.shutdown_timeout,
        )?;
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
        #[cfg(all(feature = "system", target_os = "linux"))]
        if config.process_metrics {
            registry.register(Box::new(crate::metrics::process::ProcessCollector::new()))?;
        }
        #[cfg(feature = "system")]
        if config.system_metrics {
            registry.register(Box::new(system::SystemCollector::new(
                config.system_metrics_interval,
            )))?;
        }
        config.slo.register(&registry)?;
        let caches = crate::metrics::CacheMetrics::register(
            &registry,
            &config.operation_duration_buckets,
            overflow.with_label_values(&[crate::metrics::cache::REQUESTS]),
        )?;
        build_info::register(
            &registry,
            &build,
            &config.service_name,
            &config.resource_attributes,
        )?;
        let health = crate::health::HealthRegistry::new();
        registry.register(Box::new(health.clone()))?;
        let access_log = crate::http::AccessLog::new(&config.logs).map(crate::leak::leak);
        let security = crate::logs::SecurityEvents::register(&registry)?;
        let principals = crate::admin::principals::Principals::register(
            &registry,
            crate::admin::principals::in_force(
                config.admin_token.as_ref(),
                config.admin_principals.as_ref(),
            )?,
        )?;
        #[cfg(feature = "config-file")]
        let principals_watch = config.admin_principals.as_ref().and_then(|file| {
            crate::admin::principals::Watcher::start(
                file,
                config.admin_token.clone(),
                principals.clone(),
            )
        });
        #[cfg(feature = "rate-limit")]
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
        let errors: &'static crate::errors::ErrorTracker = crate::leak::leak(errors);
        let log_stats = crate::logs::LogStats::new();
        registry.register(Box::new(log_stats.clone()))?;
        #[cfg_attr(not(feature = "tls"), allow(unused_mut))]
        let mut server = crate::server::ServerMetrics::register(&registry)?;
        #[cfg(feature = "tls")]
        load_tls(&config, &registry, &mut server)?;
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
        // A full log volume loses lines (counted): say so before it is full.
        #[cfg(feature = "system")]
        if matches!(
            config.logs.output,
            crate::logs::LogOutput::File | crate::logs::LogOutput::Both
        ) {
            let dir = config
                .logs
                .file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
            health.register(
                "logs:disk",
                crate::health::CheckOptions::readiness()
                    .critical(false)
                    .component("logs", "system"),
                crate::health::checks::disk_free(dir, 0.10, 0.02),
            );
        }
        let status = config.status.enabled.then(|| {
            http.inner.recent.enable();
            let gather = registry.clone();
            crate::admin::status::StatusState::new(
                config.status.clone(),
                crate::status::history::History::new(Arc::new(move || gather.gather())),
                &http.inner.recent,
                self.status_panel,
                config.admin_tls.is_some(),
            )
        });
        Ok(Telemetry {
            inner: Arc::new(Inner {
                status,
                last_render: AtomicUsize::new(64 * 1024),
                config,
                registry,
                http,
                operations,
                tracing,
                log_export,
                health,
                log_stats,
                log_control: std::sync::Arc::default(),
                access_log,
                security,
                principals,
                #[cfg(feature = "config-file")]
                _principals_watch: principals_watch,
                errors,
                #[cfg(feature = "rate-limit")]
                rate_limiter,
                server,
                caches,
                redactor,
                build_info: build,
                started: std::time::SystemTime::now(),
            }),
        })
    }
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder").finish_non_exhaustive()
    }
}

/// Reads and checks the listeners' certificates: a start-up error when one
/// is missing, unreadable, expired or not its key's.
#[cfg(feature = "tls")]
fn load_tls(
    config: &Config,
    registry: &Registry,
    server: &mut crate::server::ServerMetrics,
) -> Result<(), Error> {
    use crate::server::Listener;
    if config.tls.is_none() && config.admin_tls.is_none() {
        return Ok(());
    }
    let metrics = crate::tls::TlsMetrics::register(registry)?;
    let listeners = [
        (Listener::Admin, &config.admin_tls, crate::tls::ADMIN_VARS),
        (Listener::Api, &config.tls, crate::tls::API_VARS),
    ];
    for (listener, files, vars) in listeners {
        if let Some(files) = files {
            let tls = crate::tls::ServerTls::load(files, vars, metrics.listener(listener.label()))?;
            server.set_tls(listener, tls);
        }
    }
    Ok(())
}
