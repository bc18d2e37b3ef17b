//! Metric building blocks: bounded label sets, sharded series, the operation
//! timer, process/system/build collectors, and the Prometheus exposition.

pub(crate) mod build_info;
pub(crate) mod exposition;
pub(crate) mod family;
pub(crate) mod operation;
pub(crate) mod proto;
pub(crate) mod sharded;
pub(crate) mod system;

pub use build_info::BuildInfo;
pub use exposition::{PROMETHEUS_TEXT_CONTENT_TYPE, encode_text, render_text};
pub use operation::{
    DEFAULT_OPERATION_BUCKETS, IntoOutcome, Operation, OperationGuard, OperationTimer, Outcome,
    Timed,
};

/// Name of the counter of observations folded into overflow series.
pub const OVERFLOW_METRIC: &str = "redline_metric_overflow_total";
