//! What an error group does to the service's users: how many distinct
//! users it reached (a HyperLogLog sketch of hashed user keys), its
//! severity, its trend over the last hour, and the most common route,
//! operation and error chain among its errors (root-cause hints).
//!
//! Everything here is per group and bounded: the sketch (the
//! `cardinality-estimator` crate, HyperLogLog++ at precision 10) is exact
//! while it holds few users and at most 768 bytes of registers after that,
//! with a standard error of 3.25% ([`SKETCH_STD_ERROR`]); the trend is a
//! ring of 65 one-minute counts; each hint keeps at most 8 candidates.

use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, OnceLock};

use cardinality_estimator::CardinalityEstimator;
use serde::Serialize;

use super::ErrorCategory;

/// Relative standard error of `users_affected` (see
/// [`GroupReport`](super::GroupReport)) for large counts
/// (1.04 / √1024, HyperLogLog with 2¹⁰ registers).
pub const SKETCH_STD_ERROR: f64 = 0.0325;

/// The sketch: precision 10 (1024 registers of 6 bits, 768 bytes at most).
type Sketch = CardinalityEstimator<u64, wyhash::WyHash, 10, 6>;

/// Minutes of per-group history: the last 5 against the hour before.
const RING_MINUTES: usize = 65;
/// Candidates kept for each root-cause hint.
const HINT_SLOTS: usize = 8;

/// A user, as the error tracker knows them: a keyed hash of the key the
/// service gave (a user id, a chat id, an account...). The key itself is
/// never stored, and the hash's key is random per process, so the hash
/// cannot be matched against another process's or a precomputed table.
///
/// Give it to [`ErrorContext::user`](super::ErrorContext::user), or insert
/// it into a 5xx response's extensions for the HTTP layer to find.
///
/// ```
/// use redline::errors::UserKey;
///
/// let a = UserKey::new(&42_u64);
/// assert_eq!(a, UserKey::new(&42_u64));
/// assert_ne!(a, UserKey::new(&43_u64));
/// assert_eq!(format!("{a:?}"), "UserKey(<hashed>)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UserKey(u64);

impl UserKey {
    /// Hashes `key` with this process's random key.
    pub fn new<K: Hash + ?Sized>(key: &K) -> Self {
        static SEED: OnceLock<foldhash::quality::RandomState> = OnceLock::new();
        Self(SEED.get_or_init(Default::default).hash_one(key))
    }
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserKey(<hashed>)")
    }
}

/// How bad an error group is, lowest first: from its category
/// ([`SeverityMap`]), one level higher when it reached many users.
///
/// ```
/// use redline::errors::Severity;
///
/// assert!(Severity::Critical > Severity::High);
/// assert_eq!(Severity::Low.raised(), Severity::Medium);
/// assert_eq!(Severity::Critical.raised(), Severity::Critical);
/// assert_eq!(serde_json::to_string(&Severity::High).unwrap(), r#""high""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Caused by the client (validation): worth a look, rarely urgent.
    Low,
    /// The service's own handling failed.
    Medium,
    /// Requests fail: 5xx, dependencies, timeouts, broken invariants.
    High,
    /// Panics, or a high-severity error that reached many users.
    Critical,
}

impl Severity {
    /// One level higher (critical stays critical).
    pub fn raised(self) -> Self {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }

    /// Parses `low`, `medium`, `high` or `critical`.
    ///
    /// ```
    /// use redline::errors::Severity;
    /// assert_eq!(Severity::parse("high"), Some(Severity::High));
    /// assert_eq!(Severity::parse("urgent"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// The severity of each [`ErrorCategory`], and how many users raise it one
/// level. Defaults: panics critical; 5xx, dependency, timeout and internal
/// errors high; handler and other errors medium; validation (client-caused)
/// low; raised at 100 users.
///
/// ```
/// use redline::errors::{ErrorCategory, Severity, SeverityMap};
///
/// let mut map = SeverityMap::default();
/// assert_eq!(map.of(ErrorCategory::Panic, 0), Severity::Critical);
/// assert_eq!(map.of(ErrorCategory::Validation, 5), Severity::Low);
/// assert_eq!(map.of(ErrorCategory::Validation, 100), Severity::Medium);
/// map.set(ErrorCategory::Timeout, Severity::Medium);
/// assert_eq!(map.of(ErrorCategory::Timeout, 0), Severity::Medium);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityMap {
    by_category: [Severity; 8],
    /// Users affected from which a group's severity is one level higher.
    pub many_users: u64,
}

impl Default for SeverityMap {
    fn default() -> Self {
        let by_category = ErrorCategory::ALL.map(|c| match c {
            ErrorCategory::Panic => Severity::Critical,
            ErrorCategory::Http5xx
            | ErrorCategory::Dependency
            | ErrorCategory::Timeout
            | ErrorCategory::Internal => Severity::High,
            ErrorCategory::Handler | ErrorCategory::Other => Severity::Medium,
            ErrorCategory::Validation => Severity::Low,
        });
        Self {
            by_category,
            many_users: 100,
        }
    }
}

impl SeverityMap {
    /// Sets the severity of `category`.
    pub fn set(&mut self, category: ErrorCategory, severity: Severity) {
        self.by_category[category.index()] = severity;
    }

    /// The severity of a group of `category` that reached `users` users.
    pub fn of(&self, category: ErrorCategory, users: u64) -> Severity {
        let base = self.by_category[category.index()];
        if users >= self.many_users {
            base.raised()
        } else {
            base
        }
    }
}

/// Where a group is going: its rate over the last 5 minutes against the
/// hour before.
///
/// ```
/// use redline::errors::Trend;
/// assert_eq!(serde_json::to_string(&Trend::Rising).unwrap(), r#""rising""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// First seen within the last 5 minutes.
    New,
    /// More than twice the rate of the hour before.
    Rising,
    /// Within half and twice the rate of the hour before (or quiet in
    /// both).
    Steady,
    /// Less than half the rate of the hour before.
    Falling,
}

/// The most common route, operation and error chain among a group's errors
/// (root-cause hints), each with the share of the group's errors it
/// accounts for (approximate: at most 8 candidates are tracked).
///
/// ```
/// let hints = redline::errors::Hints::default();
/// assert!(hints.route.is_none() && hints.chain.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hints {
    /// The route most of the group's errors came from.
    pub route: Option<Hint>,
    /// The operation (the context's `operation` field) most of them came
    /// from.
    pub operation: Option<Hint>,
    /// The most common error chain (each cause's message, redacted, joined
    /// with ` <- `).
    pub chain: Option<Hint>,
}

/// One root-cause hint: a value and about how many of the group's errors
/// had it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hint {
    /// The value (redacted).
    pub value: String,
    /// About how many errors had it (a lower bound).
    pub count: u64,
}

/// Counts of the most frequent values, at most [`HINT_SLOTS`] candidates
/// (Misra-Gries: a value more frequent than 1/9 of the stream is always
/// among them; counts are lower bounds).
#[derive(Default)]
struct TopValues {
    slots: Vec<(Arc<str>, u64)>,
}

impl TopValues {
    fn add(&mut self, value: &str) {
        if let Some(slot) = self.slots.iter_mut().find(|(v, _)| &**v == value) {
            slot.1 += 1;
        } else if self.slots.len() < HINT_SLOTS {
            self.slots.push((value.into(), 1));
        } else {
            for slot in &mut self.slots {
                slot.1 -= 1;
            }
            self.slots.retain(|(_, n)| *n > 0);
        }
    }

    fn top(&self) -> Option<Hint> {
        self.slots
            .iter()
            .max_by_key(|(_, n)| *n)
            .map(|(v, n)| Hint {
                value: v.to_string(),
                count: *n,
            })
    }
}

/// The impact state of one group.
pub(crate) struct GroupImpact {
    users: Sketch,
    /// Errors per minute: `(minute, count)` at `minute % RING_MINUTES`.
    ring: [(u64, u32); RING_MINUTES],
    routes: TopValues,
    operations: TopValues,
    chains: TopValues,
}

/// What a capture adds to its group's impact.
pub(crate) struct ImpactInput<'a> {
    pub(crate) user: Option<UserKey>,
    pub(crate) route: Option<&'a str>,
    pub(crate) operation: Option<&'a str>,
    pub(crate) chain: Option<&'a str>,
}

impl GroupImpact {
    pub(crate) fn new() -> Self {
        Self {
            users: Sketch::new(),
            ring: [(0, 0); RING_MINUTES],
            routes: TopValues::default(),
            operations: TopValues::default(),
            chains: TopValues::default(),
        }
    }

    pub(crate) fn add(&mut self, minute: u64, input: &ImpactInput<'_>) {
        if let Some(UserKey(hash)) = input.user {
            self.users.insert_hash(hash);
        }
        let slot = &mut self.ring[(minute % RING_MINUTES as u64) as usize];
        if slot.0 == minute {
            slot.1 = slot.1.saturating_add(1);
        } else if slot.0 < minute {
            *slot = (minute, 1);
        }
        if let Some(route) = input.route {
            self.routes.add(route);
        }
        if let Some(operation) = input.operation {
            self.operations.add(operation);
        }
        if let Some(chain) = input.chain {
            self.chains.add(chain);
        }
    }

    /// Distinct users reached (estimated).
    pub(crate) fn users(&self) -> u64 {
        self.users.estimate() as u64
    }

    /// Errors in the minutes `[now - back, now - until)` (minute `now`
    /// included when `until` is 0).
    fn errors_between(&self, now: u64, back: u64, until: u64) -> u64 {
        self.ring
            .iter()
            .filter(|(m, _)| *m <= now && now - m < back && now - m >= until)
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    /// The errors of the last 5 minutes (this one included).
    pub(crate) fn recent(&self, now: u64) -> u64 {
        self.errors_between(now, 5, 0)
    }

    pub(crate) fn trend(&self, now: u64, first_seen_minute: u64) -> Trend {
        if now.saturating_sub(first_seen_minute) < 5 {
            return Trend::New;
        }
        // Per minute: the last 5 against the 60 before them.
        let recent = self.recent(now) as f64 / 5.0;
        let before = self.errors_between(now, 65, 5) as f64 / 60.0;
        if recent > 2.0 * before {
            Trend::Rising
        } else if recent < 0.5 * before {
            Trend::Falling
        } else {
            Trend::Steady
        }
    }

    pub(crate) fn hints(&self) -> Hints {
        Hints {
            route: self.routes.top(),
            operation: self.operations.top(),
            chain: self.chains.top(),
        }
    }

    /// Heap bytes held (the sketch; the rest is inline or in the hints'
    /// bounded strings).
    #[cfg(test)]
    pub(crate) fn sketch_bytes(&self) -> usize {
        self.users.size_of()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user with a fixed hash (splitmix64 of `user`): the process's
    /// random key made the estimate differ run to run, and now and then
    /// fall outside 3 standard errors (seen in a test run).
    fn input(user: u64) -> ImpactInput<'static> {
        let mut z = user.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ImpactInput {
            user: Some(UserKey(z ^ (z >> 31))),
            route: None,
            operation: None,
            chain: None,
        }
    }

    #[test]
    fn users_are_counted_within_the_stated_error_in_bounded_memory() {
        for n in [1_u64, 3, 100, 1_000, 20_000] {
            let mut g = GroupImpact::new();
            for user in 0..n {
                // Each user several times: distinct users count, not errors.
                for _ in 0..3 {
                    g.add(0, &input(user));
                }
            }
            let got = g.users() as f64;
            let tolerance = (3.0 * SKETCH_STD_ERROR * n as f64).max(0.5);
            assert!(
                (got - n as f64).abs() <= tolerance,
                "{n} users estimated as {got}"
            );
            assert!(g.sketch_bytes() <= 1024, "{} bytes", g.sketch_bytes());
        }
    }

    #[test]
    fn trend_follows_the_last_five_minutes_against_the_hour_before() {
        let mut g = GroupImpact::new();
        let start = 1_000;
        // One error a minute for an hour.
        for m in start..start + 60 {
            g.add(m, &input(1));
        }
        assert_eq!(g.trend(start + 2, start), Trend::New);
        assert_eq!(g.trend(start + 59, start), Trend::Steady);
        // Ten a minute for the last five minutes.
        let mut rising = GroupImpact::new();
        for m in start..start + 60 {
            rising.add(m, &input(1));
        }
        for m in start + 60..start + 65 {
            for _ in 0..10 {
                rising.add(m, &input(1));
            }
        }
        assert_eq!(rising.trend(start + 64, start), Trend::Rising);
        // Nothing for the last five minutes.
        assert_eq!(g.trend(start + 64, start), Trend::Falling);
        // Nothing for two hours: no change, quiet in both.
        assert_eq!(g.trend(start + 200, start), Trend::Steady);
    }

    #[test]
    fn hints_name_the_most_common_values() {
        let mut g = GroupImpact::new();
        for i in 0..100_u64 {
            let route = if i % 10 == 0 {
                format!("/rare/{i}")
            } else {
                "/orders".into()
            };
            g.add(
                0,
                &ImpactInput {
                    user: None,
                    route: Some(&route),
                    operation: Some("db.query"),
                    chain: Some("pool timed out <- connection refused"),
                },
            );
        }
        let hints = g.hints();
        assert_eq!(hints.route.as_ref().unwrap().value, "/orders");
        assert!(hints.route.unwrap().count >= 80);
        assert_eq!(hints.operation.unwrap().value, "db.query");
        assert_eq!(
            hints.chain.unwrap().value,
            "pool timed out <- connection refused"
        );
    }
}
