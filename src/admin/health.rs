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

/// Without a viewer's credential, only the overall status (the checks'
/// outputs can name internal hosts and errors); with it, the whole
/// document.
pub(super) async fn health(
    State(t): State<AdminState>,
    request: axum::extract::Request,
) -> Response {
    use super::auth::Verdict;
    let verdict = super::auth::verdict(&t, request.headers());
    // Public endpoint, but a refused credential is still an event.
    let event = match verdict {
        Verdict::Wrong => Some(crate::logs::SecurityEvent::AuthnLoginFail),
        Verdict::Expired => Some(crate::logs::SecurityEvent::AuthnTokenInvalid),
        _ => None,
    };
    if let Some(event) = event {
        t.security.record(
            event,
            &super::auth::source(request.extensions()),
            "GET /health",
        );
    }
    let details =
        matches!(verdict, Verdict::Granted { role, .. } if role.allows(super::Role::Viewer));
    let mut report = t.health.health().await;
    if !details {
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
