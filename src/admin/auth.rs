//! Bearer-token check for admin endpoints that change things.
//!
//! The token comes from `REDLINE_ADMIN_TOKEN` and is compared in constant
//! time (`subtle`), so response timing does not reveal how much of a guess
//! was right. Without a token configured, such endpoints refuse every call
//! with 403 and say how to set one. A failure answers 401 and never echoes
//! what was sent.

use axum::http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

/// `Ok` when `headers` carry `Authorization: Bearer <token>` matching the
/// configured token; else the status and message to answer with.
pub(super) fn check(
    configured: Option<&crate::config::AdminToken>,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, &'static str)> {
    let Some(token) = configured else {
        return Err((
            StatusCode::FORBIDDEN,
            "this endpoint needs an admin token: set REDLINE_ADMIN_TOKEN and send it as `Authorization: Bearer <token>`\n",
        ));
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(sent.as_bytes().ct_eq(token.expose().as_bytes())) && !sent.is_empty() {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "missing or wrong admin token\n"))
    }
}
