//! The registry of named async checks, their cached results, and the
//! service's lifecycle (starting, ready, draining).
//!
//! One concern kept whole (just over 500 lines): running checks with their
//! cache, timeouts and probe storms, and the lifecycle they answer with;
//! what a check is lives in `check.rs`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use crate::metrics::proto;

use super::check::{CheckOptions, CheckOutcome, CheckResult, HealthCheck, Probe, Status};

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
