//! Configuration: environment variables first (OpenTelemetry's `OTEL_*` where
//! one exists, `REDLINE_*` for the rest), then an optional TOML file named by
//! `REDLINE_CONFIG_FILE`, then defaults. Every value is validated when the
//! service starts; an error names the variable (or file key), the rejected
//! value and what would be accepted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::DEFAULT_DURATION_BUCKETS;
use crate::metrics::DEFAULT_OPERATION_BUCKETS;

/// A configuration value that cannot be used.
///
/// ```
/// let err = redline::Config::from_lookup(|name| {
///     (name == "REDLINE_SYSTEM_METRICS").then(|| "maybe".to_string())
/// }).unwrap_err();
/// assert!(matches!(&err, redline::ConfigError::Invalid { variable, .. } if variable == "REDLINE_SYSTEM_METRICS"));
/// assert!(err.to_string().contains("expected true or false"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A variable (or file key) has a value outside what it accepts.
    #[error("invalid {variable}={value:?}: expected {expected}")]
    Invalid {
        /// The environment variable, or `file.toml: key`.
        variable: String,
        /// The rejected value.
        value: String,
        /// What the variable accepts.
        expected: String,
    },
    /// The configuration file could not be read or parsed.
    #[error("cannot use configuration file {path}: {reason}")]
    File {
        /// The file named by `REDLINE_CONFIG_FILE`.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

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
    /// `REDLINE_MAX_SERIES_PER_METRIC`: label sets per metric family before
    /// new ones fold into the overflow series.
    pub max_series_per_metric: usize,
    /// `REDLINE_SYSTEM_METRICS`: export `redline_system_*` (true/false).
    pub system_metrics: bool,
    /// `REDLINE_SYSTEM_METRICS_INTERVAL`: minimum time between two system
    /// refreshes (scrapes in between get cached values).
    pub system_metrics_interval: Duration,
    /// `REDLINE_PROCESS_METRICS`: export `process_*` (true/false; Linux only).
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
    /// `REDLINE_METRICS_AUTH`: whether `/metrics` needs the admin token too
    /// (Prometheus can send it: `authorization: {credentials: …}`).
    pub metrics_auth: bool,
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
    /// Masking of secrets and personal data in logs, error samples and
    /// spans: extra keys, headers, patterns, allowed values (see
    /// [`crate::redact`]).
    pub redact: crate::redact::RedactConfig,
}

/// The admin bearer token. Its `Debug` output never shows it.
///
/// ```
/// let t = redline::config::AdminToken::new("0123456789abcdef0123");
/// assert_eq!(format!("{t:?}"), "AdminToken(<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// Wraps a token.
    ///
    /// ```
    /// let t = redline::config::AdminToken::new("s3cret-s3cret-s3cret");
    /// assert_eq!(t.expose(), "s3cret-s3cret-s3cret");
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself (to compare, never to print).
    ///
    /// ```
    /// assert_eq!(redline::config::AdminToken::new("x").expose(), "x");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

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
            service_name: "unknown_service:redline".into(),
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
            metrics_auth: false,
            hardening: crate::security::HardeningConfig::default(),
            rate_limit: crate::security::RateLimitConfig {
                max_keys: 100_000,
                ..Default::default()
            },
            logs: crate::logs::LogConfig::default(),
            traces: crate::traces::TraceConfig::default(),
            redact: crate::redact::RedactConfig::default(),
        }
    }
}

/// Upper limit of `REDLINE_MAX_SERIES_PER_METRIC`.
const MAX_SERIES_LIMIT: usize = 1_000_000;

impl Config {
    /// Reads the process environment (and `REDLINE_CONFIG_FILE` if set).
    ///
    /// ```
    /// let config = redline::Config::from_env().expect("valid configuration");
    /// assert!(config.max_series_per_metric >= 1);
    /// ```
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Config::from_env`], with variables from `lookup` (for tests and
    /// embedding).
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
        let file = match lookup("REDLINE_CONFIG_FILE").filter(|p| !p.trim().is_empty()) {
            Some(path) => Some(FileValues::load(Path::new(&path))?),
            None => None,
        };
        // Environment first, then the file.
        let get = |env: &str, key: &str| -> Option<(String, String)> {
            if let Some(v) = lookup(env).filter(|v| !v.trim().is_empty()) {
                return Some((env.to_owned(), v));
            }
            file.as_ref().and_then(|f| f.get(key))
        };
        let mut config = Config::default();

        if let Some((var, value)) = get("OTEL_RESOURCE_ATTRIBUTES", "resource_attributes") {
            config.resource_attributes = parse_resource_attributes(&var, &value)?;
        }
        let from_resource = config
            .resource_attributes
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone());
        if let Some((_, name)) = get("OTEL_SERVICE_NAME", "service_name") {
            config.service_name = name.trim().to_owned();
        } else if let Some(name) = from_resource {
            config.service_name = name;
        }
        if let Some((var, v)) = get("REDLINE_ADMIN_LISTEN", "admin_listen") {
            config.admin_listen = parse_listen(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_HTTP_DURATION_BUCKETS", "http_duration_buckets") {
            config.http_duration_buckets = parse_buckets(&var, &v)?;
        }
        if let Some((var, v)) = get(
            "REDLINE_OPERATION_DURATION_BUCKETS",
            "operation_duration_buckets",
        ) {
            config.operation_duration_buckets = parse_buckets(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_MAX_SERIES_PER_METRIC", "max_series_per_metric") {
            config.max_series_per_metric = parse_count(&var, &v, 1, MAX_SERIES_LIMIT)?;
        }
        if let Some((var, v)) = get("REDLINE_SYSTEM_METRICS", "system_metrics") {
            config.system_metrics = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_SYSTEM_METRICS_INTERVAL", "system_metrics_interval") {
            config.system_metrics_interval = parse_duration(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_PROCESS_METRICS", "process_metrics") {
            config.process_metrics = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_URL_SCHEME", "url_scheme") {
            config.url_scheme = match v.trim() {
                "http" => UrlScheme::Http,
                "https" => UrlScheme::Https,
                _ => return Err(invalid(&var, &v, "http or https")),
            };
        }
        if let Some((var, v)) = get("REDLINE_SHUTDOWN_DELAY", "shutdown_delay") {
            config.shutdown_delay = if v.trim() == "0" || v.trim() == "0s" {
                Duration::ZERO
            } else {
                parse_duration(&var, &v)?
            };
        }
        if let Some((var, v)) = get("REDLINE_SHUTDOWN_GRACE", "shutdown_grace") {
            config.shutdown_grace = parse_duration(&var, &v)?;
        }
        let token_source = match get("REDLINE_ADMIN_TOKEN", "-") {
            Some(found) => Some(found),
            None => match get("REDLINE_ADMIN_TOKEN_FILE", "admin_token_file") {
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
            config.admin_token = Some(AdminToken(token.to_owned()));
        }
        if let Some((var, v)) = get("REDLINE_METRICS_AUTH", "metrics_auth") {
            config.metrics_auth = parse_bool(&var, &v)?;
        }
        config.hardening = crate::security::HardeningConfig::from_source(&get)?;
        config.rate_limit = crate::security::RateLimitConfig::from_source(&get)?;
        config.logs = crate::logs::LogConfig::from_source(&get)?;
        config.traces = crate::traces::TraceConfig::from_source(&get)?;
        config.redact = crate::redact::RedactConfig::from_source(&get)?;
        Ok(config)
    }
}

/// The scalar values of a TOML configuration file, as strings, so the same
/// parsers (and error messages) serve both sources.
struct FileValues {
    path: PathBuf,
    table: toml::Table,
}

const FILE_KEYS: [&str; 14] = [
    "admin_token_file",
    "metrics_auth",
    "shutdown_delay",
    "shutdown_grace",
    "service_name",
    "resource_attributes",
    "admin_listen",
    "http_duration_buckets",
    "operation_duration_buckets",
    "max_series_per_metric",
    "system_metrics",
    "system_metrics_interval",
    "process_metrics",
    "url_scheme",
];

impl FileValues {
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let file_error = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
        let modules: [&[&str]; 6] = [
            &FILE_KEYS,
            &crate::traces::config::FILE_KEYS,
            &crate::logs::FILE_KEYS,
            &crate::security::hardening::FILE_KEYS,
            &crate::security::rate_limit::FILE_KEYS,
            &crate::redact::FILE_KEYS,
        ];
        if let Some(unknown) = table
            .keys()
            .find(|k| !modules.iter().any(|keys| keys.contains(&k.as_str())))
        {
            let known: Vec<&str> = modules
                .iter()
                .flat_map(|keys| keys.iter().copied())
                .collect();
            return Err(file_error(format!(
                "unknown key `{unknown}`; known keys: {}",
                known.join(", ")
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            table,
        })
    }

    fn get(&self, key: &str) -> Option<(String, String)> {
        let value = self.table.get(key)?;
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            toml::Value::Table(t) => t
                .iter()
                .map(|(k, v)| match v {
                    toml::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        Some((format!("{}: {key}", self.path.display()), text))
    }
}

pub(crate) fn invalid(variable: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// A settings source over fixed `(variable, value)` pairs, for the tests of
/// each module's `from_source`.
#[cfg(test)]
pub(crate) fn test_source(
    pairs: &[(&str, &str)],
) -> impl Fn(&str, &str) -> Option<(String, String)> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |env: &str, _key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == env)
            .map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// A whole number from `min` to `max`.
pub(crate) fn parse_count(
    var: &str,
    v: &str,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| invalid(var, v, &format!("a whole number from {min} to {max}")))
}

pub(crate) fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(var, v, "true or false")),
    }
}

fn parse_listen(var: &str, v: &str) -> Result<Option<SocketAddr>, ConfigError> {
    match v.trim() {
        "off" | "none" | "disabled" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(var, v, "an IP:port such as 127.0.0.1:9464, or off")),
    }
}

/// `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds; 10 ms to 1 day.
pub(crate) fn parse_duration(var: &str, v: &str) -> Result<Duration, ConfigError> {
    let expected = "a duration from 10ms to 24h such as 500ms, 5s, 2m";
    let s = v.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid(var, v, expected))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(invalid(var, v, expected)),
    };
    if !(0.01..=86_400.0).contains(&seconds) {
        return Err(invalid(var, v, expected));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_buckets(var: &str, v: &str) -> Result<Vec<f64>, ConfigError> {
    let expected = "1 to 64 finite, non-negative numbers in increasing order, comma separated";
    let bounds: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid(var, v, expected))?;
    let ok = !bounds.is_empty()
        && bounds.len() <= 64
        && bounds.iter().all(|b| b.is_finite() && *b >= 0.0)
        && bounds.windows(2).all(|w| w[0] < w[1]);
    if ok {
        Ok(bounds)
    } else {
        Err(invalid(var, v, expected))
    }
}

/// `OTEL_RESOURCE_ATTRIBUTES`: `key1=value1,key2=value2`, values
/// percent-encoded (W3C Baggage octets), at most 64 pairs.
fn parse_resource_attributes(var: &str, v: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let expected = "comma-separated key=value pairs (at most 64), values percent-encoded";
    let mut out = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| invalid(var, v, expected))?;
        let key = key.trim();
        if key.is_empty() || out.len() >= 64 {
            return Err(invalid(var, v, expected));
        }
        let value = percent_decode(value.trim()).ok_or_else(|| invalid(var, v, expected))?;
        out.retain(|(k, _): &(String, String)| k != key);
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
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
            ("REDLINE_SYSTEM_METRICS_INTERVAL", "250ms"),
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
        assert_eq!(c.system_metrics_interval, Duration::from_millis(250));
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
}
