//! Configuration: environment variables first (OpenTelemetry's `OTEL_*` where
//! one exists, `REDLINE_*` for the rest), then an optional TOML file named by
//! `REDLINE_CONFIG_FILE`, then defaults. Every value is validated when the
//! service starts; an error names the variable (or file key), the rejected
//! value and what would be accepted.
//!
//! A set `REDLINE_*` variable that redline does not read (a typo such as
//! `REDLINE_RATE_LIMT`) stops the start too, naming the closest known
//! variable: a setting that silently does nothing is worse than a failed
//! deploy. `REDLINE_UNKNOWN_VARIABLES=warn` turns that into a warning
//! (printed to stderr by [`Config::from_env`] and kept in
//! [`Config::warnings`]), for example while rolling out an upgrade that
//! renamed a variable.
//!
//! Each setting (its variables, file key, default, example and doc line)
//! is declared once, in `src/settings.rs`: the parsers below ask for
//! settings by variable name, and a test checks that they ask for exactly
//! the declared ones and that each has an effect.
//!
//! Kept whole (just over 500 lines): `Config`, its defaults and the one
//! reader that applies every source in order; the file and the
//! unknown-variable check are in `file.rs` and `unknown.rs`.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::http::DEFAULT_DURATION_BUCKETS;
use crate::metrics::DEFAULT_OPERATION_BUCKETS;
pub use crate::parse::{ConfigError, UnknownVariable};
use crate::parse::{
    duration_seconds, invalid, parse_bool, parse_buckets, parse_count, parse_duration,
    parse_listen, parse_resource_attributes, without_feature,
};
use crate::settings;

mod file;
mod unknown;

use file::FileValues;
use unknown::{PREFIX, closest};

/// Everything redline's entry point needs. Build it with
/// [`Config::from_env`], or start from [`Config::default`] and change fields.
///
/// ```
/// let mut config = redline::Config::default();
/// config.service_name = "billing".into();
/// config.max_series_per_metric = 500;
/// let telemetry = redline::Telemetry::builder().config(config).build().unwrap();
/// # let _ = telemetry;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`).
    /// Unset, [`TelemetryBuilder::build_info`](crate::TelemetryBuilder::build_info)
    /// names the service for the crate that calls
    /// [`build_info!`](crate::build_info!); else [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, comma separated,
    /// values percent-encoded.
    pub resource_attributes: Vec<(String, String)>,
    /// `REDLINE_ADMIN_LISTEN`: address of the admin listener (`/metrics`…),
    /// or `None` (value `off`) to only mount the admin router yourself.
    pub admin_listen: Option<SocketAddr>,
    /// `REDLINE_HTTP_DURATION_BUCKETS`: seconds, comma separated, increasing.
    pub http_duration_buckets: Vec<f64>,
    /// `REDLINE_OPERATION_DURATION_BUCKETS`: seconds, comma separated.
    pub operation_duration_buckets: Vec<f64>,
    /// The service's objectives (`REDLINE_SLO_*`), exported as gauges the
    /// alert rules join on (see [`crate::metrics::SloConfig`]).
    pub slo: crate::metrics::SloConfig,
    /// `REDLINE_MAX_SERIES_PER_METRIC`: label sets per metric family before
    /// new ones fold into the overflow series.
    pub max_series_per_metric: usize,
    /// `REDLINE_SYSTEM_METRICS`: export `redline_system_*` (true/false; needs
    /// the `system` feature, without which `true` is refused).
    pub system_metrics: bool,
    /// `REDLINE_SYSTEM_METRICS_INTERVAL`: minimum time between two system
    /// refreshes (scrapes in between get cached values).
    pub system_metrics_interval: Duration,
    /// `REDLINE_PROCESS_METRICS`: export `process_*` (true/false; Linux
    /// only; needs the `system` feature, without which `true` is refused).
    pub process_metrics: bool,
    /// `REDLINE_URL_SCHEME`: `url_scheme` for requests whose URI has none
    /// (`http`, or `https` behind a TLS terminator).
    pub url_scheme: UrlScheme,
    /// `REDLINE_SHUTDOWN_DELAY`: on shutdown, how long `/ready` fails
    /// before the server stops accepting (so load balancers and
    /// Kubernetes stop routing first; 5s is typical behind one). `0s`
    /// stops at once.
    pub shutdown_delay: Duration,
    /// `REDLINE_SHUTDOWN_GRACE`: then, how long in-flight requests may
    /// take to finish before they are cut.
    pub shutdown_grace: Duration,
    /// `REDLINE_ADMIN_TOKEN`, or the content of the file named by
    /// `REDLINE_ADMIN_TOKEN_FILE`: the bearer token of protected admin
    /// endpoints (see [`crate::admin`]). Never printed.
    pub admin_token: Option<AdminToken>,
    /// `REDLINE_ADMIN_PRINCIPALS_FILE` (feature `config-file`): named admin
    /// credentials with roles and expiry, read at start and re-read while
    /// the service runs (see [`crate::admin`]).
    pub admin_principals: Option<crate::admin::PrincipalsFile>,
    /// `REDLINE_METRICS_AUTH`: whether `/metrics` needs the admin token too
    /// (Prometheus can send it: `authorization: {credentials: …}`).
    pub metrics_auth: bool,
    /// `REDLINE_TLS_CERT_FILE` and `REDLINE_TLS_KEY_FILE`: the service
    /// listener ([`Telemetry::serve`](crate::Telemetry::serve)) speaks TLS
    /// (feature `tls`; see [`crate::tls`]).
    pub tls: Option<crate::tls::ListenerTlsConfig>,
    /// `REDLINE_ADMIN_TLS_CERT_FILE`, `REDLINE_ADMIN_TLS_KEY_FILE` and
    /// `REDLINE_ADMIN_TLS_CLIENT_CA_FILE`: the admin listener speaks TLS,
    /// and with the last asks clients for a certificate (mTLS).
    pub admin_tls: Option<crate::tls::ListenerTlsConfig>,
    /// The live status page: on or off, public or not, session lifetime,
    /// trace viewer link (see [`crate::status::StatusConfig`]).
    pub status: crate::status::StatusConfig,
    /// HTTP hardening: body limit, timeout, CORS origins (see
    /// [`crate::security::HardeningConfig`]).
    pub hardening: crate::security::HardeningConfig,
    /// Rate limiting (off unless `REDLINE_RATE_LIMIT` or
    /// `REDLINE_RATE_LIMIT_ROUTES` set a quota; see
    /// [`crate::security::RateLimitConfig`]).
    pub rate_limit: crate::security::RateLimitConfig,
    /// Logging: filter, output, rotation, access log (see
    /// [`crate::logs::LogConfig`]).
    pub logs: crate::logs::LogConfig,
    /// Traces: OTLP export, sampling, batching (the `OTEL_*` variables; see
    /// [`crate::traces::TraceConfig`]).
    pub traces: crate::traces::TraceConfig,
    /// OTLP log export: `OTEL_LOGS_EXPORTER`, the `OTEL_BLRP_*` batch
    /// settings and the OTLP exporter's logs variables (see
    /// [`crate::logs::LogExportConfig`]).
    pub log_export: crate::logs::LogExportConfig,
    /// Masking of secrets and personal data in logs, error samples and
    /// spans: extra keys, headers, patterns, allowed values (see
    /// [`crate::redact`]).
    pub redact: crate::redact::RedactConfig,
    /// Problems found while reading that did not stop the start: unknown
    /// `REDLINE_*` variables under `REDLINE_UNKNOWN_VARIABLES=warn` (see
    /// [`Config::warnings`]). Empty by default.
    pub warnings: Vec<String>,
}

pub use crate::admin::AdminToken;

/// The scheme the service is reached with.
///
/// ```
/// let config = redline::Config::from_lookup(|name| {
///     (name == "REDLINE_URL_SCHEME").then(|| "https".to_string())
/// }).unwrap();
/// assert_eq!(config.url_scheme, redline::UrlScheme::Https);
/// assert_eq!(redline::UrlScheme::default(), redline::UrlScheme::Http);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UrlScheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS (TLS terminated by the service or in front of it).
    Https,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            service_name: DEFAULT_SERVICE_NAME.into(),
            resource_attributes: Vec::new(),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            http_duration_buckets: DEFAULT_DURATION_BUCKETS.to_vec(),
            operation_duration_buckets: DEFAULT_OPERATION_BUCKETS.to_vec(),
            max_series_per_metric: 2000,
            system_metrics: true,
            system_metrics_interval: Duration::from_secs(5),
            process_metrics: true,
            url_scheme: UrlScheme::Http,
            shutdown_delay: Duration::ZERO,
            shutdown_grace: Duration::from_secs(10),
            admin_token: None,
            tls: None,
            admin_tls: None,
            admin_principals: None,
            metrics_auth: false,
            status: crate::status::StatusConfig::default(),
            hardening: crate::security::HardeningConfig::default(),
            rate_limit: crate::security::RateLimitConfig {
                max_keys: 100_000,
                ..Default::default()
            },
            logs: crate::logs::LogConfig::default(),
            traces: crate::traces::TraceConfig::default(),
            log_export: crate::logs::LogExportConfig::default(),
            redact: crate::redact::RedactConfig::default(),
            slo: crate::metrics::SloConfig::default(),
            warnings: Vec::new(),
        }
    }
}

/// The service name when none is configured and the service gives no
/// [`BuildInfo::service_name`](crate::BuildInfo::service_name) (as with
/// [`build_info!`](crate::build_info!), which gives its crate's name).
///
/// ```
/// assert_eq!(redline::Config::default().service_name, redline::config::DEFAULT_SERVICE_NAME);
/// ```
pub const DEFAULT_SERVICE_NAME: &str = "unknown_service:redline";

/// Upper limit of `REDLINE_MAX_SERIES_PER_METRIC`.
const MAX_SERIES_LIMIT: usize = 1_000_000;

/// What reading the settings found, beside the configuration.
struct Read {
    config: Config,
    /// `REDLINE_UNKNOWN_VARIABLES=warn`.
    warn_unknown: bool,
}

impl Config {
    /// Reads the process environment (and `REDLINE_CONFIG_FILE` if set).
    /// A set `REDLINE_*` variable that redline does not read is an error
    /// ([`ConfigError::UnknownVariables`]), or with
    /// `REDLINE_UNKNOWN_VARIABLES=warn` a warning printed to stderr and kept
    /// in [`Config::warnings`]. A program that reads `REDLINE_*` variables of
    /// its own uses [`Config::from_env_with_own`].
    ///
    /// ```
    /// let config = redline::Config::from_env().expect("valid configuration");
    /// assert!(config.max_series_per_metric >= 1);
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_with_own(&[])
    }

    /// Like [`Config::from_env`], for a program that reads `REDLINE_*`
    /// variables of its own: `own` are not reported as unknown (the demo
    /// passes its command-line variables, such as `REDLINE_LISTEN`).
    ///
    /// ```
    /// let config = redline::Config::from_env_with_own(&["REDLINE_LISTEN"]).unwrap();
    /// assert!(config.warnings.is_empty());
    /// ```
    pub fn from_env_with_own(own: &[&str]) -> Result<Self, ConfigError> {
        // Variables whose name or value is not Unicode are skipped, as
        // `std::env::var` does.
        let vars = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        let config = Self::from_vars(vars, own)?;
        for warning in &config.warnings {
            eprintln!("redline: warning: {warning}");
        }
        Ok(config)
    }

    /// Like [`Config::from_env`], from a fixed set of variables, without
    /// printing: warnings are in [`Config::warnings`]. Every variable of
    /// `vars` that starts with `REDLINE_` must be one redline reads (see
    /// [`Config::known_variables`]) or be in `own`.
    ///
    /// ```
    /// let config = redline::Config::from_vars([("REDLINE_RATE_LIMIT", "5/s")], &[]).unwrap();
    /// assert_eq!(config.rate_limit.default.map(|q| q.per_second), Some(5));
    ///
    /// let err = redline::Config::from_vars([("REDLINE_RATE_LIMT", "5/s")], &[]).unwrap_err();
    /// assert!(err.to_string().contains("did you mean REDLINE_RATE_LIMIT?"), "{err}");
    ///
    /// let config = redline::Config::from_vars(
    ///     [("REDLINE_RATE_LIMT", "5/s"), ("REDLINE_UNKNOWN_VARIABLES", "warn")],
    ///     &[],
    /// ).unwrap();
    /// assert!(config.warnings[0].contains("REDLINE_RATE_LIMT"));
    /// assert_eq!(config.rate_limit.default, None);
    /// ```
    pub fn from_vars<K, V>(
        vars: impl IntoIterator<Item = (K, V)>,
        own: &[&str],
    ) -> Result<Self, ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let Read {
            mut config,
            warn_unknown,
        } = Self::read(|name| vars.get(name).cloned())?;
        let mut known: BTreeSet<&str> = settings::variables().collect();
        known.extend(settings::READ_ELSEWHERE);
        known.extend(own);
        let mut unknown: Vec<UnknownVariable> = vars
            .keys()
            .filter(|name| name.starts_with(PREFIX) && !known.contains(name.as_str()))
            .map(|name| UnknownVariable {
                name: name.clone(),
                suggestion: closest(name, &known).map(str::to_owned),
            })
            .collect();
        if unknown.is_empty() {
            return Ok(config);
        }
        unknown.sort_by(|a, b| a.name.cmp(&b.name));
        if !warn_unknown {
            return Err(ConfigError::UnknownVariables { variables: unknown });
        }
        config.warnings.extend(
            unknown
                .iter()
                .map(|u| format!("unknown variable {u} is ignored: redline does not read it")),
        );
        Ok(config)
    }

    /// Every `REDLINE_*` variable redline reads: the settings (each declared
    /// once, with its file key, default and documentation; a test checks
    /// that the parsers ask for exactly those) and the few read elsewhere
    /// (`REDLINE_GIT_REVISION` by the build script,
    /// `REDLINE_HEALTHCHECK_PORT` by the container's health check…). Sorted.
    ///
    /// ```
    /// let known = redline::Config::known_variables();
    /// assert!(known.iter().any(|v| v == "REDLINE_RATE_LIMIT"));
    /// assert!(known.iter().all(|v| v.starts_with("REDLINE_")));
    /// ```
    pub fn known_variables() -> Vec<String> {
        let known: BTreeSet<&str> = settings::variables()
            .filter(|name| name.starts_with(PREFIX))
            .chain(settings::READ_ELSEWHERE)
            .collect();
        known.into_iter().map(str::to_owned).collect()
    }

    /// Like [`Config::from_env`], with variables from `lookup` (for tests and
    /// embedding). A lookup cannot list its variables, so unknown ones are
    /// not reported: use [`Config::from_vars`] for that.
    ///
    /// ```
    /// let config = redline::Config::from_lookup(|name| match name {
    ///     "OTEL_SERVICE_NAME" => Some("checkout".to_string()),
    ///     "REDLINE_MAX_SERIES_PER_METRIC" => Some("300".to_string()),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(config.service_name, "checkout");
    /// assert_eq!(config.max_series_per_metric, 300);
    ///
    /// let err = redline::Config::from_lookup(|name| {
    ///     (name == "REDLINE_MAX_SERIES_PER_METRIC").then(|| "lots".to_string())
    /// }).unwrap_err();
    /// assert!(err.to_string().contains("REDLINE_MAX_SERIES_PER_METRIC"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(lookup).map(|r| r.config)
    }

    /// Parses every setting.
    fn read(lookup: impl Fn(&str) -> Option<String>) -> Result<Read, ConfigError> {
        let file = match lookup("REDLINE_CONFIG_FILE").filter(|p| !p.trim().is_empty()) {
            Some(path) => Some(FileValues::load(Path::new(&path))?),
            None => None,
        };
        // Environment first, then the file (under the key the setting
        // declares, after its primary variable only).
        let get = |env: &str| -> Option<(String, String)> {
            if let Some(v) = lookup(env).filter(|v| !v.trim().is_empty()) {
                return Some((env.to_owned(), v));
            }
            let key = settings::file_key(env)?;
            file.as_ref().and_then(|f| f.get(key))
        };
        let mut config = Config::default();

        if let Some((var, value)) = get("OTEL_RESOURCE_ATTRIBUTES") {
            config.resource_attributes = parse_resource_attributes(&var, &value)?;
        }
        let from_resource = config
            .resource_attributes
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone());
        if let Some((_, name)) = get("OTEL_SERVICE_NAME") {
            config.service_name = name.trim().to_owned();
        } else if let Some(name) = from_resource {
            config.service_name = name;
        }
        if let Some((var, v)) = get("REDLINE_ADMIN_LISTEN") {
            config.admin_listen = parse_listen(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_HTTP_DURATION_BUCKETS") {
            config.http_duration_buckets = parse_buckets(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_OPERATION_DURATION_BUCKETS") {
            config.operation_duration_buckets = parse_buckets(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_MAX_SERIES_PER_METRIC") {
            config.max_series_per_metric = parse_count(&var, &v, 1, MAX_SERIES_LIMIT)?;
        }
        if let Some((var, v)) = get("REDLINE_SYSTEM_METRICS") {
            config.system_metrics = parse_bool(&var, &v)?;
            // Asked for explicitly, in a build that cannot: refused, not
            // ignored.
            if config.system_metrics && !cfg!(feature = "system") {
                return Err(without_feature(
                    &var,
                    &v,
                    "false",
                    "system",
                    "enable it for redline_system_* metrics",
                ));
            }
        }
        if let Some((var, v)) = get("REDLINE_SYSTEM_METRICS_INTERVAL") {
            config.system_metrics_interval = parse_duration(&var, &v)?;
            if !cfg!(feature = "system") {
                return Err(without_feature(
                    &var,
                    &v,
                    "unset",
                    "system",
                    "enable it for redline_system_* metrics",
                ));
            }
        }
        if let Some((var, v)) = get("REDLINE_PROCESS_METRICS") {
            config.process_metrics = parse_bool(&var, &v)?;
            if config.process_metrics && !cfg!(feature = "system") {
                return Err(without_feature(
                    &var,
                    &v,
                    "false",
                    "system",
                    "enable it for process_* metrics",
                ));
            }
        }
        if let Some((var, v)) = get("REDLINE_URL_SCHEME") {
            config.url_scheme = match v.trim() {
                "http" => UrlScheme::Http,
                "https" => UrlScheme::Https,
                _ => return Err(invalid(&var, &v, "http or https")),
            };
        }
        if let Some((var, v)) = get("REDLINE_SHUTDOWN_DELAY") {
            // Zero in any unit (`0`, `0s`, `0ms`) means no delay.
            config.shutdown_delay = if duration_seconds(&v) == Some(0.0) {
                Duration::ZERO
            } else {
                parse_duration(&var, &v)?
            };
        }
        if let Some((var, v)) = get("REDLINE_SHUTDOWN_GRACE") {
            config.shutdown_grace = parse_duration(&var, &v)?;
        }
        // Both asked for, so both are known names even when the first is set.
        let token_file = get("REDLINE_ADMIN_TOKEN_FILE");
        let token_source = match get("REDLINE_ADMIN_TOKEN") {
            Some(found) => Some(found),
            None => match token_file {
                Some((var, path)) => {
                    let text = std::fs::read_to_string(path.trim()).map_err(|e| {
                        invalid(
                            &var,
                            &path,
                            &format!("a readable file holding the token ({e})"),
                        )
                    })?;
                    Some((var, text))
                }
                None => None,
            },
        };
        if let Some((var, v)) = token_source {
            let token = v.trim();
            if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    &var,
                    "<redacted>",
                    "at least 16 visible ASCII characters (generate one with `openssl rand -hex 32`)",
                ));
            }
            config.admin_token = Some(AdminToken::new(token));
        }
        if let Some((var, path)) = get("REDLINE_ADMIN_PRINCIPALS_FILE") {
            config.admin_principals =
                Some(read_principals(&var, &path, config.admin_token.as_ref())?);
        }
        if let Some((var, v)) = get("REDLINE_METRICS_AUTH") {
            config.metrics_auth = parse_bool(&var, &v)?;
        }
        config.tls = crate::tls::listener_tls_from_source(&get, crate::tls::API_VARS)?;
        config.admin_tls = crate::tls::listener_tls_from_source(&get, crate::tls::ADMIN_VARS)?;
        // The service listener's TLS sets the scheme unless it is given.
        if config.tls.is_some() && get("REDLINE_URL_SCHEME").is_none() {
            config.url_scheme = UrlScheme::Https;
        }
        config.status = crate::status::StatusConfig::from_source(&get)?;
        config.hardening = crate::security::HardeningConfig::from_source(&get)?;
        config.rate_limit = crate::security::RateLimitConfig::from_source(&get)?;
        config.logs = crate::logs::LogConfig::from_source(&get)?;
        config.traces = crate::traces::TraceConfig::from_source(&get)?;
        config.log_export = crate::logs::LogExportConfig::from_source(&get)?;
        config.redact = crate::redact::RedactConfig::from_source(&get)?;
        config.slo = crate::metrics::SloConfig::from_source(&get, &config.http_duration_buckets)?;
        let warn_unknown = match get("REDLINE_UNKNOWN_VARIABLES") {
            None => false,
            Some((var, v)) => match v.trim() {
                "error" => false,
                "warn" => true,
                _ => return Err(invalid(&var, &v, "error or warn")),
            },
        };
        Ok(Read {
            config,
            warn_unknown,
        })
    }

    /// Problems found while reading that did not stop the start (unknown
    /// `REDLINE_*` variables under `REDLINE_UNKNOWN_VARIABLES=warn`), for
    /// the service to log; [`Config::from_env`] also prints them to stderr.
    ///
    /// ```
    /// let config = redline::Config::from_vars(
    ///     [("REDLINE_LOG_FIEL", "app.log"), ("REDLINE_UNKNOWN_VARIABLES", "warn")],
    ///     &[],
    /// ).unwrap();
    /// assert_eq!(config.warnings().len(), 1);
    /// assert!(config.warnings()[0].contains("did you mean REDLINE_LOG_FILE?"));
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// `REDLINE_ADMIN_PRINCIPALS_FILE`: the file, checked, and checked against
/// `REDLINE_ADMIN_TOKEN` (no shared name or token).
#[cfg(feature = "config-file")]
fn read_principals(
    var: &str,
    path: &str,
    admin_token: Option<&AdminToken>,
) -> Result<crate::admin::PrincipalsFile, ConfigError> {
    let file = crate::admin::PrincipalsFile::load_as(var, Path::new(path.trim()))?;
    crate::admin::principals::combine(var, file.path(), admin_token, file.principals())?;
    Ok(file)
}

#[cfg(not(feature = "config-file"))]
fn read_principals(
    var: &str,
    path: &str,
    _: Option<&AdminToken>,
) -> Result<crate::admin::PrincipalsFile, ConfigError> {
    Err(without_feature(
        var,
        path,
        "unset",
        "config-file",
        "enable it for admin principals with roles",
    ))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_without_environment() {
        assert_eq!(Config::from_lookup(env(&[])).unwrap(), Config::default());
    }

    #[test]
    fn reads_every_variable() {
        let c = Config::from_lookup(env(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,deployment.environment=prod%20eu",
            ),
            ("REDLINE_ADMIN_LISTEN", "127.0.0.1:0"),
            ("REDLINE_HTTP_DURATION_BUCKETS", "0.1, 0.5,1"),
            ("REDLINE_OPERATION_DURATION_BUCKETS", "1,2"),
            ("REDLINE_MAX_SERIES_PER_METRIC", "10"),
            ("REDLINE_SYSTEM_METRICS", "false"),
            // Refused without the `system` feature (features_left_out_…).
            (
                "REDLINE_SYSTEM_METRICS_INTERVAL",
                if cfg!(feature = "system") {
                    "250ms"
                } else {
                    ""
                },
            ),
            ("REDLINE_PROCESS_METRICS", "off"),
            ("REDLINE_URL_SCHEME", "https"),
        ]))
        .unwrap();
        assert_eq!(c.service_name, "from-attrs");
        assert_eq!(
            c.resource_attributes[1],
            ("deployment.environment".into(), "prod eu".into())
        );
        assert_eq!(c.admin_listen, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(c.http_duration_buckets, vec![0.1, 0.5, 1.0]);
        assert_eq!(c.operation_duration_buckets, vec![1.0, 2.0]);
        assert_eq!(c.max_series_per_metric, 10);
        assert!(!c.system_metrics && !c.process_metrics);
        if cfg!(feature = "system") {
            assert_eq!(c.system_metrics_interval, Duration::from_millis(250));
        }
        assert_eq!(c.url_scheme, UrlScheme::Https);
    }

    #[test]
    fn service_name_variable_wins_over_resource_attribute() {
        let c = Config::from_lookup(env(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=a"),
            ("OTEL_SERVICE_NAME", "b"),
        ]))
        .unwrap();
        assert_eq!(c.service_name, "b");
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_accepted_values() {
        let cases = [
            ("REDLINE_ADMIN_LISTEN", "localhost", "IP:port"),
            ("REDLINE_HTTP_DURATION_BUCKETS", "1,0.5", "increasing"),
            ("REDLINE_HTTP_DURATION_BUCKETS", "1,NaN", "finite"),
            ("REDLINE_HTTP_DURATION_BUCKETS", "-1", "non-negative"),
            ("REDLINE_MAX_SERIES_PER_METRIC", "0", "1 to 1000000"),
            ("REDLINE_MAX_SERIES_PER_METRIC", "-5", "1 to 1000000"),
            ("REDLINE_SYSTEM_METRICS", "maybe", "true or false"),
            ("REDLINE_SYSTEM_METRICS_INTERVAL", "5 parsecs", "duration"),
            ("REDLINE_SYSTEM_METRICS_INTERVAL", "1ms", "10ms"),
            ("REDLINE_URL_SCHEME", "ftp", "http or https"),
            ("OTEL_RESOURCE_ATTRIBUTES", "novalue", "key=value"),
            ("OTEL_RESOURCE_ATTRIBUTES", "k=%zz", "percent"),
        ];
        for (var, value, expected) in cases {
            let err = Config::from_lookup(env(&[(var, value)])).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(var), "{msg}");
            assert!(msg.contains(expected), "{msg}");
        }
    }

    #[test]
    fn a_zero_shutdown_delay_in_any_unit() {
        for zero in ["0", "0s", "0ms", " 0.0 s"] {
            let c = Config::from_lookup(env(&[("REDLINE_SHUTDOWN_DELAY", zero)])).unwrap();
            assert_eq!(c.shutdown_delay, Duration::ZERO, "{zero}");
        }
        let c = Config::from_lookup(env(&[("REDLINE_SHUTDOWN_DELAY", "5s")])).unwrap();
        assert_eq!(c.shutdown_delay, Duration::from_secs(5));
        assert!(Config::from_lookup(env(&[("REDLINE_SHUTDOWN_DELAY", "0x")])).is_err());
    }

    /// Settings a build cannot honour are refused, never ignored.
    #[test]
    fn features_left_out_refuse_their_settings() {
        let file = Config::from_lookup(env(&[("REDLINE_CONFIG_FILE", "/etc/redline.toml")]));
        let system = Config::from_lookup(env(&[("REDLINE_SYSTEM_METRICS", "true")]));
        if cfg!(feature = "config-file") {
            assert!(
                matches!(file, Err(ConfigError::File { reason, .. }) if !reason.contains("feature"))
            );
        } else {
            let err = file.unwrap_err().to_string();
            assert!(err.contains("`config-file` feature"), "{err}");
        }
        let process = Config::from_lookup(env(&[("REDLINE_PROCESS_METRICS", "true")]));
        if cfg!(feature = "system") {
            assert!(system.unwrap().system_metrics);
            assert!(process.unwrap().process_metrics);
        } else {
            let err = process.unwrap_err().to_string();
            assert!(err.contains("`system` feature"), "{err}");
            let err = system.unwrap_err().to_string();
            assert!(err.contains("`system` feature"), "{err}");
            assert!(
                !Config::from_lookup(env(&[("REDLINE_SYSTEM_METRICS", "false")]))
                    .unwrap()
                    .system_metrics
            );
        }
    }

    #[cfg(feature = "config-file")]
    #[test]
    fn file_values_apply_under_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redline.toml");
        std::fs::write(
            &path,
            "service_name = \"from-file\"\nmax_series_per_metric = 42\nhttp_duration_buckets = [0.1, 1]\n\
             system_metrics = false\n[resource_attributes]\nregion = \"eu\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = Config::from_lookup(env(&[
            ("REDLINE_CONFIG_FILE", p),
            ("REDLINE_MAX_SERIES_PER_METRIC", "7"),
        ]))
        .unwrap();
        assert_eq!(c.service_name, "from-file");
        assert_eq!(c.max_series_per_metric, 7, "environment wins over the file");
        assert_eq!(c.http_duration_buckets, vec![0.1, 1.0]);
        assert!(!c.system_metrics);
        assert_eq!(c.resource_attributes, vec![("region".into(), "eu".into())]);

        // Every module's keys are accepted (the file once refused all but
        // the core's and the traces').
        std::fs::write(
            &path,
            "rate_limit = \"10/s\"\nlog = \"debug\"\nbody_limit = 4096\nredact_keys = [\"pin\", \"otp\"]\n",
        )
        .unwrap();
        let c = Config::from_lookup(env(&[("REDLINE_CONFIG_FILE", p)])).unwrap();
        assert_eq!(c.rate_limit.default.map(|q| q.per_second), Some(10));
        assert_eq!(c.redact.keys, ["pin", "otp"]);
        assert_eq!(c.hardening.body_limit, 4096);
        assert_eq!(c.logs.filter, "debug");

        std::fs::write(&path, "max_series_per_metric = 0\n").unwrap();
        let err = Config::from_lookup(env(&[("REDLINE_CONFIG_FILE", p)])).unwrap_err();
        assert!(err.to_string().contains("max_series_per_metric"), "{err}");

        std::fs::write(&path, "max_series = 3\n").unwrap();
        let err = Config::from_lookup(env(&[("REDLINE_CONFIG_FILE", p)])).unwrap_err();
        assert!(
            err.to_string().contains("unknown key `max_series`"),
            "{err}"
        );

        let err = Config::from_lookup(env(&[("REDLINE_CONFIG_FILE", "/nonexistent/x.toml")]))
            .unwrap_err();
        assert!(matches!(err, ConfigError::File { .. }));
    }

    #[test]
    fn an_unknown_variable_stops_the_start_with_the_closest_name() {
        let err = Config::from_vars(
            [("REDLINE_RATE_LIMT", "5/s"), ("OTEL_SERVICE_NAME", "x")],
            &[],
        )
        .unwrap_err();
        let ConfigError::UnknownVariables { variables } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            variables,
            &[UnknownVariable {
                name: "REDLINE_RATE_LIMT".into(),
                suggestion: Some("REDLINE_RATE_LIMIT".into()),
            }]
        );
        let msg = err.to_string();
        assert!(msg.contains("did you mean REDLINE_RATE_LIMIT?"), "{msg}");
        assert!(msg.contains("REDLINE_UNKNOWN_VARIABLES=warn"), "{msg}");

        // Every unknown one is named, sorted; far-off names get no guess;
        // case is ignored when guessing.
        let err = Config::from_vars(
            [
                ("REDLINE_ZZZZZZZZZZZZ", "1"),
                ("REDLINE_log_output", "file"),
                ("REDLINE_SHUTDOWN_DELAI", "5s"),
            ],
            &[],
        )
        .unwrap_err();
        let ConfigError::UnknownVariables { variables } = &err else {
            panic!("{err:?}")
        };
        let found: Vec<(&str, Option<&str>)> = variables
            .iter()
            .map(|u| (u.name.as_str(), u.suggestion.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                ("REDLINE_SHUTDOWN_DELAI", Some("REDLINE_SHUTDOWN_DELAY")),
                ("REDLINE_ZZZZZZZZZZZZ", None),
                ("REDLINE_log_output", Some("REDLINE_LOG_OUTPUT")),
            ]
        );
        assert!(err.to_string().starts_with("unknown variables "), "{err}");
    }

    #[test]
    fn unknown_variables_can_be_warnings() {
        let c = Config::from_vars(
            [
                ("REDLINE_RATE_LIMT", "5/s"),
                ("REDLINE_UNKNOWN_VARIABLES", "warn"),
                ("REDLINE_MAX_SERIES_PER_METRIC", "9"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(c.max_series_per_metric, 9, "known settings still apply");
        assert_eq!(c.warnings().len(), 1);
        assert!(
            c.warnings()[0].contains("REDLINE_RATE_LIMT (did you mean REDLINE_RATE_LIMIT?)"),
            "{:?}",
            c.warnings
        );
        let err = Config::from_vars([("REDLINE_UNKNOWN_VARIABLES", "ignore")], &[]).unwrap_err();
        assert!(err.to_string().contains("error or warn"), "{err}");
        // `error` is the default, and can be said.
        assert!(
            Config::from_vars(
                [("REDLINE_X", "1"), ("REDLINE_UNKNOWN_VARIABLES", "error")],
                &[]
            )
            .is_err()
        );
    }

    #[test]
    fn known_variables_are_those_the_parsers_read_and_a_program_s_own() {
        // Every subsystem's settings, the file and token variables, and
        // those read outside `Config`.
        let vars = [
            ("REDLINE_CONFIG_FILE", ""),
            ("REDLINE_ADMIN_TOKEN", "0123456789abcdef0123"),
            ("REDLINE_ADMIN_TOKEN_FILE", "/nonexistent"),
            ("REDLINE_SYSTEM_METRICS_INTERVAL", "1s"),
            ("REDLINE_BODY_LIMIT", "1000"),
            ("REDLINE_RATE_LIMIT_KEY", "ip"),
            ("REDLINE_LOG_FILE", "/tmp/x.log"),
            ("REDLINE_TRACES_RESPONSE_HEADER", "always"),
            ("REDLINE_REDACT_KEYS", "pin"),
            ("REDLINE_GIT_REVISION", "abc"),
            ("REDLINE_BUILD_REVISION", "abc"),
            ("REDLINE_HEALTHCHECK_PORT", "9464"),
        ];
        // Variables of features this build lacks are known, but refused.
        let built = |var: &str| {
            (cfg!(feature = "system") || var != "REDLINE_SYSTEM_METRICS_INTERVAL")
                && (cfg!(feature = "rate-limit") || var != "REDLINE_RATE_LIMIT_KEY")
        };
        let c = Config::from_vars(vars.iter().filter(|(var, _)| built(var)).copied(), &[]).unwrap();
        assert!(c.warnings.is_empty());
        assert!(Config::from_vars([("REDLINE_LISTEN", "x")], &[]).is_err());
        assert!(Config::from_vars([("REDLINE_LISTEN", "x")], &["REDLINE_LISTEN"]).is_ok());

        let known = Config::known_variables();
        for (var, _) in vars {
            assert!(known.iter().any(|k| k == var), "{var}");
        }
        assert!(known.contains(&"REDLINE_UNKNOWN_VARIABLES".to_string()));
        assert!(!known.iter().any(|k| k.starts_with("OTEL_")));
    }

    #[test]
    fn variables_named_by_the_build_and_the_container_are_known() {
        let known = Config::known_variables();
        let sources = [
            ("build.rs", include_str!("../../build.rs")),
            ("Dockerfile", include_str!("../../Dockerfile")),
            (
                "docker-compose.yml",
                include_str!("../../docker-compose.yml"),
            ),
            // Scripts whose variables a developer may export in the shell
            // that also runs the service.
            (".ci/deny.sh", include_str!("../../.ci/deny.sh")),
            (
                "deploy/local-stack.sh",
                include_str!("../../deploy/local-stack.sh"),
            ),
            ("deploy/check.sh", include_str!("../../deploy/check.sh")),
        ];
        for (file, text) in sources {
            for (at, _) in text.match_indices(PREFIX) {
                let name: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if name == PREFIX {
                    continue; // `REDLINE_*` in prose
                }
                assert!(known.contains(&name), "{file} names {name}, unknown");
            }
        }
    }

    /// Whether this build has `feature` (`a or b`: either).
    fn feature_enabled(feature: &str) -> bool {
        feature.split(" or ").any(|f| match f {
            "config-file" => cfg!(feature = "config-file"),
            "system" => cfg!(feature = "system"),
            "rate-limit" => cfg!(feature = "rate-limit"),
            "otlp-grpc" => cfg!(feature = "otlp-grpc"),
            "otlp-http" => cfg!(feature = "otlp-http"),
            "log-compress" => cfg!(feature = "log-compress"),
            "tls" => cfg!(feature = "tls"),
            other => panic!("src/settings.rs names an unknown cargo feature `{other}`"),
        })
    }

    /// Settings whose effect shows only beside another: the other's
    /// variables and values, set in both runs compared.
    const NEEDS: [(&str, &[(&str, &str)]); 7] = [
        // A listener's certificate and key come together.
        (
            "REDLINE_TLS_CERT_FILE",
            &[("REDLINE_TLS_KEY_FILE", "/etc/redline/tls/tls.key")],
        ),
        (
            "REDLINE_TLS_KEY_FILE",
            &[("REDLINE_TLS_CERT_FILE", "/etc/redline/tls/tls.crt")],
        ),
        (
            "REDLINE_ADMIN_TLS_CERT_FILE",
            &[("REDLINE_ADMIN_TLS_KEY_FILE", "/k.pem")],
        ),
        (
            "REDLINE_ADMIN_TLS_KEY_FILE",
            &[("REDLINE_ADMIN_TLS_CERT_FILE", "/c.pem")],
        ),
        (
            "REDLINE_ADMIN_TLS_CLIENT_CA_FILE",
            &[
                ("REDLINE_ADMIN_TLS_CERT_FILE", "/c.pem"),
                ("REDLINE_ADMIN_TLS_KEY_FILE", "/k.pem"),
            ],
        ),
        // The ratio of the `…traceidratio` samplers only.
        (
            "OTEL_TRACES_SAMPLER_ARG",
            &[("OTEL_TRACES_SAMPLER", "traceidratio")],
        ),
        // Its effect is on unknown variables, which are not in `Config`.
        (
            "REDLINE_UNKNOWN_VARIABLES",
            &[("REDLINE_NOT_A_SETTING", "1")],
        ),
    ];

    /// File keys whose value says the opposite of their variable's.
    #[cfg(feature = "config-file")]
    const FILE_SAYS_OTHERWISE: [(&str, &str); 1] = [("traces_enabled", "false")];

    /// The settings' examples as values to set: those naming a file name
    /// one written in a temporary directory.
    struct Examples {
        dir: tempfile::TempDir,
    }

    impl Examples {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let files = [
                ("redline.toml", "service_name = \"from-file\"\n"),
                ("token", "0123456789abcdef0123\n"),
                ("patterns", "\\bemp-\\d+\n"),
                (
                    "principals.toml",
                    "[[principal]]\nname = \"ci-bot\"\nrole = \"viewer\"\ntoken_sha256 = \"4a3057fd3371720d01f5d351fecab0d7948fd22e15a5c2c2b92b0b2696d3eeca\"\n",
                ),
            ];
            for (name, text) in files {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            Self { dir }
        }

        fn value(&self, setting: &settings::Setting) -> String {
            let file = match setting.variables[0] {
                "REDLINE_CONFIG_FILE" => "redline.toml",
                "REDLINE_ADMIN_TOKEN_FILE" => "token",
                "REDLINE_REDACT_PATTERNS_FILE" => "patterns",
                "REDLINE_ADMIN_PRINCIPALS_FILE" => "principals.toml",
                _ => return setting.example.to_owned(),
            };
            self.dir.path().join(file).to_str().unwrap().to_owned()
        }
    }

    fn declared() -> BTreeSet<String> {
        settings::variables().map(str::to_owned).collect()
    }

    fn needs(variable: &str) -> Vec<(String, String)> {
        let primary = settings::SETTINGS
            .iter()
            .find(|s| s.variables.contains(&variable))
            .map_or(variable, |s| s.variables[0]);
        NEEDS
            .iter()
            .filter(|(v, _)| *v == primary)
            .flat_map(|(_, pairs)| pairs.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Every name the parsers ask for is declared, and every declared
    /// name is asked for.
    #[test]
    fn settings_declared_are_the_variables_the_parsers_read() {
        let read = |pairs: &[(String, String)]| {
            let asked = RefCell::new(BTreeSet::new());
            let result = Config::from_lookup(|name| {
                asked.borrow_mut().insert(name.to_owned());
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            });
            (result, asked.into_inner())
        };
        let declared = declared();
        assert_eq!(
            declared.len(),
            settings::SETTINGS
                .iter()
                .map(|s| s.variables.len())
                .sum::<usize>(),
            "a variable is declared twice"
        );
        let keys: Vec<&str> = settings::file_keys().collect();
        let unique: BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(keys.len(), unique.len(), "a file key is declared twice");

        // Nothing set: every setting is asked for, fallbacks included.
        let (result, asked) = read(&[]);
        result.unwrap();
        let undeclared: Vec<&String> = asked.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "{undeclared:?} read by the parsers, not declared in src/settings.rs"
        );
        let unread: Vec<&String> = declared.difference(&asked).collect();
        assert!(
            unread.is_empty(),
            "{unread:?} declared in src/settings.rs, not read by the parsers"
        );

        // A parser may ask for more once a setting is set (a sampler's
        // argument after the sampler): each setting at its example, then
        // all at once.
        let examples = Examples::new();
        let enabled = || {
            settings::SETTINGS
                .iter()
                .filter(|s| s.feature.is_none_or(feature_enabled))
        };
        let mut all = Vec::new();
        for s in enabled() {
            let mut pairs = needs(s.variables[0]);
            pairs.push((s.variables[0].to_owned(), examples.value(s)));
            let (result, asked) = read(&pairs);
            result.unwrap_or_else(|e| panic!("{}: {e}", s.variables[0]));
            let undeclared: Vec<&String> = asked.difference(&declared).collect();
            assert!(
                undeclared.is_empty(),
                "{undeclared:?} read when {} is set, not declared in src/settings.rs",
                s.variables[0]
            );
            all.extend(pairs);
        }
        let (result, asked) = read(&all);
        result.unwrap();
        let undeclared: Vec<&String> = asked.difference(&declared).collect();
        assert!(
            undeclared.is_empty(),
            "{undeclared:?} read when every setting is set, not declared in src/settings.rs"
        );
    }

    /// Each variable of each setting, set alone to its example, changes the
    /// configuration; so does its file key, to the same configuration. In
    /// a build without its feature, the setting is refused, naming it.
    #[test]
    fn settings_each_have_an_effect() {
        let examples = Examples::new();
        let read = |pairs: &[(String, String)]| Config::from_vars(pairs.to_vec(), &[]);
        for s in settings::SETTINGS {
            let value = examples.value(s);
            for variable in s.variables {
                let base = needs(variable);
                let mut pairs = base.clone();
                pairs.push((variable.to_string(), value.clone()));
                let with = read(&pairs);
                if let Some(feature) = s.feature.filter(|f| !feature_enabled(f)) {
                    // An example that turns the feature's work off
                    // (`REDLINE_SYSTEM_METRICS=false`) is honoured by any
                    // build; turning it on is what is refused.
                    let names_feature = |r: &Result<Config, ConfigError>| {
                        r.as_ref().is_err_and(|e| {
                            let e = e.to_string();
                            feature
                                .split(" or ")
                                .any(|f| e.contains(&format!("`{f}` feature")))
                        })
                    };
                    let mut on = base.clone();
                    on.push((variable.to_string(), "true".to_owned()));
                    assert!(
                        names_feature(&with) || names_feature(&read(&on)),
                        "{variable}={value} without the `{feature}` feature: {with:?}"
                    );
                    if with.is_err() {
                        continue;
                    }
                }
                let with = with.unwrap_or_else(|e| panic!("{variable}={value}: {e}"));
                assert_ne!(
                    Ok(&with),
                    read(&base).as_ref(),
                    "{variable}={value}: no effect"
                );

                #[cfg(feature = "config-file")]
                if let Some(key) = s.file_key.filter(|_| *variable == s.variables[0]) {
                    let value = FILE_SAYS_OTHERWISE
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map_or(value.as_str(), |(_, v)| v);
                    let path = examples.dir.path().join("file-example.toml");
                    let text = format!("{key} = {}\n", toml::Value::from(value));
                    std::fs::write(&path, &text).unwrap();
                    let mut pairs = base.clone();
                    pairs.push(("REDLINE_CONFIG_FILE".into(), path.to_str().unwrap().into()));
                    assert_eq!(read(&pairs), Ok(with.clone()), "{text}");
                }
            }
        }
    }

    #[test]
    fn edit_distances() {
        use super::unknown::edit_distance;
        assert_eq!(edit_distance("RATE_LIMT", "RATE_LIMIT"), 1);
        assert_eq!(edit_distance("", "ABC"), 3);
        assert_eq!(edit_distance("KITTEN", "SITTING"), 3);
        assert_eq!(edit_distance("SAME", "SAME"), 0);
        let known: BTreeSet<&str> = ["REDLINE_ENV", "REDLINE_LOG"].into();
        assert_eq!(closest("REDLINE_FOO", &known), None, "3 edits of 3 letters");
        assert_eq!(closest("REDLINE_LOGS", &known), Some("REDLINE_LOG"));
    }
}
