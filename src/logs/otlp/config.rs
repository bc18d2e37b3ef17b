//! OTLP log export settings, from OpenTelemetry's standard variables
//! (<https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/>:
//! `OTEL_LOGS_EXPORTER`, the batch log record processor's `OTEL_BLRP_*`,
//! and the OTLP exporter's `OTEL_EXPORTER_OTLP_[LOGS_]*`), read as the
//! span exporter's are (`crate::traces::TraceConfig`): a bad value stops
//! the start, naming the variable.

use std::time::Duration;

use crate::parse::{ConfigError, invalid, parse_count};
use crate::traces::config::{parse_endpoint, parse_headers, parse_millis, parse_protocol};
use crate::traces::{OtlpHeaders, OtlpProtocol, missing_feature};

/// Where log records go beside the JSON lines (`OTEL_LOGS_EXPORTER`).
///
/// ```
/// use redline::logs::LogsExporter;
/// assert_eq!(LogsExporter::default(), LogsExporter::None);
/// let config = redline::Config::from_lookup(|name| {
///     (name == "OTEL_LOGS_EXPORTER").then(|| "none".to_string())
/// }).unwrap();
/// assert_eq!(config.log_export.exporter, LogsExporter::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogsExporter {
    /// `none` (the default): the JSON lines only.
    #[default]
    None,
    /// `otlp`: every event redline writes is also exported as an OTLP log
    /// record (needs the `otlp-grpc` or `otlp-http` feature).
    Otlp,
}

/// Where and how log records are exported over OTLP
/// (`OTEL_LOGS_EXPORTER=otlp`), and how they are batched.
///
/// ```
/// # if cfg!(feature = "otlp-http") {
/// let config = redline::Config::from_lookup(|name| match name {
///     "OTEL_LOGS_EXPORTER" => Some("otlp".into()),
///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4318".into()),
///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".into()),
///     "OTEL_BLRP_MAX_QUEUE_SIZE" => Some("100".into()),
///     _ => None,
/// }).unwrap();
/// let logs = &config.log_export;
/// assert_eq!(logs.exporter, redline::logs::LogsExporter::Otlp);
/// assert_eq!(logs.endpoint(), "http://127.0.0.1:4318/v1/logs");
/// assert_eq!(logs.max_queue_size, 100);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogExportConfig {
    /// `OTEL_LOGS_EXPORTER`: `otlp` or `none` (default).
    pub exporter: LogsExporter,
    /// The full URL records are sent to: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`
    /// as given, or `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/logs` appended
    /// for HTTP). `None`: the specification's default for the protocol
    /// (see [`LogExportConfig::endpoint`]).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL`: `grpc` or `http/protobuf`.
    pub protocol: OtlpProtocol,
    /// `OTEL_EXPORTER_OTLP_[LOGS_]HEADERS`: sent with every export.
    pub headers: OtlpHeaders,
    /// `OTEL_EXPORTER_OTLP_[LOGS_]TIMEOUT` (milliseconds): per export
    /// request.
    pub timeout: Duration,
    /// `OTEL_BLRP_MAX_QUEUE_SIZE`: records waiting for export; more are
    /// dropped and counted.
    pub max_queue_size: usize,
    /// `OTEL_BLRP_SCHEDULE_DELAY` (milliseconds) between two exports.
    pub schedule_delay: Duration,
    /// `OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`: records per export request (at
    /// most the queue size).
    pub max_export_batch_size: usize,
    /// `OTEL_BLRP_EXPORT_TIMEOUT` (milliseconds): an export request is
    /// bounded by the smaller of this and [`LogExportConfig::timeout`].
    pub export_timeout: Duration,
    /// `OTEL_EXPORTER_OTLP_[LOGS_]CERTIFICATE`, `…_CLIENT_CERTIFICATE` and
    /// `…_CLIENT_KEY`: TLS of an `https://` endpoint (feature `tls`).
    pub tls: crate::tls::OtlpTls,
}

impl Default for LogExportConfig {
    fn default() -> Self {
        Self {
            exporter: LogsExporter::None,
            endpoint: None,
            protocol: OtlpProtocol::default(),
            headers: OtlpHeaders::default(),
            timeout: Duration::from_secs(10),
            max_queue_size: 2048,
            schedule_delay: Duration::from_millis(1000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_secs(30),
            tls: crate::tls::OtlpTls::default(),
        }
    }
}

/// A source of settings: env var → `(where it came from, value)`.
type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

impl LogExportConfig {
    /// The URL records are sent to: [`LogExportConfig::endpoint`]'s field,
    /// else the specification's default, `http://localhost:4317` for gRPC
    /// and `http://localhost:4318/v1/logs` for HTTP/protobuf.
    ///
    /// ```
    /// let mut c = redline::logs::LogExportConfig::default();
    /// c.protocol = redline::traces::OtlpProtocol::Grpc;
    /// assert_eq!(c.endpoint(), "http://localhost:4317");
    /// c.endpoint = Some("http://collector:4317".into());
    /// assert_eq!(c.endpoint(), "http://collector:4317");
    /// ```
    pub fn endpoint(&self) -> String {
        match (&self.endpoint, self.protocol) {
            (Some(url), _) => url.clone(),
            (None, OtlpProtocol::Grpc) => "http://localhost:4317".into(),
            (None, OtlpProtocol::HttpProtobuf) => "http://localhost:4318/v1/logs".into(),
        }
    }

    /// The per-request bound: the smaller of the two timeouts.
    #[cfg_attr(not(feature = "otlp-logs"), allow(dead_code))]
    pub(crate) fn request_timeout(&self) -> Duration {
        self.timeout.min(self.export_timeout)
    }

    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        let first =
            |names: &[&str]| -> Option<(String, String)> { names.iter().find_map(|n| get(n)) };
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]) {
            c.protocol = parse_protocol(&var, &v)?;
        }
        // The signal's own endpoint is used as given; the generic one is a
        // base URL to which each signal appends its path (spec: "Endpoint
        // URLs for OTLP/HTTP").
        if let Some((var, v)) = get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") {
            c.endpoint = Some(parse_endpoint(&var, &v)?);
        } else if let Some((var, v)) = get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let url = parse_endpoint(&var, &v)?;
            c.endpoint = Some(match c.protocol {
                OtlpProtocol::HttpProtobuf => format!("{}/v1/logs", url.trim_end_matches('/')),
                OtlpProtocol::Grpc => url,
            });
        }
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ]) {
            c.headers = parse_headers(&var, &v)?;
        }
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ]) {
            c.timeout = parse_millis(&var, &v)?;
        }
        c.tls = crate::tls::otlp_tls_from_source(get, "LOGS")?;
        if let Some((var, v)) = get("OTEL_BLRP_MAX_QUEUE_SIZE") {
            c.max_queue_size = parse_count(&var, &v, 1, 1_000_000)?;
        }
        if let Some((var, v)) = get("OTEL_BLRP_SCHEDULE_DELAY") {
            c.schedule_delay = parse_millis(&var, &v)?;
        }
        if let Some((var, v)) = get("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE") {
            c.max_export_batch_size = parse_count(&var, &v, 1, 1_000_000)?;
        }
        if let Some((var, v)) = get("OTEL_BLRP_EXPORT_TIMEOUT") {
            c.export_timeout = parse_millis(&var, &v)?;
        }
        // The spec: a batch size above the queue size is clamped to it.
        c.max_export_batch_size = c.max_export_batch_size.min(c.max_queue_size);
        if let Some((var, v)) = get("OTEL_LOGS_EXPORTER") {
            c.exporter = match v.trim() {
                "none" => LogsExporter::None,
                "otlp" => {
                    // Asked for in a build that cannot: refused, naming the
                    // feature, never silently not exported.
                    if let Some(reason) = missing_feature(c.protocol) {
                        return Err(invalid(&var, &v, &format!("none: {reason}")));
                    }
                    LogsExporter::Otlp
                }
                "console" => {
                    return Err(invalid(
                        &var,
                        &v,
                        "otlp or none (console output is REDLINE_LOG_OUTPUT=stdout)",
                    ));
                }
                _ => return Err(invalid(&var, &v, "otlp or none")),
            };
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<LogExportConfig, ConfigError> {
        LogExportConfig::from_source(&crate::parse::test_source(pairs))
    }

    fn variable(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { variable, .. } => variable,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_specification() {
        let c = parse(&[]).unwrap();
        assert_eq!(c, LogExportConfig::default());
        assert_eq!(c.exporter, LogsExporter::None);
        assert_eq!(c.max_queue_size, 2048);
        assert_eq!(c.schedule_delay, Duration::from_millis(1000));
        assert_eq!(c.max_export_batch_size, 512);
        assert_eq!(c.export_timeout, Duration::from_millis(30_000));
        assert_eq!(c.request_timeout(), Duration::from_secs(10));
    }

    #[cfg(feature = "otlp-http")]
    #[test]
    fn the_logs_variables_win_and_the_generic_endpoint_gets_the_path() {
        let c = parse(&[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ])
        .unwrap();
        assert_eq!(c.endpoint(), "http://a:4318/v1/logs");
        let c = parse(&[
            ("OTEL_LOGS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://b:9999/custom"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "250"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "b=2"),
        ])
        .unwrap();
        assert_eq!(c.endpoint(), "http://b:9999/custom");
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.timeout, Duration::from_millis(250));
        assert_eq!(c.headers.0, vec![("b".to_string(), "2".to_string())]);
    }

    #[cfg(feature = "otlp-grpc")]
    #[test]
    fn grpc_endpoints_get_no_path() {
        let c = parse(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")]).unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:4317");
    }

    #[test]
    fn the_export_timeout_bounds_each_request() {
        let c = parse(&[
            ("OTEL_BLRP_EXPORT_TIMEOUT", "300"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "2000"),
        ])
        .unwrap();
        assert_eq!(c.request_timeout(), Duration::from_millis(300));
        let c = parse(&[
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "500"),
        ])
        .unwrap();
        assert_eq!(c.max_export_batch_size, 10, "clamped to the queue size");
    }

    /// `otlp` without the transport of its protocol is refused at start,
    /// naming the feature; anything but `otlp` and `none` is refused.
    #[test]
    fn the_exporter_is_checked() {
        for (protocol, feature, built) in [
            ("grpc", "otlp-grpc", cfg!(feature = "otlp-grpc")),
            ("http/protobuf", "otlp-http", cfg!(feature = "otlp-http")),
        ] {
            let r = parse(&[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_LOGS_EXPORTER", "otlp"),
            ]);
            if built {
                assert_eq!(r.unwrap().exporter, LogsExporter::Otlp);
            } else {
                let e = r.unwrap_err().to_string();
                assert!(e.contains("OTEL_LOGS_EXPORTER"), "{e}");
                assert!(e.contains(&format!("no `{feature}` feature")), "{e}");
            }
        }
        for value in ["console", "otlp,console", "OTLP", "yes"] {
            let e = parse(&[("OTEL_LOGS_EXPORTER", value)]).unwrap_err();
            assert!(e.to_string().contains("otlp or none"), "{e}");
            assert_eq!(variable(e), "OTEL_LOGS_EXPORTER");
        }
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "localhost:4317"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "bad header=x"),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "10s"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "-1"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "many"),
            ("OTEL_BLRP_EXPORT_TIMEOUT", "0"),
        ] {
            assert_eq!(
                variable(parse(&[(var, value)]).unwrap_err()),
                var,
                "{var}={value}"
            );
        }
    }
}
