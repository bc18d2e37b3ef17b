//! Metric building blocks: bounded label sets, sharded series, the operation
//! timer, process/system/build collectors, and the Prometheus exposition.

pub(crate) mod build_info;
pub(crate) mod cache;
#[cfg(feature = "system")]
mod cgroup;
pub(crate) mod exemplar;
pub(crate) mod exposition;
pub(crate) mod family;
pub(crate) mod openmetrics;
pub(crate) mod operation;
#[cfg(all(feature = "system", target_os = "linux"))]
pub(crate) mod process;
pub(crate) mod proto;
pub(crate) mod sharded;
pub(crate) mod slo;
#[cfg(feature = "system")]
pub(crate) mod system;
// Lock-free insert-only map: the invariants that make its `unsafe` sound are
// in its module docs.
#[allow(unsafe_code)]
pub(crate) mod table;

pub use build_info::{BuildInfo, REDLINE_VERSION};
pub use cache::{Cache, CacheMetrics, MAX_CACHES};
pub use exemplar::{Exemplar, Exemplars};
pub use exposition::{PROMETHEUS_TEXT_CONTENT_TYPE, encode_text, render_text};
pub use openmetrics::{ExpositionFormat, OPENMETRICS_CONTENT_TYPE, encode_openmetrics};
pub use operation::{
    DEFAULT_OPERATION_BUCKETS, IntoOutcome, Operation, OperationGuard, OperationTimer, Outcome,
    Timed,
};
pub use slo::{DEFAULT_LATENCY_TARGET, DEFAULT_LATENCY_THRESHOLD_SECONDS, SloConfig};

/// Name of the counter of observations folded into overflow series.
///
/// ```
/// let config = redline::Config { max_series_per_metric: 1, admin_listen: None, ..Default::default() };
/// let t = redline::Telemetry::builder().config(config).build().unwrap();
/// t.operations().time("first", || ());
/// t.operations().time("second", || ()); // over the cap: folded
/// let text = t.render_metrics();
/// assert!(text.contains(redline::metrics::OVERFLOW_METRIC));
/// assert!(text.contains(r#"operation="_OVERFLOW""#));
/// ```
pub const OVERFLOW_METRIC: &str = "redline_metric_overflow_total";
