//! The `prometheus` collector of [`LogStats`]: the `redline_log_*`
//! families, read from the counters at each scrape.

use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use std::sync::atomic::Ordering;

use super::{
    ARCHIVE_BYTES, ARCHIVES, ARCHIVES_DELETED, BYTES, COMPRESSED_BYTES, COMPRESSIONS, DROPPED,
    ERRORS, EVENTS, LINES, LOST, LogStats, ROTATIONS,
};
use crate::metrics::proto;

impl Collector for LogStats {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Not `snapshot()`: a scrape needs neither the per-target map nor a
        // second look at the file writer.
        let i = &self.inner;
        let help = |n: usize| i.descs[n].help.as_str();
        let counter = |name, h, samples: Vec<(Vec<prometheus::proto::LabelPair>, u64)>| {
            let mut f = proto::family(name, h, MetricType::COUNTER);
            f.set_metric(
                samples
                    .into_iter()
                    .map(|(l, v)| proto::counter(l, v as f64))
                    .collect(),
            );
            f
        };
        let file = self.file_stats();
        let per_output = |stdout: u64, file_value: Option<u64>| {
            let mut v = vec![(proto::labels(&[("output", "stdout")]), stdout)];
            if let Some(f) = file_value {
                v.push((proto::labels(&[("output", "file")]), f));
            }
            v
        };
        let mut families = vec![
            counter(
                EVENTS,
                help(0),
                self.events()
                    .iter()
                    .map(|(l, n)| (proto::labels(&[("level", &l.to_ascii_lowercase())]), *n))
                    .collect(),
            ),
            counter(
                LINES,
                help(1),
                per_output(
                    i.stdout.lines.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.lines_written),
                ),
            ),
            counter(
                BYTES,
                help(2),
                per_output(
                    i.stdout.bytes.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.bytes_written),
                ),
            ),
            counter(DROPPED, help(3), vec![(Vec::new(), self.dropped())]),
            counter(
                ROTATIONS,
                help(4),
                vec![(Vec::new(), file.as_ref().map_or(0, |f| f.rotations))],
            ),
            counter(
                ERRORS,
                help(5),
                per_output(
                    i.stdout.errors.load(Ordering::Relaxed),
                    file.as_ref().map(|f| f.write_errors),
                ),
            ),
            counter(
                LOST,
                help(6),
                self.lost()
                    .into_iter()
                    .map(|(o, r, n)| (proto::labels(&[("output", o), ("reason", r)]), n))
                    .collect(),
            ),
        ];
        if let Some(a) = file.map(|f| f.archives) {
            let gauge = |name, h, v: u64| {
                let mut f = proto::family(name, h, MetricType::GAUGE);
                f.set_metric(vec![proto::gauge(Vec::new(), v as f64)]);
                f
            };
            let labelled = |label: &str, values: &[(&str, u64)]| {
                values
                    .iter()
                    .map(|(l, v)| (proto::labels(&[(label, l)]), *v))
                    .collect()
            };
            families.extend([
                gauge(ARCHIVES, help(7), a.count),
                gauge(ARCHIVE_BYTES, help(8), a.bytes),
                counter(
                    ARCHIVES_DELETED,
                    help(9),
                    labelled(
                        "reason",
                        &[
                            ("count", a.deleted_count),
                            ("size", a.deleted_size),
                            ("age", a.deleted_age),
                            ("no_space", a.deleted_no_space),
                        ],
                    ),
                ),
                counter(
                    COMPRESSIONS,
                    help(10),
                    labelled(
                        "result",
                        &[("ok", a.compressed), ("error", a.compress_errors)],
                    ),
                ),
                counter(
                    COMPRESSED_BYTES,
                    help(11),
                    labelled(
                        "direction",
                        &[
                            ("in", a.compressed_bytes_in),
                            ("out", a.compressed_bytes_out),
                        ],
                    ),
                ),
            ]);
        }
        families
    }
}
