//! Small helpers to build the `prometheus` crate's data model from our own
//! series at collection time.

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType};

/// A family with the given name, help and type, and no samples yet.
pub(crate) fn family(name: &str, help: &str, kind: MetricType) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_owned());
    f.set_help(help.to_owned());
    f.set_field_type(kind);
    f
}

/// Label pairs from `(name, value)` in the order given (callers pass them
/// sorted by name, as the `prometheus` crate does for its own metrics).
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(name, value)| {
            let mut p = LabelPair::default();
            p.set_name((*name).to_owned());
            p.set_value((*value).to_owned());
            p
        })
        .collect()
}

/// A gauge sample.
pub(crate) fn gauge(label_pairs: Vec<LabelPair>, value: f64) -> Metric {
    let mut g = prometheus::proto::Gauge::default();
    g.set_value(value);
    let mut m = Metric::from_gauge(g);
    m.set_label(label_pairs);
    m
}

/// A counter sample.
pub(crate) fn counter(label_pairs: Vec<LabelPair>, value: f64) -> Metric {
    let mut c = prometheus::proto::Counter::default();
    c.set_value(value);
    let mut m = Metric::from_label(label_pairs);
    m.set_counter(c);
    m
}

/// A histogram sample.
pub(crate) fn histogram(label_pairs: Vec<LabelPair>, h: prometheus::proto::Histogram) -> Metric {
    let mut m = Metric::from_label(label_pairs);
    m.set_histogram(h);
    m
}

/// A `Desc` for registration (the registry checks names and uniqueness).
pub(crate) fn desc(name: &str, help: &str, labels: &[&str]) -> prometheus::core::Desc {
    prometheus::core::Desc::new(
        name.to_owned(),
        help.to_owned(),
        labels.iter().map(|l| (*l).to_owned()).collect(),
        Default::default(),
    )
    .expect("metric descriptors are static and valid")
}
