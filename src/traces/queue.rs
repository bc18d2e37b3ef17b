//! The export queue: spans already encoded as OTLP protobuf, in chunks of
//! at most one export request each, bounded in spans.
//!
//! Why encoded bytes, not span objects: at 100% sampling the SDK's path
//! (a `SpanData` per span sent to the batch thread, converted there to
//! `opentelemetry-proto` structs, each attribute a fresh `String`, then
//! encoded and freed across threads) cost more than the request itself
//! (callgrind, issue 17). A span here is written once, into a thread-local
//! buffer, and copied into the chunk under a short lock; the chunk's
//! buffers are reused from one export to the next.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;

use super::pipeline::PipelineMetrics;
use super::wire::{proto, request};

/// Most instrumentation scopes told apart; spans of further scopes are
/// exported under the last one (scopes are named in code, not by clients).
const MAX_SCOPES: usize = 64;

/// The keys of client text the HTTP layer records. Whether the redactor
/// calls one of them a secret is asked once, not per request.
pub(crate) const LAYER_KEYS: [&str; 4] = [
    "url.path",
    "user_agent.original",
    "http.request.header.x-request-id",
    "http.request.method_original",
];

/// The scope of redline's own spans (the HTTP layer's server spans).
pub(crate) const REDLINE_SCOPE: usize = 0;

/// What one export request carries: per scope, its spans (each a `spans`
/// field of `ScopeSpans`).
#[derive(Default)]
pub(crate) struct Chunk {
    /// Indexed like `State::scopes`; empty buffers for absent scopes.
    pub(crate) spans: Vec<Vec<u8>>,
    pub(crate) count: usize,
}

impl Chunk {
    fn clear(&mut self) {
        self.spans.iter_mut().for_each(Vec::clear);
        self.count = 0;
    }
}

struct State {
    chunks: VecDeque<Chunk>,
    spare: Vec<Chunk>,
    queued: usize,
    /// Each scope: the SDK's value (to recognize it) and its `ScopeSpans`
    /// fields, encoded once.
    scopes: Vec<(InstrumentationScope, Vec<u8>)>,
    closed: bool,
    /// Flushes asked for and done (the exporter catches up).
    flush_asked: u64,
    flush_done: u64,
    exporter_done: bool,
    /// Export requests that failed (flush and shutdown report failures
    /// seen while they waited).
    failures: u64,
    /// The latest export request failed.
    last_failed: bool,
}

/// How a flush or shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Everything was handed to the collector.
    Delivered,
    /// The exporter caught up, but an export failed meanwhile.
    Failed,
    /// The bound elapsed first.
    TimedOut,
}

/// The bounded queue between the threads that end spans and the exporter.
pub(crate) struct SpanQueue {
    state: Mutex<State>,
    /// The exporter waits on it: a chunk is full, a flush, shutdown.
    wake: Condvar,
    /// Flush and shutdown wait on it: the exporter caught up or stopped.
    progress: Condvar,
    max_spans: usize,
    batch: usize,
    pub(crate) delay: Duration,
    pub(crate) metrics: PipelineMetrics,
    pub(crate) redactor: crate::redact::Redactor,
    /// Spans of tentative traces, waiting for their request's decision.
    pub(crate) held: super::held::Held,
    /// Those of [`LAYER_KEYS`] the redactor calls secrets (usually none).
    pub(crate) sensitive_keys: Vec<&'static str>,
    /// Bound of `force_flush` (the shutdown timeout).
    pub(crate) flush_timeout: Duration,
}

impl std::fmt::Debug for SpanQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanQueue")
            .field("max_spans", &self.max_spans)
            .finish_non_exhaustive()
    }
}

/// What the exporter is handed next.
pub(crate) enum Next {
    Export(Chunk),
    /// Closed and drained: the exporter stops.
    Stop,
}

/// The settings of a queue.
pub(crate) struct QueueSettings {
    pub(crate) max_spans: usize,
    pub(crate) batch: usize,
    pub(crate) delay: Duration,
    pub(crate) flush_timeout: Duration,
}

impl SpanQueue {
    pub(crate) fn new(
        settings: QueueSettings,
        redline_scope: &InstrumentationScope,
        metrics: PipelineMetrics,
        redactor: crate::redact::Redactor,
    ) -> Self {
        metrics.capacity.set(settings.max_spans as i64);
        Self {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                spare: Vec::new(),
                queued: 0,
                scopes: vec![(redline_scope.clone(), request::scope_fields(redline_scope))],
                closed: false,
                flush_asked: 0,
                flush_done: 0,
                exporter_done: false,
                failures: 0,
                last_failed: false,
            }),
            wake: Condvar::new(),
            progress: Condvar::new(),
            max_spans: settings.max_spans.max(1),
            batch: settings.batch.max(1),
            delay: settings.delay,
            metrics,
            held: super::held::Held::default(),
            sensitive_keys: LAYER_KEYS
                .into_iter()
                .filter(|k| redactor.is_sensitive_key(k))
                .collect(),
            redactor,
            flush_timeout: settings.flush_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one span body of redline's scope; counted as dropped when
    /// the queue is full or shut down.
    pub(crate) fn push(&self, body: &[u8]) {
        let mut s = self.lock();
        self.push_locked(&mut s, REDLINE_SCOPE, body);
    }

    /// Queues one span body of `scope` (an SDK span).
    pub(crate) fn push_scoped(&self, scope: &InstrumentationScope, body: &[u8]) {
        let mut s = self.lock();
        let index = match s.scopes.iter().position(|(known, _)| known == scope) {
            Some(i) => i,
            None if s.scopes.len() < MAX_SCOPES => {
                s.scopes.push((scope.clone(), request::scope_fields(scope)));
                s.scopes.len() - 1
            }
            None => MAX_SCOPES - 1,
        };
        self.push_locked(&mut s, index, body);
    }

    fn push_locked(&self, s: &mut State, scope: usize, body: &[u8]) {
        let m = &self.metrics;
        if s.closed {
            m.dropped_shutdown.inc();
            return;
        }
        if s.queued >= self.max_spans {
            m.dropped_queue_full.inc();
            return;
        }
        if s.chunks.back().is_none_or(|c| c.count >= self.batch) {
            let chunk = s.spare.pop().unwrap_or_default();
            s.chunks.push_back(chunk);
        }
        let scopes = s.scopes.len();
        let Some(chunk) = s.chunks.back_mut() else {
            return;
        };
        if chunk.spans.len() < scopes {
            chunk.spans.resize_with(scopes, Vec::new);
        }
        proto::nested(&mut chunk.spans[scope], 2, body);
        chunk.count += 1;
        let full = chunk.count >= self.batch;
        s.queued += 1;
        m.queued.set(s.queued as i64);
        if full {
            self.wake.notify_one();
        }
    }

    /// The exporter's wait for its next chunk: a full one at once; a
    /// partial one after `delay`, or at once when a flush or shutdown asks.
    pub(crate) fn next(&self, deadline: &mut Instant) -> Next {
        let mut s = self.lock();
        loop {
            let urgent = s.closed || s.flush_asked > s.flush_done;
            let ready = s
                .chunks
                .front()
                .is_some_and(|c| c.count >= self.batch || urgent || Instant::now() >= *deadline);
            if ready && let Some(chunk) = s.chunks.pop_front() {
                s.queued -= chunk.count;
                self.metrics.queued.set(s.queued as i64);
                *deadline = Instant::now() + self.delay;
                return Next::Export(chunk);
            }
            if s.chunks.is_empty() {
                if s.flush_asked > s.flush_done {
                    s.flush_done = s.flush_asked;
                    self.progress.notify_all();
                }
                if s.closed {
                    return Next::Stop;
                }
            }
            let now = Instant::now();
            if now >= *deadline {
                *deadline = now + self.delay;
            }
            let wait = deadline.saturating_duration_since(now);
            s = self
                .wake
                .wait_timeout(s, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Gives an exported chunk's buffers back for reuse.
    pub(crate) fn recycle(&self, mut chunk: Chunk) {
        chunk.clear();
        let mut s = self.lock();
        if s.spare.len() < 4 {
            s.spare.push(chunk);
        }
    }

    /// The `ScopeSpans` fields of the scopes after the first `known`
    /// (the exporter keeps its own copy: scopes are only ever added).
    pub(crate) fn scopes_since(&self, known: usize) -> Vec<Vec<u8>> {
        let s = self.lock();
        s.scopes
            .iter()
            .skip(known)
            .map(|(_, fields)| fields.clone())
            .collect()
    }

    /// Waits until what is queued now has been exported (or failed), at
    /// most `timeout`.
    pub(crate) fn flush(&self, timeout: Duration) -> Drained {
        let mut s = self.lock();
        if s.exporter_done {
            return Drained::Delivered;
        }
        s.flush_asked += 1;
        let ticket = s.flush_asked;
        self.wait(s, timeout, |s| s.flush_done >= ticket || s.exporter_done)
    }

    /// Refuses new spans, lets the exporter drain the queue and waits for
    /// it to stop, at most `timeout`.
    pub(crate) fn close(&self, timeout: Duration) -> Drained {
        let mut s = self.lock();
        s.closed = true;
        self.wait(s, timeout, |s| s.exporter_done)
    }

    /// Wakes the exporter and waits until `done`, at most `timeout`.
    fn wait(
        &self,
        mut s: MutexGuard<'_, State>,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> Drained {
        let failures = s.failures;
        self.wake.notify_one();
        let until = Instant::now() + timeout;
        while !done(&s) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Drained::TimedOut;
            }
            s = self
                .progress
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        // A failure while waiting, or a collector that failed the latest
        // export (nothing was left to send, but it is not reachable).
        if s.failures > failures || s.last_failed {
            Drained::Failed
        } else {
            Drained::Delivered
        }
    }

    /// Called by the exporter after each export request.
    pub(crate) fn exported(&self, ok: bool) {
        let mut s = self.lock();
        s.last_failed = !ok;
        s.failures += u64::from(!ok);
    }

    /// Called by the exporter as it stops.
    pub(crate) fn exporter_stopped(&self) {
        let mut s = self.lock();
        s.exporter_done = true;
        s.flush_done = s.flush_asked;
        self.progress.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(max_spans: usize, batch: usize) -> SpanQueue {
        let registry = prometheus::Registry::new();
        SpanQueue::new(
            QueueSettings {
                max_spans,
                batch,
                delay: Duration::from_secs(3600),
                flush_timeout: Duration::from_millis(50),
            },
            &InstrumentationScope::builder("redline").build(),
            PipelineMetrics::register(&registry).unwrap(),
            crate::redact::Redactor::default(),
        )
    }

    #[test]
    fn chunks_of_a_batch_bounded_in_spans_with_drops_counted() {
        let q = queue(5, 2);
        let app = InstrumentationScope::builder("app").build();
        for i in 0..7u8 {
            if i % 2 == 0 {
                q.push(&[i]);
            } else {
                q.push_scoped(&app, &[i]);
            }
        }
        assert_eq!(q.metrics.dropped_queue_full.get(), 2);
        assert_eq!(q.metrics.queued.get(), 5);
        let mut deadline = Instant::now() + Duration::from_secs(3600);
        let mut sizes = Vec::new();
        for _ in 0..2 {
            match q.next(&mut deadline) {
                Next::Export(chunk) => {
                    // Each span is a `spans` field: tag, length 1, byte.
                    let bytes: usize = chunk.spans.iter().map(Vec::len).sum();
                    assert_eq!(bytes, 3 * chunk.count);
                    sizes.push(chunk.count);
                    q.recycle(chunk);
                }
                Next::Stop => panic!("not closed"),
            }
        }
        assert_eq!(sizes, [2, 2], "full chunks leave at once");
        assert_eq!(q.metrics.queued.get(), 1);
        assert_eq!(q.scopes_since(0).len(), 2, "redline's scope and the app's");
        // No exporter: a flush waits for its bound, then says so.
        assert_eq!(q.flush(Duration::from_millis(20)), Drained::TimedOut);
        // Closed: the last partial chunk leaves at once, then Stop.
        assert_eq!(q.close(Duration::from_millis(1)), Drained::TimedOut);
        assert!(matches!(q.next(&mut deadline), Next::Export(c) if c.count == 1));
        assert!(matches!(q.next(&mut deadline), Next::Stop));
        q.push(&[9]);
        assert_eq!(q.metrics.dropped_shutdown.get(), 1);
        q.exported(false);
        q.exporter_stopped();
        assert_eq!(q.flush(Duration::from_millis(20)), Drained::Delivered);
    }
}
