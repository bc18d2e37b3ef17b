//! Why a certificate, key or authority bundle could not be used.

use std::path::PathBuf;

/// Why TLS could not be set up: at start (an [`Error::Tls`](crate::Error::Tls))
/// or at a reload (counted, and the certificate in use is kept). Each names
/// the setting and the file, never a key's content.
///
/// ```
/// let e = redline::tls::TlsError::NoCertificate {
///     variable: "REDLINE_TLS_CERT_FILE",
///     path: "/etc/tls/cert.pem".into(),
/// };
/// assert!(e.to_string().contains("REDLINE_TLS_CERT_FILE"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file is missing or unreadable.
    #[error("{variable}={}: cannot read the file: {source}", path.display())]
    Read {
        /// The setting that names the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file that should hold PEM certificates holds none (or bad PEM).
    #[error("{variable}={}: no PEM certificate in the file (expected `-----BEGIN CERTIFICATE-----`)", path.display())]
    NoCertificate {
        /// The setting that names the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable private key.
    #[error("{variable}={}: no usable private key in the file ({reason}); expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`", path.display())]
    NoKey {
        /// The setting that names the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The leaf certificate cannot be parsed.
    #[error("{variable}={}: the first certificate cannot be parsed: {reason}", path.display())]
    BadCertificate {
        /// The setting that names the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        reason: String,
    },
    /// The leaf certificate is outside its validity period.
    #[error("{variable}={}: the certificate {state} ({at}); renew it", path.display())]
    Expired {
        /// The setting that names the file.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// `expired` or `is not valid yet`.
        state: &'static str,
        /// The boundary it is past, RFC 3339.
        at: String,
    },
    /// The private key is not the certificate's.
    #[error("{key_variable}={} is not the private key of the certificate in {cert_variable}={}", key.display(), cert.display())]
    Mismatch {
        /// The certificate's setting.
        cert_variable: &'static str,
        /// The certificate file.
        cert: PathBuf,
        /// The key's setting.
        key_variable: &'static str,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration (an authority bundle it cannot
    /// use, for example).
    #[error("{variable}: {reason}")]
    Rustls {
        /// The setting concerned.
        variable: &'static str,
        /// rustls' reason.
        reason: String,
    },
}
