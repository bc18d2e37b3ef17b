//! `/health`, `/ready`, `/alive`.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::state::AdminState;
use crate::health::{HEALTH_JSON_CONTENT_TYPE, Status};

fn code(status: Status) -> StatusCode {
    match status {
        Status::Pass | Status::Warn => StatusCode::OK,
        Status::Fail => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Probes must never be cached by a proxy.
fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// Without the admin token, only the overall status (the checks' outputs
/// can name internal hosts and errors); with it, the whole document.
pub(super) async fn health(
    State(t): State<AdminState>,
    request: axum::extract::Request,
) -> Response {
    let verdict = super::auth::verdict(&t, request.headers());
    if verdict == super::auth::Verdict::Wrong {
        // Public endpoint, but a wrong credential is still an event.
        t.security.record(
            crate::logs::SecurityEvent::AuthnLoginFail,
            &super::auth::source(request.extensions()),
            "GET /health",
        );
    }
    let mut report = t.health.health().await;
    if verdict != super::auth::Verdict::Granted {
        report.checks.clear();
    }
    let body = crate::health::render(&report, &t.service_name, &t.build_info.version);
    (
        code(report.status),
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(HEALTH_JSON_CONTENT_TYPE),
            ),
            no_store(),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn ready(State(t): State<AdminState>) -> Response {
    let report = t.health.readiness().await;
    let body = match (report.status, report.lifecycle) {
        (Status::Fail, Some(state)) => format!("not ready: {state}\n"),
        (Status::Fail, None) => "not ready\n".to_owned(),
        _ => "ready\n".to_owned(),
    };
    (code(report.status), [no_store()], body).into_response()
}

pub(super) async fn alive(State(t): State<AdminState>) -> Response {
    let report = t.health.liveness().await;
    let body = if report.status == Status::Fail {
        "not alive\n"
    } else {
        "alive\n"
    };
    (code(report.status), [no_store()], body).into_response()
}
