//! The exporter thread: takes chunks off the [`SpanQueue`], wraps them in
//! an `ExportTraceServiceRequest` (the resource encoded once, buffers
//! reused) and sends them, counting what happens to every span.

use std::time::Instant;

use super::pipeline::OncePerMinute;
use super::queue::{Next, SpanQueue};
use super::send::Sender;
use super::wire::request;

/// Starts the exporter thread (`redline-otlp-export`).
pub(crate) fn spawn(
    queue: &'static SpanQueue,
    sender: Sender,
    resource: Vec<u8>,
    endpoint: String,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("redline-otlp-export".into())
        .spawn(move || {
            run(queue, &sender, &resource, &endpoint);
            queue.exporter_stopped();
        })
        .map(drop)
}

fn run(queue: &SpanQueue, sender: &Sender, resource: &[u8], endpoint: &str) {
    let warning = OncePerMinute::new();
    let mut scopes: Vec<Vec<u8>> = Vec::new();
    let mut body = Vec::new();
    let mut deadline = Instant::now() + queue.delay;
    loop {
        let chunk = match queue.next(&mut deadline) {
            Next::Export(chunk) => chunk,
            Next::Stop => return,
        };
        if scopes.len() < chunk.spans.len() {
            scopes.extend(queue.scopes_since(scopes.len()));
        }
        let parts = scopes
            .iter()
            .zip(&chunk.spans)
            .filter(|(_, spans)| !spans.is_empty())
            .map(|(fields, spans)| (fields.as_slice(), spans.as_slice()));
        request::export_request(&mut body, resource, parts);
        let n = chunk.count as u64;
        queue.recycle(chunk);
        // The HTTP client takes the body by value; the next request gets a
        // buffer of the same size.
        let capacity = body.capacity();
        let sent = sender.send(std::mem::replace(&mut body, Vec::with_capacity(capacity)));
        let m = &queue.metrics;
        queue.exported(sent.is_ok());
        match sent {
            Ok(()) => m.exported.inc_by(n),
            Err(error) => {
                m.export_errors.inc();
                m.dropped_export_failed.inc_by(n);
                if warning.ready() {
                    tracing::warn!(
                        target: "redline::traces",
                        endpoint = %endpoint,
                        spans = n,
                        error = %error,
                        "OTLP span export failed; spans are counted in redline_trace_spans_dropped_total{{reason=\"export_failed\"}} (this warning repeats at most once a minute)"
                    );
                }
            }
        }
    }
}
