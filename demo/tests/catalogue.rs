//! `docs/METRICS.md` is the single catalogue of exported metrics: every
//! family the demo exports must be listed, and every listed family must be
//! exported (rows marked *conditional* may be absent on this machine).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;

/// Metric names in the first column of the catalogue's tables, with whether
/// the row is marked conditional.
fn catalogue() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/METRICS.md"))
        .unwrap();
    // Only tables whose header starts with `| name |` list metrics.
    let mut in_metric_table = false;
    text.lines()
        .filter_map(|line| {
            if !line.starts_with('|') {
                in_metric_table = false;
                return None;
            }
            if line.starts_with("| name |") {
                in_metric_table = true;
            }
            if !in_metric_table {
                return None;
            }
            let first = line.strip_prefix("| `")?;
            let name = &first[..first.find('`')?];
            let is_metric = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            is_metric.then(|| (name.to_owned(), line.contains("*Conditional*")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exported_family_is_catalogued_and_back() {
    let mut options = demo_options();
    options.load_rps = 200;
    let demo = redline_demo::Demo::start(options).await.unwrap();
    let c = client();
    let ops = demo.telemetry().operations();
    let _ = ops.time("catalogue_check", || Ok::<(), ()>(()));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let text = scrape(&c, demo.admin_addr().unwrap()).await;
    demo.shutdown().await;

    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    let listed = catalogue();
    let names: BTreeSet<String> = listed.iter().map(|(n, _)| n.clone()).collect();
    let missing: Vec<_> = exported.difference(&names).collect();
    assert!(
        missing.is_empty(),
        "exported but not in docs/METRICS.md: {missing:?}"
    );
    let stale: Vec<_> = listed
        .iter()
        .filter(|(name, conditional)| !conditional && !exported.contains(name))
        .map(|(name, _)| name)
        .collect();
    assert!(
        stale.is_empty(),
        "in docs/METRICS.md but not exported: {stale:?}"
    );
    assert!(names.len() >= 20, "catalogue parsed: {names:?}");
}
