//! The status page's settings: `REDLINE_STATUS_*` and
//! `REDLINE_TRACE_UI_URL`.

use std::time::Duration;

use crate::parse::{ConfigError, invalid, parse_bool, parse_duration};

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

/// The status page's settings (see [`crate::status`]).
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "REDLINE_STATUS_PUBLIC" => Some("true".into()),
///     "REDLINE_TRACE_UI_URL" => Some("http://localhost:16686/trace/{trace_id}".into()),
///     _ => None,
/// }).unwrap();
/// assert!(config.status.enabled && config.status.public);
/// assert_eq!(config.status.trace_ui_url.as_deref(), Some("http://localhost:16686/trace/{trace_id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusConfig {
    /// `REDLINE_STATUS_PAGE`: serve `/status` and keep its history (on by
    /// default).
    pub enabled: bool,
    /// `REDLINE_STATUS_PUBLIC`: `/status/data` without a credential, read
    /// only (the operator panel still needs a login). For trusted networks.
    pub public: bool,
    /// `REDLINE_STATUS_SESSION_TTL`: how long a login lasts.
    pub session_ttl: Duration,
    /// `REDLINE_TRACE_UI_URL`: a trace viewer's URL with a `{trace_id}`
    /// placeholder (Jaeger: `http://jaeger:16686/trace/{trace_id}`); the
    /// page links trace ids to it.
    pub trace_ui_url: Option<String>,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public: false,
            session_ttl: Duration::from_secs(8 * 3600),
            trace_ui_url: None,
        }
    }
}

/// Longest accepted session lifetime: a week.
const MAX_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

impl StatusConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some((var, v)) = get("REDLINE_STATUS_PAGE") {
            c.enabled = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_STATUS_PUBLIC") {
            c.public = parse_bool(&var, &v)?;
        }
        if let Some((var, v)) = get("REDLINE_STATUS_SESSION_TTL") {
            let ttl = parse_duration(&var, &v)?;
            if ttl.is_zero() || ttl > MAX_SESSION_TTL {
                return Err(invalid(&var, &v, "a duration from 1s to 7d, such as 8h"));
            }
            c.session_ttl = ttl;
        }
        if let Some((var, v)) = get("REDLINE_TRACE_UI_URL") {
            let url = v.trim();
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            let clean = url.len() <= 2048
                && url
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\'));
            if !scheme_ok || !clean || !url.contains("{trace_id}") {
                return Err(invalid(
                    &var,
                    &v,
                    "an http:// or https:// URL with a {trace_id} placeholder, such as http://localhost:16686/trace/{trace_id}",
                ));
            }
            c.trace_ui_url = Some(url.to_owned());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_source;

    #[test]
    fn defaults_and_refusals() {
        let c = StatusConfig::from_source(&test_source(&[])).unwrap();
        assert_eq!(c, StatusConfig::default());
        for (var, bad) in [
            ("REDLINE_TRACE_UI_URL", "javascript:alert(1)//{trace_id}"),
            ("REDLINE_TRACE_UI_URL", "http://jaeger/trace/"),
            ("REDLINE_TRACE_UI_URL", "http://j/\"><script>{trace_id}"),
            ("REDLINE_STATUS_SESSION_TTL", "0s"),
            ("REDLINE_STATUS_SESSION_TTL", "30d"),
            ("REDLINE_STATUS_PUBLIC", "maybe"),
        ] {
            let err = StatusConfig::from_source(&test_source(&[(var, bad)])).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
    }
}
