//! The operation timer: latency, outcome and in-flight count for work that is
//! not an HTTP request (a bot's command executor, a batch processor, a media
//! handler…).
//!
//! Families: `redline_operation_duration_seconds{operation,outcome}` and
//! `redline_operations_active{operation}`, both capped like every family.
//!
//! One concern kept whole (just over 500 lines): the operation timer, its
//! hot-path storage and its optional child span, which share one `'static`
//! store per `Telemetry`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;
use prometheus::IntCounter;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{MetricFamily, MetricType};

use super::family::{Interner, LabelSets, OVERFLOW_ID, OVERFLOW_LABEL};
use super::proto;
use super::sharded::{Buckets, ShardedGauge, ShardedHistogram};
use crate::traces::TraceHot;

pub(crate) const DURATION: &str = "redline_operation_duration_seconds";
pub(crate) const ACTIVE: &str = "redline_operations_active";

/// Default operation duration buckets, in seconds: 1 ms to 60 s (operations
/// include batch jobs, slower than typical HTTP requests).
///
/// ```
/// use redline::metrics::DEFAULT_OPERATION_BUCKETS;
/// assert_eq!(redline::Config::default().operation_duration_buckets, DEFAULT_OPERATION_BUCKETS);
/// let t = redline::Telemetry::builder().build().unwrap();
/// t.operations().time("job", || ());
/// assert!(t.render_metrics().contains(r#"operation="job",outcome="success",le="0.001"}"#));
/// ```
pub const DEFAULT_OPERATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// How an operation ended: the `outcome` label.
///
/// ```
/// use redline::Outcome;
/// let t = redline::Telemetry::builder().build().unwrap();
/// let found: Option<u32> = t.operations().time("lookup", || None); // `None`: error
/// assert_eq!(found, None);
/// assert!(t.render_metrics().contains(r#"operation="lookup",outcome="error""#));
/// assert_eq!(Outcome::Cancelled.as_str(), "cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Outcome {
    /// It returned normally (`Ok`, or a value that is not a `Result`).
    Success = 0,
    /// It returned an error (`Err`).
    Error = 1,
    /// It panicked.
    Panic = 2,
    /// Its future was dropped before completing (timeout, shutdown…).
    Cancelled = 3,
}

impl Outcome {
    const NAMES: [&'static str; 4] = ["success", "error", "panic", "cancelled"];

    /// The label value.
    ///
    /// ```
    /// assert_eq!(redline::Outcome::Error.as_str(), "error");
    /// ```
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Values whose outcome the timer can read: `Result` (`Ok` → success, `Err`
/// → error), `Option` (`None` → error), `bool` and `()`.
///
/// ```
/// use redline::{IntoOutcome, Outcome};
/// assert_eq!(Ok::<u8, ()>(1).outcome(), Outcome::Success);
/// assert_eq!(None::<u8>.outcome(), Outcome::Error);
/// ```
pub trait IntoOutcome {
    /// The outcome of this value.
    fn outcome(&self) -> Outcome;

    /// For an error, the message the operation's span carries as its
    /// status description (`None`: no message).
    ///
    /// ```
    /// use redline::IntoOutcome;
    /// assert_eq!(Err::<(), _>("disk full").error_message().as_deref(), Some("\"disk full\""));
    /// assert_eq!(Ok::<_, ()>(1).error_message(), None);
    /// ```
    fn error_message(&self) -> Option<String> {
        None
    }
}

/// Longest error message put on a span.
const MAX_ERROR_MESSAGE: usize = 256;

/// `Debug` rather than `Display`: every error type has it (`()` included),
/// so timing any `Result` keeps working.
impl<T, E: std::fmt::Debug> IntoOutcome for Result<T, E> {
    fn outcome(&self) -> Outcome {
        if self.is_ok() {
            Outcome::Success
        } else {
            Outcome::Error
        }
    }

    fn error_message(&self) -> Option<String> {
        let e = self.as_ref().err()?;
        let mut message = format!("{e:?}");
        if message.len() > MAX_ERROR_MESSAGE {
            let mut end = MAX_ERROR_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        Some(message)
    }
}

impl<T> IntoOutcome for Option<T> {
    fn outcome(&self) -> Outcome {
        if self.is_some() {
            Outcome::Success
        } else {
            Outcome::Error
        }
    }
}

impl IntoOutcome for bool {
    fn outcome(&self) -> Outcome {
        if *self {
            Outcome::Success
        } else {
            Outcome::Error
        }
    }
}

impl IntoOutcome for () {
    fn outcome(&self) -> Outcome {
        Outcome::Success
    }
}

struct Inner {
    trace: Option<&'static TraceHot>,
    names: Interner,
    buckets: Buckets,
    durations: LabelSets<(u32, u8), ShardedHistogram>,
    active: LabelSets<u32, ShardedGauge>,
    descs: Vec<Desc>,
}

/// Times named operations. Cheap to clone; get it from
/// [`Telemetry::operations`](crate::Telemetry::operations).
///
/// ```
/// let telemetry = redline::Telemetry::builder().build().unwrap();
/// let ops = telemetry.operations();
/// let parsed: Result<u32, std::num::ParseIntError> = ops.time("parse", || "42".parse());
/// assert_eq!(parsed, Ok(42));
/// ```
#[derive(Clone, Copy)]
pub struct OperationTimer {
    // Allocated once, never freed: see `crate::leak::leak`.
    inner: &'static Inner,
}

impl OperationTimer {
    pub(crate) fn new(
        buckets: &[f64],
        cap: usize,
        overflow: IntCounter,
        trace: Option<&'static TraceHot>,
    ) -> Self {
        let descs = vec![
            proto::desc(
                DURATION,
                "Duration of non-HTTP operations, by outcome.",
                &["operation", "outcome"],
            ),
            proto::desc(ACTIVE, "Operations in flight.", &["operation"]),
        ];
        Self {
            inner: crate::leak::leak(Inner {
                trace: trace.filter(|t| t.exporting),
                names: Interner::new(cap, overflow.clone()),
                buckets: Buckets::new(buckets, 1e-9),
                // Four outcomes per operation.
                durations: LabelSets::new(
                    cap.saturating_mul(4),
                    (OVERFLOW_ID, u8::MAX),
                    overflow.clone(),
                ),
                active: LabelSets::new(cap, OVERFLOW_ID, overflow),
                descs,
            }),
        }
    }

    /// A handle for one operation name, resolved once: keep it where the
    /// work happens to skip the name lookup on every call.
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let send = telemetry.operations().operation("media_handler");
    /// let n: Result<u32, String> = send.time(|| Ok(3 + 4));
    /// assert_eq!(n, Ok(7));
    /// ```
    pub fn operation(&self, name: &str) -> Operation {
        Operation {
            inner: self.inner,
            id: self.inner.names.id(name),
        }
    }

    /// Runs `f`, timing it under `name`; the outcome comes from its result
    /// (see [`IntoOutcome`]), or is `panic` if it panics.
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let r: Result<(), &str> = telemetry.operations().time("cleanup", || Err("disk full"));
    /// assert!(r.is_err());
    /// ```
    pub fn time<T: IntoOutcome>(&self, name: &str, f: impl FnOnce() -> T) -> T {
        self.operation(name).time(f)
    }

    /// Times a future under `name` until it completes; a future dropped
    /// early is recorded as `cancelled`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let ops = telemetry.operations();
    /// let r: Result<u8, ()> = ops.time_future("fetch", async { Ok(1) }).await;
    /// assert_eq!(r, Ok(1));
    /// # });
    /// ```
    pub fn time_future<F>(&self, name: &str, future: F) -> Timed<F>
    where
        F: Future,
        F::Output: IntoOutcome,
    {
        self.operation(name).time_future(future)
    }
}

/// A pre-resolved operation name (see [`OperationTimer::operation`]).
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let op: redline::Operation = t.operations().operation("resize");
/// for n in 0..3 {
///     op.time(|| n < 2); // `false`: error
/// }
/// let text = t.render_metrics();
/// assert!(text.contains(r#"redline_operation_duration_seconds_count{operation="resize",outcome="success"} 2"#));
/// ```
#[derive(Clone, Copy)]
pub struct Operation {
    inner: &'static Inner,
    id: u32,
}

impl Operation {
    /// Runs and times `f` (see [`OperationTimer::time`]).
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let op = telemetry.operations().operation("sum");
    /// assert_eq!(op.time(|| Some(2)), Some(2));
    /// ```
    pub fn time<T: IntoOutcome>(&self, f: impl FnOnce() -> T) -> T {
        let mut guard = self.start();
        let attached = guard.span.as_ref().map(|cx| cx.clone().attach());
        let value = f();
        drop(attached);
        guard.record(value.outcome(), &|| value.error_message());
        value
    }

    /// Times `future` (see [`OperationTimer::time_future`]).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let op = telemetry.operations().operation("batch");
    /// assert!(op.time_future(async { true }).await);
    /// # });
    /// ```
    pub fn time_future<F>(&self, future: F) -> Timed<F>
    where
        F: Future,
        F::Output: IntoOutcome,
    {
        Timed {
            future,
            op: *self,
            guard: None,
        }
    }

    /// Starts timing by hand; call [`OperationGuard::finish`] with the
    /// outcome. A guard dropped without `finish` records `cancelled` (or
    /// `panic` while unwinding).
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let guard = telemetry.operations().operation("step").start();
    /// guard.finish(redline::Outcome::Success);
    /// ```
    pub fn start(&self) -> OperationGuard {
        self.adjust_active(1);
        OperationGuard {
            op: Some(*self),
            start: Instant::now(),
            span: self.inner.trace.and_then(|hot| self.start_span(hot)),
        }
    }

    /// A child span of the current context, named after the operation.
    fn start_span(&self, hot: &'static TraceHot) -> Option<opentelemetry::Context> {
        use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
        let parent = opentelemetry::Context::current();
        {
            let parent_span = parent.span();
            let sc = parent_span.span_context();
            // Children of an unsampled trace are not sampled either: skip
            // the span (and its name allocation) altogether.
            if sc.is_valid() && !sc.is_sampled() {
                return None;
            }
        }
        let name = self.inner.names.name(self.id).to_string();
        let span = hot
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .start_with_context(&hot.tracer, &parent);
        Some(parent.with_span(span))
    }

    fn adjust_active(&self, delta: i64) {
        self.inner
            .active
            .with(&self.id, ShardedGauge::new, |g| g.add(delta));
    }

    fn record(&self, outcome: Outcome, nanos: u64) {
        let buckets = &self.inner.buckets;
        self.inner.durations.with(
            &(self.id, outcome as u8),
            || ShardedHistogram::new(buckets),
            |h| h.observe(buckets, nanos),
        );
        self.adjust_active(-1);
    }
}

/// A running operation (see [`Operation::start`]).
///
/// ```
/// let t = redline::Telemetry::builder().build().unwrap();
/// let guard: redline::metrics::OperationGuard = t.operations().operation("upload").start();
/// drop(guard); // never finished: recorded as cancelled
/// assert!(t.render_metrics().contains(r#"operation="upload",outcome="cancelled""#));
/// ```
#[must_use = "dropping the guard at once records a cancelled operation"]
pub struct OperationGuard {
    op: Option<Operation>,
    start: Instant,
    /// The operation's span (when traces are exported).
    span: Option<opentelemetry::Context>,
}

impl OperationGuard {
    /// Records the operation with `outcome`.
    ///
    /// ```
    /// let telemetry = redline::Telemetry::builder().build().unwrap();
    /// let guard = telemetry.operations().operation("send").start();
    /// guard.finish(redline::Outcome::Error);
    /// ```
    pub fn finish(mut self, outcome: Outcome) {
        self.record(outcome, &|| None);
    }

    fn record(&mut self, outcome: Outcome, message: &dyn Fn() -> Option<String>) {
        if let Some(op) = self.op.take() {
            let nanos = self.start.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            op.record(outcome, nanos);
        }
        if let Some(cx) = self.span.take() {
            use opentelemetry::trace::{Status, TraceContextExt};
            let span = cx.span();
            if outcome != Outcome::Success {
                span.set_attribute(opentelemetry::KeyValue::new("error.type", outcome.as_str()));
            }
            match outcome {
                Outcome::Success | Outcome::Cancelled => {}
                Outcome::Error => span.set_status(Status::error(
                    message().unwrap_or_else(|| "error".to_owned()),
                )),
                Outcome::Panic => span.set_status(Status::error("panic")),
            }
            span.end();
        }
    }
}

impl Drop for OperationGuard {
    fn drop(&mut self) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            Outcome::Cancelled
        };
        self.record(outcome, &|| None);
    }
}

pin_project! {
    /// A future timed as an operation (see [`Operation::time_future`]).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let t = redline::Telemetry::builder().build().unwrap();
    /// let timed: redline::metrics::Timed<_> =
    ///     t.operations().time_future("fetch", async { Err::<(), _>("timeout") });
    /// assert!(timed.await.is_err());
    /// assert!(t.render_metrics().contains(r#"operation="fetch",outcome="error""#));
    /// # });
    /// ```
    pub struct Timed<F> {
        #[pin]
        future: F,
        op: Operation,
        guard: Option<OperationGuard>,
    }
}

impl<F> Future for Timed<F>
where
    F: Future,
    F::Output: IntoOutcome,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The clock starts at the first poll, so a future built but never
        // awaited records nothing.
        if this.guard.is_none() {
            *this.guard = Some(this.op.start());
        }
        let attached = this
            .guard
            .as_ref()
            .and_then(|g| g.span.as_ref())
            .map(|span| span.clone().attach());
        let output = std::task::ready!(this.future.poll(cx));
        drop(attached);
        if let Some(mut guard) = this.guard.take() {
            guard.record(output.outcome(), &|| output.error_message());
        }
        Poll::Ready(output)
    }
}

impl Collector for OperationTimer {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let inner = self.inner;
        let names = inner.names.names();
        let name = |id: u32| -> &str {
            if id == OVERFLOW_ID {
                OVERFLOW_LABEL
            } else {
                names
                    .get(id as usize)
                    .map(|n| &**n)
                    .unwrap_or(OVERFLOW_LABEL)
            }
        };
        let mut duration = proto::family(DURATION, &inner.descs[0].help, MetricType::HISTOGRAM);
        duration.set_metric(
            inner
                .durations
                .iter()
                .map(|(&(id, outcome), h)| {
                    let outcome = Outcome::NAMES
                        .get(outcome as usize)
                        .copied()
                        .unwrap_or(OVERFLOW_LABEL);
                    proto::histogram(
                        proto::labels(&[("operation", name(id)), ("outcome", outcome)]),
                        ShardedHistogram::to_proto(&h.snapshot(), &inner.buckets),
                    )
                })
                .collect(),
        );
        let mut active = proto::family(ACTIVE, &inner.descs[1].help, MetricType::GAUGE);
        active.set_metric(
            inner
                .active
                .iter()
                .map(|(&id, g)| {
                    proto::gauge(proto::labels(&[("operation", name(id))]), g.get() as f64)
                })
                .collect(),
        );
        vec![duration, active]
    }
}

impl std::fmt::Debug for OperationTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationTimer").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OperationGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationGuard").finish_non_exhaustive()
    }
}
