//! The registry of named async checks, their cached results, and the
//! service's lifecycle (starting, ready, draining).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use crate::metrics::proto;

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
    fn gauge(self) -> f64 {
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

struct Entry {
    name: String,
    options: CheckOptions,
    check: Arc<dyn HealthCheck>,
    /// Held while the check runs, so concurrent probes share one run.
    running: tokio::sync::Mutex<()>,
    last: Mutex<Option<(Instant, CheckOutcome)>>,
    runs: std::sync::atomic::AtomicU64,
}

struct Inner {
    checks: RwLock<Vec<Arc<Entry>>>,
    /// Startup work not yet finished.
    pending_startup: AtomicUsize,
    started: AtomicBool,
    draining: AtomicBool,
    descs: Vec<Desc>,
}

/// The health checks of a service and its lifecycle. Cheap to clone.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use redline::health::{CheckOptions, CheckResult, HealthRegistry, Status};
/// let health = HealthRegistry::new();
/// health.register("db:connection", CheckOptions::readiness(), || async { CheckResult::pass() });
/// health.mark_started();
/// assert_eq!(health.readiness().await.status, Status::Pass);
/// health.begin_drain(); // SIGTERM: not ready any more, still alive
/// assert_eq!(health.readiness().await.status, Status::Fail);
/// assert_eq!(health.liveness().await.status, Status::Pass);
/// # });
/// ```
#[derive(Clone)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

impl Default for HealthRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of evaluating a probe.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let health = redline::health::HealthRegistry::new();
/// health.mark_started();
/// let report = health.health().await;
/// assert!(report.checks.is_empty());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// The overall status.
    pub status: Status,
    /// Every check that counted, in registration order.
    pub checks: Vec<CheckOutcome>,
    /// Why the status is what it is when the lifecycle decided it
    /// (`starting`, `draining`).
    pub lifecycle: Option<&'static str>,
}

impl HealthRegistry {
    /// An empty registry. The service counts as started (ready) until
    /// startup work is registered with [`HealthRegistry::startup_task`].
    ///
    /// ```
    /// let health = redline::health::HealthRegistry::new();
    /// assert!(health.is_started());
    /// ```
    pub fn new() -> Self {
        let descs = vec![
            proto::desc(
                STATUS,
                "Last result of a health check: 1 pass, 0.5 warn, 0 fail.",
                &["check"],
            ),
            proto::desc(
                DURATION,
                "Duration of the last run of a health check.",
                &["check"],
            ),
            proto::desc(
                RUNS,
                "Runs of a health check (cached results are not runs).",
                &["check"],
            ),
            proto::desc(READY, "1 when the service reports ready, else 0.", &[]),
        ];
        Self {
            inner: Arc::new(Inner {
                checks: RwLock::new(Vec::new()),
                pending_startup: AtomicUsize::new(0),
                started: AtomicBool::new(true),
                draining: AtomicBool::new(false),
                descs,
            }),
        }
    }

    /// Adds a check named `component:measurement` (`db:responseTime`,
    /// `memory:utilization`). A name registered again replaces the check.
    /// At most 64 checks; names longer than 64 bytes are cut.
    ///
    /// ```
    /// use redline::health::{CheckOptions, CheckResult, HealthRegistry};
    /// let health = HealthRegistry::new();
    /// health.register("cache:ping", CheckOptions::readiness().critical(false), || async {
    ///     CheckResult::warn("slow")
    /// });
    /// assert_eq!(health.names(), vec!["cache:ping".to_string()]);
    /// ```
    pub fn register(&self, name: &str, options: CheckOptions, check: impl HealthCheck) {
        let mut name = name.to_owned();
        if name.len() > 64 {
            let mut end = 64;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
        }
        let entry = Arc::new(Entry {
            name: name.clone(),
            options,
            check: Arc::new(check),
            running: tokio::sync::Mutex::new(()),
            last: Mutex::new(None),
            runs: std::sync::atomic::AtomicU64::new(0),
        });
        let mut checks = self
            .inner
            .checks
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = checks.iter_mut().find(|e| e.name == name) {
            *existing = entry;
        } else if checks.len() < MAX_CHECKS {
            checks.push(entry);
        }
    }

    /// Names of the registered checks.
    ///
    /// ```
    /// assert!(redline::health::HealthRegistry::new().names().is_empty());
    /// ```
    pub fn names(&self) -> Vec<String> {
        self.entries().iter().map(|e| e.name.clone()).collect()
    }

    /// Registers startup work: the service is not ready until every
    /// returned guard is dropped (or [`StartupGuard::done`] is called).
    ///
    /// ```
    /// let health = redline::health::HealthRegistry::new();
    /// let warmup = health.startup_task();
    /// assert!(!health.is_started());
    /// warmup.done();
    /// assert!(health.is_started());
    /// ```
    pub fn startup_task(&self) -> StartupGuard {
        self.inner.pending_startup.fetch_add(1, Ordering::SeqCst);
        self.inner.started.store(false, Ordering::SeqCst);
        StartupGuard {
            inner: Some(self.inner.clone()),
        }
    }

    /// Marks startup as finished even if startup guards are alive.
    ///
    /// ```
    /// let health = redline::health::HealthRegistry::new();
    /// let _forgotten = health.startup_task();
    /// health.mark_started();
    /// assert!(health.is_started());
    /// ```
    pub fn mark_started(&self) {
        self.inner.started.store(true, Ordering::SeqCst);
    }

    /// Whether startup work is finished.
    ///
    /// ```
    /// assert!(redline::health::HealthRegistry::new().is_started());
    /// ```
    pub fn is_started(&self) -> bool {
        self.inner.started.load(Ordering::SeqCst)
    }

    /// Starts draining: readiness fails from now on (so load balancers stop
    /// sending traffic) while liveness is unaffected. Call on SIGTERM,
    /// before stopping the server.
    ///
    /// ```
    /// let health = redline::health::HealthRegistry::new();
    /// health.begin_drain();
    /// assert!(health.is_draining());
    /// ```
    pub fn begin_drain(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the service is draining.
    ///
    /// ```
    /// assert!(!redline::health::HealthRegistry::new().is_draining());
    /// ```
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Evaluates `/alive`: the liveness checks only.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let health = redline::health::HealthRegistry::new();
    /// assert_eq!(health.liveness().await.status, redline::health::Status::Pass);
    /// # });
    /// ```
    pub async fn liveness(&self) -> HealthReport {
        let outcomes = self.run(|p| p.counts_for_liveness()).await;
        report(outcomes, None)
    }

    /// Evaluates `/ready`: lifecycle first (starting or draining fails),
    /// then the readiness checks.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let health = redline::health::HealthRegistry::new();
    /// let _loading = health.startup_task();
    /// let r = health.readiness().await;
    /// assert_eq!((r.status, r.lifecycle), (redline::health::Status::Fail, Some("starting")));
    /// # });
    /// ```
    pub async fn readiness(&self) -> HealthReport {
        if let Some(state) = self.lifecycle_block() {
            return HealthReport {
                status: Status::Fail,
                checks: Vec::new(),
                lifecycle: Some(state),
            };
        }
        let outcomes = self.run(|p| p.counts_for_readiness()).await;
        report(outcomes, None)
    }

    /// Evaluates `/health`: every check, and the lifecycle.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use redline::health::{CheckOptions, CheckResult, HealthRegistry, Status};
    /// let health = HealthRegistry::new();
    /// health.register("disk:free", CheckOptions::liveness().critical(false), || async {
    ///     CheckResult::fail("95% used")
    /// });
    /// assert_eq!(health.health().await.status, Status::Warn);
    /// # });
    /// ```
    pub async fn health(&self) -> HealthReport {
        let outcomes = self.run(|_| true).await;
        report(outcomes, self.lifecycle_block())
    }

    fn lifecycle_block(&self) -> Option<&'static str> {
        if self.is_draining() {
            Some("draining")
        } else if !self.is_started() {
            Some("starting")
        } else {
            None
        }
    }

    fn entries(&self) -> Vec<Arc<Entry>> {
        self.inner
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs the selected checks concurrently; each is bounded by its
    /// timeout, so the whole evaluation is bounded by the largest one.
    async fn run(&self, select: impl Fn(Probe) -> bool) -> Vec<CheckOutcome> {
        let selected: Vec<Arc<Entry>> = self
            .entries()
            .into_iter()
            .filter(|e| select(e.options.probe))
            .collect();
        let mut set = tokio::task::JoinSet::new();
        for (i, entry) in selected.iter().cloned().enumerate() {
            set.spawn(async move { (i, evaluate(&entry).await) });
        }
        let mut outcomes: Vec<Option<CheckOutcome>> = vec![None; selected.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, outcome)) = joined {
                outcomes[i] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .zip(selected)
            .map(|(o, e)| {
                // `evaluate` cannot panic (the check runs in its own task);
                // this is the belt to those braces.
                o.unwrap_or_else(|| failed(&e, "check could not be run", Duration::ZERO))
            })
            .collect()
    }

    /// How many times the check named `name` actually ran (cache hits and
    /// shared runs excluded).
    ///
    /// ```
    /// assert_eq!(redline::health::HealthRegistry::new().runs("none"), 0);
    /// ```
    pub fn runs(&self, name: &str) -> u64 {
        self.entries()
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.runs.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Whether `/ready` currently passes, from the lifecycle and the cached
    /// results (never runs checks; for the `redline_ready` gauge).
    fn ready_now(&self) -> bool {
        if self.lifecycle_block().is_some() {
            return false;
        }
        self.entries()
            .iter()
            .filter(|e| e.options.probe.counts_for_readiness())
            .all(|e| {
                let last = e.last.lock().unwrap_or_else(PoisonError::into_inner);
                last.as_ref()
                    .is_none_or(|(_, o)| o.effective != Status::Fail)
            })
    }
}

/// Most checks a registry holds (each has a metric label).
const MAX_CHECKS: usize = 64;

pub(crate) const STATUS: &str = "redline_health_check_status";
pub(crate) const DURATION: &str = "redline_health_check_duration_seconds";
pub(crate) const RUNS: &str = "redline_health_check_runs_total";
pub(crate) const READY: &str = "redline_ready";

fn report(checks: Vec<CheckOutcome>, lifecycle: Option<&'static str>) -> HealthReport {
    let worst = checks
        .iter()
        .map(|c| c.effective)
        .max()
        .unwrap_or(Status::Pass);
    let status = if lifecycle.is_some() {
        Status::Fail
    } else {
        worst
    };
    HealthReport {
        status,
        checks,
        lifecycle,
    }
}

fn failed(entry: &Entry, why: &str, duration: Duration) -> CheckOutcome {
    let result = CheckResult::fail(why);
    CheckOutcome {
        name: entry.name.clone(),
        effective: effective(&entry.options, result.status),
        result,
        time: SystemTime::now(),
        duration,
        options: entry.options.clone(),
    }
}

fn effective(options: &CheckOptions, status: Status) -> Status {
    if status == Status::Fail && !options.critical {
        Status::Warn
    } else {
        status
    }
}

fn fresh(entry: &Entry) -> Option<CheckOutcome> {
    let last = entry.last.lock().unwrap_or_else(PoisonError::into_inner);
    match last.as_ref() {
        Some((at, outcome)) if at.elapsed() < entry.options.cache_for => Some(outcome.clone()),
        _ => None,
    }
}

/// The check's result: cached if fresh, else one run shared by every
/// concurrent caller, bounded by the timeout.
async fn evaluate(entry: &Arc<Entry>) -> CheckOutcome {
    if let Some(cached) = fresh(entry) {
        return cached;
    }
    let started = Instant::now();
    let timeout = entry.options.timeout;
    // Waiting for a run in progress is bounded by the same timeout.
    let Ok(_running) = tokio::time::timeout(timeout, entry.running.lock()).await else {
        return failed(
            entry,
            &format!("timed out after {timeout:?}"),
            started.elapsed(),
        );
    };
    // Someone else's run may have just finished.
    if let Some(cached) = fresh(entry)
        && entry.options.cache_for > Duration::ZERO
    {
        return cached;
    }
    let mut task = tokio::spawn(entry.check.run());
    let result =
        match tokio::time::timeout(timeout.saturating_sub(started.elapsed()), &mut task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) if join.is_panic() => CheckResult::fail("check panicked"),
            Ok(Err(_)) => CheckResult::fail("check was cancelled"),
            Err(_) => {
                task.abort();
                CheckResult::fail(format!("timed out after {timeout:?}"))
            }
        };
    entry.runs.fetch_add(1, Ordering::Relaxed);
    let outcome = CheckOutcome {
        name: entry.name.clone(),
        effective: effective(&entry.options, result.status),
        result,
        time: SystemTime::now(),
        duration: started.elapsed(),
        options: entry.options.clone(),
    };
    *entry.last.lock().unwrap_or_else(PoisonError::into_inner) =
        Some((Instant::now(), outcome.clone()));
    outcome
}

/// Startup work in progress (see [`HealthRegistry::startup_task`]).
///
/// ```
/// let health = redline::health::HealthRegistry::new();
/// let a = health.startup_task();
/// let b = health.startup_task();
/// drop(a);
/// assert!(!health.is_started());
/// drop(b);
/// assert!(health.is_started());
/// ```
#[must_use = "the service becomes ready when the guard is dropped"]
pub struct StartupGuard {
    inner: Option<Arc<Inner>>,
}

impl StartupGuard {
    /// Marks this piece of startup work finished.
    ///
    /// ```
    /// let health = redline::health::HealthRegistry::new();
    /// health.startup_task().done();
    /// assert!(health.is_started());
    /// ```
    pub fn done(self) {}
}

impl Drop for StartupGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && inner.pending_startup.fetch_sub(1, Ordering::SeqCst) == 1
        {
            inner.started.store(true, Ordering::SeqCst);
        }
    }
}

impl Collector for HealthRegistry {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let help = |i: usize| self.inner.descs[i].help.as_str();
        let mut status = proto::family(STATUS, help(0), MetricType::GAUGE);
        let mut duration = proto::family(DURATION, help(1), MetricType::GAUGE);
        let mut runs = proto::family(RUNS, help(2), MetricType::COUNTER);
        let (mut s, mut d, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for entry in self.entries() {
            let labels = proto::labels(&[("check", &entry.name)]);
            let last = entry
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map(|(_, o)| (o.result.status, o.duration));
            if let Some((st, took)) = last {
                s.push(proto::gauge(labels.clone(), st.gauge()));
                d.push(proto::gauge(labels.clone(), took.as_secs_f64()));
            }
            r.push(proto::counter(
                labels,
                entry.runs.load(Ordering::Relaxed) as f64,
            ));
        }
        status.set_metric(s);
        duration.set_metric(d);
        runs.set_metric(r);
        let mut ready = proto::family(READY, help(3), MetricType::GAUGE);
        ready.set_metric(vec![proto::gauge(
            Vec::new(),
            if self.ready_now() { 1.0 } else { 0.0 },
        )]);
        vec![status, duration, runs, ready]
    }
}

impl std::fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthRegistry").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StartupGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartupGuard").finish_non_exhaustive()
    }
}
