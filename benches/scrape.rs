//! Time to render `/metrics` with 10,000 histogram series, split into the
//! `prometheus` crate's `gather()` and the text encoding.
//!
//! `cargo bench --bench scrape`; figures go to docs/PERFORMANCE.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use prometheus::Encoder;

fn bench(c: &mut Criterion) {
    let config = redline::Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        max_series_per_metric: 20_000,
        ..Default::default()
    };
    let t = redline::Telemetry::builder()
        .config(config)
        .build()
        .unwrap();
    let ops = t.operations();
    // 5,000 operations × 2 outcomes (success, error) = 10,000 histogram series.
    for i in 0..5_000 {
        let op = ops.operation(&format!("operation_{i:05}"));
        for j in 0..5 {
            op.start().finish(if j == 0 {
                redline::Outcome::Error
            } else {
                redline::Outcome::Success
            });
        }
    }
    let series = t
        .registry()
        .gather()
        .iter()
        .filter(|f| f.name() == "redline_operation_duration_seconds")
        .map(|f| f.get_metric().len())
        .sum::<usize>();
    eprintln!("histogram series rendered: {series}");

    let mut group = c.benchmark_group("scrape");
    group.bench_function("render_text", |b| {
        b.iter(|| black_box(t.render_metrics().len()))
    });
    group.bench_function("gather_only", |b| {
        b.iter(|| black_box(t.registry().gather().len()))
    });
    let families = t.registry().gather();
    group.bench_function("encode_only", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(8 << 20);
            redline::metrics::encode_text(&families, &mut out);
            black_box(out.len())
        })
    });
    // OpenMetrics (what Prometheus asks for): the whole render, and the
    // encoder with an exemplar on two buckets of every series (the lookup
    // per series is the part exemplars add).
    group.bench_function("render_openmetrics", |b| {
        b.iter(|| black_box(t.render_openmetrics().len()))
    });
    let mut exemplars = redline::metrics::Exemplars::default();
    for family in families
        .iter()
        .filter(|f| f.name() == "redline_operation_duration_seconds")
    {
        for m in family.get_metric() {
            let labels: Vec<(&str, &str)> = m
                .get_label()
                .iter()
                .map(|l| (l.name(), l.value()))
                .collect();
            let buckets = m.get_histogram().get_bucket().len() + 1;
            let mut cells = vec![None; buckets];
            for (i, cell) in cells.iter_mut().enumerate().take(2) {
                let bound = m.get_histogram().get_bucket()[i].upper_bound();
                *cell = Some(redline::metrics::Exemplar {
                    trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
                    span_id: 0x00f0_67aa_0ba9_02b7,
                    value: bound / 2.0,
                    timestamp_ms: 1_700_000_000_000,
                });
            }
            exemplars.insert(family.name(), &labels, cells);
        }
    }
    group.bench_function("encode_openmetrics_with_exemplars", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(8 << 20);
            redline::metrics::encode_openmetrics(&families, &exemplars, &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("encode_only_prometheus_crate", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(8 << 20);
            prometheus::TextEncoder::new()
                .encode(&families, &mut out)
                .unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
