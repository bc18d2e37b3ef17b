//! `/info`: what is running, since when, built from what.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::state::AdminState;
use crate::timefmt::rfc3339_millis;

#[derive(Serialize)]
pub(super) struct Info {
    service_name: String,
    version: String,
    revision: String,
    build_time: String,
    rustc: String,
    redline_version: &'static str,
    start_time: String,
    uptime_seconds: f64,
    pid: u32,
    memory_rss_bytes: Option<u64>,
    memory_limit_bytes: Option<u64>,
    cpus: usize,
    ready: bool,
    draining: bool,
    traces: &'static str,
}

pub(super) async fn info(State(t): State<AdminState>) -> Json<Info> {
    // Without the `system` feature there is no reading: null in the JSON.
    #[cfg(feature = "system")]
    let (rss, limit) = tokio::task::spawn_blocking(crate::health::checks::memory_now)
        .await
        .unwrap_or((None, None));
    #[cfg(not(feature = "system"))]
    let (rss, limit): (Option<u64>, Option<u64>) = (None, None);
    let build = &t.build_info;
    let tracing = &t.tracing;
    Json(Info {
        service_name: t.service_name.clone(),
        version: build.version.clone(),
        revision: build.revision.clone(),
        build_time: rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(build.build_time),
        ),
        rustc: build.rustc.clone(),
        redline_version: crate::REDLINE_VERSION,
        start_time: rfc3339_millis(t.started),
        uptime_seconds: t.started.elapsed().map(|d| d.as_secs_f64()).unwrap_or(0.0),
        pid: std::process::id(),
        memory_rss_bytes: rss,
        memory_limit_bytes: limit,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ready: t.health.is_started() && !t.health.is_draining(),
        draining: t.health.is_draining(),
        traces: if tracing.is_exporting() {
            "exporting"
        } else if tracing.is_enabled() {
            "local"
        } else {
            "disabled"
        },
    })
}
