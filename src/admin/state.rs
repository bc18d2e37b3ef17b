//! What the admin endpoints read and change, and nothing more: the handlers
//! take this, not the whole `Telemetry`, so the admin module does not
//! depend on the facade that builds it.

use std::ops::Deref;
use std::sync::Arc;
use std::time::SystemTime;

use crate::errors::ErrorTracker;
use crate::health::HealthRegistry;
use crate::logs::{LogConfig, LogControl, LogError, LogStats, SecurityEvents};
use crate::metrics::BuildInfo;
use crate::traces::Tracing;

/// Renders `/metrics` in the format an `Accept` header asks for: the body
/// and its content type.
pub(crate) type RenderMetrics = dyn Fn(Option<&str>) -> (String, &'static str) + Send + Sync;

/// The admin endpoints' state. Cheap to clone.
#[derive(Clone)]
pub(crate) struct AdminState(Arc<AdminParts>);

/// The parts of [`AdminState`].
pub(crate) struct AdminParts {
    /// The principals in force (`REDLINE_ADMIN_TOKEN`'s and those of
    /// `REDLINE_ADMIN_PRINCIPALS_FILE`).
    pub(crate) principals: super::principals::Principals,
    /// `REDLINE_METRICS_AUTH`: `/metrics` needs a viewer.
    pub(crate) metrics_auth: bool,
    /// The service's name, for `/health` and `/info`.
    pub(crate) service_name: String,
    /// The logging settings `/logs/info` reports.
    pub(crate) logs: LogConfig,
    /// What `/info` reports of the build.
    pub(crate) build_info: BuildInfo,
    /// When the service started.
    pub(crate) started: SystemTime,
    pub(crate) health: HealthRegistry,
    /// Where refused credentials and admin actions are recorded.
    pub(crate) security: SecurityEvents,
    pub(crate) errors: &'static ErrorTracker,
    pub(crate) log_stats: LogStats,
    /// The installed log filter, read and changed by `/logs/*`.
    pub(crate) log_control: Arc<LogControl>,
    /// The trace pipeline's mode, for `/info`.
    pub(crate) tracing: Tracing,
    pub(crate) render_metrics: Box<RenderMetrics>,
    /// Masks what the status page shows of checks' outputs.
    pub(crate) redactor: crate::redact::Redactor,
    /// The status page, unless `REDLINE_STATUS_PAGE=false`.
    pub(crate) status: Option<super::status::StatusState>,
}

impl AdminState {
    pub(crate) fn new(parts: AdminParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl Deref for AdminState {
    type Target = AdminParts;

    fn deref(&self) -> &AdminParts {
        &self.0
    }
}

impl AdminParts {
    /// The installed filter, if redline's logging is in use.
    pub(crate) fn log_filter(&self) -> Option<String> {
        let f = self.log_control.current_filter();
        (!f.is_empty()).then_some(f)
    }

    /// Installs a new filter (checked, with the audit floor).
    pub(crate) fn set_log_filter(&self, directives: &str) -> Result<(), LogError> {
        self.log_control.set_filter(directives)
    }
}
