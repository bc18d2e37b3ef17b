//! Security utilities. So far: HTTP hardening ([`hardening`]: request ids,
//! security headers, body limit, timeout, CORS allow-list) and the admin
//! token (see [`crate::admin`]).

pub mod hardening;

pub use hardening::{HardeningConfig, harden, limit};
