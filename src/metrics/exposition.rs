//! Rendering a registry in the Prometheus text exposition format 0.0.4.

use prometheus::{Encoder, Registry, TextEncoder};

/// `Content-Type` of the Prometheus text format.
pub const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Gathers `registry` and renders it in the Prometheus text format.
///
/// ```
/// let registry = prometheus::Registry::new();
/// let c = prometheus::IntCounter::new("jobs_total", "Jobs done.").unwrap();
/// registry.register(Box::new(c.clone())).unwrap();
/// c.inc();
/// let text = redline::metrics::render_text(&registry);
/// assert!(text.contains("jobs_total 1"));
/// ```
pub fn render_text(registry: &Registry) -> String {
    let families = registry.gather();
    let mut out = Vec::with_capacity(64 * 1024);
    // The text encoder only fails on an invalid family (which our collectors
    // never produce) or an I/O error (impossible on a Vec); keep whatever
    // was written rather than failing the scrape.
    let _ = TextEncoder::new().encode(&families, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
