//! The admin router. Every endpoint is listed once, with who may call it,
//! in [`ROUTES`]; the router is built from that table, so an endpoint
//! cannot be added without an access decision (and the table-driven test
//! in `demo/tests/admin_auth.rs` covers each one with each role).
//!
//! | endpoint | answer | access |
//! |---|---|---|
//! | `GET /metrics` | Prometheus text, or OpenMetrics with exemplars when `Accept` asks for it | public, or [`Role::Viewer`] with `REDLINE_METRICS_AUTH=true` (Prometheus sends `authorization` bearer tokens) |
//! | `GET /health` | the overall status; for a viewer, every check in `application/health+json` | status public, details need [`Role::Viewer`] |
//! | `GET /ready` | readiness: 200 `ready` / 503 `not ready` | public (probes) |
//! | `GET /alive` | liveness: 200 `alive` / 503 `not alive` | public (probes) |
//! | `GET /info` | service, build and process facts as JSON | [`Role::Viewer`] |
//! | `GET /errors/report` | error groups by count and by recency, totals, rate | [`Role::Viewer`] |
//! | `GET /logs/info` | log statistics and settings | [`Role::Viewer`] |
//! | `PUT /logs/level` | new log filter as the body | [`Role::Operator`] |
//! | `GET /` | a list of these endpoints | public |
//! | `GET /status` (and its `app.js`, `app.css`) | the live status page: no data in it, it logs in and polls `/status/data` | public |
//! | `GET /status/session` | whether the caller has a session: the page's first question | public |
//! | `GET /status/data` | what the page shows, as JSON | [`Role::Viewer`], or public with `REDLINE_STATUS_PUBLIC=true` |
//! | `POST /status/login` | form `token=…`: a session cookie for the page | public (failures are events, throttled per address) |
//! | `POST /status/logout` | ends the page's session | public (a session needs its CSRF token) |
//! | `PUT /status/panel` | changes a field of the application's [`StatusPanel`](crate::status::StatusPanel) | [`Role::Operator`] |
//!
//! Routes added with [`Telemetry::serve_admin_with`](crate::Telemetry::serve_admin_with)
//! (the demo's `/faults`) need [`Role::Operator`].
//!
//! Callers are [`Principal`]s: named credentials, each with a [`Role`] and
//! an optional expiry, from the file named by
//! `REDLINE_ADMIN_PRINCIPALS_FILE` (re-read while the service runs; see
//! [`PrincipalsFile`]), and `REDLINE_ADMIN_TOKEN` (or the file named by
//! `REDLINE_ADMIN_TOKEN_FILE`), the operator `admin-token`. A token is sent
//! as `Authorization: Bearer <token>` (or, for the status page, exchanged
//! for a session cookie at `POST /status/login`; see `status/session.rs`), hashed (SHA-256) and compared in
//! constant time with every principal's digest; tokens are never kept in
//! clear. The answers:
//!
//! | credential | answer | security event |
//! |---|---|---|
//! | a principal with the role needed | the endpoint's | `authz_admin` after any change of state (not `GET`/`HEAD`): principal, route, status |
//! | a principal whose role is too low | 403 | `authz_fail` |
//! | an expired principal's | 401, `WWW-Authenticate: Bearer error="invalid_token"` | `authn_token_invalid` |
//! | an unknown token | 401, the same answer | `authn_login_fail` |
//! | none | 401, `WWW-Authenticate: Bearer` | `authn_login_fail` |
//! | any, while no principal is configured | 403, saying how to configure one | `authz_fail` |
//!
//! Expiry is checked at each request, so a principal expiring while the
//! service runs is refused from that moment. Events carry the caller's
//! address and the principal's name, never a token.
//!
//! Serve the router on its own listener with
//! [`Telemetry::serve_admin`](crate::Telemetry::serve_admin), or merge it
//! into the application's router.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};

mod auth;
mod health;
mod info;
mod logs;
pub(crate) mod principals;
mod state;
pub(crate) mod status;
mod token;

pub use principals::{ADMIN_TOKEN_PRINCIPAL, Principal, PrincipalsFile, Role};
pub(crate) use state::{AdminParts, AdminState};
pub use token::AdminToken;

/// Who may call an admin endpoint.
///
/// ```
/// use redline::admin::{Access, ROUTES, Role};
/// assert!(ROUTES.iter().any(|r| r.path == "/ready" && r.access == Access::Public));
/// assert!(ROUTES.iter().any(|r| r.path == "/logs/level" && r.access == Access::Role(Role::Operator)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (probes).
    Public,
    /// Anyone gets the summary; a [`Role::Viewer`] or above gets the
    /// details (`/health`).
    PublicSummary,
    /// Public unless `REDLINE_METRICS_AUTH=true`, then [`Role::Viewer`]
    /// (`/metrics`).
    Metrics,
    /// [`Role::Viewer`] unless `REDLINE_STATUS_PUBLIC=true`, then anyone
    /// (`/status/data`).
    Status,
    /// Only a principal with this role or a higher one.
    Role(Role),
}

impl Access {
    /// The role a caller needs for the whole answer, given
    /// `REDLINE_METRICS_AUTH`; `None` when anyone gets it.
    ///
    /// ```
    /// use redline::admin::{Access, Role};
    /// assert_eq!(Access::Metrics.needs(false), None);
    /// assert_eq!(Access::Metrics.needs(true), Some(Role::Viewer));
    /// assert_eq!(Access::PublicSummary.needs(false), Some(Role::Viewer));
    /// assert_eq!(Access::Role(Role::Operator).needs(false), Some(Role::Operator));
    /// assert_eq!(Access::Status.needs(false), Some(Role::Viewer)); // unless REDLINE_STATUS_PUBLIC
    /// ```
    pub fn needs(self, metrics_auth: bool) -> Option<Role> {
        match self {
            Access::Public => None,
            Access::Metrics => metrics_auth.then_some(Role::Viewer),
            Access::PublicSummary | Access::Status => Some(Role::Viewer),
            Access::Role(role) => Some(role),
        }
    }
}

/// One admin endpoint.
///
/// ```
/// let r = &redline::admin::ROUTES[0];
/// assert!(r.path.starts_with('/'));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRoute {
    /// The HTTP method.
    pub method: &'static str,
    /// The path.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// Every endpoint of the admin router, with its access rule.
///
/// ```
/// assert!(redline::admin::ROUTES.iter().all(|r| ["GET", "PUT", "POST"].contains(&r.method)));
/// ```
pub const ROUTES: [AdminRoute; 17] = [
    AdminRoute {
        method: "GET",
        path: "/metrics",
        access: Access::Metrics,
    },
    AdminRoute {
        method: "GET",
        path: "/health",
        access: Access::PublicSummary,
    },
    AdminRoute {
        method: "GET",
        path: "/ready",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/alive",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/info",
        access: Access::Role(Role::Viewer),
    },
    AdminRoute {
        method: "GET",
        path: "/errors/report",
        access: Access::Role(Role::Viewer),
    },
    AdminRoute {
        method: "GET",
        path: "/logs/info",
        access: Access::Role(Role::Viewer),
    },
    AdminRoute {
        method: "PUT",
        path: "/logs/level",
        access: Access::Role(Role::Operator),
    },
    AdminRoute {
        method: "GET",
        path: "/",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/status",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/status/app.js",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/status/app.css",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/status/session",
        access: Access::Public,
    },
    AdminRoute {
        method: "GET",
        path: "/status/data",
        access: Access::Status,
    },
    AdminRoute {
        method: "POST",
        path: "/status/login",
        access: Access::Public,
    },
    AdminRoute {
        method: "POST",
        path: "/status/logout",
        access: Access::Public,
    },
    AdminRoute {
        method: "PUT",
        path: "/status/panel",
        access: Access::Role(Role::Operator),
    },
];

/// The handler of a route in [`ROUTES`].
fn handler(route: &AdminRoute) -> MethodRouter<AdminState> {
    match (route.method, route.path) {
        ("GET", "/metrics") => get(metrics),
        ("GET", "/health") => get(health::health),
        ("GET", "/ready") => get(health::ready),
        ("GET", "/alive") => get(health::alive),
        ("GET", "/info") => get(info::info),
        ("GET", "/errors/report") => get(errors_report),
        ("GET", "/logs/info") => get(logs::info),
        ("PUT", "/logs/level") => put(logs::set_level),
        ("GET", "/") => get(status::index),
        ("GET", "/status") => get(status::page),
        ("GET", "/status/app.js") => get(status::script),
        ("GET", "/status/app.css") => get(status::style),
        ("GET", "/status/session") => get(status::session),
        ("GET", "/status/data") => get(status::data),
        ("POST", "/status/login") => post(status::login),
        ("POST", "/status/logout") => post(status::logout),
        ("PUT", "/status/panel") => put(status::panel),
        // A row without a handler is a programming error caught by every
        // test that builds the router.
        (m, p) => unreachable!("admin route {m} {p} has no handler"),
    }
}

/// Builds the admin router over `state` (what `Telemetry::admin_router`
/// returns).
pub(crate) fn router(state: &AdminState) -> Router {
    let mut router = Router::new();
    for route in &ROUTES {
        // `REDLINE_STATUS_PAGE=false`: no page, no login.
        if route.path.starts_with("/status") && state.status.is_none() {
            continue;
        }
        let mut h = handler(route);
        let needs = match route.access {
            // `/health` checks the credential itself: its summary is public.
            Access::PublicSummary => None,
            Access::Status if state.status.as_ref().is_some_and(|s| s.config.public) => None,
            access => access.needs(state.metrics_auth),
        };
        if let Some(role) = needs {
            h = h.route_layer(axum::middleware::from_fn_with_state(
                (state.clone(), role),
                auth::require_role,
            ));
        }
        router = router.route(route.path, h);
    }
    crate::security::hardening::harden_admin(router.with_state(state.clone()))
}

/// `extra` with every route behind [`Role::Operator`] (for routes merged
/// into the admin listener).
pub(crate) fn protect(state: &AdminState, extra: Router) -> Router {
    if !extra.has_routes() {
        return extra;
    }
    extra.route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), Role::Operator),
        auth::require_role,
    ))
}

async fn errors_report(State(state): State<AdminState>) -> axum::Json<crate::errors::ErrorReport> {
    axum::Json(state.errors.report())
}

async fn metrics(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Rendering walks every series: keep it off the async workers.
    let rendered =
        tokio::task::spawn_blocking(move || (state.render_metrics)(accept.as_deref())).await;
    match rendered {
        Ok((text, content_type)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            text,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "metrics rendering failed\n",
        )
            .into_response(),
    }
}
