//! `build_info` and `target_info`: constant gauges describing what runs.

use prometheus::{IntGauge, Opts, Registry};

/// What the service was built from, exported as
/// `build_info{version,revision,rustc} 1`.
///
/// ```
/// let info = redline::BuildInfo::new("1.2.3", "abc123");
/// assert_eq!(info.version, "1.2.3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The service version (usually `CARGO_PKG_VERSION` of the binary).
    pub version: String,
    /// The source revision (a git commit), or `unknown`.
    pub revision: String,
    /// The compiler version.
    pub rustc: String,
    /// When it was built, seconds since the Unix epoch (`SOURCE_DATE_EPOCH`
    /// when the build sets it).
    pub build_time: u64,
}

impl BuildInfo {
    /// A build info with the given version and revision, and the version of
    /// the compiler that built redline.
    ///
    /// ```
    /// let info = redline::BuildInfo::new(env!("CARGO_PKG_VERSION"), "unknown");
    /// assert!(!info.rustc.is_empty());
    /// ```
    pub fn new(version: impl Into<String>, revision: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            revision: revision.into(),
            rustc: env!("REDLINE_BUILD_RUSTC").to_owned(),
            build_time: env!("REDLINE_BUILD_TIME").parse().unwrap_or(0),
        }
    }

    /// The build info of redline itself (what the demo reports).
    ///
    /// ```
    /// assert_eq!(redline::BuildInfo::redline().version, env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn redline() -> Self {
        Self::new(env!("CARGO_PKG_VERSION"), env!("REDLINE_BUILD_REVISION"))
    }
}

/// Registers `build_info` and `target_info` (the service name and resource
/// attributes, as OpenTelemetry's Prometheus exporter does).
pub(crate) fn register(
    registry: &Registry,
    build: &BuildInfo,
    service_name: &str,
    resource: &[(String, String)],
) -> prometheus::Result<()> {
    let build_info = IntGauge::with_opts(
        Opts::new(
            "build_info",
            "Build information of the running service; always 1.",
        )
        .const_label("version", &build.version)
        .const_label("revision", &build.revision)
        .const_label("rustc", &build.rustc),
    )?;
    build_info.set(1);
    registry.register(Box::new(build_info))?;

    let mut opts = Opts::new(
        "target_info",
        "OpenTelemetry resource attributes of the service; always 1.",
    )
    .const_label("service_name", service_name);
    for (key, value) in resource {
        let name = label_name(key);
        if name != "service_name" && !opts.const_labels.contains_key(&name) {
            opts = opts.const_label(name, value);
        }
    }
    let target_info = IntGauge::with_opts(opts)?;
    target_info.set(1);
    registry.register(Box::new(target_info))
}

/// An attribute key as a Prometheus label name: characters outside
/// `[a-zA-Z0-9_]` become `_`, and a leading digit gets a `_` prefix.
pub(crate) fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, '_');
    }
    if out.starts_with("__") {
        // Names starting with `__` are reserved by Prometheus.
        out.replace_range(0..2, "_x");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_names_are_sanitized() {
        assert_eq!(
            super::label_name("deployment.environment"),
            "deployment_environment"
        );
        assert_eq!(super::label_name("9lives"), "_9lives");
        assert_eq!(super::label_name("__name__"), "_xname__");
    }
}
