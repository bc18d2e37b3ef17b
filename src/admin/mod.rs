//! The admin router. Every endpoint is listed once, with who may call it,
//! in [`ROUTES`]; the router is built from that table, so an endpoint
//! cannot be added without an access decision (and the table-driven test
//! in `tests/admin_auth.rs` covers each one).
//!
//! | endpoint | answer | access |
//! |---|---|---|
//! | `GET /metrics` | Prometheus text, or OpenMetrics with exemplars when `Accept` asks for it | public, or token with `REDLINE_METRICS_AUTH=true` (Prometheus sends `authorization` bearer tokens) |
//! | `GET /health` | the overall status; with the token, every check in `application/health+json` | status public, details need the token |
//! | `GET /ready` | readiness: 200 `ready` / 503 `not ready` | public (probes) |
//! | `GET /alive` | liveness: 200 `alive` / 503 `not alive` | public (probes) |
//! | `GET /info` | service, build and process facts as JSON | token |
//! | `GET /errors/report` | error groups by count and by recency, totals, rate | token |
//! | `GET /logs/info` | log statistics and settings | token |
//! | `PUT /logs/level` | new log filter as the body | token |
//!
//! Routes added with [`Telemetry::serve_admin_with`](crate::Telemetry::serve_admin_with)
//! (the demo's `/faults`) need the token too. The token is
//! `REDLINE_ADMIN_TOKEN` (or the file named by `REDLINE_ADMIN_TOKEN_FILE`),
//! sent as `Authorization: Bearer <token>` and compared in constant time.
//! Without a configured token, protected endpoints answer 403 and say how to
//! set one; a wrong or missing token answers 401 and records
//! `authn_login_fail` (with the caller's address, never the token).
//!
//! Serve the router on its own listener with
//! [`Telemetry::serve_admin`](crate::Telemetry::serve_admin), or merge it
//! into the application's router.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, put};

mod auth;
mod health;
mod info;
mod logs;
mod state;

pub(crate) use state::{AdminParts, AdminState};

/// Who may call an admin endpoint.
///
/// ```
/// use redline::admin::{Access, ROUTES};
/// assert!(ROUTES.iter().any(|r| r.path == "/ready" && r.access == Access::Public));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (probes).
    Public,
    /// Anyone gets the summary; the token gets the details (`/health`).
    PublicSummary,
    /// Public unless `REDLINE_METRICS_AUTH=true` (`/metrics`).
    Metrics,
    /// Only with the admin token.
    Token,
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
/// assert!(redline::admin::ROUTES.iter().all(|r| r.method == "GET" || r.method == "PUT"));
/// ```
pub const ROUTES: [AdminRoute; 8] = [
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
        access: Access::Token,
    },
    AdminRoute {
        method: "GET",
        path: "/errors/report",
        access: Access::Token,
    },
    AdminRoute {
        method: "GET",
        path: "/logs/info",
        access: Access::Token,
    },
    AdminRoute {
        method: "PUT",
        path: "/logs/level",
        access: Access::Token,
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
        let mut h = handler(route);
        let protected = match route.access {
            Access::Token => true,
            Access::Metrics => state.metrics_auth,
            Access::Public | Access::PublicSummary => false,
        };
        if protected {
            h = h.route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            ));
        }
        router = router.route(route.path, h);
    }
    crate::security::hardening::harden_admin(router.with_state(state.clone()))
}

/// `extra` with every route behind the admin token (for routes merged into
/// the admin listener).
pub(crate) fn protect(state: &AdminState, extra: Router) -> Router {
    if !extra.has_routes() {
        return extra;
    }
    extra.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
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
