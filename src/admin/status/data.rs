//! `GET /status/data`: the document the page polls.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::admin::Role;
use crate::admin::auth::{Verdict, verdict};
use crate::admin::state::AdminState;
use crate::status::PanelField;
use crate::status::document::{Measured, RecentRow, measure};
use crate::status::history::INTERVAL;

/// Error groups listed.
const GROUPS: usize = 10;

#[derive(Serialize)]
struct Document {
    schema: u32,
    now_ms: u64,
    service: Service,
    public: bool,
    viewer: Option<Viewer>,
    health: Health,
    interval_seconds: u64,
    /// How often the page polls: faster than the history's step, so a
    /// new snapshot shows within about two seconds.
    refresh_seconds: u64,
    #[serde(flatten)]
    measured: Measured,
    errors: Errors,
    recent: RecentDoc,
    trace_ui_url: Option<String>,
    panel: Option<Panel>,
}

#[derive(Serialize)]
struct Service {
    name: String,
    version: String,
    revision: String,
    instance: Option<String>,
    started_ms: u64,
    uptime_seconds: f64,
}

#[derive(Serialize)]
struct Viewer {
    principal: String,
    role: &'static str,
    /// Only for a session: what its changes must send as `X-CSRF-Token`.
    csrf: Option<String>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    ready: bool,
    alive: bool,
    checks: Vec<Check>,
}

#[derive(Serialize)]
struct Check {
    name: String,
    status: &'static str,
    duration_ms: f64,
    output: Option<String>,
}

#[derive(Serialize)]
struct Errors {
    total: u64,
    groups: Vec<Group>,
}

#[derive(Serialize)]
struct Group {
    fingerprint: String,
    kind: String,
    message: String,
    route: Option<String>,
    count: u64,
    first_seen_ms: Option<u64>,
    last_seen_ms: Option<u64>,
    trace_id: Option<String>,
}

#[derive(Serialize)]
struct RecentDoc {
    slowest: Vec<RecentRow>,
    failed: Vec<RecentRow>,
}

#[derive(Serialize)]
struct Panel {
    title: String,
    fields: Vec<PanelField>,
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn rfc3339_ms(text: &str) -> Option<u64> {
    crate::timefmt::parse_rfc3339(text).map(ms)
}

/// The host's name, as the kernel has it.
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty() && name.len() <= 253).then(|| name.to_owned())
}

/// A trace id as the page may link it: 32 lowercase hex digits.
fn trace_id(id: Option<&str>) -> Option<String> {
    id.filter(|i| i.len() == 32 && i.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .map(str::to_owned)
}

pub(in crate::admin) async fn data(State(t): State<AdminState>, request: Request) -> Response {
    let Some(status) = t.status.clone() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    // Checked by the role middleware, unless the data is public.
    let caller = request
        .extensions()
        .get::<Verdict>()
        .cloned()
        .unwrap_or_else(|| verdict(&t, request.headers()));
    let viewer = match caller {
        Verdict::Granted { name, role, csrf } => Some((name, role, csrf)),
        _ => None,
    };
    let report = t.health.health().await;
    let ready = t.health.readiness().await.status != crate::health::Status::Fail;
    let alive = t.health.liveness().await.status != crate::health::Status::Fail;
    let redactor = &t.redactor;
    let health = Health {
        status: report.status.as_str(),
        ready,
        alive,
        checks: report
            .checks
            .iter()
            .map(|c| Check {
                name: redactor.redact(&c.name).into_owned(),
                status: c.effective.as_str(),
                duration_ms: c.duration.as_secs_f64() * 1e3,
                output: c
                    .result
                    .output
                    .as_deref()
                    .map(|o| redactor.redact(o).into_owned()),
            })
            .collect(),
    };
    let errors = t.errors.report();
    let groups = errors
        .top_by_impact
        .into_iter()
        .take(GROUPS)
        .map(|g| Group {
            first_seen_ms: rfc3339_ms(&g.first_seen),
            last_seen_ms: rfc3339_ms(&g.last_seen),
            trace_id: trace_id(g.sample.trace_id.as_deref()),
            route: g.sample.route,
            message: g.sample.message,
            fingerprint: g.fingerprint,
            kind: g.kind,
            count: g.count,
        })
        .collect();
    let history = status.history.clone();
    let measured = tokio::task::spawn_blocking(move || history.read(measure))
        .await
        .unwrap_or_default();
    let operator = viewer
        .as_ref()
        .is_some_and(|(_, role, _)| role.allows(Role::Operator));
    let panel = status.panel.as_ref().filter(|_| operator).map(|p| Panel {
        title: p.title(),
        fields: p.fields(),
    });
    let now = SystemTime::now();
    let build = &t.build_info;
    let document = Document {
        schema: 1,
        now_ms: ms(now),
        service: Service {
            name: t.service_name.clone(),
            version: build.version.clone(),
            revision: build.revision.clone(),
            instance: hostname(),
            started_ms: ms(t.started),
            uptime_seconds: now
                .duration_since(t.started)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        },
        public: status.config.public,
        viewer: viewer.map(|(principal, role, csrf)| Viewer {
            principal,
            role: role.as_str(),
            csrf,
        }),
        health,
        interval_seconds: INTERVAL.as_secs(),
        refresh_seconds: 2,
        measured,
        errors: Errors {
            total: errors.total,
            groups,
        },
        recent: RecentDoc {
            slowest: status
                .recent
                .slowest()
                .into_iter()
                .map(Into::into)
                .collect(),
            failed: status.recent.failed().into_iter().map(Into::into).collect(),
        },
        trace_ui_url: status.config.trace_ui_url.clone(),
        panel,
    };
    let body = serde_json::to_string(&document).unwrap_or_else(|_| "{}".to_owned());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `GET /status/session`: whether this caller has a session (or the data
/// is public), so the page shows its login form without a failed request.
pub(in crate::admin) async fn session(State(t): State<AdminState>, request: Request) -> Response {
    let Some(status) = t.status.as_ref() else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    // The cookie only: a bearer header is not looked at here, so this
    // public route cannot test token guesses.
    let authenticated = super::session::cookie(request.headers()).is_some_and(|id| {
        matches!(
            status.sessions.lookup(id, &t.principals.snapshot()),
            super::session::Lookup::Granted(_)
        )
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::json!({ "authenticated": authenticated, "public": status.config.public })
            .to_string(),
    )
        .into_response()
}
