//! Security utilities: HTTP hardening ([`hardening`]: request ids,
//! security headers, body limit, timeout, CORS allow-list), rate limiting
//! per client and route ([`RateLimitConfig`], applied by
//! [`crate::Telemetry::instrument`]), input validation ([`input`]: JSON
//! bodies within size and depth limits, typed 400/413/415/422 errors,
//! `input_validation_fail` events), and the admin token (see
//! [`crate::admin`]). Masking of secrets and personal data is in
//! [`crate::redact`].

pub mod hardening;
pub mod input;
pub(crate) mod rate_limit;

pub use input::{
    InputError, InputRejection, InputReporter, JsonLimits, ValidJson, json_too_deep, parse_json,
};

pub use hardening::{HardeningConfig, harden, limit};
pub use rate_limit::{RateKey, RateLimitConfig, RateQuota};
