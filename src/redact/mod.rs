//! Masking of secrets and personal data, applied to every log line, every
//! error-tracker sample and every exported span (attributes, event
//! attributes, status messages).
//!
//! [`Redactor::redact`] masks, keeping enough to debug:
//!
//! | what | example | becomes |
//! |---|---|---|
//! | values of secret keys (`password`, `passwd`, `secret`, `token`, `api_key`, `authorization`, `cookie`, `credential`, `private_key`, `session_id`, and configured ones), in `key=value`, `key: value`, query strings and JSON | `?api_key=abc&page=2` | `?api_key=[REDACTED]&page=2` |
//! | URL passwords | `postgres://app:pw@db` | `postgres://app:[REDACTED]@db` |
//! | bearer tokens, JWTs | `Bearer 8f3kQ9zLm2xW` | `Bearer [REDACTED]` |
//! | e-mail addresses | `john@example.com` | `j***@example.com` |
//! | card numbers (13–19 digits, Luhn-checked) | `4242 4242 4242 4242` | `**** **** **** 4242` |
//! | IBANs (checksum-verified) | `DE89 3704 0044 0532 0130 00` | `DE** **** **** **** **30 00` |
//! | US SSNs | `123-45-6789` | `***-**-6789` |
//! | phone numbers (E.164, North American, trunk-prefix national) | `+1 415-555-2671` | `+* ***-***-**71` |
//! | configured patterns (regular expressions) | | `[REDACTED]` |
//!
//! and escapes control characters, Unicode line separators and bidi
//! overrides, so user text cannot forge a log line or hide text.
//!
//! Text is masked in its decoded form: percent-escapes (`jane%40example.com`
//! in a path), form encoding's `+` between digits, and JSON strings inside
//! JSON (`{\"password\": \"…\"}`). Where the decoded form holds something
//! to mask, the masked decoded form is returned; otherwise the text keeps
//! its spelling. Escaping comes after masking, once: decode, mask, escape.
//! [`Redactor::mask`] does the masking without the escaping, for output
//! that escapes by itself (the JSON log lines).
//!
//! Values on the allow-list are left as they are; Luhn-invalid digit runs
//! (order numbers, ids) and digit runs without a `+` or separators are not
//! taken for cards or phones. Sensitive headers (`Authorization`,
//! `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`, and
//! configured ones) are never logged or recorded: their names are secret
//! keys, so `authorization: ...` is masked whole wherever it appears, and
//! [`Redactor::headers`] formats a header map with their values hidden.
//!
//! Settings (environment or configuration file): `REDLINE_REDACT_KEYS`
//! (extra secret key names, comma separated), `REDLINE_REDACT_HEADERS`
//! (extra sensitive headers), `REDLINE_REDACT_ALLOW` (values never masked),
//! `REDLINE_REDACT_PATTERNS_FILE` (a file of regular expressions, one per
//! line, `#` comments).
//!
//! ```
//! use redline::redact::Redactor;
//!
//! let r = Redactor::default();
//! assert_eq!(
//!     r.redact("user john@example.com paid with 4242 4242 4242 4242, token=abc123"),
//!     "user j***@example.com paid with **** **** **** 4242, token=[REDACTED]"
//! );
//! assert_eq!(r.redact("order 4242424242424243 shipped"), "order 4242424242424243 shipped");
//! assert_eq!(r.redact("forged\nline"), "forged\\nline");
//! assert_eq!(r.redact("/users/jane%40example.com"), "/users/j***@example.com");
//! ```
//!
//! One concern kept whole (just over 500 lines): the `Redactor` and its
//! decode, mask, escape order; the detectors are in `secrets.rs` and
//! `personal.rs`, the shared scanner in `scan.rs`.

mod personal;
pub(crate) mod scan;
mod secrets;

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use crate::parse::{ConfigError, invalid};
use scan::{Allow, MAX_KEY_LEN, SENSITIVE_KEYS, Summary, chain, fold_key, key_matches};
pub use scan::{REDACTED, needs_escape};
use secrets::KeyKind;

/// Headers whose values are never logged nor recorded on spans.
pub const SENSITIVE_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Most extra patterns, and longest pattern (bytes).
const MAX_PATTERNS: usize = 64;
const MAX_PATTERN_LEN: usize = 1024;
/// Rounds of percent-decoding before masking (double and triple encoding).
const MAX_DECODE_DEPTH: u8 = 3;
/// Compiled size limit of each pattern (the `regex` crate's default is 10
/// MiB; a masker on every log line wants small automata).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// What to mask beyond the built-in detectors, and what never to mask.
///
/// ```
/// let config = redline::Config::from_lookup(|name| match name {
///     "REDLINE_REDACT_KEYS" => Some("pin, otp".into()),
///     "REDLINE_REDACT_ALLOW" => Some("support@example.com".into()),
///     _ => None,
/// }).unwrap();
/// assert_eq!(config.redact.keys, ["pin", "otp"]);
/// assert_eq!(config.redact.allow, ["support@example.com"]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedactConfig {
    /// `REDLINE_REDACT_KEYS`: more key names whose values are secrets
    /// (matched like the built-in ones: case, `_`, `-` and `.` ignored,
    /// as a substring of the key).
    pub keys: Vec<String>,
    /// `REDLINE_REDACT_HEADERS`: more header names never logged.
    pub headers: Vec<String>,
    /// `REDLINE_REDACT_ALLOW`: values never masked (exact matches of what a
    /// detector found: a whole e-mail address, card number, value...).
    pub allow: Vec<String>,
    /// Regular expressions (the `regex` crate's syntax) whose matches are
    /// replaced with `[REDACTED]`; from `REDLINE_REDACT_PATTERNS_FILE`, one
    /// per line. At most 64, each at most 1024 bytes.
    pub patterns: Vec<String>,
}

type Get<'a> = &'a dyn Fn(&str) -> Option<(String, String)>;

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl RedactConfig {
    pub(crate) fn from_source(get: Get<'_>) -> Result<Self, ConfigError> {
        let mut c = RedactConfig::default();
        if let Some((_, v)) = get("REDLINE_REDACT_KEYS") {
            c.keys = list(&v);
        }
        if let Some((var, v)) = get("REDLINE_REDACT_HEADERS") {
            c.headers = list(&v);
            if let Some(bad) = c
                .headers
                .iter()
                .find(|h| http::HeaderName::from_bytes(h.as_bytes()).is_err())
            {
                return Err(invalid(&var, bad, "comma-separated header names"));
            }
        }
        if let Some((_, v)) = get("REDLINE_REDACT_ALLOW") {
            c.allow = list(&v);
        }
        if let Some((var, path)) = get("REDLINE_REDACT_PATTERNS_FILE") {
            let text = std::fs::read_to_string(path.trim()).map_err(|e| {
                invalid(
                    &var,
                    &path,
                    &format!("a readable file of regular expressions, one per line ({e})"),
                )
            })?;
            c.patterns = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            if let Err(e) = compile(&c.patterns) {
                return Err(invalid(&var, &path, &e.to_string()));
            }
        }
        Ok(c)
    }
}

/// A pattern that cannot be used.
///
/// ```
/// use redline::redact::{RedactConfig, Redactor, RedactError};
/// let config = RedactConfig { patterns: vec!["(unclosed".into()], ..Default::default() };
/// assert!(matches!(Redactor::new(&config), Err(RedactError::Pattern { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// More than 64 patterns.
    #[error("too many redaction patterns ({0}; at most 64)")]
    TooMany(usize),
    /// A pattern that does not compile, or is too large.
    #[error("redaction pattern `{pattern}` is invalid: {reason}")]
    Pattern {
        /// The pattern (at most its first 64 characters).
        pattern: String,
        /// Why.
        reason: String,
    },
}

fn compile(patterns: &[String]) -> Result<Vec<regex::Regex>, RedactError> {
    if patterns.len() > MAX_PATTERNS {
        return Err(RedactError::TooMany(patterns.len()));
    }
    patterns
        .iter()
        .map(|p| {
            let error = |reason: String| RedactError::Pattern {
                pattern: p.chars().take(64).collect(),
                reason,
            };
            if p.len() > MAX_PATTERN_LEN {
                return Err(error(format!("longer than {MAX_PATTERN_LEN} bytes")));
            }
            regex::RegexBuilder::new(p)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| error(e.to_string()))
        })
        .collect()
}

/// The masker (see the module docs). Cheap to clone: clones share it.
///
/// ```
/// use redline::redact::{RedactConfig, Redactor};
/// let r = Redactor::new(&RedactConfig {
///     keys: vec!["pin".into()],
///     patterns: vec![r"\bACME-\d{6}\b".into()],
///     allow: vec!["support@example.com".into()],
///     ..Default::default()
/// }).unwrap();
/// assert_eq!(r.redact("pin=1234 ticket ACME-123456"), "pin=[REDACTED] ticket [REDACTED]");
/// assert_eq!(r.redact("mail support@example.com"), "mail support@example.com");
/// ```
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Vec<String>,
    headers: Vec<String>,
    allow: Vec<Box<str>>,
    patterns: Vec<regex::Regex>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("extra_keys", &self.inner.keys.len())
            .field("extra_headers", &self.inner.headers)
            .field("allowed", &self.inner.allow.len())
            .field("patterns", &self.inner.patterns.len())
            .finish()
    }
}

impl Default for Redactor {
    /// The built-in detectors, no extra keys, patterns or allowed values.
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert_eq!(r.redact("ssn 123-45-6789"), "ssn ***-**-6789");
    /// ```
    fn default() -> Self {
        static DEFAULT: LazyLock<Redactor> = LazyLock::new(|| Redactor {
            inner: Arc::new(Inner {
                keys: Vec::new(),
                headers: Vec::new(),
                allow: Vec::new(),
                patterns: Vec::new(),
            }),
        });
        DEFAULT.clone()
    }
}

impl Redactor {
    /// A masker with `config`'s extra keys, headers, patterns and allowed
    /// values.
    ///
    /// ```
    /// use redline::redact::{RedactConfig, Redactor};
    /// let r = Redactor::new(&RedactConfig { headers: vec!["x-session".into()], ..Default::default() }).unwrap();
    /// assert!(r.is_sensitive_header("X-Session"));
    /// assert_eq!(r.redact("x-session: 0a1b2c3d"), "x-session: [REDACTED]");
    /// ```
    pub fn new(config: &RedactConfig) -> Result<Self, RedactError> {
        let fold = |k: &String| {
            let mut buf = [0u8; MAX_KEY_LEN];
            let len = fold_key(k, &mut buf);
            String::from_utf8_lossy(&buf[..len]).into_owned()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                keys: config
                    .keys
                    .iter()
                    .chain(&config.headers)
                    .map(fold)
                    .filter(|k| !k.is_empty())
                    .collect(),
                headers: config
                    .headers
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                allow: config.allow.iter().map(|a| a.as_str().into()).collect(),
                patterns: compile(&config.patterns)?,
            }),
        })
    }

    /// Masks `text` and escapes its control characters (see the module
    /// docs): for text that goes out as it is (error samples, reports).
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert_eq!(r.redact("call +44 20 7946 0958\r\n"), "call +** ** **** **58\\r\\n");
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        chain(self.mask(text), scan::escape_controls)
    }

    /// Masks `text` without escaping control characters: for output that
    /// escapes them itself (JSON).
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert_eq!(r.mask("Bearer eyJhbGciOi.x\n"), "Bearer [REDACTED]\n");
    /// ```
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.mask_decoding(text, true, 0)
    }

    /// Masks `text` as written, then in its decoded form when it holds
    /// percent-escapes (`%40`, `%2B`...) or form-encoded `+` between
    /// digits: a client can spell `jane%40example.com` in a path, and the
    /// detectors must see `jane@example.com`. The decoded, masked form is
    /// returned only when masking it changed something; text with nothing
    /// to mask keeps its original spelling. Up to [`MAX_DECODE_DEPTH`]
    /// rounds (double encoding). The raw pass comes first so that a value
    /// whose decoded form ends early (`password=a%20b`) is masked whole.
    fn mask_decoding<'a>(&self, text: &'a str, gated: bool, depth: u8) -> Cow<'a, str> {
        let s = Summary::of(text);
        let raw = self.mask_once(text, gated.then_some(s));
        if !s.encoded || depth >= MAX_DECODE_DEPTH {
            return raw;
        }
        let decoded = match scan::percent_decode(&raw) {
            Cow::Borrowed(_) => return raw,
            Cow::Owned(decoded) => decoded,
        };
        match self.mask_decoding(&decoded, gated, depth + 1) {
            Cow::Borrowed(_) => raw,
            Cow::Owned(masked) => Cow::Owned(masked),
        }
    }

    /// One round of the detectors over `text` as it is; `summary` skips
    /// those that cannot match (`None`: every detector, for tests).
    fn mask_once<'a>(&self, text: &'a str, summary: Option<Summary>) -> Cow<'a, str> {
        let s = summary.unwrap_or(Summary::ALL);
        let allow = Allow(&self.inner.allow);
        let mut out = Cow::Borrowed(text);
        if s.separator || s.b {
            out = chain(out, |t| secrets::secrets(t, allow, &|k| self.key_kind(k)));
        }
        if s.upper && (summary.is_none() || text.contains("eyJ")) {
            out = chain(out, |t| secrets::jwts(t, allow));
        }
        if s.at {
            out = chain(out, |t| personal::emails(t, allow));
        }
        if s.iban_start {
            out = chain(out, |t| personal::ibans(t, allow));
        }
        if s.digits >= 13 && (s.long_run || s.card_group) {
            out = chain(out, |t| personal::cards(t, allow));
        }
        if s.digits >= 9 && s.ssn_group {
            out = chain(out, |t| personal::ssns(t, allow));
        }
        if s.digits >= 8 && s.phone_group {
            out = chain(out, |t| personal::phones(t, allow));
        }
        for pattern in &self.inner.patterns {
            out = chain(out, |t| {
                if !pattern.is_match(t) {
                    return Cow::Borrowed(t);
                }
                let mut edits = scan::Edits::new(t);
                for m in pattern.find_iter(t) {
                    if !m.is_empty() && !allow.allows(m.as_str()) {
                        edits.replace(m.start(), m.end(), REDACTED);
                    }
                }
                edits.finish()
            });
        }
        out
    }

    /// Every detector, none skipped: what `mask` must equal (tests).
    #[cfg(test)]
    pub(crate) fn mask_ungated<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.mask_decoding(text, false, 0)
    }

    /// The value of a field named `key`: `[REDACTED]` whole when the key
    /// names a secret, else the value masked ([`Redactor::mask`]).
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert_eq!(r.mask_value("db_password", "hunter2"), "[REDACTED]");
    /// assert_eq!(r.mask_value("user", "jane@example.com"), "j***@example.com");
    /// ```
    pub fn mask_value<'a>(&self, key: &str, value: &'a str) -> Cow<'a, str> {
        if self.is_sensitive_key(key) {
            Cow::Borrowed(REDACTED)
        } else {
            self.mask(value)
        }
    }

    /// Whether a field, key or attribute name names a secret (`password`,
    /// `X-Api-Key`, `http.request.header.authorization`...).
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert!(r.is_sensitive_key("http.request.header.cookie"));
    /// assert!(!r.is_sensitive_key("user_id"));
    /// ```
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        let mut buf = [0u8; MAX_KEY_LEN];
        let len = fold_key(key, &mut buf);
        let folded = &buf[..len];
        key_matches(folded, SENSITIVE_KEYS.into_iter())
            || key_matches(folded, self.inner.keys.iter().map(String::as_str))
    }

    /// Whether this redactor masks nothing the default one leaves as it is:
    /// no extra keys (header names included) and no patterns; allowed
    /// values only mask less. Text for which [`looks_like_data`] is false
    /// comes out of [`Redactor::mask`] unchanged then (the access line
    /// writes the request id the layer checked so, without masking it
    /// again).
    pub(crate) fn masks_no_more_than_default(&self) -> bool {
        self.inner.keys.is_empty() && self.inner.patterns.is_empty()
    }

    fn key_kind(&self, key: &str) -> KeyKind {
        if !self.is_sensitive_key(key) {
            KeyKind::Plain
        } else if self.is_header_name(key) {
            KeyKind::Header
        } else {
            KeyKind::Secret
        }
    }

    /// A built-in or configured sensitive header name (any case).
    fn is_header_name(&self, name: &str) -> bool {
        SENSITIVE_HEADERS
            .iter()
            .copied()
            .chain(self.inner.headers.iter().map(String::as_str))
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Whether a header's value must never be logged or recorded.
    ///
    /// ```
    /// let r = redline::redact::Redactor::default();
    /// assert!(r.is_sensitive_header("Set-Cookie"));
    /// assert!(!r.is_sensitive_header("accept"));
    /// ```
    pub fn is_sensitive_header(&self, name: &str) -> bool {
        self.is_header_name(name) || self.is_sensitive_key(name)
    }

    /// A header map to log: `Debug` and `Display` print each header with
    /// sensitive values replaced by `[REDACTED]` and the others masked.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Bearer abc.def".parse().unwrap());
    /// headers.insert("x-user", "jane@example.com".parse().unwrap());
    /// let r = redline::redact::Redactor::default();
    /// let shown = format!("{}", r.headers(&headers));
    /// assert_eq!(shown, r#"{"authorization": "[REDACTED]", "x-user": "j***@example.com"}"#);
    /// ```
    pub fn headers<'a>(&'a self, headers: &'a http::HeaderMap) -> RedactedHeaders<'a> {
        RedactedHeaders {
            redactor: self,
            headers,
        }
    }
}

/// A header map formatted with secrets hidden (see [`Redactor::headers`]).
///
/// ```
/// let headers = http::HeaderMap::new();
/// let r = redline::redact::Redactor::default();
/// assert_eq!(format!("{:?}", r.headers(&headers)), "{}");
/// ```
pub struct RedactedHeaders<'a> {
    redactor: &'a Redactor,
    headers: &'a http::HeaderMap,
}

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.headers {
            let shown: Cow<'_, str> = if self.redactor.is_sensitive_header(name.as_str()) {
                Cow::Borrowed(REDACTED)
            } else {
                match value.to_str() {
                    Ok(v) => self.redactor.redact(v),
                    Err(_) => Cow::Borrowed("<non-ASCII value>"),
                }
            };
            map.entry(&name.as_str(), &shown);
        }
        map.finish()
    }
}

impl fmt::Display for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Whether an identifier a client chose (an `x-request-id`) holds
/// something the default redactor would mask (a card number, an SSN, an
/// IBAN, a JWT, an e-mail...): such an id is data, not an id, and is
/// replaced (with the hardening layer) or dropped rather than written.
///
/// ```
/// use redline::redact::looks_like_data;
/// assert!(looks_like_data("5500-0000-0000-0004"));
/// assert!(looks_like_data("078-05-1120"));
/// assert!(!looks_like_data("550e8400-e29b-41d4-a716-446655440000"));
/// assert!(!looks_like_data("01JD8Z6Q0V2M4K7T9X3B5N8C1E"));
/// ```
pub fn looks_like_data(id: &str) -> bool {
    matches!(Redactor::default().mask(id), Cow::Owned(_))
}

/// [`Redactor::redact`] with the default redactor, as an owned string.
///
/// ```
/// assert_eq!(
///     redline::redact::default_redact("login failed for john@example.com: password=hunter2"),
///     "login failed for j***@example.com: password=[REDACTED]"
/// );
/// ```
pub fn default_redact(text: &str) -> String {
    Redactor::default().redact(text).into_owned()
}

#[cfg(test)]
mod tests;
