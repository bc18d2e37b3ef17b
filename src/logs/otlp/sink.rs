//! Where a JSON line goes: its non-blocking buffer (stdout or the file)
//! and, for one of the JSON outputs, the OTLP log sink too ([`Lines`]).
//!
//! The OTLP record is made from the line itself, after the line is
//! formatted and redacted by [`JsonLines`](crate::logs::JsonLines) and
//! [`SpanFields`](crate::logs::SpanFields): one formatting, one redaction,
//! and the record carries exactly what the line does.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

use crate::logs::queue::LineQueue;

/// The OTLP side of the log output: turns a JSON line into a log record
/// and hands it to the bounded, non-blocking export pipeline. Cheap to
/// clone. In a build without a transport feature it is never made.
#[derive(Clone)]
pub(crate) struct LogSink {
    #[cfg(feature = "otlp-logs")]
    pub(super) logger: opentelemetry_sdk::logs::SdkLogger,
}

impl LogSink {
    /// Exports `line` (one JSON line of [`JsonLines`](crate::logs::JsonLines))
    /// as a log record, unless the thread is one of the export pipeline's
    /// own (see [`super::record::is_export_thread`]).
    #[cfg(feature = "otlp-logs")]
    fn emit(&self, line: &[u8]) {
        use opentelemetry::logs::Logger as _;
        // Events of the exporter's own threads (a transport's debug output
        // while it exports) would be exported in turn, and so on.
        if opentelemetry::Context::is_current_telemetry_suppressed()
            || super::record::is_export_thread()
        {
            return;
        }
        let mut record = self.logger.create_log_record();
        super::record::fill(&mut record, line);
        self.logger.emit(record);
    }

    #[cfg(not(feature = "otlp-logs"))]
    fn emit(&self, _line: &[u8]) {}
}

/// The writer of a JSON-lines layer: its non-blocking buffer, and the OTLP
/// sink when this output carries it. With no buffer (no JSON output
/// configured), the OTLP sink alone.
#[derive(Clone)]
pub(crate) struct Lines {
    json: Option<LineQueue>,
    otlp: Option<LogSink>,
}

impl Lines {
    /// Lines to `json`, and to `otlp` when given.
    pub(crate) fn new(json: Option<LineQueue>, otlp: Option<LogSink>) -> Self {
        Self { json, otlp }
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = LinesWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LinesWriter {
            json: self.json.as_ref(),
            otlp: self.otlp.as_ref(),
        }
    }
}

/// One event's writer (see [`Lines`]).
pub(crate) struct LinesWriter<'a> {
    json: Option<&'a LineQueue>,
    otlp: Option<&'a LogSink>,
}

impl Write for LinesWriter<'_> {
    /// The fmt layer writes each formatted line with one `write_all`; the
    /// non-blocking buffer takes it whole (or drops it whole, counted), so
    /// one call is one line.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(sink) = self.otlp {
            sink.emit(buf);
        }
        if let Some(queue) = self.json {
            queue.push(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
