//! `GET /logs/info` (log statistics and settings) and `PUT /logs/level`
//! (change the filter at run time; the router requires the admin token).
//! Both work whether redline installed the subscriber
//! (`Telemetry::install_logging`) or the service added
//! `Telemetry::logging_layer` to its own.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::state::AdminState;
use crate::logs::LogSnapshot;

#[derive(Serialize)]
pub(super) struct LogInfo {
    filter: Option<String>,
    output: &'static str,
    file: Option<String>,
    max_file_bytes: u64,
    rotate_daily: bool,
    keep: usize,
    buffer_lines: usize,
    #[serde(flatten)]
    stats: LogSnapshot,
}

pub(super) async fn info(State(t): State<AdminState>) -> Json<LogInfo> {
    let c = &t.logs;
    let output = match c.output {
        crate::logs::LogOutput::Stdout => "stdout",
        crate::logs::LogOutput::File => "file",
        crate::logs::LogOutput::Both => "both",
    };
    Json(LogInfo {
        filter: t.log_filter(),
        output,
        file: (output != "stdout").then(|| c.file.display().to_string()),
        max_file_bytes: c.rotation.max_bytes,
        rotate_daily: c.rotation.daily,
        keep: c.rotation.keep,
        buffer_lines: c.buffer_lines,
        stats: t.log_stats.snapshot(),
    })
}

/// The body is the new filter (`debug`, `info,redline=trace`), at most
/// 1 KiB.
pub(super) async fn set_level(
    State(t): State<AdminState>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    // Authenticated by the router's middleware; the peer is for the audit
    // event.
    let source = super::auth::source(&parts.extensions);
    let Ok(bytes) = axum::body::to_bytes(body, 1024).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the filter is at most 1 KiB\n",
        )
            .into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let directives = text.trim();
    if directives.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "send the filter as the body, e.g. `debug`\n",
        )
            .into_response();
    }
    // Answers never repeat the request's text: the effective filter on
    // success (as installed, with the audit floor), fixed messages else.
    match t.set_log_filter(directives) {
        Ok(()) => {
            let installed = t.log_filter().unwrap_or_default();
            t.security.record(
                crate::logs::SecurityEvent::AuthzAdmin,
                &source,
                &format!("log filter changed to {installed}"),
            );
            (StatusCode::OK, format!("log filter: {installed}\n")).into_response()
        }
        Err(crate::logs::LogError::NotInstalled) => (
            StatusCode::CONFLICT,
            "redline's logging layer is not in use (install_logging or logging_layer); nothing to change\n",
        )
            .into_response(),
        Err(e @ (crate::logs::LogError::HidesAudit(_) | crate::logs::LogError::NoLevel(_))) => {
            (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response()
        }
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "invalid log filter: send tracing filter directives such as `info` or `warn,my_crate=debug`\n",
        )
            .into_response(),
    }
}
