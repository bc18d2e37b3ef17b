//! The report served as `GET /errors/report`, and the sample of a group.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ErrorCategory;
use super::impact::{Hints, Severity, Trend};

/// A snapshot of an [`ErrorTracker`](super::ErrorTracker): totals, the
/// groups seen most often and most recently, and the recent rate. Serialize
/// it (with `serde_json`) for `GET /errors/report`.
///
/// ```
/// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
///
/// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
/// tracker.capture_message("panic", "index 3 out of range", ErrorContext::new(ErrorCategory::Panic));
/// let report = tracker.report();
/// assert_eq!((report.total, report.groups, report.evicted), (1, 1, 0));
/// assert_eq!(report.by_category["panic"], 1);
/// assert_eq!(report.by_category.len(), 8);
/// assert_eq!(report.window_seconds, 300);
/// assert_eq!(report.rate_per_minute, 0.2); // 1 error over 5 minutes
/// assert_eq!(report.most_recent[0].fingerprint, "panic: index <n> out of range");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    /// Errors captured since the tracker was created (evicted groups
    /// included).
    pub total: u64,
    /// Groups currently kept.
    pub groups: usize,
    /// Groups evicted to make room for new ones.
    pub evicted: u64,
    /// Errors captured by category label, every category present.
    pub by_category: BTreeMap<String, u64>,
    /// Errors per minute over the last [`window_seconds`](Self::window_seconds)
    /// (the current, partial minute included).
    pub rate_per_minute: f64,
    /// The rate window, in seconds (whole minutes).
    pub window_seconds: u64,
    /// The 20 groups with the most impact, worst first: by severity, then
    /// users affected, then errors in the last 5 minutes, then count.
    pub top_by_impact: Vec<GroupReport>,
    /// The 20 groups with the highest counts, highest first (ties: most
    /// recently seen first).
    pub top_by_count: Vec<GroupReport>,
    /// The 20 most recently seen groups, most recent first.
    pub most_recent: Vec<GroupReport>,
    /// The relative standard error of `users_affected` once a group has
    /// many users (exact while it has few).
    pub users_affected_error: f64,
}

/// One group of errors in an [`ErrorReport`].
///
/// ```
/// use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
///
/// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
/// tracker.capture_message("http_500", "upstream 10.0.0.7 said 503", ErrorContext::new(ErrorCategory::Http5xx));
/// let group = &tracker.report().top_by_count[0];
/// assert_eq!(group.fingerprint, "http_500: upstream <n>.<n> said <n>");
/// assert_eq!((group.kind.as_str(), group.category, group.count), ("http_500", ErrorCategory::Http5xx, 1));
/// assert_eq!(group.first_seen, group.last_seen);
/// assert!(group.first_seen.ends_with('Z'));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group's key (see [`fingerprint`](super::fingerprint)), redacted.
    pub fingerprint: String,
    /// The error's type name, or the kind given to
    /// [`capture_message`](super::ErrorTracker::capture_message).
    pub kind: String,
    /// The category of the latest error of the group.
    pub category: ErrorCategory,
    /// Errors in the group.
    pub count: u64,
    /// When the group's first error was captured (RFC 3339, UTC,
    /// milliseconds: `2026-11-24T07:00:00.123Z`).
    pub first_seen: String,
    /// When its latest error was captured (same format).
    pub last_seen: String,
    /// Distinct users the group's errors reached (estimated; only errors
    /// captured with a user count).
    pub users_affected: u64,
    /// From the category and the users affected (see
    /// [`SeverityMap`](super::SeverityMap)).
    pub severity: Severity,
    /// The last 5 minutes against the hour before.
    pub trend: Trend,
    /// Errors in the last 5 minutes.
    pub recent: u64,
    /// The most common route, operation and error chain of the group.
    pub hints: Hints,
    /// The latest error of the group.
    pub sample: Sample,
}

/// The latest error of a group, redacted and bounded: a message of at most
/// 1024 characters, at most 16 fields.
///
/// ```
/// use redline::errors::{ErrorContext, ErrorTracker, ErrorTrackerConfig};
///
/// let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
/// let context = ErrorContext::default().request_id("req-1").field("user", "ann@example.com");
/// tracker.capture_message("auth", "login failed: password=hunter2", context);
/// let sample = &tracker.report().most_recent[0].sample;
/// assert_eq!(sample.message, "login failed: password=[REDACTED]");
/// assert_eq!(sample.request_id.as_deref(), Some("req-1"));
/// assert_eq!(sample.fields["user"], "a***@example.com");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The error message, redacted, at most 1024 characters (a cut one ends
    /// with `…`).
    pub message: String,
    /// The route (redacted, at most 256 characters).
    pub route: Option<String>,
    /// The request id (control characters escaped, at most 128 characters).
    pub request_id: Option<String>,
    /// The trace id (control characters escaped, at most 128 characters).
    pub trace_id: Option<String>,
    /// The context's fields: at most 16, keys of at most 64 characters,
    /// values redacted and at most 256 characters.
    pub fields: BTreeMap<String, String>,
    /// What caused it beyond the message (for a 5xx, the handler's error
    /// or the body it wrote, before production mode replaced it): redacted,
    /// at most 1024 characters.
    pub cause: Option<String>,
    /// The error's `source()` chain, outermost first: at most 8 messages,
    /// redacted, at most 256 characters each.
    pub chain: Vec<String>,
}
