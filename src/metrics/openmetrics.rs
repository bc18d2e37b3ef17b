//! Rendering gathered metric families in the OpenMetrics text format 1.0.0,
//! with exemplars on histogram buckets, and choosing between that format and
//! the Prometheus text format from a scraper's `Accept` header.
//!
//! Format reference (sections cited by name below):
//! <https://github.com/prometheus/OpenMetrics/blob/v1.0.0/specification/OpenMetrics.md>.
//!
//! Written in the style of the classic encoder (`exposition.rs`): one output
//! buffer, `itoa`/`ryu`, label text escaped once per series, formatted `le`
//! and `quantile` values cached per family. What differs from the classic
//! text format 0.0.4:
//! - a counter family is named without its `_total` suffix, which only its
//!   sample carries (section "Counter");
//! - HELP text escapes `"` as well as `\` and newline (section "ABNF",
//!   `escaped-string`);
//! - timestamps are seconds, not milliseconds (section "Timestamps");
//! - `le` and `quantile` values use the canonical float rendering (section
//!   "Considerations: Canonical Numbers");
//! - bucket lines may carry an exemplar (section "Exemplars");
//! - the exposition ends with `# EOF` (section "ABNF", `exposition`).
//!
//! Sample names are the same as in the classic format, so queries and
//! dashboards keep working whichever format a scraper negotiates.
//!
//! One concern kept whole (over 500 lines): the OpenMetrics encoder and its
//! content negotiation; its parts (escaping, exemplars, `_created`, the
//! `# EOF` trailer) only make sense read together against the spec.

use std::collections::HashSet;

use prometheus::proto::{Metric, MetricFamily, MetricType};

use super::exemplar::{Exemplar, Exemplars};
use super::exposition::{BoundCache, push_f64, push_sample_name};

/// `Content-Type` of the OpenMetrics text format 1.0.0 (section "Overall
/// Structure" of the specification).
///
/// ```
/// use redline::metrics::{ExpositionFormat, OPENMETRICS_CONTENT_TYPE};
/// assert_eq!(ExpositionFormat::OpenMetrics.content_type(), OPENMETRICS_CONTENT_TYPE);
/// assert!(OPENMETRICS_CONTENT_TYPE.starts_with("application/openmetrics-text; version=1.0.0"));
/// ```
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which exposition format a scraper asked for.
///
/// ```
/// use redline::metrics::ExpositionFormat;
/// let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
/// let format = ExpositionFormat::negotiate(Some(accept));
/// assert_eq!(format, ExpositionFormat::OpenMetrics);
/// assert_eq!(ExpositionFormat::negotiate(None), ExpositionFormat::PrometheusText);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpositionFormat {
    /// The Prometheus text format 0.0.4 ([`crate::metrics::encode_text`]).
    PrometheusText,
    /// The OpenMetrics text format 1.0.0 ([`encode_openmetrics`]).
    OpenMetrics,
}

impl ExpositionFormat {
    /// Content negotiation on the `Accept` header value (`None`: header
    /// absent).
    ///
    /// The header is a comma-separated list of media ranges with
    /// `;`-separated parameters; type and parameter names are compared
    /// case-insensitively and whitespace is tolerated. OpenMetrics is chosen
    /// when the best `q` (default 1) of the `application/openmetrics-text`
    /// ranges (with `version` 1.0.0, 0.0.1 or none) is above 0 and at least
    /// the best `q` of the `text/plain`, `text/*` and `*/*` ranges. A range
    /// with a malformed `q` (not a number in 0..=1) is ignored. Anything
    /// else, including an absent, empty or unparsable header, gives the
    /// Prometheus text format, which every scraper understands.
    ///
    /// ```
    /// use redline::metrics::ExpositionFormat;
    /// // What Prometheus 2.x sends by default.
    /// let prometheus = "application/openmetrics-text;version=1.0.0,\
    ///     application/openmetrics-text;version=0.0.1;q=0.75,\
    ///     text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(ExpositionFormat::negotiate(Some(prometheus)), ExpositionFormat::OpenMetrics);
    /// let classic = "text/plain;version=0.0.4";
    /// assert_eq!(ExpositionFormat::negotiate(Some(classic)), ExpositionFormat::PrometheusText);
    /// let refused = "application/openmetrics-text;q=0";
    /// assert_eq!(ExpositionFormat::negotiate(Some(refused)), ExpositionFormat::PrometheusText);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::PrometheusText;
        };
        let mut openmetrics: Option<f64> = None;
        let mut others = 0.0_f64;
        for range in accept.split(',') {
            match parse_range(range) {
                Some((RangeKind::OpenMetrics, q)) => {
                    openmetrics = Some(openmetrics.map_or(q, |best| best.max(q)));
                }
                Some((RangeKind::Competitor, q)) => others = others.max(q),
                None => {}
            }
        }
        match openmetrics {
            Some(q) if q > 0.0 && q >= others => Self::OpenMetrics,
            _ => Self::PrometheusText,
        }
    }

    /// The `Content-Type` to answer with: [`OPENMETRICS_CONTENT_TYPE`] or
    /// [`crate::metrics::PROMETHEUS_TEXT_CONTENT_TYPE`].
    ///
    /// ```
    /// use redline::metrics::{ExpositionFormat, PROMETHEUS_TEXT_CONTENT_TYPE};
    /// assert_eq!(ExpositionFormat::PrometheusText.content_type(), PROMETHEUS_TEXT_CONTENT_TYPE);
    /// assert_eq!(
    ///     ExpositionFormat::OpenMetrics.content_type(),
    ///     "application/openmetrics-text; version=1.0.0; charset=utf-8",
    /// );
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            Self::PrometheusText => super::exposition::PROMETHEUS_TEXT_CONTENT_TYPE,
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// The media ranges of an `Accept` header that take part in negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// `application/openmetrics-text` in a version we produce.
    OpenMetrics,
    /// `text/plain`, `text/*` or `*/*`: answered with the classic format.
    Competitor,
}

/// Kind and `q` of one media range; `None` for ranges that do not take part
/// (other types, unsupported OpenMetrics versions) or are malformed.
fn parse_range(range: &str) -> Option<(RangeKind, f64)> {
    let mut parts = range.split(';');
    let (kind, sub) = parts.next()?.split_once('/')?;
    let (kind, sub) = (kind.trim(), sub.trim());
    let kind = if kind.eq_ignore_ascii_case("application")
        && sub.eq_ignore_ascii_case("openmetrics-text")
    {
        RangeKind::OpenMetrics
    } else if (kind.eq_ignore_ascii_case("text")
        && (sub.eq_ignore_ascii_case("plain") || sub == "*"))
        || (kind == "*" && sub == "*")
    {
        RangeKind::Competitor
    } else {
        return None;
    };
    let mut q = None;
    for param in parts {
        // Empty parameters (`;;`) and parameters without a value are
        // tolerated and ignored.
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("q") {
            // The first `q` counts: later parameters are accept-extensions
            // (RFC 9110, section 12.5.1).
            if q.is_none() {
                q = Some(parse_qvalue(value)?);
            }
        } else if kind == RangeKind::OpenMetrics && name.eq_ignore_ascii_case("version") {
            let version = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            // We write 1.0.0, which Prometheus also reads when it asked for
            // the 0.0.1 draft; other versions may be incompatible.
            if version != "1.0.0" && version != "0.0.1" {
                return None;
            }
        }
    }
    Some((kind, q.unwrap_or(1.0)))
}

/// A `q` value: digits with an optional fraction, within 0..=1 (RFC 9110,
/// section 12.4.2, read leniently as to the number of decimals).
fn parse_qvalue(value: &str) -> Option<f64> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
}

/// Appends `families` to `out` in the OpenMetrics text format 1.0.0, with the
/// exemplars of histogram buckets, ending with `# EOF\n`.
///
/// Sample names are those of the classic text format. A counter whose name
/// ends in `_total` becomes the family without the suffix; any other counter
/// (or one whose shortened name would clash with another family) is exposed
/// as `unknown` under its own name. Exemplars that do not fall within their
/// bucket are dropped.
///
/// ```
/// use redline::metrics::{Exemplar, Exemplars, encode_openmetrics};
/// let registry = prometheus::Registry::new();
/// let jobs = prometheus::IntCounter::new("jobs_total", "Jobs done.").unwrap();
/// registry.register(Box::new(jobs.clone())).unwrap();
/// jobs.inc();
/// let wait = prometheus::Histogram::with_opts(
///     prometheus::HistogramOpts::new("wait_seconds", "Wait.").buckets(vec![0.5, 1.0]),
/// ).unwrap();
/// registry.register(Box::new(wait.clone())).unwrap();
/// wait.observe(0.75);
///
/// let mut exemplars = Exemplars::default();
/// let e = Exemplar { trace_id: 0xab, span_id: 0xcd, value: 0.75, timestamp_ms: 1_700_000_000_123 };
/// exemplars.insert("wait_seconds", &[], vec![None, Some(e), None]);
///
/// let mut out = String::new();
/// encode_openmetrics(&registry.gather(), &exemplars, &mut out);
/// assert!(out.contains("# TYPE jobs counter\n# HELP jobs Jobs done.\njobs_total 1\n"));
/// assert!(out.contains(
///     "wait_seconds_bucket{le=\"1.0\"} 1 # {trace_id=\"000000000000000000000000000000ab\",\
///      span_id=\"00000000000000cd\"} 0.75 1700000000.123\n"
/// ));
/// assert!(out.ends_with("wait_seconds_count 1\nwait_seconds_sum 0.75\n# EOF\n"));
/// ```
pub fn encode_openmetrics(families: &[MetricFamily], exemplars: &Exemplars, out: &mut String) {
    let taken = TakenNames::new(families);
    let mut scratch = Scratch::default();
    for family in families {
        if family.get_metric().is_empty() {
            continue;
        }
        let name = family.name();
        let kind = family.get_field_type();
        let (family_name, type_name) = match kind {
            // Section "Counter": the sample is `<family>_total`, so the family
            // is the name without `_total`. A counter not named `..._total`
            // cannot keep its sample name as an OpenMetrics counter (its
            // sample would become `<name>_total` and break every query on
            // it), so it is exposed as `unknown`, whose sample is the bare
            // family name (section "Unknown"). The same applies when the
            // shortened name would clash with another family (section
            // "Suffixes").
            MetricType::COUNTER => match taken.counter_family(name) {
                Some(base) => (base, "counter"),
                None => (name, "unknown"),
            },
            MetricType::GAUGE => (name, "gauge"),
            MetricType::SUMMARY => (name, "summary"),
            MetricType::HISTOGRAM => (name, "histogram"),
            // Section "Unknown": the OpenMetrics name of the classic
            // `untyped`.
            MetricType::UNTYPED => (name, "unknown"),
        };
        // Section "MetricFamily metadata": "The ordering SHOULD be TYPE,
        // UNIT, HELP"; an empty HELP is the same as none.
        out.push_str("# TYPE ");
        out.push_str(family_name);
        out.push(' ');
        out.push_str(type_name);
        out.push('\n');
        let help = family.help();
        if !help.is_empty() {
            out.push_str("# HELP ");
            out.push_str(family_name);
            out.push(' ');
            escape(help, out);
            out.push('\n');
        }
        for metric in family.get_metric() {
            encode_metric(name, kind, metric, exemplars, &mut scratch, out);
        }
    }
    // Section "ABNF": `exposition = metricset HASH SP eof [ LF ]`.
    out.push_str("# EOF\n");
}

/// Names of the exposed (non-empty) families, to keep shortened counter
/// names from clashing with them.
struct TakenNames<'a> {
    names: HashSet<&'a str>,
    /// `x` for every family named `x_created`.
    created: HashSet<&'a str>,
}

impl<'a> TakenNames<'a> {
    fn new(families: &'a [MetricFamily]) -> Self {
        let names: HashSet<&str> = families
            .iter()
            .filter(|f| !f.get_metric().is_empty())
            .map(MetricFamily::name)
            .collect();
        let created = names
            .iter()
            .filter_map(|n| n.strip_suffix("_created"))
            .collect();
        Self { names, created }
    }

    /// The OpenMetrics family name of the counter `name`, or `None` if it
    /// must be exposed as `unknown` under `name`.
    ///
    /// Section "Suffixes": a family name "MUST NOT result in a potential
    /// clash for sample metric names" with another family; a counter `x`
    /// may write `x_total` and `x_created`. So `x_total` stays `unknown`
    /// when a family `x` exists (two `# TYPE x` lines otherwise) or a
    /// family `x_created` does.
    fn counter_family(&self, name: &'a str) -> Option<&'a str> {
        let base = name.strip_suffix("_total")?;
        (!base.is_empty() && !self.names.contains(base) && !self.created.contains(base))
            .then_some(base)
    }
}

/// Buffers reused across the series of a scrape.
#[derive(Default)]
struct Scratch {
    /// Escaped label text of the current series.
    labels: String,
    /// Canonical `le` values, reused across series and families (they
    /// almost always share one layout).
    bounds: BoundCache,
    /// Canonical `quantile` values.
    quantiles: BoundCache,
}

/// What one sample line shares with the other lines of its series.
struct Series<'a> {
    /// The family's name as gathered (the sample name before any suffix).
    name: &'a str,
    /// Escaped label text, without braces.
    labels: &'a str,
    /// Milliseconds since the epoch; 0 for none.
    timestamp_ms: i64,
}

/// A sample value: counts are written exactly from integers.
#[derive(Clone, Copy)]
enum Value {
    Float(f64),
    Count(u64),
}

fn encode_metric(
    name: &str,
    kind: MetricType,
    m: &Metric,
    exemplars: &Exemplars,
    scratch: &mut Scratch,
    out: &mut String,
) {
    let Scratch {
        labels,
        bounds,
        quantiles,
    } = scratch;
    // Escaped once, reused by every line of the series (a histogram writes
    // buckets + 3 lines). Section "Metric": labels in the metric's order.
    labels.clear();
    for (i, l) in m.get_label().iter().enumerate() {
        if i > 0 {
            labels.push(',');
        }
        labels.push_str(l.name());
        labels.push_str("=\"");
        escape(l.value(), labels);
        labels.push('"');
    }
    let series = Series {
        name,
        labels,
        timestamp_ms: m.timestamp_ms(),
    };
    match kind {
        // Section "Counter": the sample name keeps `_total` (it is the
        // gathered name; non-`_total` counters are `unknown`, see above).
        // Counter exemplars are not recorded, so none are written.
        MetricType::COUNTER => {
            let v = m.get_counter().get_value();
            sample(out, &series, "", None, Value::Float(v), None);
        }
        MetricType::GAUGE => {
            let v = m.get_gauge().get_value();
            sample(out, &series, "", None, Value::Float(v), None);
        }
        // Deprecated upstream, but third-party collectors still emit untyped
        // families.
        #[allow(deprecated)]
        MetricType::UNTYPED => {
            let v = m.get_untyped().get_value();
            sample(out, &series, "", None, Value::Float(v), None);
        }
        MetricType::HISTOGRAM => {
            let h = m.get_histogram();
            let by_bucket = exemplars.get_proto(name, m.get_label()).unwrap_or(&[]);
            let exemplar = |i: usize| by_bucket.get(i).and_then(Option::as_ref);
            // Section "Histogram": cumulative `_bucket` lines in increasing
            // `le` order, always ending with `le="+Inf"`.
            let mut lower = None;
            let mut inf_seen = false;
            let buckets = h.get_bucket();
            for (i, b) in buckets.iter().enumerate() {
                let upper = b.upper_bound();
                inf_seen |= upper == f64::INFINITY;
                let e = in_bucket(exemplar(i), lower, upper);
                let le = bounds.get_with(i, upper, push_canonical);
                let count = Value::Count(b.cumulative_count());
                sample(out, &series, "_bucket", Some(("le", le)), count, e);
                lower = Some(upper);
            }
            if !inf_seen {
                // The prometheus crate leaves the +Inf bucket implicit: it
                // holds every observation.
                let e = in_bucket(exemplar(buckets.len()), lower, f64::INFINITY);
                let count = Value::Count(h.get_sample_count());
                sample(out, &series, "_bucket", Some(("le", "+Inf")), count, e);
            }
            // Section "Histogram": "If and only if a Sum Value is present
            // [...] the +Inf Bucket value MUST also appear [...] with the
            // suffix `_count`". (The spec also forbids a sum when a bound is
            // negative; we keep `_sum`, as the classic format and Go's
            // encoder do, so queries on it work in both formats.)
            let count = Value::Count(h.get_sample_count());
            sample(out, &series, "_count", None, count, None);
            let sum = Value::Float(h.get_sample_sum());
            sample(out, &series, "_sum", None, sum, None);
        }
        MetricType::SUMMARY => {
            let s = m.get_summary();
            // Section "Summary": one line per quantile with a canonical
            // `quantile` label, then `_sum` and `_count`.
            for (i, q) in s.get_quantile().iter().enumerate() {
                let label = quantiles.get_with(i, q.quantile(), push_canonical);
                let v = Value::Float(q.value());
                sample(out, &series, "", Some(("quantile", label)), v, None);
            }
            let sum = Value::Float(s.sample_sum());
            sample(out, &series, "_sum", None, sum, None);
            let count = Value::Count(s.sample_count());
            sample(out, &series, "_count", None, count, None);
        }
    }
}

/// `e` if its value lies in the bucket `(lower, upper]` (`lower` is `None`
/// for the first bucket, which has no lower bound).
///
/// Section "Histogram": "Each bucket covers the values less and or equal to
/// it, and the value of the exemplar MUST be within this range". An exemplar
/// filed under the wrong bucket (or with a NaN value) is dropped rather than
/// making the whole exposition invalid.
fn in_bucket(e: Option<&Exemplar>, lower: Option<f64>, upper: f64) -> Option<&Exemplar> {
    e.filter(|e| e.value <= upper && lower.is_none_or(|lower| e.value > lower))
}

/// One line (section "ABNF", `sample`):
/// `name{labels,extra="…"} value [timestamp] [exemplar]`. `extra` values
/// are numbers (no escaping).
fn sample(
    out: &mut String,
    series: &Series<'_>,
    suffix: &str,
    extra: Option<(&str, &str)>,
    value: Value,
    exemplar: Option<&Exemplar>,
) {
    push_sample_name(out, series.name, suffix, series.labels, extra);
    out.push(' ');
    match value {
        // Section "Numbers": integers, decimals, exponents, `+Inf`, `-Inf`
        // and `NaN` are all valid sample values.
        Value::Float(v) => push_f64(out, v),
        Value::Count(n) => out.push_str(itoa::Buffer::new().format(n)),
    }
    if series.timestamp_ms != 0 {
        out.push(' ');
        if series.timestamp_ms < 0 {
            // Section "Timestamps": "Negative timestamps MAY be used."
            out.push('-');
        }
        push_seconds(out, series.timestamp_ms.unsigned_abs());
    }
    if let Some(e) = exemplar {
        push_exemplar(out, e);
    }
    out.push('\n');
}

/// ` # {trace_id="…",span_id="…"} value [timestamp]` (section "ABNF",
/// `exemplar`; section "Exemplars"). The label set is 63 characters of
/// names and values, within the 128 allowed.
fn push_exemplar(out: &mut String, e: &Exemplar) {
    out.push_str(" # {trace_id=\"");
    push_hex(out, e.trace_id, 32);
    out.push_str("\",span_id=\"");
    push_hex(out, u128::from(e.span_id), 16);
    out.push_str("\"} ");
    push_f64(out, e.value);
    // The timestamp is optional; 0 means the time is unknown.
    if e.timestamp_ms != 0 {
        out.push(' ');
        push_seconds(out, e.timestamp_ms);
    }
}

/// The low `digits` hex digits of `v`, lowercase, zero-padded.
fn push_hex(out: &mut String, v: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
    }
}

/// Milliseconds as seconds with three decimals (section "Timestamps":
/// "Timestamps MUST be Unix Epoch in seconds"), e.g. `1700000000.123`.
/// Integer arithmetic: exact, unlike dividing a float.
fn push_seconds(out: &mut String, ms: u64) {
    out.push_str(itoa::Buffer::new().format(ms / 1000));
    out.push('.');
    let frac = ms % 1000;
    for digit in [frac / 100, frac / 10 % 10, frac % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
}

/// Writes an `le` or `quantile` value in the canonical form of section
/// "Considerations: Canonical Numbers": "equivalent to the default Go
/// rendering of float64 values (i.e. %g), with a .0 appended in case there is
/// no decimal point or exponent", and `+Inf` for positive infinity. So `1.0`,
/// `0.005`, `100000.0`, `1e+06`, `1e-05`: the same strings as Go's client
/// library and Prometheus's own normalization of these labels.
///
/// Go's shortest `%g` takes the shortest round-trip digits (which `ryu`
/// also produces) and uses exponent form when the decimal exponent is below
/// -4 or at least 6, with a signed exponent of at least two digits.
fn push_canonical(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if v == 0.0 {
        // Also -0.0, as Go's OpenMetrics encoder writes it.
        out.push_str("0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp10) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    // Significant digits d1 d2 … and `point` such that |v| = 0.d1d2… × 10^point.
    let mut digits = [0_u8; 32];
    let mut nd = 0;
    let mut point = exp10;
    let mut integer_part = true;
    for b in mantissa.bytes() {
        if b == b'.' {
            integer_part = false;
            continue;
        }
        if integer_part {
            point += 1;
        }
        if nd == 0 && b == b'0' {
            point -= 1;
            continue;
        }
        if nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let digits = &digits[..nd];
    let push_digits = |out: &mut String, ds: &[u8]| {
        for &d in ds {
            out.push(char::from(d));
        }
    };
    if negative {
        out.push('-');
    }
    let exp = point - 1;
    if !(-4..6).contains(&exp) {
        push_digits(out, &digits[..1]);
        if nd > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        out.push_str(if exp < 0 { "e-" } else { "e+" });
        let exp = exp.unsigned_abs();
        if exp < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(exp));
    } else if point > 0 {
        // 1 <= |v| < 1e6: integer digits (zero-padded), then the fraction
        // or `.0`.
        let point = point as usize;
        push_digits(out, &digits[..nd.min(point)]);
        for _ in nd..point {
            out.push('0');
        }
        if nd > point {
            out.push('.');
            push_digits(out, &digits[point..]);
        } else {
            out.push_str(".0");
        }
    } else {
        // 1e-4 <= |v| < 1: `0.`, zeros, digits.
        out.push_str("0.");
        for _ in point..0 {
            out.push('0');
        }
        push_digits(out, digits);
    }
}

/// Escapes `\`, newline and `"` (section "ABNF", `escaped-string`, and
/// section "Escaping"): the classic format's label-value escaping, which
/// OpenMetrics applies to HELP text too.
fn escape(s: &str, out: &mut String) {
    super::exposition::escape(s, true, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Registry;
    use prometheus::proto::{Bucket, Histogram, Quantile, Summary};

    fn exemplar(value: f64, timestamp_ms: u64) -> Exemplar {
        Exemplar {
            trace_id: 0x0af7_6519_16cd_43dd_8448_eb21_1c80_319c,
            span_id: 0xb7ad_6b71_6920_3331,
            value,
            timestamp_ms,
        }
    }

    const EXEMPLAR_IDS: &str =
        "trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"";

    fn encode(families: &[MetricFamily], exemplars: &Exemplars) -> String {
        let mut out = String::new();
        encode_openmetrics(families, exemplars, &mut out);
        out
    }

    #[allow(deprecated)]
    fn untyped(name: &str, help: &str, value: f64, timestamp_ms: i64) -> MetricFamily {
        let mut f = MetricFamily::default();
        f.set_name(name.into());
        f.set_help(help.into());
        f.set_field_type(MetricType::UNTYPED);
        let mut u = prometheus::proto::Untyped::default();
        u.set_value(value);
        let mut m = Metric::default();
        m.set_untyped(u);
        m.set_timestamp_ms(timestamp_ms);
        f.set_metric(vec![m]);
        f
    }

    fn summary(name: &str) -> MetricFamily {
        let mut f = MetricFamily::default();
        f.set_name(name.into());
        f.set_help("RPC latency.".into());
        f.set_field_type(MetricType::SUMMARY);
        let quantiles = [(0.5, 0.125), (0.99, 2.0)]
            .into_iter()
            .map(|(q, v)| {
                let mut quantile = Quantile::default();
                quantile.set_quantile(q);
                quantile.set_value(v);
                quantile
            })
            .collect();
        let mut s = Summary::default();
        s.set_quantile(quantiles);
        s.set_sample_sum(12.5);
        s.set_sample_count(40);
        let mut m = Metric::default();
        m.set_summary(s);
        f.set_metric(vec![m]);
        f
    }

    fn gauge(name: &str, value: f64) -> MetricFamily {
        let mut g = prometheus::proto::Gauge::default();
        g.set_value(value);
        let mut f = MetricFamily::default();
        f.set_name(name.into());
        f.set_help("A gauge.".into());
        f.set_field_type(MetricType::GAUGE);
        f.set_metric(vec![Metric::from_gauge(g)]);
        f
    }

    fn counter(name: &str, value: f64) -> MetricFamily {
        let mut c = prometheus::proto::Counter::default();
        c.set_value(value);
        let mut m = Metric::default();
        m.set_counter(c);
        let mut f = MetricFamily::default();
        f.set_name(name.into());
        f.set_help("A counter.".into());
        f.set_field_type(MetricType::COUNTER);
        f.set_metric(vec![m]);
        f
    }

    /// A histogram family built by hand, with buckets `(le, cumulative)`.
    fn histogram(name: &str, buckets: &[(f64, u64)], count: u64, sum: f64) -> MetricFamily {
        let mut h = Histogram::default();
        h.set_bucket(
            buckets
                .iter()
                .map(|&(le, n)| {
                    let mut b = Bucket::default();
                    b.set_upper_bound(le);
                    b.set_cumulative_count(n);
                    b
                })
                .collect(),
        );
        h.set_sample_count(count);
        h.set_sample_sum(sum);
        let mut m = Metric::default();
        m.set_histogram(h);
        let mut f = MetricFamily::default();
        f.set_name(name.into());
        f.set_help("A histogram.".into());
        f.set_field_type(MetricType::HISTOGRAM);
        f.set_metric(vec![m]);
        f
    }

    /// A registry with a labelled `_total` counter, a counter without
    /// `_total`, a gauge and a labelled histogram, plus exemplars.
    fn small_registry() -> (Vec<MetricFamily>, Exemplars) {
        let r = Registry::new();
        let jobs = prometheus::IntCounterVec::new(
            prometheus::Opts::new("jobs_total", "Jobs done."),
            &["queue"],
        )
        .unwrap();
        jobs.with_label_values(&["mail"]).inc_by(3);
        r.register(Box::new(jobs)).unwrap();
        let legacy =
            prometheus::IntCounter::new("legacy_requests", "Requests, named before _total.")
                .unwrap();
        legacy.inc_by(2);
        r.register(Box::new(legacy)).unwrap();
        let temp = prometheus::Gauge::new("temperature_celsius", "Temperature.").unwrap();
        temp.set(21.5);
        r.register(Box::new(temp)).unwrap();
        let wait = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("wait_seconds", "Time waiting.").buckets(vec![0.5, 1.0]),
            &["route"],
        )
        .unwrap();
        for v in [0.25, 0.875, 3.0] {
            wait.with_label_values(&["/a"]).observe(v);
        }
        r.register(Box::new(wait)).unwrap();
        let mut families = r.gather();
        families.push(untyped("legacy_untyped", "Old.", 7.0, 1_700_000_000_123));
        families.push(summary("rpc_seconds"));
        let mut exemplars = Exemplars::default();
        exemplars.insert(
            "wait_seconds",
            &[("route", "/a")],
            vec![
                None,
                Some(exemplar(0.875, 1_700_000_000_123)),
                Some(exemplar(3.0, 1_700_000_001_000)),
            ],
        );
        (families, exemplars)
    }

    const SMALL_REGISTRY: &str = "\
# TYPE jobs counter
# HELP jobs Jobs done.
jobs_total{queue=\"mail\"} 3
# TYPE legacy_requests unknown
# HELP legacy_requests Requests, named before _total.
legacy_requests 2
# TYPE temperature_celsius gauge
# HELP temperature_celsius Temperature.
temperature_celsius 21.5
# TYPE wait_seconds histogram
# HELP wait_seconds Time waiting.
wait_seconds_bucket{route=\"/a\",le=\"0.5\"} 1
wait_seconds_bucket{route=\"/a\",le=\"1.0\"} 2 # {IDS} 0.875 1700000000.123
wait_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3 # {IDS} 3 1700000001.000
wait_seconds_count{route=\"/a\"} 3
wait_seconds_sum{route=\"/a\"} 4.125
# TYPE legacy_untyped unknown
# HELP legacy_untyped Old.
legacy_untyped 7 1700000000.123
# TYPE rpc_seconds summary
# HELP rpc_seconds RPC latency.
rpc_seconds{quantile=\"0.5\"} 0.125
rpc_seconds{quantile=\"0.99\"} 2
rpc_seconds_sum 12.5
rpc_seconds_count 40
# EOF
";

    #[test]
    fn exact_output_for_a_small_registry() {
        let (families, exemplars) = small_registry();
        let out = encode(&families, &exemplars);
        assert_eq!(out, SMALL_REGISTRY.replace("IDS", EXEMPLAR_IDS));
        validate(&out).unwrap();
    }

    #[test]
    fn appends_to_the_buffer_and_always_ends_with_eof() {
        let mut out = String::from("kept\n");
        encode_openmetrics(&[], &Exemplars::default(), &mut out);
        assert_eq!(out, "kept\n# EOF\n");
        // A family without metrics is skipped entirely.
        let mut empty = gauge("g", 1.0);
        empty.set_metric(Vec::new());
        assert_eq!(encode(&[empty], &Exemplars::default()), "# EOF\n");
    }

    #[test]
    fn help_and_label_values_are_escaped() {
        let r = Registry::new();
        let c = prometheus::CounterVec::new(
            prometheus::Opts::new("odd_total", "Say \"hi\" \\ then\nnewline."),
            &["v"],
        )
        .unwrap();
        c.with_label_values(&["quote \" back \\ nl \n end"]).inc();
        r.register(Box::new(c)).unwrap();
        let out = encode(&r.gather(), &Exemplars::default());
        assert_eq!(
            out,
            "# TYPE odd counter\n\
             # HELP odd Say \\\"hi\\\" \\\\ then\\nnewline.\n\
             odd_total{v=\"quote \\\" back \\\\ nl \\n end\"} 1\n\
             # EOF\n"
        );
        validate(&out).unwrap();
    }

    #[test]
    fn misfiled_exemplars_are_dropped() {
        let families = [histogram(
            "h_seconds",
            &[(0.5, 1), (1.0, 2), (2.0, 3)],
            5,
            9.0,
        )];
        let mut exemplars = Exemplars::default();
        exemplars.insert(
            "h_seconds",
            &[],
            vec![
                Some(exemplar(0.5, 1)), // on the bound: kept
                Some(exemplar(1.5, 2)), // above le=1.0: dropped
                Some(exemplar(1.0, 3)), // on the lower bound of (1, 2]: dropped
                Some(exemplar(2.0, 4)), // below the +Inf bucket's range: dropped
            ],
        );
        let out = encode(&families, &exemplars);
        assert!(
            out.contains(&format!(
                "h_seconds_bucket{{le=\"0.5\"}} 1 # {{{EXEMPLAR_IDS}}} 0.5 0.001\n"
            )),
            "{out}"
        );
        assert!(out.contains("h_seconds_bucket{le=\"1.0\"} 2\n"), "{out}");
        assert!(out.contains("h_seconds_bucket{le=\"2.0\"} 3\n"), "{out}");
        assert!(out.contains("h_seconds_bucket{le=\"+Inf\"} 5\n"), "{out}");
        assert_eq!(out.matches(" # {").count(), 1, "{out}");
        validate(&out).unwrap();

        // A NaN value lies in no bucket; +Inf lies in the +Inf bucket.
        let mut exemplars = Exemplars::default();
        exemplars.insert(
            "h_seconds",
            &[],
            vec![
                Some(exemplar(f64::NAN, 1)),
                None,
                None,
                Some(exemplar(f64::INFINITY, 0)),
            ],
        );
        let out = encode(&families, &exemplars);
        assert!(
            out.contains(&format!(
                "h_seconds_bucket{{le=\"+Inf\"}} 5 # {{{EXEMPLAR_IDS}}} +Inf\n"
            )),
            "{out}"
        );
        assert_eq!(out.matches(" # {").count(), 1, "{out}");
        validate(&out).unwrap();
    }

    #[test]
    fn a_gathered_inf_bucket_is_not_repeated_and_gets_the_last_exemplar() {
        let families = [histogram(
            "h",
            &[(-1.0, 1), (1e6, 2), (f64::INFINITY, 4)],
            4,
            5.0,
        )];
        let mut exemplars = Exemplars::default();
        exemplars.insert(
            "h",
            &[],
            vec![Some(exemplar(-3.0, 0)), None, Some(exemplar(7e6, 0))],
        );
        let out = encode(&families, &exemplars);
        let ids = EXEMPLAR_IDS;
        assert_eq!(
            out,
            format!(
                "# TYPE h histogram\n# HELP h A histogram.\n\
                 h_bucket{{le=\"-1.0\"}} 1 # {{{ids}}} -3\n\
                 h_bucket{{le=\"1e+06\"}} 2\n\
                 h_bucket{{le=\"+Inf\"}} 4 # {{{ids}}} 7000000\n\
                 h_count 4\nh_sum 5\n# EOF\n"
            )
        );
        validate(&out).unwrap();
    }

    #[test]
    fn exemplars_are_looked_up_per_series() {
        let r = Registry::new();
        let h = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new("lat_seconds", "Latency.").buckets(vec![1.0]),
            &["a", "b"],
        )
        .unwrap();
        h.with_label_values(&["x", "y"]).observe(0.5);
        h.with_label_values(&["x", "z"]).observe(0.5);
        r.register(Box::new(h)).unwrap();
        let mut exemplars = Exemplars::default();
        exemplars.insert(
            "lat_seconds",
            &[("b", "z"), ("a", "x")],
            vec![Some(exemplar(0.5, 0))],
        );
        let out = encode(&r.gather(), &exemplars);
        assert!(out.contains(&format!(
            "lat_seconds_bucket{{a=\"x\",b=\"z\",le=\"1.0\"}} 1 # {{{EXEMPLAR_IDS}}} 0.5\n"
        )));
        assert!(out.contains("lat_seconds_bucket{a=\"x\",b=\"y\",le=\"1.0\"} 1\n"));
        assert_eq!(out.matches(" # {").count(), 1, "{out}");
        validate(&out).unwrap();
    }

    #[test]
    fn counters_that_would_clash_stay_unknown_under_their_own_name() {
        let families = [
            gauge("foo", 1.0),
            counter("foo_total", 2.0),
            gauge("bar_created", 3.0),
            counter("bar_total", 4.0),
            counter("_total", 5.0),
            counter("baz_total", 6.0),
        ];
        let out = encode(&families, &Exemplars::default());
        let types: Vec<&str> = out.lines().filter(|l| l.starts_with("# TYPE")).collect();
        assert_eq!(
            types,
            [
                "# TYPE foo gauge",
                "# TYPE foo_total unknown",
                "# TYPE bar_created gauge",
                "# TYPE bar_total unknown",
                "# TYPE _total unknown",
                "# TYPE baz counter",
            ]
        );
        for sample in [
            "foo_total 2\n",
            "bar_total 4\n",
            "_total 5\n",
            "baz_total 6\n",
        ] {
            assert!(out.contains(sample), "{sample} missing from {out}");
        }
        validate(&out).unwrap();
        // Without the gauge `foo`, `foo_total` is a counter `foo`.
        let out = encode(&families[1..2], &Exemplars::default());
        assert!(out.starts_with("# TYPE foo counter\n# HELP foo A counter.\nfoo_total 2\n"));
    }

    #[test]
    fn timestamps_are_seconds_with_millisecond_precision() {
        let cases = [
            (1, "0.001"),
            (999, "0.999"),
            (1_000, "1.000"),
            (1_700_000_000_120, "1700000000.120"),
            (-1_500, "-1.500"),
            (i64::MAX, "9223372036854775.807"),
            (i64::MIN, "-9223372036854775.808"),
        ];
        for (ms, want) in cases {
            let out = encode(&[untyped("u", "", 1.0, ms)], &Exemplars::default());
            assert_eq!(out, format!("# TYPE u unknown\nu 1 {want}\n# EOF\n"));
            validate(&out).unwrap();
        }
    }

    fn canonical(v: f64) -> String {
        let mut s = String::new();
        push_canonical(&mut s, v);
        s
    }

    #[test]
    fn le_and_quantile_values_are_canonical() {
        // The examples of section "Considerations: Canonical Numbers" and
        // of section "Histogram", and Go's `%g` thresholds.
        let cases = [
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (0.001, "0.001"),
            (0.002, "0.002"),
            (0.005, "0.005"),
            (0.01, "0.01"),
            (0.1, "0.1"),
            (0.9, "0.9"),
            (0.95, "0.95"),
            (0.99, "0.99"),
            (0.999, "0.999"),
            (1.0, "1.0"),
            (1.7, "1.7"),
            (10.0, "10.0"),
            (1e-10, "1e-10"),
            (1e-9, "1e-09"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (1.5e-4, "0.00015"),
            (100_000.0, "100000.0"),
            (123_456.5, "123456.5"),
            (999_999.0, "999999.0"),
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (1e10, "1e+10"),
            (1e23, "1e+23"),
            (1.1e23, "1.1e+23"),
            (1e100, "1e+100"),
            (-1.0, "-1.0"),
            (-2.5e-7, "-2.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (v, want) in cases {
            assert_eq!(canonical(v), want, "{v:e}");
        }
        // "Exposers SHOULD produce output for the values 0.0 up to 10.0 in
        // 0.001 increments in line with the following examples": Go's %g is
        // plain decimal there, as Rust's `Display` is.
        for i in 0..=10_000 {
            let v = f64::from(i) / 1000.0;
            let mut want = v.to_string();
            if !want.contains('.') {
                want.push_str(".0");
            }
            assert_eq!(canonical(v), want);
        }
        // Every rendering reads back as the same number.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                let text = canonical(v);
                assert_eq!(text.parse::<f64>().unwrap(), v, "{text}");
                assert!(text.contains(['.', 'e']), "{text}");
            }
        }
    }

    #[test]
    fn negotiation() {
        use ExpositionFormat::{OpenMetrics, PrometheusText};
        let cases = [
            // Prometheus 2.x.
            (
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                OpenMetrics,
            ),
            // Prometheus 3.x.
            (
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
                OpenMetrics,
            ),
            ("text/plain;version=0.0.4", PrometheusText),
            ("application/openmetrics-text;q=0", PrometheusText),
            ("application/openmetrics-text", OpenMetrics),
            ("application/openmetrics-text;version=0.0.1", OpenMetrics),
            (
                " APPLICATION/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=0.3 ",
                OpenMetrics,
            ),
            ("application/openmetrics-text;version=2.0.0", PrometheusText),
            ("application/openmetrics-text;version=", PrometheusText),
            (
                "application/openmetrics-text;q=0.5,text/plain;q=0.6",
                PrometheusText,
            ),
            ("application/openmetrics-text;q=0.5,*/*;q=0.5", OpenMetrics),
            ("application/openmetrics-text;q=0.5,*/*", PrometheusText),
            ("application/openmetrics-text;q=0.5,text/*", PrometheusText),
            (
                "application/openmetrics-text;q=0.5,application/*",
                OpenMetrics,
            ),
            (
                "application/openmetrics-text;q=0.2;q=0.9,text/plain;q=0.5",
                PrometheusText,
            ),
            (
                "application/openmetrics-text;;;q=0.9;;,text/plain;q=0.5",
                OpenMetrics,
            ),
            ("application/openmetrics-text;charset;q=1", OpenMetrics),
            // A malformed q ignores the range.
            ("application/openmetrics-text;q=", PrometheusText),
            (
                "application/openmetrics-text;q=abc,text/plain;q=0.1",
                PrometheusText,
            ),
            ("application/openmetrics-text;q=2", PrometheusText),
            ("application/openmetrics-text;q=-0.5", PrometheusText),
            ("application/openmetrics-text;q=1e0", PrometheusText),
            ("application/openmetrics-text;q=.5", PrometheusText),
            ("application/openmetrics-text;q=\"1\"", PrometheusText),
            (
                "application/openmetrics-text;q=99999999999999999999999999",
                PrometheusText,
            ),
            (
                "application/openmetrics-text;q=x,application/openmetrics-text;q=0.2",
                OpenMetrics,
            ),
            ("application/openmetrics-text;q=0.001", OpenMetrics),
            ("application/openmetrics-text;q=1.000", OpenMetrics),
            ("*/*", PrometheusText),
            ("", PrometheusText),
            (",,,", PrometheusText),
            ("garbage", PrometheusText),
            ("application/json", PrometheusText),
        ];
        for (accept, want) in cases {
            assert_eq!(ExpositionFormat::negotiate(Some(accept)), want, "{accept}");
        }
        assert_eq!(ExpositionFormat::negotiate(None), PrometheusText);
        assert_eq!(OpenMetrics.content_type(), OPENMETRICS_CONTENT_TYPE);
        assert_eq!(
            PrometheusText.content_type(),
            crate::metrics::PROMETHEUS_TEXT_CONTENT_TYPE
        );
    }

    #[test]
    fn negotiation_never_panics_on_junk() {
        let junk = [
            ";;;",
            "q=",
            "=",
            "/",
            "//",
            ";q=1",
            "application/openmetrics-text;=",
            "application/openmetrics-text;q",
            "application/openmetrics-text;version=\"",
            "application/openmetrics-text;q=0.5.5",
            "application/openmetrics-text;q=NaN",
            "application/openmetrics-text;q=inf",
            "application/openmetrics-text;q=１",
            "ü/ß;q=0.5,€/*",
            "application/openmetrics-text;q=0.\u{0}",
            "\u{feff}application/openmetrics-text",
            "\u{0}\u{7f}\u{10ffff}",
        ];
        for accept in junk {
            let _ = ExpositionFormat::negotiate(Some(accept));
        }
        let long = "application/openmetrics-text;q=0.5,".repeat(10_000);
        assert_eq!(
            ExpositionFormat::negotiate(Some(&long)),
            ExpositionFormat::OpenMetrics
        );
        let long = ";".repeat(100_000) + &"9".repeat(100_000);
        assert_eq!(
            ExpositionFormat::negotiate(Some(&long)),
            ExpositionFormat::PrometheusText
        );
        // Random headers built from the characters that matter.
        let alphabet: Vec<char> = "atp/*;,=q.01 \"éx".chars().collect();
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            x = x.wrapping_add(1);
            let _ = ExpositionFormat::negotiate(Some(&s));
            for prefix in ["application/openmetrics-text;", "text/plain;"] {
                let _ = ExpositionFormat::negotiate(Some(&format!("{prefix}{s}")));
            }
        }
    }

    /// Checks `text` against the OpenMetrics ABNF as far as we use it: only
    /// `# TYPE`, `# HELP` and a final `# EOF` comments, one TYPE per family
    /// name, samples named after their family with the suffixes of its type,
    /// label values escaped, numbers and timestamps well formed, exemplars
    /// only on `_bucket` lines with ≤ 128 characters of labels.
    fn validate(text: &str) -> Result<(), String> {
        let body = text
            .strip_suffix("# EOF\n")
            .ok_or("does not end with # EOF")?;
        let mut families = HashSet::new();
        let mut current: Option<(String, String)> = None;
        for (n, line) in body.lines().enumerate() {
            let err = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
            if let Some(rest) = line.strip_prefix("# ") {
                let (kw, rest) = rest.split_once(' ').ok_or_else(|| err("comment"))?;
                let (name, arg) = rest.split_once(' ').ok_or_else(|| err("metadata"))?;
                if !is_metric_name(name) {
                    return Err(err("family name"));
                }
                match kw {
                    "TYPE" => {
                        let types = ["counter", "gauge", "histogram", "summary", "unknown"];
                        if !types.contains(&arg) {
                            return Err(err("type"));
                        }
                        if !families.insert(name.to_owned()) {
                            return Err(err("duplicate family"));
                        }
                        current = Some((name.to_owned(), arg.to_owned()));
                    }
                    "HELP" => {
                        if current.as_ref().map(|c| c.0.as_str()) != Some(name) {
                            return Err(err("HELP without TYPE"));
                        }
                        check_escaped(arg).map_err(err)?;
                    }
                    _ => return Err(err("comment")),
                }
                continue;
            }
            let (family, kind) = current.as_ref().ok_or_else(|| err("sample before TYPE"))?;
            let name_end = line.find(['{', ' ']).ok_or_else(|| err("sample"))?;
            let name = &line[..name_end];
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_count", "_sum"],
                "summary" => &["", "_count", "_sum"],
                _ => &[""],
            };
            let suffix = name
                .strip_prefix(family.as_str())
                .filter(|s| suffixes.contains(s))
                .ok_or_else(|| err("sample name not in family"))?;
            let mut rest = &line[name_end..];
            if rest.starts_with('{') {
                let (labels, after) = parse_labels(rest).map_err(err)?;
                let has = |l: &str| labels.iter().any(|(k, _)| k == l);
                if (suffix == "_bucket") != has("le") {
                    return Err(err("le"));
                }
                if kind == "summary" && (suffix.is_empty() != has("quantile")) {
                    return Err(err("quantile"));
                }
                rest = after;
            } else if suffix == "_bucket" || (kind == "summary" && suffix.is_empty()) {
                return Err(err("missing le or quantile"));
            }
            let rest = rest.strip_prefix(' ').ok_or_else(|| err("space"))?;
            let (sample, exemplar) = match rest.split_once(" # ") {
                Some((s, e)) => (s, Some(e)),
                None => (rest, None),
            };
            let mut parts = sample.split(' ');
            if !is_number(parts.next().unwrap_or("")) {
                return Err(err("value"));
            }
            if let Some(ts) = parts.next()
                && !is_real(ts)
            {
                return Err(err("timestamp"));
            }
            if parts.next().is_some() {
                return Err(err("trailing text"));
            }
            if let Some(e) = exemplar {
                if suffix != "_bucket" {
                    return Err(err("exemplar off a bucket"));
                }
                let (labels, after) = parse_labels(e).map_err(err)?;
                let length: usize = labels
                    .iter()
                    .map(|(k, v)| k.chars().count() + v.chars().count())
                    .sum();
                if length > 128 {
                    return Err(err("exemplar labels too long"));
                }
                let mut parts = after
                    .strip_prefix(' ')
                    .ok_or_else(|| err("space"))?
                    .split(' ');
                if !is_number(parts.next().unwrap_or("")) {
                    return Err(err("exemplar value"));
                }
                if let Some(ts) = parts.next()
                    && !is_real(ts)
                {
                    return Err(err("exemplar timestamp"));
                }
                if parts.next().is_some() {
                    return Err(err("trailing text"));
                }
            }
        }
        Ok(())
    }

    fn is_metric_name(s: &str) -> bool {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    /// Label pairs, values still escaped.
    type Pairs = Vec<(String, String)>;

    /// `{name="value",…}` at the start of `s`: the pairs and what follows
    /// the brace.
    fn parse_labels(s: &str) -> Result<(Pairs, &str), &'static str> {
        let mut rest = s.strip_prefix('{').ok_or("labels")?;
        let mut pairs = Vec::new();
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((pairs, after));
        }
        loop {
            let (name, after) = rest.split_once("=\"").ok_or("label")?;
            let mut chars = name.chars();
            let valid = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || pairs.iter().any(|(k, _)| k == name) {
                return Err("label name");
            }
            // The value ends at the first unescaped quote.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in after.char_indices() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unterminated label value")?;
            check_escaped(&after[..end])?;
            pairs.push((name.to_owned(), after[..end].to_owned()));
            rest = &after[end + 1..];
            if let Some(after) = rest.strip_prefix('}') {
                return Ok((pairs, after));
            }
            rest = rest.strip_prefix(',').ok_or("comma")?;
        }
    }

    /// Section "ABNF", `escaped-string`, with the recommended escapes only.
    fn check_escaped(s: &str) -> Result<(), &'static str> {
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('\\' | 'n' | '"') => {}
                    _ => return Err("bad escape"),
                },
                '"' | '\n' => return Err("unescaped character"),
                _ => {}
            }
        }
        Ok(())
    }

    /// Section "ABNF", `number`.
    fn is_number(s: &str) -> bool {
        let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s).to_ascii_lowercase();
        is_real(s) || unsigned == "inf" || unsigned == "infinity" || s.eq_ignore_ascii_case("nan")
    }

    /// Section "ABNF", `realnumber`.
    fn is_real(s: &str) -> bool {
        let s = s.strip_prefix(['+', '-']).unwrap_or(s);
        let (mantissa, exponent) = match s.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (s, None),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let mantissa_ok = match mantissa.split_once('.') {
            Some((i, f)) => digits(i) && digits(f) && !(i.is_empty() && f.is_empty()),
            None => !mantissa.is_empty() && digits(mantissa),
        };
        let exponent_ok = exponent.is_none_or(|e| {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            !e.is_empty() && digits(e)
        });
        mantissa_ok && exponent_ok
    }

    #[test]
    fn the_validator_rejects_invalid_output() {
        let bad = [
            "x 1\n# EOF\n",                                   // no TYPE
            "# TYPE x gauge\nx 1\n",                          // no EOF
            "# TYPE x gauge\nx 1\n# EOF\n# EOF\n",            // data after EOF
            "# TYPE x counter\nx 1\n# EOF\n",                 // counter without _total
            "# TYPE x gauge\n# TYPE x gauge\nx 1\n# EOF\n",   // duplicate family
            "# TYPE x gauge\nx{a=\"\"\"} 1\n# EOF\n",         // unescaped quote
            "# TYPE x gauge\nx{a=\"\\q\"} 1\n# EOF\n",        // bad escape
            "# TYPE x gauge\nx 1.2.3\n# EOF\n",               // bad number
            "# TYPE x gauge\nx 1 1e\n# EOF\n",                // bad timestamp
            "# TYPE x gauge\nx 1 # {a=\"b\"} 1\n# EOF\n",     // exemplar off a bucket
            "# TYPE x histogram\nx_bucket 1\n# EOF\n",        // bucket without le
            "# TYPE x summary\nx 1\n# EOF\n",                 // quantile missing
            "# TYPE x gauge\n# HELP x a \"b\"\nx 1\n# EOF\n", // unescaped HELP
            "# TYPE x gauge\n# UNIT x seconds\nx 1\n# EOF\n", // comment we never write
        ];
        for text in bad {
            assert!(validate(text).is_err(), "{text}");
        }
        let long = "a".repeat(121); // 8 + 121 > 128
        let text = format!(
            "# TYPE x histogram\nx_bucket{{le=\"+Inf\"}} 1 # {{trace_id=\"{long}\"}} 1\n# EOF\n"
        );
        assert!(validate(&text).is_err());
        assert!(validate("# TYPE x gauge\nx{a=\"\\\"\"} -Inf 1.5\n# EOF\n").is_ok());
    }
}
