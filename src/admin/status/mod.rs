//! The live status page on the admin listener: the page and its assets
//! (compiled in, no external host), its JSON (`/status/data`), the login
//! that turns an admin token into a session cookie, and the operator
//! panel. What the page shows is measured by [`crate::status`].
//!
//! | route | answer | access |
//! |---|---|---|
//! | `GET /status`, `/status/app.js`, `/status/app.css` | the page (no data in it) | public |
//! | `GET /status/session` | `{"authenticated", "public"}`: whether to show the login form | public |
//! | `GET /status/data` | the JSON the page draws | viewer (session or bearer), public with `REDLINE_STATUS_PUBLIC=true` |
//! | `POST /status/login` | form `token=…` → session cookie | public; failures are `authn_login_fail`, throttled per address |
//! | `POST /status/logout` | ends the session, clears the cookie | the session's CSRF token |
//! | `PUT /status/panel` | `{"name", "value"}` → the application's [`StatusPanel`](crate::status::StatusPanel) | operator, CSRF token with a session |

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::state::AdminState;
use crate::status::StatusConfig;
use crate::status::history::History;
use crate::status::recent::RecentRequests;

mod data;
mod login;
pub(crate) mod session;

pub(super) use data::{data, session};
pub(super) use login::{login, logout};

/// The header a change made from the page carries its CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

const PAGE: &str = include_str!("../../status/assets/status.html");
const SCRIPT: &str = include_str!("../../status/assets/app.js");
const STYLE: &str = include_str!("../../status/assets/app.css");

/// What the page may load: its own script, style and data, nothing else.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The status page's part of the admin state.
#[derive(Clone)]
pub(crate) struct StatusState {
    pub(crate) config: StatusConfig,
    pub(crate) history: History,
    pub(crate) recent: &'static RecentRequests,
    pub(crate) sessions: Arc<session::Sessions>,
    pub(crate) panel: Option<Arc<dyn crate::status::StatusPanel>>,
    /// Failed logins per address.
    pub(crate) throttle: Arc<login::Throttle>,
    /// The admin listener speaks TLS: cookies are `Secure`.
    pub(crate) secure: bool,
}

impl StatusState {
    pub(crate) fn new(
        config: StatusConfig,
        history: History,
        recent: &'static RecentRequests,
        panel: Option<Arc<dyn crate::status::StatusPanel>>,
        secure: bool,
    ) -> Self {
        Self {
            sessions: Arc::new(session::Sessions::new(config.session_ttl)),
            throttle: Arc::default(),
            config,
            history,
            recent,
            panel,
            secure,
        }
    }
}

/// A JSON error answer: a stable code and a sentence for people, never
/// any of the request's text.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": code, "message": message }).to_string(),
    )
        .into_response()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            ),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub(super) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `PUT /status/panel`: `{"name": "...", "value": 1.5}`.
pub(super) async fn panel(State(t): State<AdminState>, body: axum::body::Bytes) -> Response {
    let Some(panel) = t.status.as_ref().and_then(|s| s.panel.clone()) else {
        return json_error(
            StatusCode::NOT_FOUND,
            "no_panel",
            "this service has no operator panel",
        );
    };
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Change {
        name: String,
        value: f64,
    }
    let Ok(change) = serde_json::from_slice::<Change>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            r#"send JSON {"name": "<field>", "value": <number>}"#,
        );
    };
    if !panel.fields().iter().any(|f| f.name == change.name) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "unknown_field",
            "no such field on this panel",
        );
    }
    match panel.apply(&change.name, change.value) {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "title": panel.title(), "fields": panel.fields() }).to_string(),
        )
            .into_response(),
        Err(message) => json_error(StatusCode::BAD_REQUEST, "invalid_value", &message),
    }
}

/// `GET /`: where things are.
pub(super) async fn index(State(t): State<AdminState>) -> Response {
    let mut text = String::from("redline admin endpoints\n\n");
    if t.status.is_some() {
        text.push_str("  /status          live status page (log in with an admin token)\n");
    }
    for line in [
        "  /metrics         Prometheus metrics",
        "  /health          health, with every check for a viewer",
        "  /ready, /alive   probes",
        "  /info            build and process facts (viewer)",
        "  /errors/report   error groups (viewer)",
        "  /logs/info       log statistics (viewer)",
    ] {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("\nSee docs/OPERATIONS.md of redline for each.\n");
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}
