//! What a check is and what it says: [`HealthCheck`], its options (which
//! probes it counts for, critical or not, timeout, cache), its result and
//! the status scale. The registry that runs checks is `registry.rs`.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

/// Outcome of one check, as the health draft names it.
///
/// ```
/// use redline::health::Status;
/// assert_eq!(Status::Warn.as_str(), "warn");
/// assert!(Status::Fail > Status::Warn && Status::Warn > Status::Pass);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy with a concern (a non-critical check failed, or a check is
    /// near its threshold).
    Warn,
    /// Unhealthy.
    Fail,
}

impl Status {
    /// `pass`, `warn` or `fail`.
    ///
    /// ```
    /// assert_eq!(redline::health::Status::Pass.as_str(), "pass");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }

    /// The value of `redline_health_check_status`: 1 pass, 0.5 warn, 0 fail.
    pub(super) fn gauge(self) -> f64 {
        match self {
            Status::Pass => 1.0,
            Status::Warn => 0.5,
            Status::Fail => 0.0,
        }
    }
}

/// What a check reports.
///
/// ```
/// use redline::health::{CheckResult, Status};
/// let r = CheckResult::pass().observed(42.0, "ms").output("connected");
/// assert_eq!(r.status, Status::Pass);
/// assert_eq!(r.observed_unit.as_deref(), Some("ms"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// The outcome.
    pub status: Status,
    /// The measured value (`observedValue`).
    pub observed_value: Option<f64>,
    /// Its unit (`observedUnit`): `percent`, `ms`, `bytes`…
    pub observed_unit: Option<String>,
    /// A human-readable explanation (`output`), mostly for warn and fail.
    pub output: Option<String>,
}

impl CheckResult {
    /// A passing result.
    ///
    /// ```
    /// assert_eq!(redline::health::CheckResult::pass().status, redline::health::Status::Pass);
    /// ```
    pub fn pass() -> Self {
        Self::with_status(Status::Pass)
    }

    /// A warning with an explanation.
    ///
    /// ```
    /// let r = redline::health::CheckResult::warn("slow");
    /// assert_eq!(r.output.as_deref(), Some("slow"));
    /// ```
    pub fn warn(output: impl Into<String>) -> Self {
        Self::with_status(Status::Warn).output(output)
    }

    /// A failure with an explanation.
    ///
    /// ```
    /// let r = redline::health::CheckResult::fail("connection refused");
    /// assert_eq!(r.status, redline::health::Status::Fail);
    /// ```
    pub fn fail(output: impl Into<String>) -> Self {
        Self::with_status(Status::Fail).output(output)
    }

    /// A result with `status` and nothing else.
    ///
    /// ```
    /// use redline::health::{CheckResult, Status};
    /// assert_eq!(CheckResult::with_status(Status::Warn).status, Status::Warn);
    /// ```
    pub fn with_status(status: Status) -> Self {
        Self {
            status,
            observed_value: None,
            observed_unit: None,
            output: None,
        }
    }

    /// Adds the observed value and unit.
    ///
    /// ```
    /// let r = redline::health::CheckResult::pass().observed(0.4, "percent");
    /// assert_eq!(r.observed_value, Some(0.4));
    /// ```
    pub fn observed(mut self, value: f64, unit: impl Into<String>) -> Self {
        self.observed_value = Some(value);
        self.observed_unit = Some(unit.into());
        self
    }

    /// Adds the explanation.
    ///
    /// ```
    /// let r = redline::health::CheckResult::pass().output("ok");
    /// assert_eq!(r.output.as_deref(), Some("ok"));
    /// ```
    pub fn output(mut self, text: impl Into<String>) -> Self {
        self.output = Some(text.into());
        self
    }
}

/// Which probes a check counts for.
///
/// ```
/// use redline::health::Probe;
/// assert!(Probe::Both.counts_for_readiness() && Probe::Both.counts_for_liveness());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/alive` (and `/health`). Only checks of the process itself belong
    /// here: liveness must never depend on an external system, or an
    /// outage of a dependency restarts every replica.
    Liveness,
    /// `/ready` (and `/health`): dependencies the service needs to serve.
    Readiness,
    /// Both.
    Both,
}

impl Probe {
    /// Whether the check counts for `/ready`.
    ///
    /// ```
    /// assert!(!redline::health::Probe::Liveness.counts_for_readiness());
    /// ```
    pub fn counts_for_readiness(self) -> bool {
        matches!(self, Probe::Readiness | Probe::Both)
    }

    /// Whether the check counts for `/alive`.
    ///
    /// ```
    /// assert!(!redline::health::Probe::Readiness.counts_for_liveness());
    /// ```
    pub fn counts_for_liveness(self) -> bool {
        matches!(self, Probe::Liveness | Probe::Both)
    }
}

/// How a check is run and judged.
///
/// ```
/// use std::time::Duration;
/// let o = redline::health::CheckOptions::readiness()
///     .critical(false)
///     .timeout(Duration::from_millis(500))
///     .cache_for(Duration::from_secs(10));
/// assert!(!o.critical);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    /// Which probes it counts for.
    pub probe: Probe,
    /// `true`: its failure fails the probe (503). `false`: its failure
    /// only turns the status to `warn`.
    pub critical: bool,
    /// A run that takes longer is reported failed at this point.
    pub timeout: Duration,
    /// Results are reused this long, so a storm of probes does not hammer
    /// the dependency. `Duration::ZERO` runs the check on every probe
    /// (concurrent probes still share one run).
    pub cache_for: Duration,
    /// `componentId` in the health document.
    pub component_id: Option<String>,
    /// `componentType` (`datastore`, `system`, `component`…).
    pub component_type: Option<String>,
}

impl CheckOptions {
    /// A critical readiness check: 2 s timeout, results cached 5 s.
    ///
    /// ```
    /// let o = redline::health::CheckOptions::readiness();
    /// assert!(o.critical && o.probe == redline::health::Probe::Readiness);
    /// ```
    pub fn readiness() -> Self {
        Self {
            probe: Probe::Readiness,
            critical: true,
            timeout: Duration::from_secs(2),
            cache_for: Duration::from_secs(5),
            component_id: None,
            component_type: None,
        }
    }

    /// A critical liveness check (same defaults).
    ///
    /// ```
    /// let o = redline::health::CheckOptions::liveness();
    /// assert_eq!(o.probe, redline::health::Probe::Liveness);
    /// ```
    pub fn liveness() -> Self {
        Self {
            probe: Probe::Liveness,
            ..Self::readiness()
        }
    }

    /// Sets whether a failure fails the probe.
    ///
    /// ```
    /// assert!(!redline::health::CheckOptions::readiness().critical(false).critical);
    /// ```
    pub fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// Sets the probes it counts for.
    ///
    /// ```
    /// use redline::health::{CheckOptions, Probe};
    /// assert_eq!(CheckOptions::readiness().probe(Probe::Both).probe, Probe::Both);
    /// ```
    pub fn probe(mut self, probe: Probe) -> Self {
        self.probe = probe;
        self
    }

    /// Sets the timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = redline::health::CheckOptions::readiness().timeout(Duration::from_millis(100));
    /// assert_eq!(o.timeout, Duration::from_millis(100));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how long results are reused.
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = redline::health::CheckOptions::readiness().cache_for(Duration::ZERO);
    /// assert_eq!(o.cache_for, Duration::ZERO);
    /// ```
    pub fn cache_for(mut self, cache_for: Duration) -> Self {
        self.cache_for = cache_for;
        self
    }

    /// Sets `componentId` and `componentType`.
    ///
    /// ```
    /// let o = redline::health::CheckOptions::readiness().component("db-primary", "datastore");
    /// assert_eq!(o.component_type.as_deref(), Some("datastore"));
    /// ```
    pub fn component(mut self, id: impl Into<String>, kind: impl Into<String>) -> Self {
        self.component_id = Some(id.into());
        self.component_type = Some(kind.into());
        self
    }
}

/// The boxed future a check returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = CheckResult> + Send + 'static>>;

/// A health check: anything that can produce a [`CheckResult`] on demand.
///
/// Closures returning a future implement it:
///
/// ```
/// use redline::health::{CheckOptions, CheckResult, HealthRegistry};
/// let registry = HealthRegistry::new();
/// registry.register("queue:depth", CheckOptions::readiness(), || async {
///     CheckResult::pass().observed(3.0, "messages")
/// });
/// ```
pub trait HealthCheck: Send + Sync + 'static {
    /// Runs the check once.
    fn run(&self) -> CheckFuture;
}

impl<F, Fut> HealthCheck for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CheckResult> + Send + 'static,
{
    fn run(&self) -> CheckFuture {
        Box::pin(self())
    }
}

/// One completed run of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The check's name (`component:measurement`).
    pub name: String,
    /// What it reported (a timeout or panic becomes a failure).
    pub result: CheckResult,
    /// The status after applying `critical`: a failed non-critical check
    /// counts as `warn`.
    pub effective: Status,
    /// When it ran.
    pub time: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// The check's options.
    pub options: CheckOptions,
}
