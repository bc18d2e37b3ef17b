//! opentelemetry-instrumentation-tower 0.19 as its docs set it up: the
//! global meter (and tracer) provider first, then
//! `LayerBuilder::builder().build()` after the routes (with its `axum`
//! feature, the route template from `MatchedPath` is `http.route`).
//! Metrics mode: `.with_tracing(false)`; spans mode: the default, a server
//! span per request and the metrics, with the W3C trace-context propagator
//! installed (the layer extracts a parent from the request headers through
//! the global propagator).

use axum::Router;
use opentelemetry::global;
use opentelemetry_instrumentation_tower::http::server::LayerBuilder;
use opentelemetry_sdk::propagation::TraceContextPropagator;

use super::Instrumented;
use crate::otlp::{self, Sink};

/// The layer around `app`, with spans or without; the flush shuts down
/// both providers.
pub fn instrument(app: Router, spans: bool, sink: &Sink) -> Instrumented {
    let meter = otlp::meter_provider(sink);
    global::set_meter_provider(meter.clone());
    let tracer = spans.then(|| {
        let (provider, count) = otlp::tracer_provider(sink);
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TraceContextPropagator::new());
        (provider, count)
    });
    let layer = LayerBuilder::builder()
        .with_tracing(spans)
        .build()
        .expect("opentelemetry-instrumentation-tower layer");
    Instrumented::new(app.layer(layer), otlp::shutdown(tracer, Some(meter)))
}
