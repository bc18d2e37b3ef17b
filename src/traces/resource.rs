//! The OpenTelemetry [`Resource`] of the service: who the spans and the
//! OTLP log records are from. Built once by the `Telemetry` and given to
//! both pipelines, so a collector sees one identity for both signals.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

/// Who the telemetry is from: the resource's service name and attributes
/// (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResourceIdentity<'a> {
    pub(crate) service_name: &'a str,
    pub(crate) attributes: &'a [(String, String)],
}

/// The resource for `identity`, with the SDK's and redline's own
/// `telemetry.*` attributes.
pub(crate) fn resource(identity: ResourceIdentity<'_>) -> Resource {
    let mut attributes: Vec<KeyValue> = identity
        .attributes
        .iter()
        .filter(|(k, _)| k != "service.name")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attributes.push(KeyValue::new("telemetry.sdk.name", "opentelemetry"));
    attributes.push(KeyValue::new("telemetry.sdk.language", "rust"));
    attributes.push(KeyValue::new("telemetry.sdk.version", "0.33"));
    attributes.push(KeyValue::new("telemetry.distro.name", "redline"));
    attributes.push(KeyValue::new(
        "telemetry.distro.version",
        env!("CARGO_PKG_VERSION"),
    ));
    // Not `Resource::builder()`: its detectors read the process environment
    // behind our configuration's back.
    Resource::builder_empty()
        .with_service_name(identity.service_name.to_owned())
        .with_attributes(attributes)
        .build()
}
