//! Parsing primitives of the settings: the error a bad value gives, and the
//! readers of counts, booleans, durations, bucket lists, listen addresses,
//! resource attributes and percent-encoded text that every subsystem's
//! settings use. A leaf module: it imports nothing of the crate, so the
//! subsystems read their own settings with it and `config` gathers them
//! without an import cycle.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Set `REDLINE_*` variables that redline does not read (see
    /// [`Config::from_vars`](crate::Config::from_vars)).
    #[error(
        "unknown {}: redline does not read {}; correct or unset {}, or set REDLINE_UNKNOWN_VARIABLES=warn to start anyway",
        list_unknown(variables),
        if variables.len() == 1 { "it" } else { "them" },
        if variables.len() == 1 { "it" } else { "them" }
    )]
    UnknownVariables {
        /// The variables, each with the closest known name if one is close.
        variables: Vec<UnknownVariable>,
    },
    /// The admin principals file (`REDLINE_ADMIN_PRINCIPALS_FILE`) cannot
    /// be used. Names the principal when one is at fault; never a token.
    ///
    /// ```
    /// let err = redline::ConfigError::AdminPrincipals {
    ///     variable: "REDLINE_ADMIN_PRINCIPALS_FILE".into(),
    ///     path: "/etc/redline/principals.toml".into(),
    ///     principal: Some("\"ci-bot\"".into()),
    ///     reason: "unknown role \"root\" (expected viewer or operator)".into(),
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"invalid REDLINE_ADMIN_PRINCIPALS_FILE="/etc/redline/principals.toml", principal "ci-bot": unknown role "root" (expected viewer or operator)"#
    /// );
    /// ```
    #[error("invalid {variable}={path:?}{}: {reason}", principal_of(principal.as_deref()))]
    AdminPrincipals {
        /// The variable (or file key) that names the file.
        variable: String,
        /// The principals file.
        path: PathBuf,
        /// The principal at fault (its name, or `#N` before its name is
        /// known), if the fault is one principal's.
        principal: Option<String>,
        /// What is wrong and what would be accepted.
        reason: String,
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

fn principal_of(principal: Option<&str>) -> String {
    principal.map_or_else(String::new, |p| format!(", principal {p}"))
}

fn list_unknown(variables: &[UnknownVariable]) -> String {
    let names: Vec<String> = variables.iter().map(UnknownVariable::to_string).collect();
    let noun = if names.len() == 1 {
        "variable"
    } else {
        "variables"
    };
    format!("{noun} {}", names.join(", "))
}

/// A set `REDLINE_*` variable that no part of redline reads, and the known
/// variable it probably meant.
///
/// ```
/// let err = redline::Config::from_vars([("REDLINE_RATE_LIMT", "5/s")], &[]).unwrap_err();
/// let redline::ConfigError::UnknownVariables { variables } = err else { panic!() };
/// assert_eq!(variables[0].name, "REDLINE_RATE_LIMT");
/// assert_eq!(variables[0].suggestion.as_deref(), Some("REDLINE_RATE_LIMIT"));
/// assert_eq!(variables[0].to_string(), "REDLINE_RATE_LIMT (did you mean REDLINE_RATE_LIMIT?)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariable {
    /// The variable as set.
    pub name: String,
    /// The closest known variable, when it is close (a few edits away).
    pub suggestion: Option<String>,
}

impl std::fmt::Display for UnknownVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.suggestion {
            Some(known) => write!(f, "{} (did you mean {known}?)", self.name),
            None => f.write_str(&self.name),
        }
    }
}

pub(crate) fn invalid(variable: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        variable: variable.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// A setting of a feature this build was compiled without: refused at
/// start, naming the feature, so that it never silently does nothing.
/// `accepted` is what the variable may still say (`false`, `off`, `unset`),
/// `purpose` what enabling the feature gives.
pub(crate) fn without_feature(
    variable: &str,
    value: &str,
    accepted: &str,
    feature: &str,
    purpose: &str,
) -> ConfigError {
    invalid(
        variable,
        value,
        &format!("{accepted}: this build of redline has no `{feature}` feature ({purpose})"),
    )
}

/// A settings source over fixed `(variable, value)` pairs, for the tests of
/// each module's `from_source`.
#[cfg(test)]
pub(crate) fn test_source(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<(String, String)> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |env: &str| {
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

pub(crate) fn parse_listen(var: &str, v: &str) -> Result<Option<SocketAddr>, ConfigError> {
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
    match duration_seconds(v) {
        Some(seconds) if (0.01..=86_400.0).contains(&seconds) => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(invalid(var, v, expected)),
    }
}

/// The seconds a duration such as `500ms`, `5s`, `2m`, `1h`, `7d` or `3` (seconds)
/// stands for, unbounded; `None` if it is not one.
pub(crate) fn duration_seconds(v: &str) -> Option<f64> {
    let s = v.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(number / 1000.0),
        "" | "s" => Some(number),
        "m" => Some(number * 60.0),
        "h" => Some(number * 3600.0),
        "d" => Some(number * 86_400.0),
        _ => None,
    }
}

pub(crate) fn parse_buckets(var: &str, v: &str) -> Result<Vec<f64>, ConfigError> {
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
pub(crate) fn parse_resource_attributes(
    var: &str,
    v: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
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
