//! The last step of a log output: a 64 KiB buffer of whole lines in front
//! of stdout or the rotating file, written by the worker thread of the
//! output's non-blocking queue (see `queue`), that counts every line it
//! loses and why.
//!
//! Why not `std::io::BufWriter`: when its write fails it keeps its bytes
//! and fails the next call, so the line handed in is dropped by the worker
//! without a count (a worker has nobody to report a write error to), and
//! nobody knows how many lines a full disk cost.
//! [`LineBuffer`] knows the lines it holds: a line is either written, or
//! counted lost (`redline_log_lines_lost_total{output,reason}`), exactly.
//!
//! Behaviour: lines are gathered until the next would overflow the buffer
//! or the worker has written the batch it took from its queue (the worker
//! then flushes; under load a batch holds the lines of a few
//! milliseconds), so many lines share one `write(2)`; a crash loses at
//! most the 64 KiB gathered, and what was queued. When a write fails, the gathered lines are kept (they are the
//! oldest) and written by the first write that works; lines arriving
//! meanwhile that do not fit are lost and counted. At shutdown, what cannot
//! be written is counted lost.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many bytes of lines are gathered before a write.
pub(crate) const CAPACITY: usize = 64 * 1024;

/// Why a line was lost (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LostReason {
    /// The volume or the user's quota is full (`ENOSPC`, `EDQUOT`).
    NoSpace,
    /// Any other write error (a closed stdout, an I/O error).
    WriteFailed,
}

impl LostReason {
    fn of(e: &io::Error) -> Self {
        if super::rotation::out_of_space(e) {
            LostReason::NoSpace
        } else {
            LostReason::WriteFailed
        }
    }
}

/// What one output did, counted by its [`LineBuffer`].
#[derive(Debug, Default)]
pub(crate) struct OutputCounters {
    /// Lines written to the underlying writer.
    pub(crate) lines: AtomicU64,
    /// Bytes written to the underlying writer.
    pub(crate) bytes: AtomicU64,
    /// Writes that failed.
    pub(crate) errors: AtomicU64,
    /// Lines lost because the volume was full.
    pub(crate) lost_no_space: AtomicU64,
    /// Lines lost to another write error.
    pub(crate) lost_write_failed: AtomicU64,
}

impl OutputCounters {
    fn lose(&self, lines: u64, reason: LostReason) {
        let counter = match reason {
            LostReason::NoSpace => &self.lost_no_space,
            LostReason::WriteFailed => &self.lost_write_failed,
        };
        counter.fetch_add(lines, Ordering::Relaxed);
    }
}

/// Whole lines gathered in front of `W` (see the module docs).
pub(crate) struct LineBuffer<W: Write> {
    inner: W,
    buf: Vec<u8>,
    capacity: usize,
    counters: Arc<OutputCounters>,
}

/// The lines in `buf`: its `\n`s, and a last line without one.
fn lines_in(buf: &[u8]) -> u64 {
    let newlines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(buf.last().is_some_and(|&b| b != b'\n'))
}

impl<W: Write> LineBuffer<W> {
    pub(crate) fn new(inner: W, counters: Arc<OutputCounters>) -> Self {
        Self::with_capacity(CAPACITY, inner, counters)
    }

    pub(crate) fn with_capacity(capacity: usize, inner: W, counters: Arc<OutputCounters>) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(capacity),
            capacity,
            counters,
        }
    }

    /// Writes `bytes` to the underlying writer, as far as it goes, and
    /// counts the outcome: how many bytes were written, and the error that
    /// stopped it, if any. Lines count as written when their `\n` is.
    fn write_out(&mut self, bytes: &[u8]) -> (usize, io::Result<()>) {
        let mut done = 0;
        let mut result = Ok(());
        while done < bytes.len() {
            match self.inner.write(&bytes[done..]) {
                Ok(0) => {
                    result = Err(io::Error::from(io::ErrorKind::WriteZero));
                    break;
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if result.is_ok() {
            result = self.inner.flush();
        }
        let c = &self.counters;
        if result.is_err() {
            c.errors.fetch_add(1, Ordering::Relaxed);
        }
        let lines = bytes[..done].iter().filter(|&&b| b == b'\n').count() as u64;
        c.lines.fetch_add(lines, Ordering::Relaxed);
        c.bytes.fetch_add(done as u64, Ordering::Relaxed);
        (done, result)
    }

    /// Writes what is gathered. When that fails, as many of the oldest
    /// lines as can be written are, one by one (a nearly full volume may
    /// take a line, not 64 KiB); the rest stays gathered.
    fn flush_gathered(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let (mut done, mut result) = self.write_out(&buf);
        if result.is_err() {
            for line in buf[done..].split_inclusive(|&b| b == b'\n') {
                let (n, r) = self.write_out(line);
                done += n;
                if r.is_err() {
                    break;
                }
            }
            if done == buf.len() {
                result = Ok(());
            }
        }
        self.buf = buf;
        self.buf.drain(..done);
        result
    }
}

impl<W: Write> Write for LineBuffer<W> {
    /// Gathers `buf` (or writes it through when larger than the buffer);
    /// always "succeeds": a line that cannot be written is counted lost
    /// here, not reported to a worker that would drop it uncounted.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.buf.len() + buf.len() > self.capacity
            && let Err(e) = self.flush_gathered()
        {
            // The gathered lines stay, to be written first; this one is
            // lost.
            self.counters.lose(lines_in(buf), LostReason::of(&e));
            return Ok(buf.len());
        }
        if buf.len() >= self.capacity {
            let (done, result) = self.write_out(buf);
            if let Err(e) = result {
                self.counters
                    .lose(lines_in(&buf[done..]), LostReason::of(&e));
            }
        } else {
            self.buf.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    /// Writes what is gathered; a failure keeps it for the next try.
    fn flush(&mut self) -> io::Result<()> {
        let _ = self.flush_gathered();
        Ok(())
    }
}

impl<W: Write> Drop for LineBuffer<W> {
    /// A last try; what still cannot be written is counted lost.
    fn drop(&mut self) {
        if let Err(e) = self.flush_gathered() {
            self.counters.lose(lines_in(&self.buf), LostReason::of(&e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer that fails with `error` while `failing` is set.
    #[derive(Clone, Default)]
    struct Flaky {
        failing: Arc<Mutex<Option<io::ErrorKind>>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Flaky {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(kind) = *self.failing.lock().unwrap() {
                return Err(io::Error::from(kind));
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(i: usize) -> Vec<u8> {
        format!("{{\"n\":{i:04}}}\n").into_bytes() // 11 bytes
    }

    #[test]
    fn every_line_is_written_or_counted_lost_exactly() {
        let out = Flaky::default();
        let counters = Arc::new(OutputCounters::default());
        let mut buffer = LineBuffer::with_capacity(110, out.clone(), counters.clone());
        for i in 0..25 {
            buffer.write_all(&line(i)).unwrap();
        }
        // The disk fills: 10 lines gathered stay, later ones are lost.
        *out.failing.lock().unwrap() = Some(io::ErrorKind::StorageFull);
        for i in 25..60 {
            buffer.write_all(&line(i)).unwrap();
        }
        buffer.flush().unwrap();
        // Other errors are counted under their own reason.
        *out.failing.lock().unwrap() = Some(io::ErrorKind::BrokenPipe);
        for i in 60..65 {
            buffer.write_all(&line(i)).unwrap();
        }
        *out.failing.lock().unwrap() = None;
        for i in 65..70 {
            buffer.write_all(&line(i)).unwrap();
        }
        drop(buffer);
        let written = String::from_utf8(out.written.lock().unwrap().clone()).unwrap();
        let numbers: Vec<usize> = written.lines().map(|l| l[5..9].parse().unwrap()).collect();
        let lost_no_space = counters.lost_no_space.load(Ordering::Relaxed);
        let lost_failed = counters.lost_write_failed.load(Ordering::Relaxed);
        assert_eq!(lost_failed, 5, "{numbers:?}");
        assert_eq!(
            numbers.len() as u64 + lost_no_space + lost_failed,
            70,
            "written + lost == sent: {numbers:?}"
        );
        assert_eq!(counters.lines.load(Ordering::Relaxed), numbers.len() as u64);
        // In order, none twice; the gathered lines survived the outage.
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert!(numbers.contains(&29) && numbers.contains(&69));
    }

    #[test]
    fn a_line_larger_than_the_buffer_goes_through_and_shutdown_counts_the_rest() {
        let out = Flaky::default();
        let counters = Arc::new(OutputCounters::default());
        let mut buffer = LineBuffer::with_capacity(16, out.clone(), counters.clone());
        buffer.write_all(b"short\n").unwrap();
        buffer
            .write_all(format!("{}\n", "x".repeat(40)).as_bytes())
            .unwrap();
        assert_eq!(out.written.lock().unwrap().len(), 47);
        buffer.write_all(b"kept\n").unwrap();
        *out.failing.lock().unwrap() = Some(io::ErrorKind::Other);
        drop(buffer);
        assert_eq!(counters.lines.load(Ordering::Relaxed), 2);
        assert_eq!(counters.lost_write_failed.load(Ordering::Relaxed), 1);
    }
}
