//! What each listener is: its connection cap (from the hardening settings
//! and the process's open-file limit), its idle timeout, and its metric
//! families (`redline_server_*`, label `listener`). The accept loop that
//! uses them is `listener.rs`.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use std::time::Duration;

/// Open-file limit assumed when `/proc/self/limits` cannot be read.
const ASSUMED_FD_LIMIT: u64 = 1024;
/// Connections of the admin listener at most, by default.
const ADMIN_MAX_CONNECTIONS: usize = 256;

/// Which listener a server is: the `listener` label of its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// The admin listener (`/metrics`, `/health`…).
    Admin,
    /// A service listener (the demo's API).
    Api,
}

impl Listener {
    const ALL: [Listener; 2] = [Listener::Admin, Listener::Api];

    /// The `listener` label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Listener::Admin => "admin",
            Listener::Api => "api",
        }
    }
}

/// Why the server closed a connection itself (the `reason` label).
const REASONS: [&str; 3] = ["idle_timeout", "evicted", "refused_over_cap"];

/// The server's metric families, registered once per [`crate::Telemetry`].
#[derive(Clone)]
pub(crate) struct ServerMetrics {
    connections: IntGaugeVec,
    closed: IntCounterVec,
    accept_errors: IntCounterVec,
    /// Each listener's TLS, by [`Listener`] (`admin`, `api`), if configured.
    #[cfg(feature = "tls")]
    tls: [Option<std::sync::Arc<crate::tls::ServerTls>>; 2],
}

impl ServerMetrics {
    /// Registers the families, with every (bounded) label set at 0.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let connections = IntGaugeVec::new(
            Opts::new(
                "redline_server_connections",
                "Open connections of a server redline runs, by listener.",
            ),
            &["listener"],
        )?;
        let closed = IntCounterVec::new(
            Opts::new(
                "redline_server_connections_closed_total",
                "Connections the server closed itself: idle_timeout, evicted (idle, to make room at the cap), refused_over_cap.",
            ),
            &["listener", "reason"],
        )?;
        let accept_errors = IntCounterVec::new(
            Opts::new(
                "redline_server_accept_errors_total",
                "Failed accepts (out of file descriptors and the like), by listener.",
            ),
            &["listener"],
        )?;
        for listener in Listener::ALL {
            connections.with_label_values(&[listener.label()]);
            accept_errors.with_label_values(&[listener.label()]);
            for reason in REASONS {
                closed.with_label_values(&[listener.label(), reason]);
            }
        }
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(closed.clone()))?;
        registry.register(Box::new(accept_errors.clone()))?;
        Ok(Self {
            connections,
            closed,
            accept_errors,
            #[cfg(feature = "tls")]
            tls: [None, None],
        })
    }

    /// Puts `listener` on TLS (its files already loaded and checked).
    #[cfg(feature = "tls")]
    pub(crate) fn set_tls(
        &mut self,
        listener: Listener,
        tls: std::sync::Arc<crate::tls::ServerTls>,
    ) {
        self.tls[listener as usize] = Some(tls);
    }

    fn listener(&self, listener: Listener) -> ListenerMetrics {
        let l = listener.label();
        ListenerMetrics {
            connections: self.connections.with_label_values(&[l]),
            idle_timeout: self.closed.with_label_values(&[l, REASONS[0]]),
            evicted: self.closed.with_label_values(&[l, REASONS[1]]),
            refused: self.closed.with_label_values(&[l, REASONS[2]]),
            accept_errors: self.accept_errors.with_label_values(&[l]),
        }
    }
}

/// One listener's series.
#[derive(Clone)]
pub(super) struct ListenerMetrics {
    pub(super) connections: IntGauge,
    pub(super) idle_timeout: IntCounter,
    pub(super) evicted: IntCounter,
    pub(super) refused: IntCounter,
    pub(super) accept_errors: IntCounter,
}

/// How [`serve_until`] runs one listener.
pub(crate) struct ServerSettings {
    /// The listener's name in messages (`demo API`, `admin listener`).
    pub(super) what: &'static str,
    /// Idle and header-read timeout.
    pub(super) idle_timeout: Duration,
    /// Open connections at most.
    pub(super) max_connections: usize,
    pub(super) metrics: ListenerMetrics,
    /// The listener's TLS, if it has it.
    #[cfg(feature = "tls")]
    pub(super) tls: Option<std::sync::Arc<crate::tls::ServerTls>>,
}

impl ServerSettings {
    /// The settings of `listener` from the hardening configuration, with
    /// its metrics.
    pub(crate) fn new(
        hardening: &crate::security::HardeningConfig,
        metrics: &ServerMetrics,
        listener: Listener,
        what: &'static str,
    ) -> Self {
        let (service, admin) = connection_caps(open_file_limit(), hardening.max_connections);
        Self {
            what,
            idle_timeout: hardening.header_read_timeout,
            max_connections: match listener {
                Listener::Admin => admin,
                Listener::Api => service,
            },
            metrics: metrics.listener(listener),
            #[cfg(feature = "tls")]
            tls: metrics.tls[listener as usize].clone(),
        }
    }
}

/// The soft limit on open files of this process, from `/proc/self/limits`
/// (`None` when unreadable, as off Linux; `u64::MAX` when unlimited).
pub(crate) fn open_file_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&text)
}

fn parse_open_file_limit(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" {
        return Some(u64::MAX);
    }
    soft.parse().ok()
}

/// The connection caps `(service listener, admin listener)` for an
/// open-file soft limit (`None`: unknown, 1,024 assumed) and the configured
/// `REDLINE_MAX_CONNECTIONS`.
///
/// By default a service listener may hold half the limit, leaving the other
/// half for everything else the process opens (log files, outgoing
/// connections, the admin listener); the admin listener gets a smaller cap
/// of its own, `min(256, limit / 8)`, within the half left over, so
/// `/metrics` and the health probes stay reachable while the service is
/// saturated. Not smaller: a scraper needs one connection, but a storm of
/// readiness probes (load balancers, kubelets; `tests/health.rs` sends
/// 100 at once) holds one each while a slow check runs, and a newcomer
/// finding every connection busy is refused. With the common limit of
/// 1,024: 512 and 128; with 256: 128 and 32. A configured value sets the
/// service cap, and the admin cap never exceeds it. Every cap is at
/// least 1.
pub(crate) fn connection_caps(limit: Option<u64>, configured: Option<usize>) -> (usize, usize) {
    let limit = usize::try_from(limit.unwrap_or(ASSUMED_FD_LIMIT)).unwrap_or(usize::MAX);
    let service = configured.unwrap_or(limit / 2).max(1);
    let admin = ADMIN_MAX_CONNECTIONS.min(limit / 8).min(service).max(1);
    (service, admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_file_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max processes             63448                63448                processes \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(text), Some(1024));
        let unlimited = text.replace("1024    ", "unlimited");
        assert_eq!(parse_open_file_limit(&unlimited), Some(u64::MAX));
        assert_eq!(parse_open_file_limit("Max processes 5"), None);
        if cfg!(target_os = "linux") {
            assert!(open_file_limit().is_some_and(|n| n > 0));
        }
    }

    #[test]
    fn max_connections_is_configured_within_bounds() {
        let parse = |v: &str| {
            crate::Config::from_lookup(|name| {
                (name == "REDLINE_MAX_CONNECTIONS").then(|| v.to_owned())
            })
            .map(|c| c.hardening.max_connections)
        };
        assert_eq!(parse("64").unwrap(), Some(64));
        for bad in ["0", "-1", "lots", "1000001"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps_leave_the_admin_listener_a_reserve() {
        assert_eq!(connection_caps(Some(1024), None), (512, 128));
        assert_eq!(connection_caps(Some(256), None), (128, 32));
        assert_eq!(connection_caps(None, None), (512, 128));
        assert_eq!(connection_caps(Some(8), None), (4, 1));
        assert_eq!(connection_caps(Some(1 << 20), Some(2000)), (2000, 256));
        assert_eq!(connection_caps(Some(20_000), None), (10_000, 256));
        assert_eq!(connection_caps(Some(1024), Some(10)), (10, 10));
        assert_eq!(connection_caps(Some(1), None), (1, 1));
        let (service, admin) = connection_caps(Some(u64::MAX), None);
        assert!(service > 1 << 30 && admin == 256);
    }
}
