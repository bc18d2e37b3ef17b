//! The access log: one `tracing` event per request (target
//! `redline::access`), with method, route, status, duration, size, error
//! type, request id and trace ids.
//!
//! Cheap by construction (see `docs/PERFORMANCE.md`):
//! - the decision (off, sampled out, or logged) is taken before any
//!   formatting;
//! - field values are borrowed: the route comes from the per-route cache,
//!   and the trace ids are hex on the stack;
//! - the line is formatted once, by the JSON formatter, and goes to a
//!   non-blocking buffer.
//!
//! Failures (5xx, handler errors, panics, broken bodies) and requests slower
//! than the threshold are always logged, at `warn`. Successful fast requests
//! are logged at the configured level, for the configured fraction.

use tracing::Level;

use super::labels::{ErrorType, METHOD_NAMES, METHOD_OTHER};
use super::metrics::HttpMetricsInner;
use crate::logs::LogConfig;

/// The access log settings the layer needs per request.
pub(crate) struct AccessLog {
    level: Level,
    slow_nanos: u64,
    /// Successful fast requests are logged when a random `u64` is below
    /// this (`u64::MAX`: all).
    sample_below: u64,
}

impl AccessLog {
    /// `None` when the access log is off.
    pub(crate) fn new(config: &LogConfig) -> Option<Self> {
        let level = config.access_log?;
        let sample_below = if config.access_log_sample >= 1.0 {
            u64::MAX
        } else {
            (config.access_log_sample.max(0.0) * u64::MAX as f64) as u64
        };
        Some(Self {
            level,
            slow_nanos: config.access_log_slow.as_nanos().min(u64::MAX as u128) as u64,
            sample_below,
        })
    }
}

/// What the layer knows about a finished request.
pub(crate) struct Finished<'a> {
    pub(crate) method: u8,
    pub(crate) route: u32,
    pub(crate) status: u16,
    pub(crate) error: ErrorType,
    pub(crate) nanos: u64,
    pub(crate) response_size: u64,
    pub(crate) request_id: Option<&'a str>,
    /// The server span (its ids are formatted only for a line written).
    pub(crate) span: Option<&'a super::span::ServerSpan>,
}

impl AccessLog {
    /// Whether any access line could be written (a subscriber listens to
    /// `redline::access` at `warn` or above, which failures use).
    #[inline]
    pub(crate) fn wanted(&self) -> bool {
        tracing::enabled!(target: "redline::access", Level::WARN)
    }

    #[inline]
    pub(crate) fn record(&self, metrics: &'static HttpMetricsInner, r: &Finished<'_>) {
        let failed = r.error.is_server_failure();
        let slow = r.nanos > self.slow_nanos;
        let level = if failed || slow {
            Level::WARN
        } else {
            if self.sample_below != u64::MAX
                && crate::traces::sampling::random_u64() >= self.sample_below
            {
                return;
            }
            self.level
        };
        if !enabled(level) {
            return;
        }
        let method_name = if r.method == METHOD_OTHER {
            "_OTHER"
        } else {
            METHOD_NAMES[r.method as usize]
        };
        let route = metrics
            .span_name(r.method, method_name, r.route)
            .map(|(_, route)| route);
        let route: &str = route.as_deref().unwrap_or(super::UNMATCHED_ROUTE);
        let traceparent = r.span.and_then(|s| s.ids());
        let (trace_id, span_id) = match &traceparent {
            Some(tp) => (
                std::str::from_utf8(&tp[3..35]).unwrap_or(""),
                std::str::from_utf8(&tp[36..52]).unwrap_or(""),
            ),
            None => ("", ""),
        };
        let duration_ms = r.nanos as f64 / 1e6;
        let error_type = r.error.label(r.status).unwrap_or("");
        let request_id = r.request_id.unwrap_or("");
        let status = r.status;
        let size = r.response_size;
        macro_rules! emit {
            ($lvl:expr) => {
                tracing::event!(
                    target: "redline::access",
                    $lvl,
                    http.request.method = method_name,
                    http.route = route,
                    http.response.status_code = status,
                    duration_ms,
                    response_size = size,
                    error.type = error_type,
                    request_id,
                    trace_id,
                    span_id,
                    slow,
                    "request"
                )
            };
        }
        match level {
            Level::ERROR => emit!(Level::ERROR),
            Level::WARN => emit!(Level::WARN),
            Level::INFO => emit!(Level::INFO),
            Level::DEBUG => emit!(Level::DEBUG),
            _ => emit!(Level::TRACE),
        }
    }
}

/// Whether an access event at `level` would be recorded (the static level
/// filter and the subscriber's interest), checked before any formatting.
#[inline]
fn enabled(level: Level) -> bool {
    match level {
        Level::ERROR => tracing::enabled!(target: "redline::access", Level::ERROR),
        Level::WARN => tracing::enabled!(target: "redline::access", Level::WARN),
        Level::INFO => tracing::enabled!(target: "redline::access", Level::INFO),
        Level::DEBUG => tracing::enabled!(target: "redline::access", Level::DEBUG),
        _ => tracing::enabled!(target: "redline::access", Level::TRACE),
    }
}
