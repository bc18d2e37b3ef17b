//! One JSON object per line, written in one pass:
//!
//! ```json
//! {"timestamp":"2026-11-24T07:00:00.123Z","level":"INFO","target":"redline::access",
//!  "message":"request","trace_id":"4bf9…","span_id":"00f0…","http.route":"/users/{id}",
//!  "span":{"name":"render","page":3}}
//! ```
//!
//! - `timestamp` is RFC 3339 in UTC, with milliseconds (the date and time
//!   of the second cached per thread, see [`super::timestamp`]);
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
//!   is fixed, so optional values are passed as `""`);
//! - every value goes through the [`Redactor`](crate::redact::Redactor)
//!   before it is escaped (span fields too, through [`SpanFields`]):
//!   fields whose name is a secret (`password`, `authorization`...) are
//!   `[REDACTED]` whole, other text has e-mails, cards, phones, tokens...
//!   masked (see [`crate::redact`]), the message and span fields included;
//!   the request id is masked like any other field.
//!
//! redline's access events (`redline::access`) are visited by
//! [`access`]: the same line, without the per-field work their known
//! fields do not need (safe values are escaped, not masked).
//!
//! Why not tracing-subscriber's JSON formatter: it cannot add the
//! OpenTelemetry ids, and it nests the event's fields under `fields`.
//! Strings are JSON-escaped, so a field cannot break the line or forge
//! another one: control characters become `\u00XX`, and Unicode line
//! separators and bidirectional overrides `\u2028`, `\u202e`...

use std::fmt::{self, Write as _};

use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::redact::{REDACTED, Redactor};

mod access;
#[cfg(test)]
pub(crate) use access::MODULE as ACCESS_MODULE;
pub(crate) use access::TARGET as ACCESS_TARGET;

/// The JSON line format (see the module docs), with [`SpanFields`] for the
/// spans' fields.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let layer = tracing_subscriber::fmt::layer()
///     .fmt_fields(redline::logs::SpanFields::default())
///     .event_format(redline::logs::JsonLines::default())
///     .with_writer(std::io::sink);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || tracing::info!(user = 7, "signed in"));
/// ```
#[derive(Debug, Clone)]
pub struct JsonLines {
    redactor: Redactor,
    /// Which fields of the access line the redactor calls secret.
    access: access::AccessFields,
    /// Whether access events take [`access`]'s path (tests compare both).
    access_path: bool,
}

impl Default for JsonLines {
    /// The format with the default redactor.
    fn default() -> Self {
        Self::new(Redactor::default())
    }
}

impl JsonLines {
    /// The format, masking with `redactor` (`Default` uses the default one).
    ///
    /// ```
    /// let format = redline::logs::JsonLines::new(redline::redact::Redactor::default());
    /// # let _ = format;
    /// ```
    pub fn new(redactor: Redactor) -> Self {
        Self {
            access: access::AccessFields::new(&redactor),
            redactor,
            access_path: true,
        }
    }

    /// The format with access events on the general path (tests).
    #[cfg(test)]
    pub(crate) fn without_access_path(mut self) -> Self {
        self.access_path = false;
        self
    }
}

impl<S> FormatEvent<S, SpanFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, SpanFields>,
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
        ctx: &FmtContext<'_, S, SpanFields>,
        line: &mut String,
        event: &Event<'_>,
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let meta = event.metadata();
        line.push_str("{\"timestamp\":\"");
        super::timestamp::write_millis(line, std::time::SystemTime::now());
        line.push_str("\",\"level\":\"");
        line.push_str(meta.level().as_str());
        line.push_str("\",\"target\":");
        push_json_str(line, meta.target());
        let mut visitor = JsonVisitor {
            out: line,
            redactor: &self.redactor,
            message_seen: false,
            trace_id_seen: false,
            request_id_seen: false,
        };
        if self.access_path && access::is_access(meta) {
            event.record(&mut access::AccessVisitor {
                inner: &mut visitor,
                fields: &self.access,
            });
        } else {
            event.record(&mut visitor);
        }
        let trace_id_seen = visitor.trace_id_seen;
        let request_id_seen = visitor.request_id_seen;
        let cx = opentelemetry::Context::current();
        if !request_id_seen && let Some(id) = cx.get::<crate::headers::RequestId>() {
            // Client-chosen: masked like any other field.
            line.push_str(",\"request_id\":");
            push_json_str(line, &self.redactor.mask(&id.0));
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
            // The span's fields, masked then escaped by `SpanFields` when
            // they were recorded: `,"key":value` pairs.
            if let Some(fields) = ext.get::<FormattedFields<SpanFields>>() {
                line.push_str(&fields.fields);
            }
            line.push('}');
        }
        line.push_str("}\n");
    }
}

/// How [`JsonLines`] records the fields of `tracing` spans: each value
/// masked by the [`Redactor`] (a secret key's value `[REDACTED]` whole),
/// then JSON-escaped, once, when the span records it; events copy the
/// result. Masking comes before escaping so that a value such as
/// `"password": "x"` is seen as the client wrote it, and the escaping of
/// the line cannot be undone by the masker.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
/// let layer = tracing_subscriber::fmt::layer()
///     .fmt_fields(redline::logs::SpanFields::new(redline::redact::Redactor::default()))
///     .event_format(redline::logs::JsonLines::default())
///     .with_writer(std::io::sink);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("login", text = "\"password\": \"hunter2\"");
///     let _entered = span.enter();
///     tracing::info!("signed in");
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpanFields {
    redactor: Redactor,
}

impl SpanFields {
    /// Span fields masked with `redactor` (`Default` uses the default one).
    ///
    /// ```
    /// let fields = redline::logs::SpanFields::new(redline::redact::Redactor::default());
    /// # let _ = fields;
    /// ```
    pub fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }

    fn record(&self, out: &mut String, fields: impl RecordFields) {
        let mut visitor = JsonVisitor {
            out,
            redactor: &self.redactor,
            message_seen: false,
            trace_id_seen: false,
            request_id_seen: false,
        };
        fields.record(&mut visitor);
    }
}

impl<'writer> FormatFields<'writer> for SpanFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut out = String::new();
        self.record(&mut out, fields);
        writer.write_str(&out)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        // Appended: a field recorded again appears twice, and JSON
        // readers keep the last value.
        self.record(&mut current.fields, fields);
        Ok(())
    }
}

/// Writes the event's fields as `"name":value` pairs after what is there.
struct JsonVisitor<'a> {
    out: &'a mut String,
    redactor: &'a Redactor,
    message_seen: bool,
    trace_id_seen: bool,
    request_id_seen: bool,
}

impl JsonVisitor<'_> {
    fn key(&mut self, field: &Field) {
        self.out.push(',');
        let name = field.name();
        self.note(name);
        // `log` records forwarded by tracing-log carry these; keep the name.
        push_json_str(self.out, name);
        self.out.push(':');
    }

    /// Notes the fields that replace what the context would add.
    #[inline]
    fn note(&mut self, name: &str) {
        if name == "message" {
            self.message_seen = true;
        } else if name == "trace_id" {
            self.trace_id_seen = true;
        } else if name == "request_id" {
            self.request_id_seen = true;
        }
    }

    fn text_field(&mut self, field: &Field, value: &str) {
        self.key(field);
        let masked = self.redactor.mask_value(field.name(), value);
        push_json_str(self.out, &masked);
    }

    /// Integers stay numbers, unless the field names a secret or the
    /// number is a card number (13+ digits, Luhn-valid): then a masked
    /// string.
    fn integer_field(&mut self, field: &Field, digits: &str) {
        self.key(field);
        let secret = self.redactor.is_sensitive_key(field.name());
        self.integer_value(secret, digits);
    }

    /// An integer's value, its key written (see [`Self::integer_field`]).
    fn integer_value(&mut self, secret: bool, digits: &str) {
        if secret {
            push_json_str(self.out, REDACTED);
        } else if digits.len() >= 13 {
            match self.redactor.mask(digits) {
                std::borrow::Cow::Borrowed(d) => self.out.push_str(d),
                std::borrow::Cow::Owned(masked) => push_json_str(self.out, &masked),
            }
        } else {
            self.out.push_str(digits);
        }
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // Formatted into a reused buffer, then masked and escaped.
        thread_local! {
            static TEXT: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(256));
        }
        TEXT.with(|cell| match cell.try_borrow_mut() {
            Ok(mut text) => {
                text.clear();
                let _ = write!(text, "{value:?}");
                self.text_field(field, &text);
            }
            Err(_) => self.text_field(field, &format!("{value:?}")),
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // An empty string means "absent" (events have a fixed field set,
        // so optional values are passed as "").
        if value.is_empty() {
            return;
        }
        self.text_field(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.integer_field(field, itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.integer_field(field, itoa::Buffer::new().format(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        self.f64_value(value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }
}

impl JsonVisitor<'_> {
    /// A float's value, its key written.
    fn f64_value(&mut self, value: f64) {
        if value.is_finite() {
            self.out.push_str(ryu::Buffer::new().format_finite(value));
        } else {
            // JSON has no NaN or infinities.
            push_json_str(self.out, &value.to_string());
        }
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and every control
/// character escaped (RFC 8259 section 7).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    push_json_escaped(out, s);
    out.push('"');
}

/// The bytes that may start something to escape: `"`, `\`, the C0
/// controls, DEL, and the first bytes of the C1 controls (`0xc2`) and of
/// U+2028... (`0xe2`); the others are copied as they are.
static SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table[0xc2] = true;
    table[0xe2] = true;
    table
};

/// The escaped characters of `s`, without quotes.
fn push_json_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !SPECIAL[b as usize] {
            i += 1;
            continue;
        }
        let escaped: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f | 0x7f => None,
            // C1 controls U+0080-U+009F (some terminals act on them).
            0xc2 if matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => None,
            // U+2028, U+2029 (line separators in JavaScript and some
            // viewers) and the bidirectional overrides U+202A-U+202E,
            // U+2066-U+2069, which reorder what a reader sees.
            0xe2 if matches!(
                bytes.get(i + 1..i + 3),
                Some([0x80, 0xa8..=0xae] | [0x81, 0xa6..=0xa9])
            ) =>
            {
                None
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        match escaped {
            Some(e) => out.push_str(e),
            None if b >= 0x80 => {
                let c = s[i..].chars().next().unwrap_or_default();
                let _ = write!(out, "\\u{:04x}", c as u32);
                i += c.len_utf8();
                start = i;
                continue;
            }
            None => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::capture::Capture;
    use tracing_subscriber::layer::SubscriberExt;

    fn lines(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let capture = Capture::default();
        let sink = capture.clone();
        let layer = tracing_subscriber::fmt::layer()
            .fmt_fields(SpanFields::default())
            .event_format(JsonLines::default())
            .with_writer(move || sink.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, f);
        let text = capture.text();
        // Written raw, these could split or reorder what a reader sees.
        let raw = |c: char| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        };
        assert!(!text.chars().any(raw), "{text:?}");
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
    fn values_messages_and_span_fields_are_masked() {
        let out = lines(|| {
            let span = tracing::info_span!("login", email = "jane@example.com", password = "pw1");
            let _e = span.enter();
            tracing::info!(
                password = "hunter2",
                api_key = 12345,
                card = 4_242_424_242_424_242_u64,
                order = 4_242_424_242_424_243_u64,
                note = ?"call +1 415-555-2671",
                authorization = "Bearer abc",
                "{}",
                "user jane@example.com paid with 4242 4242 4242 4242"
            );
        });
        let l = &out[0];
        assert_eq!(
            l["message"],
            "user j***@example.com paid with **** **** **** 4242"
        );
        assert_eq!(l["password"], "[REDACTED]");
        assert_eq!(l["api_key"], "[REDACTED]");
        assert_eq!(l["card"], "************4242");
        assert_eq!(
            l["order"], 4_242_424_242_424_243_u64,
            "Luhn-invalid: a number"
        );
        assert_eq!(l["note"], "\"call +* ***-***-**71\"");
        assert_eq!(l["authorization"], "[REDACTED]");
        assert_eq!(l["span"]["email"], "j***@example.com");
        assert_eq!(l["span"]["password"], "[REDACTED]");
    }

    /// Issue 11: span fields were masked after JSON escaping, so a quoted
    /// key was not seen and the masker broke the escaping.
    #[test]
    fn span_fields_are_masked_before_escaping() {
        let texts = [
            "\"password\": \"Tr0ub4dor&3-correct-horse\"\u{1}",
            "password=\"x\u{1}",
            "token=\",secret=\"\u{1}",
            "cookie: abc\u{1}",
            "authorization: Bearer abcdefgh12345\u{1}",
            "a\u{2028}b\u{2029}c\u{202e}d\u{2066}e\u{2069}f\u{85}g\u{9b}h\u{7f}",
        ];
        for text in texts {
            let out = lines(|| {
                let span = tracing::info_span!("bot.message", chat_id = 1, text = %text);
                let _e = span.enter();
                span.record("chat_id", 2);
                tracing::warn!(text = %text, "{text}");
            });
            let l = &out[0];
            for value in [&l["span"]["text"], &l["text"], &l["message"]] {
                let v = value.as_str().unwrap();
                for secret in ["Tr0ub4dor", "abcdefgh12345", "abc\u{1}", "x\u{1}"] {
                    assert!(!v.contains(secret), "{text:?} -> {v:?}");
                }
            }
            assert_eq!(l["span"]["chat_id"], 2, "the recorded value wins");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        /// Whatever a client sends, every line is one valid JSON object, with
        /// no raw line separator, bidi control, C1 control or DEL, and a
        /// secret key's value never shows, on every path: the message, text
        /// and debug fields, span fields at creation and recorded later.
        #[test]
        fn every_line_is_valid_json_whatever_the_input(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    "[\"'\\\\`=:,{}\\[\\] ]",
                    "(password|token|cookie|authorization|secret|api_key)",
                    "(Bearer |\\\\\"|\\\\u0022|%22|%40|%2B)",
                    "[\u{0}-\u{1f}\u{7f}-\u{9f}\u{2028}\u{2029}\u{202a}-\u{202e}\u{2066}-\u{2069}]",
                    "(jane@example\\.com|4242 4242 4242 4242|078-05-1120|\\+1 415-555-2671)",
                    "[a-zA-Z0-9]{1,8}",
                    "\\PC{1,4}",
                ],
                0..16,
            )
        ) {
            let text: String = parts.concat();
            let out = lines(|| {
                let span = tracing::info_span!("s", text = %text, dbg = ?text, later = tracing::field::Empty);
                let _e = span.enter();
                span.record("later", text.as_str());
                tracing::error!(text = %text, dbg = ?text, password = %text, "{text}");
            });
            proptest::prop_assert_eq!(out.len(), 1);
            let l = &out[0];
            proptest::prop_assert_eq!(&l["password"], "[REDACTED]");
            for (value, raw) in [
                (&l["message"], l["message"].as_str()),
                (&l["span"]["text"], l["span"]["text"].as_str()),
                (&l["span"]["later"], l["span"]["later"].as_str()),
            ] {
                if !text.is_empty() {
                    proptest::prop_assert!(raw.is_some(), "{value:?}");
                }
            }
        }
    }

    /// The escaping as it was before the table of special bytes: one
    /// `match` per byte (the reference the table must equal).
    fn escaped_byte_by_byte(s: &str) -> String {
        let mut out = String::new();
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let escaped: Option<&str> = match b {
                b'"' => Some("\\\""),
                b'\\' => Some("\\\\"),
                b'\n' => Some("\\n"),
                b'\r' => Some("\\r"),
                b'\t' => Some("\\t"),
                0..=0x1f | 0x7f => None,
                0xc2 if matches!(s.as_bytes().get(i + 1), Some(0x80..=0x9f)) => None,
                0xe2 if matches!(
                    s.as_bytes().get(i + 1..i + 3),
                    Some([0x80, 0xa8..=0xae] | [0x81, 0xa6..=0xa9])
                ) =>
                {
                    None
                }
                _ => continue,
            };
            out.push_str(&s[start..i]);
            match escaped {
                Some(e) => out.push_str(e),
                None if b >= 0x80 => {
                    let c = s[i..].chars().next().unwrap_or_default();
                    let _ = write!(out, "\\u{:04x}", c as u32);
                    start = i + c.len_utf8();
                    continue;
                }
                None => {
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
        out.push_str(&s[start..]);
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn the_table_escapes_as_the_byte_by_byte_match(
            s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{9f}\u{2020}-\u{206f}\"\\\\]){0,40}"
        ) {
            let mut out = String::new();
            push_json_escaped(&mut out, &s);
            proptest::prop_assert_eq!(out, escaped_byte_by_byte(&s));
        }
    }

    #[test]
    fn unicode_separators_and_bidi_overrides_are_escaped() {
        let mut s = String::new();
        push_json_str(
            &mut s,
            "a\u{2028}b\u{202e}c\u{2069}d\u{2030}é\u{9b}[2J\u{85}",
        );
        assert_eq!(s, "\"a\\u2028b\\u202ec\\u2069d\u{2030}é\\u009b[2J\\u0085\"");
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\u{2028}b\u{202e}c\u{2069}d\u{2030}é\u{9b}[2J\u{85}");
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
