//! Why redline could not start.

use std::net::SocketAddr;

use crate::parse::ConfigError;

/// Why redline could not start.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let first = redline::Telemetry::builder().registry(registry.clone()).build();
/// assert!(first.is_ok());
/// // The same families cannot be registered twice in one registry.
/// let second = redline::Telemetry::builder().registry(registry).build();
/// assert!(matches!(second, Err(redline::Error::Registry(_))));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A metric could not be registered (for example, a collector of the
    /// same name is already in a registry passed to the builder).
    #[error("cannot register metrics: {0}")]
    Registry(RegistryError),
    /// The admin listener could not bind its address.
    #[error(
        "cannot listen on {addr} (set REDLINE_ADMIN_LISTEN to another address, or off): {source}"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The trace pipeline could not start.
    #[error(transparent)]
    Traces(#[from] crate::traces::TraceError),
    /// The OTLP log pipeline could not start.
    #[error(transparent)]
    LogExport(#[from] crate::logs::LogExportError),
    /// A listener's certificate, key or client authorities cannot be used
    /// (missing, unreadable, expired, mismatched).
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// A redaction pattern of the configuration is invalid.
    #[error(transparent)]
    Redact(#[from] crate::redact::RedactError),
}

/// Why a metric family could not be registered (the registry's own
/// message: a duplicate name, an inconsistent label set...). Opaque, so the
/// `prometheus` crate's error type stays out of redline's API.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let _first = redline::Telemetry::builder().registry(registry.clone()).build().unwrap();
/// let Err(redline::Error::Registry(e)) = redline::Telemetry::builder().registry(registry).build() else {
///     panic!("registered twice");
/// };
/// assert!(e.to_string().contains("Duplicate"), "{e}");
/// ```
#[derive(Debug)]
pub struct RegistryError(prometheus::Error);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RegistryError {}

// For `?` on the registry's results inside the crate; hidden from the docs
// so the `prometheus` type does not read as part of the API.
#[doc(hidden)]
impl From<prometheus::Error> for Error {
    fn from(e: prometheus::Error) -> Self {
        Error::Registry(RegistryError(e))
    }
}
