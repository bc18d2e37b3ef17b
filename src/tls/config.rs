//! The TLS settings: the files of a listener, and the OTLP exporters'
//! authorities and client certificate. Parsing only names files; they are
//! read when the listener or exporter is built.

use std::path::PathBuf;

use crate::parse::{ConfigError, invalid, without_feature};

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

/// A TLS listener's files (`REDLINE_TLS_*` for the service listener,
/// `REDLINE_ADMIN_TLS_*` for the admin listener).
///
/// ```
/// let tls = redline::tls::ListenerTlsConfig {
///     cert_file: "/etc/tls/tls.crt".into(),
///     key_file: "/etc/tls/tls.key".into(),
///     client_ca_file: None,
/// };
/// let config = redline::Config { tls: Some(tls), ..Default::default() };
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerTlsConfig {
    /// The certificate chain, PEM, leaf first.
    pub cert_file: PathBuf,
    /// The leaf's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// Authorities whose client certificates are accepted (PEM bundle);
    /// when set, a client without such a certificate is refused in the
    /// handshake. The admin listener only.
    pub client_ca_file: Option<PathBuf>,
}

/// The variables of one listener's TLS settings, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListenerVars {
    pub(crate) cert: &'static str,
    pub(crate) key: &'static str,
    pub(crate) client_ca: &'static str,
}

/// The admin listener's variables.
pub(crate) const ADMIN_VARS: ListenerVars = ListenerVars {
    cert: "REDLINE_ADMIN_TLS_CERT_FILE",
    key: "REDLINE_ADMIN_TLS_KEY_FILE",
    client_ca: "REDLINE_ADMIN_TLS_CLIENT_CA_FILE",
};

/// The service listener's variables (no client certificates there).
pub(crate) const API_VARS: ListenerVars = ListenerVars {
    cert: "REDLINE_TLS_CERT_FILE",
    key: "REDLINE_TLS_KEY_FILE",
    client_ca: "",
};

fn path(var: &str, v: &str) -> Result<PathBuf, ConfigError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(invalid(var, v, "a file path"));
    }
    if !cfg!(feature = "tls") {
        return Err(without_feature(var, v, "unset", "tls", "enable it for TLS"));
    }
    Ok(PathBuf::from(v))
}

/// Reads one listener's settings: both files or neither.
pub(crate) fn listener_tls_from_source(
    get: Get<'_>,
    vars: ListenerVars,
) -> Result<Option<ListenerTlsConfig>, ConfigError> {
    let cert = get(vars.cert);
    let key = get(vars.key);
    let client_ca = if vars.client_ca.is_empty() {
        None
    } else {
        get(vars.client_ca)
    };
    let (cert, key) = match (cert, key) {
        (None, None) => {
            return match client_ca {
                Some((var, v)) => Err(invalid(
                    &var,
                    &v,
                    &format!(
                        "unset: client certificates need TLS ({} and {})",
                        vars.cert, vars.key
                    ),
                )),
                None => Ok(None),
            };
        }
        (Some((var, v)), None) => {
            return Err(invalid(
                &var,
                &v,
                &format!("unset, or set with {}", vars.key),
            ));
        }
        (None, Some((var, v))) => {
            return Err(invalid(
                &var,
                &v,
                &format!("unset, or set with {}", vars.cert),
            ));
        }
        (Some(cert), Some(key)) => (cert, key),
    };
    Ok(Some(ListenerTlsConfig {
        cert_file: path(&cert.0, &cert.1)?,
        key_file: path(&key.0, &key.1)?,
        client_ca_file: client_ca.map(|(var, v)| path(&var, &v)).transpose()?,
    }))
}

/// An OTLP exporter's TLS files, from
/// `OTEL_EXPORTER_OTLP_[SIGNAL_]CERTIFICATE`, `…_CLIENT_CERTIFICATE` and
/// `…_CLIENT_KEY` (the signal's variable wins over the generic one). They
/// apply to `https://` endpoints; without a certificate the system's
/// authorities are trusted.
///
/// ```
/// let tls = redline::tls::OtlpTls {
///     certificate: Some("/etc/otel/ca.pem".into()),
///     ..Default::default()
/// };
/// assert!(tls.client_certificate.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtlpTls {
    /// The authorities to trust (PEM bundle) instead of the system's.
    pub certificate: Option<PathBuf>,
    /// The client's certificate chain (PEM), for mTLS.
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub client_key: Option<PathBuf>,
}

/// The OTLP signal an exporter sends, for the names of its variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Made by the span exporter, built with a transport only.
    #[cfg_attr(not(feature = "otlp-logs"), allow(dead_code))]
    Traces,
    /// Made by the log exporter, built with a transport only.
    #[cfg_attr(not(feature = "otlp-logs"), allow(dead_code))]
    Logs,
}

#[cfg(all(feature = "tls", any(feature = "otlp-grpc", feature = "otlp-http")))]
impl Signal {
    /// The settings of file `i` (certificate, client certificate, client
    /// key), as the specification writes them, for messages.
    pub(crate) fn variable(self, i: usize) -> &'static str {
        const TRACES: [&str; 3] = [
            "OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE",
            "OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_[TRACES_]CLIENT_KEY",
        ];
        const LOGS: [&str; 3] = [
            "OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE",
            "OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_KEY",
        ];
        match self {
            Signal::Traces => TRACES[i],
            Signal::Logs => LOGS[i],
        }
    }
}

/// Reads an exporter's TLS settings for `signal` (`TRACES`, `LOGS`).
pub(crate) fn otlp_tls_from_source(get: Get<'_>, signal: &str) -> Result<OtlpTls, ConfigError> {
    // Every name the parsers may ask for, as static strings for messages.
    const NAMES: [[&str; 3]; 3] = [
        [
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        ],
        [
            "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY",
        ],
        [
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        ],
    ];
    let own = match signal {
        "TRACES" => NAMES[0],
        _ => NAMES[1],
    };
    let mut tls = OtlpTls::default();
    for i in 0..3 {
        let found = match get(own[i]) {
            Some(v) => Some((own[i], v.1)),
            None => get(NAMES[2][i]).map(|v| (NAMES[2][i], v.1)),
        };
        if let Some((var, v)) = found {
            let p = Some(path(var, &v)?);
            match i {
                0 => tls.certificate = p,
                1 => tls.client_certificate = p,
                _ => tls.client_key = p,
            }
        }
    }
    // A certificate without its key (or the reverse) is refused when the
    // exporter is built: only an `https://` endpoint uses them, and one
    // signal may have its own key beside a generic certificate.
    Ok(tls)
}

/// Refuses an `https://` endpoint in a build without TLS.
pub(crate) fn check_endpoint_scheme(var: &str, endpoint: &str) -> Result<(), ConfigError> {
    if !cfg!(feature = "tls") && endpoint.trim().to_ascii_lowercase().starts_with("https://") {
        return Err(without_feature(
            var,
            endpoint,
            "an http:// endpoint",
            "tls",
            "enable it for https:// endpoints",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_source;

    #[test]
    fn a_listener_needs_both_files_and_client_cas_need_tls() {
        let get = test_source(&[("REDLINE_TLS_CERT_FILE", "/c.pem")]);
        assert!(listener_tls_from_source(&get, API_VARS).is_err());
        let get = test_source(&[("REDLINE_ADMIN_TLS_CLIENT_CA_FILE", "/ca.pem")]);
        assert!(listener_tls_from_source(&get, ADMIN_VARS).is_err());
        let get = test_source(&[]);
        assert_eq!(listener_tls_from_source(&get, ADMIN_VARS).unwrap(), None);
        let get = test_source(&[
            ("REDLINE_ADMIN_TLS_CERT_FILE", "/c.pem"),
            ("REDLINE_ADMIN_TLS_KEY_FILE", "/k.pem"),
            ("REDLINE_ADMIN_TLS_CLIENT_CA_FILE", "/ca.pem"),
        ]);
        let parsed = listener_tls_from_source(&get, ADMIN_VARS);
        if cfg!(feature = "tls") {
            let c = parsed.unwrap().unwrap();
            assert_eq!(c.client_ca_file, Some(PathBuf::from("/ca.pem")));
        } else {
            assert!(parsed.unwrap_err().to_string().contains("`tls`"));
        }
    }

    #[test]
    fn the_signal_variable_wins() {
        let get = test_source(&[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic.pem"),
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces.pem"),
        ]);
        let parsed = otlp_tls_from_source(&get, "TRACES");
        if !cfg!(feature = "tls") {
            assert!(parsed.is_err());
            return;
        }
        assert_eq!(
            parsed.unwrap().certificate,
            Some(PathBuf::from("/traces.pem"))
        );
        let logs = otlp_tls_from_source(&get, "LOGS").unwrap();
        assert_eq!(logs.certificate, Some(PathBuf::from("/generic.pem")));
    }
}
