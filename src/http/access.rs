//! The access log: one `tracing` event per request (target
//! `redline::access`), with method, route, status, duration, size, error
//! type, request id and trace ids.
//!
//! Cheap by construction (see `docs/PERFORMANCE.md`):
//! - the decision (off, sampled out, or logged) is taken before any
//!   formatting;
//! - field values are borrowed: the route comes from the per-route cache,
//!   and the trace ids are hex on the stack;
//! - the line is formatted once, by the JSON formatter, and goes to a
//!   non-blocking buffer. The formatter knows this event (its target and
//!   this module, see `crate::logs::format::access`): it writes its keys
//!   as they are, and masks only the route and the request id; the method
//!   (a fixed table), the status, the numbers, the error type (a fixed
//!   label set) and the hex trace ids are not client text.
//!
//! Failures (5xx, handler errors, panics, broken bodies) and requests slower
//! than the threshold are always logged, at `warn`. Successful fast requests
//! are logged at the configured level, for the configured fraction.

use tracing::Level;

use super::labels::{ErrorType, METHOD_NAMES, METHOD_OTHER};
use super::metrics::HttpMetricsInner;
use crate::logs::{ACCESS_TARGET, LogConfig};

/// The access log settings the layer needs per request.
pub(crate) struct AccessLog {
    level: Level,
    slow_nanos: u64,
    /// Successful fast requests are logged when a random `u64` is below
    /// this (`u64::MAX`: all).
    sample_below: u64,
}

impl AccessLog {
    /// `None` when the access log is off.
    pub(crate) fn new(config: &LogConfig) -> Option<Self> {
        let level = config.access_log?;
        let sample_below = if config.access_log_sample >= 1.0 {
            u64::MAX
        } else {
            (config.access_log_sample.max(0.0) * u64::MAX as f64) as u64
        };
        Some(Self {
            level,
            slow_nanos: config.access_log_slow.as_nanos().min(u64::MAX as u128) as u64,
            sample_below,
        })
    }
}

/// What the layer knows about a finished request.
pub(crate) struct Finished<'a> {
    pub(crate) method: u8,
    pub(crate) route: u32,
    pub(crate) status: u16,
    pub(crate) error: ErrorType,
    pub(crate) nanos: u64,
    pub(crate) response_size: u64,
    pub(crate) request_id: Option<&'a str>,
    /// The server span (its ids are formatted only for a line written).
    pub(crate) span: Option<&'a super::span::ServerSpan>,
}

impl AccessLog {
    /// Whether any access line could be written (a subscriber listens to
    /// `redline::access` at `warn` or above, which failures use).
    #[inline]
    pub(crate) fn wanted(&self) -> bool {
        tracing::enabled!(target: ACCESS_TARGET, Level::WARN)
    }

    #[inline]
    pub(crate) fn record(&self, metrics: &'static HttpMetricsInner, r: &Finished<'_>) {
        let failed = r.error.is_server_failure();
        let slow = r.nanos > self.slow_nanos;
        let level = if failed || slow {
            Level::WARN
        } else {
            if self.sample_below != u64::MAX
                && crate::traces::sampling::random_u64() >= self.sample_below
            {
                return;
            }
            self.level
        };
        if !enabled(level) {
            return;
        }
        let method_name = if r.method == METHOD_OTHER {
            "_OTHER"
        } else {
            METHOD_NAMES[r.method as usize]
        };
        let route = metrics
            .span_name(r.method, method_name, r.route)
            .map(|(_, route)| route);
        let route: &str = route.as_deref().unwrap_or(super::UNMATCHED_ROUTE);
        let traceparent = r.span.and_then(|s| s.ids());
        // `00-{trace id}-{span id}-{flags}`: one check of the ids' part.
        let (trace_id, span_id) = match traceparent
            .as_ref()
            .and_then(|tp| std::str::from_utf8(&tp[3..52]).ok())
        {
            Some(ids) => (ids.get(..32).unwrap_or(""), ids.get(33..).unwrap_or("")),
            None => ("", ""),
        };
        let duration_ms = r.nanos as f64 / 1e6;
        let error_type = r.error.label(r.status).unwrap_or("");
        let request_id = r.request_id.unwrap_or("");
        let status = r.status;
        let size = r.response_size;
        macro_rules! emit {
            ($lvl:expr) => {
                tracing::event!(
                    target: ACCESS_TARGET,
                    $lvl,
                    http.request.method = method_name,
                    http.route = route,
                    http.response.status_code = status,
                    duration_ms,
                    response_size = size,
                    error.type = error_type,
                    request_id,
                    trace_id,
                    span_id,
                    slow,
                    "request"
                )
            };
        }
        match level {
            Level::ERROR => emit!(Level::ERROR),
            Level::WARN => emit!(Level::WARN),
            Level::INFO => emit!(Level::INFO),
            Level::DEBUG => emit!(Level::DEBUG),
            _ => emit!(Level::TRACE),
        }
    }
}

/// Whether an access event at `level` would be recorded (the static level
/// filter and the subscriber's interest), checked before any formatting.
#[inline]
fn enabled(level: Level) -> bool {
    match level {
        Level::ERROR => tracing::enabled!(target: ACCESS_TARGET, Level::ERROR),
        Level::WARN => tracing::enabled!(target: ACCESS_TARGET, Level::WARN),
        Level::INFO => tracing::enabled!(target: ACCESS_TARGET, Level::INFO),
        Level::DEBUG => tracing::enabled!(target: ACCESS_TARGET, Level::DEBUG),
        _ => tracing::enabled!(target: ACCESS_TARGET, Level::TRACE),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use bytes::Bytes;
    use http_body::Body as _;
    use http_body_util::Full;
    use tower::{Layer as _, Service as _};
    use tracing_subscriber::layer::SubscriberExt;

    use crate::logs::capture::Capture;
    use crate::logs::{JsonLines, SpanFields};
    use crate::redact::{RedactConfig, Redactor};

    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    /// Requests through the layer; each access line as written by the
    /// access path and by the general path, with `redactor`.
    fn lines(redactor: &Redactor, traces: bool) -> (Vec<String>, Vec<String>) {
        let requests = [
            (
                "/users/jane%40example.com",
                Some("01JD8Z6Q0V2M4K7T9X3B5N8C1E"),
                None,
            ),
            (
                "/users/7",
                Some("order-42"),
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            ),
            ("/fail", None, None),
            ("/missing", Some("a\"b\\c"), None),
            // Data, not an id: the layer drops it, and the access path,
            // which writes checked ids unmasked, must never see it.
            ("/users/8", Some("4242424242424242"), None),
        ];
        lines_of(redactor, traces, &requests)
    }

    /// A request: path, `x-request-id`, `traceparent`.
    type Sent<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

    /// The access lines of `requests` (see [`lines`]).
    fn lines_of(
        redactor: &Redactor,
        traces: bool,
        requests: &[Sent<'_>],
    ) -> (Vec<String>, Vec<String>) {
        let mut config = crate::Config {
            admin_listen: None,
            system_metrics: false,
            process_metrics: false,
            ..Default::default()
        };
        config.traces.enabled = traces;
        config.logs.access_log = Some(tracing::Level::INFO);
        let telemetry = crate::Telemetry::builder().config(config).build().unwrap();
        let service = tower::service_fn(|req: http::Request<Full<Bytes>>| async move {
            let status = match req.uri().path() {
                "/fail" => 503,
                "/missing" => 404,
                _ => 200,
            };
            let mut response = http::Response::new(Full::new(Bytes::from_static(b"hello\n")));
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(response)
        });
        let mut service = telemetry
            .http_layer()
            .with_route_extractor(crate::http::RouteFn(|uri: &http::Uri| match uri.path() {
                "/fail" => Some("/fail"),
                p if p.starts_with("/users/") => Some("/users/{email}"),
                _ => None,
            }))
            .layer(service);
        let (fast, general) = (Capture::default(), Capture::default());
        let (f, g) = (fast.clone(), general.clone());
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(SpanFields::new(redactor.clone()))
                    .event_format(JsonLines::new(redactor.clone()))
                    .with_writer(move || f.clone()),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(SpanFields::new(redactor.clone()))
                    .event_format(JsonLines::new(redactor.clone()).without_access_path())
                    .with_writer(move || g.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            for &(path, id, parent) in requests {
                let mut req = http::Request::get(path);
                if let Some(id) = id {
                    req = req.header("x-request-id", id);
                }
                if let Some(parent) = parent {
                    req = req.header("traceparent", parent);
                }
                let req = req.body(Full::new(Bytes::new())).unwrap();
                let mut body = ready(service.call(req)).unwrap().into_body();
                let mut cx = Context::from_waker(Waker::noop());
                while let Poll::Ready(Some(Ok(_))) =
                    std::pin::Pin::new(&mut body).poll_frame(&mut cx)
                {}
            }
        });
        (fast.lines(), general.lines())
    }

    /// Without the timestamp, which each formatter reads on its own.
    fn untimed(line: &str) -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        v.as_object_mut().unwrap().remove("timestamp");
        v
    }

    /// The access path writes the line the general path writes: same
    /// bytes after the timestamp (keys, order, values, masking), whatever
    /// the redactor calls secret or masks.
    /// A redactor with a secret key (`request_id`) and a pattern.
    fn keys_and_patterns() -> Redactor {
        Redactor::new(&RedactConfig {
            keys: vec!["request_id".into()],
            patterns: vec!["users/[{]".into()],
            ..Default::default()
        })
        .unwrap()
    }

    /// A redactor with a pattern that matches a request id.
    fn id_pattern() -> Redactor {
        Redactor::new(&RedactConfig {
            patterns: vec!["order-[0-9]+".into()],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn the_access_path_writes_the_general_paths_line() {
        for (redactor, traces) in [
            (Redactor::default(), true),
            (Redactor::default(), false),
            (keys_and_patterns(), true),
            (id_pattern(), false),
        ] {
            let (fast, general) = lines(&redactor, traces);
            assert_eq!(fast.len(), 5, "{fast:?}");
            assert!(!fast.concat().contains("4242424242424242"), "{fast:?}");
            assert_eq!(fast.len(), general.len());
            for (f, g) in fast.iter().zip(&general) {
                // Byte for byte after `{"timestamp":"…Z"`.
                assert_eq!(f[38..], g[38..], "\n{f}\n{g}");
                assert_eq!(untimed(f), untimed(g));
                assert_eq!(untimed(f)["target"], "redline::access");
            }
        }
    }

    #[test]
    fn what_the_line_holds() {
        let (fast, _) = lines(&Redactor::default(), true);
        let line = |i: usize| untimed(&fast[i]);
        assert_eq!(line(0)["http.route"], "/users/{email}");
        assert_eq!(line(0)["request_id"], "01JD8Z6Q0V2M4K7T9X3B5N8C1E");
        assert_eq!(line(0)["http.request.method"], "GET");
        assert_eq!(line(0)["message"], "request");
        assert_eq!(line(1)["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line(2)["level"], "WARN");
        assert_eq!(line(2)["error.type"], "503");
        assert_eq!(line(2)["http.response.status_code"], 503);
        assert_eq!(line(3)["http.route"], "unmatched");
        assert_eq!(line(3)["request_id"], "a\"b\\c");
        assert_eq!(line(1)["request_id"], "order-42");
        assert!(line(4).get("request_id").is_none(), "{}", fast[4]);
        let (fast, _) = lines(&keys_and_patterns(), true);
        let first = untimed(&fast[0]);
        assert_eq!(first["request_id"], "[REDACTED]");
        assert_eq!(first["http.route"], "/[REDACTED]email}");
        // A redactor that masks more than the default masks the checked
        // request id too.
        let (fast, _) = lines(&id_pattern(), false);
        assert_eq!(untimed(&fast[1])["request_id"], "[REDACTED]");
        assert_eq!(
            untimed(&fast[0])["request_id"],
            "01JD8Z6Q0V2M4K7T9X3B5N8C1E"
        );
    }

    /// An event's target and module path.
    type Origin = (String, Option<String>);

    /// Issue 17: the general path masked trace ids like any text, so an
    /// id with a Luhn-valid run of digits lost it (one in a few hundred
    /// random ids) and no longer led to its trace. The access path writes
    /// the ids as the span has them.
    #[test]
    fn trace_ids_are_written_as_they_are() {
        let trace_id = "4242424242424242abcdefabcdefabcd";
        assert_ne!(
            Redactor::default().mask(trace_id),
            trace_id,
            "masking changes it"
        );
        let parent = format!("00-{trace_id}-0781234512345678-01");
        let (fast, _) = lines_of(
            &Redactor::default(),
            true,
            &[("/users/9", None, Some(parent.as_str()))],
        );
        assert_eq!(untimed(&fast[0])["trace_id"], trace_id);
    }

    /// Where each event seen came from.
    #[derive(Clone, Default)]
    struct Origins(Arc<Mutex<Vec<Origin>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Origins {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let meta = event.metadata();
            self.0.lock().unwrap().push((
                meta.target().to_owned(),
                meta.module_path().map(str::to_owned),
            ));
        }
    }

    /// The formatter tells this module's events by their target and
    /// module path: those of every access event.
    #[test]
    fn the_formatter_knows_this_module() {
        assert_eq!(
            crate::logs::ACCESS_MODULE,
            module_path!().trim_end_matches("::tests")
        );
        let origins = Origins::default();
        let telemetry = crate::Telemetry::builder()
            .config(crate::Config {
                admin_listen: None,
                system_metrics: false,
                process_metrics: false,
                ..Default::default()
            })
            .build()
            .unwrap();
        let mut service = telemetry.http_layer().layer(tower::service_fn(
            |_: http::Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
            },
        ));
        let subscriber = tracing_subscriber::registry().with(origins.clone());
        tracing::subscriber::with_default(subscriber, || {
            let req = http::Request::get("/")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let body = ready(service.call(req)).unwrap().into_body();
            drop(body);
        });
        let seen = origins.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [(
                crate::logs::ACCESS_TARGET.to_owned(),
                Some(crate::logs::ACCESS_MODULE.to_owned())
            )]
        );
    }
}
