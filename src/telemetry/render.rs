//! `/metrics`: the registry rendered as Prometheus text or OpenMetrics,
//! as the scraper's `Accept` header asks.

use std::sync::atomic::Ordering;

use super::Telemetry;

impl Telemetry {
    /// Renders every metric in the Prometheus text format (what `/metrics`
    /// answers).
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// assert!(t.render_metrics().contains("# TYPE build_info gauge"));
    /// ```
    pub fn render_metrics(&self) -> String {
        let hint = self.inner.last_render.load(Ordering::Relaxed);
        // A little headroom so a slightly larger scrape does not regrow.
        let text = crate::metrics::exposition::render_text_with_capacity(
            &self.inner.registry,
            hint + hint / 8,
        );
        self.inner.last_render.store(text.len(), Ordering::Relaxed);
        text
    }

    /// Renders every metric in the OpenMetrics text format 1.0.0, with
    /// exemplars (trace ids of recent sampled requests) on the HTTP latency
    /// buckets: what `/metrics` answers a scraper that asks for
    /// `application/openmetrics-text`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let text = t.render_openmetrics();
    /// assert!(text.contains("# TYPE build_info gauge"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_openmetrics(&self) -> String {
        let families = self.inner.registry.gather();
        let mut exemplars = crate::metrics::Exemplars::default();
        self.inner.http.inner.collect_exemplars(&mut exemplars);
        let hint = self.inner.last_render.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 4);
        crate::metrics::encode_openmetrics(&families, &exemplars, &mut out);
        out
    }

    /// Renders in the format a scraper's `Accept` header asks for (see
    /// [`crate::metrics::ExpositionFormat::negotiate`]); returns the body
    /// and its `Content-Type`.
    ///
    /// ```
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let (_, content_type) = t.render_for(Some("application/openmetrics-text;version=1.0.0"));
    /// assert_eq!(content_type, redline::metrics::OPENMETRICS_CONTENT_TYPE);
    /// let (_, content_type) = t.render_for(None);
    /// assert_eq!(content_type, redline::metrics::PROMETHEUS_TEXT_CONTENT_TYPE);
    /// ```
    pub fn render_for(&self, accept: Option<&str>) -> (String, &'static str) {
        let format = crate::metrics::ExpositionFormat::negotiate(accept);
        let body = match format {
            crate::metrics::ExpositionFormat::OpenMetrics => self.render_openmetrics(),
            crate::metrics::ExpositionFormat::PrometheusText => self.render_metrics(),
        };
        (body, format.content_type())
    }
}
