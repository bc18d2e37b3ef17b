//! A JSON line of [`JsonLines`](crate::logs::JsonLines) as an OTLP log
//! record:
//!
//! - `timestamp` → the record's timestamp (the line's, to the
//!   millisecond; the SDK sets the observed timestamp);
//! - `level` → severity number and text (`INFO` → 9, `"INFO"`);
//! - `message` → the body;
//! - `trace_id`, `span_id` → the record's trace context (trace flags from
//!   the current OpenTelemetry context when it is the same trace);
//! - `span` → attributes `span.name` and `span.<field>`;
//! - every other key (the event's fields, `target`, `request_id`) → an
//!   attribute of the same name: strings, integers, floats and booleans
//!   keep their JSON type (integers beyond `i64` become strings).
//!
//! The values are the line's, already masked by the redactor.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::{AnyValue, LogRecord as _, Severity};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry_sdk::logs::SdkLogRecord;
use serde_json::{Map, Value};

/// Fills `record` from `line`. A line that is not a JSON object (never
/// written by [`JsonLines`](crate::logs::JsonLines)) becomes the body as
/// is, rather than being lost.
pub(super) fn fill(record: &mut SdkLogRecord, line: &[u8]) {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    let Ok(fields) = serde_json::from_str::<Map<String, Value>>(text) else {
        record.set_body(AnyValue::from(text.to_owned()));
        return;
    };
    let mut trace_id = None;
    let mut span_id = None;
    for (key, value) in fields {
        match key.as_str() {
            "timestamp" => {
                if let Some(t) = value.as_str().and_then(parse_rfc3339_millis) {
                    record.set_timestamp(t);
                }
            }
            "level" => {
                if let Some((number, text)) = value.as_str().and_then(severity) {
                    record.set_severity_number(number);
                    record.set_severity_text(text);
                }
            }
            "message" => {
                if let Some(body) = any_value(value) {
                    record.set_body(body);
                }
            }
            "trace_id" => trace_id = value.as_str().and_then(|s| TraceId::from_hex(s).ok()),
            "span_id" => span_id = value.as_str().and_then(|s| SpanId::from_hex(s).ok()),
            "span" => match value {
                Value::Object(span) => {
                    for (field, value) in span {
                        if let Some(v) = any_value(value) {
                            record.add_attribute(format!("span.{field}"), v);
                        }
                    }
                }
                other => {
                    if let Some(v) = any_value(other) {
                        record.add_attribute(key, v);
                    }
                }
            },
            _ => {
                if let Some(v) = any_value(value) {
                    record.add_attribute(key, v);
                }
            }
        }
    }
    if let (Some(trace_id), Some(span_id)) = (trace_id, span_id) {
        // The line has no flags; the current context has them when the
        // line's ids are its own (an event may carry another request's).
        let flags = opentelemetry::Context::map_current(|cx| {
            let sc = cx.span().span_context().clone();
            (sc.trace_id() == trace_id).then(|| sc.trace_flags())
        });
        record.set_trace_context(trace_id, span_id, flags);
    }
}

/// The OpenTelemetry severity of a `tracing` level, with its text.
fn severity(level: &str) -> Option<(Severity, &'static str)> {
    Some(match level {
        "TRACE" => (Severity::Trace, "TRACE"),
        "DEBUG" => (Severity::Debug, "DEBUG"),
        "INFO" => (Severity::Info, "INFO"),
        "WARN" => (Severity::Warn, "WARN"),
        "ERROR" => (Severity::Error, "ERROR"),
        _ => return None,
    })
}

/// A JSON value as an attribute value (`null` has none).
fn any_value(value: Value) -> Option<AnyValue> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => AnyValue::Int(i),
            // Beyond i64: kept exact, as text.
            _ if n.is_u64() => AnyValue::from(n.to_string()),
            (None, Some(f)) => AnyValue::Double(f),
            (None, None) => AnyValue::from(n.to_string()),
        },
        Value::String(s) => AnyValue::from(s),
        other => AnyValue::from(other.to_string()),
    })
}

/// `2026-11-24T07:00:00.123Z`, as `crate::timefmt` writes it.
fn parse_rfc3339_millis(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'.' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> { s.get(range)?.parse().ok() };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, min, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = u64::try_from(days_from_civil(y as i64, m as i64, d as i64)).ok()?;
    let secs = days * 86_400 + h * 3600 + min * 60 + sec;
    Some(UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms))
}

/// Howard Hinnant's `days_from_civil`: a proleptic Gregorian date to days
/// since 1970-01-01 (the inverse of `crate::timefmt`'s `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether this thread is one of the OTLP log pipeline's own: the
/// exporter's runtime (`redline-otlp-logs`), the SDK's batch thread and
/// the HTTP client's internal runtime. What they log (a transport's debug
/// output while it exports) is written to the JSON lines, never exported
/// over OTLP: each export would otherwise make records to export.
pub(super) fn is_export_thread() -> bool {
    thread_local! {
        static EXPORT_THREAD: bool = std::thread::current().name().is_some_and(|name| {
            name == super::RUNTIME_THREAD
                || name.starts_with("OpenTelemetry.Logs")
                || name.starts_with("reqwest-internal-sync-runtime")
        });
    }
    EXPORT_THREAD.with(|t| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_what_timefmt_writes() {
        for ms in [
            0u64,
            1,
            951_782_400_000,
            1_700_000_000_123,
            4_102_444_799_999,
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let text = crate::timefmt::rfc3339_millis(t);
            assert_eq!(parse_rfc3339_millis(&text), Some(t), "{text}");
        }
        assert_eq!(parse_rfc3339_millis("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
    }

    fn record(line: &str) -> SdkLogRecord {
        use opentelemetry::logs::{Logger as _, LoggerProvider as _};
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        let mut r = provider.logger("test").create_log_record();
        fill(&mut r, line.as_bytes());
        r
    }

    fn attribute(r: &SdkLogRecord, key: &str) -> Option<AnyValue> {
        r.attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn a_line_becomes_a_record() {
        let r = record(
            r#"{"timestamp":"2026-11-24T07:00:00.123Z","level":"WARN","target":"app","message":"paid","user":7,"ratio":0.5,"ok":true,"big":18446744073709551615,"request_id":"req-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","span":{"name":"pay","card":"************4242"}}
"#,
        );
        assert_eq!(r.severity_number(), Some(Severity::Warn));
        assert_eq!(r.severity_text(), Some("WARN"));
        assert_eq!(r.body(), Some(&AnyValue::from("paid")));
        assert_eq!(
            r.timestamp(),
            Some(UNIX_EPOCH + Duration::from_millis(1_795_503_600_123))
        );
        assert_eq!(attribute(&r, "target"), Some(AnyValue::from("app")));
        assert_eq!(attribute(&r, "user"), Some(AnyValue::Int(7)));
        assert_eq!(attribute(&r, "ratio"), Some(AnyValue::Double(0.5)));
        assert_eq!(attribute(&r, "ok"), Some(AnyValue::Boolean(true)));
        assert_eq!(
            attribute(&r, "big"),
            Some(AnyValue::from("18446744073709551615"))
        );
        assert_eq!(attribute(&r, "request_id"), Some(AnyValue::from("req-1")));
        assert_eq!(attribute(&r, "span.name"), Some(AnyValue::from("pay")));
        assert_eq!(
            attribute(&r, "span.card"),
            Some(AnyValue::from("************4242"))
        );
        for absent in [
            "timestamp",
            "level",
            "message",
            "trace_id",
            "span_id",
            "span",
        ] {
            assert_eq!(attribute(&r, absent), None, "{absent}");
        }
        let tc = r.trace_context().unwrap();
        assert_eq!(tc.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tc.span_id.to_string(), "00f067aa0ba902b7");
    }

    #[test]
    fn a_line_that_is_not_json_is_kept_as_the_body() {
        let r = record("not json\n");
        assert_eq!(r.body(), Some(&AnyValue::from("not json")));
    }
}
