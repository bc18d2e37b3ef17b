//! The tracker: groups keyed by fingerprint, least-recently-seen eviction,
//! per-minute rate buckets and the `redline_errors_*` metrics.
//!
//! Capturing formats, redacts and fingerprints outside the lock; the lock
//! covers only counter updates and map operations (O(log n) in the number
//! of groups). The report copies what it needs under the lock (samples are
//! shared `Arc`s) and formats after releasing it.
//!
//! One concern kept whole (just over 500 lines): capture, grouping,
//! eviction and reporting share the one lock and the group map; bounded
//! text is in `bounded.rs`, fingerprints in `fingerprint.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use foldhash::fast::RandomState;
use prometheus::core::Collector;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use super::bounded::{
    BoundedWriter, bound_input, drop_partial_token, escaped_bounded, redacted_bounded,
    truncate_chars,
};
use super::cause::{MAX_CHAIN, chain_from};
use super::fingerprint::{fingerprint, sanitize_kind};
use super::impact::{GroupImpact, ImpactInput, SKETCH_STD_ERROR, SeverityMap};
use super::report::{ErrorReport, GroupReport, Sample};
use super::{ErrorCategory, ErrorContext, ErrorTrackerConfig};
use crate::redact::{REDACTED, Redactor};
use crate::timefmt::rfc3339_millis;

/// Names of the tracker's metrics (see [`ErrorTracker::register`]).
pub(crate) const ERRORS_TOTAL: &str = "redline_errors_total";
pub(crate) const GROUPS: &str = "redline_error_groups";
pub(crate) const EVICTED: &str = "redline_error_groups_evicted_total";
pub(crate) const NEW_GROUPS: &str = "redline_error_groups_new_total";
pub(crate) const USERS_MAX: &str = "redline_error_group_users_affected_max";

/// Groups listed in each part of the report.
const TOP: usize = 20;
/// Longest sample message, in characters.
const MAX_MESSAGE_CHARS: usize = 1024;
/// Longest route and field value, in characters.
const MAX_ROUTE_CHARS: usize = 256;
const MAX_VALUE_CHARS: usize = 256;
/// Longest request or trace id, in characters.
const MAX_ID_CHARS: usize = 128;
/// Most fields, and longest field key, in a sample.
const MAX_FIELDS: usize = 16;
const MAX_KEY_CHARS: usize = 64;
/// Most bytes of an error message formatted and redacted: far more than
/// the sample keeps, so that redaction sees whole values, yet a bound on
/// the work of a capture whatever the error's `Display` writes.
const MAX_MESSAGE_INPUT: usize = 64 * 1024;
/// Longest rate window, in minutes (a day of buckets is 23 KiB).
const MAX_WINDOW_MINUTES: u64 = 24 * 60;

/// The clock of a tracker (injectable for tests).
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Groups errors by fingerprint and counts them; cheap to clone (clones
/// share the groups). See the [module documentation](super).
///
/// ```
/// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
///
/// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
/// let worker = tracker.clone(); // same groups
/// let error = "x".parse::<u32>().unwrap_err();
/// worker.capture(&error, ErrorContext::new(ErrorCategory::Validation).field("input", "x"));
/// assert_eq!(tracker.groups(), 1);
/// assert_eq!(tracker.report().top_by_count[0].kind, "core::num::error::ParseIntError");
/// ```
#[derive(Clone)]
pub struct ErrorTracker {
    inner: Arc<Inner>,
}

struct Inner {
    max_groups: usize,
    window_minutes: u64,
    severity: SeverityMap,
    redactor: Redactor,
    clock: Clock,
    state: Mutex<State>,
    metrics: Metrics,
}

struct State {
    groups: HashMap<Arc<str>, Group, RandomState>,
    /// Groups by the sequence number of their latest error: the first
    /// entry is the least recently seen group.
    recency: BTreeMap<u64, Arc<str>>,
    next_seq: u64,
    total: u64,
    evicted: u64,
    by_category: [u64; 8],
    /// Errors per minute, a ring indexed by minute modulo its length.
    buckets: Box<[Bucket]>,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    minute: u64,
    count: u64,
}

struct Group {
    kind: Arc<str>,
    category: ErrorCategory,
    count: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    /// Key of the group in `State::recency`.
    seq: u64,
    sample: Arc<Sample>,
    /// Users, per-minute history and root-cause hints.
    impact: GroupImpact,
}

struct Metrics {
    errors: IntCounterVec,
    /// The children of `errors`, in the order of `ErrorCategory::ALL`.
    by_category: [IntCounter; 8],
    groups: IntGauge,
    evicted: IntCounter,
    new_groups: IntCounter,
}

impl Metrics {
    fn new() -> Self {
        // Constant, valid names and labels: these cannot fail.
        let errors = IntCounterVec::new(
            Opts::new(
                ERRORS_TOTAL,
                "Errors captured by the error tracker, by category.",
            ),
            &["category"],
        )
        .expect("valid metric name");
        let by_category = ErrorCategory::ALL.map(|c| errors.with_label_values(&[c.as_str()]));
        let groups = IntGauge::new(GROUPS, "Error groups currently kept by the error tracker.")
            .expect("valid metric name");
        let evicted = IntCounter::new(
            EVICTED,
            "Error groups evicted (least recently seen first) to make room for new ones.",
        )
        .expect("valid metric name");
        let new_groups = IntCounter::new(
            NEW_GROUPS,
            "Error groups created: errors of a kind not seen before by this process.",
        )
        .expect("valid metric name");
        Self {
            errors,
            by_category,
            groups,
            evicted,
            new_groups,
        }
    }
}

/// `redline_error_group_users_affected_max`, computed when scraped: the
/// most users any group active in the last 5 minutes has reached.
struct UsersAffected {
    inner: Arc<Inner>,
    gauge: IntGauge,
}

impl Collector for UsersAffected {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.gauge.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let now = minute_of((self.inner.clock)());
        let most = {
            let st = self.inner.lock();
            st.groups
                .values()
                .filter(|g| now.saturating_sub(minute_of(g.last_seen)) < 5)
                .map(|g| g.impact.users())
                .max()
                .unwrap_or(0)
        };
        self.gauge.set(most.min(i64::MAX as u64) as i64);
        self.gauge.collect()
    }
}

impl ErrorTracker {
    /// A fresh handle on the `i`-th family, for (un)registering.
    fn collector(&self, i: usize) -> Box<dyn Collector> {
        let metrics = &self.inner.metrics;
        match i {
            0 => Box::new(metrics.errors.clone()),
            1 => Box::new(metrics.groups.clone()),
            2 => Box::new(metrics.evicted.clone()),
            3 => Box::new(metrics.new_groups.clone()),
            _ => Box::new(UsersAffected {
                inner: self.inner.clone(),
                gauge: IntGauge::new(
                    USERS_MAX,
                    "The most distinct users reached by one error group active in the last 5 minutes (estimated).",
                )
                .expect("valid metric name"),
            }),
        }
    }
}

/// What the report copies out of a group under the lock.
struct Snapshot {
    fingerprint: Arc<str>,
    kind: Arc<str>,
    category: ErrorCategory,
    count: u64,
    first_seen: SystemTime,
    last_seen: SystemTime,
    users: u64,
    severity: super::Severity,
    trend: super::Trend,
    recent: u64,
    hints: super::Hints,
    sample: Arc<Sample>,
}

/// A group's rank by impact, worst highest: severity, users, errors in the
/// last 5 minutes, count, then the most recently seen.
type ImpactKey = (super::Severity, u64, u64, u64, u64);

fn impact_key(g: &Group, now: u64, severity: &SeverityMap) -> ImpactKey {
    let users = g.impact.users();
    (
        severity.of(g.category, users),
        users,
        g.impact.recent(now),
        g.count,
        g.seq,
    )
}

impl Snapshot {
    fn new(fingerprint: &Arc<str>, g: &Group, now: u64, severity: &SeverityMap) -> Self {
        let users = g.impact.users();
        Self {
            fingerprint: fingerprint.clone(),
            kind: g.kind.clone(),
            category: g.category,
            count: g.count,
            first_seen: g.first_seen,
            last_seen: g.last_seen,
            users,
            severity: severity.of(g.category, users),
            trend: g.impact.trend(now, minute_of(g.first_seen)),
            recent: g.impact.recent(now),
            hints: g.impact.hints(),
            sample: g.sample.clone(),
        }
    }

    fn into_report(self) -> GroupReport {
        GroupReport {
            fingerprint: self.fingerprint.to_string(),
            kind: self.kind.to_string(),
            category: self.category,
            count: self.count,
            first_seen: rfc3339_millis(self.first_seen),
            last_seen: rfc3339_millis(self.last_seen),
            users_affected: self.users,
            severity: self.severity,
            trend: self.trend,
            recent: self.recent,
            hints: self.hints,
            sample: Sample::clone(&self.sample),
        }
    }
}

impl ErrorTracker {
    /// A tracker with no groups, whose metrics are not registered yet (see
    /// [`register`](Self::register)).
    ///
    /// ```
    /// use redline::errors::{ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig { max_groups: 50, ..Default::default() });
    /// assert_eq!((tracker.groups(), tracker.evicted()), (0, 0));
    /// ```
    pub fn new(config: ErrorTrackerConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemTime::now))
    }

    /// A tracker reading the time from `clock`.
    pub(crate) fn with_clock(config: ErrorTrackerConfig, clock: Clock) -> Self {
        let window_minutes = config
            .rate_window
            .as_secs()
            .div_ceil(60)
            .clamp(1, MAX_WINDOW_MINUTES);
        let metrics = Metrics::new();
        Self {
            inner: Arc::new(Inner {
                max_groups: config.max_groups.max(1),
                window_minutes,
                severity: config.severity,
                redactor: config.redactor,
                clock,
                state: Mutex::new(State {
                    groups: HashMap::default(),
                    recency: BTreeMap::new(),
                    next_seq: 0,
                    total: 0,
                    evicted: 0,
                    by_category: [0; 8],
                    buckets: vec![Bucket::default(); window_minutes as usize].into_boxed_slice(),
                }),
                metrics,
            }),
        }
    }

    /// Records `error`: its kind is its type name
    /// (`std::any::type_name::<E>()`), its message its `Display` text (at
    /// most 64 KiB of it is formatted).
    ///
    /// A `&dyn Error` has no useful type name (`dyn core::error::Error`):
    /// for those, pass a kind to [`capture_message`](Self::capture_message).
    ///
    /// ```
    /// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
    /// let error = std::io::Error::other("disk /dev/sda1 full");
    /// tracker.capture(&error, ErrorContext::new(ErrorCategory::Internal).request_id("req-9"));
    /// let group = &tracker.report().most_recent[0];
    /// assert_eq!(group.kind, "std::io::error::Error");
    /// assert_eq!(group.sample.request_id.as_deref(), Some("req-9"));
    /// ```
    pub fn capture<E: std::error::Error + ?Sized>(&self, error: &E, context: ErrorContext) {
        let mut message = BoundedWriter::new(MAX_MESSAGE_INPUT);
        // Formatting stops early (with an error) once the bound is hit; a
        // `Display` that fails on its own leaves what it wrote.
        let _ = write!(message, "{error}");
        let BoundedWriter { text, cut, .. } = message;
        let input = if cut {
            drop_partial_token(&text)
        } else {
            &text
        };
        let mut context = context;
        if context.chain.is_empty() {
            context.chain = chain_from(error.source());
        }
        self.record(std::any::type_name::<E>(), input, context);
    }

    /// Records an error given by kind and message, such as an HTTP 500
    /// response or a caught panic.
    ///
    /// ```
    /// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
    /// let context = ErrorContext::new(ErrorCategory::Http5xx).route("/orders/{id}");
    /// tracker.capture_message("http_500", "GET /orders/17 returned 500", context.clone());
    /// tracker.capture_message("http_500", "GET /orders/18 returned 500", context);
    /// let report = tracker.report();
    /// assert_eq!(report.groups, 1);
    /// assert_eq!(report.top_by_count[0].count, 2);
    /// assert_eq!(report.top_by_count[0].sample.message, "GET /orders/18 returned 500");
    /// ```
    pub fn capture_message(&self, kind: &str, message: &str, context: ErrorContext) {
        self.record(kind, bound_input(message, MAX_MESSAGE_INPUT), context);
    }

    fn record(&self, kind: &str, message: &str, context: ErrorContext) {
        let inner = &*self.inner;
        let redactor = &inner.redactor;

        // Everything that formats or allocates, before taking the lock.
        let mut redacted = redactor.redact(message).into_owned();
        let kind = sanitize_kind(kind);
        let key: Arc<str> = fingerprint(&kind, &redacted).into();
        truncate_chars(&mut redacted, MAX_MESSAGE_CHARS);
        let ErrorContext {
            category,
            route,
            request_id,
            trace_id,
            fields,
            user,
            cause,
            chain,
        } = context;
        let sample = Arc::new(Sample {
            message: redacted,
            route: route.map(|r| redacted_bounded(&r, redactor, MAX_ROUTE_CHARS)),
            // Client-chosen (`x-request-id`): masked like any other text.
            request_id: request_id.map(|id| redacted_bounded(&id, redactor, MAX_ID_CHARS)),
            trace_id: trace_id.map(|id| escaped_bounded(&id, MAX_ID_CHARS)),
            fields: fields
                .into_iter()
                .take(MAX_FIELDS)
                .map(|(k, v)| {
                    let k = escaped_bounded(&k, MAX_KEY_CHARS);
                    let v = if redactor.is_sensitive_key(&k) {
                        REDACTED.to_owned()
                    } else {
                        redacted_bounded(&v, redactor, MAX_VALUE_CHARS)
                    };
                    (k, v)
                })
                .collect(),
            cause: cause.map(|c| redacted_bounded(&c, redactor, MAX_MESSAGE_CHARS)),
            chain: chain
                .iter()
                .take(MAX_CHAIN)
                .map(|c| redacted_bounded(c, redactor, MAX_VALUE_CHARS))
                .collect(),
        });
        // The hints' values, from the sample (already redacted).
        let held = Arc::clone(&sample);
        let chain_hint = (!held.chain.is_empty()).then(|| held.chain.join(" <- "));
        let impact = ImpactInput {
            user,
            route: held.route.as_deref(),
            operation: held.fields.get("operation").map(String::as_str),
            chain: chain_hint.as_deref(),
        };
        let now = (inner.clock)();
        let minute = minute_of(now);

        // Dropped after the lock is released.
        let replaced_sample;
        let mut evicted_group = None;
        let mut state = inner.lock();
        let st = &mut *state;
        st.total += 1;
        st.by_category[category.index()] += 1;
        let slot = (minute % inner.window_minutes) as usize;
        let bucket = &mut st.buckets[slot];
        if bucket.minute < minute {
            *bucket = Bucket { minute, count: 1 };
        } else {
            // The same minute, or (a clock that went back) a later one.
            bucket.count += 1;
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        if let Some(group) = st.groups.get_mut(&*key) {
            group.impact.add(minute, &impact);
            group.count += 1;
            group.category = category;
            group.first_seen = group.first_seen.min(now);
            group.last_seen = group.last_seen.max(now);
            replaced_sample = Some(std::mem::replace(&mut group.sample, sample));
            if let Some(k) = st.recency.remove(&group.seq) {
                st.recency.insert(seq, k);
            }
            group.seq = seq;
        } else {
            replaced_sample = None;
            if st.groups.len() >= inner.max_groups
                && let Some((_, oldest)) = st.recency.pop_first()
            {
                evicted_group = st.groups.remove_entry(&oldest);
                st.evicted += 1;
                inner.metrics.evicted.inc();
            }
            st.recency.insert(seq, key.clone());
            let mut group_impact = GroupImpact::new();
            group_impact.add(minute, &impact);
            inner.metrics.new_groups.inc();
            st.groups.insert(
                key,
                Group {
                    kind: kind.into(),
                    category,
                    count: 1,
                    first_seen: now,
                    last_seen: now,
                    seq,
                    sample,
                    impact: group_impact,
                },
            );
        }
        inner.metrics.groups.set(st.groups.len() as i64);
        drop(state);
        inner.metrics.by_category[category.index()].inc();
        drop((replaced_sample, evicted_group));
    }

    /// A snapshot of totals, top groups and rate (the body of
    /// `GET /errors/report`, once serialized).
    ///
    /// ```
    /// use redline::errors::{ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
    /// tracker.capture_message("a", "first", ErrorContext::default());
    /// tracker.capture_message("b", "second", ErrorContext::default());
    /// tracker.capture_message("b", "second", ErrorContext::default());
    /// tracker.capture_message("a", "first", ErrorContext::default());
    /// let report = tracker.report();
    /// assert_eq!(report.total, 4);
    /// assert_eq!(report.by_category["other"], 4);
    /// let recent: Vec<_> = report.most_recent.iter().map(|g| g.fingerprint.as_str()).collect();
    /// assert_eq!(recent, ["a: first", "b: second"]);
    /// assert_eq!(report.top_by_count[0].count, 2);
    /// ```
    pub fn report(&self) -> ErrorReport {
        let inner = &*self.inner;
        let now_minute = minute_of((inner.clock)());
        let window = inner.window_minutes;
        let severity = &inner.severity;
        let (total, groups, evicted, by_category, in_window, by_impact, top, recent) = {
            let st = inner.lock();
            let in_window: u64 = st
                .buckets
                .iter()
                .filter(|b| now_minute.saturating_sub(b.minute) < window)
                .map(|b| b.count)
                .sum();
            let mut ranked: Vec<(&Arc<str>, &Group)> = st.groups.iter().collect();
            // Sequence numbers are unique: a total order.
            let order = |a: &(&Arc<str>, &Group), b: &(&Arc<str>, &Group)| {
                (b.1.count, b.1.seq).cmp(&(a.1.count, a.1.seq))
            };
            if ranked.len() > TOP {
                ranked.select_nth_unstable_by(TOP - 1, order);
                ranked.truncate(TOP);
            }
            ranked.sort_unstable_by(order);
            let snapshot = |(k, g): &(&Arc<str>, &Group)| Snapshot::new(k, g, now_minute, severity);
            let top: Vec<Snapshot> = ranked.iter().map(snapshot).collect();
            let recent: Vec<Snapshot> = st
                .recency
                .values()
                .rev()
                .take(TOP)
                .filter_map(|k| st.groups.get_key_value(&**k))
                .map(|kg| snapshot(&kg))
                .collect();
            // Impact needs every group's estimate (at most `max_groups`, a
            // few microseconds each): ranked by key, and only the worst
            // snapshotted (hints and samples copied).
            let mut worst: Vec<(ImpactKey, &Arc<str>, &Group)> = st
                .groups
                .iter()
                .map(|(k, g)| (impact_key(g, now_minute, severity), k, g))
                .collect();
            let order = |a: &(ImpactKey, &Arc<str>, &Group), b: &(ImpactKey, &Arc<str>, &Group)| {
                b.0.cmp(&a.0)
            };
            if worst.len() > TOP {
                worst.select_nth_unstable_by(TOP - 1, order);
                worst.truncate(TOP);
            }
            worst.sort_unstable_by(order);
            let by_impact: Vec<Snapshot> =
                worst.iter().map(|(_, k, g)| snapshot(&(k, g))).collect();
            (
                st.total,
                st.groups.len(),
                st.evicted,
                st.by_category,
                in_window,
                by_impact,
                top,
                recent,
            )
        };
        ErrorReport {
            total,
            groups,
            evicted,
            by_category: ErrorCategory::ALL
                .iter()
                .map(|c| (c.as_str().to_owned(), by_category[c.index()]))
                .collect(),
            rate_per_minute: in_window as f64 / window as f64,
            window_seconds: window * 60,
            top_by_impact: by_impact.into_iter().map(Snapshot::into_report).collect(),
            top_by_count: top.into_iter().map(Snapshot::into_report).collect(),
            most_recent: recent.into_iter().map(Snapshot::into_report).collect(),
            users_affected_error: SKETCH_STD_ERROR,
        }
    }

    /// Groups currently kept.
    ///
    /// ```
    /// use redline::errors::{ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
    /// tracker.capture_message("db", "row 1 locked", ErrorContext::default());
    /// tracker.capture_message("db", "row 2 locked", ErrorContext::default()); // same group
    /// assert_eq!(tracker.groups(), 1);
    /// ```
    pub fn groups(&self) -> usize {
        self.inner.lock().groups.len()
    }

    /// Groups evicted so far to make room for new ones.
    ///
    /// ```
    /// use redline::errors::{ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig { max_groups: 1, ..Default::default() });
    /// tracker.capture_message("a", "x", ErrorContext::default());
    /// tracker.capture_message("b", "x", ErrorContext::default()); // evicts `a: x`
    /// assert_eq!((tracker.groups(), tracker.evicted()), (1, 1));
    /// ```
    pub fn evicted(&self) -> u64 {
        self.inner.lock().evicted
    }

    /// Registers the tracker's metrics in `registry`:
    ///
    /// - `redline_errors_total{category}`: errors captured, one series per
    ///   [`ErrorCategory`], all present from the start;
    /// - `redline_error_groups`: groups currently kept;
    /// - `redline_error_groups_evicted_total`: groups evicted.
    ///
    /// Fails (registering nothing) if the registry already has them.
    ///
    /// ```
    /// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
    ///
    /// let registry = prometheus::Registry::new();
    /// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
    /// tracker.register(&registry).unwrap();
    /// tracker.capture_message("panic", "boom", ErrorContext::new(ErrorCategory::Panic));
    /// let text = redline::metrics::render_text(&registry);
    /// assert!(text.contains(r#"redline_errors_total{category="panic"} 1"#));
    /// assert!(text.contains(r#"redline_errors_total{category="timeout"} 0"#));
    /// assert!(text.contains("redline_error_groups 1"));
    /// assert!(tracker.register(&registry).is_err()); // already registered
    /// ```
    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        for i in 0..5 {
            if let Err(e) = registry.register(self.collector(i)) {
                for j in 0..i {
                    let _ = registry.unregister(self.collector(j));
                }
                return Err(e);
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (groups, evicted, total) = {
            let st = self.inner.lock();
            (st.groups.len(), st.evicted, st.total)
        };
        f.debug_struct("ErrorTracker")
            .field("max_groups", &self.inner.max_groups)
            .field("groups", &groups)
            .field("evicted", &evicted)
            .field("total", &total)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The state, even if a thread panicked while holding it (nothing
    /// done under the lock can leave it inconsistent).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Minutes since the Unix epoch (0 before it).
fn minute_of(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() / 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// 2026-11-24T07:00:00.000Z
    const T0_MS: u64 = 1_795_503_600_000;

    /// A tracker whose clock is `T0 + offset` milliseconds.
    fn tracker_at(config: ErrorTrackerConfig) -> (ErrorTracker, Arc<AtomicU64>) {
        let offset = Arc::new(AtomicU64::new(0));
        let clock_offset = offset.clone();
        let clock: Clock = Arc::new(move || {
            UNIX_EPOCH + Duration::from_millis(T0_MS + clock_offset.load(Ordering::SeqCst))
        });
        (ErrorTracker::with_clock(config, clock), offset)
    }

    fn ctx(category: ErrorCategory) -> ErrorContext {
        ErrorContext::new(category)
    }

    #[derive(Debug)]
    struct NotFound(u64);

    impl fmt::Display for NotFound {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            // The request id always has hex letters (an all-digit one
            // would be a number, `<n>`).
            write!(
                f,
                "user {} not found (request {:x})",
                self.0,
                0xdead_0000_0000_0000 | self.0
            )
        }
    }

    impl std::error::Error for NotFound {}

    #[test]
    fn messages_differing_only_in_ids_share_a_group() {
        let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
        for id in [7, 42, 123_456] {
            tracker.capture(&NotFound(id), ctx(ErrorCategory::Handler));
        }
        tracker.capture_message(
            "lookup",
            "order 550e8400-e29b-41d4-a716-446655440000 missing",
            ctx(ErrorCategory::Handler),
        );
        tracker.capture_message(
            "lookup",
            "order 6ba7b810-9dad-11d1-80b4-00c04fd430c8 missing",
            ctx(ErrorCategory::Handler),
        );
        tracker.capture_message("lookup", "order table missing", ctx(ErrorCategory::Handler));
        let report = tracker.report();
        assert_eq!(report.groups, 3);
        let counts: Vec<(&str, u64)> = report
            .top_by_count
            .iter()
            .map(|g| (g.fingerprint.as_str(), g.count))
            .collect();
        let kind = std::any::type_name::<NotFound>();
        assert_eq!(
            counts,
            [
                (
                    format!("{kind}: user <n> not found (request <hex>)").as_str(),
                    3
                ),
                ("lookup: order <uuid> missing", 2),
                ("lookup: order table missing", 1),
            ]
        );
        assert_eq!(report.top_by_count[0].kind, kind);
        assert_eq!(
            report.top_by_count[0].sample.message,
            format!("user 123456 not found (request dead00000001e240)")
        );
    }

    #[test]
    fn bound_and_lru_eviction() {
        let (tracker, clock) = tracker_at(ErrorTrackerConfig {
            max_groups: 3,
            ..Default::default()
        });
        for (i, kind) in ["a", "b", "c"].into_iter().enumerate() {
            clock.store(i as u64 * 1000, Ordering::SeqCst);
            tracker.capture_message(kind, "failed", ctx(ErrorCategory::Other));
        }
        // `a` is the oldest group, but seen again: `b` is now the least
        // recently seen (FIFO would evict `a`).
        clock.store(3000, Ordering::SeqCst);
        tracker.capture_message("a", "failed", ctx(ErrorCategory::Other));
        clock.store(4000, Ordering::SeqCst);
        tracker.capture_message("d", "failed", ctx(ErrorCategory::Other));

        assert_eq!(tracker.groups(), 3);
        assert_eq!(tracker.evicted(), 1);
        let report = tracker.report();
        assert_eq!((report.total, report.groups, report.evicted), (5, 3, 1));
        let recent: Vec<&str> = report.most_recent.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(recent, ["d", "a", "c"]);
        let a = &report.top_by_count[0];
        assert_eq!((a.kind.as_str(), a.count), ("a", 2));
        assert_eq!(a.first_seen, "2026-11-24T07:00:00.000Z");
        assert_eq!(a.last_seen, "2026-11-24T07:00:03.000Z");

        // `b` comes back as a new group, evicting `c`.
        tracker.capture_message("b", "failed", ctx(ErrorCategory::Other));
        let report = tracker.report();
        let mut kinds: Vec<&str> = report.most_recent.iter().map(|g| g.kind.as_str()).collect();
        kinds.sort_unstable();
        assert_eq!(kinds, ["a", "b", "d"]);
        assert_eq!(report.evicted, 2);
        let b = report.most_recent.iter().find(|g| g.kind == "b").unwrap();
        assert_eq!(b.count, 1);
    }

    #[test]
    fn memory_stays_bounded() {
        let tracker = ErrorTracker::new(ErrorTrackerConfig {
            max_groups: 50,
            ..Default::default()
        });
        let huge = "word ".repeat(100_000);
        let fields: Vec<(String, String)> = (0..100)
            .map(|i| (format!("{i}{}", "k".repeat(100)), "v".repeat(10_000)))
            .collect();
        for i in 0..200 {
            let context = ErrorContext {
                category: ErrorCategory::Internal,
                route: Some("r".repeat(10_000)),
                request_id: Some("q".repeat(10_000)),
                trace_id: None,
                fields: fields.clone(),
                user: Some(crate::errors::UserKey::new(&i)),
                cause: Some(huge.clone()),
                chain: vec![huge.clone(); 100],
            };
            tracker.capture_message(&format!("kind{i}{}", "x".repeat(1000)), &huge, context);
        }
        assert_eq!(tracker.groups(), 50);
        assert_eq!(tracker.evicted(), 150);
        let report = tracker.report();
        assert_eq!(report.top_by_count.len(), TOP);
        assert_eq!(report.most_recent.len(), TOP);
        for g in &report.most_recent {
            assert!(g.fingerprint.chars().count() <= 128 + 2 + 256);
            assert!(g.kind.chars().count() <= 128);
            let s = &g.sample;
            assert_eq!(s.message.chars().count(), MAX_MESSAGE_CHARS);
            assert!(s.message.ends_with('…'));
            assert!(s.cause.as_ref().unwrap().chars().count() <= MAX_MESSAGE_CHARS);
            assert_eq!(s.chain.len(), MAX_CHAIN);
            assert!(s.chain.iter().all(|c| c.chars().count() <= MAX_VALUE_CHARS));
            let chain = &g.hints.chain.as_ref().unwrap().value;
            assert!(chain.chars().count() <= MAX_CHAIN * (MAX_VALUE_CHARS + 4));
            assert_eq!(s.route.as_ref().unwrap().chars().count(), MAX_ROUTE_CHARS);
            assert_eq!(s.request_id.as_ref().unwrap().chars().count(), MAX_ID_CHARS);
            assert_eq!(s.fields.len(), MAX_FIELDS);
            for (k, v) in &s.fields {
                assert!(k.chars().count() <= MAX_KEY_CHARS);
                assert_eq!(v.chars().count(), MAX_VALUE_CHARS);
            }
        }
    }

    #[test]
    fn report_contents() {
        let (tracker, clock) = tracker_at(ErrorTrackerConfig::default());
        let at = |ms: u64| clock.store(ms, Ordering::SeqCst);

        // Ten minutes before the report: outside the 5-minute window.
        at(0);
        tracker.capture_message("db", "timeout after 30ms", ctx(ErrorCategory::Timeout));
        tracker.capture_message("db", "timeout after 31ms", ctx(ErrorCategory::Timeout));
        at(60_000);
        tracker.capture_message("auth", "bad login", ctx(ErrorCategory::Validation));

        // Inside the window.
        at(8 * 60_000 + 500);
        tracker.capture_message(
            "db",
            "timeout after 45ms",
            ctx(ErrorCategory::Dependency)
                .route("/users/{id}")
                .field("query", "select 1"),
        );
        at(9 * 60_000 + 250);
        tracker.capture_message(
            "auth",
            "login failed for john.doe@example.com\nFAKE LOG LINE",
            ErrorContext::new(ErrorCategory::Validation)
                .route("/login?token=abc123")
                .request_id("req\n7")
                .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
                .field("password", "hunter2")
                .field("contact", "call me at jane@example.org")
                .field("card", "4111 1111 1111 1111"),
        );
        at(10 * 60_000 + 123);
        tracker.capture_message("panic", "index 3 out of bounds", ctx(ErrorCategory::Panic));

        let report = tracker.report();
        assert_eq!(report.total, 6);
        assert_eq!((report.groups, report.evicted), (4, 0));
        let by_category: Vec<(&str, u64)> = report
            .by_category
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            by_category,
            [
                ("dependency", 1),
                ("handler", 0),
                ("http_5xx", 0),
                ("internal", 0),
                ("other", 0),
                ("panic", 1),
                ("timeout", 2),
                ("validation", 2),
            ]
        );
        // Window: minutes 6 to 10 (the current one) hold 3 errors.
        assert_eq!(report.window_seconds, 300);
        assert_eq!(report.rate_per_minute, 3.0 / 5.0);

        let top: Vec<(&str, u64)> = report
            .top_by_count
            .iter()
            .map(|g| (g.fingerprint.as_str(), g.count))
            .collect();
        // Equal counts: the most recently seen first.
        assert_eq!(
            top,
            [
                ("db: timeout after <n>ms", 3),
                ("panic: index <n> out of bounds", 1),
                ("auth: login failed for <email>\\nFAKE LOG LINE", 1),
                ("auth: bad login", 1),
            ]
        );
        let recent: Vec<&str> = report
            .most_recent
            .iter()
            .map(|g| g.fingerprint.as_str())
            .collect();
        assert_eq!(
            recent,
            [
                "panic: index <n> out of bounds",
                "auth: login failed for <email>\\nFAKE LOG LINE",
                "db: timeout after <n>ms",
                "auth: bad login",
            ]
        );

        // The db group: first and last seen, latest sample and category.
        let db = &report.top_by_count[0];
        assert_eq!(db.kind, "db");
        assert_eq!(db.category, ErrorCategory::Dependency);
        assert_eq!(db.first_seen, "2026-11-24T07:00:00.000Z");
        assert_eq!(db.last_seen, "2026-11-24T07:08:00.500Z");
        assert_eq!(db.sample.message, "timeout after 45ms");
        assert_eq!(db.sample.route.as_deref(), Some("/users/{id}"));
        assert_eq!(db.sample.fields["query"], "select 1");

        // The login sample: redacted message, route and field values.
        let login = &report.most_recent[1];
        assert_eq!(login.first_seen, "2026-11-24T07:09:00.250Z");
        let s = &login.sample;
        assert_eq!(
            s.message,
            "login failed for j***@example.com\\nFAKE LOG LINE"
        );
        assert_eq!(s.route.as_deref(), Some("/login?token=[REDACTED]"));
        assert_eq!(s.request_id.as_deref(), Some("req\\n7"));
        assert_eq!(
            s.trace_id.as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(s.fields["password"], "[REDACTED]");
        assert_eq!(s.fields["contact"], "call me at j***@example.org");
        assert_eq!(s.fields["card"], "**** **** **** 1111");

        // The JSON body.
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["total"], 6);
        assert_eq!(json["top_by_count"][0]["category"], "dependency");
        assert_eq!(
            json["most_recent"][0]["sample"]["route"],
            serde_json::Value::Null
        );
        assert_eq!(json["by_category"]["http_5xx"], 0);

        // Ten minutes later, nothing is recent any more.
        at(20 * 60_000);
        let later = tracker.report();
        assert_eq!(later.rate_per_minute, 0.0);
        assert_eq!(later.total, 6);
    }

    #[test]
    fn rate_window_in_whole_minutes() {
        let (tracker, clock) = tracker_at(ErrorTrackerConfig {
            rate_window: Duration::from_secs(90),
            ..Default::default()
        });
        // 90 s rounds up to 2 one-minute buckets.
        for minute in 0..4u64 {
            clock.store(minute * 60_000, Ordering::SeqCst);
            for _ in 0..=minute {
                tracker.capture_message("k", "m", ErrorContext::default());
            }
        }
        let report = tracker.report();
        assert_eq!(report.window_seconds, 120);
        // Minutes 2 and 3: 3 + 4 errors.
        assert_eq!(report.rate_per_minute, 7.0 / 2.0);
        assert_eq!(report.total, 10);
    }

    #[test]
    fn metrics_are_exact_and_complete() {
        let registry = Registry::new();
        let tracker = ErrorTracker::new(ErrorTrackerConfig {
            max_groups: 2,
            ..Default::default()
        });
        tracker.register(&registry).unwrap();

        let families = registry.gather();
        let errors = families.iter().find(|f| f.name() == ERRORS_TOTAL).unwrap();
        assert_eq!(
            errors.get_metric().len(),
            8,
            "all categories from the start"
        );

        for _ in 0..3 {
            tracker.capture_message("panic", "boom", ctx(ErrorCategory::Panic));
        }
        tracker.capture_message("t", "slow", ctx(ErrorCategory::Timeout));
        tracker.capture_message("h", "bad", ctx(ErrorCategory::Http5xx)); // evicts a group

        let families = registry.gather();
        let family = |name: &str| families.iter().find(|f| f.name() == name).unwrap();
        let mut values = BTreeMap::new();
        for m in family(ERRORS_TOTAL).get_metric() {
            let label = m.get_label();
            assert_eq!(label.len(), 1);
            assert_eq!(label[0].name(), "category");
            values.insert(
                label[0].value().to_owned(),
                m.get_counter().get_value() as u64,
            );
        }
        let expected: BTreeMap<String, u64> = ErrorCategory::ALL
            .iter()
            .map(|c| {
                let n = match c {
                    ErrorCategory::Panic => 3,
                    ErrorCategory::Timeout | ErrorCategory::Http5xx => 1,
                    _ => 0,
                };
                (c.as_str().to_owned(), n)
            })
            .collect();
        assert_eq!(values, expected);
        assert_eq!(family(GROUPS).get_metric()[0].get_gauge().get_value(), 2.0);
        assert_eq!(
            family(EVICTED).get_metric()[0].get_counter().get_value(),
            1.0
        );
        // Three groups were created (one was evicted since).
        assert_eq!(
            family(NEW_GROUPS).get_metric()[0].get_counter().get_value(),
            3.0
        );
        // No capture named a user.
        assert_eq!(
            family(USERS_MAX).get_metric()[0].get_gauge().get_value(),
            0.0
        );

        // A second registration in the same registry fails and leaves the
        // first one as it was.
        let other = ErrorTracker::new(ErrorTrackerConfig::default());
        assert!(other.register(&registry).is_err());
        assert_eq!(registry.gather().len(), 5);
        // Another registry is fine.
        other.register(&Registry::new()).unwrap();
    }

    #[test]
    fn impact_ranks_groups_by_users_and_never_shows_a_user_key() {
        let (tracker, _clock) = tracker_at(ErrorTrackerConfig::default());
        // 1,000 users hit one group once each; 3 users hit another 500
        // times each (more errors, fewer people).
        for user in 0..1000 {
            tracker.capture_message(
                "db",
                "pool exhausted",
                ctx(ErrorCategory::Dependency)
                    .user(&format!("user-{user}@example.com"))
                    .route("/orders"),
            );
        }
        for _ in 0..500 {
            for user in 0..3 {
                tracker.capture_message(
                    "db",
                    "row locked",
                    ctx(ErrorCategory::Dependency).user(&format!("vip-{user}")),
                );
            }
        }
        let report = tracker.report();
        let wide = &report.top_by_impact[0];
        assert_eq!(wide.fingerprint, "db: pool exhausted");
        let error = (wide.users_affected as f64 - 1000.0).abs() / 1000.0;
        assert!(
            error <= 3.0 * report.users_affected_error,
            "{} users",
            wide.users_affected
        );
        // Dependency errors are high; reaching 100 users or more, critical.
        assert_eq!(wide.severity, crate::errors::Severity::Critical);
        assert_eq!(wide.hints.route.as_ref().unwrap().value, "/orders");
        let narrow = &report.top_by_impact[1];
        assert_eq!((narrow.users_affected, narrow.count), (3, 1500));
        assert_eq!(narrow.severity, crate::errors::Severity::High);
        // By count, the narrow one leads; by impact, the wide one.
        assert_eq!(report.top_by_count[0].fingerprint, "db: row locked");
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("user-") && !json.contains("vip-"), "{json}");
        assert!(!json.contains("example.com"), "{json}");
    }

    #[test]
    fn trend_transitions_follow_the_clock() {
        let (tracker, clock) = tracker_at(ErrorTrackerConfig::default());
        let at_minute = |m: u64| clock.store(m * 60_000, Ordering::SeqCst);
        let trend = || tracker.report().most_recent[0].trend;
        let capture = |n: usize| {
            for _ in 0..n {
                tracker.capture_message("q", "queue full", ctx(ErrorCategory::Internal));
            }
        };
        at_minute(0);
        capture(1);
        assert_eq!(trend(), crate::errors::Trend::New);
        // One a minute for an hour: steady.
        for m in 1..60 {
            at_minute(m);
            capture(1);
        }
        assert_eq!(trend(), crate::errors::Trend::Steady);
        // Ten a minute for five minutes: rising.
        for m in 60..65 {
            at_minute(m);
            capture(10);
        }
        assert_eq!(trend(), crate::errors::Trend::Rising);
        assert_eq!(tracker.report().most_recent[0].recent, 50);
        // Then nothing for five minutes: falling.
        at_minute(70);
        assert_eq!(trend(), crate::errors::Trend::Falling);
    }

    #[test]
    fn a_source_chain_is_kept_redacted_with_its_hint() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("could not load the order")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
        let error = Outer(std::io::Error::other(
            "db error: password=hunter2 at 10.0.0.5:5432",
        ));
        tracker.capture(
            &error,
            ctx(ErrorCategory::Dependency).field("operation", "orders.load"),
        );
        let group = &tracker.report().most_recent[0];
        assert_eq!(
            group.sample.chain,
            ["db error: password=[REDACTED] at 10.0.0.5:5432"]
        );
        assert_eq!(
            group.hints.chain.as_ref().unwrap().value,
            "db error: password=[REDACTED] at 10.0.0.5:5432"
        );
        assert_eq!(group.hints.operation.as_ref().unwrap().value, "orders.load");
        assert!(!serde_json::to_string(group).unwrap().contains("hunter2"));
    }

    #[test]
    fn concurrent_captures_are_all_counted() {
        let registry = Registry::new();
        let tracker = ErrorTracker::new(ErrorTrackerConfig {
            max_groups: 3,
            ..Default::default()
        });
        tracker.register(&registry).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let tracker = tracker.clone();
                std::thread::spawn(move || {
                    for i in 0..1000u32 {
                        let category = ErrorCategory::ALL[(i % 8) as usize];
                        let kind = format!("kind{}", (t + i) % 5);
                        tracker.capture_message(
                            &kind,
                            &format!("job {i} failed on worker {t}"),
                            ErrorContext::new(category).request_id(i.to_string()),
                        );
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let report = tracker.report();
        assert_eq!(report.total, 8000);
        assert_eq!(report.by_category.values().sum::<u64>(), 8000);
        assert!(report.by_category.values().all(|&n| n == 1000));
        assert_eq!(report.groups, 3);
        assert!(report.evicted > 0);
        let counted: f64 = registry
            .gather()
            .iter()
            .find(|f| f.name() == ERRORS_TOTAL)
            .unwrap()
            .get_metric()
            .iter()
            .map(|m| m.get_counter().get_value())
            .sum();
        assert_eq!(counted, 8000.0);
    }

    #[test]
    fn odd_errors_do_not_panic() {
        struct Failing;
        impl fmt::Debug for Failing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Failing")
            }
        }
        impl fmt::Display for Failing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("partial 42")?;
                Err(fmt::Error)
            }
        }
        impl std::error::Error for Failing {}

        struct Endless;
        impl fmt::Debug for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Endless")
            }
        }
        impl fmt::Display for Endless {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Stops only because the writer refuses more.
                loop {
                    f.write_str("é and 🦀 ")?;
                }
            }
        }
        impl std::error::Error for Endless {}

        let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
        tracker.capture(&Failing, ErrorContext::default());
        tracker.capture(&Endless, ErrorContext::default());
        let boxed: Box<dyn std::error::Error> = Box::new(NotFound(1));
        tracker.capture(&*boxed, ErrorContext::default());
        tracker.capture_message("", "", ErrorContext::default());

        let report = tracker.report();
        assert_eq!(report.total, 4);
        let by_kind = |kind: &str| {
            report
                .most_recent
                .iter()
                .find(|g| g.kind.ends_with(kind))
                .unwrap()
        };
        assert_eq!(by_kind("Failing").sample.message, "partial 42");
        assert_eq!(
            by_kind("Failing").fingerprint,
            format!("{}: partial <n>", std::any::type_name::<Failing>())
        );
        let endless = &by_kind("Endless").sample.message;
        assert_eq!(endless.chars().count(), MAX_MESSAGE_CHARS);
        assert_eq!(
            by_kind("dyn core::error::Error").kind,
            "dyn core::error::Error"
        );
        assert_eq!(report.most_recent[0].fingerprint, ":");
    }

    #[test]
    fn bounded_inputs_drop_the_cut_word() {
        assert_eq!(bound_input("abc", 10), "abc");
        assert_eq!(bound_input("card 4111111111111111", 12), "card");
        assert_eq!(bound_input("éééé", 3), "é");
        let mut s = "abcdef".to_owned();
        truncate_chars(&mut s, 4);
        assert_eq!(s, "abc…");
        let mut s = "abcd".to_owned();
        truncate_chars(&mut s, 4);
        assert_eq!(s, "abcd");
    }
}
