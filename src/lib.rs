//! # redline
//!
//! Observability for Rust services in a few lines: a tower layer that records
//! the OpenTelemetry HTTP server metrics, a timer for non-HTTP operations,
//! process/system/build metrics, and a Prometheus `/metrics` endpoint, all
//! with bounded label cardinality.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use axum::{Router, routing::get};
//!
//! let telemetry = redline::Telemetry::builder()
//!     .config(redline::Config::from_env()?)                  // OTEL_* and REDLINE_* variables
//!     .build_info(redline::build_info!())                    // your crate's version and name
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "user" }))
//!     .layer(telemetry.http_layer());                        // latency, sizes, in-flight
//! let greeting = telemetry.operations().time("greet", || Ok::<_, ()>("hi"));
//! let text = telemetry.render_metrics();                     // what GET /metrics serves
//! assert!(text.contains(r#"redline_operation_duration_seconds_count{operation="greet",outcome="success"} 1"#));
//! # let _ = (app, greeting);
//! # Ok::<(), redline::Error>(())
//! # }).unwrap();
//! ```
//!
//! ## Features
//!
//! All on by default; `default-features = false` keeps the core (the HTTP
//! layer, metrics and exposition, the operation timer, health, admin,
//! logging, hardening, trace context without export). A setting whose
//! feature is left out is refused at start, never ignored.
//!
//! | feature | adds |
//! |---|---|
//! | `otlp-grpc` | span export over OTLP/gRPC (tonic) |
//! | `otlp-http` | span export over OTLP/HTTP with protobuf bodies (reqwest) |
//! | `rate-limit` | rate limits per client and route (governor) |
//! | `system` | `process_*` and `redline_system_*` metrics; memory, CPU and disk checks (sysinfo) |
//! | `config-file` | settings from a TOML file (`REDLINE_CONFIG_FILE`) |
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// `unsafe` is allowed in two places only, each saying why: the lock-free
// series table (`metrics::table`) and the forwarding of
// `Layer::downcast_raw` (`logs::layer`).
#![deny(unsafe_code)]
#![deny(unreachable_pub)]
#![warn(
    rust_2018_idioms,
    missing_debug_implementations,
    clippy::dbg_macro,
    clippy::todo,
    clippy::unimplemented,
    clippy::mem_forget,
    clippy::print_stdout
)]

pub mod admin;
pub mod config;
pub mod errors;
pub(crate) mod headers;
pub mod health;
pub mod http;
mod leak;
pub mod logs;
pub mod metrics;
mod parse;
pub mod redact;
pub mod security;
pub mod server;
mod settings;
pub mod status;
mod telemetry;
mod text;
mod timefmt;
pub mod tls;
pub mod traces;

pub use config::{Config, UrlScheme};
pub use parse::{ConfigError, UnknownVariable};

/// The README's Rust examples, compiled as doctests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The Rust examples of `docs/OPERATIONS.md`, compiled as doctests.
#[doc = include_str!("../docs/OPERATIONS.md")]
#[cfg(doctest)]
pub struct OperationsDocDoctests;

/// The Rust examples of `docs/TRACING.md`, compiled as doctests.
#[doc = include_str!("../docs/TRACING.md")]
#[cfg(doctest)]
pub struct TracingDocDoctests;
pub use metrics::{BuildInfo, IntoOutcome, Operation, OperationTimer, Outcome, REDLINE_VERSION};
pub use server::{Server, shutdown_signal};
pub use telemetry::{Error, RegistryError, ShutdownGuard, Telemetry, TelemetryBuilder};
