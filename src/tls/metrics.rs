//! The TLS metric families, and one listener's series of them.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Why a TLS connection ended before its first request (the `reason`
/// label): a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeFailure {
    /// The client spoke plain HTTP to the TLS port (answered with a 400).
    PlainHttp,
    /// No handshake within the header-read timeout.
    Timeout,
    /// The handshake failed: no common protocol or cipher, an unknown
    /// authority, a missing or refused client certificate, garbage.
    Error,
}

const REASONS: [&str; 3] = ["plain_http", "timeout", "error"];

/// The families, registered once per [`crate::Telemetry`] (feature `tls`).
#[derive(Clone)]
pub(crate) struct TlsMetrics {
    expiry: IntGaugeVec,
    reloads: IntCounterVec,
    failures: IntCounterVec,
}

impl TlsMetrics {
    /// Registers the families; a listener's series appear once it has TLS.
    pub(crate) fn register(registry: &Registry) -> prometheus::Result<Self> {
        let expiry = IntGaugeVec::new(
            Opts::new(
                "redline_tls_certificate_expiry_timestamp_seconds",
                "When the certificate a TLS listener serves expires (its notAfter), in seconds since the epoch.",
            ),
            &["listener"],
        )?;
        let reloads = IntCounterVec::new(
            Opts::new(
                "redline_tls_certificate_reloads_total",
                "Reloads of a TLS listener's certificate files after they changed (or SIGHUP): ok, or error (the certificate in use is kept).",
            ),
            &["listener", "result"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "redline_tls_handshake_failures_total",
                "TLS connections that ended before a request: plain_http (answered 400), timeout, error (protocol, authority, client certificate).",
            ),
            &["listener", "reason"],
        )?;
        registry.register(Box::new(expiry.clone()))?;
        registry.register(Box::new(reloads.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        Ok(Self {
            expiry,
            reloads,
            failures,
        })
    }

    /// The series of the listener labelled `listener`, all made at once.
    pub(crate) fn listener(&self, listener: &str) -> ListenerTlsMetrics {
        let failure = |reason| self.failures.with_label_values(&[listener, reason]);
        ListenerTlsMetrics {
            expiry: self.expiry.with_label_values(&[listener]),
            reload_ok: self.reloads.with_label_values(&[listener, "ok"]),
            reload_error: self.reloads.with_label_values(&[listener, "error"]),
            failures: [
                failure(REASONS[0]),
                failure(REASONS[1]),
                failure(REASONS[2]),
            ],
        }
    }
}

/// One TLS listener's series.
#[derive(Clone)]
pub(crate) struct ListenerTlsMetrics {
    pub(crate) expiry: IntGauge,
    pub(crate) reload_ok: IntCounter,
    pub(crate) reload_error: IntCounter,
    failures: [IntCounter; 3],
}

impl ListenerTlsMetrics {
    pub(crate) fn failed(&self, why: HandshakeFailure) {
        self.failures[why as usize].inc();
    }
}
