//! Bearer-token checks for admin endpoints.
//!
//! The token comes from `REDLINE_ADMIN_TOKEN` (or `REDLINE_ADMIN_TOKEN_FILE`)
//! and is compared in constant time (`subtle`), so response timing does not
//! reveal how much of a guess was right. Without a token configured,
//! protected endpoints refuse every call with 403 and say how to set one.
//! A missing or wrong token answers 401, records `authn_login_fail` with the
//! caller's address (never what was sent), and is counted in
//! `redline_security_events_total`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::state::AdminState;
use crate::logs::SecurityEvent;

/// What a request's credentials amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The right token.
    Granted,
    /// No token is configured on this service.
    NotConfigured,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that does not match.
    Wrong,
}

pub(super) fn verdict(state: &AdminState, headers: &HeaderMap) -> Verdict {
    let Some(token) = state.admin_token.as_ref() else {
        return Verdict::NotConfigured;
    };
    let Some(sent) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim_start())
        })
    else {
        return Verdict::Missing;
    };
    // `ct_eq` on slices of different lengths returns false without
    // comparing; the length of the configured token is not a secret worth
    // hiding (it is fixed by configuration).
    if bool::from(sent.as_bytes().ct_eq(token.expose().as_bytes())) {
        Verdict::Granted
    } else {
        Verdict::Wrong
    }
}

/// The caller's address, when the server provides it.
pub(super) fn source(request_extensions: &axum::http::Extensions) -> String {
    request_extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// Records a refused credential and builds the answer.
pub(super) fn refuse(state: &AdminState, verdict: Verdict, source: &str, what: &str) -> Response {
    match verdict {
        Verdict::NotConfigured => {
            state
                .security
                .record(SecurityEvent::AuthzFail, source, what);
            (
                StatusCode::FORBIDDEN,
                "this endpoint needs an admin token: set REDLINE_ADMIN_TOKEN (or REDLINE_ADMIN_TOKEN_FILE) and send it as `Authorization: Bearer <token>`\n",
            )
                .into_response()
        }
        _ => {
            state
                .security
                .record(SecurityEvent::AuthnLoginFail, source, what);
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong admin token\n",
            )
                .into_response()
        }
    }
}

/// Middleware: lets the request through only with the admin token.
pub(super) async fn require_token(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    match verdict(&state, request.headers()) {
        Verdict::Granted => next.run(request).await,
        v => {
            let what = format!("{} {}", request.method(), request.uri().path());
            refuse(&state, v, &source(request.extensions()), &what)
        }
    }
}
