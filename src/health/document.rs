//! The health document of `GET /health`: the `application/health+json`
//! format of the IETF draft "Health Check Response Format for HTTP APIs"
//! (draft-inadarei-api-health-check-06,
//! <https://datatracker.ietf.org/doc/html/draft-inadarei-api-health-check-06>).
//!
//! Top level: `status` (`pass` | `warn` | `fail`), `version`, `releaseId`,
//! `serviceId`, `description`, `notes`, `checks`. `checks` maps
//! `component:measurement` names to arrays of objects with `componentId`,
//! `componentType`, `observedValue`, `observedUnit`, `status`, `time`
//! (RFC 3339) and `output` (section 4.x of the draft). The HTTP status is
//! 200 for `pass` and `warn`, 503 for `fail` (section 3.1).

use std::collections::BTreeMap;

use serde::Serialize;

use super::check::Status;
use super::registry::HealthReport;
use crate::timefmt::rfc3339_millis;

/// `Content-Type` of the health document.
///
/// ```
/// assert_eq!(redline::health::HEALTH_JSON_CONTENT_TYPE, "application/health+json");
/// ```
pub const HEALTH_JSON_CONTENT_TYPE: &str = "application/health+json";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    status: Status,
    version: &'a str,
    release_id: &'a str,
    service_id: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    checks: BTreeMap<&'a str, [Check<'a>; 1]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Check<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    component_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    component_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_unit: Option<&'a str>,
    status: Status,
    /// Whether a failure of this check fails the service (an extension;
    /// the draft allows more fields).
    critical: bool,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a str>,
}

/// Renders `report` for the service `service_id` at `release_id`.
pub(crate) fn render(report: &HealthReport, service_id: &str, release_id: &str) -> String {
    let major = release_id.split('.').next().unwrap_or(release_id);
    let mut notes = Vec::new();
    if let Some(state) = report.lifecycle {
        notes.push(format!("lifecycle: {state}"));
    }
    let checks = report
        .checks
        .iter()
        .map(|c| {
            let check = Check {
                component_id: c.options.component_id.as_deref(),
                component_type: c.options.component_type.as_deref(),
                // JSON has no NaN or infinities: leave such values out.
                observed_value: c.result.observed_value.filter(|v| v.is_finite()),
                observed_unit: c.result.observed_unit.as_deref(),
                // The check's own result; `status` at the top level applies
                // `critical`.
                status: c.result.status,
                critical: c.options.critical,
                time: rfc3339_millis(c.time),
                output: c.result.output.as_deref(),
            };
            (c.name.as_str(), [check])
        })
        .collect();
    let doc = Document {
        status: report.status,
        version: major,
        release_id,
        service_id,
        description: format!("health of {service_id}"),
        notes,
        checks,
    };
    serde_json::to_string(&doc).unwrap_or_else(|_| r#"{"status":"fail"}"#.to_owned())
}
