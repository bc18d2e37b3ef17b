//! Trace settings from OpenTelemetry's standard variables
//! (<https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/>
//! and the OTLP exporter's
//! <https://opentelemetry.io/docs/specs/otel/protocol/exporter/>).
//!
//! Parsed here, not left to the SDK, so a bad value stops the service with
//! the variable's name instead of being silently replaced by a default.

use std::fmt;
use std::time::Duration;

use crate::parse::{ConfigError, invalid, parse_bool, parse_count, percent_decode};

/// Where and how spans are exported, and which are sampled.
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4318".into()),
///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("http/protobuf".into()),
///     "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
///     "OTEL_TRACES_SAMPLER_ARG" => Some("0.1".into()),
///     _ => None,
/// }).unwrap();
/// let traces = &config.traces;
/// assert_eq!(traces.endpoint.as_deref(), Some("http://127.0.0.1:4318/v1/traces"));
/// assert_eq!(traces.protocol, redline::traces::OtlpProtocol::HttpProtobuf);
/// assert_eq!(traces.sampler, redline::traces::SamplerConfig::ParentBasedTraceIdRatio(0.1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TraceConfig {
    /// `false` when `OTEL_SDK_DISABLED=true`: no spans, no trace context, no
    /// `traceparent` on responses; metrics still work.
    pub enabled: bool,
    /// The full URL spans are sent to: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// as given, or `OTEL_EXPORTER_OTLP_ENDPOINT` (with `/v1/traces`
    /// appended for HTTP). `None`: trace context stays local (ids in
    /// responses and logs, nothing recorded or exported).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`: `grpc` or `http/protobuf`.
    pub protocol: OtlpProtocol,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`: sent with every export.
    pub headers: OtlpHeaders,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` (milliseconds): per export.
    pub timeout: Duration,
    /// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.
    pub sampler: SamplerConfig,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: spans waiting for export; more are
    /// dropped and counted.
    pub max_queue_size: usize,
    /// `OTEL_BSP_SCHEDULE_DELAY` (milliseconds) between two exports.
    pub schedule_delay: Duration,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans per export request.
    pub max_export_batch_size: usize,
    /// `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds).
    pub export_timeout: Duration,
    /// `REDLINE_TRACES_SHUTDOWN_TIMEOUT`: how long shutdown waits for the
    /// last spans to be exported before giving up on them.
    pub shutdown_timeout: Duration,
    /// `REDLINE_TRACES_RESPONSE_HEADER`: when responses carry `traceparent`.
    pub response_traceparent: ResponseTraceparent,
    /// `REDLINE_TRACES_KEEP_ERRORS`: a request the sampler left out is
    /// still exported when it fails (5xx, handler error, panic). The
    /// decision is taken when the response starts (see
    /// `docs/TRACING.md`, "Sampling at the end of a request").
    pub keep_errors: bool,
    /// `REDLINE_TRACES_SLOW_THRESHOLD`: a request the sampler left out is
    /// still exported when its response took at least this long.
    pub slow_threshold: Option<Duration>,
    /// `OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE`, `…_CLIENT_CERTIFICATE`
    /// and `…_CLIENT_KEY`: TLS of an `https://` endpoint (feature `tls`).
    pub tls: crate::tls::OtlpTls,
}

/// When a response carries the `traceparent` of its server span
/// (`REDLINE_TRACES_RESPONSE_HEADER`).
///
/// ```
/// use redline::traces::ResponseTraceparent;
/// assert_eq!(ResponseTraceparent::default(), ResponseTraceparent::Sampled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseTraceparent {
    /// `sampled` (default): when the request's trace is recorded, so the
    /// client gets a trace id it can look up. Unsampled requests skip the
    /// header (and its cost: ~1,100 instructions per request).
    #[default]
    Sampled,
    /// `always`: every request, sampled or not (flags `00` when not).
    Always,
    /// `never`: trace ids stay internal (for services facing untrusted
    /// clients that should not learn them).
    Never,
}

/// The OTLP transport. The default is gRPC, or HTTP/protobuf in a build
/// with only the `otlp-http` feature.
///
/// ```
/// use redline::traces::OtlpProtocol;
/// let expected = if cfg!(feature = "otlp-grpc") || !cfg!(feature = "otlp-http") {
///     OtlpProtocol::Grpc
/// } else {
///     OtlpProtocol::HttpProtobuf
/// };
/// assert_eq!(OtlpProtocol::default(), expected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// OTLP/gRPC (default port 4317).
    Grpc,
    /// OTLP/HTTP with protobuf bodies (default port 4318).
    HttpProtobuf,
}

impl Default for OtlpProtocol {
    fn default() -> Self {
        if cfg!(feature = "otlp-http") && !cfg!(feature = "otlp-grpc") {
            Self::HttpProtobuf
        } else {
            Self::Grpc
        }
    }
}

/// Which traces are recorded (`OTEL_TRACES_SAMPLER`).
///
/// ```
/// use redline::traces::SamplerConfig;
/// assert_eq!(SamplerConfig::default(), SamplerConfig::ParentBasedAlwaysOn);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum SamplerConfig {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio` with the ratio from `OTEL_TRACES_SAMPLER_ARG`.
    TraceIdRatio(f64),
    /// `parentbased_always_on` (the default): follow the caller's decision,
    /// sample new traces.
    #[default]
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`.
    ParentBasedTraceIdRatio(f64),
}

/// OTLP request headers (often credentials): their values never appear in
/// `Debug` output.
///
/// ```
/// let h = redline::traces::OtlpHeaders(vec![("api-key".into(), "s3cret".into())]);
/// assert!(!format!("{h:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct OtlpHeaders(pub Vec<(String, String)>);

impl fmt::Debug for OtlpHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| format!("{k}=<redacted>")))
            .finish()
    }
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            endpoint: None,
            protocol: OtlpProtocol::default(),
            headers: OtlpHeaders::default(),
            timeout: Duration::from_secs(10),
            sampler: SamplerConfig::ParentBasedAlwaysOn,
            max_queue_size: 2048,
            schedule_delay: Duration::from_millis(5000),
            max_export_batch_size: 512,
            export_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(3),
            response_traceparent: ResponseTraceparent::Sampled,
            keep_errors: false,
            slow_threshold: None,
            tls: crate::tls::OtlpTls::default(),
        }
    }
}

/// A source of settings: env var → `(where it came from, value)`; the
/// source also reads the variable's file key (declared in `crate::settings`).
pub(crate) type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

impl TraceConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = TraceConfig::default();
        let first =
            |names: &[&str]| -> Option<(String, String)> { names.iter().find_map(|n| get(n)) };
        if let Some((var, v)) = get("OTEL_SDK_DISABLED") {
            let flag = parse_bool(&var, &v)?;
            // The file key says "enabled", the variable says "disabled".
            c.enabled = if var == "OTEL_SDK_DISABLED" {
                !flag
            } else {
                flag
            };
        }
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ]) {
            c.protocol = parse_protocol(&var, &v)?;
        }
        // The signal's own endpoint is used as given; the generic one is a
        // base URL to which each signal appends its own path (spec:
        // "Endpoint URLs for OTLP/HTTP").
        let endpoint = match get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(setting) => Some((setting, true)),
            None => get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|setting| (setting, false)),
        };
        if let Some(((var, v), as_given)) = endpoint {
            // An endpoint this build cannot export to is refused, not ignored.
            if let Some(reason) = super::missing_feature(c.protocol) {
                return Err(invalid(&var, &v, &format!("no endpoint: {reason}")));
            }
            let url = parse_endpoint(&var, &v)?;
            c.endpoint = Some(match c.protocol {
                OtlpProtocol::HttpProtobuf if !as_given => {
                    format!("{}/v1/traces", url.trim_end_matches('/'))
                }
                _ => url,
            });
        }
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ]) {
            c.headers = parse_headers(&var, &v)?;
        }
        if let Some((var, v)) = first(&[
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ]) {
            c.timeout = parse_millis(&var, &v)?;
        }
        c.tls = crate::tls::otlp_tls_from_source(get, "TRACES")?;
        let arg = get("OTEL_TRACES_SAMPLER_ARG");
        if let Some((var, v)) = get("OTEL_TRACES_SAMPLER") {
            c.sampler = parse_sampler(&var, &v, arg.as_ref())?;
        }
        if let Some((var, v)) = get("OTEL_BSP_MAX_QUEUE_SIZE") {
            c.max_queue_size = parse_count(&var, &v, 1, 1_000_000)?;
        }
        if let Some((var, v)) = get("OTEL_BSP_SCHEDULE_DELAY") {
            c.schedule_delay = parse_millis(&var, &v)?;
        }
        if let Some((var, v)) = get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            c.max_export_batch_size = parse_count(&var, &v, 1, 1_000_000)?;
        }
        if let Some((var, v)) = get("OTEL_BSP_EXPORT_TIMEOUT") {
            c.export_timeout = parse_millis(&var, &v)?;
        }
        // The spec: a batch size above the queue size is clamped to it.
        c.max_export_batch_size = c.max_export_batch_size.min(c.max_queue_size);
        if let Some((var, v)) = get("REDLINE_TRACES_SHUTDOWN_TIMEOUT") {
            c.shutdown_timeout = crate::parse::parse_duration(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_TRACES_KEEP_ERRORS") {
            c.keep_errors = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_TRACES_SLOW_THRESHOLD") {
            let threshold = crate::parse::parse_duration(&var, &v)?;
            if threshold.is_zero() {
                return Err(invalid(&var, &v, "a duration above zero"));
            }
            c.slow_threshold = Some(threshold);
        }
        if let Some((var, v)) = get("REDLINE_TRACES_RESPONSE_HEADER") {
            c.response_traceparent = match v.trim() {
                "sampled" => ResponseTraceparent::Sampled,
                "always" => ResponseTraceparent::Always,
                "never" => ResponseTraceparent::Never,
                _ => return Err(invalid(&var, &v, "sampled, always or never")),
            };
        }
        Ok(c)
    }
}

/// `grpc` or `http/protobuf` (`OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL`).
pub(crate) fn parse_protocol(var: &str, v: &str) -> Result<OtlpProtocol, ConfigError> {
    match v.trim() {
        "grpc" => Ok(OtlpProtocol::Grpc),
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        _ => Err(invalid(var, v, "grpc or http/protobuf")),
    }
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn parse_endpoint(var: &str, v: &str) -> Result<String, ConfigError> {
    let expected = "an http:// or https:// URL with a host, such as http://127.0.0.1:4317";
    let s = v.trim();
    let uri: http::Uri = s.parse().map_err(|_| invalid(var, v, expected))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http") | Some("https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err(invalid(var, v, expected));
    }
    crate::tls::check_endpoint_scheme(var, s)?;
    Ok(s.to_owned())
}

/// `key1=value1,key2=value2`, values percent-encoded; names and values must
/// be valid HTTP header names and values.
pub(crate) fn parse_headers(var: &str, v: &str) -> Result<OtlpHeaders, ConfigError> {
    let expected = "comma-separated name=value pairs (at most 64), valid HTTP header names, values percent-encoded";
    // The value may be a credential: never echo it in the error.
    let err = || invalid(var, "<redacted>", expected);
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').ok_or_else(err)?;
        let name = name.trim().to_ascii_lowercase();
        let value = percent_decode(value.trim()).ok_or_else(err)?;
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(&value).is_err()
            || out.len() >= 64
        {
            return Err(err());
        }
        out.retain(|(k, _)| *k != name);
        out.push((name, value));
    }
    Ok(OtlpHeaders(out))
}

/// Milliseconds, as the OTel variables are specified; 1 ms to 1 hour.
pub(crate) fn parse_millis(var: &str, v: &str) -> Result<Duration, ConfigError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (1..=3_600_000).contains(ms))
        .map(Duration::from_millis)
        .ok_or_else(|| invalid(var, v, "milliseconds, a whole number from 1 to 3600000"))
}

fn parse_sampler(
    var: &str,
    v: &str,
    arg: Option<&(String, String)>,
) -> Result<SamplerConfig, ConfigError> {
    let ratio = || -> Result<f64, ConfigError> {
        match arg {
            // The spec's default ratio when no argument is given.
            None => Ok(1.0),
            Some((arg_var, a)) => a
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| invalid(arg_var, a, "a probability from 0 to 1, such as 0.1")),
        }
    };
    Ok(match v.trim() {
        "always_on" => SamplerConfig::AlwaysOn,
        "always_off" => SamplerConfig::AlwaysOff,
        "traceidratio" => SamplerConfig::TraceIdRatio(ratio()?),
        "parentbased_always_on" => SamplerConfig::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerConfig::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerConfig::ParentBasedTraceIdRatio(ratio()?),
        _ => {
            return Err(invalid(
                var,
                v,
                "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<TraceConfig, ConfigError> {
        TraceConfig::from_source(&crate::parse::test_source(pairs))
    }

    fn variable(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { variable, .. } => variable,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_keep_tracing_local() {
        let c = parse(&[]).unwrap();
        assert_eq!(c, TraceConfig::default());
        assert!(c.enabled && c.endpoint.is_none());
    }

    #[cfg(feature = "otlp-http")]
    #[test]
    fn signal_specific_variables_win_and_are_used_as_given() {
        let c = parse(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:9999/custom"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "250"),
        ])
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://b:9999/custom"));
        assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.timeout, Duration::from_millis(250));
    }

    #[cfg(feature = "otlp-grpc")]
    #[test]
    fn grpc_endpoint_gets_no_path() {
        let c = parse(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")]).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4317"));
    }

    /// An endpoint for a transport this build lacks is refused at start,
    /// naming the feature, never silently not exported to.
    #[test]
    fn an_endpoint_without_its_transport_is_refused() {
        for (protocol, feature, built) in [
            ("grpc", "otlp-grpc", cfg!(feature = "otlp-grpc")),
            ("http/protobuf", "otlp-http", cfg!(feature = "otlp-http")),
        ] {
            let r = parse(&[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ]);
            if built {
                assert!(r.is_ok(), "{r:?}");
            } else {
                let e = r.unwrap_err().to_string();
                assert!(e.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}");
                assert!(e.contains(&format!("no `{feature}` feature")), "{e}");
            }
            // Without an endpoint, nothing is exported and nothing refused.
            assert!(parse(&[("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)]).is_ok());
        }
    }

    #[test]
    fn headers_are_decoded_and_kept_out_of_errors() {
        let c = parse(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Api-Key=abc%20def, x-tenant=t1",
        )])
        .unwrap();
        assert_eq!(
            c.headers.0,
            vec![
                ("api-key".to_string(), "abc def".to_string()),
                ("x-tenant".to_string(), "t1".to_string())
            ]
        );
        let err = parse(&[("OTEL_EXPORTER_OTLP_HEADERS", "bad header=topsecret%0A")]).unwrap_err();
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }

    #[test]
    fn samplers() {
        let s = |name: &str, arg: Option<&str>| {
            let mut v = vec![("OTEL_TRACES_SAMPLER", name)];
            if let Some(a) = arg {
                v.push(("OTEL_TRACES_SAMPLER_ARG", a));
            }
            parse(&v).map(|c| c.sampler)
        };
        assert_eq!(s("always_on", None).unwrap(), SamplerConfig::AlwaysOn);
        assert_eq!(s("always_off", None).unwrap(), SamplerConfig::AlwaysOff);
        assert_eq!(
            s("traceidratio", Some("0.25")).unwrap(),
            SamplerConfig::TraceIdRatio(0.25)
        );
        assert_eq!(
            s("traceidratio", None).unwrap(),
            SamplerConfig::TraceIdRatio(1.0)
        );
        assert_eq!(
            s("parentbased_always_off", None).unwrap(),
            SamplerConfig::ParentBasedAlwaysOff
        );
        assert_eq!(
            variable(s("traceidratio", Some("1.5")).unwrap_err()),
            "OTEL_TRACES_SAMPLER_ARG"
        );
        assert_eq!(
            variable(s("sometimes", None).unwrap_err()),
            "OTEL_TRACES_SAMPLER"
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        for (var, value) in [
            ("OTEL_SDK_DISABLED", "perhaps"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_SCHEDULE_DELAY", "-1"),
            ("REDLINE_TRACES_SHUTDOWN_TIMEOUT", "forever"),
            ("REDLINE_TRACES_RESPONSE_HEADER", "sometimes"),
        ] {
            assert_eq!(
                variable(parse(&[(var, value)]).unwrap_err()),
                var,
                "{var}={value}"
            );
        }
    }

    #[test]
    fn sdk_disabled_and_batch_settings() {
        let c = parse(&[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"),
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ])
        .unwrap();
        assert!(!c.enabled);
        assert_eq!(c.max_queue_size, 100);
        assert_eq!(c.max_export_batch_size, 100, "clamped to the queue size");
        assert_eq!(c.schedule_delay, Duration::from_millis(200));
    }
}
