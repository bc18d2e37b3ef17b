//! Security and audit events, named with the OWASP Logging Vocabulary
//! (<https://cheatsheetseries.owasp.org/cheatsheets/Logging_Vocabulary_Cheat_Sheet.html>),
//! logged at `warn` on the target `redline::security` and counted in
//! `redline_security_events_total{event}`. Every event name of the closed
//! set is exported from the start (at 0), so alerts see the series before
//! the first incident.

use prometheus::{IntCounterVec, Opts, Registry};

/// A security event. The set is closed: the metric label stays bounded.
///
/// ```
/// assert_eq!(redline::logs::SecurityEvent::AuthnLoginFail.as_str(), "authn_login_fail");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEvent {
    /// `authn_login_fail`: a credential (token, password) was refused.
    AuthnLoginFail,
    /// `authn_login_success`: a credential was accepted (audit).
    AuthnLoginSuccess,
    /// `authn_token_invalid`: a token was malformed or expired.
    AuthnTokenInvalid,
    /// `authz_fail`: an authenticated or anonymous caller was refused access.
    AuthzFail,
    /// `authz_admin`: an administrative action was performed (audit).
    AuthzAdmin,
    /// `excess_rate_limit_exceeded`: a caller exceeded its rate limit.
    ExcessRateLimitExceeded,
    /// `input_validation_fail`: input was rejected by validation.
    InputValidationFail,
    /// `malicious_excess_404`: a burst of requests for things that do not
    /// exist (scanning).
    MaliciousExcess404,
    /// `sys_startup`: the service started (audit).
    SysStartup,
    /// `sys_shutdown`: the service is shutting down (audit).
    SysShutdown,
    /// `sys_monitor_disabled`: log lines can no longer be written (a full
    /// disk): audit lines are being lost.
    SysMonitorDisabled,
    /// `sys_monitor_enabled`: log lines are written again.
    SysMonitorEnabled,
}

impl SecurityEvent {
    /// Every event, for exporting all series up front.
    pub const ALL: [SecurityEvent; 12] = [
        SecurityEvent::AuthnLoginFail,
        SecurityEvent::AuthnLoginSuccess,
        SecurityEvent::AuthnTokenInvalid,
        SecurityEvent::AuthzFail,
        SecurityEvent::AuthzAdmin,
        SecurityEvent::ExcessRateLimitExceeded,
        SecurityEvent::InputValidationFail,
        SecurityEvent::MaliciousExcess404,
        SecurityEvent::SysStartup,
        SecurityEvent::SysShutdown,
        SecurityEvent::SysMonitorDisabled,
        SecurityEvent::SysMonitorEnabled,
    ];

    /// Whether the event is a refusal or a loss (logged at WARN), rather
    /// than a record of what went as it should (at INFO: `sys_startup`,
    /// `sys_shutdown`, `sys_monitor_enabled`, `authn_login_success`,
    /// `authz_admin`).
    ///
    /// ```
    /// use redline::logs::SecurityEvent;
    /// assert!(SecurityEvent::AuthnLoginFail.is_failure());
    /// assert!(!SecurityEvent::SysStartup.is_failure());
    /// ```
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            SecurityEvent::SysStartup
                | SecurityEvent::SysShutdown
                | SecurityEvent::SysMonitorEnabled
                | SecurityEvent::AuthnLoginSuccess
                | SecurityEvent::AuthzAdmin
        )
    }

    /// The OWASP vocabulary name.
    ///
    /// ```
    /// assert_eq!(redline::logs::SecurityEvent::ExcessRateLimitExceeded.as_str(), "excess_rate_limit_exceeded");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityEvent::AuthnLoginFail => "authn_login_fail",
            SecurityEvent::AuthnLoginSuccess => "authn_login_success",
            SecurityEvent::AuthnTokenInvalid => "authn_token_invalid",
            SecurityEvent::AuthzFail => "authz_fail",
            SecurityEvent::AuthzAdmin => "authz_admin",
            SecurityEvent::ExcessRateLimitExceeded => "excess_rate_limit_exceeded",
            SecurityEvent::InputValidationFail => "input_validation_fail",
            SecurityEvent::MaliciousExcess404 => "malicious_excess_404",
            SecurityEvent::SysStartup => "sys_startup",
            SecurityEvent::SysShutdown => "sys_shutdown",
            SecurityEvent::SysMonitorDisabled => "sys_monitor_disabled",
            SecurityEvent::SysMonitorEnabled => "sys_monitor_enabled",
        }
    }
}

/// Records security events: one `warn` line on `redline::security` (with
/// the event name in `event`) and one count. Cheap to clone.
///
/// A flood (a password spray, a scanner) must not flood the logs: each
/// event writes at most 10 lines a second (1 for rate-limit refusals and
/// input validation failures, floods by nature); beyond that it is only
/// counted, and the next line written carries `suppressed`, the number of
/// lines left out since the previous one. The counter always counts every
/// event.
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// t.security().record(redline::logs::SecurityEvent::InputValidationFail, "127.0.0.1", "message too long");
/// assert!(t.render_metrics().contains(r#"redline_security_events_total{event="input_validation_fail"} 1"#));
/// ```
#[derive(Clone)]
pub struct SecurityEvents {
    counter: IntCounterVec,
    budgets: std::sync::Arc<[LineBudget]>,
}

/// Lines an event may write per second.
fn lines_per_second(event: SecurityEvent) -> u32 {
    match event {
        SecurityEvent::ExcessRateLimitExceeded | SecurityEvent::InputValidationFail => 1,
        _ => 10,
    }
}

#[derive(Default)]
struct LineBudget {
    per_second: u32,
    second: std::sync::atomic::AtomicU64,
    used: std::sync::atomic::AtomicU32,
    suppressed: std::sync::atomic::AtomicU64,
}

impl LineBudget {
    /// `Some(lines suppressed before this one)` if a line may be written.
    fn take(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        static STARTED: std::sync::LazyLock<std::time::Instant> =
            std::sync::LazyLock::new(std::time::Instant::now);
        let now = STARTED.elapsed().as_secs() + 1;
        if self.second.swap(now, Relaxed) != now {
            self.used.store(0, Relaxed);
        }
        if self.used.fetch_add(1, Relaxed) < self.per_second {
            Some(self.suppressed.swap(0, Relaxed))
        } else {
            self.suppressed.fetch_add(1, Relaxed);
            None
        }
    }
}

impl SecurityEvents {
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let counter = IntCounterVec::new(
            Opts::new(
                "redline_security_events_total",
                "Security events by OWASP logging vocabulary name.",
            ),
            &["event"],
        )?;
        for e in SecurityEvent::ALL {
            counter.with_label_values(&[e.as_str()]);
        }
        registry.register(Box::new(counter.clone()))?;
        Ok(Self {
            counter,
            budgets: SecurityEvent::ALL
                .iter()
                .map(|&e| LineBudget {
                    per_second: lines_per_second(e),
                    ..LineBudget::default()
                })
                .collect(),
        })
    }

    /// Logs and counts `event`. `source` is the caller's address (never a
    /// credential); `detail` a short description without secrets. Both are
    /// written as escaped JSON strings, so they cannot forge log lines.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.security().record(redline::logs::SecurityEvent::AuthzFail, "10.0.0.7", "GET /admin");
    /// ```
    pub fn record(&self, event: SecurityEvent, source: &str, detail: &str) {
        self.record_lazy(event, || (source, detail));
    }

    /// [`SecurityEvents::record`] with the source and detail formatted only
    /// when the line is written (not for a flood's suppressed lines).
    pub(crate) fn record_lazy<S: AsRef<str>, D: AsRef<str>>(
        &self,
        event: SecurityEvent,
        text: impl FnOnce() -> (S, D),
    ) {
        let Some(suppressed) = self.count_and_take(event) else {
            return;
        };
        let (source, detail) = text();
        let (source, detail) = (source.as_ref(), detail.as_ref());
        // Records of what went as it should (start, stop, a login, a
        // change made) at INFO; refusals and losses at WARN. The audit
        // floor keeps both. (`tracing`'s level must be known where the
        // event is written: one line, written at either level.)
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "redline::security",
                    event = event.as_str(),
                    source,
                    detail,
                    suppressed,
                    "security event"
                )
            };
        }
        if event.is_failure() {
            line!(warn);
        } else {
            line!(info);
        }
    }

    /// Records an administrative action (`authz_admin`): who (`principal`,
    /// a name, never a credential), what (`route`, method and path
    /// template), from where (`source`) and the outcome (`status`, the
    /// response's). Logged with those fields, throttled and counted as
    /// [`SecurityEvents::record`] is.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.security().record_admin_action("10.0.0.7", "ops", "PUT /logs/level", 200);
    /// assert_eq!(t.security().count(redline::logs::SecurityEvent::AuthzAdmin), 1);
    /// ```
    pub fn record_admin_action(&self, source: &str, principal: &str, route: &str, status: u16) {
        let event = SecurityEvent::AuthzAdmin;
        let Some(suppressed) = self.count_and_take(event) else {
            return;
        };
        tracing::info!(
            target: "redline::security",
            event = event.as_str(),
            source,
            principal,
            route,
            status,
            detail = format_args!("{route} by {principal}: {status}"),
            suppressed,
            "security event"
        );
    }

    /// Counts `event`; `Some(lines suppressed before this one)` if a line
    /// may be written.
    fn count_and_take(&self, event: SecurityEvent) -> Option<u64> {
        self.counter.with_label_values(&[event.as_str()]).inc();
        let index = SecurityEvent::ALL.iter().position(|e| *e == event);
        index
            .and_then(|i| self.budgets.get(i))
            .and_then(LineBudget::take)
    }

    /// Counts `event` without a log line (for floods already logged once,
    /// such as rate-limit refusals).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// t.security().count_only(redline::logs::SecurityEvent::ExcessRateLimitExceeded);
    /// assert_eq!(t.security().count(redline::logs::SecurityEvent::ExcessRateLimitExceeded), 1);
    /// ```
    pub fn count_only(&self, event: SecurityEvent) {
        self.counter.with_label_values(&[event.as_str()]).inc();
    }

    /// How many times `event` was recorded.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert_eq!(t.security().count(redline::logs::SecurityEvent::AuthnLoginFail), 0);
    /// ```
    pub fn count(&self, event: SecurityEvent) -> u64 {
        self.counter.with_label_values(&[event.as_str()]).get()
    }
}

impl std::fmt::Debug for SecurityEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityEvents").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_writes_at_most_ten_lines_a_second_and_counts_everything() {
        let budget = LineBudget {
            per_second: lines_per_second(SecurityEvent::AuthnLoginFail),
            ..LineBudget::default()
        };
        let written = (0..1000).filter(|_| budget.take().is_some()).count();
        // Ten in this second (eleven if the second turned meanwhile, twenty).
        assert!((10..=20).contains(&written), "{written}");
        let registry = Registry::new();
        let events = SecurityEvents::register(&registry).unwrap();
        for _ in 0..1000 {
            events.record(SecurityEvent::AuthnLoginFail, "10.0.0.1", "GET /info");
        }
        assert_eq!(events.count(SecurityEvent::AuthnLoginFail), 1000);
    }
}
