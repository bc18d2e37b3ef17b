//! The service's objectives, announced as gauges: `REDLINE_SLO_AVAILABILITY`,
//! `REDLINE_SLO_LATENCY_THRESHOLD` and `REDLINE_SLO_LATENCY_TARGET` become
//! `redline_slo_availability_objective` and
//! `redline_slo_latency_objective{le}`, which the shipped alert rules join on
//! per service. So one rule file serves services with different objectives;
//! a service that announces none gets the rule file's defaults
//! (`alerts/generate.py`), which is why nothing is exported unless set.

use prometheus::{Gauge, GaugeVec, Opts, Registry};

use crate::parse::{ConfigError, duration_seconds, invalid};

/// The latency threshold the rule file uses for a service that sets only
/// `REDLINE_SLO_LATENCY_TARGET` (`alerts/generate.py --latency-threshold`).
pub const DEFAULT_LATENCY_THRESHOLD_SECONDS: f64 = 0.5;
/// The latency target the rule file uses for a service that sets only
/// `REDLINE_SLO_LATENCY_THRESHOLD` (`alerts/generate.py --latency-objective`).
pub const DEFAULT_LATENCY_TARGET: f64 = 0.99;

/// The service's objectives, from the `REDLINE_SLO_*` settings. All unset
/// by default: the rules then apply their own defaults.
///
/// ```
/// let config = redline::Config::from_vars(
///     [("REDLINE_SLO_AVAILABILITY", "0.995"), ("REDLINE_SLO_LATENCY_THRESHOLD", "250ms")],
///     &[],
/// )
/// .unwrap();
/// assert_eq!(config.slo.availability, Some(0.995));
/// assert_eq!(config.slo.latency_threshold_seconds, Some(0.25));
/// assert_eq!(config.slo.latency_target, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SloConfig {
    /// `REDLINE_SLO_AVAILABILITY`: the share of requests that must not fail
    /// over 30 days, above 0 and below 1 (`0.999`).
    pub availability: Option<f64>,
    /// `REDLINE_SLO_LATENCY_THRESHOLD`: the time within which requests must
    /// finish (`250ms`); it must be a bound of the HTTP duration buckets, so
    /// the rules can count the requests within it.
    pub latency_threshold_seconds: Option<f64>,
    /// `REDLINE_SLO_LATENCY_TARGET`: the share of requests that must finish
    /// within the threshold, above 0 and below 1 (`0.99`).
    pub latency_target: Option<f64>,
}

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

fn parse_ratio(var: &str, v: &str) -> Result<f64, ConfigError> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| *r > 0.0 && *r < 1.0)
        .ok_or_else(|| invalid(var, v, "a ratio above 0 and below 1, such as 0.999"))
}

impl SloConfig {
    /// Reads the `REDLINE_SLO_*` settings; the latency threshold must be one
    /// of `buckets` (the HTTP duration buckets).
    pub(crate) fn from_source(get: Get<'_>, buckets: &[f64]) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some((var, v)) = get("REDLINE_SLO_AVAILABILITY") {
            c.availability = Some(parse_ratio(&var, &v)?);
        }
        if let Some((var, v)) = get("REDLINE_SLO_LATENCY_TARGET") {
            c.latency_target = Some(parse_ratio(&var, &v)?);
        }
        let threshold = get("REDLINE_SLO_LATENCY_THRESHOLD");
        if let Some((var, v)) = &threshold {
            let seconds = duration_seconds(v)
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| invalid(var, v, "a duration such as 250ms or 1s"))?;
            c.latency_threshold_seconds = Some(seconds);
        }
        if c.latency_threshold_seconds.is_some() || c.latency_target.is_some() {
            let seconds = c.latency_threshold();
            // Compared within a relative 1e-9: `250ms` is 0.25 exactly, but a
            // bucket written as 0.1 and a threshold of `100ms` (0.1000…01
            // after the division) must still meet.
            if !buckets
                .iter()
                .any(|b| (b - seconds).abs() <= 1e-9 * seconds.max(1e-9))
            {
                let (var, v) = threshold.unwrap_or_else(|| {
                    (
                        "REDLINE_SLO_LATENCY_THRESHOLD".to_owned(),
                        format!("{seconds} (its default)"),
                    )
                });
                let listed: Vec<String> = buckets.iter().map(|b| format!("{b}")).collect();
                return Err(invalid(
                    &var,
                    &v,
                    &format!(
                        "a bound of the HTTP duration buckets (REDLINE_HTTP_DURATION_BUCKETS: {}), so the rules can count the requests within it",
                        listed.join(",")
                    ),
                ));
            }
        }
        Ok(c)
    }

    /// The latency threshold in seconds, set or the rules' default.
    ///
    /// ```
    /// let slo = redline::metrics::SloConfig::default();
    /// assert_eq!(slo.latency_threshold(), 0.5);
    /// ```
    pub fn latency_threshold(&self) -> f64 {
        self.latency_threshold_seconds
            .unwrap_or(DEFAULT_LATENCY_THRESHOLD_SECONDS)
    }

    /// Registers the gauges of the objectives that are set.
    pub(crate) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        if let Some(availability) = self.availability {
            let g = Gauge::with_opts(Opts::new(
                "redline_slo_availability_objective",
                "The service's availability objective: the share of requests that must not fail over 30 days (REDLINE_SLO_AVAILABILITY).",
            ))?;
            g.set(availability);
            registry.register(Box::new(g))?;
        }
        if self.latency_threshold_seconds.is_some() || self.latency_target.is_some() {
            let g = GaugeVec::new(
                Opts::new(
                    "redline_slo_latency_objective",
                    "The service's latency objective: the share of requests that must finish within the `le` bucket (REDLINE_SLO_LATENCY_TARGET, REDLINE_SLO_LATENCY_THRESHOLD).",
                ),
                &["le"],
            )?;
            // Spelled as the text format spells the bucket's `le`; the rules
            // also match the OpenMetrics spelling (`1.0` for `1`).
            let mut le = String::new();
            crate::metrics::exposition::push_f64(&mut le, self.latency_threshold());
            g.with_label_values(&[&le])
                .set(self.latency_target.unwrap_or(DEFAULT_LATENCY_TARGET));
            registry.register(Box::new(g))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_source;

    const BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5];

    fn read(pairs: &[(&str, &str)]) -> Result<SloConfig, ConfigError> {
        SloConfig::from_source(&test_source(pairs), BUCKETS)
    }

    fn exported(slo: &SloConfig) -> String {
        let registry = Registry::new();
        slo.register(&registry).unwrap();
        crate::metrics::render_text(&registry)
    }

    #[test]
    fn nothing_is_exported_unless_set() {
        let slo = read(&[]).unwrap();
        assert_eq!(slo, SloConfig::default());
        assert!(
            !exported(&slo).contains("redline_slo"),
            "{}",
            exported(&slo)
        );
    }

    #[test]
    fn objectives_are_exported_with_the_bucket_spelling() {
        let slo = read(&[
            ("REDLINE_SLO_AVAILABILITY", "0.995"),
            ("REDLINE_SLO_LATENCY_THRESHOLD", "1s"),
            ("REDLINE_SLO_LATENCY_TARGET", "0.95"),
        ])
        .unwrap();
        let text = exported(&slo);
        assert!(
            text.contains("redline_slo_availability_objective 0.995\n"),
            "{text}"
        );
        assert!(
            text.contains("redline_slo_latency_objective{le=\"1\"} 0.95\n"),
            "{text}"
        );
        // A target alone: the default threshold, which is a bucket.
        let text = exported(&read(&[("REDLINE_SLO_LATENCY_TARGET", "0.9")]).unwrap());
        assert!(
            text.contains("redline_slo_latency_objective{le=\"0.5\"} 0.9\n"),
            "{text}"
        );
        let text = exported(&read(&[("REDLINE_SLO_LATENCY_THRESHOLD", "100ms")]).unwrap());
        assert!(
            text.contains("redline_slo_latency_objective{le=\"0.1\"} 0.99\n"),
            "{text}"
        );
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (var, value, expected) in [
            ("REDLINE_SLO_AVAILABILITY", "1", "ratio above 0 and below 1"),
            (
                "REDLINE_SLO_AVAILABILITY",
                "99.9",
                "ratio above 0 and below 1",
            ),
            (
                "REDLINE_SLO_AVAILABILITY",
                "NaN",
                "ratio above 0 and below 1",
            ),
            (
                "REDLINE_SLO_LATENCY_TARGET",
                "0",
                "ratio above 0 and below 1",
            ),
            ("REDLINE_SLO_LATENCY_THRESHOLD", "fast", "a duration"),
            (
                "REDLINE_SLO_LATENCY_THRESHOLD",
                "300ms",
                "bound of the HTTP duration buckets",
            ),
        ] {
            let e = read(&[(var, value)]).unwrap_err().to_string();
            assert!(
                e.contains(var) && e.contains(expected),
                "{var}={value}: {e}"
            );
        }
        // A target alone, with buckets that lack the default threshold.
        let e = SloConfig::from_source(
            &test_source(&[("REDLINE_SLO_LATENCY_TARGET", "0.9")]),
            &[1.0, 2.0],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("REDLINE_SLO_LATENCY_THRESHOLD") && e.contains("1,2"),
            "{e}"
        );
    }
}
