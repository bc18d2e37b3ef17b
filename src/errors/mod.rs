//! Error tracking: errors grouped by fingerprint, with counts, first and
//! last seen times and the latest (redacted) sample of each group, a
//! bounded number of groups, and `redline_errors_total{category}`.
//!
//! - [`ErrorTracker::capture`] (or [`capture_message`](ErrorTracker::capture_message))
//!   records an error with its [`ErrorContext`];
//! - errors whose messages differ only in numbers, ids, UUIDs, hex, quoted
//!   values or e-mail addresses share a group (see [`fingerprint`]);
//! - at most [`ErrorTrackerConfig::max_groups`] groups are kept, the least
//!   recently seen one is evicted (and counted) to make room;
//! - samples go through [`ErrorTrackerConfig::redactor`] (see
//!   [`crate::redact`]) before they are stored;
//! - [`ErrorTracker::report`] is the snapshot served as `GET /errors/report`:
//!   totals, the top groups by count and by recency, the recent rate.
//!
//! ```
//! use redline::errors::{ErrorCategory, ErrorContext, ErrorTracker, ErrorTrackerConfig};
//!
//! let tracker = ErrorTracker::new(ErrorTrackerConfig::default());
//! for user in [17, 42] {
//!     let error = std::io::Error::other(format!("user {user} not found"));
//!     tracker.capture(&error, ErrorContext::new(ErrorCategory::Handler).route("/users/{id}"));
//! }
//! tracker.capture_message("http_500", "upstream returned 503", ErrorContext::new(ErrorCategory::Http5xx));
//!
//! let report = tracker.report();
//! assert_eq!((report.total, report.groups), (3, 2));
//! let top = &report.top_by_count[0];
//! assert_eq!(top.fingerprint, "std::io::error::Error: user <n> not found");
//! assert_eq!((top.count, top.sample.message.as_str()), (2, "user 42 not found"));
//! assert_eq!(report.by_category["http_5xx"], 1);
//! let json = serde_json::to_string(&report).unwrap(); // the body of GET /errors/report
//! assert!(json.contains(r#""route":"/users/{id}""#));
//! ```

use std::time::Duration;

use serde::Serialize;

mod bounded;
mod cause;
pub(crate) mod fingerprint;
mod impact;
mod report;
mod tracker;

pub use crate::redact::default_redact;
pub use cause::ErrorCause;
pub use fingerprint::fingerprint;
pub use impact::{Hint, Hints, SKETCH_STD_ERROR, Severity, SeverityMap, Trend, UserKey};
pub use report::{ErrorReport, GroupReport, Sample};
pub use tracker::ErrorTracker;

/// What kind of failure an error is: the `category` label of
/// `redline_errors_total`, a closed set so the metric stays bounded.
///
/// ```
/// use redline::errors::ErrorCategory;
///
/// assert_eq!(ErrorCategory::Http5xx.as_str(), "http_5xx");
/// assert_eq!(ErrorCategory::default(), ErrorCategory::Other);
/// assert_eq!(serde_json::to_string(&ErrorCategory::Timeout).unwrap(), r#""timeout""#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    /// A response with a 5xx status.
    #[serde(rename = "http_5xx")]
    Http5xx,
    /// A panic (caught by a handler or a task supervisor).
    Panic,
    /// An error returned by a request or message handler.
    Handler,
    /// A failed call to a dependency (database, cache, another service).
    Dependency,
    /// Something that took too long.
    Timeout,
    /// Invalid input or state.
    Validation,
    /// A bug or broken invariant in the service itself.
    Internal,
    /// Anything else.
    #[default]
    Other,
}

impl ErrorCategory {
    /// Every category, in label order (the order of the series of
    /// `redline_errors_total`).
    ///
    /// ```
    /// use redline::errors::ErrorCategory;
    ///
    /// assert_eq!(ErrorCategory::ALL.len(), 8);
    /// assert_eq!(ErrorCategory::ALL[0], ErrorCategory::Http5xx);
    /// assert_eq!(ErrorCategory::ALL[7], ErrorCategory::Other);
    /// ```
    pub const ALL: [ErrorCategory; 8] = [
        ErrorCategory::Http5xx,
        ErrorCategory::Panic,
        ErrorCategory::Handler,
        ErrorCategory::Dependency,
        ErrorCategory::Timeout,
        ErrorCategory::Validation,
        ErrorCategory::Internal,
        ErrorCategory::Other,
    ];

    /// The label value (also the serialized name).
    ///
    /// ```
    /// use redline::errors::ErrorCategory;
    ///
    /// let labels: Vec<_> = ErrorCategory::ALL.iter().map(|c| c.as_str()).collect();
    /// assert_eq!(
    ///     labels,
    ///     ["http_5xx", "panic", "handler", "dependency", "timeout", "validation", "internal", "other"]
    /// );
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Http5xx => "http_5xx",
            ErrorCategory::Panic => "panic",
            ErrorCategory::Handler => "handler",
            ErrorCategory::Dependency => "dependency",
            ErrorCategory::Timeout => "timeout",
            ErrorCategory::Validation => "validation",
            ErrorCategory::Internal => "internal",
            ErrorCategory::Other => "other",
        }
    }

    /// The position of the category in [`ErrorCategory::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Where and how an error happened: its category, and what the sample of
/// its group shows (route, request and trace ids, extra fields).
///
/// ```
/// use redline::errors::{ErrorCategory, ErrorContext};
///
/// let context = ErrorContext::new(ErrorCategory::Dependency)
///     .route("/orders/{id}")
///     .request_id("req-7")
///     .trace_id("4bf92f3577b34da6a3ce929d0e0e4736")
///     .field("db", "orders-primary");
/// assert_eq!(context.route.as_deref(), Some("/orders/{id}"));
/// assert_eq!(context.fields, [("db".to_owned(), "orders-primary".to_owned())]);
/// assert_eq!(ErrorContext::default().category, ErrorCategory::Other);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The category counted in `redline_errors_total`.
    pub category: ErrorCategory,
    /// The route (template, such as `/users/{id}`, rather than the path).
    pub route: Option<String>,
    /// The id of the request that failed.
    pub request_id: Option<String>,
    /// The trace the error happened in.
    pub trace_id: Option<String>,
    /// Extra key/value pairs. The sample keeps the first 16 keys (at most
    /// 64 characters each) and values (redacted, at most 256 characters;
    /// a key naming a secret, such as `password`, hides its value whole).
    /// An `operation` field is also a root-cause hint of the group.
    pub fields: Vec<(String, String)>,
    /// The user the error reached (hashed; counted per group, never shown).
    pub user: Option<UserKey>,
    /// What caused it, beyond the message (a handler's error body, say):
    /// the sample keeps it redacted, at most 1024 characters.
    pub cause: Option<String>,
    /// The messages of the error's `source()` chain, outermost first
    /// ([`ErrorTracker::capture`] fills it from the error itself): the
    /// sample keeps at most 8, redacted, at most 256 characters each.
    pub chain: Vec<String>,
}

impl ErrorContext {
    /// A context with `category` and nothing else.
    ///
    /// ```
    /// use redline::errors::{ErrorCategory, ErrorContext};
    ///
    /// let context = ErrorContext::new(ErrorCategory::Timeout);
    /// assert_eq!(context.category, ErrorCategory::Timeout);
    /// assert!(context.route.is_none() && context.fields.is_empty());
    /// ```
    pub fn new(category: ErrorCategory) -> Self {
        Self {
            category,
            ..Self::default()
        }
    }

    /// Sets the route.
    ///
    /// ```
    /// use redline::errors::ErrorContext;
    ///
    /// let context = ErrorContext::default().route("/users/{id}");
    /// assert_eq!(context.route.as_deref(), Some("/users/{id}"));
    /// ```
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Sets the request id.
    ///
    /// ```
    /// use redline::errors::ErrorContext;
    ///
    /// let context = ErrorContext::default().request_id("req-1");
    /// assert_eq!(context.request_id.as_deref(), Some("req-1"));
    /// ```
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the trace id.
    ///
    /// ```
    /// use redline::errors::ErrorContext;
    ///
    /// let context = ErrorContext::default().trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert_eq!(context.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    /// ```
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Adds a field.
    ///
    /// ```
    /// use redline::errors::ErrorContext;
    ///
    /// let context = ErrorContext::default().field("tenant", "acme").field("attempt", 3.to_string());
    /// assert_eq!(context.fields.len(), 2);
    /// assert_eq!(context.fields[1], ("attempt".to_owned(), "3".to_owned()));
    /// ```
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((key.into(), value.into()));
        self
    }

    /// Sets the user the error reached, by a key of the service's (a user
    /// id, a chat id...): only a keyed hash of it is kept, to count the
    /// distinct users of each group (`users_affected`).
    ///
    /// ```
    /// use redline::errors::{ErrorContext, UserKey};
    ///
    /// let context = ErrorContext::default().user(&"user-17");
    /// assert_eq!(context.user, Some(UserKey::new(&"user-17")));
    /// ```
    pub fn user<K: std::hash::Hash + ?Sized>(mut self, key: &K) -> Self {
        self.user = Some(UserKey::new(key));
        self
    }

    /// Sets the cause (redacted and bounded in the sample).
    ///
    /// ```
    /// use redline::errors::ErrorContext;
    ///
    /// let context = ErrorContext::default().cause("pool exhausted after 30s");
    /// assert_eq!(context.cause.as_deref(), Some("pool exhausted after 30s"));
    /// ```
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

/// Settings of an [`ErrorTracker`].
///
/// ```
/// use std::time::Duration;
/// use redline::errors::{ErrorTracker, ErrorTrackerConfig};
///
/// let config = ErrorTrackerConfig {
///     max_groups: 100,
///     rate_window: Duration::from_secs(15 * 60),
///     ..Default::default()
/// };
/// let tracker = ErrorTracker::new(config);
/// assert_eq!(tracker.report().window_seconds, 900);
/// ```
#[derive(Debug, Clone)]
pub struct ErrorTrackerConfig {
    /// Most groups kept (at least 1); the least recently seen group is
    /// evicted to make room for a new one. Default 500.
    pub max_groups: usize,
    /// The window of [`ErrorReport::rate_per_minute`], counted in whole
    /// minutes (rounded up, 1 minute to 24 hours). Default 5 minutes.
    pub rate_window: Duration,
    /// The severity of each category, and how many users raise it (see
    /// [`SeverityMap`]). Default: [`SeverityMap::default`].
    pub severity: SeverityMap,
    /// Masks secrets and personal data in samples (message, route, field
    /// values) and fingerprints. Default: [`Redactor::default`](crate::redact::Redactor::default); a
    /// [`Telemetry`](crate::Telemetry) passes the one its configuration
    /// builds.
    pub redactor: crate::redact::Redactor,
}

impl Default for ErrorTrackerConfig {
    /// 500 groups, a 5-minute rate window, the default redactor.
    ///
    /// ```
    /// let config = redline::errors::ErrorTrackerConfig::default();
    /// assert_eq!(config.max_groups, 500);
    /// assert_eq!(config.rate_window.as_secs(), 300);
    /// assert_eq!(config.redactor.redact("password=x"), "password=[REDACTED]");
    /// ```
    fn default() -> Self {
        Self {
            max_groups: 500,
            rate_window: Duration::from_secs(5 * 60),
            severity: SeverityMap::default(),
            redactor: crate::redact::Redactor::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_labels_match_serialization() {
        for (i, category) in ErrorCategory::ALL.into_iter().enumerate() {
            assert_eq!(category.index(), i);
            assert_eq!(
                serde_json::to_value(category).unwrap(),
                serde_json::Value::from(category.as_str())
            );
        }
    }

    #[test]
    fn context_builder() {
        let context = ErrorContext::new(ErrorCategory::Panic)
            .route("/r")
            .request_id("q")
            .trace_id("t")
            .field("k", "v");
        assert_eq!(
            context,
            ErrorContext {
                category: ErrorCategory::Panic,
                route: Some("/r".into()),
                request_id: Some("q".into()),
                trace_id: Some("t".into()),
                fields: vec![("k".into(), "v".into())],
                ..ErrorContext::default()
            }
        );
    }
}
