//! The non-blocking buffer in front of each log output: threads that log
//! append their line to a bounded queue and go on; one worker thread per
//! output takes everything queued at once and writes it.
//!
//! - **Bounded, every line counted.** The queue holds at most
//!   `REDLINE_LOG_BUFFER_LINES` lines; a line that does not fit is dropped
//!   and counted ([`DroppedLines`], `redline_log_lines_dropped_total`,
//!   `lines_lost{reason="queue_full"}`). A thread that logs never waits for
//!   a write, only for the queue's lock, held to append one line or to take
//!   the whole queue.
//! - **Batched by time.** After a write, the worker sleeps [`GATHER`]
//!   before it takes the queue again: under load, the lines of those
//!   milliseconds go out in one batch, and nobody wakes the worker. It
//!   waits to be woken only when it found the queue empty; the first line
//!   after such a pause wakes it (one `futex` call by that thread).
//! - **Whole lines, in order.** The worker hands the batch to the output
//!   (`LineBuffer`, see `output`) in pieces of whole lines of at most
//!   64 KiB (the output's buffer), so the output's accounting and its
//!   64 KiB writes are as they were, and a rotation never splits a line.
//! - **Flushed at shutdown.** Dropping the [`QueueGuard`] (at
//!   `Telemetry::flush_logs` or when the `Telemetry` goes) lets the worker
//!   write what is queued and waits for it, at most [`SHUTDOWN_WAIT`] (an
//!   output that blocks, such as a pipe nobody reads, must not hang the
//!   shutdown); lines logged after that are discarded. Both as
//!   `tracing_appender`'s non-blocking writer did.
//!
//! Why not `tracing_appender::non_blocking`, used before: one `Vec` per
//! line, freed by the worker thread (glibc's cross-thread frees), a worker
//! woken whenever its queue had run empty and writing each time, so under
//! load it woke and wrote every few dozen lines: about 1.3 µs of CPU per
//! line on the worker at 100k lines/s, on a machine whose other core
//! serves the requests (docs/PERFORMANCE.md, "Access log").

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the worker lets lines gather after a write.
pub(crate) const GATHER: Duration = Duration::from_millis(10);

/// How long dropping the guard waits for the worker to write what is
/// queued.
pub(crate) const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// A batch buffer larger than this is given back after its write (a
/// burst's buffers are not kept for ever).
const KEEP_CAPACITY: usize = 1 << 20;

/// The lines queued, and what the worker is doing.
#[derive(Default)]
struct State {
    bytes: Vec<u8>,
    lines: usize,
    /// The worker waits for a line (the next one must wake it).
    idle: bool,
    /// The guard was dropped: the worker writes what is left and stops.
    shutdown: bool,
    /// The worker wrote what was left and stopped.
    finished: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the worker (a line in an empty queue, or shutdown).
    wake: Condvar,
    /// Wakes the guard's drop (the worker finished).
    finished: Condvar,
    limit: usize,
    dropped: Arc<AtomicU64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writing end: each `write` is one line (the fmt layer writes a
/// formatted line with one `write_all`). Cheap to clone.
#[derive(Clone)]
pub(crate) struct LineQueue {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LineQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineQueue")
            .field("limit", &self.shared.limit)
            .finish_non_exhaustive()
    }
}

/// Lines dropped because the queue was full. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct DroppedLines(Arc<AtomicU64>);

impl DroppedLines {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Stops the worker when dropped, after it wrote what was queued.
pub(crate) struct QueueGuard {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for QueueGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueGuard").finish_non_exhaustive()
    }
}

/// A queue of at most `limit` lines in front of `out`, written by a thread
/// named `name`. If the thread cannot be started, nothing is written: the
/// queue fills, and every further line is dropped and counted.
pub(crate) fn start(
    out: Box<dyn Write + Send>,
    limit: usize,
    name: &str,
) -> (LineQueue, DroppedLines, QueueGuard) {
    let dropped = Arc::new(AtomicU64::new(0));
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        finished: Condvar::new(),
        limit: limit.max(1),
        dropped: dropped.clone(),
    });
    let worker = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || work(&shared, out))
    };
    let worker = match worker {
        Ok(handle) => Some(handle),
        Err(e) => {
            eprintln!("redline: cannot start the log writer thread {name}: {e}");
            None
        }
    };
    (
        LineQueue {
            shared: shared.clone(),
        },
        DroppedLines(dropped),
        QueueGuard { shared, worker },
    )
}

impl LineQueue {
    /// Queues `line`, or drops and counts it when the queue is full; never
    /// waits for a write.
    pub(crate) fn push(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        if state.shutdown {
            return;
        }
        if state.lines >= shared.limit {
            drop(state);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.bytes.extend_from_slice(line);
        state.lines += 1;
        let wake = std::mem::take(&mut state.idle);
        drop(state);
        if wake {
            shared.wake.notify_one();
        }
    }
}

impl Write for LineQueue {
    /// [`LineQueue::push`]: one call, one line; never fails.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for QueueGuard {
    /// Stops the worker once it wrote what is queued, waiting at most
    /// [`SHUTDOWN_WAIT`]; a worker stuck in a write is left behind.
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + SHUTDOWN_WAIT;
        let mut state = self.shared.lock();
        state.shutdown = true;
        self.shared.wake.notify_one();
        if self.worker.is_none() {
            return;
        }
        while !state.finished {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            state = self
                .shared
                .finished
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(state);
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The worker: takes the whole queue, writes it line by line, flushes,
/// lets lines gather; waits to be woken when the queue is empty.
fn work(shared: &Shared, mut out: Box<dyn Write + Send>) {
    let mut batch = Vec::new();
    loop {
        let shutdown = {
            let mut state = shared.lock();
            while state.lines == 0 && !state.shutdown {
                state.idle = true;
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.idle = false;
            std::mem::swap(&mut state.bytes, &mut batch);
            state.lines = 0;
            state.shutdown
        };
        // The output counts (and on failure keeps or loses) whole lines;
        // it never fails a write (see `output::LineBuffer`).
        for piece in line_pieces(&batch, super::output::CAPACITY) {
            let _ = out.write_all(piece);
        }
        let _ = out.flush();
        batch.clear();
        if batch.capacity() > KEEP_CAPACITY {
            batch = Vec::new();
        }
        if shutdown {
            shared.lock().finished = true;
            shared.finished.notify_all();
            return;
        }
        std::thread::sleep(GATHER);
    }
}

/// `bytes` cut after a `\n` into pieces of at most `max` bytes; a line
/// longer than `max` is a piece of its own.
fn line_pieces(bytes: &[u8], max: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = if rest.len() <= max {
            rest.len()
        } else {
            match rest[..max].iter().rposition(|&b| b == b'\n') {
                Some(newline) => newline + 1,
                None => rest[max..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |newline| max + newline + 1),
            }
        };
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Records each write (and flushes) it is given.
    #[derive(Clone, Default)]
    struct Record(Arc<Mutex<(Vec<Vec<u8>>, usize)>>);

    impl Write for Record {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.lock().unwrap().1 += 1;
            Ok(())
        }
    }

    #[test]
    fn lines_come_out_whole_in_order_and_batched() {
        let out = Record::default();
        let (queue, dropped, guard) = start(Box::new(out.clone()), 100_000, "test-queue");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut q = queue.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        q.write_all(format!("t{t} {i:05}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        assert_eq!(dropped.get(), 0);
        let (writes, flushes) = out.0.lock().unwrap().clone();
        let mut next = [0usize; 4];
        for w in &writes {
            let text = std::str::from_utf8(w).unwrap();
            assert!(text.ends_with('\n'), "whole lines");
            assert!(w.len() <= super::super::output::CAPACITY);
            for line in text.lines() {
                let t: usize = line[1..2].parse().unwrap();
                let i: usize = line[3..8].parse().unwrap();
                assert_eq!(i, next[t], "each thread's lines in order");
                next[t] += 1;
            }
        }
        assert_eq!(next, [5_000; 4], "every line once");
        // A flush per batch: far fewer than lines.
        assert!(flushes < 2_000, "{flushes} flushes for 20000 lines");
    }

    #[test]
    fn a_full_queue_drops_and_counts_and_shutdown_writes_the_rest() {
        /// (entered a write, released, lines written), and its condition.
        type Gate = (Mutex<(bool, bool, usize)>, Condvar);
        /// Blocks its writes until released.
        #[derive(Clone, Default)]
        struct Stuck(Arc<Gate>);
        impl Write for Stuck {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let (lock, cv) = &*self.0;
                let mut s = lock.lock().unwrap();
                s.0 = true;
                cv.notify_all();
                while !s.1 {
                    s = cv.wait(s).unwrap();
                }
                s.2 += buf.iter().filter(|&&b| b == b'\n').count();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let out = Stuck::default();
        let (mut queue, dropped, guard) = start(Box::new(out.clone()), 8, "test-queue");
        queue.write_all(b"first\n").unwrap();
        {
            let (lock, cv) = &*out.0;
            let mut s = lock.lock().unwrap();
            while !s.0 {
                s = cv.wait(s).unwrap();
            }
        }
        for i in 0..20 {
            queue.write_all(format!("{i}\n").as_bytes()).unwrap();
        }
        assert_eq!(dropped.get(), 12, "8 fit, 12 dropped");
        {
            let (lock, cv) = &*out.0;
            lock.lock().unwrap().1 = true;
            cv.notify_all();
        }
        drop(guard);
        assert_eq!(out.0.0.lock().unwrap().2, 9, "the first and the 8 queued");
        // After shutdown: discarded, not counted (nothing writes them).
        queue.write_all(b"late\n").unwrap();
        assert_eq!(dropped.get(), 12);
    }

    #[test]
    fn pieces_are_whole_lines_of_at_most_the_limit() {
        let text = b"a\nbb\nccc\ndddddddddd\ne\n";
        for max in 1..30 {
            let pieces: Vec<&[u8]> = line_pieces(text, max).collect();
            assert_eq!(pieces.concat(), text, "max {max}");
            for p in &pieces {
                assert!(p.ends_with(b"\n"), "max {max}: {p:?}");
                let lines = p.iter().filter(|&&b| b == b'\n').count();
                assert!(p.len() <= max || lines == 1, "max {max}: {p:?}");
            }
        }
        let pieces: Vec<&[u8]> = line_pieces(b"a\nbb\nccc\n", 6).collect();
        assert_eq!(pieces, [&b"a\nbb\n"[..], b"ccc\n"]);
        assert_eq!(line_pieces(b"", 4).count(), 0);
        assert_eq!(
            line_pieces(b"no newline", 4).collect::<Vec<_>>(),
            [b"no newline"]
        );
    }

    /// An output that never returns does not hang the guard's drop.
    #[test]
    fn shutdown_waits_a_bounded_time_for_a_stuck_output() {
        struct Never;
        impl Write for Never {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                loop {
                    std::thread::park();
                }
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (mut queue, _dropped, guard) = start(Box::new(Never), 16, "test-queue");
        queue.write_all(b"stuck\n").unwrap();
        let started = Instant::now();
        drop(guard);
        let waited = started.elapsed();
        assert!(
            waited >= SHUTDOWN_WAIT && waited < SHUTDOWN_WAIT * 3,
            "{waited:?}"
        );
    }

    #[test]
    fn an_idle_worker_wakes_for_the_next_line() {
        let out = Record::default();
        let (mut queue, _dropped, _guard) = start(Box::new(out.clone()), 16, "test-queue");
        for round in 0..3 {
            // Long enough for the worker to find the queue empty and wait.
            std::thread::sleep(GATHER * 5);
            queue.write_all(format!("{round}\n").as_bytes()).unwrap();
            let started = Instant::now();
            while out.0.lock().unwrap().0.len() <= round {
                assert!(started.elapsed() < Duration::from_secs(5), "not written");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
