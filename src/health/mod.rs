//! Health checks and the service lifecycle behind `/health`, `/ready` and
//! `/alive`.
//!
//! - A [`HealthRegistry`] of named async checks, each counting for
//!   liveness, readiness or both, critical or not, with a timeout and a
//!   result cache (a probe storm runs a check once per cache interval).
//!   Checks run concurrently; a hanging one is reported failed at its
//!   timeout and never delays the answer beyond it.
//! - Built-in checks in [`checks`]: process memory, CPU saturation, free
//!   disk space, TCP connect, HTTP GET.
//! - Lifecycle: not ready until registered startup work is done
//!   ([`HealthRegistry::startup_task`]); on shutdown, readiness fails first
//!   ([`HealthRegistry::begin_drain`]) while liveness stays up.
//! - `/health` answers in the IETF health draft's `application/health+json`
//!   format ([`HEALTH_JSON_CONTENT_TYPE`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use redline::health::{CheckOptions, CheckResult, Status};
//! let telemetry = redline::Telemetry::builder().build().unwrap();
//! telemetry.health().register("db:connection", CheckOptions::readiness(), || async {
//!     CheckResult::pass().observed(3.2, "ms")
//! });
//! assert_eq!(telemetry.health().readiness().await.status, Status::Pass);
//! # });
//! ```

mod check;
pub mod checks;
mod document;
mod registry;

pub use check::{CheckFuture, CheckOptions, CheckOutcome, CheckResult, HealthCheck, Probe, Status};
pub use document::HEALTH_JSON_CONTENT_TYPE;
pub(crate) use document::render;
pub use registry::{HealthRegistry, HealthReport, StartupGuard};
