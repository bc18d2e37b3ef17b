//! `build_info` and `target_info`: constant gauges describing what runs.

use prometheus::{IntGauge, Opts, Registry};

/// The version of redline itself, exported as the `redline_version` label
/// of `build_info` and in `/info`.
///
/// ```
/// assert_eq!(redline::REDLINE_VERSION, env!("CARGO_PKG_VERSION"));
/// ```
pub const REDLINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the service was built from, exported as
/// `build_info{version,revision,rustc,redline_version} 1` and in `/info`.
/// Build it in your service with [`build_info!`](crate::build_info!), so
/// it names your crate, its version and revision rather than redline's.
///
/// ```
/// let info = redline::BuildInfo::new("1.2.3", "abc123");
/// assert_eq!(info.version, "1.2.3");
/// assert_eq!(info.service_name, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The service version (usually `CARGO_PKG_VERSION` of the binary).
    pub version: String,
    /// The source revision (a git commit), or `unknown`.
    pub revision: String,
    /// The compiler version.
    pub rustc: String,
    /// When redline was built, seconds since the Unix epoch
    /// (`SOURCE_DATE_EPOCH` when the build sets it).
    pub build_time: u64,
    /// The service name to use when none is configured
    /// (`OTEL_SERVICE_NAME`, `service.name` in `OTEL_RESOURCE_ATTRIBUTES`,
    /// or [`Config::service_name`](crate::Config::service_name) changed):
    /// [`build_info!`](crate::build_info!) sets the calling crate's name.
    pub service_name: Option<String>,
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
            service_name: None,
        }
    }

    /// The same, with the service name used when none is configured (see
    /// [`BuildInfo::service_name`]).
    ///
    /// ```
    /// let info = redline::BuildInfo::new("1.0.0", "abc").with_service_name("billing");
    /// let t = redline::Telemetry::builder().build_info(info).build().unwrap();
    /// assert_eq!(t.config().service_name, "billing");
    /// ```
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The build info of redline itself (what `build_info` reports when the
    /// service gives none).
    ///
    /// ```
    /// assert_eq!(redline::BuildInfo::redline().version, env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn redline() -> Self {
        Self::new(REDLINE_VERSION, env!("REDLINE_BUILD_REVISION"))
    }
}

/// The [`BuildInfo`] of the crate that calls it, in the spirit of
/// `clap::crate_version!`: expanded in your crate, it reads your crate's
/// `CARGO_PKG_NAME` (the default service name) and `CARGO_PKG_VERSION`, and
/// the revision from the first of these variables set when your crate is
/// compiled: `GIT_COMMIT`, `VERGEN_GIT_SHA` (set by the `vergen` build
/// script helper), `SOURCE_REVISION`; else `unknown`. Set one in the build
/// (`GIT_COMMIT=$(git rev-parse --short=12 HEAD) cargo build`, a Docker
/// build argument, or `cargo:rustc-env=GIT_COMMIT=…` from your `build.rs`).
/// `rustc` and `build_time` are those of the redline build.
///
/// ```
/// let info = redline::build_info!();
/// assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
/// assert_eq!(info.service_name.as_deref(), Some(env!("CARGO_PKG_NAME")));
/// assert!(!info.revision.is_empty());
///
/// let telemetry = redline::Telemetry::builder()
///     .build_info(redline::build_info!())
///     .build()
///     .unwrap();
/// // With OTEL_SERVICE_NAME unset, the service is named for the crate.
/// assert_eq!(telemetry.config().service_name, env!("CARGO_PKG_NAME"));
/// ```
#[macro_export]
macro_rules! build_info {
    () => {{
        let revision = ::core::iter::IntoIterator::into_iter([
            ::core::option_env!("GIT_COMMIT"),
            ::core::option_env!("VERGEN_GIT_SHA"),
            ::core::option_env!("SOURCE_REVISION"),
        ])
        .flatten()
        .map(|r| r.trim())
        .find(|r| !r.is_empty())
        .unwrap_or("unknown");
        $crate::BuildInfo::new(::core::env!("CARGO_PKG_VERSION"), revision)
            .with_service_name(::core::env!("CARGO_PKG_NAME"))
    }};
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
        .const_label("rustc", &build.rustc)
        .const_label("redline_version", REDLINE_VERSION),
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
