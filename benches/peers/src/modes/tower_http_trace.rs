//! The common hand-made setup: tower-http's `TraceLayer::new_for_http()`
//! with its defaults (a DEBUG span per request, DEBUG events on request and
//! response), a `tracing-subscriber` registry with the
//! `tracing-opentelemetry` layer and no filter (so everything the layer
//! emits is recorded; the two events become span events), the SDK's batch
//! processor exporting every span over OTLP/HTTP.

use axum::Router;
use opentelemetry::trace::TracerProvider as _;
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt;

use super::Instrumented;
use crate::otlp::{self, Sink};

/// `TraceLayer` around `app`, with the global subscriber installed; the
/// flush shuts down the tracer provider.
pub fn instrument(app: Router, sink: &Sink) -> Instrumented {
    let (provider, count) = otlp::tracer_provider(sink);
    let tracer = provider.tracer("redline-peers");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");
    Instrumented::new(
        app.layer(TraceLayer::new_for_http()),
        otlp::shutdown(Some((provider, count)), None),
    )
}
