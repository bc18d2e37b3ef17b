//! OTLP log export (`OTEL_LOGS_EXPORTER=otlp`): the events redline's
//! logging layer writes as JSON lines are also exported, over OTLP/gRPC or
//! OTLP/HTTP with protobuf (features `otlp-grpc`, `otlp-http`), as OTLP log
//! records carrying the same redacted content.
//!
//! ```no_run
//! // OTEL_LOGS_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317
//! let telemetry = redline::Telemetry::from_env().unwrap();
//! telemetry.install_logging().unwrap(); // JSON lines, and OTLP log records
//! tracing::info!(user = 7, "signed in");
//! telemetry.flush_logs(); // at shutdown: writes and exports what is pending
//! ```
//!
//! Each event that passes redline's log filter becomes one record, made
//! from its JSON line (see [`JsonLines`](crate::logs::JsonLines)) after
//! the redactor has masked it: timestamp, severity (number and text from
//! the level), body (the message), attributes (the event's fields,
//! `target`, `request_id`, and the innermost span's name and fields as
//! `span.name`, `span.<field>`), and the trace and span ids of the line.
//! One formatting, one redaction: a record never carries what its line
//! does not.
//!
//! Why not `opentelemetry-appender-tracing`: it records the event's fields
//! as they are, so secrets and personal data the JSON lines mask would
//! reach the collector unmasked; and it would be a second filter and a
//! second idea of what an event carries.
//!
//! The pipeline is the SDK's (`SdkLoggerProvider`, its batch log
//! processor, `opentelemetry_otlp::LogExporter`), bounded and non-blocking
//! like the span pipeline: a request thread only formats its line and
//! hands the record to a bounded queue; a full queue drops the record and
//! counts it (`redline_log_records_dropped_total{reason="queue_full"}`), a
//! failed export request counts its records (`export_failed`) and the
//! request (`redline_log_export_errors_total`), and records still queued
//! when shutdown gives up, or logged after it, count as `shutdown`. Logs
//! and traces share one OpenTelemetry resource.
//!
//! What the pipeline's own threads log (a transport's debug output while
//! it exports) goes to the JSON lines only, so an export never makes
//! records to export.

mod config;
mod export;
#[cfg(feature = "otlp-logs")]
mod exporter;
#[cfg(feature = "otlp-logs")]
mod pipeline;
#[cfg(feature = "otlp-logs")]
mod record;
mod sink;

pub use config::{LogExportConfig, LogsExporter};
pub use export::{LogExport, LogExportError};
pub(crate) use sink::{Lines, LogSink};

/// The name of the exporter runtime's threads.
#[cfg(feature = "otlp-logs")]
const RUNTIME_THREAD: &str = "redline-otlp-logs";
