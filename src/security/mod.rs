//! Security utilities. So far: HTTP hardening ([`hardening`]: request ids,
//! security headers, body limit, timeout, CORS allow-list), rate limiting
//! per client and route ([`RateLimitConfig`], applied by
//! [`crate::Telemetry::instrument`]), and the admin token (see
//! [`crate::admin`]).

pub mod hardening;
pub(crate) mod rate_limit;

pub use hardening::{HardeningConfig, harden, limit};
pub use rate_limit::{RateKey, RateLimitConfig, RateQuota};
