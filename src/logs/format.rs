//! One JSON object per line, written in one pass:
//!
//! ```json
//! {"timestamp":"2026-11-24T07:00:00.123Z","level":"INFO","target":"redline::access",
//!  "message":"request","trace_id":"4bf9…","span_id":"00f0…","http.route":"/users/{id}",
//!  "span":{"name":"render","page":3}}
//! ```
//!
//! - `timestamp` is RFC 3339 in UTC, with milliseconds;
//! - `level` and `target` come from the event;
//! - `message` and the event's own fields sit at the top level;
//! - `request_id` is the `x-request-id` of the request being served (from
//!   the OpenTelemetry context, which redline's layer makes current while
//!   a handler runs; traces enabled);
//! - `trace_id` and `span_id` are those of the current OpenTelemetry
//!   context. Inside a request served through redline's layer, that is the
//!   request's server span, so a line leads to its trace;
//! - `span` holds the name and the fields of the innermost `tracing` span;
//! - string fields with an empty value are left out (an event's field set
//!   is fixed, so optional values are passed as `""`).
//!
//! Why not tracing-subscriber's JSON formatter: it cannot add the
//! OpenTelemetry ids, and it nests the event's fields under `fields`.
//! Strings are JSON-escaped, so a field cannot break the line or forge
//! another one: control characters become `\u00XX`.

use std::fmt::{self, Write as _};

use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::timefmt::write_rfc3339_millis;

/// The JSON line format (see the module docs).
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let layer = tracing_subscriber::fmt::layer()
///     .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
///     .event_format(redline::logs::JsonLines)
///     .with_writer(std::io::sink);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = 7, "signed in"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // One reused buffer per thread: no allocation per line (falls back
        // to a fresh one if formatting re-enters, e.g. a field's `Debug`
        // logging something).
        thread_local! {
            static LINE: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(512));
        }
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                line.clear();
                self.format_into(ctx, &mut line, event);
                writer.write_str(&line)
            }
            Err(_) => {
                let mut line = String::with_capacity(512);
                self.format_into(ctx, &mut line, event);
                writer.write_str(&line)
            }
        })
    }
}

impl JsonLines {
    fn format_into<S>(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        line: &mut String,
        event: &Event<'_>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        line.push_str("{\"timestamp\":\"");
        write_rfc3339_millis(line, std::time::SystemTime::now());
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push_str("\",\"target\":");
        push_json_str(line, event.metadata().target());
        let mut visitor = JsonVisitor {
            out: line,
            message_seen: false,
            trace_id_seen: false,
            request_id_seen: false,
        };
        event.record(&mut visitor);
        let trace_id_seen = visitor.trace_id_seen;
        let request_id_seen = visitor.request_id_seen;
        let cx = opentelemetry::Context::current();
        if !request_id_seen && let Some(id) = cx.get::<crate::http::RequestId>() {
            line.push_str(",\"request_id\":");
            push_json_str(line, &id.0);
        }
        let span = cx.span();
        let sc = span.span_context();
        // An event may carry its own ids (the access log does: its request
        // can end outside the request's context).
        if sc.is_valid() && !trace_id_seen {
            let _ = write!(
                line,
                ",\"trace_id\":\"{}\",\"span_id\":\"{}\"",
                sc.trace_id(),
                sc.span_id()
            );
        }
        if let Some(current) = ctx.lookup_current() {
            line.push_str(",\"span\":{\"name\":");
            push_json_str(line, current.name());
            let ext = current.extensions();
            if let Some(fields) = ext.get::<FormattedFields<JsonFields>>() {
                // JsonFields stores the span's fields as a JSON object.
                let inner = fields.fields.trim();
                if let Some(body) = inner.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                    && !body.trim().is_empty()
                {
                    line.push(',');
                    line.push_str(body);
                }
            }
            line.push('}');
        }
        line.push_str("}\n");
    }
}

/// Writes the event's fields as `"name":value` pairs after what is there.
struct JsonVisitor<'a> {
    out: &'a mut String,
    message_seen: bool,
    trace_id_seen: bool,
    request_id_seen: bool,
}

impl JsonVisitor<'_> {
    fn key(&mut self, field: &Field) {
        self.out.push(',');
        let name = field.name();
        if name == "message" {
            self.message_seen = true;
        } else if name == "trace_id" {
            self.trace_id_seen = true;
        } else if name == "request_id" {
            self.request_id_seen = true;
        }
        // `log` records forwarded by tracing-log carry these; keep the name.
        push_json_str(self.out, name);
        self.out.push(':');
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        // Escaped as it is formatted: no intermediate string.
        self.out.push('"');
        let _ = write!(JsonEscaper(self.out), "{value:?}");
        self.out.push('"');
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // An empty string means "absent" (events have a fixed field set,
        // so optional values are passed as "").
        if value.is_empty() {
            return;
        }
        self.key(field);
        push_json_str(self.out, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        self.out.push_str(itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        self.out.push_str(itoa::Buffer::new().format(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            self.out.push_str(ryu::Buffer::new().format_finite(value));
        } else {
            // JSON has no NaN or infinities.
            push_json_str(self.out, &value.to_string());
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and every control
/// character escaped (RFC 8259 section 7).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_json_escaped(out, s);
    out.push('"');
}

/// A `fmt::Write` that JSON-escapes what is written through it.
struct JsonEscaper<'a>(&'a mut String);

impl fmt::Write for JsonEscaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_json_escaped(self.0, s);
        Ok(())
    }
}

/// The escaped characters of `s`, without quotes.
fn push_json_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f | 0x7f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match escaped {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let capture = Capture::default();
        let sink = capture.clone();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(move || sink.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn fields_span_and_escaping() {
        let out = lines(|| {
            let span = tracing::info_span!("render", page = 3, who = "a\"b");
            let _e = span.enter();
            tracing::warn!(
                user = 7,
                ratio = 0.5,
                ok = true,
                text = "line1\nline2\u{7}",
                "{}",
                "forged\n{\"level\":\"ERROR\"}"
            );
        });
        assert_eq!(out.len(), 1, "one line, however the message is shaped");
        let l = &out[0];
        assert_eq!(l["level"], "WARN");
        assert_eq!(l["message"], "forged\n{\"level\":\"ERROR\"}");
        assert_eq!(l["user"], 7);
        assert_eq!(l["ratio"], 0.5);
        assert_eq!(l["ok"], true);
        assert_eq!(l["text"], "line1\nline2\u{7}");
        assert_eq!(l["span"]["name"], "render");
        assert_eq!(l["span"]["page"], 3);
        assert_eq!(l["span"]["who"], "a\"b");
        let ts = l["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");
        assert!(l.get("trace_id").is_none(), "no trace context here");
    }

    #[test]
    fn trace_ids_come_from_the_current_context() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let sc = SpanContext::new(
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736u128),
            SpanId::from(0x00f0_67aa_0ba9_02b7u64),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        );
        let _attached = opentelemetry::Context::new()
            .with_remote_span_context(sc)
            .attach();
        let out = lines(|| tracing::info!("inside a request"));
        assert_eq!(out[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(out[0]["span_id"], "00f067aa0ba902b7");
    }

    #[test]
    fn json_strings_escape_every_control_character() {
        let mut s = String::new();
        let all: String = (0u8..0x80).map(char::from).collect();
        push_json_str(&mut s, &all);
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, all);
        assert!(!s[1..s.len() - 1].bytes().any(|b| b < 0x20), "{s}");
    }
}
