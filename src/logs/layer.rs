//! [`LogLayer`]: all of redline's logging as one `tracing_subscriber`
//! [`Layer`], for a subscriber the service builds itself.
//!
//! Inside, behind one per-layer filter (the reloadable `EnvFilter` of
//! `REDLINE_LOG`, with the audit floor): the JSON-lines outputs (stdout
//! and/or the rotating file, each through a non-blocking buffer; the first
//! of them also hands each line to the OTLP log sink when
//! `OTEL_LOGS_EXPORTER=otlp`, see [`super::otlp`]), the log statistics,
//! and the OpenTelemetry bridge of `tracing` spans when traces are
//! enabled. The filter is per-layer ([`Filtered`]): it decides what
//! redline writes, counts and exports, and nothing of what the service's
//! other layers see; they keep their own filters.

use std::any::TypeId;

use tracing::span;
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::filter::{Filtered, LevelFilter};
use tracing_subscriber::layer::{Context, Layer, Layered};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, reload};

use super::otlp::{Lines, LogSink};
use super::queue::{DroppedLines, QueueGuard};
use super::rotation::RotatingFile;
use super::{JsonLines, LogConfig, LogError, LogOutput, LogStats, LogStatsLayer, SpanFields};

/// A JSON-lines output (stdout or the file, and the OTLP log sink).
type Json<S> = tracing_subscriber::fmt::Layer<S, SpanFields, JsonLines, Lines>;
/// The bridge of `tracing` spans into the trace pipeline.
type Otel<S> = tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>;
/// Stdout, file, statistics, spans: the layers under redline's filter.
type Outputs<S> = Layered<
    Option<Otel<S>>,
    Layered<LogStatsLayer, Layered<Option<Json<S>>, Option<Json<S>>, S>, S>,
    S,
>;

/// Installs a new filter into a built [`LogLayer`], whatever its
/// subscriber type (the typed `reload::Handle` is captured inside).
pub(crate) type Reload = Box<dyn Fn(EnvFilter) -> Result<(), reload::Error> + Send + Sync>;

/// redline's logging as a [`Layer`] to add to a subscriber of your own:
/// JSON lines (redacted, with request and trace ids) to stdout and/or the
/// rotating file, the same records over OTLP when `OTEL_LOGS_EXPORTER=otlp`
/// (see [`super::otlp`]), log statistics (`/logs/info`, `redline_log_*`),
/// and `tracing` spans into the trace pipeline when traces are enabled, all
/// behind redline's reloadable filter (`REDLINE_LOG`, changed by
/// [`Telemetry::set_log_filter`](crate::Telemetry::set_log_filter) and
/// `PUT /logs/level`). Built by
/// [`Telemetry::logging_layer`](crate::Telemetry::logging_layer).
///
/// The filter is a per-layer filter: it applies to redline's outputs only.
/// A global filter of yours (a `Layer` used as a filter, such as an
/// `EnvFilter` added with `.with(filter)`) sits above every layer,
/// redline's included: prefer per-layer filters (`.with_filter(...)`) for
/// your own layers, or let your global filter pass `redline::access` and
/// `redline::security` (the access log and the audit events).
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let telemetry = redline::Telemetry::builder().build().unwrap();
/// let layer: redline::logs::LogLayer<_> = telemetry.logging_layer().unwrap();
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
///     .with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!("both layers see this"));
/// assert_eq!(telemetry.log_stats().snapshot().events["INFO"], 1);
/// ```
pub struct LogLayer<S> {
    inner: Filtered<Outputs<S>, reload::Layer<EnvFilter, S>, S>,
}

impl<S> std::fmt::Debug for LogLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLayer").finish_non_exhaustive()
    }
}

/// What the `Telemetry` keeps of a built [`LogLayer`] (see
/// [`super::LogControl::commit`]).
pub(crate) struct Parts {
    pub(crate) reload: Reload,
    /// The filter as installed (with the audit floor).
    pub(crate) directives: String,
    /// Flush the non-blocking buffers when dropped.
    pub(crate) guards: Vec<QueueGuard>,
    /// The file writer, for its statistics.
    pub(crate) file: Option<RotatingFile>,
    /// Lines dropped by each non-blocking buffer, by output (`stdout`,
    /// `file`).
    pub(crate) dropped: Vec<(&'static str, DroppedLines)>,
}

/// A JSON-lines fmt layer writing to `w`.
fn json_layer<S>(w: Lines, redactor: &crate::redact::Redactor) -> Json<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(SpanFields::new(redactor.clone()))
        .event_format(JsonLines::new(redactor.clone()))
        .with_writer(w)
}

/// Builds the layer for `config`, exporting over OTLP through `otlp` when
/// given; nothing is registered yet (the caller commits the [`Parts`] once
/// the layer is in use).
pub(crate) fn build<S>(
    config: &LogConfig,
    stats: &LogStats,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
    redactor: &crate::redact::Redactor,
    mut otlp: Option<LogSink>,
) -> Result<(LogLayer<S>, Parts), LogError>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let (filter, directives) = super::filter::installable(&config.filter)?;
    let (filter, handle) = reload::Layer::<EnvFilter, S>::new(filter);
    let mut guards = Vec::new();
    let mut dropped = Vec::new();
    let mut non_blocking = |writer: Box<dyn std::io::Write + Send>, output: &'static str| {
        let (w, lost, guard) = super::queue::start(
            writer,
            config.buffer_lines,
            &format!("redline-log-{output}"),
        );
        dropped.push((output, lost));
        guards.push(guard);
        w
    };
    let stdout = if matches!(config.output, LogOutput::Stdout | LogOutput::Both) {
        let w = non_blocking(
            Box::new(super::stats::CountingStdout::new(stats.clone())),
            "stdout",
        );
        // The first JSON output carries the OTLP sink: each line is
        // formatted (and redacted) once for both.
        Some(json_layer(Lines::new(Some(w), otlp.take()), redactor))
    } else {
        None
    };
    let (file, rotating) = if matches!(config.output, LogOutput::File | LogOutput::Both) {
        let rotating =
            RotatingFile::open(&config.file, config.rotation.clone()).map_err(|source| {
                LogError::File {
                    path: config.file.clone(),
                    source,
                }
            })?;
        // Buffered like stdout (see `output`): the worker flushes after each
        // batch it takes from its queue, a rotation never splits a write,
        // and every line lost is counted.
        let w = non_blocking(Box::new(stats.file_writer(rotating.clone())), "file");
        (
            Some(json_layer(Lines::new(Some(w), otlp.take()), redactor)),
            Some(rotating),
        )
    } else {
        (None, None)
    };
    // No JSON output at all: the OTLP sink gets a formatter of its own.
    let stdout = stdout.or_else(|| {
        otlp.take()
            .map(|sink| json_layer(Lines::new(None, Some(sink)), redactor))
    });
    // `Layer::and_then`, not `Option::and_then`.
    let outputs = Layer::<S>::and_then(stdout, file)
        .and_then(stats.layer())
        .and_then(tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t)));
    let layer = LogLayer {
        inner: outputs.with_filter(filter),
    };
    let parts = Parts {
        reload: Box::new(move |filter| handle.reload(filter)),
        directives,
        guards,
        file: rotating,
        dropped,
    };
    Ok((layer, parts))
}

// Every method forwards to the `Filtered` inside, `on_layer` (which
// registers the per-layer filter) and `downcast_raw` (how the subscriber
// finds per-layer filters, and how `tracing-opentelemetry` finds its
// layer) included.
impl<S> Layer<S> for LogLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn on_record(&self, span: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &span::Id, follows: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &span::Id, new: &span::Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    // Forwarded so that `tracing-opentelemetry` finds its `WithContext`
    // through this wrapper (`OpenTelemetrySpanExt::context` downcasts the
    // subscriber's layers); the trait method is `unsafe` by definition.
    #[doc(hidden)]
    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded as is; the pointer, if any, points into
        // `self.inner`, which lives as long as `self`.
        unsafe { self.inner.downcast_raw(id) }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use crate::logs::{LogError, LogOutput};

    fn telemetry(file: &std::path::Path) -> crate::Telemetry {
        let mut config = crate::Config {
            admin_listen: None,
            system_metrics: false,
            process_metrics: false,
            ..Default::default()
        };
        config.logs.output = LogOutput::File;
        config.logs.file = file.to_owned();
        config.logs.filter = "info".into();
        crate::Telemetry::builder().config(config).build().unwrap()
    }

    /// A user's own layer: counts the events it sees.
    fn counting_layer(
        seen: &Arc<AtomicUsize>,
    ) -> impl tracing_subscriber::Layer<tracing_subscriber::Registry> {
        let seen = seen.clone();
        tracing_subscriber::fmt::layer().with_writer(move || {
            seen.fetch_add(1, Ordering::Relaxed);
            std::io::sink()
        })
    }

    /// On a subscriber redline did not build: the filter is redline's
    /// alone, it reloads, and the audit floor holds.
    #[test]
    fn the_filter_is_per_layer_and_reloads_on_a_user_subscriber() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.log");
        let t = telemetry(&file);
        let user = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry()
            .with(counting_layer(&user))
            .with(t.logging_layer().unwrap());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "app", "below redline's filter");
            tracing::info!(target: "app", "both");
            t.set_log_filter("warn").unwrap();
            tracing::info!(target: "app", "only the user's layer");
            tracing::warn!(target: "redline::security", event = "authz_admin", "audit");
            assert!(matches!(
                t.set_log_filter("redline::security=off"),
                Err(LogError::HidesAudit(_))
            ));
            t.set_log_filter("debug").unwrap();
            tracing::debug!(target: "app", "debug again");
        });
        assert_eq!(user.load(Ordering::Relaxed), 5, "the user's layer sees all");
        assert_eq!(
            t.log_filter().as_deref(),
            Some("debug,redline::security=info")
        );
        let snap = t.log_stats().snapshot();
        assert_eq!(snap.events["INFO"], 1);
        assert_eq!(snap.events["WARN"], 1);
        assert_eq!(snap.events["DEBUG"], 1);
        t.flush_logs();
        let text = std::fs::read_to_string(&file).unwrap();
        let messages: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["message"].to_string())
            .collect();
        assert_eq!(messages, [r#""both""#, r#""audit""#, r#""debug again""#]);
        assert_eq!(t.log_stats().snapshot().lines_written, 3);
    }

    #[test]
    fn one_layer_per_telemetry_and_none_once_its_subscriber_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let t = telemetry(&dir.path().join("app.log"));
        let layer = t.logging_layer::<tracing_subscriber::Registry>().unwrap();
        assert!(matches!(
            t.logging_layer::<tracing_subscriber::Registry>(),
            Err(LogError::AlreadyBuilt)
        ));
        assert!(matches!(t.install_logging(), Err(LogError::AlreadyBuilt)));
        // A subscriber type of the user's own (here: with a `Mutex` layer).
        let seen = Arc::new(Mutex::new(0u32));
        let s2 = seen.clone();
        let subscriber =
            tracing_subscriber::registry()
                .with(layer)
                .with(tracing_subscriber::filter::filter_fn(move |_| {
                    *s2.lock().unwrap() += 1;
                    true
                }));
        tracing::subscriber::with_default(subscriber, || {
            t.set_log_filter("error").unwrap();
        });
        // The scoped subscriber, and the layer with it, are gone.
        assert!(matches!(
            t.set_log_filter("info"),
            Err(LogError::NotInstalled)
        ));
    }
}
