//! The fields of redline's access line (`redline::access`, written by
//! `src/http/access.rs`), visited without the general path's work per
//! field: the keys are known (no escaping pass, no lookup of the key among
//! the secret names: that is decided once per [`JsonLines`]), and only the
//! text a client or an application chose is masked.
//!
//! | field | written |
//! |---|---|
//! | `http.route` | masked (decoded form included), then escaped |
//! | `request_id` | escaped; masked too when the redactor masks more than the default one (extra keys or patterns): the layer keeps only an id the default redactor leaves as it is ([`looks_like_data`]) |
//! | `http.request.method`, `error.type`, `trace_id`, `span_id`, `message` | escaped, not masked: a fixed table (`GET`... `_OTHER`), a fixed label set, hex ids, the literal `request` |
//! | `http.response.status_code`, `duration_ms`, `response_size`, `slow` | as the general path writes numbers and booleans |
//!
//! The line is the one the general path writes (the same keys, order and
//! values; a test compares both): a field whose name is a secret (in the
//! redactor's configuration) is `[REDACTED]` as there, and a field this
//! table does not know goes through the general path.
//!
//! [`JsonLines`]: super::JsonLines
//! [`looks_like_data`]: crate::redact::looks_like_data

use std::fmt::{self, Write as _};

use tracing::Metadata;
use tracing::field::{Field, Visit};

use super::{JsonVisitor, push_json_escaped, push_json_str};
use crate::redact::{REDACTED, Redactor};

/// The target of the access events.
pub(crate) const TARGET: &str = "redline::access";
/// The module that writes them (`src/http/access.rs`): with the target,
/// what tells redline's access events from an application's events on the
/// same target, whose fields get the general path.
pub(crate) const MODULE: &str = "redline::http::access";

/// How a known field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Chosen by redline from a fixed set or a checked shape: escaped.
    Fixed,
    /// Client- or application-chosen text: masked, then escaped.
    Text,
    /// The request id, which the layer keeps only when the default
    /// redactor leaves it as it is: masked only by a redactor that masks
    /// more, then escaped.
    Checked,
    /// A number or a boolean.
    Value,
}

/// The access line's fields: name, the JSON text before the value, kind.
const FIELDS: [(&str, &str, Kind); 11] = [
    ("message", ",\"message\":", Kind::Fixed),
    (
        "http.request.method",
        ",\"http.request.method\":",
        Kind::Fixed,
    ),
    ("http.route", ",\"http.route\":", Kind::Text),
    (
        "http.response.status_code",
        ",\"http.response.status_code\":",
        Kind::Value,
    ),
    ("duration_ms", ",\"duration_ms\":", Kind::Value),
    ("response_size", ",\"response_size\":", Kind::Value),
    ("error.type", ",\"error.type\":", Kind::Fixed),
    ("request_id", ",\"request_id\":", Kind::Checked),
    ("trace_id", ",\"trace_id\":", Kind::Fixed),
    ("span_id", ",\"span_id\":", Kind::Fixed),
    ("slow", ",\"slow\":", Kind::Value),
];

/// The index of a known field in [`FIELDS`].
#[inline]
fn index(name: &str) -> Option<usize> {
    Some(match name {
        "message" => 0,
        "http.request.method" => 1,
        "http.route" => 2,
        "http.response.status_code" => 3,
        "duration_ms" => 4,
        "response_size" => 5,
        "error.type" => 6,
        "request_id" => 7,
        "trace_id" => 8,
        "span_id" => 9,
        "slow" => 10,
        _ => return None,
    })
}

/// Whether `meta` is one of redline's access events.
#[inline]
pub(super) fn is_access(meta: &Metadata<'_>) -> bool {
    meta.target() == TARGET && meta.module_path() == Some(MODULE)
}

/// What the redactor makes of the access fields, decided once: which it
/// calls secret (by name), and whether checked ids need masking.
#[derive(Debug, Clone)]
pub(super) struct AccessFields {
    secret: [bool; FIELDS.len()],
    mask_checked: bool,
}

impl AccessFields {
    pub(super) fn new(redactor: &Redactor) -> Self {
        Self {
            secret: FIELDS.map(|(name, _, _)| redactor.is_sensitive_key(name)),
            mask_checked: !redactor.masks_no_more_than_default(),
        }
    }
}

/// Visits an access event's fields into the line of `inner`.
pub(super) struct AccessVisitor<'v, 'a> {
    pub(super) inner: &'v mut JsonVisitor<'a>,
    pub(super) fields: &'v AccessFields,
}

impl AccessVisitor<'_, '_> {
    /// Writes the key of known field `i`; whether its value is secret.
    #[inline]
    fn key(&mut self, i: usize) -> bool {
        let (name, key, _) = FIELDS[i];
        self.inner.note(name);
        self.inner.out.push_str(key);
        self.fields.secret[i]
    }

    fn text(&mut self, i: usize, value: &str) {
        if self.key(i) {
            push_json_str(self.inner.out, REDACTED);
        } else if FIELDS[i].2 == Kind::Text
            || (FIELDS[i].2 == Kind::Checked && self.fields.mask_checked)
        {
            let masked = self.inner.redactor.mask(value);
            push_json_str(self.inner.out, &masked);
        } else {
            push_json_str(self.inner.out, value);
        }
    }
}

/// Escapes what is written through it (whole characters come in each
/// `write_str`, so escaping piece by piece equals escaping the whole).
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        push_json_escaped(self.0, s);
        Ok(())
    }
}

impl Visit for AccessVisitor<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match index(field.name()) {
            Some(i) if FIELDS[i].2 == Kind::Fixed => {
                if self.key(i) {
                    push_json_str(self.inner.out, REDACTED);
                } else {
                    self.inner.out.push('"');
                    let _ = write!(Escaping(self.inner.out), "{value:?}");
                    self.inner.out.push('"');
                }
            }
            _ => self.inner.record_debug(field, value),
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // Empty means absent, as on the general path.
        if value.is_empty() {
            return;
        }
        match index(field.name()) {
            Some(i) if FIELDS[i].2 != Kind::Value => self.text(i, value),
            _ => self.inner.record_str(field, value),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match index(field.name()) {
            Some(i) => {
                let secret = self.key(i);
                self.inner
                    .integer_value(secret, itoa::Buffer::new().format(value));
            }
            None => self.inner.record_u64(field, value),
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match index(field.name()) {
            Some(i) => {
                let secret = self.key(i);
                self.inner
                    .integer_value(secret, itoa::Buffer::new().format(value));
            }
            None => self.inner.record_i64(field, value),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        match index(field.name()) {
            Some(i) => {
                self.key(i);
                self.inner.f64_value(value);
            }
            None => self.inner.record_f64(field, value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        match index(field.name()) {
            Some(i) => {
                self.key(i);
                self.inner
                    .out
                    .push_str(if value { "true" } else { "false" });
            }
            None => self.inner.record_bool(field, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_are_the_escaped_names_and_the_index_finds_each() {
        for (i, (name, key, _)) in FIELDS.iter().enumerate() {
            let mut expected = String::from(",");
            push_json_str(&mut expected, name);
            expected.push(':');
            assert_eq!(*key, expected);
            assert_eq!(index(name), Some(i));
        }
        assert_eq!(index("path"), None);
    }

    #[test]
    fn secret_names_and_checked_ids_are_decided_by_the_redactor() {
        use crate::redact::RedactConfig;
        let default = AccessFields::new(&Redactor::default());
        assert!(!default.secret.iter().any(|s| *s));
        assert!(!default.mask_checked);
        let with = |config: RedactConfig| AccessFields::new(&Redactor::new(&config).unwrap());
        let keys = with(RedactConfig {
            keys: vec!["request_id".into()],
            ..Default::default()
        });
        assert!(keys.secret[7]);
        assert!(!keys.secret[2]);
        assert!(keys.mask_checked, "extra keys mask more");
        let headers = with(RedactConfig {
            headers: vec!["x-session".into()],
            ..Default::default()
        });
        assert!(headers.mask_checked, "extra headers are keys too");
        let patterns = with(RedactConfig {
            patterns: vec!["order-[0-9]+".into()],
            ..Default::default()
        });
        assert!(patterns.mask_checked, "patterns mask more");
        let allow = with(RedactConfig {
            allow: vec!["ops@example.com".into()],
            ..Default::default()
        });
        assert!(!allow.mask_checked, "allowed values only mask less");
    }
}
