//! Rendering gathered metric families in the Prometheus text exposition
//! format, version 0.0.4.
//!
//! Why our own encoder instead of `prometheus::TextEncoder`: rendering 10,000
//! histogram series took 39 ms in that encoder (it allocates a `String` per
//! value and per label set) against a 20 ms budget for a whole scrape; this
//! one writes into one buffer with `itoa`/`ryu` (see `docs/PERFORMANCE.md`).
//! It also renders untyped families, where that encoder panics.
//!
//! Format reference: <https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>
//! (HELP escapes `\` and newline; label values escape `\`, `"` and newline;
//! histograms expand into `_bucket{le=…}` (cumulative, ending at `+Inf`),
//! `_sum` and `_count`).

use prometheus::Registry;
use prometheus::proto::{Metric, MetricFamily, MetricType};

/// `Content-Type` of the Prometheus text format.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tower::ServiceExt;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let request = http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap();
/// let response = t.admin_router().oneshot(request).await.unwrap();
/// assert_eq!(response.headers()["content-type"], redline::metrics::PROMETHEUS_TEXT_CONTENT_TYPE);
/// # });
/// ```
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Gathers `registry` and renders it in the Prometheus text format.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let c = prometheus::IntCounter::new("jobs_total", "Jobs done.").unwrap();
/// registry.register(Box::new(c.clone())).unwrap();
/// c.inc();
/// let text = redline::metrics::render_text(&registry);
/// assert!(text.contains("jobs_total 1\n"));
/// ```
pub fn render_text(registry: &Registry) -> String {
    render_text_with_capacity(registry, 64 * 1024)
}

/// [`render_text`] into a buffer of `capacity` bytes (pass the size of the
/// previous scrape to avoid regrowing a multi-megabyte buffer).
pub(crate) fn render_text_with_capacity(registry: &Registry, capacity: usize) -> String {
    let families = registry.gather();
    let mut out = String::with_capacity(capacity);
    encode_text(&families, &mut out);
    out
}

/// Appends `families` to `out` in the Prometheus text format.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let h = prometheus::Histogram::with_opts(
///     prometheus::HistogramOpts::new("wait_seconds", "Wait.").buckets(vec![0.5, 1.0]),
/// ).unwrap();
/// registry.register(Box::new(h.clone())).unwrap();
/// h.observe(0.7);
/// let mut out = String::new();
/// redline::metrics::encode_text(&registry.gather(), &mut out);
/// assert!(out.contains("wait_seconds_bucket{le=\"0.5\"} 0\n"));
/// assert!(out.contains("wait_seconds_bucket{le=\"+Inf\"} 1\n"));
/// assert!(out.contains("wait_seconds_sum 0.7\n"));
/// ```
pub fn encode_text(families: &[MetricFamily], out: &mut String) {
    for family in families {
        let name = family.name();
        if family.get_metric().is_empty() {
            continue;
        }
        let help = family.help();
        if !help.is_empty() {
            out.push_str("# HELP ");
            out.push_str(name);
            out.push(' ');
            escape(help, false, out);
            out.push('\n');
        }
        let kind = family.get_field_type();
        out.push_str("# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(match kind {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::SUMMARY => "summary",
            MetricType::HISTOGRAM => "histogram",
            MetricType::UNTYPED => "untyped",
        });
        out.push('\n');
        let mut bounds = BoundCache::default();
        for metric in family.get_metric() {
            encode_metric(name, kind, metric, &mut bounds, out);
        }
    }
}

/// Formatted `le` values, reused across the series of a family (they almost
/// always share one bucket layout).
#[derive(Default)]
pub(crate) struct BoundCache {
    /// Bit pattern of the value formatted in each slot (`None`: empty), so a
    /// NaN bound is formatted too instead of matching an empty slot.
    values: Vec<Option<u64>>,
    text: Vec<String>,
}

impl BoundCache {
    /// Slot `i` formatted with this format's number spelling.
    fn get(&mut self, i: usize, bound: f64) -> &str {
        self.get_with(i, bound, push_f64)
    }

    /// Slot `i` holding `value` as written by `write` (the OpenMetrics
    /// encoder spells bounds canonically, `1.0` rather than `1`).
    pub(crate) fn get_with(&mut self, i: usize, value: f64, write: fn(&mut String, f64)) -> &str {
        if i >= self.values.len() {
            self.values.resize(i + 1, None);
            self.text.resize(i + 1, String::new());
        }
        if self.values[i] != Some(value.to_bits()) {
            self.values[i] = Some(value.to_bits());
            self.text[i].clear();
            write(&mut self.text[i], value);
        }
        &self.text[i]
    }
}

fn encode_metric(
    name: &str,
    kind: MetricType,
    m: &Metric,
    bounds: &mut BoundCache,
    out: &mut String,
) {
    // The label set is escaped once per series and reused by every line of
    // it (a histogram writes buckets + 3 lines).
    let mut labels = String::new();
    for (i, l) in m.get_label().iter().enumerate() {
        if i > 0 {
            labels.push(',');
        }
        labels.push_str(l.name());
        labels.push_str("=\"");
        escape(l.value(), true, &mut labels);
        labels.push('"');
    }
    let ts = m.timestamp_ms();
    match kind {
        MetricType::COUNTER => sample(
            out,
            name,
            "",
            &labels,
            None,
            m.get_counter().get_value(),
            ts,
        ),
        MetricType::GAUGE => sample(out, name, "", &labels, None, m.get_gauge().get_value(), ts),
        // Deprecated upstream, but third-party collectors still emit untyped
        // families, and the upstream encoder panics on them.
        #[allow(deprecated)]
        MetricType::UNTYPED => sample(
            out,
            name,
            "",
            &labels,
            None,
            m.get_untyped().get_value(),
            ts,
        ),
        MetricType::HISTOGRAM => {
            let h = m.get_histogram();
            let mut inf_seen = false;
            for (i, b) in h.get_bucket().iter().enumerate() {
                let upper = b.upper_bound();
                inf_seen |= upper == f64::INFINITY;
                let bound = bounds.get(i, upper);
                sample(
                    out,
                    name,
                    "_bucket",
                    &labels,
                    Some(("le", bound)),
                    b.cumulative_count() as f64,
                    ts,
                );
            }
            if !inf_seen {
                sample(
                    out,
                    name,
                    "_bucket",
                    &labels,
                    Some(("le", "+Inf")),
                    h.get_sample_count() as f64,
                    ts,
                );
            }
            sum_and_count(
                out,
                name,
                &labels,
                h.get_sample_sum(),
                h.get_sample_count(),
                ts,
            );
        }
        MetricType::SUMMARY => {
            let s = m.get_summary();
            let mut q = String::new();
            for quantile in s.get_quantile() {
                q.clear();
                push_f64(&mut q, quantile.quantile());
                sample(
                    out,
                    name,
                    "",
                    &labels,
                    Some(("quantile", &q)),
                    quantile.value(),
                    ts,
                );
            }
            sum_and_count(out, name, &labels, s.sample_sum(), s.sample_count(), ts);
        }
    }
}

/// The `_sum` and `_count` lines of a histogram or summary.
fn sum_and_count(out: &mut String, name: &str, labels: &str, sum: f64, count: u64, ts: i64) {
    sample(out, name, "_sum", labels, None, sum, ts);
    sample(out, name, "_count", labels, None, count as f64, ts);
}

/// One line: `name{labels,extra="…"} value [timestamp]`. `labels` is the
/// already-escaped label text; `extra` values are numbers (no escaping).
fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &str,
    extra: Option<(&str, &str)>,
    value: f64,
    timestamp: i64,
) {
    push_sample_name(out, name, suffix, labels, extra);
    out.push(' ');
    push_f64(out, value);
    if timestamp != 0 {
        out.push(' ');
        out.push_str(itoa::Buffer::new().format(timestamp));
    }
    out.push('\n');
}

/// Writes `name{suffix}{labels,extra="…"}`, the part of a sample line both
/// text formats share. `labels` is the already-escaped label text; `extra`
/// values are numbers (`le`, `quantile`) and need no escaping.
pub(crate) fn push_sample_name(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &str,
    extra: Option<(&str, &str)>,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || extra.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some((k, v)) = extra {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(v);
            out.push('"');
        }
        out.push('}');
    }
}

/// Writes a sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN`
/// as the format spells them, other values in shortest round-trip form.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(v as i64));
    } else {
        out.push_str(ryu::Buffer::new().format_finite(v));
    }
}

/// Escapes `\`, newline and (in label values only) `"`.
pub(super) fn escape(s: &str, quote: bool, out: &mut String) {
    let special = |c: char| c == '\\' || c == '\n' || (quote && c == '"');
    if !s.contains(special) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::{Encoder, TextEncoder};

    /// Builds a registry with every family type, awkward label values and
    /// help text, and special float values.
    fn registry() -> Registry {
        let r = Registry::new();
        let c = prometheus::CounterVec::new(
            prometheus::Opts::new("odd_total", "Help with \\ backslash\nand newline."),
            &["v"],
        )
        .unwrap();
        c.with_label_values(&["quote \" back \\ nl \n end"])
            .inc_by(2.5);
        c.with_label_values(&["plain"]).inc();
        r.register(Box::new(c)).unwrap();
        let g = prometheus::Gauge::new("g", "A gauge.").unwrap();
        g.set(-1e-7);
        r.register(Box::new(g)).unwrap();
        let big = prometheus::Gauge::new("big", "Big.").unwrap();
        big.set(1.5e300);
        r.register(Box::new(big)).unwrap();
        let inf = prometheus::Gauge::new("inf", "Inf.").unwrap();
        inf.set(f64::NEG_INFINITY);
        r.register(Box::new(inf)).unwrap();
        let h = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("h_seconds", "H.").buckets(vec![0.005, 0.25, 1.0, 1e6]),
            &["route"],
        )
        .unwrap();
        for v in [0.001, 0.3, 2.0, 7e6] {
            h.with_label_values(&["/a/{id}"]).observe(v);
        }
        r.register(Box::new(h)).unwrap();
        r
    }

    /// Both encoders' output, parsed into (series, value) pairs, must agree:
    /// the upstream encoder is the reference for the format.
    #[test]
    fn agrees_with_the_prometheus_crate_encoder() {
        let families = registry().gather();
        let mut ours = String::new();
        encode_text(&families, &mut ours);
        let mut theirs = Vec::new();
        TextEncoder::new().encode(&families, &mut theirs).unwrap();
        let theirs = String::from_utf8(theirs).unwrap();
        let normalize = |text: &str| -> Vec<(String, f64)> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| {
                    let (series, value) = l.rsplit_once(' ').unwrap();
                    let value = match value {
                        "+Inf" | "inf" => f64::INFINITY,
                        "-Inf" | "-inf" => f64::NEG_INFINITY,
                        v => v.parse().unwrap(),
                    };
                    // `le` values are numbers too: compare them as numbers.
                    let series = match series.split_once("le=\"") {
                        Some((head, tail)) => {
                            let (le, rest) = tail.split_once('"').unwrap();
                            let le: f64 = if le == "+Inf" {
                                f64::INFINITY
                            } else {
                                le.parse().unwrap()
                            };
                            format!("{head}le=\"{le}\"{rest}")
                        }
                        None => series.to_owned(),
                    };
                    (series, value)
                })
                .collect()
        };
        assert_eq!(normalize(&ours), normalize(&theirs));
        let headers = |t: &str| {
            t.lines()
                .filter(|l| l.starts_with('#'))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(headers(&ours), headers(&theirs));
    }

    #[test]
    fn exact_spelling_of_values_and_escapes() {
        let mut out = String::new();
        encode_text(&registry().gather(), &mut out);
        assert!(out.contains("# HELP odd_total Help with \\\\ backslash\\nand newline.\n"));
        assert!(out.contains("odd_total{v=\"quote \\\" back \\\\ nl \\n end\"} 2.5\n"));
        assert!(out.contains("odd_total{v=\"plain\"} 1\n"));
        assert!(out.contains("g -1e-7\n"));
        assert!(out.contains("big 1.5e300\n"));
        assert!(out.contains("inf -Inf\n"));
        assert!(out.contains("h_seconds_bucket{route=\"/a/{id}\",le=\"0.005\"} 1\n"));
        assert!(out.contains("h_seconds_bucket{route=\"/a/{id}\",le=\"1000000\"} 3\n"));
        assert!(out.contains("h_seconds_bucket{route=\"/a/{id}\",le=\"+Inf\"} 4\n"));
        assert!(out.contains("h_seconds_count{route=\"/a/{id}\"} 4\n"));
    }

    #[test]
    #[allow(deprecated)]
    fn untyped_families_render_instead_of_panicking() {
        let mut f = MetricFamily::default();
        f.set_name("legacy".into());
        f.set_help("Old.".into());
        f.set_field_type(MetricType::UNTYPED);
        let mut u = prometheus::proto::Untyped::default();
        u.set_value(3.0);
        let mut m = Metric::default();
        m.set_untyped(u);
        f.set_metric(vec![m]);
        let mut out = String::new();
        encode_text(&[f], &mut out);
        assert_eq!(out, "# HELP legacy Old.\n# TYPE legacy untyped\nlegacy 3\n");
    }

    #[test]
    fn a_nan_bound_is_written_not_left_empty() {
        let mut cache = BoundCache::default();
        assert_eq!(cache.get(0, f64::NAN), "NaN");
        assert_eq!(cache.get(0, 1.0), "1");
        assert_eq!(cache.get(0, f64::NAN), "NaN");
    }
}
