//! Bearer-token checks for admin endpoints, by role.
//!
//! The token sent is hashed (SHA-256) and compared in constant time
//! (`subtle`) with the digest of every principal in force, without stopping
//! at a match, so response timing reveals neither how much of a guess was
//! right nor which principal it matched. Without any principal configured,
//! protected endpoints refuse every call with 403 and say how to configure
//! one. What each outcome answers and records is in the module table of
//! [`crate::admin`]; events carry the caller's address and the principal's
//! name, never what was sent.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::{Choice, ConditionallySelectable};

use super::Role;
use super::state::AdminState;
use crate::admin::AdminToken;
use crate::logs::SecurityEvent;

/// What a request's credentials amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// A principal in force: its name and role; with the CSRF token its
    /// changes must carry when the credential was a session cookie.
    Granted {
        name: String,
        role: Role,
        csrf: Option<String>,
    },
    /// A principal's token, past its expiry.
    Expired,
    /// No principal is configured on this service.
    NotConfigured,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that is no principal's.
    Wrong,
}

/// The bearer token of `headers`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim_start())
        })
}

pub(super) fn verdict(state: &AdminState, headers: &HeaderMap) -> Verdict {
    let principals = state.principals.snapshot();
    if principals.is_empty() {
        return Verdict::NotConfigured;
    }
    if let Some(sent) = bearer(headers) {
        return match principal_of(&principals, sent) {
            Ok(p) => Verdict::Granted {
                name: p.name().to_owned(),
                role: p.role(),
                csrf: None,
            },
            Err(v) => v,
        };
    }
    // No bearer header: a status page session, if any.
    let session = state
        .status
        .as_ref()
        .zip(super::status::session::cookie(headers));
    match session.map(|(status, id)| status.sessions.lookup(id, &principals)) {
        Some(super::status::session::Lookup::Granted(g)) => Verdict::Granted {
            name: g.principal,
            role: g.role,
            csrf: Some(g.csrf),
        },
        Some(_) => Verdict::Expired,
        None => Verdict::Missing,
    }
}

/// The principal whose token is `sent`: every digest is compared, the
/// match selected without a branch. `Err` is [`Verdict::Wrong`] or
/// [`Verdict::Expired`].
pub(super) fn principal_of<'a>(
    principals: &'a [super::Principal],
    sent: &str,
) -> Result<&'a super::Principal, Verdict> {
    let digest = AdminToken::digest_of(sent);
    let mut found = Choice::from(0);
    let mut index = 0u32;
    for (i, p) in principals.iter().enumerate() {
        let same = p.token().matches(&digest);
        index = u32::conditional_select(&index, &u32::try_from(i).unwrap_or(u32::MAX), same);
        found |= same;
    }
    let matched = usize::try_from(index)
        .ok()
        .and_then(|i| principals.get(i))
        .filter(|_| bool::from(found));
    match matched {
        None => Err(Verdict::Wrong),
        Some(p) if p.is_expired(std::time::SystemTime::now()) => Err(Verdict::Expired),
        Some(p) => Ok(p),
    }
}

/// The caller's address, when the server provides it.
pub(super) fn source(request_extensions: &axum::http::Extensions) -> String {
    request_extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

/// `METHOD /template` of a request (the route template, not the raw path,
/// when the router matched one).
pub(super) fn route(request: &Request) -> String {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    format!("{} {path}", request.method())
}

/// Records a refused credential and builds the answer. `what` is the
/// route.
pub(super) fn refuse(state: &AdminState, verdict: &Verdict, source: &str, what: &str) -> Response {
    const INVALID: &str = "expired or invalid admin credential\n";
    let invalid_token = [(header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)];
    match verdict {
        Verdict::NotConfigured => {
            state
                .security
                .record(SecurityEvent::AuthzFail, source, what);
            (
                StatusCode::FORBIDDEN,
                "this endpoint needs an admin credential: set REDLINE_ADMIN_TOKEN (or REDLINE_ADMIN_TOKEN_FILE), or REDLINE_ADMIN_PRINCIPALS_FILE for named principals with roles, and send the token as `Authorization: Bearer <token>`\n",
            )
                .into_response()
        }
        Verdict::Granted { name, role, .. } => {
            state.security.record_lazy(SecurityEvent::AuthzFail, || {
                (source, format!("{what} refused to {name} (role {role})"))
            });
            (
                StatusCode::FORBIDDEN,
                "this admin credential's role does not allow this endpoint\n",
            )
                .into_response()
        }
        Verdict::Expired => {
            state
                .security
                .record(SecurityEvent::AuthnTokenInvalid, source, what);
            (StatusCode::UNAUTHORIZED, invalid_token, INVALID).into_response()
        }
        Verdict::Wrong => {
            state
                .security
                .record(SecurityEvent::AuthnLoginFail, source, what);
            (StatusCode::UNAUTHORIZED, invalid_token, INVALID).into_response()
        }
        Verdict::Missing => {
            state
                .security
                .record(SecurityEvent::AuthnLoginFail, source, what);
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing admin credential: send `Authorization: Bearer <token>`\n",
            )
                .into_response()
        }
    }
}

/// Middleware: lets the request through only for a principal with the
/// role `needed` or above; audits each change of state it lets through
/// (`authz_admin`, after the handler ran, with its status).
pub(super) async fn require_role(
    State((state, needed)): State<(AdminState, Role)>,
    mut request: Request,
    next: Next,
) -> Response {
    let verdict = verdict(&state, request.headers());
    let source = source(request.extensions());
    let what = route(&request);
    match verdict {
        Verdict::Granted { name, role, csrf } if role.allows(needed) => {
            let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
            // A change authenticated by the page's cookie must carry the
            // session's CSRF token (a bearer header cannot be forged by
            // another site, a cookie can be sent by one).
            if changes
                && let Some(expected) = &csrf
                && !super::status::session::csrf_sent(expected, request.headers())
            {
                state.security.record_lazy(SecurityEvent::AuthzFail, || {
                    (
                        source,
                        format!("{what} refused to {name}: no valid CSRF token"),
                    )
                });
                return super::status::json_error(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this change needs the X-CSRF-Token of the session: reload the page",
                );
            }
            // Handlers that show who called (`/status/data`) read it here
            // instead of checking the credential again.
            request.extensions_mut().insert(Verdict::Granted {
                name: name.clone(),
                role,
                csrf,
            });
            let response = next.run(request).await;
            if changes {
                state.security.record_admin_action(
                    &source,
                    &name,
                    &what,
                    response.status().as_u16(),
                );
            }
            response
        }
        v => refuse(&state, &v, &source, &what),
    }
}
