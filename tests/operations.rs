//! The operation timer: outcomes from results, panics and cancellation, the
//! in-flight gauge, and the cap on operation names.

mod common;

use std::time::Duration;

use common::*;
use redline::{Config, Outcome, Telemetry};

fn telemetry(cap: usize) -> Telemetry {
    let config = Config {
        admin_listen: None,
        system_metrics: false,
        process_metrics: false,
        max_series_per_metric: cap,
        ..Default::default()
    };
    Telemetry::builder().config(config).build().unwrap()
}

fn count(t: &Telemetry, operation: &str, outcome: &str) -> Option<f64> {
    value(
        &parse(&t.render_metrics()),
        "redline_operation_duration_seconds_count",
        &[("operation", operation), ("outcome", outcome)],
    )
}

#[tokio::test]
async fn outcomes_panics_cancellation_and_in_flight() {
    let t = telemetry(100);
    let ops = t.operations();
    let _ = ops.time("parse", || "7".parse::<u8>());
    let _ = ops.time("parse", || "x".parse::<u8>());
    let caught =
        std::panic::catch_unwind(|| ops.time("explode", || -> Result<(), ()> { panic!("boom") }));
    assert!(caught.is_err());
    assert_eq!(count(&t, "parse", "success"), Some(1.0));
    assert_eq!(count(&t, "parse", "error"), Some(1.0));
    assert_eq!(count(&t, "explode", "panic"), Some(1.0));

    // A future in flight is counted; dropping it records `cancelled`.
    let slow = ops.time_future("fetch", async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<(), ()>(())
    });
    let timed_out = tokio::time::timeout(Duration::from_millis(50), async {
        let mut slow = std::pin::pin!(slow);
        tokio::select! {
            _ = &mut slow => unreachable!(),
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        let m = parse(&t.render_metrics());
        assert_eq!(
            value(&m, "redline_operations_active", &[("operation", "fetch")]),
            Some(1.0)
        );
        slow.await
    })
    .await;
    assert!(timed_out.is_err());
    assert_eq!(count(&t, "fetch", "cancelled"), Some(1.0));
    let m = parse(&t.render_metrics());
    assert_eq!(
        value(&m, "redline_operations_active", &[("operation", "fetch")]),
        Some(0.0)
    );

    // A future never polled records nothing.
    drop(ops.time_future("never", async { true }));
    assert_eq!(count(&t, "never", "cancelled"), None);

    // Manual guards.
    let guard = ops.operation("step").start();
    guard.finish(Outcome::Error);
    drop(ops.operation("step").start());
    assert_eq!(count(&t, "step", "error"), Some(1.0));
    assert_eq!(count(&t, "step", "cancelled"), Some(1.0));
}

#[test]
fn operation_names_are_capped() {
    let t = telemetry(10);
    let ops = t.operations();
    for i in 0..100 {
        let _ = ops.time(&format!("user-supplied-{i}"), || Ok::<(), ()>(()));
    }
    let m = parse(&t.render_metrics());
    assert_eq!(
        count_series(&m, "redline_operation_duration_seconds_count"),
        11
    );
    assert_eq!(count(&t, "_OVERFLOW", "success"), Some(90.0));
    assert_eq!(
        value(
            &m,
            "redline_metric_overflow_total",
            &[("metric", "redline_operation_duration_seconds")]
        ),
        Some(90.0)
    );
}
