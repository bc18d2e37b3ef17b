//! TLS with rustls (feature `tls`): the listeners' certificates and the
//! OTLP exporters' trust and client certificates.
//!
//! - **Listeners.** `REDLINE_TLS_CERT_FILE` and `REDLINE_TLS_KEY_FILE` put
//!   the service listener ([`Telemetry::serve`](crate::Telemetry::serve))
//!   on TLS; `REDLINE_ADMIN_TLS_CERT_FILE` and `REDLINE_ADMIN_TLS_KEY_FILE`
//!   the admin listener, and `REDLINE_ADMIN_TLS_CLIENT_CA_FILE` makes it ask
//!   every client for a certificate signed by one of that bundle's
//!   authorities (mTLS). TLS 1.2 and 1.3 with rustls' safe defaults (the
//!   `ring` provider: no OpenSSL, no C toolchain), HTTP/1.1 and HTTP/2 by
//!   ALPN. The files are read at start, where a missing, unreadable,
//!   expired or mismatched certificate or key is a clear error
//!   ([`TlsError`]); then again whenever they change (looked at every
//!   second) or on `SIGHUP`, without closing a connection: new handshakes
//!   get the new certificate, open connections keep theirs. A reload that
//!   fails keeps the certificate in use and is counted.
//! - **Plain HTTP on a TLS port** gets a short `400` telling the client to
//!   use `https://`, and is counted; the handshake has the header-read
//!   timeout (`REDLINE_HEADER_READ_TIMEOUT`).
//! - **OTLP exporters.** `https://` endpoints, with the standard
//!   `OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE` (the authorities to trust
//!   instead of the system's), `…_CLIENT_CERTIFICATE` and `…_CLIENT_KEY`
//!   (mTLS), over gRPC and HTTP ([`OtlpTls`]).
//!
//! Metrics (label `listener`: `admin` or `api`):
//! `redline_tls_certificate_expiry_timestamp_seconds`,
//! `redline_tls_certificate_reloads_total{result}`,
//! `redline_tls_handshake_failures_total{reason}`.

#[cfg(all(feature = "tls", any(feature = "otlp-grpc", feature = "otlp-http")))]
mod client;
mod config;
mod error;
#[cfg(feature = "tls")]
mod metrics;
#[cfg(feature = "tls")]
mod pem;
#[cfg(feature = "tls")]
mod server;
#[cfg(feature = "tls")]
mod watch;

pub use config::{ListenerTlsConfig, OtlpTls};
pub use error::TlsError;

#[cfg(all(feature = "tls", feature = "otlp-grpc"))]
pub(crate) use client::grpc_tls;
#[cfg(all(feature = "tls", feature = "otlp-http"))]
pub(crate) use client::http_client;
pub(crate) use config::{
    ADMIN_VARS, API_VARS, Signal, check_endpoint_scheme, listener_tls_from_source,
    otlp_tls_from_source,
};
#[cfg(feature = "tls")]
pub(crate) use metrics::TlsMetrics;
#[cfg(feature = "tls")]
pub(crate) use server::ServerTls;
