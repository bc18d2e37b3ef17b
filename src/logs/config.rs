//! Logging settings (`REDLINE_LOG*`, `REDLINE_ACCESS_LOG*`).

use std::path::PathBuf;
use std::time::Duration;

use super::rotation::RotationPolicy;
use crate::parse::{
    ConfigError, duration_seconds, invalid, parse_bool, parse_count, without_feature,
};

/// Where log lines go.
///
/// ```
/// assert_eq!(redline::logs::LogOutput::default(), redline::logs::LogOutput::Stdout);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogOutput {
    /// Standard output (containers collect it).
    #[default]
    Stdout,
    /// The rotating file only.
    File,
    /// Both.
    Both,
}

/// Logging configuration.
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "REDLINE_LOG" => Some("info,redline=debug".into()),
///     "REDLINE_LOG_OUTPUT" => Some("both".into()),
///     "REDLINE_LOG_MAX_SIZE" => Some("20MB".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.logs.rotation.max_bytes, 20 * 1024 * 1024);
/// assert_eq!(config.logs.output, redline::logs::LogOutput::Both);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `REDLINE_LOG`, else `RUST_LOG`: `EnvFilter` directives (`info`,
    /// `warn,redline=debug`). Default `info`.
    pub filter: String,
    /// `REDLINE_LOG_OUTPUT`: `stdout`, `file` or `both`. Unset, it is
    /// `file` when `REDLINE_LOG_FILE` is set and `stdout` otherwise.
    pub output: LogOutput,
    /// `REDLINE_LOG_FILE`: the file for `file`/`both` output. Setting it
    /// alone (without `REDLINE_LOG_OUTPUT`) means `file` output.
    ///
    /// ```
    /// let config = redline::Config::from_lookup(|name| {
    ///     (name == "REDLINE_LOG_FILE").then(|| "/var/log/app.log".into())
    /// }).unwrap();
    /// assert_eq!(config.logs.output, redline::logs::LogOutput::File);
    /// ```
    pub file: PathBuf,
    /// `REDLINE_LOG_MAX_SIZE` (`10MB`, bytes), `REDLINE_LOG_ROTATE_DAILY`
    /// (`true`/`false`), `REDLINE_LOG_KEEP` (old files kept),
    /// `REDLINE_LOG_COMPRESS` (gzip old files), `REDLINE_LOG_MAX_TOTAL_SIZE`
    /// and `REDLINE_LOG_MAX_AGE` (`7d`; old files deleted past either).
    pub rotation: RotationPolicy,
    /// `REDLINE_LOG_BUFFER_LINES`: lines the non-blocking buffer holds;
    /// more are dropped and counted, never blocking the service.
    pub buffer_lines: usize,
    /// `REDLINE_ACCESS_LOG`: level of the per-request line (`info`,
    /// `debug`…) or `off`.
    pub access_log: Option<tracing::Level>,
    /// `REDLINE_ACCESS_LOG_SLOW`: requests slower than this log at `warn`.
    pub access_log_slow: Duration,
    /// `REDLINE_ACCESS_LOG_SAMPLE`: fraction of successful, fast requests
    /// logged (failures and slow requests always are).
    pub access_log_sample: f64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            output: LogOutput::Stdout,
            file: PathBuf::from("logs/redline.log"),
            rotation: RotationPolicy::default(),
            buffer_lines: 65_536,
            access_log: Some(tracing::Level::INFO),
            access_log_slow: Duration::from_secs(1),
            access_log_sample: 1.0,
        }
    }
}

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

impl LogConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = LogConfig::default();
        if let Some((var, v)) = get("REDLINE_LOG").or_else(|| get("RUST_LOG")) {
            // Checked as it will be installed (with the audit floor).
            super::filter::installable(&v).map_err(|e| {
                let expected = "tracing filter directives such as info or warn,my_crate=debug";
                match e {
                    super::LogError::Filter(_) => invalid(&var, &v, expected),
                    refused => invalid(&var, &v, &format!("{refused}; {expected}")),
                }
            })?;
            c.filter = v.trim().to_owned();
        }
        let output = get("REDLINE_LOG_OUTPUT");
        if let Some((var, v)) = &output {
            c.output = match v.trim() {
                "stdout" => LogOutput::Stdout,
                "file" => LogOutput::File,
                "both" => LogOutput::Both,
                _ => return Err(invalid(var, v, "stdout, file or both")),
            };
        }
        if let Some((_, v)) = get("REDLINE_LOG_FILE") {
            c.file = PathBuf::from(v.trim());
            // A file named without an output: the file is what was meant.
            if output.is_none() {
                c.output = LogOutput::File;
            }
        }
        if let Some((var, v)) = get("REDLINE_LOG_MAX_SIZE") {
            c.rotation.max_bytes = parse_size(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_LOG_ROTATE_DAILY") {
            c.rotation.daily = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_LOG_KEEP") {
            c.rotation.keep = parse_count(&var, &v, 0, 1000)?;
        }
        if let Some((var, v)) = get("REDLINE_LOG_COMPRESS") {
            c.rotation.compress = parse_bool(&var, &v)?;
            if c.rotation.compress && !cfg!(feature = "log-compress") {
                return Err(without_feature(
                    &var,
                    &v,
                    "false",
                    "log-compress",
                    "enable it to gzip rotated log files",
                ));
            }
        }
        if let Some((var, v)) = get("REDLINE_LOG_MAX_TOTAL_SIZE") {
            c.rotation.max_total_bytes = parse_size(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_LOG_MAX_AGE") {
            c.rotation.max_age = parse_age(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_LOG_BUFFER_LINES") {
            c.buffer_lines = parse_count(&var, &v, 16, 10_000_000)?;
        }
        if let Some((var, v)) = get("REDLINE_ACCESS_LOG") {
            c.access_log = match v.trim().to_ascii_lowercase().as_str() {
                "off" | "false" | "none" => None,
                "error" => Some(tracing::Level::ERROR),
                "warn" => Some(tracing::Level::WARN),
                "info" => Some(tracing::Level::INFO),
                "debug" => Some(tracing::Level::DEBUG),
                "trace" => Some(tracing::Level::TRACE),
                _ => return Err(invalid(&var, &v, "off, error, warn, info, debug or trace")),
            };
        }
        if let Some((var, v)) = get("REDLINE_ACCESS_LOG_SLOW") {
            c.access_log_slow = crate::parse::parse_duration(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_ACCESS_LOG_SAMPLE") {
            c.access_log_sample = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| invalid(&var, &v, "a fraction from 0 to 1, such as 0.1"))?;
        }
        Ok(c)
    }
}

/// `10MB`, `512KB`, `1GB` (powers of 1024) or a number of bytes; 0 means
/// no size limit.
fn parse_size(var: &str, v: &str) -> Result<u64, ConfigError> {
    let expected = "a size such as 10MB, 512KB or 1048576 (bytes), 0 for no limit";
    let s = v.trim().to_ascii_uppercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number.parse().map_err(|_| invalid(var, v, expected))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" | "KIB" => 1 << 10,
        "MB" | "M" | "MIB" => 1 << 20,
        "GB" | "G" | "GIB" => 1 << 30,
        _ => return Err(invalid(var, v, expected)),
    };
    n.checked_mul(factor)
        .ok_or_else(|| invalid(var, v, expected))
}

/// `0` (no limit), or a duration from a minute to ten years: `12h`,
/// `30d`, `90m`.
fn parse_age(var: &str, v: &str) -> Result<Option<Duration>, ConfigError> {
    let expected = "0 (no limit) or a duration from 1m to 3650d such as 12h or 30d";
    match duration_seconds(v) {
        Some(0.0) => Ok(None),
        Some(s) if (60.0..=3650.0 * 86_400.0).contains(&s) => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(invalid(var, v, expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<LogConfig, ConfigError> {
        LogConfig::from_source(&crate::parse::test_source(pairs))
    }

    #[test]
    fn values_and_errors() {
        let c = parse(&[
            ("RUST_LOG", "debug"),
            ("REDLINE_LOG_KEEP", "3"),
            ("REDLINE_ACCESS_LOG", "off"),
            ("REDLINE_ACCESS_LOG_SAMPLE", "0.1"),
            ("REDLINE_LOG_MAX_SIZE", "512kb"),
            ("REDLINE_LOG_MAX_TOTAL_SIZE", "1GB"),
            ("REDLINE_LOG_MAX_AGE", "7d"),
            ("REDLINE_LOG_COMPRESS", "false"),
        ])
        .unwrap();
        assert_eq!(c.rotation.max_total_bytes, 1 << 30);
        assert_eq!(c.rotation.max_age, Some(Duration::from_secs(7 * 86_400)));
        assert!(!c.rotation.compress);
        assert_eq!(
            parse(&[("REDLINE_LOG_MAX_AGE", "0")])
                .unwrap()
                .rotation
                .max_age,
            None
        );
        assert_eq!(
            parse(&[("REDLINE_LOG_COMPRESS", "true")]).is_ok(),
            cfg!(feature = "log-compress"),
            "refused without the feature"
        );
        assert_eq!(c.filter, "debug");
        assert_eq!(c.rotation.keep, 3);
        assert_eq!(c.access_log, None);
        assert_eq!(c.access_log_sample, 0.1);
        assert_eq!(c.rotation.max_bytes, 512 * 1024);
        assert_eq!(
            parse(&[("REDLINE_LOG", "warn"), ("RUST_LOG", "debug")])
                .unwrap()
                .filter,
            "warn"
        );
        for (var, value) in [
            ("REDLINE_LOG", "info,[[["),
            ("REDLINE_LOG_OUTPUT", "syslog"),
            ("REDLINE_LOG_MAX_SIZE", "10 parsecs"),
            ("REDLINE_LOG_MAX_SIZE", "99999999999999999999GB"),
            ("REDLINE_LOG_KEEP", "-1"),
            ("REDLINE_LOG_MAX_AGE", "30s"),
            ("REDLINE_LOG_MAX_AGE", "-1d"),
            ("REDLINE_LOG_MAX_AGE", "forever"),
            ("REDLINE_LOG_MAX_TOTAL_SIZE", "lots"),
            ("REDLINE_LOG_COMPRESS", "gzip"),
            ("REDLINE_LOG_BUFFER_LINES", "1"),
            ("REDLINE_ACCESS_LOG", "loud"),
            ("REDLINE_ACCESS_LOG_SAMPLE", "2"),
        ] {
            match parse(&[(var, value)]) {
                Err(ConfigError::Invalid { variable, .. }) => assert_eq!(variable, var),
                other => panic!("{var}={value}: {other:?}"),
            }
        }
    }

    #[test]
    fn log_file_alone_means_file_output() {
        let c = parse(&[("REDLINE_LOG_FILE", "/tmp/app.log")]).unwrap();
        assert_eq!(c.output, LogOutput::File);
        assert_eq!(c.file, PathBuf::from("/tmp/app.log"));
        // An explicit output still wins.
        for (output, expected) in [
            ("stdout", LogOutput::Stdout),
            ("both", LogOutput::Both),
            ("file", LogOutput::File),
        ] {
            let c = parse(&[
                ("REDLINE_LOG_FILE", "/tmp/app.log"),
                ("REDLINE_LOG_OUTPUT", output),
            ])
            .unwrap();
            assert_eq!(c.output, expected, "{output}");
        }
        // Neither: stdout, the default file name unused.
        assert_eq!(parse(&[]).unwrap().output, LogOutput::Stdout);
    }
}
